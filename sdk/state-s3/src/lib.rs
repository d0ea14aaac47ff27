//! Cairn's S3 state backend: `s3://BUCKET/PREFIX`.
//!
//! Each stack keeps its objects under `PREFIX/PROJECT/STACK/`:
//!
//! - `state.json`: the snapshot (compact JSON). Compaction is
//!   compare-and-swap on its ETag: `If-Match` the ETag this run read, or
//!   `If-None-Match: *` when it read none, so a run never overwrites a
//!   snapshot it has not seen. Its metadata (`cairn-serial`,
//!   `cairn-operation`, `cairn-who`, `cairn-changes`) describes the version;
//!   the bucket's versioning keeps every snapshot as the stack's history.
//! - `journal/<serial>.json`: one journal entry each, written with
//!   `If-None-Match: *`, so two writers can never both write serial N.
//! - `lock.json`: the lock, a lease. It records its holder; the holder
//!   renews it by rewriting it (`If-Match` its own ETag), and the object's
//!   `LastModified`, on the server's clock, is the last heartbeat. Once that
//!   is older than the TTL another run may take it over (`If-Match` the
//!   stale ETag, so only one run can), which is logged under `lock-log/`
//!   with `state unlock`s. Every write first checks that this run still
//!   holds the lock.
//!
//! S3 has no transactions: the lock check before a write and the write are
//! two requests, so a takeover can land between them. The conditional writes
//! still keep the newer run's data: a late journal entry cannot replace one
//! the new holder wrote (it fails, or makes the new holder's write fail),
//! and a late snapshot cannot replace one the late run has not read.
//!
//! With `?lock_table=NAME` the run must also hold an item in that DynamoDB
//! table (see [`dynamo`](crate::dynamo)): both locks are taken, renewed,
//! checked before every write and released together.
//!
//! The bucket needs versioning for `history` and `version`; everything else
//! works without it. Versioning also keeps every heartbeat and journal
//! entry as a noncurrent version: a lifecycle rule that expires noncurrent
//! versions under `*/journal/` and of `lock.json` after a day keeps that small.

mod bucket;
mod dynamo;

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_s3::primitives::DateTime;
use cairn_core::{ProjectName, StackName};
use cairn_state::journal::replay;
use cairn_state::store::now_rfc3339;
use cairn_state::{
    ChangeSummary, HistoryEntry, JournalEntry, LockInfo, Replayed, StackSession, StackState, StateError, StateStore,
};
use serde::Serialize;
use tokio::sync::OnceCell;

use crate::bucket::{Bucket, Cond, Head, Object, Put, Removed, same_etag};
pub use crate::dynamo::create_lock_table;
use crate::dynamo::{LockTable, Taken};

/// Snapshot metadata: the state's serial.
const META_SERIAL: &str = "cairn-serial";
/// Snapshot metadata: the command that wrote it.
const META_OPERATION: &str = "cairn-operation";
/// Snapshot metadata: who ran it.
const META_WHO: &str = "cairn-who";
/// Snapshot metadata: the [`ChangeSummary`], as JSON.
const META_CHANGES: &str = "cairn-changes";

/// How often a read starts over when a compaction lands while it reads.
const READ_ATTEMPTS: usize = 5;
/// How often taking, releasing or removing the lock starts over when the
/// lock changes between reading and writing it.
const LOCK_ATTEMPTS: usize = 3;

/// A state store in an S3 bucket (or any service with S3's API, ETags and
/// conditional writes).
pub struct S3Store {
    s3: Bucket,
    /// Without leading or trailing `/`; may be empty.
    prefix: String,
    /// Set once the bucket was found versioned.
    versioning: OnceCell<()>,
    /// The DynamoDB lock table, when the URL names one.
    lock_table: Option<LockTable>,
}

impl S3Store {
    /// A store for `s3://BUCKET/PREFIX` (the prefix may be empty). The client
    /// comes from the usual AWS configuration (environment, profile,
    /// instance role), with adaptive retries; `region` and `endpoint`
    /// override it (`AWS_REGION` and `AWS_ENDPOINT_URL` are honoured too).
    /// With an endpoint override (an emulator such as moto, MinIO) requests
    /// use path-style URLs.
    ///
    /// `?lock_table=NAME` adds the DynamoDB lock: a run then holds both.
    pub async fn from_url(url: &str, region: Option<String>, endpoint: Option<String>) -> Result<Self, StateError> {
        // Adaptive retries slow down under throttling, which many parallel runs may cause.
        let mut loader =
            aws_config::defaults(BehaviorVersion::latest()).retry_config(RetryConfig::adaptive().with_max_attempts(5));
        if let Some(region) = region.filter(|r| !r.is_empty()) {
            loader = loader.region(Region::new(region));
        }
        if let Some(endpoint) = endpoint.filter(|e| !e.is_empty()) {
            loader = loader.endpoint_url(endpoint);
        }
        Self::from_sdk_config(url, &loader.load().await)
    }

    /// A store for `url` through clients made from `config` (the AWS
    /// plugin passes the provider's: profile, assumed role, endpoint).
    pub fn from_sdk_config(url: &str, config: &aws_config::SdkConfig) -> Result<Self, StateError> {
        let Parsed { bucket, prefix, lock_table } = parse_url(url)?;
        if config.region().is_none() {
            return Err(StateError::BadUrl {
                url: url.to_owned(),
                reason:
                    "no AWS region for the bucket: set `region` in [provider.aws], or AWS_REGION in the environment"
                        .into(),
            });
        }
        let mut s3 = aws_sdk_s3::config::Builder::from(config);
        // Emulators serve every bucket on one host: `bucket.host` names would not resolve.
        let env_endpoint = ["AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"]
            .iter()
            .any(|name| std::env::var_os(name).is_some_and(|v| !v.is_empty()));
        if config.endpoint_url().is_some() || env_endpoint {
            s3 = s3.force_path_style(true);
        }
        let store = Self::new(aws_sdk_s3::Client::from_conf(s3.build()), bucket, prefix);
        Ok(match lock_table {
            Some(table) => store.with_lock_table(aws_sdk_dynamodb::Client::new(config), table),
            None => store,
        })
    }

    /// Also locks with an item in the DynamoDB table `table` (partition key
    /// `LockID`, a string): every run then needs both locks.
    pub fn with_lock_table(mut self, client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        let name = table.into();
        self.s3.shown = format!("{}?lock_table={name}", self.s3.shown);
        self.lock_table = Some(LockTable { client, name, shown: self.s3.shown.clone() });
        self
    }

    /// A store in `bucket` under `prefix` (may be empty) through `client`.
    pub fn new(client: aws_sdk_s3::Client, bucket: impl Into<String>, prefix: impl Into<String>) -> Self {
        let name = bucket.into();
        let prefix = prefix.into().trim_matches('/').to_owned();
        let shown = if prefix.is_empty() { format!("s3://{name}") } else { format!("s3://{name}/{prefix}") };
        Self { s3: Bucket { client, name, shown }, prefix, versioning: OnceCell::new(), lock_table: None }
    }

    fn keys(&self, project: &ProjectName, stack: &StackName) -> Keys {
        let base = if self.prefix.is_empty() {
            format!("{project}/{stack}/")
        } else {
            format!("{}/{project}/{stack}/", self.prefix)
        };
        Keys { base }
    }

    /// `history` and `version` read the bucket's versions: refused without versioning.
    async fn require_versioning(&self, stack: &StackName) -> Result<(), StateError> {
        self.versioning
            .get_or_try_init(|| async {
                if self.s3.versioning_enabled(stack).await? {
                    Ok::<(), StateError>(())
                } else {
                    let b = &self.s3.name;
                    Err(StateError::Refused {
                        backend: self.s3.shown.clone(),
                        stack: stack.clone(),
                        message: format!(
                            "the state history is the bucket's object versions: enable versioning on bucket {b} to \
                             keep history (aws s3api put-bucket-versioning --bucket {b} \
                             --versioning-configuration Status=Enabled); versions written before that are not kept"
                        ),
                    })
                }
            })
            .await
            .map(|_| ())
    }

    /// Takes the lock object for `info` (taking over an expired lease);
    /// returns its ETag.
    async fn take_lock_object(
        &self,
        project: &ProjectName,
        stack: &StackName,
        keys: &Keys,
        info: &LockInfo,
    ) -> Result<String, StateError> {
        let lock_key = keys.lock();
        let body = serde_json::to_vec(info).expect("lock records serialize");
        for _ in 0..LOCK_ATTEMPTS {
            let server_time = match self.s3.put(stack, "lock", &lock_key, body.clone(), Cond::Absent, None).await? {
                Put::Written { .. } => match self.confirm_lock_object(stack, keys, info).await? {
                    Some(etag) => return Ok(etag),
                    None => continue, // gone again already: try once more
                },
                Put::Refused { server_time } => server_time,
                Put::Missing => continue,
            };
            let Some(held) = self.s3.get(stack, "read the lock", &lock_key, None).await? else {
                continue; // released meanwhile: the lock is free, try again
            };
            let holder = lock_info(&self.s3, stack, &held, &lock_key)?;
            if holder.id == info.id {
                // Our own write, retried by the SDK after its answer was lost.
                return Ok(held.etag);
            }
            // Both times on the server's clock: the last write of the lock, and the refusal just now.
            let now = server_time.unwrap_or_else(local_now);
            let ttl_secs = i64::try_from(holder.ttl_secs).unwrap_or(i64::MAX);
            let expired = held.last_modified.is_some_and(|at| at.secs().saturating_add(ttl_secs) < now);
            if !expired {
                return Err(StateError::Locked { stack: stack.clone(), holder: holder.to_string() });
            }
            tracing::warn!(
                "stack `{stack}`: taking over the lock of {holder}: no heartbeat since {} (lease {} s)",
                holder.heartbeat,
                holder.ttl_secs
            );
            match self
                .s3
                .put(stack, "take over the lock", &lock_key, body.clone(), Cond::Matches(&held.etag), None)
                .await?
            {
                Put::Written { etag } => {
                    log_lock_event(&self.s3, keys, stack, "takeover", &info.id, &info.who, &holder).await;
                    return Ok(etag);
                }
                Put::Refused { .. } => {
                    // Another run took it over first (or the holder came back to life).
                    let holder = match self.current_lock(project, stack).await? {
                        Some(current) => current.to_string(),
                        None => holder.to_string(),
                    };
                    return Err(StateError::Locked { stack: stack.clone(), holder });
                }
                Put::Missing => continue,
            }
        }
        Err(StateError::Locked {
            stack: stack.clone(),
            holder: "other runs (the lock changed during every attempt to take it)".into(),
        })
    }

    /// Reads the lock object back after creating it: S3 creates it
    /// atomically, but stores whose conditional writes are check-then-write
    /// (the emulator under load) can let two creates through, and the one
    /// overwritten must not go on believing it holds the lock.
    async fn confirm_lock_object(
        &self,
        stack: &StackName,
        keys: &Keys,
        info: &LockInfo,
    ) -> Result<Option<String>, StateError> {
        let lock_key = keys.lock();
        match self.s3.get(stack, "read the lock", &lock_key, None).await? {
            Some(object) => {
                let holder = lock_info(&self.s3, stack, &object, &lock_key)?;
                if holder.id == info.id {
                    Ok(Some(object.etag))
                } else {
                    Err(StateError::Locked { stack: stack.clone(), holder: holder.to_string() })
                }
            }
            None => Ok(None),
        }
    }

    fn session(&self, keys: Keys, stack: &StackName, info: LockInfo, lock_etag: String) -> S3Session {
        S3Session {
            item_key: keys.lock_item(&self.s3.name),
            s3: self.s3.clone(),
            table: self.lock_table.clone(),
            stack: stack.clone(),
            keys,
            info,
            lock_etag: Mutex::new(lock_etag),
            snapshot: Mutex::new(None),
        }
    }
}

/// The parts of `s3://BUCKET/PREFIX[?lock_table=NAME]`.
#[derive(Debug, PartialEq)]
struct Parsed {
    bucket: String,
    prefix: String,
    lock_table: Option<String>,
}

/// Splits `s3://BUCKET/PREFIX[?lock_table=NAME]`.
fn parse_url(url: &str) -> Result<Parsed, StateError> {
    let bad = |reason: &str| StateError::BadUrl { url: url.to_owned(), reason: reason.to_owned() };
    let rest = url.strip_prefix("s3://").ok_or_else(|| bad("write an S3 backend as s3://BUCKET/PREFIX"))?;
    let (rest, query) = match rest.split_once('?') {
        Some((rest, query)) => (rest, Some(query)),
        None => (rest, None),
    };
    if rest.contains('#') || query.is_some_and(|q| q.contains('#')) {
        return Err(bad("an S3 backend URL takes no fragment: write it as s3://BUCKET/PREFIX[?lock_table=NAME]"));
    }
    let mut lock_table = None;
    for pair in query.into_iter().flat_map(|q| q.split('&')).filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("lock_table", name))
                if !name.is_empty()
                    && name.len() <= 255
                    && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')) =>
            {
                lock_table = Some(name.to_owned());
            }
            Some(("lock_table", _)) => {
                return Err(bad("name the DynamoDB lock table: ?lock_table=NAME, in letters, digits, `.`, `-`, `_`"));
            }
            _ => {
                return Err(bad(&format!(
                    "`{pair}` is not an S3 backend setting: the URL takes only ?lock_table=NAME (a DynamoDB lock); \
                     set the region and endpoint in [provider.aws] (or AWS_REGION, AWS_ENDPOINT_URL)"
                )));
            }
        }
    }
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() || !bucket.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')) {
        return Err(bad("name the bucket: s3://BUCKET/PREFIX, the bucket in letters, digits, `.`, `-` and `_`"));
    }
    Ok(Parsed { bucket: bucket.to_owned(), prefix: prefix.trim_matches('/').to_owned(), lock_table })
}

/// The object keys of one stack.
#[derive(Debug, Clone)]
struct Keys {
    /// `PREFIX/PROJECT/STACK/`.
    base: String,
}

impl Keys {
    fn state(&self) -> String {
        format!("{}state.json", self.base)
    }

    fn journal_prefix(&self) -> String {
        format!("{}journal/", self.base)
    }

    /// Zero-padded so that S3's lexicographic order is the serial order.
    fn journal(&self, serial: u64) -> String {
        format!("{}journal/{serial:020}.json", self.base)
    }

    /// The serial a journal key names.
    fn journal_serial(&self, key: &str) -> Option<u64> {
        key.strip_prefix(&self.journal_prefix())?.strip_suffix(".json")?.parse().ok()
    }

    fn lock(&self) -> String {
        format!("{}lock.json", self.base)
    }

    /// The DynamoDB lock item's `LockID`: `BUCKET/KEY` of the lock object.
    fn lock_item(&self, bucket: &str) -> String {
        format!("{bucket}/{}", self.lock())
    }

    fn lock_log(&self, lock_id: &str) -> String {
        format!("{}lock-log/{}-{lock_id}.json", self.base, now_rfc3339())
    }
}

/// The snapshot a session read or wrote last.
#[derive(Debug, Clone)]
struct Seen {
    etag: String,
    serial: u64,
    lineage: String,
}

/// One `lock-log/` record.
#[derive(Serialize)]
struct LockLogRecord<'a> {
    /// `takeover` or `unlock`.
    event: &'a str,
    /// When (RFC 3339, UTC, this machine's clock).
    at: String,
    /// The lock taken (takeover) or removed (unlock).
    lock_id: &'a str,
    /// Who did it.
    who: &'a str,
    /// The lock record replaced or removed.
    previous: &'a LockInfo,
}

/// Records a takeover or an unlock. The lock change itself is done, so a
/// failure to log it is only reported.
async fn log_lock_event(
    s3: &Bucket,
    keys: &Keys,
    stack: &StackName,
    event: &str,
    lock_id: &str,
    who: &str,
    previous: &LockInfo,
) {
    let record = LockLogRecord { event, at: now_rfc3339(), lock_id, who, previous };
    let body = serde_json::to_vec(&record).expect("lock log records serialize");
    if let Err(e) = s3.put(stack, "log the lock event", &keys.lock_log(lock_id), body, Cond::Any, None).await {
        tracing::warn!("stack `{stack}`: the {event} of lock {} was not recorded in the lock log: {e}", previous.id);
    }
}

/// A timestamp as RFC 3339, UTC, to the second.
fn rfc3339(t: &DateTime) -> Option<String> {
    time::OffsetDateTime::from_unix_timestamp(t.secs())
        .ok()?
        .format(&time::format_description::well_known::Rfc3339)
        .ok()
}

/// This machine's clock, in Unix seconds (when the server's is unknown).
pub(crate) fn local_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// A lock object's record, with `heartbeat` from its `LastModified` (the
/// server's clock: the last time the holder wrote it).
fn lock_info(s3: &Bucket, stack: &StackName, object: &Object, key: &str) -> Result<LockInfo, StateError> {
    let mut info: LockInfo =
        serde_json::from_slice(&object.body).map_err(|e| s3.corrupt(stack, &format!("the lock object {key}"), e))?;
    if let Some(at) = object.last_modified.as_ref().and_then(rfc3339) {
        info.heartbeat = at;
    }
    Ok(info)
}

/// The journal's serials and keys, in serial order.
async fn journal_keys(
    s3: &Bucket,
    keys: &Keys,
    stack: &StackName,
    action: &str,
) -> Result<Vec<(u64, String)>, StateError> {
    let mut found: Vec<(u64, String)> = s3
        .list(stack, action, &keys.journal_prefix())
        .await?
        .into_iter()
        .filter_map(|key| keys.journal_serial(&key).map(|serial| (serial, key)))
        .collect();
    found.sort();
    Ok(found)
}

/// Reads the snapshot and the journal as of one moment: if a compaction
/// replaced the snapshot (and deleted journal entries) during the read, the
/// read starts over.
async fn read_state(s3: &Bucket, keys: &Keys, stack: &StackName) -> Result<(Replayed, Option<Seen>), StateError> {
    let state_key = keys.state();
    for _ in 0..READ_ATTEMPTS {
        let (snapshot, seen) = match s3.get(stack, "read the state", &state_key, None).await? {
            Some(object) => {
                let s: StackState =
                    serde_json::from_slice(&object.body).map_err(|e| s3.corrupt(stack, "the state object", e))?;
                let seen = Seen { etag: object.etag, serial: s.serial, lineage: s.lineage.clone() };
                (s, Some(seen))
            }
            None => (StackState::new(stack.clone()), None),
        };
        let journal = journal_keys(s3, keys, stack, "read the journal").await?;
        let names: Vec<String> = journal.iter().map(|(_, key)| key.clone()).collect();
        let Some(bodies) = s3.fetch_all(stack, "read the journal", &names).await? else {
            continue; // an entry was deleted by a compaction: read the new snapshot
        };
        let mut entries = Vec::with_capacity(bodies.len());
        for ((serial, _), body) in journal.iter().zip(&bodies) {
            let entry: JournalEntry =
                serde_json::from_slice(body).map_err(|e| s3.corrupt(stack, &format!("journal entry {serial}"), e))?;
            entries.push(entry);
        }
        let now = s3.head(stack, "read the state", &state_key, None).await?.map(|h| h.etag);
        if !same_etag(now.as_deref(), seen.as_ref().map(|s| s.etag.as_str())) {
            continue; // compacted meanwhile: the listing may have missed entries folded into the new snapshot
        }
        return Ok((replay(snapshot, entries), seen));
    }
    Err(s3.fail(
        stack,
        "read the state",
        "it changed during every attempt to read it (another run kept compacting it); try again",
    ))
}

/// A history entry from a snapshot version's metadata; `None` for a
/// version Cairn did not write.
fn history_entry(head: &Head) -> Option<HistoryEntry> {
    let meta = |key: &str| head.metadata.get(key).map(|v| decode_meta(v));
    Some(HistoryEntry {
        serial: meta(META_SERIAL)?.parse().ok()?,
        time: head.last_modified.as_ref().and_then(rfc3339).unwrap_or_default(),
        operation: meta(META_OPERATION).unwrap_or_default(),
        who: meta(META_WHO).unwrap_or_default(),
        changes: meta(META_CHANGES).and_then(|c| serde_json::from_str(&c).ok()).unwrap_or_default(),
    })
}

/// Object metadata travels in HTTP headers: everything but printable ASCII
/// (and `%`) is percent-encoded.
fn encode_meta(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_graphic() && b != b'%' {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn decode_meta(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%' && i + 2 < bytes.len())
            .then(|| std::str::from_utf8(&bytes[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok()))
            .flatten();
        match escaped {
            Some(b) => {
                out.push(b);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[async_trait::async_trait]
impl StateStore for S3Store {
    fn describe(&self) -> String {
        self.s3.shown.clone()
    }

    async fn read(&self, project: &ProjectName, stack: &StackName) -> Result<Replayed, StateError> {
        Ok(read_state(&self.s3, &self.keys(project, stack), stack).await?.0)
    }

    async fn try_lock(
        &self,
        project: &ProjectName,
        stack: &StackName,
        operation: &str,
        ttl: Duration,
    ) -> Result<Box<dyn StackSession>, StateError> {
        let keys = self.keys(project, stack);
        let info = LockInfo::for_this_process(operation, ttl);
        let etag = self.take_lock_object(project, stack, &keys, &info).await?;
        let session = self.session(keys, stack, info, etag);
        if let Err(e) = session.take_lock_item().await {
            // Holding one lock of two is holding none: give the object back.
            if let Err(r) = session.release_object().await {
                tracing::warn!("stack `{stack}`: the lock object was not given back ({r}); it expires with its lease");
            }
            return Err(e);
        }
        Ok(Box::new(session))
    }

    async fn current_lock(&self, project: &ProjectName, stack: &StackName) -> Result<Option<LockInfo>, StateError> {
        let keys = self.keys(project, stack);
        let lock_key = keys.lock();
        match self.s3.get(stack, "read the lock", &lock_key, None).await? {
            Some(object) => Ok(Some(lock_info(&self.s3, stack, &object, &lock_key)?)),
            // A run between taking the item and the object (or one that died there).
            None => match &self.lock_table {
                Some(table) => table.holder(stack, &keys.lock_item(&self.s3.name)).await,
                None => Ok(None),
            },
        }
    }

    async fn history(&self, project: &ProjectName, stack: &StackName) -> Result<Vec<HistoryEntry>, StateError> {
        self.require_versioning(stack).await?;
        let state_key = self.keys(project, stack).state();
        let mut by_serial: BTreeMap<u64, HistoryEntry> = BTreeMap::new();
        for version in self.s3.versions(stack, "list the state's versions", &state_key).await? {
            let Some(head) = self.s3.head(stack, "read the history", &state_key, Some(version.id.as_str())).await?
            else {
                continue;
            };
            match history_entry(&head) {
                // Newest first: a serial written twice keeps its newest version, as `version` does.
                Some(entry) => {
                    by_serial.entry(entry.serial).or_insert(entry);
                }
                None => tracing::debug!("stack `{stack}`: {state_key} version {} has no Cairn metadata", version.id),
            }
        }
        Ok(by_serial.into_values().collect())
    }

    async fn list_stacks(&self, project: &ProjectName) -> Result<Vec<StackName>, StateError> {
        let base = if self.prefix.is_empty() { format!("{project}/") } else { format!("{}/{project}/", self.prefix) };
        let any = StackName::new("-").expect("a stack name");
        let keys = self.s3.list(&any, "list the stacks", &base).await?;
        let mut stacks: Vec<StackName> = keys
            .iter()
            .filter_map(|k| {
                let (stack, rest) = k.strip_prefix(&base)?.split_once('/')?;
                (rest == "state.json" || rest.starts_with("journal/")).then(|| StackName::new(stack).ok()).flatten()
            })
            .collect();
        stacks.sort();
        stacks.dedup();
        Ok(stacks)
    }

    async fn version(
        &self,
        project: &ProjectName,
        stack: &StackName,
        serial: u64,
    ) -> Result<Option<StackState>, StateError> {
        self.require_versioning(stack).await?;
        let state_key = self.keys(project, stack).state();
        for version in self.s3.versions(stack, "list the state's versions", &state_key).await? {
            let Some(head) =
                self.s3.head(stack, "read a history version", &state_key, Some(version.id.as_str())).await?
            else {
                continue;
            };
            let found = head.metadata.get(META_SERIAL).and_then(|s| decode_meta(s).parse::<u64>().ok());
            if found != Some(serial) {
                continue;
            }
            let Some(object) =
                self.s3.get(stack, "read a history version", &state_key, Some(version.id.as_str())).await?
            else {
                continue;
            };
            return serde_json::from_slice(&object.body)
                .map(Some)
                .map_err(|e| self.s3.corrupt(stack, &format!("history version {serial}"), e));
        }
        Ok(None)
    }

    async fn unlock(&self, project: &ProjectName, stack: &StackName, lock_id: &str) -> Result<LockInfo, StateError> {
        let keys = self.keys(project, stack);
        let object = self.unlock_object(&keys, stack, lock_id).await;
        let Some(table) = &self.lock_table else { return object };
        let item_key = keys.lock_item(&self.s3.name);
        let item = table.holder(stack, &item_key).await?.filter(|l| l.id == lock_id);
        if let Some(info) = &item
            && table.remove(stack, &item_key, lock_id).await?
            && object.is_err()
        {
            let who = LockInfo::for_this_process("unlock", Duration::from_secs(1)).who;
            log_lock_event(&self.s3, &keys, stack, "unlock", lock_id, &who, info).await;
        }
        match (object, item) {
            (Ok(info), _) => Ok(info),
            // Only the item was left (its run died before taking the object).
            (Err(StateError::Unlock { .. }), Some(info)) => Ok(info),
            (Err(e), _) => Err(e),
        }
    }
}

impl S3Store {
    /// Removes the lock object if it is the lock `lock_id`.
    async fn unlock_object(&self, keys: &Keys, stack: &StackName, lock_id: &str) -> Result<LockInfo, StateError> {
        let lock_key = keys.lock();
        let not_locked = || StateError::Unlock {
            stack: stack.clone(),
            message: format!("is not locked (no lock {lock_id} to remove)"),
        };
        for _ in 0..LOCK_ATTEMPTS {
            let Some(object) = self.s3.get(stack, "read the lock", &lock_key, None).await? else {
                return Err(not_locked());
            };
            let info = lock_info(&self.s3, stack, &object, &lock_key)?;
            if info.id != lock_id {
                return Err(StateError::Unlock {
                    stack: stack.clone(),
                    message: format!(
                        "the current lock is {} held by {info}, not {lock_id}; nothing was removed",
                        info.id
                    ),
                });
            }
            match self.s3.remove(stack, "remove the lock", &lock_key, Some(object.etag.as_str())).await? {
                Removed::Done => {
                    let who = LockInfo::for_this_process("unlock", Duration::from_secs(1)).who;
                    log_lock_event(&self.s3, keys, stack, "unlock", lock_id, &who, &info).await;
                    return Ok(info);
                }
                // Renewed by its holder meanwhile: read it again.
                Removed::Refused => continue,
                Removed::Missing => return Err(not_locked()),
            }
        }
        Err(self.s3.fail(stack, "remove the lock", "it changed during every attempt to remove it; try again"))
    }
}

struct S3Session {
    s3: Bucket,
    /// The DynamoDB lock, when configured.
    table: Option<LockTable>,
    /// The lock item's `LockID`.
    item_key: String,
    stack: StackName,
    keys: Keys,
    info: LockInfo,
    /// The ETag of the lock object as this session last wrote it.
    lock_etag: Mutex<String>,
    /// The snapshot this session last read or wrote (`None`: there was none).
    snapshot: Mutex<Option<Seen>>,
}

impl S3Session {
    fn lock_etag(&self) -> String {
        self.lock_etag.lock().expect("lock etag").clone()
    }

    fn lost(&self, message: String) -> StateError {
        StateError::LockLost { backend: self.s3.shown.clone(), stack: self.stack.clone(), message }
    }

    /// Takes the DynamoDB lock item, when there is a table; the lock object is already ours.
    async fn take_lock_item(&self) -> Result<(), StateError> {
        let Some(table) = &self.table else { return Ok(()) };
        let now = self.s3.written_at(&self.stack, "lock", &self.keys.lock()).await?;
        for _ in 0..LOCK_ATTEMPTS {
            match table.take(&self.stack, &self.item_key, &self.info, now).await? {
                Taken::Ours { replaced } => {
                    if let Some(previous) = replaced {
                        tracing::warn!(
                            "stack `{}`: took over the DynamoDB lock of {previous}: its lease had run out",
                            self.stack
                        );
                        let (id, who) = (&self.info.id, &self.info.who);
                        log_lock_event(&self.s3, &self.keys, &self.stack, "takeover", id, who, &previous).await;
                    }
                    return Ok(());
                }
                Taken::Held(holder) => {
                    return Err(StateError::Locked {
                        stack: self.stack.clone(),
                        holder: format!("{holder} (in DynamoDB table {})", table.name),
                    });
                }
                Taken::Freed => continue,
            }
        }
        Err(StateError::Locked {
            stack: self.stack.clone(),
            holder: format!("other runs (the item in DynamoDB table {} changed during every attempt)", table.name),
        })
    }

    /// Fails with `LockLost` unless this session still holds both locks.
    async fn check_lock(&self) -> Result<(), StateError> {
        self.check_lock_object().await?;
        let Some(table) = &self.table else { return Ok(()) };
        match table.holder(&self.stack, &self.item_key).await? {
            Some(l) if l.id == self.info.id => Ok(()),
            Some(l) => Err(self.lost(format!("its DynamoDB lock in table {} is now held by {l}", table.name))),
            None => Err(self.lost(format!("its DynamoDB lock in table {} was removed", table.name))),
        }
    }

    /// Fails with `LockLost` unless this session still holds the lock object.
    async fn check_lock_object(&self) -> Result<(), StateError> {
        let lock_key = self.keys.lock();
        let Some(current) = self.s3.get(&self.stack, "check the lock", &lock_key, None).await? else {
            return Err(self.lost("it was removed with `state unlock`".into()));
        };
        if same_etag(Some(current.etag.as_str()), Some(self.lock_etag().as_str())) {
            return Ok(());
        }
        match serde_json::from_slice::<LockInfo>(&current.body) {
            // Our own record under another ETag: a renewal whose answer was lost.
            Ok(l) if l.id == self.info.id => {
                *self.lock_etag.lock().expect("lock etag") = current.etag;
                Ok(())
            }
            Ok(l) => Err(self.lost(format!("it is now held by {l}"))),
            Err(e) => Err(self.lost(format!("{lock_key} was replaced by a record that does not parse ({e})"))),
        }
    }
}

#[async_trait::async_trait]
impl StackSession for S3Session {
    fn lock_info(&self) -> &LockInfo {
        &self.info
    }

    async fn read(&self) -> Result<Replayed, StateError> {
        let (replayed, seen) = read_state(&self.s3, &self.keys, &self.stack).await?;
        *self.snapshot.lock().expect("snapshot") = seen;
        Ok(replayed)
    }

    async fn append(&self, entry: &JournalEntry) -> Result<(), StateError> {
        let body = serde_json::to_vec(entry).expect("journal entries serialize");
        self.check_lock().await?;
        let key = self.keys.journal(entry.serial());
        match self.s3.put(&self.stack, "append to the journal", &key, body.clone(), Cond::Absent, None).await? {
            Put::Written { .. } => Ok(()),
            Put::Refused { .. } | Put::Missing => {
                // The SDK may have retried a write whose answer was lost: the same entry is no conflict.
                if let Some(existing) = self.s3.get(&self.stack, "append to the journal", &key, None).await?
                    && existing.body == body
                {
                    return Ok(());
                }
                let found = journal_keys(&self.s3, &self.keys, &self.stack, "append to the journal")
                    .await?
                    .last()
                    .map_or(0, |(serial, _)| *serial);
                Err(StateError::Conflict {
                    backend: self.s3.shown.clone(),
                    stack: self.stack.clone(),
                    expected: entry.serial().saturating_sub(1),
                    found,
                })
            }
        }
    }

    async fn compact(&self, state: &StackState, changes: &ChangeSummary) -> Result<(), StateError> {
        let body = serde_json::to_vec(state).expect("state serializes");
        let changes = serde_json::to_string(changes).expect("summaries serialize");
        let seen = self.snapshot.lock().expect("snapshot").clone();
        self.check_lock().await?;
        if let Some(seen) = &seen
            && seen.lineage != state.lineage
        {
            return Err(self.s3.corrupt(
                &self.stack,
                "the state object",
                format!("its lineage {} is not this run's {}", seen.lineage, state.lineage),
            ));
        }
        let metadata = HashMap::from([
            (META_SERIAL.to_owned(), state.serial.to_string()),
            (META_OPERATION.to_owned(), encode_meta(&self.info.operation)),
            (META_WHO.to_owned(), encode_meta(&self.info.who)),
            (META_CHANGES.to_owned(), encode_meta(&changes)),
        ]);
        let cond = match &seen {
            Some(s) => Cond::Matches(&s.etag),
            None => Cond::Absent,
        };
        let key = self.keys.state();
        let written = self.s3.put(&self.stack, "write the state", &key, body.clone(), cond, Some(metadata)).await?;
        let etag = match written {
            Put::Written { etag } => etag,
            Put::Refused { .. } | Put::Missing => {
                match self.s3.get(&self.stack, "write the state", &key, None).await? {
                    // The SDK may have retried a write whose answer was lost.
                    Some(current) if current.body == body => current.etag,
                    Some(current) => {
                        let found = serde_json::from_slice::<StackState>(&current.body)
                            .map_err(|e| self.s3.corrupt(&self.stack, "the state object", e))?
                            .serial;
                        return Err(self.conflict(&seen, found));
                    }
                    None => return Err(self.conflict(&seen, 0)),
                }
            }
        };
        *self.snapshot.lock().expect("snapshot") =
            Some(Seen { etag, serial: state.serial, lineage: state.lineage.clone() });
        // The snapshot now holds every entry up to its serial; entries at or
        // below it would be skipped anyway, so a failure here loses nothing.
        let folded: Vec<String> = journal_keys(&self.s3, &self.keys, &self.stack, "truncate the journal")
            .await?
            .into_iter()
            .filter(|(serial, _)| *serial <= state.serial)
            .map(|(_, key)| key)
            .collect();
        self.s3.remove_all(&self.stack, "truncate the journal", &folded).await
    }

    async fn heartbeat(&self) -> Result<(), StateError> {
        self.renew_lock_object().await?;
        let Some(table) = &self.table else { return Ok(()) };
        let now = self.s3.written_at(&self.stack, "renew the lock", &self.keys.lock()).await?;
        let mut info = self.info.clone();
        info.heartbeat = now_rfc3339();
        if table.renew(&self.stack, &self.item_key, &info, now).await? { Ok(()) } else { self.check_lock().await }
    }

    async fn release(&self) -> Result<(), StateError> {
        if let Some(table) = &self.table {
            // Not ours (taken over, or removed): nothing of ours to give back.
            table.remove(&self.stack, &self.item_key, &self.info.id).await?;
        }
        self.release_object().await
    }

    /// Deletes the snapshot and the journal objects (in a versioned bucket
    /// their old versions stay, as S3 keeps them); the lock goes on release.
    async fn remove_stack(&self) -> Result<(), StateError> {
        self.check_lock_object().await?;
        let all = self.s3.list(&self.stack, "list the stack's objects", &self.keys.base).await?;
        let lock = self.keys.lock();
        let doomed: Vec<String> = all
            .into_iter()
            .filter(|k| {
                *k != lock && !k.strip_prefix(&self.keys.base).is_some_and(|rest| rest.starts_with("lock-log/"))
            })
            .collect();
        self.s3.remove_all(&self.stack, "remove the stack", &doomed).await?;
        *self.snapshot.lock().expect("snapshot") = None;
        Ok(())
    }
}

impl S3Session {
    /// Renews the lock object (rewrites it `If-Match` its ETag).
    async fn renew_lock_object(&self) -> Result<(), StateError> {
        let mut info = self.info.clone();
        info.heartbeat = now_rfc3339();
        let body = serde_json::to_vec(&info).expect("lock records serialize");
        let ours = self.lock_etag();
        match self.s3.put(&self.stack, "renew the lock", &self.keys.lock(), body, Cond::Matches(&ours), None).await? {
            Put::Written { etag } => {
                *self.lock_etag.lock().expect("lock etag") = etag;
                Ok(())
            }
            // Taken over or removed (`LockLost`), unless it is still ours under
            // another ETag (a renewal whose answer was lost, retried by the SDK).
            Put::Refused { .. } | Put::Missing => self.check_lock_object().await,
        }
    }

    /// Gives back the lock object, if it is still this session's.
    async fn release_object(&self) -> Result<(), StateError> {
        let lock_key = self.keys.lock();
        for _ in 0..LOCK_ATTEMPTS {
            let Some(current) = self.s3.get(&self.stack, "release the lock", &lock_key, None).await? else {
                return Ok(());
            };
            let ours = same_etag(Some(current.etag.as_str()), Some(self.lock_etag().as_str()))
                || serde_json::from_slice::<LockInfo>(&current.body).is_ok_and(|l| l.id == self.info.id);
            if !ours {
                // Taken over or removed: nothing of ours to give back.
                return Ok(());
            }
            match self.s3.remove(&self.stack, "release the lock", &lock_key, Some(current.etag.as_str())).await? {
                Removed::Done | Removed::Missing => return Ok(()),
                // Renewed (by a concurrent heartbeat) or taken over meanwhile: look again.
                Removed::Refused => continue,
            }
        }
        Err(self.s3.fail(&self.stack, "release the lock", "it changed during every attempt to remove it"))
    }
}

impl S3Session {
    fn conflict(&self, seen: &Option<Seen>, found: u64) -> StateError {
        StateError::Conflict {
            backend: self.s3.shown.clone(),
            stack: self.stack.clone(),
            expected: seen.as_ref().map_or(0, |s| s.serial),
            found,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_a_bucket_and_an_optional_prefix() {
        let parsed = |b: &str, p: &str, t: Option<&str>| Parsed {
            bucket: b.into(),
            prefix: p.into(),
            lock_table: t.map(str::to_owned),
        };
        assert_eq!(parse_url("s3://b").unwrap(), parsed("b", "", None));
        assert_eq!(parse_url("s3://b/").unwrap(), parsed("b", "", None));
        assert_eq!(parse_url("s3://my.bucket/team/cairn/").unwrap(), parsed("my.bucket", "team/cairn", None));
        assert_eq!(parse_url("s3://b/p?lock_table=locks").unwrap(), parsed("b", "p", Some("locks")));
        assert_eq!(parse_url("s3://b?lock_table=t-1").unwrap(), parsed("b", "", Some("t-1")));
        for bad in [
            "s3://",
            "s3:///prefix",
            "file:///x",
            "s3://b/p?region=x",
            "s3://b c/p",
            "s3://b/p?lock_table=",
            "s3://b/p?lock_table=a/b",
            "s3://b/p#x",
        ] {
            assert!(matches!(parse_url(bad), Err(StateError::BadUrl { .. })), "{bad}");
        }
    }

    #[test]
    fn journal_keys_sort_by_serial_and_parse_back() {
        let keys = Keys { base: "p/proj/dev/".into() };
        assert_eq!(keys.journal(7), "p/proj/dev/journal/00000000000000000007.json");
        assert!(keys.journal(9) < keys.journal(10));
        assert_eq!(keys.journal_serial(&keys.journal(12345)), Some(12345));
        assert_eq!(keys.journal_serial("p/proj/dev/journal/notes.txt"), None);
    }

    #[test]
    fn metadata_values_survive_http_headers() {
        for value in ["plain", "jörg@höst", "a b%c", r#"{"created":1,"updated":0}"#, "", "tab\there"] {
            let encoded = encode_meta(value);
            assert!(encoded.bytes().all(|b| b.is_ascii_graphic()), "{encoded}");
            assert_eq!(decode_meta(&encoded), value);
        }
        assert_eq!(decode_meta("100%"), "100%", "a stray % is kept");
    }
}
