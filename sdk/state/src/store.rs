//! The interface every state backend implements, and lock records.

use std::fmt;

use cairn_core::{ProjectName, StackName};
use serde::{Deserialize, Serialize};

use crate::journal::{JournalEntry, Replayed};
use crate::model::StackState;

/// Who holds a stack's lock, for what, since when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LockInfo {
    /// The lock's ID.
    pub id: String,
    /// `user@host`.
    pub who: String,
    /// The holder's process ID.
    pub pid: u32,
    /// The command holding it (`up`, `destroy`).
    pub operation: String,
    /// When it was taken (RFC 3339, UTC).
    pub created: String,
}

impl LockInfo {
    /// A lock record for this process.
    pub fn for_this_process(operation: &str) -> Self {
        let host = whoami::fallible::hostname().unwrap_or_else(|_| "unknown-host".into());
        Self {
            id: uuid::Uuid::new_v4().to_string(),
            who: format!("{}@{host}", whoami::username()),
            pid: std::process::id(),
            operation: operation.to_owned(),
            created: time::OffsetDateTime::now_utc()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
        }
    }
}

impl fmt::Display for LockInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (pid {}) since {} for `{}` (lock {})", self.who, self.pid, self.created, self.operation, self.id)
    }
}

/// A state store failure. Each names the stack and the backend.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// Another process holds the stack's lock.
    #[error(
        "stack `{stack}` is locked by {holder}; wait for that run to finish \
         (the lock is released when its process exits) and try again"
    )]
    Locked {
        /// The stack.
        stack: StackName,
        /// The holder, as far as its lock record says.
        holder: String,
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

/// A place stack states are kept.
#[async_trait::async_trait]
pub trait StateStore: Send + Sync {
    /// The backend, for messages (e.g. `file:///home/me/.cairn`).
    fn describe(&self) -> String;
    /// Reads a stack's state without locking it (for preview). An absent
    /// stack reads as an empty state.
    async fn read(&self, project: &ProjectName, stack: &StackName) -> Result<Replayed, StateError>;
    /// Takes the stack's exclusive lock, failing at once if another process holds it.
    async fn lock(
        &self,
        project: &ProjectName,
        stack: &StackName,
        operation: &str,
    ) -> Result<Box<dyn StackSession>, StateError>;
}

/// A locked stack: the only way to write its state.
#[async_trait::async_trait]
pub trait StackSession: Send + Sync {
    /// This session's lock record.
    fn lock_info(&self) -> &LockInfo;
    /// Reads the state (snapshot plus journal).
    async fn read(&self) -> Result<Replayed, StateError>;
    /// Appends a journal entry durably before returning.
    async fn append(&self, entry: &JournalEntry) -> Result<(), StateError>;
    /// Writes `state` as the new snapshot atomically, then empties the journal.
    async fn compact(&self, state: &StackState) -> Result<(), StateError>;
}
