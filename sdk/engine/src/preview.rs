//! The preview driver: walks the declared resources in order, asks providers
//! to Check and Diff where something changed, and lets the pure planner
//! decide each step. It never creates, updates or deletes anything.

use std::collections::BTreeSet;

use cairn_core::{
    CheckRequest, DeclaredResource, DeclaredStack, DiffRequest, Provider, ReadRequest, ResourceKind, Urn, Value,
};
use cairn_state::StackState;

use crate::error::EngineError;
use crate::plan::{Change, Op, Plan};
use crate::planner::{
    KnownOutputs, decide, deletions, desired, live_as_recorded, recorded_id, resolve_inputs, unchanged,
};
use crate::providers::{ProviderSource, for_type};

/// Plans `declared` against `state`.
pub async fn preview(
    declared: &DeclaredStack,
    state: &StackState,
    providers: &dyn ProviderSource,
) -> Result<Plan, EngineError> {
    let mut known = KnownOutputs::default();
    for r in state.resources.iter().filter(|r| !r.pending_delete) {
        known.insert(r.urn.clone(), r.outputs.clone());
    }
    let mut steps = Vec::with_capacity(declared.resources.len());
    let mut failures = Vec::new();

    for (index, decl) in declared.resources.iter().enumerate() {
        let old = state.live(&decl.urn);
        let resolved = resolve_inputs(decl, &known)?;
        let meta = desired(decl, index, resolved.clone());

        if decl.kind == ResourceKind::Component {
            steps.push(decide(decl, old, meta, None, Vec::new())?);
            continue;
        }
        if old.is_none()
            && let Some(id) = &decl.import
        {
            let provider = for_type(providers, &decl.urn.resource_type()).await?;
            let (step, outputs) = plan_import(&*provider, decl, index, id, resolved).await?;
            known.insert(decl.urn.clone(), outputs);
            steps.push(step);
            continue;
        }
        if let Some(old) = old
            && unchanged(old, &resolved, &meta)
        {
            steps.push(decide(decl, Some(old), desired(decl, index, old.inputs.clone()), None, Vec::new())?);
            continue;
        }

        let provider = for_type(providers, &decl.urn.resource_type()).await?;
        let checked = provider
            .check(CheckRequest { urn: decl.urn.clone(), olds: old.map(|o| o.inputs.clone()), news: resolved.clone() })
            .await
            .map_err(|source| EngineError::Provider { urn: decl.urn.clone(), action: "check", source })?;
        if !checked.failures.is_empty() {
            failures.extend(checked.failures.into_iter().map(|f| (decl.urn.clone(), f)));
            continue;
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
        // A create-first replacement must not reuse the old physical name:
        // check again as if new, so the provider picks a fresh auto-name.
        if let Some(d) = &diff
            && !d.replaces.is_empty()
            && !d.delete_before_replace
        {
            inputs = provider
                .check(CheckRequest { urn: decl.urn.clone(), olds: None, news: resolved })
                .await
                .map_err(|source| EngineError::Provider { urn: decl.urn.clone(), action: "check", source })?
                .inputs;
        }
        let step = decide(decl, old, desired(decl, index, inputs), diff, checked.warnings)?;
        match step.op() {
            Op::Create | Op::Replace => known.remove(&decl.urn),
            // An output named like a changed input will change too: unknown
            // until applied, so dependents are resolved again then.
            Op::Update => {
                if let Some(Value::Map(outs)) = old.map(|o| o.outputs.clone()) {
                    let touched: BTreeSet<&str> = step.diffs.iter().filter_map(|d| d.path.top()).collect();
                    let outs = outs
                        .into_iter()
                        .map(|(k, v)| if touched.contains(k.as_str()) { (k, Value::Unknown) } else { (k, v) })
                        .collect();
                    known.insert(decl.urn.clone(), Value::Map(outs));
                }
            }
            _ => {}
        }
        steps.push(step);
    }
    if !failures.is_empty() {
        return Err(EngineError::CheckFailed(failures));
    }

    let declared_urns: BTreeSet<&Urn> = declared.resources.iter().map(|r| &r.urn).collect();
    steps.extend(deletions(state, &declared_urns)?);

    let outputs = evaluate_exports(&declared.exports, &known);
    let component_outputs = component_outputs(declared, &known);
    Ok(Plan { base_serial: state.serial, lineage: state.lineage.clone(), steps, outputs, component_outputs })
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
