//! The executor: carries out a plan, and only the plan.
//!
//! Each step becomes one or two actions (a replacement is a create and a
//! delete) in a dependency graph. Actions run as soon as what they depend on
//! has finished, at most `parallelism` at a time. Every provider call is
//! journaled before it starts and after it ends, so a crash loses no
//! completed step. A failed action stops the actions that depend on it;
//! independent ones run to the end.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;

use cairn_core::{
    CheckRequest, CreateRequest, DeclaredStack, DeleteRequest, ReadRequest, ResourceKind, UpdateRequest, Urn, Value,
};
use cairn_state::{Intent, Mutation, OpKind, PendingOp, Recorder, ResourceState, StackState};
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::{Dfs, EdgeRef};
use serde::Serialize;

use crate::error::EngineError;
use crate::plan::{Change, Desired, Op, Plan, Step};
use crate::planner::{KnownOutputs, resolve_inputs};
use crate::providers::{ProviderSource, for_resource};
use crate::reconcile::Resolution;
use crate::refresh::keep_secrets;

/// How to apply.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// Most actions in flight at once.
    pub parallelism: usize,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        Self { parallelism: 10 }
    }
}

/// The kind of an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    /// Create a new resource.
    Create,
    /// Update in place.
    Update,
    /// Record an unchanged resource (metadata only).
    Same,
    /// Create the replacement.
    CreateReplacement,
    /// Delete the replaced copy.
    DeleteReplaced,
    /// Delete a resource.
    Delete,
    /// Record an existing resource (an import).
    Import,
}

/// Progress notifications, for displays.
#[derive(Debug, Clone)]
pub enum Event {
    /// An action started.
    Started {
        /// The resource.
        urn: Urn,
        /// The action.
        action: ActionKind,
    },
    /// An action ended.
    Finished {
        /// The resource.
        urn: Urn,
        /// The action.
        action: ActionKind,
        /// The error, if it failed.
        error: Option<String>,
    },
}

/// Receives a run's plan and progress (see [`crate::automation::StackRunner`]).
pub trait Observer: Send + Sync {
    /// Called for each event, from the executor's task.
    fn event(&self, event: &Event);

    /// The run is settling `count` operations an interrupted run left pending.
    fn settling(&self, count: usize) {
        let _ = count;
    }

    /// The run made its plan; called before confirmation is asked.
    fn planned(&self, command: crate::automation::Command, plan: &Plan) {
        let _ = (command, plan);
    }
}

impl Observer for () {
    fn event(&self, _: &Event) {}
}

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Done.
    Succeeded,
    /// Its provider call failed.
    Failed,
    /// Not attempted because something it depends on failed.
    Skipped,
}

/// The outcome of one step.
#[derive(Debug, Clone, Serialize)]
pub struct StepOutcome {
    /// The resource.
    pub urn: Urn,
    /// Its type.
    #[serde(rename = "type")]
    pub ty: String,
    /// The planned operation.
    pub op: Op,
    /// How it ended.
    pub status: Status,
    /// The error, when it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The result of applying a plan.
#[derive(Debug, Clone)]
pub struct ApplyReport {
    /// One outcome per step, in plan order.
    pub outcomes: Vec<StepOutcome>,
    /// The state as recorded at the end.
    pub state: StackState,
}

impl ApplyReport {
    /// The report of a plan with nothing to do: every step succeeded as `same`.
    pub fn unchanged(plan: &Plan, state: StackState) -> Self {
        let outcomes = plan
            .steps
            .iter()
            .map(|s| StepOutcome {
                urn: s.urn.clone(),
                ty: s.ty.to_string(),
                op: s.op(),
                status: Status::Succeeded,
                error: None,
            })
            .collect();
        Self { outcomes, state }
    }

    /// True when any step failed.
    pub fn failed(&self) -> bool {
        self.outcomes.iter().any(|o| o.status == Status::Failed)
    }
}

#[derive(Debug, Clone, Copy)]
struct Action {
    step: usize,
    kind: ActionKind,
}

/// Builds the action graph; an edge `a → b` means `b` waits for `a`.
fn action_graph(plan: &Plan) -> DiGraph<Action, ()> {
    let mut g = DiGraph::new();
    let mut new_side: HashMap<&Urn, NodeIndex> = HashMap::new();
    let mut deletes: Vec<(NodeIndex, &ResourceState)> = Vec::new();
    for (i, s) in plan.steps.iter().enumerate() {
        let mut add = |kind| g.add_node(Action { step: i, kind });
        match &s.change {
            Change::Create { .. } => {
                new_side.insert(&s.urn, add(ActionKind::Create));
            }
            Change::Update { .. } => {
                new_side.insert(&s.urn, add(ActionKind::Update));
            }
            Change::Same { .. } => {
                new_side.insert(&s.urn, add(ActionKind::Same));
            }
            Change::Import { .. } => {
                new_side.insert(&s.urn, add(ActionKind::Import));
            }
            Change::Replace { old, delete_first, .. } => {
                let create = add(ActionKind::CreateReplacement);
                let delete = add(ActionKind::DeleteReplaced);
                new_side.insert(&s.urn, create);
                if *delete_first {
                    g.add_edge(delete, create, ());
                } else {
                    g.add_edge(create, delete, ());
                }
                deletes.push((delete, old));
            }
            Change::Delete { old, .. } => {
                let delete = add(ActionKind::Delete);
                deletes.push((delete, old));
            }
        }
    }
    // New side: after everything the resource depends on.
    for (i, s) in plan.steps.iter().enumerate() {
        let (Some(new), Some(&me)) = (s.desired(), new_side.get(&s.urn)) else { continue };
        debug_assert_eq!(g[me].step, i);
        for dep in &new.dependencies {
            if let Some(&d) = new_side.get(dep) {
                g.add_edge(d, me, ());
            }
        }
    }
    // Deletes: after everything that depended on the old resource has been
    // deleted or moved off it.
    for &(d, old) in &deletes {
        let delete_first = plan.steps[g[d].step].delete_before_replace() && g[d].kind == ActionKind::DeleteReplaced;
        for (e, other) in &deletes {
            if *e != d && (other.dependencies.contains(&old.urn) || other.parent.as_ref() == Some(&old.urn)) {
                g.add_edge(*e, d, ());
            }
        }
        if delete_first {
            continue;
        }
        for s in &plan.steps {
            let depended = s.recorded().is_some_and(|o| o.dependencies.contains(&old.urn));
            if depended
                && s.urn != old.urn
                && let Some(&n) = new_side.get(&s.urn)
            {
                g.add_edge(n, d, ());
            }
        }
    }
    g
}

struct Run<'a> {
    plan: &'a Plan,
    declared: Option<&'a DeclaredStack>,
    recorder: &'a Recorder,
    providers: &'a dyn ProviderSource,
    known: Mutex<KnownOutputs>,
    observer: &'a dyn Observer,
}

/// Applies `plan`. `declared` (the program's declarations the plan was made
/// from) is needed to resolve outputs into inputs; `destroy` passes `None`.
pub async fn apply(
    plan: &Plan,
    declared: Option<&DeclaredStack>,
    recorder: &Recorder,
    providers: &dyn ProviderSource,
    options: &ApplyOptions,
    observer: &dyn Observer,
) -> Result<ApplyReport, EngineError> {
    let current = recorder.state();
    plan.check_base(&current)?;
    // What a refresh found, then the aliases' moves, are what the steps
    // were planned against: record them first.
    let current = match &plan.refresh {
        Some(refresh) if !refresh.records_nothing() => {
            recorder.commit(None, refresh.mutations.clone()).await?;
            recorder.state()
        }
        _ => current,
    };
    let moved = crate::planner::moved_records(&current, &plan.moves);
    let current = if moved.is_empty() {
        current
    } else {
        recorder.commit(None, moved).await?;
        recorder.state()
    };
    let mut known = KnownOutputs::default();
    for r in current.resources.iter().filter(|r| !r.pending_delete) {
        known.insert(r.urn.clone(), r.outputs.clone());
    }
    let run = Run { plan, declared, recorder, providers, known: Mutex::new(known), observer };
    let graph = action_graph(plan);

    let mut waiting: Vec<usize> =
        graph.node_indices().map(|n| graph.edges_directed(n, petgraph::Incoming).count()).collect();
    let mut ready: Vec<NodeIndex> = graph.node_indices().filter(|n| waiting[n.index()] == 0).collect();
    ready.reverse(); // pop() takes them in plan order
    let mut failed: HashMap<NodeIndex, String> = HashMap::new();
    let mut skipped: HashSet<NodeIndex> = HashSet::new();
    let mut done: HashSet<NodeIndex> = HashSet::new();
    let mut in_flight = FuturesUnordered::new();
    let parallelism = options.parallelism.max(1);

    loop {
        while in_flight.len() < parallelism
            && let Some(n) = ready.pop()
        {
            if skipped.contains(&n) {
                continue;
            }
            let action = graph[n];
            let run = &run;
            in_flight.push(async move { (n, run.perform(action).await) });
        }
        let Some((n, result)) = in_flight.next().await else { break };
        match result {
            Ok(()) => {
                done.insert(n);
            }
            Err(ActionError::State(e)) => {
                // No new step starts, but the calls in flight are let finish:
                // a create dropped half-way could still land in the cloud after
                // this process is gone, later than the next run's reconciling
                // Read. Their outcomes are journaled if the store takes them,
                // else left pending for the next run to settle.
                while in_flight.next().await.is_some() {}
                return Err(e.into());
            }
            Err(ActionError::Step(msg)) => {
                failed.insert(n, msg);
                let mut dfs = Dfs::new(&graph, n);
                dfs.next(&graph);
                while let Some(d) = dfs.next(&graph) {
                    skipped.insert(d);
                }
            }
        }
        for e in graph.edges_directed(n, petgraph::Outgoing) {
            let t = e.target();
            waiting[t.index()] -= 1;
            if waiting[t.index()] == 0 {
                if skipped.contains(&t) {
                    // Release its dependents' counts too, so the loop drains.
                    release_skipped(&graph, t, &mut waiting, &mut ready, &skipped);
                } else {
                    ready.insert(0, t);
                }
            }
        }
    }

    // Every action ran, failed or was skipped; anything else would be a
    // graph the scheduler could not order, and must not pass for success.
    for n in graph.node_indices() {
        if !done.contains(&n) && !failed.contains_key(&n) && !skipped.contains(&n) {
            failed.insert(
                n,
                "not run: its dependencies could not be ordered (an internal error; please report it)".into(),
            );
        }
    }
    // Writes only when the outputs changed.
    run.record_outputs().await?;
    let outcomes = plan
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let nodes: Vec<NodeIndex> = graph.node_indices().filter(|n| graph[*n].step == i).collect();
            let error = nodes.iter().find_map(|n| failed.get(n).cloned());
            let status = if error.is_some() {
                Status::Failed
            } else if nodes.iter().any(|n| skipped.contains(n)) {
                Status::Skipped
            } else {
                Status::Succeeded
            };
            StepOutcome { urn: s.urn.clone(), ty: s.ty.to_string(), op: s.op(), status, error }
        })
        .collect();
    Ok(ApplyReport { outcomes, state: recorder.state() })
}

fn release_skipped(
    g: &DiGraph<Action, ()>,
    n: NodeIndex,
    waiting: &mut [usize],
    ready: &mut Vec<NodeIndex>,
    skipped: &HashSet<NodeIndex>,
) {
    for e in g.edges_directed(n, petgraph::Outgoing) {
        let t = e.target();
        waiting[t.index()] -= 1;
        if waiting[t.index()] == 0 {
            if skipped.contains(&t) {
                release_skipped(g, t, waiting, ready, skipped);
            } else {
                ready.insert(0, t);
            }
        }
    }
}

enum ActionError {
    /// The step failed; others go on.
    Step(String),
    /// The journal could not be written: stop everything.
    State(cairn_state::StateError),
}

impl From<cairn_state::StateError> for ActionError {
    fn from(e: cairn_state::StateError) -> Self {
        ActionError::State(e)
    }
}

impl From<EngineError> for ActionError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::State(s) => ActionError::State(s),
            other => ActionError::Step(other.to_string()),
        }
    }
}

/// A duration for people: `90s`, `1.5s`, `250ms`.
fn humanize(d: Duration) -> String {
    if d.as_millis() < 1000 { format!("{}ms", d.as_millis()) } else { format!("{}s", d.as_secs_f64()) }
}

/// A deliberate pause after each provider call, before its result is
/// journaled; only the crash tests set it, to kill a run mid-step.
fn test_delay() -> Option<Duration> {
    std::env::var("CAIRN_TEST_STEP_DELAY_MS").ok().and_then(|v| v.parse().ok()).map(Duration::from_millis)
}

impl Run<'_> {
    async fn perform(&self, action: Action) -> Result<(), ActionError> {
        let step = &self.plan.steps[action.step];
        self.observer.event(&Event::Started { urn: step.urn.clone(), action: action.kind });
        let result = self.perform_inner(step, action.kind).await;
        let error = match &result {
            Err(ActionError::Step(m)) => Some(m.clone()),
            Err(ActionError::State(e)) => Some(e.to_string()),
            Ok(()) => None,
        };
        self.observer.event(&Event::Finished { urn: step.urn.clone(), action: action.kind, error });
        result
    }

    async fn perform_inner(&self, step: &Step, kind: ActionKind) -> Result<(), ActionError> {
        match &step.change {
            Change::Same { old, new } => self.same(step, old, new).await,
            Change::Create { new } => self.create(step, new, None).await,
            Change::Replace { old, id, .. } if kind == ActionKind::DeleteReplaced => {
                self.delete(step, old, Some(id)).await
            }
            Change::Replace { new, id, .. } => self.create(step, new, Some(id)).await,
            Change::Update { id, old, new } => self.update(step, id, old, new).await,
            Change::Delete { old, id } => self.delete(step, old, id.as_ref()).await,
            Change::Import { id, new } => self.import(step, id, new).await,
        }
    }

    /// Runs a provider call within the resource's `custom_timeouts` for
    /// `action`. When the time runs out the step fails and its operation
    /// stays begun in the journal: it may still finish in the cloud, and the
    /// next run settles it through Read.
    async fn within<T>(
        &self,
        step: &Step,
        action: &'static str,
        call: impl std::future::Future<Output = Result<T, cairn_core::ProviderError>>,
    ) -> Result<Result<T, cairn_core::ProviderError>, ActionError> {
        let limits = step
            .desired()
            .and_then(|d| self.declared?.resources.get(d.declared_index))
            .map(|d| d.lifecycle.custom_timeouts)
            .unwrap_or_default();
        let limit = match action {
            "create" => limits.create,
            "update" => limits.update,
            _ => limits.delete,
        };
        let Some(limit) = limit else { return Ok(call.await) };
        match tokio::time::timeout(limit, call).await {
            Ok(result) => Ok(result),
            Err(_) => Err(ActionError::Step(format!(
                "{action} {}: did not finish within {} (custom_timeouts.{action}); it may still finish in the \
                 cloud: the next run reads the resource and records what happened",
                step.urn,
                humanize(limit)
            ))),
        }
    }

    /// The inputs to send: the planned ones, with unknowns now resolved.
    async fn final_inputs(&self, step: &Step, new: &Desired) -> Result<Value, ActionError> {
        if !new.inputs.contains_unknown() {
            return Ok(new.inputs.clone());
        }
        // Only a plan made from declarations has unknown inputs; `destroy` has none.
        let Some(decl) = self.declared.and_then(|d| d.resources.get(new.declared_index)) else {
            return Err(ActionError::Step(format!(
                "{}: its inputs are unknown and the run has no declaration to resolve them from; run preview again",
                step.urn
            )));
        };
        let resolved = {
            let known = self.known.lock().expect("known outputs");
            resolve_inputs(decl, &known)?
        };
        // Check again so defaults (the planned auto-name) carry over to the real inputs.
        let provider = for_resource(self.providers, &step.ty, new.provider.as_deref()).await?;
        let checked = provider
            .check(CheckRequest { urn: step.urn.clone(), olds: Some(new.inputs.clone()), news: resolved })
            .await
            .map_err(|source| EngineError::Provider { urn: step.urn.clone(), action: "check", source })?;
        if !checked.failures.is_empty() {
            return Err(EngineError::CheckFailed(
                checked.failures.into_iter().map(|f| (step.urn.clone(), f)).collect(),
            )
            .into());
        }
        Ok(checked.inputs)
    }

    fn record(step: &Step, new: &Desired, id: Option<String>, inputs: Value, outputs: Value) -> ResourceState {
        ResourceState {
            urn: step.urn.clone(),
            kind: step.kind,
            id,
            parent: new.parent.clone(),
            inputs,
            outputs,
            dependencies: new.dependencies.clone(),
            protect: new.protect,
            retain_on_delete: new.retain_on_delete,
            provider: new.provider.clone(),
            pending_delete: false,
        }
    }

    fn intent(step: &Step, kind: OpKind, id: Option<String>, inputs: Value) -> Intent {
        let (parent, dependencies, protect, retain_on_delete, provider) = match (step.desired(), step.recorded()) {
            (Some(n), _) => {
                (n.parent.clone(), n.dependencies.clone(), n.protect, n.retain_on_delete, n.provider.clone())
            }
            (None, Some(o)) => {
                (o.parent.clone(), o.dependencies.clone(), o.protect, o.retain_on_delete, o.provider.clone())
            }
            (None, None) => (None, Vec::new(), false, false, None),
        };
        Intent {
            kind,
            urn: step.urn.clone(),
            id,
            inputs,
            resource_kind: step.kind,
            parent,
            dependencies,
            protect,
            retain_on_delete,
            provider,
        }
    }

    async fn same(&self, step: &Step, old: &ResourceState, new: &Desired) -> Result<(), ActionError> {
        if new.metadata_differs(old) {
            let rec = Self::record(step, new, old.id.clone(), old.inputs.clone(), old.outputs.clone());
            self.recorder.commit(None, vec![Mutation::Put(rec)]).await?;
        }
        Ok(())
    }

    /// Creates the resource, or (`replacing` the copy with that ID) its replacement.
    async fn create(&self, step: &Step, new: &Desired, replacing: Option<&String>) -> Result<(), ActionError> {
        if step.kind == ResourceKind::Component {
            let rec = Self::record(step, new, None, Value::map(), Value::map());
            self.recorder.commit(None, vec![Mutation::Put(rec)]).await?;
            self.known.lock().expect("known outputs").insert(step.urn.clone(), Value::map());
            return Ok(());
        }
        let inputs = self.final_inputs(step, new).await?;
        let provider = for_resource(self.providers, &step.ty, new.provider.as_deref()).await?;
        let op_kind = if replacing.is_none() { OpKind::Create } else { OpKind::CreateReplacement };
        let intent = Self::intent(step, op_kind, None, inputs.clone());
        let op = self.recorder.begin(intent.clone()).await?;
        let call = provider.create(CreateRequest { urn: step.urn.clone(), inputs: inputs.clone() });
        let result = self.within(step, "create", call).await?;
        if let Some(d) = test_delay() {
            tokio::time::sleep(d).await;
        }
        match result {
            Ok(mut created) => {
                created.outputs = keep_secrets(&inputs, created.outputs);
                let mut mutations = Vec::new();
                if let Some(old_id) = replacing {
                    mutations.push(Mutation::MarkPendingDelete { urn: step.urn.clone(), id: old_id.clone() });
                }
                let outputs = created.outputs.clone();
                // The begin entry already holds the inputs and metadata.
                mutations.push(Mutation::Completed { id: Some(created.id), outputs: created.outputs });
                self.recorder.commit(Some(op), mutations).await?;
                self.known.lock().expect("known outputs").insert(step.urn.clone(), outputs);
                Ok(())
            }
            Err(source) => {
                self.settle_failed_create(PendingOp { op, intent }, &source).await?;
                Err(EngineError::Provider { urn: step.urn.clone(), action: "create", source }.into())
            }
        }
    }

    /// A failed create may still have made something: the resource exists but
    /// a later call failed (and so did the provider's clean-up), or the
    /// connection dropped after AWS acted. So the provider's Read is asked, as
    /// after a crash (its physical name was fixed before the call): what exists
    /// is recorded, for the next diff to finish or replace, and never made
    /// twice. When Read cannot answer either, the operation stays pending, and
    /// the next run settles it the same way.
    async fn settle_failed_create(
        &self,
        pending: PendingOp,
        failure: &cairn_core::ProviderError,
    ) -> Result<(), ActionError> {
        let state = self.recorder.state();
        let settled = crate::reconcile::reconcile(std::slice::from_ref(&pending), &state, self.providers).await;
        match settled {
            Ok(mut resolutions) => match resolutions.pop() {
                Some((op, Resolution::Commit(mutations))) => {
                    tracing::warn!(
                        "{}: the failed create left the resource behind; it is recorded",
                        pending.intent.urn
                    );
                    self.recorder.commit(Some(op), mutations).await?;
                }
                Some((op, Resolution::Abort(_))) => self.recorder.abort(op, failure.to_string()).await?,
                None => self.recorder.abort(pending.op, failure.to_string()).await?,
            },
            Err(e) => tracing::warn!(
                "{}: whether the failed create made anything is unknown ({e}); the next run settles it",
                pending.intent.urn
            ),
        }
        Ok(())
    }

    /// Reads the resource to adopt again (the plan may be old) and records
    /// it. Nothing is changed in the cloud, so nothing is journaled before.
    async fn import(&self, step: &Step, id: &str, new: &Desired) -> Result<(), ActionError> {
        let id = id.to_owned();
        let inputs = self.final_inputs(step, new).await?;
        let provider = for_resource(self.providers, &step.ty, new.provider.as_deref()).await?;
        let live = provider
            .read(ReadRequest { urn: step.urn.clone(), id: Some(id.clone()), inputs: inputs.clone(), outputs: None })
            .await
            .map_err(|source| EngineError::Provider { urn: step.urn.clone(), action: "import", source })?
            .ok_or_else(|| EngineError::ImportNotFound { urn: step.urn.clone(), id })?;
        let outputs = keep_secrets(&inputs, live.outputs);
        let rec = Self::record(step, new, Some(live.id), inputs, outputs.clone());
        self.recorder.commit(None, vec![Mutation::Put(rec)]).await?;
        self.known.lock().expect("known outputs").insert(step.urn.clone(), outputs);
        Ok(())
    }

    async fn update(&self, step: &Step, id: &str, old: &ResourceState, new: &Desired) -> Result<(), ActionError> {
        let id = id.to_owned();
        let inputs = self.final_inputs(step, new).await?;
        let provider = for_resource(self.providers, &step.ty, new.provider.as_deref()).await?;
        let op = self.recorder.begin(Self::intent(step, OpKind::Update, Some(id.clone()), inputs.clone())).await?;
        let call = provider.update(UpdateRequest {
            urn: step.urn.clone(),
            id: id.clone(),
            olds: old.inputs.clone(),
            old_outputs: old.outputs.clone(),
            news: inputs.clone(),
        });
        let result = self.within(step, "update", call).await?;
        if let Some(d) = test_delay() {
            tokio::time::sleep(d).await;
        }
        match result {
            Ok(mut updated) => {
                updated.outputs = keep_secrets(&inputs, updated.outputs);
                let outputs = updated.outputs.clone();
                let done = Mutation::Completed { id: Some(id), outputs: updated.outputs };
                self.recorder.commit(Some(op), vec![done]).await?;
                self.known.lock().expect("known outputs").insert(step.urn.clone(), outputs);
                Ok(())
            }
            Err(source) => {
                self.recorder.abort(op, source.to_string()).await?;
                Err(EngineError::Provider { urn: step.urn.clone(), action: "update", source }.into())
            }
        }
    }

    /// Deletes the recorded copy `old` (`id` is `None` only for a component).
    async fn delete(&self, step: &Step, old: &ResourceState, id: Option<&String>) -> Result<(), ActionError> {
        let remove = Mutation::Remove { urn: step.urn.clone(), id: old.id.clone() };
        let Some(id) = id.cloned() else {
            // A component: nothing in the cloud, only its record.
            self.recorder.commit(None, vec![remove]).await?;
            return Ok(());
        };
        if old.retain_on_delete {
            // Left in the cloud, as the resource's option says; only the record goes.
            self.recorder.commit(None, vec![remove]).await?;
            return Ok(());
        }
        let provider = for_resource(self.providers, &step.ty, old.provider.as_deref()).await?;
        // The old copy is deleted through the provider instance that made it.
        let intent = Intent {
            provider: old.provider.clone(),
            ..Self::intent(step, OpKind::Delete, Some(id.clone()), old.inputs.clone())
        };
        let op = self.recorder.begin(intent).await?;
        let call = provider.delete(DeleteRequest {
            urn: step.urn.clone(),
            id,
            inputs: old.inputs.clone(),
            outputs: old.outputs.clone(),
        });
        let result = self.within(step, "delete", call).await?;
        if let Some(d) = test_delay() {
            tokio::time::sleep(d).await;
        }
        match result {
            Ok(()) => {
                self.recorder.commit(Some(op), vec![remove]).await?;
                Ok(())
            }
            Err(source) => {
                self.recorder.abort(op, source.to_string()).await?;
                Err(EngineError::Provider { urn: step.urn.clone(), action: "delete", source }.into())
            }
        }
    }

    async fn record_outputs(&self) -> Result<(), EngineError> {
        let Some(declared) = self.declared else {
            // A destroy clears the stack's outputs once nothing is left (a
            // targeted one leaves them with the resources it left).
            let state = self.recorder.state();
            if !state.outputs.is_empty() && state.resources.is_empty() {
                self.recorder.commit(None, vec![Mutation::SetOutputs(Default::default())]).await?;
            }
            return Ok(());
        };
        let (outputs, components) = {
            let known = self.known.lock().expect("known outputs");
            (
                crate::preview::evaluate_exports(&declared.exports, &*known),
                crate::preview::component_outputs(declared, &*known),
            )
        };
        let state = self.recorder.state();
        // A component's outputs live in its own record; one whose step failed has none to update.
        let mut mutations: Vec<Mutation> = components
            .into_iter()
            .filter_map(|(urn, outs)| {
                let record = state.live(&urn)?;
                let outs = Value::Map(outs);
                (record.outputs != outs).then(|| Mutation::Put(ResourceState { outputs: outs, ..record.clone() }))
            })
            .collect();
        if outputs != state.outputs {
            mutations.push(Mutation::SetOutputs(outputs));
        }
        if !mutations.is_empty() {
            self.recorder.commit(None, mutations).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echoed_secret_inputs_stay_secret_in_outputs() {
        let inputs: Value =
            [("password", Value::Secret(Box::new("pw".into()))), ("name", "db".into())].into_iter().collect();
        let outputs: Value =
            [("password", Value::from("pw")), ("name", "db".into()), ("arn", "a".into())].into_iter().collect();
        let kept = keep_secrets(&inputs, outputs);
        assert_eq!(kept.get("password"), Some(&Value::Secret(Box::new("pw".into()))));
        assert_eq!(kept.get("name"), Some(&Value::from("db")));
    }
}
