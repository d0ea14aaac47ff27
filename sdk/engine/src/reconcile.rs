//! Reconciling operations a crash left pending.
//!
//! A pending operation began its provider call but never recorded the
//! outcome. The provider's Read tells what happened: an interrupted create is
//! found again from its recorded inputs (its physical name was fixed before
//! the call), so it is adopted, never created twice.

use cairn_core::ReadRequest;
use cairn_state::{Mutation, OpKind, PendingOp, StackState};

use crate::error::EngineError;
use crate::providers::{ProviderSource, for_resource};

/// What to record for a pending operation.
#[derive(Debug, Clone, PartialEq)]
pub enum Resolution {
    /// It took effect: apply these mutations.
    Commit(Vec<Mutation>),
    /// It had no effect.
    Abort(String),
}

/// Works out, through the providers' Read, what each pending operation did.
pub async fn reconcile(
    pending: &[PendingOp],
    state: &StackState,
    providers: &dyn ProviderSource,
) -> Result<Vec<(u64, Resolution)>, EngineError> {
    let mut out = Vec::new();
    for p in pending {
        let intent = &p.intent;
        let provider = for_resource(providers, &intent.urn.resource_type(), intent.provider.as_deref()).await?;
        let recorded = intent
            .id
            .as_ref()
            .and_then(|id| state.resources.iter().find(|r| r.urn == intent.urn && r.id.as_ref() == Some(id)));
        let live = provider
            .read(ReadRequest {
                urn: intent.urn.clone(),
                id: intent.id.clone(),
                inputs: intent.inputs.clone(),
                // An update or delete was about a recorded resource: its outputs are known.
                outputs: recorded.map(|r| r.outputs.clone()),
            })
            .await
            .map_err(|source| EngineError::Provider { urn: intent.urn.clone(), action: "read", source })?;
        let record = |id: String, inputs, outputs| intent.record(Some(id), inputs, outputs);
        let resolution = match (intent.kind, live) {
            (OpKind::Create | OpKind::CreateReplacement, Some(r)) => {
                let mut m = Vec::new();
                if let Some(old) = state.live(&intent.urn)
                    && old.id.as_deref() != Some(r.id.as_str())
                    && let Some(old_id) = old.id.clone()
                {
                    m.push(Mutation::MarkPendingDelete { urn: intent.urn.clone(), id: old_id });
                }
                // Record what exists, not what was asked for: the create may have
                // stopped half-way (a bucket made but not yet tagged), and the
                // next diff must see the difference and finish the job.
                m.push(Mutation::Put(record(r.id, r.inputs, r.outputs)));
                Resolution::Commit(m)
            }
            (OpKind::Create | OpKind::CreateReplacement, None) => {
                Resolution::Abort("the interrupted create left no resource".into())
            }
            (OpKind::Update, Some(r)) => Resolution::Commit(vec![Mutation::Put(record(r.id, r.inputs, r.outputs))]),
            (OpKind::Update | OpKind::Delete, None) => {
                Resolution::Commit(vec![Mutation::Remove { urn: intent.urn.clone(), id: intent.id.clone() }])
            }
            (OpKind::Delete, Some(_)) => Resolution::Abort("the interrupted delete did not happen".into()),
        };
        out.push((p.op, resolution));
    }
    Ok(out)
}
