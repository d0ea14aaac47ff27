//! In-process runs: the engine and the AWS provider in the test process,
//! against the emulator, each harness with its own temporary file store.
//! Per-type tests use this instead of running a program as a process.

use std::borrow::Borrow;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use cairn_core::{Config, DeclaredStack, ProjectName, Provider, ResourceOptions, Stack, StackName, Value};
use cairn_engine::{AutoApprove, Op, Plan, RunOptions, RunReport, StackRunner, StaticProviders, Status, preview};
use cairn_provider_aws::AwsProvider;
use cairn_state::journal_tap::JournalTap;
use cairn_state::{FileStore, LockOptions, StackState, StateStore};

/// How long a run waits for the stack's lock (the harness runs one at a time).
const LOCK_WAIT: Duration = Duration::from_secs(60);

/// An EC2 client for the emulator.
pub async fn ec2() -> aws_sdk_ec2::Client {
    aws_sdk_ec2::Client::new(&crate::sdk_config().await)
}

/// The tags a program declared on an EC2 resource: all but the `cairn:urn`
/// tag the provider adds.
pub fn ec2_tags(tags: &[aws_sdk_ec2::types::Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .map(|t| (t.key().unwrap_or_default().to_owned(), t.value().unwrap_or_default().to_owned()))
        .filter(|(k, _)| k != "cairn:urn")
        .collect()
}

/// One stack with its own state, and the AWS provider configured for the emulator.
pub struct InProcess {
    _dir: tempfile::TempDir,
    store: JournalTap<FileStore>,
    provider: Arc<AwsProvider>,
    providers: StaticProviders,
}

fn names() -> (ProjectName, StackName) {
    (ProjectName::new("inprocess").expect("project name"), StackName::new("dev").expect("stack name"))
}

/// Runs the program once and returns what it declared.
fn declare(program: impl Fn(&Stack)) -> DeclaredStack {
    let (p, s) = names();
    let ctx = Stack::new(s, p, Config::default());
    program(&ctx);
    ctx.finish()
}

/// `(name, op)` of every step.
fn ops(plan: &Plan) -> Vec<(String, Op)> {
    plan.steps.iter().map(|s| (s.urn.name().to_owned(), s.op())).collect()
}

impl InProcess {
    /// A fresh stack and a provider configured with `{"region": "us-east-1", "endpoint": <emulator>}`.
    pub async fn new() -> Self {
        let provider = Arc::new(AwsProvider::new());
        let config = serde_json::json!({"region": "us-east-1", "endpoint": crate::aws_endpoint()});
        provider.configure(Value::from_json(&config)).await.expect("configure the aws provider");
        Self::with_provider(provider)
    }

    /// A fresh stack whose provider also has these `[provider.aws]` settings
    /// (e.g. `{"default_tags": {...}}`).
    pub async fn with_settings(settings: serde_json::Value) -> Self {
        let provider = Arc::new(AwsProvider::new());
        let mut config = serde_json::json!({"region": "us-east-1", "endpoint": crate::aws_endpoint()});
        let extra = settings.as_object().expect("settings are a table").clone();
        config.as_object_mut().expect("a table").extend(extra);
        provider.configure(Value::from_json(&config)).await.expect("configure the aws provider");
        Self::with_provider(provider)
    }

    fn with_provider(provider: Arc<AwsProvider>) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = JournalTap::new(FileStore::new(dir.path()));
        let providers = StaticProviders::default().with("aws", provider.clone());
        Self { _dir: dir, store, provider, providers }
    }

    /// The same stack, with `provider` registered as the named instance `name`.
    pub fn with_instance(mut self, name: &str, provider: Arc<AwsProvider>) -> Self {
        self.providers = self.providers.with(name, provider);
        self
    }

    /// Another stack with an empty state sharing this provider (for import tests).
    pub fn fresh(&self) -> Self {
        Self::with_provider(self.provider.clone())
    }

    /// The recorded state.
    pub async fn state(&self) -> StackState {
        let (p, s) = names();
        let replayed = self.store.read(&p, &s).await.expect("read the state");
        assert!(replayed.pending.is_empty(), "no pending operations: {:?}", replayed.pending);
        replayed.state
    }

    /// The provider ID recorded for the resource called `name`.
    pub async fn id(&self, name: &str) -> String {
        let state = self.state().await;
        let r = state.resources.iter().find(|r| r.urn.name() == name && !r.pending_delete);
        r.and_then(|r| r.id.clone()).unwrap_or_else(|| panic!("no recorded ID for `{name}`"))
    }

    /// The recorded outputs of the resource called `name`.
    pub async fn outputs(&self, name: &str) -> Value {
        let state = self.state().await;
        let r = state.resources.iter().find(|r| r.urn.name() == name && !r.pending_delete);
        r.map(|r| r.outputs.clone()).unwrap_or_else(|| panic!("no record for `{name}`"))
    }

    /// The string output `key` of the resource called `name`.
    pub async fn output(&self, name: &str, key: &str) -> String {
        crate::output(&self.outputs(name).await, key)
    }

    /// What `up` would do, step by step; panics with the error if planning fails.
    pub async fn preview_ops(&self, program: impl Fn(&Stack)) -> Vec<(String, Op)> {
        let declared = declare(program);
        let state = self.state().await;
        let plan = preview(&declared, &state, &self.providers).await.unwrap_or_else(|e| panic!("preview failed: {e}"));
        ops(&plan)
    }

    /// The plan `up` would carry out.
    pub async fn preview_plan(&self, program: impl Fn(&Stack)) -> Plan {
        self.runner().preview(&declare(program)).await.unwrap_or_else(|e| panic!("preview failed: {e}"))
    }

    /// What `up` would do, or the planning error as text (for refusals).
    pub async fn try_preview(&self, program: impl Fn(&Stack)) -> Result<Vec<(String, Op)>, String> {
        let declared = declare(program);
        let state = self.state().await;
        preview(&declared, &state, &self.providers).await.map(|plan| ops(&plan)).map_err(|e| e.to_string())
    }

    /// Preview, then apply; panics with the error unless every step succeeded.
    /// Returns the planned `(name, op)` of every step.
    pub async fn up(&self, program: impl Fn(&Stack)) -> Vec<(String, Op)> {
        let declared = declare(program);
        let run = self.runner().up(&declared, &RunOptions::parallelism(4), &AutoApprove).await;
        let run = self.check(run.unwrap_or_else(|e| panic!("up failed: {e}")));
        ops(&run.plan)
    }

    /// One `up` whose steps may fail: the report as it is (every journal
    /// prefix still checked).
    pub async fn try_up(&self, program: impl Fn(&Stack)) -> RunReport {
        let declared = declare(program);
        let run = self.runner().up(&declared, &RunOptions::parallelism(4), &AutoApprove).await;
        let run = run.unwrap_or_else(|e| panic!("up failed: {e}"));
        if let Err(e) = self.store.check_every_prefix() {
            panic!("a prefix of the journal is not a valid state: {e}");
        }
        run
    }

    /// Deletes every recorded resource, dependents first (as `destroy` does).
    pub async fn destroy(&self) {
        let run = self.runner().destroy(&RunOptions::parallelism(4), &AutoApprove).await;
        self.check(run.unwrap_or_else(|e| panic!("destroy failed: {e}")));
        assert!(self.state().await.resources.is_empty(), "destroy leaves no record");
    }

    /// The automation API for this harness's stack.
    fn runner(&self) -> StackRunner<'_> {
        let (p, s) = names();
        let lock = LockOptions { wait: LOCK_WAIT, ..LockOptions::default() };
        StackRunner::new(p, s, &self.store, &self.providers).lock_options(lock)
    }

    /// Asserts that every step succeeded and that every prefix of the
    /// journal the run wrote replays to a valid state.
    fn check(&self, run: RunReport) -> RunReport {
        let report = run.apply_report().expect("a run with AutoApprove is never cancelled");
        let failed: Vec<String> = report
            .outcomes
            .iter()
            .filter(|o| o.status != Status::Succeeded)
            .map(|o| format!("{} {:?} {:?}: {}", o.urn.name(), o.op, o.status, o.error.as_deref().unwrap_or("")))
            .collect();
        assert!(failed.is_empty(), "every step succeeds: {failed:#?}");
        if let Err(e) = self.store.check_every_prefix() {
            panic!("a prefix of the journal is not a valid state: {e}");
        }
        run
    }
}

/// The op planned for the resource `name` (a panic listing the steps when there is none).
pub fn op(ops: &[(String, Op)], name: &str) -> Op {
    ops.iter().find(|(n, _)| n == name).map(|(_, o)| *o).unwrap_or_else(|| panic!("no step for `{name}`: {ops:?}"))
}

/// Asserts that every step is `want`.
pub fn assert_all(ops: &[(String, Op)], want: Op) {
    assert!(ops.iter().all(|(_, o)| *o == want), "every step is {want:?}: {ops:?}");
}

/// Options that import the provider ID `ids` holds for `name`, or none.
pub fn import_opts<K: Borrow<str> + Ord>(ids: Option<&BTreeMap<K, String>>, name: &str) -> ResourceOptions {
    match ids.and_then(|ids| ids.get(name)) {
        Some(id) => ResourceOptions::builder().import(id.clone()).build(),
        None => ResourceOptions::default(),
    }
}

/// Provider IDs by resource name, to import into a fresh state.
#[derive(Debug, Default)]
pub struct Imports(pub BTreeMap<String, String>);

impl Imports {
    /// Every custom resource `h` recorded.
    pub async fn of(h: &InProcess) -> Self {
        let state = h.state().await;
        Self(state.resources.iter().filter_map(|r| Some((r.urn.name().to_owned(), r.id.clone()?))).collect())
    }

    /// Options that import `name`, or none.
    pub fn opts(&self, name: &str) -> ResourceOptions {
        import_opts(Some(&self.0), name)
    }
}
