//! The pure part of planning: no IO, no provider calls, deterministic.
//!
//! The preview driver ([`crate::preview`]) asks providers to Check and Diff
//! and feeds their answers to these functions, which decide each step.

use std::collections::{BTreeSet, HashMap};

use cairn_core::{
    CheckFailure, DeclaredResource, DiffResponse, OutputSource, PropertyPath, ResourceKind, Urn, Value,
    schema::defaults_of,
    value::{DEFAULTS_KEY, PathSegment},
};
use cairn_state::{Mutation, ResourceState, StackState};

use crate::error::EngineError;
use crate::plan::{Change, Desired, Step};

/// Outputs known while planning: those of resources that keep their outputs
/// (unchanged or updated in place); created and replaced resources' outputs are unknown.
#[derive(Debug, Default)]
pub struct KnownOutputs(HashMap<Urn, Value>);

impl KnownOutputs {
    /// Records a resource's outputs as known.
    pub fn insert(&mut self, urn: Urn, outputs: Value) {
        self.0.insert(urn, outputs);
    }

    /// Forgets a resource's outputs (they will change).
    pub fn remove(&mut self, urn: &Urn) {
        self.0.remove(urn);
    }
}

impl OutputSource for KnownOutputs {
    fn outputs_of(&self, urn: &Urn) -> Option<&Value> {
        self.0.get(urn)
    }
}

/// The declared inputs with every output placeholder replaced by its value (or unknown).
pub fn resolve_inputs(decl: &DeclaredResource, known: &KnownOutputs) -> Result<Value, EngineError> {
    cairn_core::output::resolve_placeholders(&decl.inputs, &decl.outputs, known)
        .map_err(|source| EngineError::Output { urn: decl.urn.clone(), source })
}

/// The recorded inputs as the program declared them: without the defaults
/// the provider filled in. Equal to freshly resolved inputs means "unchanged"
/// without asking the provider.
pub fn declared_part(recorded: &Value) -> Value {
    let defaults = defaults_of(recorded);
    match recorded {
        Value::Map(m) => Value::Map(
            m.iter()
                .filter(|(k, _)| k.as_str() != DEFAULTS_KEY && !defaults.contains(k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// True when nothing about the resource changed: same declared inputs (all
/// known), same parent, dependencies and protect flag.
pub fn unchanged(old: &ResourceState, resolved: &Value, desired_meta: &Desired) -> bool {
    !resolved.contains_unknown() && !declared_part_changed(&old.inputs, resolved) && !desired_meta.metadata_differs(old)
}

/// Whether `resolved` differs from the [`declared_part`] of `recorded`,
/// found without copying it (a no-op preview asks this of every resource).
fn declared_part_changed(recorded: &Value, resolved: &Value) -> bool {
    let defaults = defaults_of(recorded);
    let (Value::Map(recorded), Value::Map(resolved)) = (recorded, resolved) else {
        return Value::changed(Some(&declared_part(recorded)), Some(resolved));
    };
    let declared = |k: &str| k != DEFAULTS_KEY && !defaults.contains(k);
    recorded.iter().filter(|(k, _)| declared(k)).any(|(k, v)| Value::changed(Some(v), resolved.get(k)))
        || resolved.iter().any(|(k, v)| !(declared(k) && recorded.contains_key(k)) && Value::changed(None, Some(v)))
}

/// The desired side of the declared resource at `index`.
pub fn desired(decl: &DeclaredResource, index: usize, inputs: Value) -> Desired {
    let mut deps: BTreeSet<Urn> = decl.dependencies.clone();
    if let Some(p) = &decl.parent {
        deps.insert(p.clone());
    }
    Desired {
        inputs,
        parent: decl.parent.clone(),
        dependencies: deps.into_iter().collect(),
        protect: decl.protect,
        retain_on_delete: decl.lifecycle.retain_on_delete,
        provider: decl.lifecycle.provider.clone(),
        declared_index: index,
    }
}

/// The provider ID of a recorded custom resource, which any call about it needs.
pub(crate) fn recorded_id(old: &ResourceState, action: &'static str) -> Result<String, EngineError> {
    old.id.clone().ok_or_else(|| EngineError::MissingId { urn: old.urn.clone(), action })
}

/// Decides the step of a declared resource from its recorded state and the
/// provider's diff (`None` when no diff was needed).
pub fn decide(
    decl: &DeclaredResource,
    old: Option<&ResourceState>,
    new: Desired,
    diff: Option<DiffResponse>,
    warnings: Vec<CheckFailure>,
) -> Result<Step, EngineError> {
    let ty = decl.urn.resource_type();
    let diff = diff.unwrap_or_default();
    let change = match (old, decl.kind) {
        (None, _) => Change::Create { new },
        (Some(old), ResourceKind::Component) => Change::Same { old: old.clone(), new },
        (Some(old), ResourceKind::Custom) if !diff.replaces.is_empty() => {
            if old.protect {
                return Err(EngineError::Protected {
                    urn: decl.urn.clone(),
                    action: format!(
                        "replaced (because {} changed)",
                        diff.replaces.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
                    ),
                });
            }
            let id = recorded_id(old, "replaced")?;
            Change::Replace { id, old: old.clone(), new, delete_first: diff.delete_before_replace }
        }
        (Some(old), ResourceKind::Custom) if !diff.changes.is_empty() => {
            Change::Update { id: recorded_id(old, "updated")?, old: old.clone(), new }
        }
        (Some(old), ResourceKind::Custom) => Change::Same { old: old.clone(), new },
    };
    Ok(Step {
        urn: decl.urn.clone(),
        ty,
        kind: decl.kind,
        change,
        diffs: diff.changes,
        replaces: diff.replaces,
        warnings,
    })
}

/// Makes every replacement of a dependent of a delete-first replacement
/// delete first too (transitively): the old copy of what it depends on is
/// deleted before its new copy exists, so its own old copy must go before
/// that, and its new copy can only come after.
pub fn cascade_delete_first(steps: &mut [Step]) {
    loop {
        let first: BTreeSet<Urn> = steps.iter().filter(|s| s.delete_before_replace()).map(|s| s.urn.clone()).collect();
        let mut changed = false;
        for s in steps.iter_mut() {
            let needs_first =
                s.recorded().is_some_and(|o| o.dependencies.iter().chain(o.parent.iter()).any(|d| first.contains(d)));
            if let Change::Replace { delete_first, .. } = &mut s.change
                && !*delete_first
                && needs_first
            {
                *delete_first = true;
                changed = true;
            }
        }
        if !changed {
            return;
        }
    }
}

/// Delete steps for recorded resources the program no longer declares, and
/// for old copies left pending deletion, dependents before dependencies.
pub fn deletions(state: &StackState, declared: &BTreeSet<&Urn>) -> Result<Vec<Step>, EngineError> {
    let doomed: Vec<&ResourceState> =
        state.resources.iter().filter(|r| r.pending_delete || !declared.contains(&r.urn)).collect();
    let protected: Vec<&ResourceState> = doomed.iter().copied().filter(|r| r.protect && !r.pending_delete).collect();
    if let Some(r) = protected.first() {
        return Err(EngineError::Protected { urn: r.urn.clone(), action: "deleted (it is no longer declared)".into() });
    }
    reverse_dependency_order(&doomed).into_iter().map(delete_step).collect()
}

/// Every recorded resource, dependents first, for `destroy`.
pub fn destroy_all(state: &StackState) -> Result<Vec<Step>, EngineError> {
    let all: Vec<&ResourceState> = state.resources.iter().collect();
    if let Some(r) = all.iter().find(|r| r.protect && !r.pending_delete) {
        return Err(EngineError::Protected { urn: r.urn.clone(), action: "destroyed".into() });
    }
    reverse_dependency_order(&all).into_iter().map(delete_step).collect()
}

fn delete_step(r: &ResourceState) -> Result<Step, EngineError> {
    let id = match r.kind {
        ResourceKind::Custom => Some(recorded_id(r, "deleted")?),
        ResourceKind::Component => None,
    };
    Ok(Step {
        urn: r.urn.clone(),
        ty: r.urn.resource_type(),
        kind: r.kind,
        change: Change::Delete { old: r.clone(), id },
        diffs: Vec::new(),
        replaces: Vec::new(),
        warnings: Vec::new(),
    })
}

/// The `$cairn.defaults` of live inputs read for an import: every property
/// the program leaves out, so that Check keeps its live value (an
/// auto-named resource keeps its real name) instead of filling a new one.
pub fn live_as_recorded(live: &Value, declared: &Value) -> Value {
    let Value::Map(map) = live else { return live.clone() };
    let left_out: Vec<Value> = map
        .keys()
        .filter(|k| !k.starts_with("$cairn.") && matches!(declared.get(k), None | Some(Value::Null)))
        .map(|k| Value::String(k.clone()))
        .collect();
    let mut map = map.clone();
    if !left_out.is_empty() {
        map.insert(DEFAULTS_KEY.to_owned(), Value::List(left_out));
    }
    Value::Map(map)
}

/// `resolved` with the recorded value at each path (or none, where none is
/// recorded): what `ignore_changes` keeps.
pub fn keep_recorded(resolved: &Value, recorded: &Value, paths: &[PropertyPath]) -> Value {
    let mut out = resolved.clone();
    for path in paths {
        set_at(&mut out, &path.0, recorded.at(path).cloned());
    }
    out
}

fn set_at(v: &mut Value, path: &[PathSegment], new: Option<Value>) {
    let Some((first, rest)) = path.split_first() else {
        *v = new.unwrap_or(Value::Null);
        return;
    };
    match (v, first) {
        (Value::Secret(inner), _) => set_at(inner, path, new),
        (Value::Map(m), PathSegment::Key(k)) if rest.is_empty() => match new {
            Some(n) => {
                m.insert(k.clone(), n);
            }
            None => {
                m.remove(k);
            }
        },
        (Value::Map(m), PathSegment::Key(k)) => {
            if let Some(child) = m.get_mut(k) {
                set_at(child, rest, new);
            } else if let Some(n) = new {
                let mut child = Value::map();
                set_at(&mut child, rest, Some(n));
                m.insert(k.clone(), child);
            }
        }
        (Value::List(l), PathSegment::Index(i)) => {
            if let Some(child) = l.get_mut(*i) {
                set_at(child, rest, new);
            }
        }
        // The declared value has another shape there: leave it.
        _ => {}
    }
}

/// True when `path` is `prefix` or inside it.
pub fn path_within(path: &PropertyPath, prefix: &PropertyPath) -> bool {
    path.0.starts_with(&prefix.0)
}

/// A recorded resource taken over under a new URN (an alias).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Move {
    /// The URN it is recorded under.
    pub from: Urn,
    /// The URN the program now gives it.
    pub to: Urn,
}

/// The moves the declared aliases ask for: a declared resource with no
/// record of its own takes over the record of the first alias that has one
/// (and is not declared itself).
pub fn aliases_to_move(declared: &[DeclaredResource], state: &StackState) -> Result<Vec<Move>, EngineError> {
    let declared_urns: BTreeSet<&Urn> = declared.iter().map(|d| &d.urn).collect();
    let live = state.live_by_urn();
    let mut moves: Vec<Move> = Vec::new();
    for d in declared.iter().filter(|d| !live.contains_key(&d.urn)) {
        let Some(from) = d.lifecycle.aliases.iter().find(|a| live.contains_key(a) && !declared_urns.contains(a)) else {
            continue;
        };
        if let Some(other) = moves.iter().find(|m| &m.from == from) {
            return Err(EngineError::AliasTaken {
                alias: from.clone(),
                first: other.to.clone(),
                second: d.urn.clone(),
            });
        }
        moves.push(Move { from: from.clone(), to: d.urn.clone() });
    }
    Ok(moves)
}

/// The records that carry out `moves` on `state`: each moved record under
/// its new URN, and every record that names it as parent or dependency
/// naming the new URN.
pub fn moved_records(state: &StackState, moves: &[Move]) -> Vec<Mutation> {
    if moves.is_empty() {
        return Vec::new();
    }
    let renamed = |u: &Urn| moves.iter().find(|m| &m.from == u).map_or_else(|| u.clone(), |m| m.to.clone());
    let mut removes = Vec::new();
    let mut puts = Vec::new();
    for r in state.resources.iter().filter(|r| !r.pending_delete) {
        let moved = moves.iter().find(|m| m.from == r.urn);
        let parent = r.parent.as_ref().map(renamed);
        let dependencies: Vec<Urn> = r.dependencies.iter().map(renamed).collect();
        if moved.is_none() && parent == r.parent && dependencies == r.dependencies {
            continue;
        }
        let mut record = ResourceState { parent, dependencies, ..r.clone() };
        if let Some(m) = moved {
            removes.push(Mutation::Remove { urn: m.from.clone(), id: r.id.clone() });
            record.urn = m.to.clone();
        }
        puts.push(Mutation::Put(record));
    }
    removes.extend(puts);
    removes
}

/// Orders resources so that each comes before everything it depends on.
fn reverse_dependency_order<'a>(rs: &[&'a ResourceState]) -> Vec<&'a ResourceState> {
    // State order is a dependency order (records are appended as they are
    // created), so reversing it is almost always right; the sort makes it
    // right even after edits by hand.
    let mut out: Vec<&ResourceState> = Vec::with_capacity(rs.len());
    let mut placed: BTreeSet<usize> = BTreeSet::new();
    fn visit<'a>(i: usize, rs: &[&'a ResourceState], placed: &mut BTreeSet<usize>, out: &mut Vec<&'a ResourceState>) {
        if !placed.insert(i) {
            return;
        }
        // Dependents of rs[i] must come first.
        for (j, r) in rs.iter().enumerate() {
            if r.dependencies.contains(&rs[i].urn) || r.parent.as_ref() == Some(&rs[i].urn) {
                visit(j, rs, placed, out);
            }
        }
        out.push(rs[i]);
    }
    for i in (0..rs.len()).rev() {
        visit(i, rs, &mut placed, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_core::StackName;

    fn rs(name: &str, deps: &[&str]) -> ResourceState {
        let u = |n: &str| Urn::parse(&format!("urn:cairn:dev::p::aws:iam:Role::{n}")).unwrap();
        ResourceState { dependencies: deps.iter().map(|d| u(d)).collect(), ..ResourceState::custom(u(name), name) }
    }

    #[test]
    fn destroy_deletes_dependents_first() {
        let mut state = StackState::new(StackName::new("dev").unwrap());
        // Recorded out of order on purpose.
        state.resources = vec![rs("c", &["b"]), rs("a", &[]), rs("b", &["a"])];
        let order: Vec<String> = destroy_all(&state).unwrap().iter().map(|s| s.urn.name().to_owned()).collect();
        assert_eq!(order, ["c", "b", "a"]);
    }

    #[test]
    fn protected_resources_are_not_deleted() {
        let mut state = StackState::new(StackName::new("dev").unwrap());
        let mut a = rs("a", &[]);
        a.protect = true;
        state.resources = vec![a];
        let err = destroy_all(&state).unwrap_err().to_string();
        assert!(err.contains("protected") && err.contains("::a"), "{err}");
        assert!(deletions(&state, &BTreeSet::new()).is_err());
    }

    #[test]
    fn imported_inputs_mark_what_the_program_leaves_out() {
        let live = Value::from_json(&serde_json::json!({"bucket": "real-1", "versioning": true}));
        let declared = Value::from_json(&serde_json::json!({"versioning": true, "bucket": null}));
        let recorded = live_as_recorded(&live, &declared);
        assert_eq!(defaults_of(&recorded).into_iter().collect::<Vec<_>>(), ["bucket"]);
        assert_eq!(recorded.get("bucket").and_then(Value::as_str), Some("real-1"));
    }

    #[test]
    fn ignored_paths_keep_the_recorded_value_or_its_absence() {
        let declared = Value::from_json(&serde_json::json!({"scaling": {"min": 0, "desired": 0}, "tags": {"a": "1"}}));
        let recorded =
            Value::from_json(&serde_json::json!({"scaling": {"min": 0, "desired": 5}, "tags": {"a": "1", "b": "2"}}));
        let kept = keep_recorded(
            &declared,
            &recorded,
            &[PropertyPath::parse("scaling.desired"), PropertyPath::parse("tags.b"), PropertyPath::parse("nope")],
        );
        assert_eq!(kept, recorded);
        let none = keep_recorded(&recorded, &declared, &[PropertyPath::parse("tags.b")]);
        assert_eq!(none.get("tags"), Some(&Value::from_json(&serde_json::json!({"a": "1"}))));
    }

    #[test]
    fn a_move_renames_the_record_and_every_reference_to_it() {
        let mut state = StackState::new(StackName::new("dev").unwrap());
        state.resources = vec![rs("old", &[]), rs("user", &["old"])];
        let to = rs("new", &[]).urn;
        let moves = [Move { from: state.resources[0].urn.clone(), to: to.clone() }];
        let mut after = state.clone();
        moved_records(&state, &moves).iter().for_each(|m| after.apply(m));
        let names: Vec<&str> = after.resources.iter().map(|r| r.urn.name()).collect();
        assert!(names.contains(&"new") && !names.contains(&"old"), "{names:?}");
        assert_eq!(after.live(&rs("user", &[]).urn).unwrap().dependencies, [to]);
    }

    #[test]
    fn declared_part_drops_provider_defaults() {
        let recorded =
            Value::from_json(&serde_json::json!({"name": "x-1234567", "tags": {}, "$cairn.defaults": ["name"]}));
        assert_eq!(declared_part(&recorded), Value::from_json(&serde_json::json!({"tags": {}})));
        // Compared in place, it answers as the copy does.
        let same = |resolved: serde_json::Value| {
            let resolved = Value::from_json(&resolved);
            let by_copy = declared_part(&recorded).diff(&resolved).is_empty();
            assert_eq!(!declared_part_changed(&recorded, &resolved), by_copy, "{resolved:?}");
            by_copy
        };
        assert!(same(serde_json::json!({"tags": {}})), "the default is not declared");
        assert!(!same(serde_json::json!({"tags": {}, "name": "y"})), "declaring it is a change");
        assert!(!same(serde_json::json!({"tags": {"a": "b"}})));
        assert!(!same(serde_json::json!({})), "tags removed");
        assert!(same(serde_json::json!({"tags": {}, "other": null})), "a null is no value");
    }

    #[test]
    fn a_recorded_resource_without_an_id_is_refused_never_sent_an_empty_one() {
        let mut state = StackState::new(StackName::new("dev").unwrap());
        state.resources = vec![ResourceState { id: None, ..rs("a", &[]) }];
        let err = destroy_all(&state).unwrap_err().to_string();
        assert!(err.contains("::a with no provider ID, so it cannot be deleted"), "{err}");
    }
}
