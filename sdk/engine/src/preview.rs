//! The preview driver: walks the declared resources in order, asks providers
//! to Check and Diff where something changed, and lets the pure planner
//! decide each step. It never creates, updates or deletes anything.

use std::collections::BTreeSet;

use cairn_core::{CheckRequest, DeclaredStack, DiffRequest, ResourceKind, Urn, Value};
use cairn_state::StackState;

use crate::error::EngineError;
use crate::plan::{Op, Plan};
use crate::planner::{KnownOutputs, decide, deletions, desired, resolve_inputs, unchanged};
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
        let meta = desired(decl, resolved.clone());

        if decl.kind == ResourceKind::Component {
            steps.push(decide(decl, index, old, meta, None, Vec::new())?);
            continue;
        }
        if let Some(old) = old
            && unchanged(old, &resolved, &meta)
        {
            steps.push(decide(decl, index, Some(old), desired(decl, old.inputs.clone()), None, Vec::new())?);
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
                        id: old.id.clone().unwrap_or_default(),
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
        let step = decide(decl, index, old, desired(decl, inputs), diff, checked.warnings)?;
        match step.op {
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

    let outputs =
        declared.exports.iter().map(|(k, node)| (k.clone(), node.evaluate(&known).unwrap_or(Value::Unknown))).collect();
    Ok(Plan { base_serial: state.serial, lineage: state.lineage.clone(), steps, outputs })
}
