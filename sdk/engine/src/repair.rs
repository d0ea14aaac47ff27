//! State repairs (`state delete`, `state move`): pure edits of a recorded
//! state into the records to write. They change nothing in the cloud; the
//! automation API journals them under the stack's lock.

use cairn_core::{ResourceKind, Urn};
use cairn_state::{Mutation, ResourceState, StackState};

use crate::error::EngineError;
use crate::planner::{Move, moved_records};

fn live<'a>(state: &'a StackState, urn: &Urn) -> Result<&'a ResourceState, EngineError> {
    state.live(urn).ok_or_else(|| {
        EngineError::Repair(format!("the state records no resource {urn}; use a URN that `state export` lists"))
    })
}

/// Forgets `urn` (and any old copy of it awaiting deletion); the cloud
/// resource is left alone. Refused for a protected resource unless `force`,
/// for a component that still has children, and for a resource others
/// depend on unless `force` (their dependency on it is then dropped).
pub fn delete_record(state: &StackState, urn: &Urn, force: bool) -> Result<Vec<Mutation>, EngineError> {
    let record = live(state, urn)?;
    if record.protect && !force {
        return Err(EngineError::Repair(format!(
            "{urn} is protected; pass --force to forget it anyway (the cloud resource is left as it is)"
        )));
    }
    let children: Vec<&Urn> =
        state.resources.iter().filter(|r| r.parent.as_ref() == Some(urn)).map(|r| &r.urn).collect();
    if record.kind == ResourceKind::Component && !children.is_empty() {
        return Err(EngineError::Repair(format!(
            "{urn} is a component with {} children ({}); delete them first",
            children.len(),
            children.iter().map(|u| u.name()).collect::<Vec<_>>().join(", ")
        )));
    }
    let dependents: Vec<&ResourceState> =
        state.resources.iter().filter(|r| !r.pending_delete && r.dependencies.contains(urn)).collect();
    if !dependents.is_empty() && !force {
        return Err(EngineError::Repair(format!(
            "{} depend(s) on {urn}; delete them first, or pass --force to drop the dependency from their records",
            dependents.iter().map(|r| r.urn.to_string()).collect::<Vec<_>>().join(", ")
        )));
    }
    let mut out: Vec<Mutation> = state
        .resources
        .iter()
        .filter(|r| &r.urn == urn)
        .map(|r| Mutation::Remove { urn: urn.clone(), id: r.id.clone() })
        .collect();
    out.extend(dependents.into_iter().map(|r| {
        let dependencies = r.dependencies.iter().filter(|d| *d != urn).cloned().collect();
        Mutation::Put(ResourceState { dependencies, ..r.clone() })
    }));
    Ok(out)
}

/// Records `from` under the URN `to` (same stack, project and resource
/// type), and every reference to it with it: a rename without touching the
/// cloud. The declarative way is an alias; this is for repairs.
pub fn move_record(state: &StackState, from: &Urn, to: &Urn) -> Result<Vec<Mutation>, EngineError> {
    live(state, from)?;
    if state.resources.iter().any(|r| &r.urn == to) {
        return Err(EngineError::Repair(format!("the state already records {to}; delete or move it first")));
    }
    if (from.stack(), from.project(), from.resource_type()) != (to.stack(), to.project(), to.resource_type()) {
        return Err(EngineError::Repair(format!(
            "{from} can only move to a URN of the same stack, project and resource type, not {to}"
        )));
    }
    Ok(moved_records(state, &[Move { from: from.clone(), to: to.clone() }]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_core::StackName;

    fn urn(name: &str) -> Urn {
        Urn::parse(&format!("urn:cairn:dev::p::aws:iam:Role::{name}")).unwrap()
    }

    fn state() -> StackState {
        let mut s = StackState::new(StackName::new("dev").unwrap());
        let b = ResourceState { dependencies: vec![urn("a")], ..ResourceState::custom(urn("b"), "b") };
        s.resources = vec![ResourceState::custom(urn("a"), "a"), b];
        s
    }

    fn after(s: &StackState, m: &[Mutation]) -> Vec<String> {
        let mut s = s.clone();
        m.iter().for_each(|m| s.apply(m));
        s.resources
            .iter()
            .map(|r| format!("{}{:?}", r.urn.name(), r.dependencies.iter().map(|d| d.name()).collect::<Vec<_>>()))
            .collect()
    }

    #[test]
    fn a_resource_others_depend_on_is_deleted_only_with_force() {
        let s = state();
        let err = delete_record(&s, &urn("a"), false).unwrap_err().to_string();
        assert!(err.contains("::b depend(s) on") && err.contains("--force"), "{err}");
        assert_eq!(after(&s, &delete_record(&s, &urn("a"), true).unwrap()), ["b[]"]);
        assert_eq!(after(&s, &delete_record(&s, &urn("b"), false).unwrap()), ["a[]"]);
        assert!(delete_record(&s, &urn("zzz"), true).unwrap_err().to_string().contains("records no resource"));
    }

    #[test]
    fn a_move_renames_the_record_and_its_references_within_its_type() {
        let s = state();
        assert_eq!(after(&s, &move_record(&s, &urn("a"), &urn("c")).unwrap()), ["b[\"c\"]", "c[]"]);
        let bucket = Urn::parse("urn:cairn:dev::p::aws:s3:Bucket::a").unwrap();
        assert!(
            move_record(&s, &urn("a"), &bucket)
                .unwrap_err()
                .to_string()
                .contains("same stack, project and resource type")
        );
        assert!(move_record(&s, &urn("a"), &urn("b")).unwrap_err().to_string().contains("already records"));
    }
}
