//! Cairn's state: what exists, as recorded, and how it is written safely.
//!
//! - [`model`]: [`StackState`] and [`ResourceState`], with `serial` and `lineage`.
//! - [`journal`]: per-step journal entries and [`journal::replay`], which
//!   rebuilds a state and finds operations a crash left pending.
//! - [`store`]: the [`StateStore`] interface every backend implements, and lock records.
//! - [`file`](mod@file): the embedded file store.
//! - [`recorder`]: the writer the engine uses during a run.
//! - [`journal_tap`]: checks, in tests, that every prefix of a
//!   run's journal replays to a valid state.

pub mod conformance;
pub mod file;
pub mod journal;
pub mod journal_tap;
pub mod model;
pub mod recorder;
pub mod store;
pub mod transfer;

pub use file::FileStore;
pub use journal::{Intent, JournalEntry, OpKind, PendingOp, Replayed};
pub use model::{Mutation, ResourceState, StackState};
pub use recorder::Recorder;
pub use store::{
    ChangeSummary, DEFAULT_LOCK_TTL, HistoryEntry, LockInfo, LockOptions, StackSession, StateError, StateStore, lock,
    now_rfc3339, this_user,
};

/// Opens the file store a `file://PATH` URL names (a relative path is taken
/// from `base`). The other backends (PostgreSQL, S3) live in crates of their
/// own and are opened by the `cairn` crate.
pub fn open_store(url: &str, base: &std::path::Path) -> Result<Box<dyn StateStore>, StateError> {
    match url.split_once("://") {
        Some(("file", path)) => {
            let path = std::path::Path::new(path);
            Ok(Box::new(FileStore::new(if path.is_absolute() { path.to_owned() } else { base.join(path) })))
        }
        _ => Err(StateError::BadUrl {
            url: url.to_owned(),
            reason: "use `file://PATH` (a directory, relative to the project)".into(),
        }),
    }
}
