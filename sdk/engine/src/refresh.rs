//! Refresh: reading every recorded resource through its provider and
//! comparing what is live with what the state records.
//!
//! Every provider's Read returns the live properties in the shape of the
//! inputs, so the comparison is property by property. What a refresh finds
//! is a [`Refresh`]: the resources that drifted (a property changed behind
//! Cairn's back) or went missing (deleted out of band), and the records that
//! make the state match the cloud again. Nothing is written here; `refresh`
//! and `up --refresh` record it through the journal, `drift` only reports it.

use std::time::{Duration, Instant};

use cairn_core::{PropertyPath, ReadRequest, ResourceKind, ResourceType, Urn, Value, value::DEFAULTS_KEY};
use cairn_state::{Mutation, ResourceState, StackState};
use futures::StreamExt;

use crate::error::EngineError;
use crate::providers::{ProviderSource, for_resource};

/// Most Reads in flight at once during a refresh.
pub const REFRESH_PARALLELISM: usize = 16;

/// One property whose live value differs from the recorded one.
#[derive(Debug, Clone, PartialEq)]
pub struct PropertyDrift {
    /// Where, in the inputs.
    pub path: PropertyPath,
    /// What the state records (`None` when absent).
    pub recorded: Option<Value>,
    /// What is live (`None` when absent).
    pub live: Option<Value>,
}

/// How a resource drifted.
#[derive(Debug, Clone, PartialEq)]
pub enum DriftKind {
    /// Some of its properties changed behind Cairn's back.
    Changed(Vec<PropertyDrift>),
    /// It no longer exists.
    Missing,
}

/// A recorded resource that is not as the state says.
#[derive(Debug, Clone, PartialEq)]
pub struct Drift {
    /// The resource.
    pub urn: Urn,
    /// Its type.
    pub ty: ResourceType,
    /// Its provider ID, as recorded.
    pub id: String,
    /// What changed.
    pub kind: DriftKind,
}

/// How long the Reads took.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReadTiming {
    /// Wall time of the whole refresh.
    pub wall: Duration,
    /// The slowest single Read, and whose it was.
    pub slowest: Option<(Urn, Duration)>,
    /// The Reads' times added up: what reading one after another would take.
    pub total: Duration,
}

/// What reading the recorded resources found.
#[derive(Debug, Clone, Default)]
pub struct Refresh {
    /// How many resources were read.
    pub read: usize,
    /// Resources that drifted or went missing, in state order.
    pub drifted: Vec<Drift>,
    /// The records to write: live properties and outputs for drifted
    /// resources (and for those whose outputs alone changed), removals for
    /// missing ones.
    pub mutations: Vec<Mutation>,
    /// Resources whose Read failed, with the provider's error: what is live
    /// there is not known, so a refresh with any cannot be recorded.
    pub unreadable: Vec<(Urn, cairn_core::ProviderError)>,
    /// How long it took.
    pub timing: ReadTiming,
}

impl Refresh {
    /// True when the cloud is as the state records it.
    pub fn no_drift(&self) -> bool {
        self.drifted.is_empty()
    }

    /// True when recording it would change nothing.
    pub fn records_nothing(&self) -> bool {
        self.mutations.is_empty()
    }

    /// Fails, naming each resource and its error, when some Read failed:
    /// a refresh is recorded (or planned on) only when every resource was read.
    pub fn complete(&self) -> Result<(), EngineError> {
        if self.unreadable.is_empty() { Ok(()) } else { Err(EngineError::Unreadable(self.unreadable.clone())) }
    }

    /// Counts: (drifted, missing).
    pub fn counts(&self) -> (usize, usize) {
        let missing = self.drifted.iter().filter(|d| d.kind == DriftKind::Missing).count();
        (self.drifted.len() - missing, missing)
    }

    /// `state` as the cloud is: the refresh's records applied (in memory).
    pub fn applied_to(&self, state: &StackState) -> StackState {
        let mut state = state.clone();
        self.mutations.iter().for_each(|m| state.apply(m));
        state
    }
}

/// One Read: what it found and how long it took.
/// One Read: what it found (or why it failed) and how long it took; a
/// failed Read is timed too (a retried error can be the slowest of all).
type ReadOutcome = Result<(Result<Found, EngineError>, Duration), EngineError>;

/// What one Read found.
enum Found {
    Same,
    /// Only outputs changed: recorded, not reported.
    Outputs(ResourceState),
    Drifted(Drift, Mutation),
}

/// Reads every live custom resource `state` records, at most
/// `REFRESH_PARALLELISM` at once, and compares each with its record.
/// Old copies awaiting deletion are not read: the next `up` deletes them.
/// A Read that fails does not stop the others: it is listed in
/// [`Refresh::unreadable`] (see [`Refresh::complete`]).
pub async fn read_live(state: &StackState, providers: &dyn ProviderSource) -> Result<Refresh, EngineError> {
    let started = Instant::now();
    let recorded: Vec<&ResourceState> =
        state.resources.iter().filter(|r| r.kind == ResourceKind::Custom && !r.pending_delete).collect();
    let mut found: Vec<(usize, ReadOutcome)> = futures::stream::iter(recorded.iter())
        .enumerate()
        .map(|(i, r)| async move { (i, read_one(r, providers).await) })
        .buffer_unordered(REFRESH_PARALLELISM)
        .collect()
        .await;
    found.sort_by_key(|(i, _)| *i);
    let mut refresh = Refresh { read: recorded.len(), ..Refresh::default() };
    for (i, result) in found {
        let (found, took) = result?;
        refresh.timing.total += took;
        if refresh.timing.slowest.as_ref().is_none_or(|(_, d)| took > *d) {
            refresh.timing.slowest = Some((recorded[i].urn.clone(), took));
        }
        let found = match found {
            Ok(found) => found,
            Err(EngineError::Provider { urn, action: "read", source }) => {
                refresh.unreadable.push((urn, source));
                continue;
            }
            Err(other) => return Err(other),
        };
        match found {
            Found::Same => {}
            Found::Outputs(record) => refresh.mutations.push(Mutation::Put(record)),
            Found::Drifted(drift, m) => {
                refresh.drifted.push(drift);
                refresh.mutations.push(m);
            }
        }
    }
    refresh.timing.wall = started.elapsed();
    Ok(refresh)
}

async fn read_one(old: &ResourceState, providers: &dyn ProviderSource) -> ReadOutcome {
    let id = crate::planner::recorded_id(old, "refreshed")?;
    let provider = for_resource(providers, &old.urn.resource_type(), old.provider.as_deref()).await?;
    let started = Instant::now();
    let live = provider
        .read(ReadRequest {
            urn: old.urn.clone(),
            id: Some(id.clone()),
            inputs: old.inputs.clone(),
            outputs: Some(old.outputs.clone()),
        })
        .await
        .map_err(|source| EngineError::Provider { urn: old.urn.clone(), action: "read", source });
    let took = started.elapsed();
    Ok((live.map(|live| compare(old, id, live)), took))
}

/// Compares a record with what its Read returned.
fn compare(old: &ResourceState, id: String, live: Option<cairn_core::ReadResponse>) -> Found {
    let drift = |kind| Drift { urn: old.urn.clone(), ty: old.urn.resource_type(), id: id.clone(), kind };
    let Some(live) = live else {
        let remove = Mutation::Remove { urn: old.urn.clone(), id: old.id.clone() };
        return Found::Drifted(drift(DriftKind::Missing), remove);
    };
    // A property secret in the state stays secret: the provider reads plain values.
    let inputs = keep_secrets(&old.inputs, live.inputs);
    let outputs = keep_secrets(&old.inputs, live.outputs);
    let properties = property_drift(&old.inputs, &inputs);
    let record = ResourceState { id: Some(live.id), inputs, outputs, ..old.clone() };
    if !properties.is_empty() {
        Found::Drifted(drift(DriftKind::Changed(properties)), Mutation::Put(record))
    } else if record != *old {
        Found::Outputs(record)
    } else {
        Found::Same
    }
}

/// The properties whose live value differs from the recorded one, ignoring
/// Cairn's own bookkeeping keys.
pub fn property_drift(recorded: &Value, live: &Value) -> Vec<PropertyDrift> {
    let (recorded, live) = (without_bookkeeping(recorded), without_bookkeeping(live));
    recorded
        .diff(&live)
        .into_iter()
        .map(|d| PropertyDrift {
            recorded: recorded.at(&d.path).cloned(),
            live: live.at(&d.path).cloned(),
            path: d.path,
        })
        .collect()
}

fn without_bookkeeping(v: &Value) -> Value {
    match v {
        Value::Map(m) => Value::Map(
            m.iter().filter(|(k, _)| !k.starts_with("$cairn.")).map(|(k, v)| (k.clone(), v.clone())).collect(),
        ),
        other => other.clone(),
    }
}

/// Marks a top-level property secret when the recorded input of the same
/// name was: a provider that reads a secret back must not make it plain text.
pub(crate) fn keep_secrets(inputs: &Value, values: Value) -> Value {
    match (inputs, values) {
        (Value::Map(ins), Value::Map(vals)) => Value::Map(
            vals.into_iter()
                .map(|(k, v)| {
                    let secret =
                        k != DEFAULTS_KEY && ins.get(&k).is_some_and(Value::contains_secret) && !v.contains_secret();
                    (k, if secret { v.into_secret() } else { v })
                })
                .collect(),
        ),
        (_, values) => values,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_core::ReadResponse;

    fn v(j: serde_json::Value) -> Value {
        Value::from_json(&j)
    }

    fn record() -> ResourceState {
        let urn = Urn::parse("urn:cairn:dev::p::aws:s3:Bucket::models").unwrap();
        ResourceState {
            inputs: v(serde_json::json!({"bucket": "m-1", "tags": {"team": "ml"}, "$cairn.defaults": ["bucket"]})),
            outputs: v(serde_json::json!({"arn": "arn:aws:s3:::m-1"})),
            ..ResourceState::custom(urn, "m-1")
        }
    }

    fn read(inputs: serde_json::Value, outputs: serde_json::Value) -> Option<ReadResponse> {
        Some(ReadResponse { id: "m-1".into(), inputs: v(inputs), outputs: v(outputs) })
    }

    #[test]
    fn the_same_resource_is_not_drift_and_records_nothing() {
        let live = read(
            serde_json::json!({"bucket": "m-1", "tags": {"team": "ml"}, "$cairn.defaults": ["bucket"]}),
            serde_json::json!({"arn": "arn:aws:s3:::m-1"}),
        );
        assert!(matches!(compare(&record(), "m-1".into(), live), Found::Same));
    }

    #[test]
    fn a_changed_tag_is_drift_naming_the_property_and_both_values() {
        let live = read(
            serde_json::json!({"bucket": "m-1", "tags": {"team": "ops"}}),
            serde_json::json!({"arn": "arn:aws:s3:::m-1"}),
        );
        let Found::Drifted(drift, Mutation::Put(rec)) = compare(&record(), "m-1".into(), live) else {
            panic!("drift expected")
        };
        let DriftKind::Changed(props) = drift.kind else { panic!("changed expected") };
        assert_eq!(props.len(), 1, "the bookkeeping key is no drift: {props:?}");
        assert_eq!(props[0].path.to_string(), "tags.team");
        assert_eq!((props[0].recorded.clone(), props[0].live.clone()), (Some("ml".into()), Some("ops".into())));
        assert_eq!(rec.inputs.get("tags").and_then(|t| t.get("team")), Some(&Value::from("ops")));
    }

    #[test]
    fn a_missing_resource_is_removed_from_the_state() {
        let Found::Drifted(drift, m) = compare(&record(), "m-1".into(), None) else { panic!("missing expected") };
        assert_eq!(drift.kind, DriftKind::Missing);
        assert!(matches!(m, Mutation::Remove { id: Some(ref id), .. } if id == "m-1"));
    }

    #[test]
    fn changed_outputs_alone_are_recorded_but_not_drift() {
        let live = read(
            serde_json::json!({"bucket": "m-1", "tags": {"team": "ml"}, "$cairn.defaults": ["bucket"]}),
            serde_json::json!({"arn": "arn:aws:s3:::m-1", "region": "eu-west-1"}),
        );
        assert!(matches!(compare(&record(), "m-1".into(), live), Found::Outputs(_)));
    }

    #[test]
    fn a_secret_property_read_back_stays_secret() {
        let mut old = record();
        old.inputs = v(serde_json::json!({"bucket": "m-1"}));
        if let Value::Map(m) = &mut old.inputs {
            m.insert("password".into(), Value::from("pw").into_secret());
        }
        let live = read(serde_json::json!({"bucket": "m-1", "password": "pw2"}), serde_json::json!({}));
        let Found::Drifted(drift, Mutation::Put(rec)) = compare(&old, "m-1".into(), live) else { panic!() };
        assert!(rec.inputs.get("password").is_some_and(Value::contains_secret));
        let DriftKind::Changed(props) = drift.kind else { panic!() };
        assert!(props[0].live.as_ref().is_some_and(Value::contains_secret), "shown as [secret]: {props:?}");
    }
}
