//! The journal writer a run uses: it keeps the in-memory state in step with
//! what has been durably recorded.

use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use crate::journal::{Intent, JournalEntry};
use crate::model::{Mutation, StackState};
use crate::store::{StackSession, StateError};

/// Records a run's steps through a locked session, renewing its lease in the
/// background until [`Recorder::release`] or drop.
pub struct Recorder {
    session: Arc<dyn StackSession>,
    inner: Mutex<Inner>,
    // Serialises appends so serials reach the store in order.
    append: tokio::sync::Mutex<()>,
    heartbeat: tokio::task::JoinHandle<()>,
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.heartbeat.abort();
    }
}

/// Renews the lease three times per TTL, so one missed beat never loses the
/// lock. Holds the session weakly: dropping the recorder frees the lock at once.
async fn beat(session: Weak<dyn StackSession>, ttl_secs: u64) {
    let every = Duration::from_secs(ttl_secs).div_f64(3.0).max(Duration::from_millis(200));
    loop {
        tokio::time::sleep(every).await;
        let Some(session) = session.upgrade() else { return };
        match session.heartbeat().await {
            Ok(()) => {}
            Err(e @ StateError::LockLost { .. }) => {
                tracing::error!("{e}");
                return;
            }
            Err(e) => tracing::warn!("lock heartbeat failed (will retry): {e}"),
        }
    }
}

struct Inner {
    /// The state when the run began, to summarise its changes.
    start: StackState,
    state: StackState,
    next_op: u64,
    writes: u64,
    /// Journal entries written since the last compaction.
    uncompacted: u64,
    /// Begun operations, so their commits can be expanded (and so that no
    /// compaction drops one that has no outcome yet).
    begun: std::collections::HashMap<u64, Intent>,
    /// An append failed: what is stored may be ahead of what is known here.
    poisoned: bool,
}

impl Recorder {
    /// Starts recording on top of `state` (as read through `session`).
    /// Must be called within a tokio runtime (it starts the heartbeat task).
    pub fn new(session: Box<dyn StackSession>, state: StackState, next_op: u64) -> Self {
        let session: Arc<dyn StackSession> = Arc::from(session);
        let heartbeat = tokio::spawn(beat(Arc::downgrade(&session), session.lock_info().ttl_secs));
        Self {
            session,
            inner: Mutex::new(Inner {
                start: state.clone(),
                state,
                next_op,
                writes: 0,
                uncompacted: 0,
                begun: Default::default(),
                poisoned: false,
            }),
            append: Default::default(),
            heartbeat,
        }
    }

    /// Stops the heartbeat and gives the lock back.
    pub async fn release(self) -> Result<(), StateError> {
        self.heartbeat.abort();
        self.session.release().await
    }

    /// The session (and so the lock) this recorder writes through.
    pub fn session(&self) -> &dyn StackSession {
        &*self.session
    }

    /// The state as recorded so far.
    pub fn state(&self) -> StackState {
        self.inner.lock().expect("recorder").state.clone()
    }

    /// True when journal entries were written since the last compaction.
    pub fn uncompacted(&self) -> bool {
        self.inner.lock().expect("recorder").uncompacted > 0
    }

    /// Records operations a crashed run left pending, as begun: until each
    /// has an outcome, compaction keeps the journal.
    pub fn track_pending(&self, pending: &[crate::journal::PendingOp]) {
        let mut inner = self.inner.lock().expect("recorder");
        for p in pending {
            inner.begun.insert(p.op, p.intent.clone());
        }
    }

    /// True when compacting is safe: every begun operation has an outcome and
    /// no append failed. Otherwise the journal must stay as it is, for the
    /// next run to settle through the providers' Read.
    pub fn can_compact(&self) -> bool {
        let inner = self.inner.lock().expect("recorder");
        inner.begun.is_empty() && !inner.poisoned
    }

    /// Journal entries written by this recorder.
    pub fn writes(&self) -> u64 {
        self.inner.lock().expect("recorder").writes
    }

    async fn write(&self, make: impl FnOnce(&mut Inner) -> JournalEntry) -> Result<JournalEntry, StateError> {
        let _order = self.append.lock().await;
        let entry = {
            let mut inner = self.inner.lock().expect("recorder");
            let serial = inner.state.serial + 1;
            let mut e = make(&mut inner);
            match &mut e {
                JournalEntry::Begin { serial: s, .. }
                | JournalEntry::Commit { serial: s, .. }
                | JournalEntry::Abort { serial: s, .. } => *s = serial,
            }
            e
        };
        if let Err(e) = self.session.append(&entry).await {
            self.inner.lock().expect("recorder").poisoned = true;
            return Err(e);
        }
        let mut inner = self.inner.lock().expect("recorder");
        inner.state.serial = entry.serial();
        inner.writes += 1;
        inner.uncompacted += 1;
        match &entry {
            JournalEntry::Begin { op, intent, .. } => {
                inner.begun.insert(*op, intent.clone());
            }
            JournalEntry::Commit { op, mutations, .. } => {
                let intent = op.and_then(|op| inner.begun.remove(&op));
                for m in mutations {
                    inner.state.apply_committed(m, intent.as_ref());
                }
            }
            JournalEntry::Abort { op, .. } => {
                inner.begun.remove(op);
            }
        }
        Ok(entry)
    }

    /// Records that a step is about to call its provider; returns the operation number.
    pub async fn begin(&self, intent: Intent) -> Result<u64, StateError> {
        let e = self
            .write(|inner| {
                let op = inner.next_op;
                inner.next_op += 1;
                JournalEntry::Begin { serial: 0, op, intent }
            })
            .await?;
        match e {
            JournalEntry::Begin { op, .. } => Ok(op),
            _ => unreachable!("begin writes a begin entry"),
        }
    }

    /// Records a completed operation (or, with `op = None`, a standalone change).
    pub async fn commit(&self, op: Option<u64>, mutations: Vec<Mutation>) -> Result<(), StateError> {
        self.write(|_| JournalEntry::Commit { serial: 0, op, mutations }).await.map(|_| ())
    }

    /// Records that an operation ended with no effect on the state.
    pub async fn abort(&self, op: u64, reason: String) -> Result<(), StateError> {
        self.write(|_| JournalEntry::Abort { serial: 0, op, reason }).await.map(|_| ())
    }

    /// Writes the recorded state as the new snapshot and empties the journal.
    /// When that is not safe (see [`Recorder::can_compact`]) it writes
    /// nothing and returns the state as recorded.
    pub async fn compact(&self) -> Result<StackState, StateError> {
        let _order = self.append.lock().await;
        if !self.can_compact() {
            tracing::warn!(
                "the journal is kept as it is: operations without an outcome will be settled by the next run"
            );
            return Ok(self.state());
        }
        let (mut state, changes) = {
            let inner = self.inner.lock().expect("recorder");
            (inner.state.clone(), crate::store::ChangeSummary::between(&inner.start, &inner.state))
        };
        state.serial += 1;
        self.session.compact(&state, &changes).await?;
        let mut inner = self.inner.lock().expect("recorder");
        inner.state.serial = state.serial;
        inner.writes += 1;
        inner.uncompacted = 0;
        Ok(state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FileStore;
    use crate::journal::OpKind;
    use crate::store::StateStore;
    use cairn_core::{ProjectName, ResourceKind, StackName, Urn, Value};

    #[tokio::test]
    async fn an_operation_without_an_outcome_keeps_the_journal_from_compaction() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::new(dir.path());
        let (p, s) = (ProjectName::new("p").unwrap(), StackName::new("dev").unwrap());
        let session = store.try_lock(&p, &s, "up", Duration::from_secs(60)).await.unwrap();
        let recorder = Recorder::new(session, StackState::new(s.clone()), 0);
        let intent = Intent {
            kind: OpKind::Create,
            urn: Urn::parse("urn:cairn:dev::p::aws:s3:Bucket::b").unwrap(),
            id: None,
            inputs: Value::map(),
            resource_kind: ResourceKind::Custom,
            parent: None,
            dependencies: vec![],
            protect: false,
            retain_on_delete: false,
            provider: None,
        };
        let op = recorder.begin(intent).await.unwrap();
        assert!(!recorder.can_compact());
        recorder.compact().await.unwrap();
        drop(recorder);
        let replayed = store.read(&p, &s).await.unwrap();
        assert_eq!(replayed.pending.len(), 1, "the in-flight create survives for the next run to settle");
        assert_eq!(replayed.pending[0].op, op);
        assert!(!dir.path().join("p/dev/state.json").exists(), "no snapshot dropped it");
    }
}
