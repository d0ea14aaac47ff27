//! The recorded state of a stack.

use std::collections::{BTreeMap, HashMap};

use cairn_core::{ResourceKind, StackName, Urn, Value};
use serde::{Deserialize, Serialize};

/// The state file format version this build writes.
pub const FORMAT_VERSION: u32 = 1;

/// A stack's recorded state: what Cairn believes exists.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StackState {
    /// Format version of this document.
    pub format: u32,
    /// The stack.
    pub stack: StackName,
    /// Fixed when the state is first written; a state with another lineage
    /// is a different stack's history and is never written over this one.
    pub lineage: String,
    /// Incremented on every write (journal entries included).
    pub serial: u64,
    /// The resources, in dependency order.
    pub resources: Vec<ResourceState>,
    /// The stack's outputs.
    #[serde(default)]
    pub outputs: BTreeMap<String, Value>,
}

impl StackState {
    /// An empty state with a fresh lineage.
    pub fn new(stack: StackName) -> Self {
        Self {
            format: FORMAT_VERSION,
            stack,
            lineage: uuid::Uuid::new_v4().to_string(),
            serial: 0,
            resources: Vec::new(),
            outputs: BTreeMap::new(),
        }
    }

    /// The live (not pending-delete) record of a resource. It scans the
    /// records: to look up many, take [`StackState::live_by_urn`] once.
    pub fn live(&self, urn: &Urn) -> Option<&ResourceState> {
        self.resources.iter().find(|r| &r.urn == urn && !r.pending_delete)
    }

    /// Every live record by its URN, for lookups of each declared resource
    /// (a plan of 10,000 resources scanning the list for each took seconds).
    pub fn live_by_urn(&self) -> HashMap<&Urn, &ResourceState> {
        self.resources.iter().filter(|r| !r.pending_delete).map(|r| (&r.urn, r)).collect()
    }

    /// Applies one mutation of a commit; `intent` is the committed operation's
    /// intent, which [`Mutation::Completed`] is expanded from.
    pub fn apply_committed(&mut self, m: &Mutation, intent: Option<&crate::journal::Intent>) {
        match (m, intent) {
            (Mutation::Completed { id, outputs }, Some(i)) => {
                self.apply(&Mutation::Put(i.record(id.clone(), i.inputs.clone(), outputs.clone())))
            }
            (Mutation::Completed { .. }, None) => {
                tracing::warn!("a journal commit completes an operation with no recorded intent; skipped");
            }
            (other, _) => self.apply(other),
        }
    }

    /// Applies one mutation that needs no intent.
    pub fn apply(&mut self, m: &Mutation) {
        match m {
            Mutation::Completed { .. } => self.apply_committed(m, None),
            Mutation::Put(r) => {
                if let Some(slot) = self.resources.iter_mut().find(|x| x.urn == r.urn && !x.pending_delete) {
                    *slot = r.clone();
                } else {
                    // A replacement takes the place of the copy it replaces, keeping the order stable.
                    let at = self.resources.iter().position(|x| x.urn == r.urn).unwrap_or(self.resources.len());
                    self.resources.insert(at, r.clone());
                }
            }
            Mutation::MarkPendingDelete { urn, id } => {
                if let Some(r) = self.resources.iter_mut().find(|x| &x.urn == urn && x.id.as_ref() == Some(id)) {
                    r.pending_delete = true;
                }
            }
            Mutation::Remove { urn, id } => {
                self.resources.retain(|x| !(&x.urn == urn && x.id == *id));
            }
            Mutation::SetOutputs(outputs) => self.outputs = outputs.clone(),
        }
    }
}

impl ResourceState {
    /// A provider-managed resource with no inputs, outputs or relations yet.
    pub fn custom(urn: Urn, id: impl Into<String>) -> Self {
        Self {
            urn,
            kind: ResourceKind::Custom,
            id: Some(id.into()),
            parent: None,
            inputs: Value::map(),
            outputs: Value::map(),
            dependencies: Vec::new(),
            protect: false,
            retain_on_delete: false,
            provider: None,
            pending_delete: false,
        }
    }
}

/// One resource as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceState {
    /// Its URN.
    pub urn: Urn,
    /// Custom (provider-managed) or component.
    pub kind: ResourceKind,
    /// The provider ID; `None` for components.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Its parent component.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<Urn>,
    /// The inputs it was created or last updated with (after Check).
    pub inputs: Value,
    /// The outputs the provider reported.
    pub outputs: Value,
    /// The resources it depends on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dependencies: Vec<Urn>,
    /// Refuse to delete or replace it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub protect: bool,
    /// Deleting it drops only its record; the cloud resource stays.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub retain_on_delete: bool,
    /// The named provider instance that manages it (`None`: the package's default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// An old copy that was replaced and still has to be deleted.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pending_delete: bool,
}

/// A change to the state, recorded in the journal when a step completes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Mutation {
    /// Insert or overwrite the live record of a resource.
    Put(ResourceState),
    /// The live record with this ID becomes an old copy awaiting deletion.
    MarkPendingDelete {
        /// The resource.
        urn: Urn,
        /// The old copy's provider ID.
        id: String,
    },
    /// Drop the record with this URN and ID.
    Remove {
        /// The resource.
        urn: Urn,
        /// Its provider ID (`None` for components).
        id: Option<String>,
    },
    /// Replace the stack outputs.
    SetOutputs(BTreeMap<String, Value>),
    /// The committed operation's intent took effect: its record is the
    /// intent's resource with this ID and these outputs. Saves writing the
    /// inputs twice per step.
    Completed {
        /// The provider ID.
        id: Option<String>,
        /// The outputs the provider reported.
        outputs: Value,
    },
}
