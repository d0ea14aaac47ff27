//! The preview driver: plans the declared resources, asking providers to
//! Check and Diff where something changed, and lets the pure planner decide
//! each step. It never creates, updates or deletes anything.
//!
//! Resources are planned in waves: a resource's inputs can only read the
//! outputs of its dependencies, so every resource whose dependencies are
//! planned is planned at once, with at most [`PREVIEW_PARALLELISM`] provider
//! conversations in flight. The steps keep declaration order, so the plan is
//! the same as planning one resource after another.

use std::collections::{BTreeSet, HashMap};

use cairn_core::{
    CheckFailure, CheckRequest, DeclaredResource, DeclaredStack, DiffRequest, Provider, ReadRequest, ResourceKind, Urn,
    Value,
};
use cairn_state::{ResourceState, StackState};
use futures::StreamExt;

use crate::error::EngineError;
use crate::plan::{Change, Op, Plan, Step};
use crate::planner::{
    KnownOutputs, aliases_to_move, cascade_delete_first, decide, deletions, desired, keep_recorded, live_as_recorded,
    moved_records, path_within, recorded_id, resolve_inputs, unchanged,
};
use crate::providers::{ProviderSource, for_resource};

/// Most resources whose Check and Diff are in flight at once during a preview.
pub const PREVIEW_PARALLELISM: usize = 16;

/// How planning a resource changes the outputs known to its dependents.
enum Known {
    /// Unchanged: what the state recorded stays known.
    Keep,
    /// Created or replaced: unknown until applied.
    Forget,
    /// Imported, or updated (outputs named like a changed input become unknown).
    Set(Value),
}

/// One resource planned: its step, or the provider's refusals of its inputs.
enum Planned {
    Step(Box<Step>, Known),
    Refused(Vec<CheckFailure>),
}

/// The waves: each resource's index, grouped so that every resource comes
/// after the waves holding its dependencies and its parent.
fn waves(declared: &DeclaredStack) -> Vec<Vec<usize>> {
    let index: HashMap<&Urn, usize> = declared.resources.iter().enumerate().map(|(i, r)| (&r.urn, i)).collect();
    let mut wave_of = vec![0usize; declared.resources.len()];
    let mut waves: Vec<Vec<usize>> = Vec::new();
    for (i, r) in declared.resources.iter().enumerate() {
        // Declaration order is a dependency order, so every dependency's wave is known here.
        let w = r
            .dependencies
            .iter()
            .chain(r.parent.iter())
            .filter_map(|u| index.get(u))
            .map(|&j| wave_of[j] + 1)
            .max()
            .unwrap_or(0);
        wave_of[i] = w;
        if waves.len() <= w {
            waves.resize_with(w + 1, Vec::new);
        }
        waves[w].push(i);
    }
    waves
}

/// Plans `declared` against `state`.
pub async fn preview(
    declared: &DeclaredStack,
    state: &StackState,
    providers: &dyn ProviderSource,
) -> Result<Plan, EngineError> {
    preview_replacing(declared, state, providers, &[]).await
}

/// Plans `declared` against `state`, replacing the resources `replace` names
/// even where nothing forces it (`--replace`).
pub async fn preview_replacing(
    declared: &DeclaredStack,
    state: &StackState,
    providers: &dyn ProviderSource,
    replace: &[Urn],
) -> Result<Plan, EngineError> {
    // Aliases: recorded resources the program now calls by another URN are
    // planned as if already recorded under it; applying records the moves first.
    let moves = aliases_to_move(&declared.resources, state)?;
    let mut moved;
    let state = if moves.is_empty() {
        state
    } else {
        moved = state.clone();
        moved_records(state, &moves).iter().for_each(|m| moved.apply(m));
        &moved
    };
    let mut known = KnownOutputs::default();
    for r in state.resources.iter().filter(|r| !r.pending_delete) {
        known.insert(r.urn.clone(), r.outputs.clone());
    }
    let mut planned: Vec<Option<Step>> = (0..declared.resources.len()).map(|_| None).collect();
    let mut failures = Vec::new();
    let live = &state.live_by_urn();
    for wave in waves(declared) {
        let known_now = &known;
        let mut results: Vec<(usize, Result<Planned, EngineError>)> = futures::stream::iter(wave)
            .map(|i| async move {
                let decl = &declared.resources[i];
                let forced = replace.contains(&decl.urn);
                let old = live.get(&decl.urn).copied();
                (i, plan_one(decl, i, old, known_now, providers, forced).await)
            })
            .buffer_unordered(PREVIEW_PARALLELISM)
            .collect()
            .await;
        // In declaration order, so the first error reported is the first a sequential plan would meet.
        results.sort_by_key(|(i, _)| *i);
        for (i, result) in results {
            let urn = &declared.resources[i].urn;
            match result? {
                Planned::Step(step, update) => {
                    match update {
                        Known::Keep => {}
                        Known::Forget => known.remove(urn),
                        Known::Set(outputs) => known.insert(urn.clone(), outputs),
                    }
                    planned[i] = Some(*step);
                }
                Planned::Refused(refusals) => failures.extend(refusals.into_iter().map(|f| (urn.clone(), f))),
            }
        }
    }
    if !failures.is_empty() {
        return Err(EngineError::CheckFailed(failures));
    }
    let mut steps: Vec<Step> = planned.into_iter().flatten().collect();
    cascade_delete_first(&mut steps);

    let declared_urns: BTreeSet<&Urn> = declared.resources.iter().map(|r| &r.urn).collect();
    steps.extend(deletions(state, &declared_urns)?);

    let outputs = evaluate_exports(&declared.exports, &known);
    let component_outputs = component_outputs(declared, &known);
    Ok(Plan {
        base_serial: state.serial,
        lineage: state.lineage.clone(),
        steps,
        outputs,
        component_outputs,
        refresh: None,
        moves,
    })
}

/// Plans one declared resource against its live record `old`, with the
/// outputs its dependencies have as far as they are known.
async fn plan_one(
    decl: &DeclaredResource,
    index: usize,
    old: Option<&ResourceState>,
    known: &KnownOutputs,
    providers: &dyn ProviderSource,
    force_replace: bool,
) -> Result<Planned, EngineError> {
    // Another provider instance (another region or account) is another resource.
    let moved_provider = old.is_some_and(|o| o.provider != decl.lifecycle.provider);
    let force_replace = (force_replace || moved_provider) && decl.kind == ResourceKind::Custom && old.is_some();
    let lifecycle = &decl.lifecycle;
    let mut resolved = resolve_inputs(decl, known)?;
    if let Some(old) = old
        && !lifecycle.ignore_changes.is_empty()
    {
        resolved = keep_recorded(&resolved, &old.inputs, &lifecycle.ignore_changes);
    }
    // The metadata side (parent, dependencies, options); the inputs go in once the step is known.
    let mut meta = desired(decl, index, Value::Null);

    if decl.kind == ResourceKind::Component {
        meta.inputs = resolved;
        return Ok(Planned::Step(Box::new(decide(decl, old, meta, None, Vec::new())?), Known::Keep));
    }
    if old.is_none()
        && let Some(id) = &decl.import
    {
        let provider = for_resource(providers, &decl.urn.resource_type(), decl.lifecycle.provider.as_deref()).await?;
        let (step, outputs) = plan_import(&*provider, decl, index, id, resolved).await?;
        return Ok(Planned::Step(Box::new(step), Known::Set(outputs)));
    }
    if let Some(old) = old
        && !force_replace
        && !lifecycle.compare_live
        && unchanged(old, &resolved, &meta)
    {
        meta.inputs = old.inputs.clone();
        let step = decide(decl, Some(old), meta, None, Vec::new())?;
        return Ok(Planned::Step(Box::new(step), Known::Keep));
    }

    let provider = for_resource(providers, &decl.urn.resource_type(), decl.lifecycle.provider.as_deref()).await?;
    let checked = provider
        .check(CheckRequest { urn: decl.urn.clone(), olds: old.map(|o| o.inputs.clone()), news: resolved.clone() })
        .await
        .map_err(|source| EngineError::Provider { urn: decl.urn.clone(), action: "check", source })?;
    if !checked.failures.is_empty() {
        return Ok(Planned::Refused(checked.failures));
    }
    let mut inputs = checked.inputs;
    let diff = match old {
        Some(old) => Some(
            provider
                .diff(DiffRequest {
                    urn: decl.urn.clone(),
                    id: recorded_id(old, "compared")?,
                    olds: old.inputs.clone(),
                    old_outputs: old.outputs.clone(),
                    news: inputs.clone(),
                })
                .await
                .map_err(|source| EngineError::Provider { urn: decl.urn.clone(), action: "diff", source })?,
        ),
        None => None,
    };
    // The options: properties that replace, and replacing by deleting first.
    let diff = diff.map(|mut d| {
        let forced: Vec<_> = d
            .changes
            .iter()
            .filter(|c| lifecycle.replace_on_changes.iter().any(|p| path_within(&c.path, p)))
            .map(|c| c.path.clone())
            .filter(|p| !d.replaces.contains(p))
            .collect();
        d.replaces.extend(forced);
        if !d.replaces.is_empty() || force_replace {
            d.delete_before_replace |= lifecycle.delete_before_replace;
        }
        d
    });
    // A create-first replacement must not reuse the old physical name:
    // check again as if new, so the provider picks a fresh auto-name.
    if let Some(d) = &diff
        && (!d.replaces.is_empty() || force_replace)
        && !d.delete_before_replace
    {
        inputs = provider
            .check(CheckRequest { urn: decl.urn.clone(), olds: None, news: resolved })
            .await
            .map_err(|source| EngineError::Provider { urn: decl.urn.clone(), action: "check", source })?
            .inputs;
    }
    let mut step = decide(decl, old, desired(decl, index, inputs), diff, checked.warnings)?;
    // A replacement asked for (`--replace`) is one whatever the diff says.
    if force_replace
        && matches!(step.op(), Op::Update | Op::Same)
        && let (Some(old), Some(new)) = (old, step.desired().cloned())
    {
        if old.protect {
            return Err(EngineError::Protected { urn: decl.urn.clone(), action: "replaced (--replace)".into() });
        }
        let id = recorded_id(old, "replaced")?;
        step.change = Change::Replace { id, old: old.clone(), new, delete_first: lifecycle.delete_before_replace };
    }
    let update = match step.op() {
        Op::Create | Op::Replace => Known::Forget,
        // An output named like a changed input will change too: unknown
        // until applied, so dependents are resolved again then.
        Op::Update => match old.map(|o| &o.outputs) {
            Some(Value::Map(outs)) => {
                let touched: BTreeSet<&str> = step.diffs.iter().filter_map(|d| d.path.top()).collect();
                let outs = outs
                    .iter()
                    .map(|(k, v)| (k.clone(), if touched.contains(k.as_str()) { Value::Unknown } else { v.clone() }))
                    .collect();
                Known::Set(Value::Map(outs))
            }
            _ => Known::Keep,
        },
        _ => Known::Keep,
    };
    Ok(Planned::Step(Box::new(step), update))
}

/// Evaluates named outputs against the outputs known so far; one that
/// cannot be evaluated yet is unknown.
pub(crate) fn evaluate_exports(
    exports: &std::collections::BTreeMap<String, std::sync::Arc<cairn_core::output::OutputNode>>,
    known: &dyn cairn_core::OutputSource,
) -> std::collections::BTreeMap<String, Value> {
    exports.iter().map(|(k, node)| (k.clone(), node.evaluate(known).unwrap_or(Value::Unknown))).collect()
}

/// The outputs of every declared component that records some.
pub(crate) fn component_outputs(
    declared: &DeclaredStack,
    known: &dyn cairn_core::OutputSource,
) -> std::collections::BTreeMap<Urn, std::collections::BTreeMap<String, Value>> {
    declared
        .resources
        .iter()
        .filter(|r| r.kind == ResourceKind::Component && !r.exports.is_empty())
        .map(|r| (r.urn.clone(), evaluate_exports(&r.exports, known)))
        .collect()
}

/// Plans the import of the existing resource `id` for `decl`: reads it,
/// checks the declared arguments against its live inputs, and refuses any
/// difference (an import adopts a resource as it is; it never changes it).
/// Returns the step and the live outputs, which dependents may use at once.
async fn plan_import(
    provider: &dyn Provider,
    decl: &DeclaredResource,
    index: usize,
    id: &str,
    resolved: Value,
) -> Result<(crate::plan::Step, Value), EngineError> {
    let urn = &decl.urn;
    let fail = |action: &'static str| move |source| EngineError::Provider { urn: urn.clone(), action, source };
    if resolved.contains_unknown() {
        return Err(EngineError::ImportUnknown { urn: urn.clone() });
    }
    let live = provider
        .read(ReadRequest { urn: urn.clone(), id: Some(id.to_owned()), inputs: resolved.clone(), outputs: None })
        .await
        .map_err(fail("read"))?
        .ok_or_else(|| EngineError::ImportNotFound { urn: urn.clone(), id: id.to_owned() })?;
    let olds = live_as_recorded(&live.inputs, &resolved);
    let checked = provider
        .check(CheckRequest { urn: urn.clone(), olds: Some(olds.clone()), news: resolved })
        .await
        .map_err(fail("check"))?;
    if !checked.failures.is_empty() {
        return Err(EngineError::CheckFailed(checked.failures.into_iter().map(|f| (urn.clone(), f)).collect()));
    }
    let diff = provider
        .diff(DiffRequest {
            urn: urn.clone(),
            id: live.id.clone(),
            olds: olds.clone(),
            old_outputs: live.outputs.clone(),
            news: checked.inputs.clone(),
        })
        .await
        .map_err(fail("diff"))?;
    // Cairn's own bookkeeping (`$cairn.defaults`) is no property of the resource.
    let differing: Vec<_> =
        diff.changes.iter().filter(|d| !d.path.top().is_some_and(|t| t.starts_with("$cairn."))).collect();
    if !differing.is_empty() {
        let diffs = differing
            .iter()
            .map(|d| (d.path.clone(), olds.at(&d.path).cloned(), checked.inputs.at(&d.path).cloned()))
            .collect();
        return Err(EngineError::ImportMismatch { urn: urn.clone(), id: id.to_owned(), diffs });
    }
    let step = crate::plan::Step {
        urn: urn.clone(),
        ty: urn.resource_type(),
        kind: decl.kind,
        change: Change::Import { id: live.id, new: desired(decl, index, checked.inputs) },
        diffs: Vec::new(),
        replaces: Vec::new(),
        warnings: checked.warnings,
    };
    Ok((step, live.outputs))
}
