//! The interface every state backend implements, lock records and leases.

use std::fmt;
use std::time::Duration;

use cairn_core::{ProjectName, StackName};
use serde::{Deserialize, Serialize};

use crate::journal::{JournalEntry, Replayed};
use crate::model::StackState;

/// How long a lock lives without a heartbeat, unless configured otherwise.
pub const DEFAULT_LOCK_TTL: Duration = Duration::from_secs(60);

/// Who holds a stack's lock, for what, since when, last seen when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LockInfo {
    /// The lock's ID; `state unlock` needs it.
    pub id: String,
    /// `user@host`.
    pub who: String,
    /// The holder's process ID.
    pub pid: u32,
    /// The command holding it (`up`, `destroy`).
    pub operation: String,
    /// When it was taken (RFC 3339, UTC).
    pub created: String,
    /// The holder's last heartbeat (RFC 3339, UTC).
    #[serde(default)]
    pub heartbeat: String,
    /// Seconds after the last heartbeat when the lock may be taken over.
    #[serde(default = "default_ttl_secs")]
    pub ttl_secs: u64,
}

fn default_ttl_secs() -> u64 {
    DEFAULT_LOCK_TTL.as_secs()
}

/// The current time as RFC 3339, UTC.
pub fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

/// Who runs this process, as locks and saved plans record it: `user@host`.
pub fn this_user() -> String {
    let host = whoami::fallible::hostname().unwrap_or_else(|_| "unknown-host".into());
    format!("{}@{host}", whoami::username())
}

impl LockInfo {
    /// A lock record for this process.
    pub fn for_this_process(operation: &str, ttl: Duration) -> Self {
        let now = now_rfc3339();
        Self {
            id: uuid::Uuid::new_v4().to_string(),
            who: this_user(),
            pid: std::process::id(),
            operation: operation.to_owned(),
            created: now.clone(),
            heartbeat: now,
            ttl_secs: ttl.as_secs().max(1),
        }
    }
}

impl fmt::Display for LockInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (pid {}) since {} for `{}` (lock {})", self.who, self.pid, self.created, self.operation, self.id)
    }
}

/// How to take a lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockOptions {
    /// How long to wait for a held lock (with backoff) before giving up; zero fails at once.
    pub wait: Duration,
    /// The lease: without a heartbeat for this long, the lock may be taken over.
    pub ttl: Duration,
}

impl Default for LockOptions {
    fn default() -> Self {
        Self { wait: Duration::ZERO, ttl: DEFAULT_LOCK_TTL }
    }
}

/// A state store failure. Each names the stack and the backend.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// Another process holds the stack's lock.
    #[error(
        "stack `{stack}` is locked by {holder}; wait for that run to finish (or pass --lock-timeout to wait), \
         then try again"
    )]
    Locked {
        /// The stack.
        stack: StackName,
        /// The holder, as far as its lock record says.
        holder: String,
    },
    /// This run's lock was taken over after its lease expired: it may write nothing more.
    #[error(
        "state store {backend}: this run lost the lock on stack `{stack}` ({message}); its remaining writes were \
         refused so the newer state is kept. Run the command again to finish"
    )]
    LockLost {
        /// The backend.
        backend: String,
        /// The stack.
        stack: StackName,
        /// Who took it, when known.
        message: String,
    },
    /// A compare-and-swap write found a newer state than the one this run read.
    #[error(
        "state store {backend}: stack `{stack}` changed under this run (expected serial {expected}, found {found}); \
         nothing was overwritten. Run the command again"
    )]
    Conflict {
        /// The backend.
        backend: String,
        /// The stack.
        stack: StackName,
        /// The serial this run read.
        expected: u64,
        /// The serial found.
        found: u64,
    },
    /// A request that would lose or mix up state was refused.
    #[error("state store {backend}: stack `{stack}`: {message}")]
    Refused {
        /// The backend.
        backend: String,
        /// The stack.
        stack: StackName,
        /// Why, and what to do instead.
        message: String,
    },
    /// `state unlock` named a lock that is not the current one.
    #[error("stack `{stack}`: {message}")]
    Unlock {
        /// The stack.
        stack: StackName,
        /// Why, and what to do instead.
        message: String,
    },
    /// Reading or writing the backend failed.
    #[error("state store {backend}: cannot {action} for stack `{stack}`: {source}")]
    Io {
        /// The backend (e.g. `file:///path`).
        backend: String,
        /// The stack.
        stack: StackName,
        /// What it was doing.
        action: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The backend could not be reached or refused a request.
    #[error("state store {backend}: cannot {action} for stack `{stack}`: {message}")]
    Backend {
        /// The backend.
        backend: String,
        /// The stack.
        stack: StackName,
        /// What it was doing.
        action: String,
        /// The backend's message.
        message: String,
    },
    /// The stored state or journal does not parse.
    #[error(
        "state store {backend}: {what} for stack `{stack}` is corrupt: {message}; restore it from a backup or fix it by hand"
    )]
    Corrupt {
        /// The backend.
        backend: String,
        /// The stack.
        stack: StackName,
        /// Which document.
        what: String,
        /// The parse error.
        message: String,
    },
    /// The backend URL is not understood.
    #[error("unsupported state backend `{url}`: {reason}")]
    BadUrl {
        /// The URL.
        url: String,
        /// Why, and what is supported.
        reason: String,
    },
}

/// What one run changed, kept with each history version.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeSummary {
    /// Resources added.
    pub created: usize,
    /// Resources whose record changed.
    pub updated: usize,
    /// Resources removed.
    pub deleted: usize,
    /// Resources in the state afterwards.
    pub resources: usize,
}

impl ChangeSummary {
    /// Compares two states resource by resource.
    pub fn between(before: &StackState, after: &StackState) -> Self {
        let key = |r: &crate::model::ResourceState| (r.urn.clone(), r.id.clone());
        let old: std::collections::HashMap<_, _> = before.resources.iter().map(|r| (key(r), r)).collect();
        let new: std::collections::HashMap<_, _> = after.resources.iter().map(|r| (key(r), r)).collect();
        Self {
            created: new.keys().filter(|k| !old.contains_key(*k)).count(),
            deleted: old.keys().filter(|k| !new.contains_key(*k)).count(),
            updated: new.iter().filter(|(k, r)| old.get(*k).is_some_and(|o| o != *r)).count(),
            resources: after.resources.len(),
        }
    }
}

/// One retrievable version of a stack's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// The state's serial.
    pub serial: u64,
    /// When it was written (RFC 3339, UTC).
    pub time: String,
    /// The command that wrote it.
    pub operation: String,
    /// Who ran it.
    pub who: String,
    /// What it changed.
    pub changes: ChangeSummary,
}

/// A place stack states are kept.
#[async_trait::async_trait]
pub trait StateStore: Send + Sync {
    /// The backend, for messages (e.g. `file:///home/me/.cairn`).
    fn describe(&self) -> String;
    /// Reads a stack's state without locking it (for preview). An absent
    /// stack reads as an empty state.
    async fn read(&self, project: &ProjectName, stack: &StackName) -> Result<Replayed, StateError>;
    /// Takes the stack's exclusive lock in one attempt: fails with
    /// [`StateError::Locked`] if a live holder has it, takes it over (and logs
    /// that) if the holder's lease expired. [`lock`] adds waiting.
    async fn try_lock(
        &self,
        project: &ProjectName,
        stack: &StackName,
        operation: &str,
        ttl: Duration,
    ) -> Result<Box<dyn StackSession>, StateError>;
    /// The current lock, if the stack is locked.
    async fn current_lock(&self, project: &ProjectName, stack: &StackName) -> Result<Option<LockInfo>, StateError>;
    /// Removes the lock `lock_id`, only if it is the current one; returns what was removed.
    async fn unlock(&self, project: &ProjectName, stack: &StackName, lock_id: &str) -> Result<LockInfo, StateError>;
    /// The stack's versions, oldest first.
    async fn history(&self, project: &ProjectName, stack: &StackName) -> Result<Vec<HistoryEntry>, StateError>;
    /// The state as it was at `serial`, if that version is kept.
    async fn version(
        &self,
        project: &ProjectName,
        stack: &StackName,
        serial: u64,
    ) -> Result<Option<StackState>, StateError>;
    /// The stacks of `project` that have a state or a journal here, by name.
    async fn list_stacks(&self, project: &ProjectName) -> Result<Vec<StackName>, StateError>;
}

/// Takes a stack's lock, waiting up to `options.wait` with exponential backoff
/// (250 ms doubling to 4 s) while another run holds it.
pub async fn lock(
    store: &dyn StateStore,
    project: &ProjectName,
    stack: &StackName,
    operation: &str,
    options: &LockOptions,
) -> Result<Box<dyn StackSession>, StateError> {
    use backon::{BackoffBuilder, ExponentialBuilder};
    let deadline = tokio::time::Instant::now() + options.wait;
    let mut delays = ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(250))
        .with_max_delay(Duration::from_secs(4))
        .with_jitter()
        .without_max_times()
        .build();
    loop {
        match store.try_lock(project, stack, operation, options.ttl).await {
            Err(StateError::Locked { .. }) if tokio::time::Instant::now() < deadline => {
                let delay = delays.next().unwrap_or(Duration::from_secs(4));
                tokio::time::sleep_until((tokio::time::Instant::now() + delay).min(deadline)).await;
            }
            other => return other,
        }
    }
}

/// A locked stack: the only way to write its state.
#[async_trait::async_trait]
pub trait StackSession: Send + Sync {
    /// This session's lock record.
    fn lock_info(&self) -> &LockInfo;
    /// Reads the state (snapshot plus journal).
    async fn read(&self) -> Result<Replayed, StateError>;
    /// Appends a journal entry durably before returning. Refused with
    /// [`StateError::LockLost`] once the lock was taken over.
    async fn append(&self, entry: &JournalEntry) -> Result<(), StateError>;
    /// Writes `state` as the new snapshot atomically, keeps it as a history
    /// version described by `changes`, then empties the journal.
    /// Compare-and-swap: refused if the stored snapshot is not the one this session read.
    async fn compact(&self, state: &StackState, changes: &ChangeSummary) -> Result<(), StateError>;
    /// Renews the lease.
    async fn heartbeat(&self) -> Result<(), StateError>;
    /// Gives the lock back.
    async fn release(&self) -> Result<(), StateError>;
    /// Removes the stack: its snapshot and journal (and, where the backend
    /// keeps them apart, its history). The lock stays until [`release`](Self::release).
    async fn remove_stack(&self) -> Result<(), StateError>;
}

/// [`StateError`] as it crosses a process boundary (a state backend served
/// by a plugin): JSON, with the fields the variants need.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct WireError {
    kind: String,
    #[serde(default)]
    backend: String,
    #[serde(default)]
    stack: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    expected: u64,
    #[serde(default)]
    found: u64,
}

impl StateError {
    /// The error as JSON, for a plugin to send.
    pub fn to_wire(&self) -> String {
        let stack_of = |s: &StackName| s.to_string();
        let w = match self {
            StateError::Locked { stack, holder } => {
                WireError { kind: "locked".into(), stack: stack_of(stack), message: holder.clone(), ..wire_default() }
            }
            StateError::LockLost { backend, stack, message } => WireError {
                kind: "lock_lost".into(),
                backend: backend.clone(),
                stack: stack_of(stack),
                message: message.clone(),
                ..wire_default()
            },
            StateError::Conflict { backend, stack, expected, found } => WireError {
                kind: "conflict".into(),
                backend: backend.clone(),
                stack: stack_of(stack),
                expected: *expected,
                found: *found,
                ..wire_default()
            },
            StateError::Refused { backend, stack, message } => WireError {
                kind: "refused".into(),
                backend: backend.clone(),
                stack: stack_of(stack),
                message: message.clone(),
                ..wire_default()
            },
            StateError::Unlock { stack, message } => {
                WireError { kind: "unlock".into(), stack: stack_of(stack), message: message.clone(), ..wire_default() }
            }
            StateError::Corrupt { backend, stack, what, message } => WireError {
                kind: "corrupt".into(),
                backend: backend.clone(),
                stack: stack_of(stack),
                message: format!("{what}\u{1f}{message}"),
                ..wire_default()
            },
            StateError::BadUrl { url, reason } => {
                WireError { kind: "bad_url".into(), backend: url.clone(), message: reason.clone(), ..wire_default() }
            }
            StateError::Io { backend, stack, action, source } => WireError {
                kind: "backend".into(),
                backend: backend.clone(),
                stack: stack_of(stack),
                message: format!("{action}\u{1f}{source}"),
                ..wire_default()
            },
            StateError::Backend { backend, stack, action, message } => WireError {
                kind: "backend".into(),
                backend: backend.clone(),
                stack: stack_of(stack),
                message: format!("{action}\u{1f}{message}"),
                ..wire_default()
            },
        };
        serde_json::to_string(&w).expect("wire errors serialize")
    }

    /// The error a plugin sent; anything unreadable becomes a backend error for `stack`.
    pub fn from_wire(json: &str, fallback_stack: &StackName, fallback_backend: &str) -> StateError {
        let Ok(w) = serde_json::from_str::<WireError>(json) else {
            return StateError::Backend {
                backend: fallback_backend.to_owned(),
                stack: fallback_stack.clone(),
                action: "talk to the state backend plugin".into(),
                message: json.to_owned(),
            };
        };
        let stack = StackName::new(&w.stack).unwrap_or_else(|_| fallback_stack.clone());
        let split = |m: &str| match m.split_once('\u{1f}') {
            Some((a, b)) => (a.to_owned(), b.to_owned()),
            None => (String::new(), m.to_owned()),
        };
        match w.kind.as_str() {
            "locked" => StateError::Locked { stack, holder: w.message },
            "lock_lost" => StateError::LockLost { backend: w.backend, stack, message: w.message },
            "conflict" => StateError::Conflict { backend: w.backend, stack, expected: w.expected, found: w.found },
            "refused" => StateError::Refused { backend: w.backend, stack, message: w.message },
            "unlock" => StateError::Unlock { stack, message: w.message },
            "corrupt" => {
                let (what, message) = split(&w.message);
                StateError::Corrupt { backend: w.backend, stack, what, message }
            }
            "bad_url" => StateError::BadUrl { url: w.backend, reason: w.message },
            _ => {
                let (action, message) = split(&w.message);
                StateError::Backend { backend: w.backend, stack, action, message }
            }
        }
    }
}

fn wire_default() -> WireError {
    WireError {
        kind: String::new(),
        backend: String::new(),
        stack: String::new(),
        message: String::new(),
        expected: 0,
        found: 0,
    }
}

#[cfg(test)]
mod wire_tests {
    use super::*;

    #[test]
    fn errors_cross_the_wire_with_their_kind_and_text() {
        let stack = StackName::new("prod").unwrap();
        let errors = [
            StateError::Locked { stack: stack.clone(), holder: "me@host (pid 1)".into() },
            StateError::LockLost { backend: "s3://b".into(), stack: stack.clone(), message: "taken".into() },
            StateError::Conflict { backend: "s3://b".into(), stack: stack.clone(), expected: 3, found: 5 },
            StateError::Refused { backend: "s3://b".into(), stack: stack.clone(), message: "no".into() },
            StateError::Backend {
                backend: "s3://b".into(),
                stack: stack.clone(),
                action: "read".into(),
                message: "AccessDenied".into(),
            },
        ];
        for e in errors {
            let back = StateError::from_wire(&e.to_wire(), &stack, "x");
            assert_eq!(back.to_string(), e.to_string());
        }
    }
}
