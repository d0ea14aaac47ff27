//! Cairn's PostgreSQL state backend: `postgres://USER@HOST:PORT/DB`.
//!
//! - Every snapshot is a row of `cairn_history`; one row per stack in
//!   `cairn_stacks` names the current serial. Compaction is compare-and-swap:
//!   it moves the pointer only if it still names the serial this run read.
//!   A snapshot is written once, so history costs no extra bytes.
//! - Journal entries are rows of `cairn_journal`, keyed by serial, so two
//!   writers can never both write serial N.
//! - The lock is a row of `cairn_locks` with a lease, not a session advisory
//!   lock: it records its holder, the holder renews its heartbeat (on the
//!   server's clock), and once the heartbeat is older than the TTL another run
//!   may take it over, which is logged in `cairn_lock_log`. Every write first
//!   checks, in the same transaction, that this run still holds the lock.
//! - The schema is created and migrated on first use.

mod schema;

use std::time::Duration;

use cairn_core::{ProjectName, StackName};
use cairn_state::journal::replay;
use cairn_state::{
    ChangeSummary, HistoryEntry, JournalEntry, LockInfo, Replayed, StackSession, StackState, StateError, StateStore,
};
use tokio::sync::{Mutex, OnceCell};
use tokio_postgres::{Client, GenericClient, NoTls};

/// A state store in a PostgreSQL database.
pub struct PostgresStore {
    config: tokio_postgres::Config,
    shown: String,
    migrated: OnceCell<()>,
}

impl PostgresStore {
    /// A store for the database at `url` (`postgres://` or `postgresql://`).
    pub fn new(url: &str) -> Result<Self, StateError> {
        let config: tokio_postgres::Config = url.parse().map_err(|e| StateError::BadUrl {
            url: redact(url),
            reason: format!("not a PostgreSQL connection URL ({e}); write it as postgres://USER@HOST:PORT/DATABASE"),
        })?;
        Ok(Self { config, shown: redact(url), migrated: OnceCell::new() })
    }

    fn err(&self, stack: &StackName, action: &str) -> impl Fn(tokio_postgres::Error) -> StateError + '_ {
        let (stack, action) = (stack.clone(), action.to_owned());
        move |e| StateError::Backend {
            backend: self.shown.clone(),
            stack: stack.clone(),
            action: action.clone(),
            message: db_message(&e),
        }
    }

    async fn connect(&self, stack: &StackName) -> Result<Client, StateError> {
        let (mut client, connection) = self.config.connect(NoTls).await.map_err(self.err(stack, "connect"))?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!("postgres connection closed: {e}");
            }
        });
        self.migrated
            .get_or_try_init(|| async {
                schema::migrate(&mut client).await.map_err(self.err(stack, "migrate the schema"))
            })
            .await?;
        Ok(client)
    }
}

/// The URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

fn db_message(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => {
            let mut msg = e.to_string();
            let mut src = std::error::Error::source(e);
            while let Some(s) = src {
                msg.push_str(&format!(": {s}"));
                src = s.source();
            }
            msg
        }
    }
}

const LOCK_COLUMNS: &str = "id, who, pid, operation, \
    to_char(created AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), \
    to_char(heartbeat AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), \
    ttl_secs, heartbeat < now() - make_interval(secs => ttl_secs)";

fn lock_from_row(row: &tokio_postgres::Row) -> (LockInfo, bool) {
    let info = LockInfo {
        id: row.get(0),
        who: row.get(1),
        pid: row.get::<_, i64>(2) as u32,
        operation: row.get(3),
        created: row.get(4),
        heartbeat: row.get(5),
        ttl_secs: row.get::<_, i64>(6) as u64,
    };
    (info, row.get(7))
}

async fn read_state(
    db: &impl GenericClient,
    backend: &str,
    project: &ProjectName,
    stack: &StackName,
) -> Result<(Replayed, Option<u64>), StateError> {
    let err = |action: &str| {
        let action = action.to_owned();
        move |e: tokio_postgres::Error| StateError::Backend {
            backend: backend.to_owned(),
            stack: stack.clone(),
            action: action.clone(),
            message: db_message(&e),
        }
    };
    let corrupt = |what: &str, e: serde_json::Error| StateError::Corrupt {
        backend: backend.to_owned(),
        stack: stack.clone(),
        what: what.to_owned(),
        message: e.to_string(),
    };
    let row = db
        .query_opt(
            "SELECT h.state FROM cairn_stacks s JOIN cairn_history h \
             ON h.project = s.project AND h.stack = s.stack AND h.serial = s.serial \
             WHERE s.project = $1 AND s.stack = $2",
            &[&project.as_str(), &stack.as_str()],
        )
        .await
        .map_err(err("read the state"))?;
    let (snapshot, snapshot_serial) = match row {
        Some(r) => {
            let s: StackState = serde_json::from_str(r.get::<_, &str>(0)).map_err(|e| corrupt("the state row", e))?;
            let serial = s.serial;
            (s, Some(serial))
        }
        None => (StackState::new(stack.clone()), None),
    };
    let rows = db
        .query(
            "SELECT serial, entry FROM cairn_journal WHERE project = $1 AND stack = $2 ORDER BY serial",
            &[&project.as_str(), &stack.as_str()],
        )
        .await
        .map_err(err("read the journal"))?;
    let mut entries = Vec::with_capacity(rows.len());
    for r in &rows {
        let serial: i64 = r.get(0);
        let e: JournalEntry =
            serde_json::from_str(r.get::<_, &str>(1)).map_err(|e| corrupt(&format!("journal entry {serial}"), e))?;
        entries.push(e);
    }
    Ok((replay(snapshot, entries), snapshot_serial))
}

#[async_trait::async_trait]
impl StateStore for PostgresStore {
    fn describe(&self) -> String {
        self.shown.clone()
    }

    async fn read(&self, project: &ProjectName, stack: &StackName) -> Result<Replayed, StateError> {
        let client = self.connect(stack).await?;
        Ok(read_state(&client, &self.shown, project, stack).await?.0)
    }

    async fn try_lock(
        &self,
        project: &ProjectName,
        stack: &StackName,
        operation: &str,
        ttl: Duration,
    ) -> Result<Box<dyn StackSession>, StateError> {
        let mut client = self.connect(stack).await?;
        let info = LockInfo::for_this_process(operation, ttl);
        let keys: [&(dyn tokio_postgres::types::ToSql + Sync); 2] = [&project.as_str(), &stack.as_str()];
        let tx = client.transaction().await.map_err(self.err(stack, "lock"))?;
        let held = tx
            .query_opt(
                &format!("SELECT {LOCK_COLUMNS} FROM cairn_locks WHERE project = $1 AND stack = $2 FOR UPDATE"),
                &keys,
            )
            .await
            .map_err(self.err(stack, "lock"))?;
        let values: [&(dyn tokio_postgres::types::ToSql + Sync); 7] = [
            &project.as_str(),
            &stack.as_str(),
            &info.id,
            &info.who,
            &i64::from(info.pid),
            &info.operation,
            &(info.ttl_secs as i64),
        ];
        match held.as_ref().map(lock_from_row) {
            Some((holder, false)) => {
                return Err(StateError::Locked { stack: stack.clone(), holder: holder.to_string() });
            }
            Some((holder, true)) => {
                tracing::warn!(
                    "stack `{stack}`: taking over the lock of {holder}: no heartbeat since {} (lease {} s)",
                    holder.heartbeat,
                    holder.ttl_secs
                );
                tx.execute(
                    "UPDATE cairn_locks SET id = $3, who = $4, pid = $5, operation = $6, created = now(), \
                     heartbeat = now(), ttl_secs = $7 WHERE project = $1 AND stack = $2",
                    &values,
                )
                .await
                .map_err(self.err(stack, "take over the lock"))?;
                let previous = serde_json::to_string(&holder).unwrap_or_default();
                tx.execute(
                    "INSERT INTO cairn_lock_log (project, stack, event, lock_id, who, previous) \
                     VALUES ($1, $2, 'takeover', $3, $4, $5)",
                    &[&project.as_str(), &stack.as_str(), &info.id, &info.who, &previous],
                )
                .await
                .map_err(self.err(stack, "log the takeover"))?;
            }
            None => {
                let inserted = tx
                    .execute(
                        "INSERT INTO cairn_locks (project, stack, id, who, pid, operation, ttl_secs) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
                        &values,
                    )
                    .await
                    .map_err(self.err(stack, "lock"))?;
                if inserted == 0 {
                    // Another run inserted its lock between our read and our insert.
                    drop(tx);
                    return match self.current_lock(project, stack).await? {
                        Some(holder) => Err(StateError::Locked { stack: stack.clone(), holder: holder.to_string() }),
                        // ... and has released it already: the lock is free, try again.
                        None => Box::pin(self.try_lock(project, stack, operation, ttl)).await,
                    };
                }
            }
        }
        tx.commit().await.map_err(self.err(stack, "lock"))?;
        Ok(Box::new(PgSession {
            backend: self.shown.clone(),
            project: project.clone(),
            stack: stack.clone(),
            info,
            client: Mutex::new(client),
            snapshot_serial: std::sync::Mutex::new(None),
        }))
    }

    async fn current_lock(&self, project: &ProjectName, stack: &StackName) -> Result<Option<LockInfo>, StateError> {
        let client = self.connect(stack).await?;
        let row = client
            .query_opt(
                &format!("SELECT {LOCK_COLUMNS} FROM cairn_locks WHERE project = $1 AND stack = $2"),
                &[&project.as_str(), &stack.as_str()],
            )
            .await
            .map_err(self.err(stack, "read the lock"))?;
        Ok(row.as_ref().map(|r| lock_from_row(r).0))
    }

    async fn history(&self, project: &ProjectName, stack: &StackName) -> Result<Vec<HistoryEntry>, StateError> {
        let client = self.connect(stack).await?;
        let rows = client
            .query(
                "SELECT serial, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), operation, who, changes \
                 FROM cairn_history WHERE project = $1 AND stack = $2 ORDER BY serial",
                &[&project.as_str(), &stack.as_str()],
            )
            .await
            .map_err(self.err(stack, "read the history"))?;
        Ok(rows
            .iter()
            .map(|r| HistoryEntry {
                serial: r.get::<_, i64>(0) as u64,
                time: r.get(1),
                operation: r.get(2),
                who: r.get(3),
                changes: serde_json::from_str(r.get::<_, &str>(4)).unwrap_or_default(),
            })
            .collect())
    }

    async fn version(
        &self,
        project: &ProjectName,
        stack: &StackName,
        serial: u64,
    ) -> Result<Option<StackState>, StateError> {
        let client = self.connect(stack).await?;
        let row = client
            .query_opt(
                "SELECT state FROM cairn_history WHERE project = $1 AND stack = $2 AND serial = $3",
                &[&project.as_str(), &stack.as_str(), &(serial as i64)],
            )
            .await
            .map_err(self.err(stack, "read a history version"))?;
        row.map(|r| serde_json::from_str(r.get::<_, &str>(0))).transpose().map_err(|e| StateError::Corrupt {
            backend: self.shown.clone(),
            stack: stack.clone(),
            what: format!("history version {serial}"),
            message: e.to_string(),
        })
    }

    async fn list_stacks(&self, project: &ProjectName) -> Result<Vec<StackName>, StateError> {
        let any = StackName::new("-").expect("a stack name");
        let client = self.connect(&any).await?;
        let rows = client
            .query(
                "SELECT stack FROM cairn_stacks WHERE project = $1 \
                 UNION SELECT stack FROM cairn_journal WHERE project = $1 ORDER BY 1",
                &[&project.as_str()],
            )
            .await
            .map_err(self.err(&any, "list the stacks"))?;
        Ok(rows.iter().filter_map(|r| StackName::new(r.get::<_, String>(0)).ok()).collect())
    }

    async fn unlock(&self, project: &ProjectName, stack: &StackName, lock_id: &str) -> Result<LockInfo, StateError> {
        let client = self.connect(stack).await?;
        let row = client
            .query_opt(
                &format!(
                    "DELETE FROM cairn_locks WHERE project = $1 AND stack = $2 AND id = $3 RETURNING {LOCK_COLUMNS}"
                ),
                &[&project.as_str(), &stack.as_str(), &lock_id],
            )
            .await
            .map_err(self.err(stack, "remove the lock"))?;
        match row {
            Some(r) => {
                let (info, _) = lock_from_row(&r);
                let who = LockInfo::for_this_process("unlock", Duration::from_secs(1)).who;
                let previous = serde_json::to_string(&info).unwrap_or_default();
                client
                    .execute(
                        "INSERT INTO cairn_lock_log (project, stack, event, lock_id, who, previous) \
                         VALUES ($1, $2, 'unlock', $3, $4, $5)",
                        &[&project.as_str(), &stack.as_str(), &lock_id, &who, &previous],
                    )
                    .await
                    .map_err(self.err(stack, "log the unlock"))?;
                Ok(info)
            }
            None => {
                let message = match self.current_lock(project, stack).await? {
                    Some(l) => format!("the current lock is {} held by {l}, not {lock_id}; nothing was removed", l.id),
                    None => format!("is not locked (no lock {lock_id} to remove)"),
                };
                Err(StateError::Unlock { stack: stack.clone(), message })
            }
        }
    }
}

struct PgSession {
    backend: String,
    project: ProjectName,
    stack: StackName,
    info: LockInfo,
    client: Mutex<Client>,
    /// The serial of the snapshot row this session read (`None`: no row yet).
    snapshot_serial: std::sync::Mutex<Option<u64>>,
}

impl PgSession {
    fn err(&self, action: &str) -> impl Fn(tokio_postgres::Error) -> StateError + '_ {
        let action = action.to_owned();
        move |e| StateError::Backend {
            backend: self.backend.clone(),
            stack: self.stack.clone(),
            action: action.clone(),
            message: db_message(&e),
        }
    }

    /// Fails with `LockLost` unless this session still holds the lock; takes a
    /// share lock on the row so no takeover can commit until `tx` ends.
    async fn check_lock(&self, tx: &tokio_postgres::Transaction<'_>) -> Result<(), StateError> {
        let row = tx
            .query_opt(
                &format!("SELECT {LOCK_COLUMNS} FROM cairn_locks WHERE project = $1 AND stack = $2 FOR SHARE"),
                &[&self.project.as_str(), &self.stack.as_str()],
            )
            .await
            .map_err(self.err("check the lock"))?;
        match row.as_ref().map(lock_from_row) {
            Some((l, _)) if l.id == self.info.id => Ok(()),
            Some((l, _)) => Err(self.lost(format!("it is now held by {l}"))),
            None => Err(self.lost("it was removed with `state unlock`".into())),
        }
    }

    fn lost(&self, message: String) -> StateError {
        StateError::LockLost { backend: self.backend.clone(), stack: self.stack.clone(), message }
    }
}

#[async_trait::async_trait]
impl StackSession for PgSession {
    fn lock_info(&self) -> &LockInfo {
        &self.info
    }

    async fn read(&self) -> Result<Replayed, StateError> {
        let client = self.client.lock().await;
        let (replayed, snapshot_serial) = read_state(&*client, &self.backend, &self.project, &self.stack).await?;
        *self.snapshot_serial.lock().expect("snapshot serial") = snapshot_serial;
        Ok(replayed)
    }

    async fn append(&self, entry: &JournalEntry) -> Result<(), StateError> {
        let text = serde_json::to_string(entry).expect("journal entries serialize");
        let mut client = self.client.lock().await;
        let tx = client.transaction().await.map_err(self.err("append to the journal"))?;
        self.check_lock(&tx).await?;
        let serial = entry.serial() as i64;
        let inserted = tx
            .execute(
                "INSERT INTO cairn_journal (project, stack, serial, entry) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                &[&self.project.as_str(), &self.stack.as_str(), &serial, &text],
            )
            .await
            .map_err(self.err("append to the journal"))?;
        if inserted == 0 {
            let found: i64 = tx
                .query_one(
                    "SELECT max(serial) FROM cairn_journal WHERE project = $1 AND stack = $2",
                    &[&self.project.as_str(), &self.stack.as_str()],
                )
                .await
                .map_err(self.err("append to the journal"))?
                .get(0);
            return Err(StateError::Conflict {
                backend: self.backend.clone(),
                stack: self.stack.clone(),
                expected: entry.serial() - 1,
                found: found as u64,
            });
        }
        tx.commit().await.map_err(self.err("append to the journal"))
    }

    async fn compact(&self, state: &StackState, changes: &ChangeSummary) -> Result<(), StateError> {
        let text = serde_json::to_string(state).expect("state serializes");
        let changes = serde_json::to_string(changes).expect("summaries serialize");
        let expected = *self.snapshot_serial.lock().expect("snapshot serial");
        let keys: [&(dyn tokio_postgres::types::ToSql + Sync); 2] = [&self.project.as_str(), &self.stack.as_str()];
        let mut client = self.client.lock().await;
        let tx = client.transaction().await.map_err(self.err("write the state"))?;
        self.check_lock(&tx).await?;
        let current = tx
            .query_opt("SELECT serial, lineage FROM cairn_stacks WHERE project = $1 AND stack = $2 FOR UPDATE", &keys)
            .await
            .map_err(self.err("write the state"))?
            .map(|r| (r.get::<_, i64>(0) as u64, r.get::<_, String>(1)));
        let conflict = |found: u64| StateError::Conflict {
            backend: self.backend.clone(),
            stack: self.stack.clone(),
            expected: expected.unwrap_or(0),
            found,
        };
        match (&current, expected) {
            (Some((found, _)), Some(want)) if *found != want => return Err(conflict(*found)),
            (Some((found, _)), None) => return Err(conflict(*found)),
            (Some((_, lineage)), _) if *lineage != state.lineage => {
                return Err(StateError::Corrupt {
                    backend: self.backend.clone(),
                    stack: self.stack.clone(),
                    what: "the state row".into(),
                    message: format!("its lineage {lineage} is not this run's {}", state.lineage),
                });
            }
            _ => {}
        }
        let serial = state.serial as i64;
        tx.execute(
            "INSERT INTO cairn_history (project, stack, serial, operation, who, changes, state) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &self.project.as_str(),
                &self.stack.as_str(),
                &serial,
                &self.info.operation,
                &self.info.who,
                &changes,
                &text,
            ],
        )
        .await
        .map_err(self.err("write the state"))?;
        tx.execute(
            "INSERT INTO cairn_stacks (project, stack, lineage, serial) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (project, stack) DO UPDATE SET serial = $4, updated_at = now()",
            &[&self.project.as_str(), &self.stack.as_str(), &state.lineage, &serial],
        )
        .await
        .map_err(self.err("write the state"))?;
        tx.execute(
            "DELETE FROM cairn_journal WHERE project = $1 AND stack = $2 AND serial <= $3",
            &[&self.project.as_str(), &self.stack.as_str(), &serial],
        )
        .await
        .map_err(self.err("truncate the journal"))?;
        tx.commit().await.map_err(self.err("write the state"))?;
        *self.snapshot_serial.lock().expect("snapshot serial") = Some(state.serial);
        Ok(())
    }

    async fn heartbeat(&self) -> Result<(), StateError> {
        let client = self.client.lock().await;
        let n = client
            .execute(
                "UPDATE cairn_locks SET heartbeat = now() WHERE project = $1 AND stack = $2 AND id = $3",
                &[&self.project.as_str(), &self.stack.as_str(), &self.info.id],
            )
            .await
            .map_err(self.err("renew the lock"))?;
        if n == 0 { Err(self.lost("another run took it over".into())) } else { Ok(()) }
    }

    async fn release(&self) -> Result<(), StateError> {
        let client = self.client.lock().await;
        client
            .execute(
                "DELETE FROM cairn_locks WHERE project = $1 AND stack = $2 AND id = $3",
                &[&self.project.as_str(), &self.stack.as_str(), &self.info.id],
            )
            .await
            .map_err(self.err("release the lock"))?;
        Ok(())
    }

    async fn remove_stack(&self) -> Result<(), StateError> {
        let keys: [&(dyn tokio_postgres::types::ToSql + Sync); 2] = [&self.project.as_str(), &self.stack.as_str()];
        let mut client = self.client.lock().await;
        let tx = client.transaction().await.map_err(self.err("remove the stack"))?;
        self.check_lock(&tx).await?;
        for table in ["cairn_journal", "cairn_history", "cairn_stacks"] {
            tx.execute(&format!("DELETE FROM {table} WHERE project = $1 AND stack = $2"), &keys)
                .await
                .map_err(self.err("remove the stack"))?;
        }
        tx.commit().await.map_err(self.err("remove the stack"))?;
        *self.snapshot_serial.lock().expect("snapshot serial") = None;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(super::redact("postgres://u:secret@h:5432/db"), "postgres://u:***@h:5432/db");
        assert_eq!(super::redact("postgres://u@h/db"), "postgres://u@h/db");
    }
}
