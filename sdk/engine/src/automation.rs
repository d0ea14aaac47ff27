//! The automation API: a stack's run lifecycle as library calls.
//!
//! Every way of running Cairn (the CLI a program gets from `cairn::run`, the
//! test harnesses, a team's own Rust code) goes through [`StackRunner`], so
//! the lifecycle is written once: take the stack's lock, settle what an
//! interrupted run left pending, plan, ask for confirmation, apply, compact
//! the journal, and give the lock back whatever happened.
//!
//! ```
//! use cairn_core::{Config, Output, ProjectName, Stack, StackName};
//! use cairn_engine::automation::{AutoApprove, RunOptions, StackRunner};
//! use cairn_engine::StaticProviders;
//! use cairn_state::FileStore;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let store = FileStore::new(dir.path());
//! let providers = StaticProviders::default(); // e.g. `.with("aws", Arc::new(provider))`
//! let (project, stack) = (ProjectName::new("platform")?, StackName::new("dev")?);
//!
//! // The program: any code that declares resources on a `Stack`.
//! let ctx = Stack::new(stack.clone(), project.clone(), Config::default());
//! ctx.export("region", &Output::new("eu-west-1".to_owned()));
//! let declared = ctx.finish();
//!
//! let runner = StackRunner::new(project, stack, &store, &providers);
//! let plan = runner.preview(&declared).await?;
//! assert!(plan.is_noop());
//! let report = runner.up(&declared, &RunOptions::default(), &AutoApprove).await?;
//! assert!(!report.failed());
//! assert_eq!(report.state().unwrap().outputs["region"].as_str(), Some("eu-west-1"));
//! # Ok(())
//! # }
//! ```

use cairn_core::{DeclaredStack, ProjectName, StackName};
use cairn_state::{LockOptions, PendingOp, Recorder, StackSession, StackState, StateStore};

use crate::error::EngineError;
use crate::executor::{ApplyOptions, ApplyReport, Observer, apply};
use crate::plan::Plan;
use crate::preview::preview_replacing;
use crate::providers::ProviderSource;
use crate::reconcile::{Resolution, reconcile};
use crate::refresh::read_live;
use crate::selection::{Selection, restrict};

/// Records what a `refresh` plan found, after checking it was made against the state as it is.
async fn record_refresh(plan: &Plan, recorder: &Recorder) -> Result<ApplyReport, EngineError> {
    plan.check_base(&recorder.state())?;
    if let Some(refresh) = plan.refresh.as_ref().filter(|r| !r.records_nothing()) {
        recorder.commit(None, refresh.mutations.clone()).await?;
    }
    Ok(ApplyReport::unchanged(plan, recorder.state()))
}

/// Which command a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// `preview`: plans, changes nothing.
    Preview,
    /// `up`: makes the cloud match the program.
    Up,
    /// `destroy`: deletes every resource of the stack.
    Destroy,
    /// `refresh`: records in the state what the cloud holds.
    Refresh,
}

impl Command {
    /// The command's name, as the lock and the history record it.
    pub fn name(self) -> &'static str {
        match self {
            Command::Preview => "preview",
            Command::Up => "up",
            Command::Destroy => "destroy",
            Command::Refresh => "refresh",
        }
    }

    /// The question put before applying its plan.
    pub fn question(self) -> &'static str {
        match self {
            Command::Preview => "show this plan",
            Command::Up => "perform these updates",
            Command::Destroy => "delete every resource of this stack",
            Command::Refresh => "record what the cloud holds in the state",
        }
    }
}

/// A refusal to answer the confirmation question (for example: no terminal to ask on).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct Refusal(pub String);

/// Decides whether a plan with changes is applied. Asked once per run, after
/// the plan was shown to the [`Observer`] and only when the plan changes something.
pub trait Confirm: Send + Sync {
    /// `Ok(true)` to apply, `Ok(false)` to cancel (nothing changes), or a
    /// refusal that ends the run with an error.
    fn confirm(&self, command: Command, plan: &Plan) -> Result<bool, Refusal>;

    /// Checked for every plan, before anything is written, whether or not it
    /// changes something: a refusal ends the run with nothing applied. For
    /// gates such as "no changes expected" or "only the reviewed plan".
    fn gate(&self, command: Command, plan: &Plan) -> Result<(), Refusal> {
        let _ = (command, plan);
        Ok(())
    }
}

/// Applies every plan without asking (`--yes`).
#[derive(Debug, Clone, Copy, Default)]
pub struct AutoApprove;

impl Confirm for AutoApprove {
    fn confirm(&self, _: Command, _: &Plan) -> Result<bool, Refusal> {
        Ok(true)
    }
}

impl<F> Confirm for F
where
    F: Fn(Command, &Plan) -> Result<bool, Refusal> + Send + Sync,
{
    fn confirm(&self, command: Command, plan: &Plan) -> Result<bool, Refusal> {
        self(command, plan)
    }
}

/// How to plan.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// Read every recorded resource first and plan against what is live
    /// (`--refresh`): the plan then puts drifted resources back to the program.
    pub refresh: bool,
    /// Which resources the run may touch, and which to replace regardless
    /// (`--target`, `--exclude`, `--replace`).
    pub selection: Selection,
}

/// How to run.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// How the plan is made.
    pub plan: PlanOptions,
    /// How the executor applies.
    pub apply: ApplyOptions,
}

impl RunOptions {
    /// At most `parallelism` provider operations in flight at once.
    pub fn parallelism(parallelism: usize) -> Self {
        Self { apply: ApplyOptions { parallelism }, ..Self::default() }
    }

    /// Refresh before planning.
    pub fn refreshing(mut self) -> Self {
        self.plan.refresh = true;
        self
    }
}

/// How a run ended.
#[derive(Debug, Clone)]
pub enum RunOutcome {
    /// The plan changed nothing, so nothing was applied or written.
    Unchanged(ApplyReport),
    /// The confirmation said no; nothing was changed.
    Cancelled,
    /// The plan was applied (some steps may have failed: see [`ApplyReport::failed`]).
    Applied(ApplyReport),
}

/// What an `up` or `destroy` did.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// The command.
    pub command: Command,
    /// The plan it made.
    pub plan: Plan,
    /// How it ended.
    pub outcome: RunOutcome,
    /// What the providers said when the run finished (a GitOps commit), one line each.
    pub notes: Vec<String>,
}

impl RunReport {
    /// The per-step report, unless the run was cancelled.
    pub fn apply_report(&self) -> Option<&ApplyReport> {
        match &self.outcome {
            RunOutcome::Unchanged(r) | RunOutcome::Applied(r) => Some(r),
            RunOutcome::Cancelled => None,
        }
    }

    /// The state as recorded at the end, unless the run was cancelled.
    pub fn state(&self) -> Option<&StackState> {
        self.apply_report().map(|r| &r.state)
    }

    /// True when any step failed.
    pub fn failed(&self) -> bool {
        self.apply_report().is_some_and(ApplyReport::failed)
    }
}

/// Runs the commands of one stack: a state store, the providers, and an observer.
pub struct StackRunner<'a> {
    project: ProjectName,
    stack: StackName,
    store: &'a dyn StateStore,
    providers: &'a dyn ProviderSource,
    lock: LockOptions,
    observer: &'a dyn Observer,
}

impl<'a> StackRunner<'a> {
    /// A runner for `stack` of `project`; it fails at once when another run
    /// holds the lock, and reports to no observer.
    pub fn new(
        project: ProjectName,
        stack: StackName,
        store: &'a dyn StateStore,
        providers: &'a dyn ProviderSource,
    ) -> Self {
        Self { project, stack, store, providers, lock: LockOptions::default(), observer: &() }
    }

    /// How long to wait for the lock and the lease to take.
    pub fn lock_options(mut self, lock: LockOptions) -> Self {
        self.lock = lock;
        self
    }

    /// Receives the plan and the progress of each action.
    pub fn observer(mut self, observer: &'a dyn Observer) -> Self {
        self.observer = observer;
        self
    }

    /// The project.
    pub fn project(&self) -> &ProjectName {
        &self.project
    }

    /// The stack.
    pub fn stack(&self) -> &StackName {
        &self.stack
    }

    /// Plans `declared` against the recorded state without locking or
    /// writing anything: operations an interrupted run left pending are
    /// settled in memory only.
    pub async fn preview(&self, declared: &DeclaredStack) -> Result<Plan, EngineError> {
        self.preview_with(declared, &PlanOptions::default()).await
    }

    /// [`preview`](Self::preview) with options: with `refresh`, every
    /// recorded resource is read first (nothing is written) and the plan's
    /// [`refresh`](Plan::refresh) says what drifted. That is `drift`. Reads
    /// that failed are listed in it, not returned as an error, so a report
    /// can show what was read; check [`Refresh::complete`](crate::Refresh::complete).
    pub async fn preview_with(&self, declared: &DeclaredStack, options: &PlanOptions) -> Result<Plan, EngineError> {
        let replayed = self.store.read(&self.project, &self.stack).await?;
        let mut state = replayed.state;
        for (_, r) in reconcile(&replayed.pending, &state, self.providers).await? {
            if let Resolution::Commit(mutations) = r {
                mutations.iter().for_each(|m| state.apply(m));
            }
        }
        let plan = self.plan(Some(declared), &state, options).await;
        drop_aside(state);
        let plan = plan?;
        self.observer.planned(Command::Preview, &plan);
        Ok(plan)
    }

    /// Reads every recorded resource and records what is live: properties
    /// changed behind Cairn's back, resources deleted out of band. Asks
    /// `confirm` when anything drifted; changes nothing in the cloud.
    pub async fn refresh(&self, options: &RunOptions, confirm: &dyn Confirm) -> Result<RunReport, EngineError> {
        self.locked(Command::Refresh, None, options, confirm).await
    }

    /// A repair of the state alone (`state delete`, `state move`): under
    /// the stack's lock, `edit` turns the recorded state into the records
    /// to write, which are journaled and compacted like any run's, so the
    /// history shows the repair under `operation`. Refused while an
    /// interrupted run left operations pending (run `up` to settle them).
    pub async fn repair(
        &self,
        operation: &str,
        edit: impl FnOnce(&StackState) -> Result<Vec<cairn_state::Mutation>, EngineError>,
    ) -> Result<StackState, EngineError> {
        let session: Box<dyn StackSession> =
            cairn_state::lock(self.store, &self.project, &self.stack, operation, &self.lock).await?;
        let result = async {
            let replayed = session.read().await?;
            if !replayed.pending.is_empty() {
                return Err(EngineError::PendingOperations { count: replayed.pending.len() });
            }
            Ok(replayed)
        }
        .await;
        let replayed = match result {
            Ok(r) => r,
            Err(e) => {
                let _ = session.release().await;
                return Err(e);
            }
        };
        let recorder = Recorder::new(session, replayed.state, replayed.next_op);
        let written = match edit(&recorder.state()) {
            Ok(mutations) if mutations.is_empty() => Ok(()),
            Ok(mutations) => recorder.commit(None, mutations).await.map_err(EngineError::from),
            Err(e) => Err(e),
        };
        let compacted = if recorder.uncompacted() { recorder.compact().await.map(Some) } else { Ok(None) };
        let state = recorder.state();
        let released = recorder.release().await;
        written?;
        let state = compacted?.unwrap_or(state);
        released?;
        Ok(state)
    }

    /// Removes the stack from the state store (`stack rm`): its state,
    /// journal and history. Refused while it records resources (destroy
    /// them first), unless `force`, which forgets them and leaves them in
    /// the cloud; refused while an interrupted run left operations pending.
    pub async fn remove(&self, force: bool) -> Result<usize, EngineError> {
        let session: Box<dyn StackSession> =
            cairn_state::lock(self.store, &self.project, &self.stack, "stack rm", &self.lock).await?;
        let result = async {
            let replayed = session.read().await?;
            if !replayed.pending.is_empty() {
                return Err(EngineError::PendingOperations { count: replayed.pending.len() });
            }
            let live = replayed.state.resources.iter().filter(|r| !r.pending_delete).count();
            if live > 0 && !force {
                return Err(EngineError::Repair(format!(
                    "stack `{}` still records {live} resources: run `destroy` first, or pass --force to forget them \
                     (they stay in the cloud, unmanaged)",
                    self.stack
                )));
            }
            session.remove_stack().await?;
            Ok(live)
        }
        .await;
        let released = session.release().await;
        let forgotten = result?;
        released?;
        Ok(forgotten)
    }

    /// The plan for `declared` (or for destroying everything when `None`)
    /// against `state`, refreshed first when asked.
    async fn plan(
        &self,
        declared: Option<&DeclaredStack>,
        state: &StackState,
        options: &PlanOptions,
    ) -> Result<Plan, EngineError> {
        let refresh = if options.refresh { Some(read_live(state, self.providers).await?) } else { None };
        let refreshed = refresh.as_ref().map(|r| r.applied_to(state));
        let planned_on = refreshed.as_ref().unwrap_or(state);
        let mut plan = match declared {
            Some(declared) => {
                preview_replacing(declared, planned_on, self.providers, &options.selection.replaces).await?
            }
            None => Plan::destroy(planned_on)?,
        };
        plan.refresh = refresh;
        restrict(plan, &options.selection, declared.is_none())
    }

    /// Makes the cloud match `declared`: locks the stack, settles pending
    /// operations, plans, asks `confirm` when the plan changes something,
    /// applies, compacts and releases the lock.
    pub async fn up(
        &self,
        declared: &DeclaredStack,
        options: &RunOptions,
        confirm: &dyn Confirm,
    ) -> Result<RunReport, EngineError> {
        self.locked(Command::Up, Some(declared), options, confirm).await
    }

    /// Deletes every resource of the stack, dependents first.
    pub async fn destroy(&self, options: &RunOptions, confirm: &dyn Confirm) -> Result<RunReport, EngineError> {
        self.locked(Command::Destroy, None, options, confirm).await
    }

    async fn locked(
        &self,
        command: Command,
        declared: Option<&DeclaredStack>,
        options: &RunOptions,
        confirm: &dyn Confirm,
    ) -> Result<RunReport, EngineError> {
        let (recorder, pending) = self.open(command).await?;
        let result = self.run_locked(command, declared, &recorder, &pending, options, confirm).await;
        // Keep whatever was recorded (even after an error), then give the
        // lock back whatever happened, so a lease never outlives the run.
        let compacted = if recorder.uncompacted() { recorder.compact().await.map(Some) } else { Ok(None) };
        // The providers' last word once the state is written, still under the lock so two runs
        // of the stack never finish at once (a GitOps provider commits the files written).
        let finished = match &compacted {
            Ok(Some(state)) => self.finish(command, state.serial).await,
            _ => Ok(Vec::new()),
        };
        let released = recorder.release().await;
        let mut report = result?;
        if let (Some(state), RunOutcome::Applied(r)) = (compacted?, &mut report.outcome) {
            r.state = state;
        }
        report.notes = finished?;
        released?;
        Ok(report)
    }

    /// Tells each started provider the run is over; their notes, in provider order.
    async fn finish(&self, command: Command, serial: u64) -> Result<Vec<String>, EngineError> {
        let mut notes = Vec::new();
        for (name, provider) in self.providers.started() {
            let request = cairn_core::FinishRequest {
                project: self.project.to_string(),
                stack: self.stack.to_string(),
                serial,
                command: command.name().to_owned(),
            };
            let done = provider
                .finish(request)
                .await
                .map_err(|source| EngineError::Finish { provider: name.clone(), source })?;
            notes.extend(done.notes);
        }
        Ok(notes)
    }

    /// Takes the lock and reads the state.
    async fn open(&self, command: Command) -> Result<(Recorder, Vec<PendingOp>), EngineError> {
        let session: Box<dyn StackSession> =
            cairn_state::lock(self.store, &self.project, &self.stack, command.name(), &self.lock).await?;
        let replayed = match session.read().await {
            Ok(r) => r,
            Err(e) => {
                let _ = session.release().await;
                return Err(e.into());
            }
        };
        let recorder = Recorder::new(session, replayed.state, replayed.next_op);
        recorder.track_pending(&replayed.pending);
        Ok((recorder, replayed.pending))
    }

    async fn run_locked(
        &self,
        command: Command,
        declared: Option<&DeclaredStack>,
        recorder: &Recorder,
        pending: &[PendingOp],
        options: &RunOptions,
        confirm: &dyn Confirm,
    ) -> Result<RunReport, EngineError> {
        self.settle(recorder, pending).await?;
        let state = recorder.state();
        let plan = match command {
            Command::Refresh => Plan::refresh_only(&state, read_live(&state, self.providers).await?),
            _ => self.plan(declared, &state, &options.plan).await?,
        };
        // What is live must be known before anything is recorded or applied.
        if let Some(refresh) = &plan.refresh {
            refresh.complete()?;
        }
        confirm.gate(command, &plan).map_err(EngineError::Refused)?;
        self.observer.planned(command, &plan);
        let report = |outcome| RunReport { command, plan: plan.clone(), outcome, notes: Vec::new() };
        let unchanged = match command {
            Command::Destroy => plan.steps.is_empty() && plan.changes_nothing(),
            Command::Refresh => plan.changes_nothing(),
            _ => plan.changes_nothing() && recorder.writes() == 0 && plan.outputs_recorded(&state),
        };
        if unchanged {
            return Ok(report(RunOutcome::Unchanged(ApplyReport::unchanged(&plan, state))));
        }
        if plan.needs_confirmation() && !confirm.confirm(command, &plan).map_err(EngineError::Refused)? {
            return Ok(report(RunOutcome::Cancelled));
        }
        let applied = match command {
            // Nothing to apply but what the refresh found.
            Command::Refresh => record_refresh(&plan, recorder).await?,
            _ => apply(&plan, declared, recorder, self.providers, &options.apply, self.observer).await?,
        };
        Ok(RunReport { command, plan, outcome: RunOutcome::Applied(applied), notes: Vec::new() })
    }

    /// Settles what an interrupted run left pending, through the journal.
    async fn settle(&self, recorder: &Recorder, pending: &[PendingOp]) -> Result<(), EngineError> {
        if pending.is_empty() {
            return Ok(());
        }
        self.observer.settling(pending.len());
        for (op, r) in reconcile(pending, &recorder.state(), self.providers).await? {
            match r {
                Resolution::Commit(m) => recorder.commit(Some(op), m).await?,
                Resolution::Abort(why) => recorder.abort(op, why).await?,
            }
        }
        Ok(())
    }
}

/// Frees `value` on a thread of its own while the caller goes on. Freeing a
/// large state or plan is a tenth of a no-op preview of 10,000 resources
/// (benchmark P1), and the machine's other core is idle meanwhile. A process
/// that exits before the thread is done loses nothing: the system reclaims
/// the memory.
pub fn drop_aside<T: Send + 'static>(value: T) {
    std::thread::spawn(move || drop(value));
}
