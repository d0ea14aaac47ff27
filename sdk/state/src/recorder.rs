//! The journal writer a run uses: it keeps the in-memory state in step with
//! what has been durably recorded.

use std::sync::Mutex;

use crate::journal::{Intent, JournalEntry};
use crate::model::{Mutation, StackState};
use crate::store::{StackSession, StateError};

/// Records a run's steps through a locked session.
pub struct Recorder {
    session: Box<dyn StackSession>,
    inner: Mutex<Inner>,
    // Serialises appends so serials reach the store in order.
    append: tokio::sync::Mutex<()>,
}

struct Inner {
    state: StackState,
    next_op: u64,
    writes: u64,
}

impl Recorder {
    /// Starts recording on top of `state` (as read through `session`).
    pub fn new(session: Box<dyn StackSession>, state: StackState, next_op: u64) -> Self {
        Self { session, inner: Mutex::new(Inner { state, next_op, writes: 0 }), append: Default::default() }
    }

    /// The session (and so the lock) this recorder writes through.
    pub fn session(&self) -> &dyn StackSession {
        &*self.session
    }

    /// The state as recorded so far.
    pub fn state(&self) -> StackState {
        self.inner.lock().expect("recorder").state.clone()
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
        self.session.append(&entry).await?;
        let mut inner = self.inner.lock().expect("recorder");
        inner.state.serial = entry.serial();
        inner.writes += 1;
        if let JournalEntry::Commit { mutations, .. } = &entry {
            for m in mutations {
                inner.state.apply(m);
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
    pub async fn compact(&self) -> Result<StackState, StateError> {
        let _order = self.append.lock().await;
        let mut state = self.state();
        state.serial += 1;
        self.session.compact(&state).await?;
        let mut inner = self.inner.lock().expect("recorder");
        inner.state.serial = state.serial;
        inner.writes += 1;
        Ok(state)
    }
}
