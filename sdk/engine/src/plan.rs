//! The plan: what `up` will do, step by step. Built by the planner, carried
//! out by the executor, rendered by the CLI.

use std::collections::BTreeMap;

use cairn_core::{CheckFailure, PropertyDiff, PropertyPath, ResourceKind, ResourceType, Urn, Value};
use cairn_state::ResourceState;
use serde::Serialize;

use crate::refresh::Refresh;

/// What a step does to its resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    /// Create it.
    Create,
    /// Update it in place.
    Update,
    /// Create a replacement and delete the old one (order per `delete_before_replace`).
    Replace,
    /// Delete it.
    Delete,
    /// Adopt the existing resource with the `import` ID (read, not created).
    Import,
    /// Nothing to do.
    Same,
}

impl Op {
    /// Its name, as `--json` writes it: `create`, `update`, ..., `same`.
    pub fn word(self) -> &'static str {
        match self {
            Op::Create => "create",
            Op::Update => "update",
            Op::Replace => "replace",
            Op::Delete => "delete",
            Op::Import => "import",
            Op::Same => "same",
        }
    }

    /// The marker shown before the resource: `+ ~ ± -` or blank.
    pub fn marker(self) -> &'static str {
        match self {
            Op::Create => "+",
            Op::Update => "~",
            Op::Replace => "±",
            Op::Delete => "-",
            Op::Import => "=",
            Op::Same => " ",
        }
    }
}

/// The desired side of a step: what the resource should look like.
#[derive(Debug, Clone)]
pub struct Desired {
    /// Checked inputs; may hold unknowns until the resources they come from are applied.
    pub inputs: Value,
    /// Its parent component.
    pub parent: Option<Urn>,
    /// Its dependencies.
    pub dependencies: Vec<Urn>,
    /// The protect option.
    pub protect: bool,
    /// The retain-on-delete option.
    pub retain_on_delete: bool,
    /// The named provider instance (`None`: the package's default).
    pub provider: Option<String>,
    /// Its index in the declared resources, to resolve its unknown inputs at apply time.
    pub declared_index: usize,
}

impl Desired {
    /// True when the record's parent, dependencies or options (protect,
    /// retain-on-delete) differ from these: the state must record them.
    pub fn metadata_differs(&self, old: &ResourceState) -> bool {
        old.parent != self.parent
            || old.dependencies != self.dependencies
            || old.protect != self.protect
            || old.retain_on_delete != self.retain_on_delete
    }
}

/// What a step does, carrying exactly what doing it needs: the executor
/// matches on it, so a step cannot lack its provider ID or either side.
#[derive(Debug, Clone)]
pub enum Change {
    /// Create the resource.
    Create {
        /// What to create.
        new: Desired,
    },
    /// Update it in place.
    Update {
        /// The provider ID of the resource to update.
        id: String,
        /// The recorded state.
        old: ResourceState,
        /// What it becomes.
        new: Desired,
    },
    /// Create a replacement and delete the old copy.
    Replace {
        /// The provider ID of the copy replaced.
        id: String,
        /// The recorded state of the copy replaced.
        old: ResourceState,
        /// The replacement.
        new: Desired,
        /// Delete the old copy before creating the replacement (they cannot coexist).
        delete_first: bool,
    },
    /// Delete it.
    Delete {
        /// The recorded state.
        old: ResourceState,
        /// Its provider ID; `None` only for a component, which has no provider call.
        id: Option<String>,
    },
    /// Adopt the existing resource with this provider ID (read, not created).
    Import {
        /// The provider ID to adopt.
        id: String,
        /// Its checked inputs (equal to the live resource's).
        new: Desired,
    },
    /// Nothing for the provider to do; the state records any new parent,
    /// dependencies or `protect` flag.
    Same {
        /// The recorded state.
        old: ResourceState,
        /// The declaration now.
        new: Desired,
    },
}

/// One resource's step.
#[derive(Debug, Clone)]
pub struct Step {
    /// The resource.
    pub urn: Urn,
    /// Its type.
    pub ty: ResourceType,
    /// Custom or component.
    pub kind: ResourceKind,
    /// What happens, with what it needs.
    pub change: Change,
    /// Changed properties.
    pub diffs: Vec<PropertyDiff>,
    /// Changed properties that force the replacement.
    pub replaces: Vec<PropertyPath>,
    /// Provider warnings from Check.
    pub warnings: Vec<CheckFailure>,
}

impl Step {
    /// The operation.
    pub fn op(&self) -> Op {
        match self.change {
            Change::Create { .. } => Op::Create,
            Change::Update { .. } => Op::Update,
            Change::Replace { .. } => Op::Replace,
            Change::Delete { .. } => Op::Delete,
            Change::Import { .. } => Op::Import,
            Change::Same { .. } => Op::Same,
        }
    }

    /// The recorded state, when the resource exists.
    pub fn recorded(&self) -> Option<&ResourceState> {
        match &self.change {
            Change::Update { old, .. } | Change::Replace { old, .. } | Change::Delete { old, .. } => Some(old),
            Change::Same { old, .. } => Some(old),
            Change::Create { .. } | Change::Import { .. } => None,
        }
    }

    /// The desired state, unless the resource is being deleted.
    pub fn desired(&self) -> Option<&Desired> {
        match &self.change {
            Change::Create { new } | Change::Update { new, .. } | Change::Replace { new, .. } => Some(new),
            Change::Import { new, .. } | Change::Same { new, .. } => Some(new),
            Change::Delete { .. } => None,
        }
    }

    /// The provider ID an import adopts.
    pub fn import_id(&self) -> Option<&str> {
        match &self.change {
            Change::Import { id, .. } => Some(id),
            _ => None,
        }
    }

    /// True when a replacement deletes the old copy first.
    pub fn delete_before_replace(&self) -> bool {
        matches!(self.change, Change::Replace { delete_first: true, .. })
    }

    /// True when an unchanged resource's parent, dependencies or `protect`
    /// flag changed: nothing to ask the provider, but the state must record it.
    pub fn metadata_changed(&self) -> bool {
        match (self.recorded(), self.desired()) {
            (Some(o), Some(n)) => n.metadata_differs(o),
            _ => false,
        }
    }
}

/// Count of steps per operation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Summary {
    /// Creates.
    pub create: usize,
    /// In-place updates.
    pub update: usize,
    /// Replacements.
    pub replace: usize,
    /// Deletes.
    pub delete: usize,
    /// Imports.
    pub import: usize,
    /// Unchanged.
    pub same: usize,
}

impl Summary {
    /// Counts one step.
    pub fn add(&mut self, op: Op) {
        match op {
            Op::Create => self.create += 1,
            Op::Update => self.update += 1,
            Op::Replace => self.replace += 1,
            Op::Delete => self.delete += 1,
            Op::Import => self.import += 1,
            Op::Same => self.same += 1,
        }
    }

    /// True when nothing would change (an import changes the state).
    pub fn is_noop(&self) -> bool {
        self.create + self.update + self.replace + self.delete + self.import == 0
    }
}

/// The plan for one stack.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The state serial the plan was made against; applying it to a newer state is refused.
    pub base_serial: u64,
    /// The state lineage the plan was made against.
    pub lineage: String,
    /// Steps: desired resources in declaration order, then deletions in reverse dependency order.
    pub steps: Vec<Step>,
    /// Stack outputs as far as known.
    pub outputs: BTreeMap<String, Value>,
    /// Each component's outputs as far as known (components that record none are absent).
    pub component_outputs: BTreeMap<Urn, BTreeMap<String, Value>>,
    /// What reading the cloud first found (`preview --refresh`, `up --refresh`,
    /// `refresh`, `drift`); applying the plan records it before any step.
    /// `None` when the plan was made against the state as recorded.
    pub refresh: Option<Refresh>,
    /// Recorded resources taken over under a new URN (aliases); applying
    /// the plan records the moves first (after the refresh).
    pub moves: Vec<crate::planner::Move>,
}

impl Plan {
    /// The plan that deletes every resource `state` records, dependents first.
    pub fn destroy(state: &cairn_state::StackState) -> Result<Self, crate::EngineError> {
        Ok(Self {
            base_serial: state.serial,
            lineage: state.lineage.clone(),
            steps: crate::planner::destroy_all(state)?,
            outputs: Default::default(),
            component_outputs: Default::default(),
            refresh: None,
            moves: Vec::new(),
        })
    }

    /// The plan of `refresh`: no steps, only what reading the cloud found;
    /// the outputs stay as recorded.
    pub fn refresh_only(state: &cairn_state::StackState, refresh: Refresh) -> Self {
        let component_outputs = state
            .resources
            .iter()
            .filter(|r| r.kind == ResourceKind::Component && !r.pending_delete)
            .filter_map(|r| Some((r.urn.clone(), r.outputs.as_map()?.clone())))
            .collect();
        Self {
            base_serial: state.serial,
            lineage: state.lineage.clone(),
            steps: Vec::new(),
            outputs: state.outputs.clone(),
            component_outputs,
            refresh: Some(refresh),
            moves: Vec::new(),
        }
    }

    /// Refuses to apply the plan to a state other than the one it was made
    /// against (another run wrote in between).
    pub fn check_base(&self, state: &cairn_state::StackState) -> Result<(), crate::EngineError> {
        if state.serial != self.base_serial || state.lineage != self.lineage {
            return Err(crate::EngineError::StalePlan { planned: self.base_serial, current: state.serial });
        }
        Ok(())
    }

    /// Counts per operation.
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for step in &self.steps {
            s.add(step.op());
        }
        s
    }

    /// True when applying it would change nothing in the cloud.
    pub fn is_noop(&self) -> bool {
        self.summary().is_noop()
    }

    /// True when applying it would change nothing at all, state included.
    pub fn changes_nothing(&self) -> bool {
        self.is_noop()
            && !self.steps.iter().any(Step::metadata_changed)
            && self.refresh.as_ref().is_none_or(Refresh::records_nothing)
            && self.moves.is_empty()
    }

    /// True when applying it needs a person's yes: it changes the cloud, or
    /// it records drift (a refresh that only updates outputs does not ask).
    pub fn needs_confirmation(&self) -> bool {
        !self.is_noop() || self.refresh.as_ref().is_some_and(|r| !r.no_drift())
    }

    /// True when `state` already records the stack's and the components'
    /// outputs this plan computed.
    pub fn outputs_recorded(&self, state: &cairn_state::StackState) -> bool {
        let live = state.live_by_urn();
        self.outputs == state.outputs
            && self
                .component_outputs
                .iter()
                .all(|(urn, outs)| live.get(urn).and_then(|r| r.outputs.as_map()) == Some(outs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_state::ResourceState;

    #[test]
    fn each_word_is_the_json_name() {
        for op in [Op::Create, Op::Update, Op::Replace, Op::Delete, Op::Import, Op::Same] {
            assert_eq!(serde_json::to_value(op).unwrap(), op.word());
        }
    }

    #[test]
    fn a_changed_protect_flag_is_a_change_to_record() {
        let urn = Urn::parse("urn:cairn:dev::p::aws:s3:Bucket::b").unwrap();
        let old = ResourceState::custom(urn.clone(), "b");
        let step = |protect| Step {
            urn: urn.clone(),
            ty: urn.resource_type(),
            kind: ResourceKind::Custom,
            change: Change::Same {
                old: old.clone(),
                new: Desired {
                    inputs: Value::map(),
                    parent: None,
                    dependencies: vec![],
                    protect,
                    retain_on_delete: false,
                    provider: None,
                    declared_index: 0,
                },
            },
            diffs: vec![],
            replaces: vec![],
            warnings: vec![],
        };
        let plan = |protect| Plan {
            base_serial: 1,
            lineage: "l".into(),
            steps: vec![step(protect)],
            outputs: Default::default(),
            component_outputs: Default::default(),
            refresh: None,
            moves: Vec::new(),
        };
        assert!(plan(false).changes_nothing());
        assert!(plan(true).is_noop(), "nothing for the cloud to do");
        assert!(!plan(true).changes_nothing(), "but the state must record the flag");
    }
}
