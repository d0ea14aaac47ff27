//! The step journal: how a run records each step before and after the
//! provider call, and how the next run rebuilds the state from it.
//!
//! Every step appends a `begin` entry before its provider call and a
//! `commit` (with the state mutations) or `abort` after. Appends cost a
//! small, fixed amount per step, never a rewrite of the whole state. At the
//! end of a run the journal is compacted into the snapshot. A `begin` with no
//! `commit` or `abort` is a *pending operation*: the run died while the
//! provider call was in flight, and the next run reconciles it through the
//! provider's Read.

use cairn_core::{ResourceKind, Urn, Value};
use serde::{Deserialize, Serialize};

use crate::model::{Mutation, StackState};

/// What kind of provider call a step makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpKind {
    /// Create a new resource.
    Create,
    /// Create the replacement of an existing resource (the old one stays until deleted).
    CreateReplacement,
    /// Update in place.
    Update,
    /// Delete.
    Delete,
}

/// What a step is about to do, recorded before the provider call so a crash
/// can be reconciled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Intent {
    /// The call.
    pub kind: OpKind,
    /// The resource.
    pub urn: Urn,
    /// Its provider ID, when it has one already (update, delete).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The inputs of the call (for a create: the checked inputs, from which
    /// the provider can find the resource again).
    pub inputs: Value,
    /// Custom or component.
    pub resource_kind: ResourceKind,
    /// Parent, dependencies and protect flag, to rebuild the record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<Urn>,
    /// The resource's dependencies.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dependencies: Vec<Urn>,
    /// The protect flag.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub protect: bool,
    /// The retain-on-delete flag.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub retain_on_delete: bool,
    /// The named provider instance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
}

impl Intent {
    /// The record of the resource this operation was about, once it took
    /// effect with this ID, these inputs and these outputs.
    pub fn record(&self, id: Option<String>, inputs: Value, outputs: Value) -> crate::model::ResourceState {
        crate::model::ResourceState {
            urn: self.urn.clone(),
            kind: self.resource_kind,
            id,
            parent: self.parent.clone(),
            inputs,
            outputs,
            dependencies: self.dependencies.clone(),
            protect: self.protect,
            retain_on_delete: self.retain_on_delete,
            provider: self.provider.clone(),
            pending_delete: false,
        }
    }
}

/// One journal line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "entry", rename_all = "snake_case")]
pub enum JournalEntry {
    /// A step is about to call its provider.
    Begin {
        /// The state serial this entry brings the state to.
        serial: u64,
        /// The operation's number, unique within the journal.
        op: u64,
        /// What it will do.
        intent: Intent,
    },
    /// A step (or a reconciliation) completed; apply these mutations.
    Commit {
        /// The state serial this entry brings the state to.
        serial: u64,
        /// The operation it completes (`None` for mutations outside a step).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        op: Option<u64>,
        /// The state changes.
        mutations: Vec<Mutation>,
    },
    /// A step failed with nothing to record, or a pending operation was found to have had no effect.
    Abort {
        /// The state serial this entry brings the state to.
        serial: u64,
        /// The operation.
        op: u64,
        /// Why.
        reason: String,
    },
}

impl JournalEntry {
    /// The serial this entry brings the state to.
    pub fn serial(&self) -> u64 {
        match self {
            JournalEntry::Begin { serial, .. }
            | JournalEntry::Commit { serial, .. }
            | JournalEntry::Abort { serial, .. } => *serial,
        }
    }
}

/// A begun operation with no recorded outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingOp {
    /// The operation number.
    pub op: u64,
    /// What it was doing.
    pub intent: Intent,
}

/// A state rebuilt from a snapshot and its journal.
#[derive(Debug, Clone, PartialEq)]
pub struct Replayed {
    /// The state with every committed mutation applied.
    pub state: StackState,
    /// Operations that began but never completed.
    pub pending: Vec<PendingOp>,
    /// The next free operation number.
    pub next_op: u64,
    /// How many journal entries were applied on top of the snapshot.
    pub journal_entries: usize,
}

/// Applies journal entries to a snapshot. Entries at or below the snapshot's
/// serial are already in it (a crash between writing the snapshot and
/// truncating the journal) and are skipped.
pub fn replay(snapshot: StackState, entries: impl IntoIterator<Item = JournalEntry>) -> Replayed {
    Replayed { state: snapshot, pending: Vec::new(), next_op: 0, journal_entries: 0 }.resume(entries)
}

impl Replayed {
    /// Applies more journal entries on top of this replay, as if they had
    /// followed the entries it was made from. Entries at or below its serial
    /// are skipped.
    pub fn resume(self, entries: impl IntoIterator<Item = JournalEntry>) -> Replayed {
        let Replayed { mut state, mut pending, mut next_op, journal_entries: mut applied } = self;
        let base = state.serial;
        for e in entries {
            if e.serial() <= base {
                continue;
            }
            applied += 1;
            state.serial = e.serial();
            match e {
                JournalEntry::Begin { op, intent, .. } => {
                    next_op = next_op.max(op + 1);
                    pending.push(PendingOp { op, intent });
                }
                JournalEntry::Commit { op, mutations, .. } => {
                    let done = op.and_then(|op| pending.iter().position(|p| p.op == op)).map(|i| pending.remove(i));
                    for m in &mutations {
                        state.apply_committed(m, done.as_ref().map(|p| &p.intent));
                    }
                }
                JournalEntry::Abort { op, .. } => pending.retain(|p| p.op != op),
            }
        }
        Replayed { state, pending, next_op, journal_entries: applied }
    }
}
