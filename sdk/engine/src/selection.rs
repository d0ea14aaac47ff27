//! Targeting: `--target`, `--exclude` and `--replace`.
//!
//! A target brings its dependencies (what it needs to exist) and, for a
//! component, its children; an exclusion takes its dependents (what would
//! otherwise point at something left behind) and its children. A `destroy`
//! turns both round: destroying a target destroys its dependents first, and
//! an excluded resource keeps what it depends on. Every other
//! resource keeps its record as it is: a create is not made, a change is not
//! applied, a delete is not done. This is pure: it rewrites a plan.

use std::collections::{BTreeSet, HashMap};

use cairn_core::Urn;

use crate::error::EngineError;
use crate::plan::{Change, Desired, Op, Plan, Step};

/// Which resources a run may touch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// Only these (with their dependencies and children), when any are given.
    pub targets: Vec<Urn>,
    /// Not these, nor their dependents and children.
    pub excludes: Vec<Urn>,
    /// Replace these even though nothing forces it.
    pub replaces: Vec<Urn>,
}

impl Selection {
    /// True when it restricts nothing.
    pub fn is_everything(&self) -> bool {
        self.targets.is_empty() && self.excludes.is_empty()
    }
}

/// The dependencies of each step's resource: declared ones for a resource
/// the program declares, recorded ones for a delete. A parent counts as a
/// dependency.
fn needs(s: &Step) -> Vec<&Urn> {
    match (s.desired(), s.recorded()) {
        (Some(d), _) => d.dependencies.iter().chain(d.parent.iter()).collect(),
        (None, Some(r)) => r.dependencies.iter().chain(r.parent.iter()).collect(),
        (None, None) => Vec::new(),
    }
}

fn parent_of(s: &Step) -> Option<&Urn> {
    s.desired().and_then(|d| d.parent.as_ref()).or_else(|| s.recorded().and_then(|r| r.parent.as_ref()))
}

/// Every URN reachable from `start` by `next`.
fn closure<'a>(start: &'a [Urn], next: &HashMap<&'a Urn, Vec<&'a Urn>>) -> BTreeSet<&'a Urn> {
    let mut seen: BTreeSet<&Urn> = BTreeSet::new();
    let mut stack: Vec<&Urn> = start.iter().collect();
    while let Some(u) = stack.pop() {
        if seen.insert(u) {
            stack.extend(next.get(u).into_iter().flatten().copied());
        }
    }
    seen
}

/// Refuses a selection that names a resource the plan does not hold.
fn check_named(plan: &Plan, flag: &'static str, urns: &[Urn]) -> Result<(), EngineError> {
    for urn in urns {
        if !plan.steps.iter().any(|s| &s.urn == urn) {
            return Err(EngineError::UnknownSelection { flag, urn: urn.clone() });
        }
    }
    Ok(())
}

/// Restricts `plan` to what `selection` allows. A resource left out keeps
/// its record; one the run replaces while a resource left out still depends
/// on it is refused, naming both (the one left out would point at a deleted
/// copy).
pub fn restrict(mut plan: Plan, selection: &Selection, destroying: bool) -> Result<Plan, EngineError> {
    check_named(&plan, "--target", &selection.targets)?;
    check_named(&plan, "--exclude", &selection.excludes)?;
    check_named(&plan, "--replace", &selection.replaces)?;
    if selection.is_everything() {
        return Ok(plan);
    }
    let steps = std::mem::take(&mut plan.steps);
    let mut dependencies: HashMap<&Urn, Vec<&Urn>> = HashMap::new();
    let mut dependents: HashMap<&Urn, Vec<&Urn>> = HashMap::new();
    let mut children: HashMap<&Urn, Vec<&Urn>> = HashMap::new();
    for s in &steps {
        for d in needs(s) {
            dependencies.entry(&s.urn).or_default().push(d);
            dependents.entry(d).or_default().push(&s.urn);
        }
        if let Some(p) = parent_of(s) {
            children.entry(p).or_default().push(&s.urn);
        }
    }
    // A target brings its children (a component's whole subtree) and everything they need.
    let subtree = closure(&selection.targets, &children);
    let subtree: Vec<Urn> = subtree.into_iter().cloned().collect();
    let (grow_target, grow_exclusion) =
        if destroying { (&dependents, &dependencies) } else { (&dependencies, &dependents) };
    let included = closure(&subtree, grow_target);
    let mut excluded_start: Vec<Urn> = closure(&selection.excludes, &children).into_iter().cloned().collect();
    excluded_start.sort();
    let excluded = closure(&excluded_start, grow_exclusion);
    let kept = |u: &Urn| (selection.targets.is_empty() || included.contains(u)) && !excluded.contains(u);

    for s in steps.iter().filter(|s| kept(&s.urn) && matches!(s.op(), Op::Replace | Op::Delete)) {
        if let Some(left) =
            dependents.get(&s.urn).into_iter().flatten().find(|d| {
                !kept(d) && steps.iter().any(|x| x.urn == ***d && x.recorded().is_some() && x.op() != Op::Delete)
            })
        {
            return Err(EngineError::SelectionLeavesDependent {
                urn: s.urn.clone(),
                action: if s.op() == Op::Replace { "replaced" } else { "deleted" },
                dependent: (*left).clone(),
            });
        }
    }
    let mut out = Vec::with_capacity(steps.len());
    for s in steps.iter() {
        if kept(&s.urn) {
            out.push(s.clone());
            continue;
        }
        // Left out: keep the record exactly as it is.
        match (&s.change, s.recorded()) {
            (Change::Delete { .. }, _) | (_, None) => {}
            (_, Some(old)) => {
                let new = Desired {
                    inputs: old.inputs.clone(),
                    parent: old.parent.clone(),
                    dependencies: old.dependencies.clone(),
                    protect: old.protect,
                    retain_on_delete: old.retain_on_delete,
                    provider: old.provider.clone(),
                    declared_index: s.desired().map_or(0, |d| d.declared_index),
                };
                out.push(Step {
                    change: Change::Same { old: old.clone(), new },
                    diffs: Vec::new(),
                    replaces: Vec::new(),
                    warnings: Vec::new(),
                    ..s.clone()
                });
            }
        }
    }
    plan.steps = out;
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_core::{ResourceKind, Value};
    use cairn_state::ResourceState;

    fn urn(name: &str) -> Urn {
        Urn::parse(&format!("urn:cairn:dev::p::aws:s3:Bucket::{name}")).unwrap()
    }

    fn desired(deps: &[&str]) -> Desired {
        Desired {
            inputs: Value::map(),
            parent: None,
            dependencies: deps.iter().map(|d| urn(d)).collect(),
            protect: false,
            retain_on_delete: false,
            provider: None,
            declared_index: 0,
        }
    }

    fn step(name: &str, op: Op, deps: &[&str]) -> Step {
        let old = ResourceState {
            dependencies: deps.iter().map(|d| urn(d)).collect(),
            ..ResourceState::custom(urn(name), name)
        };
        let change = match op {
            Op::Create => Change::Create { new: desired(deps) },
            Op::Update => Change::Update { id: name.into(), old, new: desired(deps) },
            Op::Replace => Change::Replace { id: name.into(), old, new: desired(deps), delete_first: false },
            Op::Delete => Change::Delete { old, id: Some(name.into()) },
            _ => Change::Same { old, new: desired(deps) },
        };
        Step {
            urn: urn(name),
            ty: urn(name).resource_type(),
            kind: ResourceKind::Custom,
            change,
            diffs: vec![],
            replaces: vec![],
            warnings: vec![],
        }
    }

    fn plan(steps: Vec<Step>) -> Plan {
        Plan {
            base_serial: 1,
            lineage: "l".into(),
            steps,
            outputs: Default::default(),
            component_outputs: Default::default(),
            refresh: None,
            moves: vec![],
        }
    }

    fn ops(p: &Plan) -> Vec<(&str, Op)> {
        p.steps.iter().map(|s| (s.urn.name(), s.op())).collect()
    }

    #[test]
    fn a_target_brings_its_dependencies_and_nothing_else() {
        // a <- b <- c, and d alone: target b.
        let p = plan(vec![
            step("a", Op::Create, &[]),
            step("b", Op::Create, &["a"]),
            step("c", Op::Create, &["b"]),
            step("d", Op::Update, &[]),
            step("e", Op::Delete, &[]),
        ]);
        let sel = Selection { targets: vec![urn("b")], ..Selection::default() };
        let p = restrict(p, &sel, false).unwrap();
        assert_eq!(ops(&p), [("a", Op::Create), ("b", Op::Create), ("d", Op::Same)], "c is not created, e not deleted");
        assert!(!p.changes_nothing() && p.steps[2].diffs.is_empty());
    }

    #[test]
    fn an_exclusion_takes_its_dependents() {
        let p = plan(vec![step("a", Op::Update, &[]), step("b", Op::Update, &["a"]), step("d", Op::Update, &[])]);
        let sel = Selection { excludes: vec![urn("a")], ..Selection::default() };
        assert_eq!(ops(&restrict(p, &sel, false).unwrap()), [("a", Op::Same), ("b", Op::Same), ("d", Op::Update)]);
    }

    #[test]
    fn replacing_what_a_left_out_resource_needs_is_refused() {
        let p = plan(vec![step("a", Op::Replace, &[]), step("b", Op::Update, &["a"])]);
        let sel = Selection { targets: vec![urn("a")], ..Selection::default() };
        let err = restrict(p, &sel, false).unwrap_err().to_string();
        assert!(err.contains("::a would be replaced") && err.contains("::b"), "{err}");
    }

    #[test]
    fn destroying_a_target_destroys_its_dependents_and_keeps_its_dependencies() {
        let p = plan(vec![step("c", Op::Delete, &["b"]), step("b", Op::Delete, &["a"]), step("a", Op::Delete, &[])]);
        let sel = Selection { targets: vec![urn("b")], ..Selection::default() };
        assert_eq!(ops(&restrict(p.clone(), &sel, true).unwrap()), [("c", Op::Delete), ("b", Op::Delete)]);
        let sel = Selection { excludes: vec![urn("b")], ..Selection::default() };
        assert_eq!(ops(&restrict(p, &sel, true).unwrap()), [("c", Op::Delete)], "b stays, and a with it");
    }

    #[test]
    fn a_name_the_plan_does_not_hold_is_refused() {
        let sel = Selection { targets: vec![urn("zzz")], ..Selection::default() };
        let err = restrict(plan(vec![step("a", Op::Create, &[])]), &sel, false).unwrap_err().to_string();
        assert!(err.contains("--target") && err.contains("::zzz"), "{err}");
    }
}
