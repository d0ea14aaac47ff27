//! Engine tests with the in-process test provider: ordering, parallelism,
//! replacements, partial failure and recovery.

use std::sync::Arc;
use std::time::Duration;

use cairn_core::{Config, Input, ProjectName, ProviderError, ResourceOptions, Stack, StackName, resource};
use cairn_engine::testing::TestProvider;
use cairn_engine::{AutoApprove, Op, RunOptions, StackRunner, StaticProviders, Status, preview};
use cairn_state::journal_tap::JournalTap;
use cairn_state::{FileStore, LockOptions, Recorder, StateStore};
use serde::Serialize;

#[derive(Serialize)]
struct ThingArgs {
    value: Input<String>,
    size: i64,
}

resource! {
    /// A test resource.
    Thing, token = "test:index:Thing", args = ThingArgs, outputs = ThingOutputs {
        /// Its value.
        value: String,
        /// Its ID.
        id: String,
    }
}

struct Harness {
    _dir: tempfile::TempDir,
    store: JournalTap<FileStore>,
    provider: Arc<TestProvider>,
    providers: StaticProviders,
}

fn harness(provider: TestProvider) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let store = JournalTap::new(FileStore::new(dir.path()));
    let provider = Arc::new(provider);
    let providers = StaticProviders::default().with("test", provider.clone());
    Harness { _dir: dir, store, provider, providers }
}

fn names() -> (ProjectName, StackName) {
    (ProjectName::new("p").unwrap(), StackName::new("dev").unwrap())
}

/// Runs one `up` of `program` through the automation API, then checks that
/// every prefix of the journal it wrote replays to a valid state; returns each
/// step's (name, op, status).
async fn up(h: &Harness, parallelism: usize, program: impl Fn(&Stack)) -> Vec<(String, Op, Status)> {
    let (p, s) = names();
    let ctx = Stack::new(s.clone(), p.clone(), Config::default());
    program(&ctx);
    let declared = ctx.finish();
    let lock = LockOptions { wait: Duration::from_secs(60), ..LockOptions::default() };
    let runner = StackRunner::new(p, s, &h.store, &h.providers).lock_options(lock);
    let run = runner.up(&declared, &RunOptions::parallelism(parallelism), &AutoApprove).await.unwrap();
    let checked = h.store.check_every_prefix().unwrap_or_else(|e| panic!("a journal prefix is not a valid state: {e}"));
    assert!(checked >= 1, "the run was recorded");
    let report = run.apply_report().expect("not cancelled");
    report.outcomes.iter().map(|o| (o.urn.name().to_owned(), o.op, o.status)).collect()
}

fn thing(ctx: &Stack, name: &str, value: impl Into<Input<String>>, size: i64) -> Thing {
    ctx.resource(name, ThingArgs { value: value.into(), size }).unwrap()
}

fn chain(ctx: &Stack, size: i64) {
    let a = thing(ctx, "a", "root", size);
    let b = thing(ctx, "b", a.id.map(|id| format!("after {id}")), 1);
    thing(ctx, "c", b.id.clone(), 1);
    thing(ctx, "d", "independent", 1);
}

async fn recorded(h: &Harness) -> Vec<String> {
    let (p, s) = names();
    let r = h.store.read(&p, &s).await.unwrap();
    assert!(r.pending.is_empty(), "no pending operations: {:?}", r.pending);
    let mut names: Vec<String> = r.state.resources.iter().map(|r| r.urn.name().to_owned()).collect();
    // Independent steps finish in any order; what matters is which records exist, once each.
    names.sort();
    names
}

#[tokio::test]
async fn creates_follow_dependency_order_and_outputs_flow_into_inputs() {
    let h = harness(TestProvider::new());
    let steps = up(&h, 4, |ctx| chain(ctx, 1)).await;
    assert!(steps.iter().all(|(_, op, st)| *op == Op::Create && *st == Status::Succeeded), "{steps:?}");
    let calls = h.provider.calls();
    let pos = |n: &str| calls.iter().position(|c| c == &format!("create {n}")).unwrap();
    assert!(pos("a") < pos("b") && pos("b") < pos("c"), "{calls:?}");
    let cloud = h.provider.cloud.lock().unwrap().clone();
    let b = cloud.iter().find(|(k, _)| k.starts_with("b-")).unwrap().1;
    assert!(b.get("value").unwrap().as_str().unwrap().starts_with("after a-"), "b got a's id: {b:?}");

    let again = up(&h, 4, |ctx| chain(ctx, 1)).await;
    assert!(again.iter().all(|(_, op, _)| *op == Op::Same), "second run is a no-op: {again:?}");
}

#[tokio::test]
async fn independent_steps_run_in_parallel_up_to_the_limit() {
    let h = harness(TestProvider::new().delay(Duration::from_millis(150)));
    up(&h, 3, |ctx| {
        for i in 0..6 {
            thing(ctx, &format!("t{i}"), "x", 1);
        }
    })
    .await;
    assert_eq!(h.provider.max_in_flight(), 3, "six independent creates with parallelism 3");
}

#[tokio::test]
async fn replacement_creates_first_and_updates_dependents_before_deleting() {
    let h = harness(TestProvider::new().replace_on(&["size"]));
    up(&h, 4, |ctx| chain(ctx, 1)).await;
    h.provider.calls.lock().unwrap().clear();
    let steps = up(&h, 4, |ctx| chain(ctx, 2)).await;
    assert_eq!(steps[0], ("a".into(), Op::Replace, Status::Succeeded));
    assert_eq!(steps[1].1, Op::Update, "b's input is a's new id");
    let calls = h.provider.calls();
    let pos = |c: &str| calls.iter().position(|x| x == c).unwrap_or_else(|| panic!("{c} in {calls:?}"));
    assert!(pos("create a") < pos("update b") && pos("update b") < pos("delete a"), "{calls:?}");
    assert_eq!(recorded(&h).await, ["a", "b", "c", "d"]);
    assert_eq!(h.provider.cloud.lock().unwrap().len(), 4, "old a is gone");
}

#[tokio::test]
async fn replacement_deletes_first_when_the_provider_says_so() {
    let h = harness(TestProvider::new().replace_on(&["size"]).delete_before_replace());
    up(&h, 4, |ctx| {
        thing(ctx, "a", "x", 1);
    })
    .await;
    h.provider.calls.lock().unwrap().clear();
    up(&h, 4, |ctx| {
        thing(ctx, "a", "x", 2);
    })
    .await;
    assert_eq!(h.provider.calls(), ["delete a", "create a"]);
}

#[tokio::test]
async fn a_failure_stops_dependents_lets_others_finish_and_records_every_success() {
    let h = harness(TestProvider::new());
    h.provider.fail_when(|call, urn| {
        (call == "create" && urn.name() == "b").then(|| ProviderError::internal("quota exceeded"))
    });
    let steps = up(&h, 4, |ctx| chain(ctx, 1)).await;
    let status = |n: &str| steps.iter().find(|s| s.0 == n).unwrap().2;
    assert_eq!(
        [status("a"), status("b"), status("c"), status("d")],
        [Status::Succeeded, Status::Failed, Status::Skipped, Status::Succeeded]
    );
    assert_eq!(recorded(&h).await, ["a", "d"], "no phantom entries for b or c");

    h.provider.heal();
    let steps = up(&h, 4, |ctx| chain(ctx, 1)).await;
    let ops: Vec<(String, Op)> = steps.iter().map(|s| (s.0.clone(), s.1)).collect();
    assert_eq!(
        ops,
        [("a".into(), Op::Same), ("b".into(), Op::Create), ("c".into(), Op::Create), ("d".into(), Op::Same)]
    );
    assert_eq!(recorded(&h).await, ["a", "b", "c", "d"]);
}

#[tokio::test]
async fn removed_resources_are_deleted_dependents_first_and_protect_is_honoured() {
    let h = harness(TestProvider::new());
    up(&h, 4, |ctx| chain(ctx, 1)).await;
    h.provider.calls.lock().unwrap().clear();
    let steps = up(&h, 4, |ctx| {
        thing(ctx, "d", "independent", 1);
    })
    .await;
    assert_eq!(steps.iter().filter(|s| s.1 == Op::Delete).count(), 3);
    assert_eq!(h.provider.calls(), ["delete c", "delete b", "delete a"]);

    // A protected resource is neither deleted nor silently dropped.
    up(&h, 4, |ctx| {
        ctx.resource_with(
            "d",
            ThingArgs { value: "independent".into(), size: 1 },
            ResourceOptions::builder().protect(true).build(),
        )
        .unwrap();
    })
    .await;
    let (p, s) = names();
    let ctx = Stack::new(s.clone(), p.clone(), Config::default());
    let declared = ctx.finish();
    let state = h.store.read(&p, &s).await.unwrap().state;
    let err = preview(&declared, &state, &h.providers).await.unwrap_err().to_string();
    assert!(err.contains("protected") && err.contains("::d"), "{err}");
}

#[tokio::test]
async fn an_interrupted_create_is_adopted_not_repeated() {
    use cairn_state::{Intent, OpKind};
    let h = harness(TestProvider::new());
    let (p, s) = names();
    // Simulate a crash: the journal says "create a" began, the cloud has it, no commit.
    let session = h.store.try_lock(&p, &s, "up", std::time::Duration::from_secs(60)).await.unwrap();
    let inputs = cairn_core::Value::from_json(&serde_json::json!({"value": "root", "size": 1}));
    h.provider.cloud.lock().unwrap().insert("a-99".into(), inputs.clone());
    let urn = cairn_core::Urn::parse("urn:cairn:dev::p::test:index:Thing::a").unwrap();
    let recorder = Recorder::new(session, cairn_state::StackState::new(s.clone()), 0);
    recorder
        .begin(Intent {
            kind: OpKind::Create,
            urn,
            id: None,
            inputs,
            resource_kind: cairn_core::ResourceKind::Custom,
            parent: None,
            dependencies: vec![],
            protect: false,
            retain_on_delete: false,
            provider: None,
        })
        .await
        .unwrap();
    drop(recorder);

    let replayed = h.store.read(&p, &s).await.unwrap();
    assert_eq!(replayed.pending.len(), 1);
    h.store.check_every_prefix().unwrap();
    // The next run settles it through the provider's Read before planning.
    let steps = up(&h, 4, |ctx| {
        thing(ctx, "a", "root", 1);
    })
    .await;
    assert_eq!(steps, [("a".into(), Op::Same, Status::Succeeded)]);
    assert!(h.provider.calls().is_empty(), "nothing created twice: {:?}", h.provider.calls());
}

#[tokio::test]
async fn a_value_changed_by_an_in_place_update_reaches_its_dependents_in_the_same_run() {
    let h = harness(TestProvider::new());
    let program = |root: &'static str| {
        move |ctx: &Stack| {
            let a = thing(ctx, "a", root, 1);
            thing(ctx, "b", a.value.clone(), 1);
        }
    };
    up(&h, 4, program("v1")).await;
    let steps = up(&h, 4, program("v2")).await;
    let ops: Vec<(String, Op)> = steps.iter().map(|s| (s.0.clone(), s.1)).collect();
    assert_eq!(ops, [("a".into(), Op::Update), ("b".into(), Op::Update)], "b follows a's new value at once");
    let cloud = h.provider.cloud.lock().unwrap().clone();
    let b = cloud.iter().find(|(k, _)| k.starts_with("b-")).unwrap().1;
    assert_eq!(b.get("value").and_then(cairn_core::Value::as_str), Some("v2"));
    let again = up(&h, 4, program("v2")).await;
    assert!(again.iter().all(|s| s.1 == Op::Same), "converged in one run: {again:?}");
}

#[tokio::test]
async fn the_import_option_adopts_existing_resources_and_their_outputs_flow_at_once() {
    let h = harness(TestProvider::new());
    // Resources made outside this stack ("by hand").
    h.provider
        .cloud
        .lock()
        .unwrap()
        .insert("a-hand".into(), cairn_core::Value::from_json(&serde_json::json!({"value": "root", "size": 1})));
    let imported = |ctx: &Stack| {
        let opts = ResourceOptions::builder().import("a-hand").build();
        let a = ctx.resource_with("a", ThingArgs { value: "root".into(), size: 1 }, opts).unwrap();
        thing(ctx, "b", a.id.map(|id| format!("after {id}")), 1);
    };
    let steps = up(&h, 4, imported).await;
    assert_eq!(
        steps.iter().map(|(n, op, st)| (n.as_str(), *op, *st)).collect::<Vec<_>>(),
        [("a", Op::Import, Status::Succeeded), ("b", Op::Create, Status::Succeeded)]
    );
    let calls = h.provider.calls();
    assert_eq!(calls, ["create b"], "an import creates nothing");
    let cloud = h.provider.cloud.lock().unwrap().clone();
    assert_eq!(cloud.len(), 2);
    assert!(cloud.values().any(|v| v.get("value").and_then(cairn_core::Value::as_str) == Some("after a-hand")));

    let again = up(&h, 4, imported).await;
    assert!(again.iter().all(|(_, op, _)| *op == Op::Same), "the option has no effect once recorded: {again:?}");
}

#[tokio::test]
async fn an_import_that_differs_from_the_live_resource_is_refused() {
    let h = harness(TestProvider::new());
    h.provider
        .cloud
        .lock()
        .unwrap()
        .insert("a-hand".into(), cairn_core::Value::from_json(&serde_json::json!({"value": "root", "size": 1})));
    let (p, s) = names();
    let ctx = Stack::new(s.clone(), p.clone(), Config::default());
    let opts = ResourceOptions::builder().import("a-hand").build();
    ctx.resource_with("a", ThingArgs { value: "root".into(), size: 2 }, opts).unwrap();
    let state = cairn_state::StackState::new(s);
    let err = preview(&ctx.finish(), &state, &h.providers).await.unwrap_err().to_string();
    assert!(err.contains("cannot import") && err.contains("`size`: live 1, declared 2"), "{err}");

    let ctx = Stack::new(StackName::new("dev").unwrap(), p, Config::default());
    let opts = ResourceOptions::builder().import("gone").build();
    ctx.resource_with("a", ThingArgs { value: "root".into(), size: 1 }, opts).unwrap();
    let err = preview(&ctx.finish(), &state, &h.providers).await.unwrap_err().to_string();
    assert!(err.contains("no resource with ID `gone`"), "{err}");
    assert!(h.provider.calls().is_empty(), "planning changes nothing");
}

#[tokio::test]
async fn components_replacements_and_deletions_leave_a_valid_state_at_every_journal_prefix() {
    // `up` checks every prefix of each run's journal; this run shape covers
    // the hard cases: children of a component, a delete-before-replace with a
    // dependent that is updated, and the removal of a whole component.
    let h = harness(TestProvider::new().replace_on(&["size"]).delete_before_replace());
    let program = |size: i64, with_group: bool| {
        move |ctx: &Stack| {
            let a = thing(ctx, "a", "root", size);
            thing(ctx, "b", a.id.map(|id| format!("after {id}")), 1);
            if with_group {
                let group = ctx.component_scope("test:index:Group", "g", ResourceOptions::default()).unwrap();
                let x = thing(&group, "x", "in the group", 1);
                thing(&group, "y", x.id.clone(), size);
            }
        }
    };
    up(&h, 4, program(1, true)).await;
    let steps = up(&h, 4, program(2, true)).await;
    let op = |n: &str| steps.iter().find(|s| s.0 == n).unwrap().1;
    assert_eq!([op("a"), op("b"), op("y")], [Op::Replace, Op::Update, Op::Replace]);
    let steps = up(&h, 4, program(2, false)).await;
    assert_eq!(steps.iter().filter(|s| s.1 == Op::Delete).count(), 3, "{steps:?}");
    assert_eq!(recorded(&h).await, ["a", "b"]);
}

#[tokio::test]
async fn preview_checks_independent_resources_at_once_and_keeps_declaration_order() {
    let h = harness(TestProvider::new().check_delay(Duration::from_millis(100)));
    let program = |ctx: &Stack| {
        let first: Vec<Thing> = (0..6).map(|i| thing(ctx, &format!("t{i}"), "x", 1)).collect();
        // Waits for t0's ID: planned in the next wave, after t0.
        thing(ctx, "after", first[0].id.clone(), 1);
    };
    let (p, s) = names();
    let ctx = Stack::new(s.clone(), p.clone(), Config::default());
    program(&ctx);
    let declared = ctx.finish();
    let state = h.store.read(&p, &s).await.unwrap().state;
    let plan = preview(&declared, &state, &h.providers).await.unwrap();
    assert_eq!(h.provider.max_checks_in_flight(), 6, "the six independent resources are checked at once");
    let names: Vec<&str> = plan.steps.iter().map(|s| s.urn.name()).collect();
    assert_eq!(names, ["t0", "t1", "t2", "t3", "t4", "t5", "after"]);
    assert!(plan.steps[6].desired().unwrap().inputs.get("value").is_some_and(|v| v.contains_unknown()));
}

/// Changes a resource's live inputs behind Cairn's back.
fn tamper(h: &Harness, name: &str, property: &str, value: cairn_core::Value) {
    let mut cloud = h.provider.cloud.lock().unwrap();
    let (_, inputs) = cloud.iter_mut().find(|(id, _)| id.starts_with(&format!("{name}-"))).unwrap();
    if let cairn_core::Value::Map(m) = inputs {
        m.insert(property.into(), value);
    }
}

/// Deletes a resource behind Cairn's back.
fn delete_out_of_band(h: &Harness, name: &str) {
    h.provider.cloud.lock().unwrap().retain(|id, _| !id.starts_with(&format!("{name}-")));
}

fn declare(program: impl Fn(&Stack)) -> cairn_core::DeclaredStack {
    let (p, s) = names();
    let ctx = Stack::new(s, p, Config::default());
    program(&ctx);
    ctx.finish()
}

fn runner(h: &Harness) -> StackRunner<'_> {
    let (p, s) = names();
    StackRunner::new(p, s, &h.store, &h.providers)
        .lock_options(LockOptions { wait: Duration::from_secs(60), ..LockOptions::default() })
}

#[tokio::test]
async fn drift_names_changed_properties_and_missing_resources_and_writes_nothing() {
    use cairn_engine::DriftKind;
    let h = harness(TestProvider::new());
    up(&h, 4, |ctx| chain(ctx, 1)).await;
    let (p, s) = names();
    let before = h.store.read(&p, &s).await.unwrap().state;

    let plan = runner(&h)
        .preview_with(
            &declare(|ctx| chain(ctx, 1)),
            &cairn_engine::automation::PlanOptions { refresh: true, ..Default::default() },
        )
        .await
        .unwrap();
    assert!(plan.refresh.as_ref().unwrap().no_drift(), "nothing drifted yet");
    assert!(plan.changes_nothing());

    tamper(&h, "d", "value", "changed by hand".into());
    delete_out_of_band(&h, "c");
    let plan = runner(&h)
        .preview_with(
            &declare(|ctx| chain(ctx, 1)),
            &cairn_engine::automation::PlanOptions { refresh: true, ..Default::default() },
        )
        .await
        .unwrap();
    let refresh = plan.refresh.as_ref().unwrap();
    assert_eq!(refresh.read, 4);
    let mut drifted: Vec<(&str, &DriftKind)> = refresh.drifted.iter().map(|d| (d.urn.name(), &d.kind)).collect();
    drifted.sort_by_key(|d| d.0);
    assert_eq!(drifted.len(), 2, "{drifted:?}");
    assert_eq!(drifted[0], ("c", &DriftKind::Missing));
    let DriftKind::Changed(props) = drifted[1].1 else { panic!("{drifted:?}") };
    assert_eq!((drifted[1].0, props.len(), props[0].path.to_string()), ("d", 1, "value".to_owned()));
    assert_eq!(props[0].live, Some("changed by hand".into()));
    assert_eq!(props[0].recorded, Some("independent".into()));
    // The plan puts the cloud back to the program.
    let ops: Vec<(&str, Op)> = plan.steps.iter().map(|s| (s.urn.name(), s.op())).collect();
    assert!(ops.contains(&("c", Op::Create)) && ops.contains(&("d", Op::Update)), "{ops:?}");
    assert_eq!(h.store.read(&p, &s).await.unwrap().state, before, "drift writes nothing");
}

#[tokio::test]
async fn refresh_records_the_cloud_and_up_refresh_puts_it_back_to_the_program() {
    let h = harness(TestProvider::new());
    up(&h, 4, |ctx| chain(ctx, 1)).await;
    tamper(&h, "d", "value", "changed by hand".into());
    delete_out_of_band(&h, "c");

    let run = runner(&h).refresh(&RunOptions::default(), &AutoApprove).await.unwrap();
    assert!(matches!(run.outcome, cairn_engine::RunOutcome::Applied(_)));
    h.store.check_every_prefix().unwrap();
    let (p, s) = names();
    let state = h.store.read(&p, &s).await.unwrap().state;
    assert!(state.resources.iter().all(|r| r.urn.name() != "c"), "the missing resource left the state");
    let d = state.resources.iter().find(|r| r.urn.name() == "d").unwrap();
    assert_eq!(d.inputs.get("value"), Some(&"changed by hand".into()), "the live value is recorded");
    assert!(h.provider.calls().iter().all(|c| c.starts_with("create")), "refresh changes nothing in the cloud");

    // A second refresh finds nothing and writes nothing.
    let again = runner(&h).refresh(&RunOptions::default(), &AutoApprove).await.unwrap();
    assert!(matches!(again.outcome, cairn_engine::RunOutcome::Unchanged(_)));

    // A plain up now sees the recorded drift and undoes it.
    let steps = up(&h, 4, |ctx| chain(ctx, 1)).await;
    let op = |n: &str| steps.iter().find(|s| s.0 == n).unwrap().1;
    assert_eq!([op("a"), op("b"), op("c"), op("d")], [Op::Same, Op::Same, Op::Create, Op::Update]);

    // up --refresh in one run: a dependency deleted out of band is created again and its dependent updated.
    delete_out_of_band(&h, "b");
    tamper(&h, "a", "size", cairn_core::Value::Int(7));
    let declared = declare(|ctx| chain(ctx, 1));
    let run = runner(&h).up(&declared, &RunOptions::parallelism(4).refreshing(), &AutoApprove).await.unwrap();
    assert!(!run.failed());
    h.store.check_every_prefix().unwrap_or_else(|e| panic!("{e}"));
    let ops: Vec<(&str, Op)> = run.plan.steps.iter().map(|s| (s.urn.name(), s.op())).collect();
    assert_eq!(ops, [("a", Op::Update), ("b", Op::Create), ("c", Op::Update), ("d", Op::Same)]);
    let plan = runner(&h)
        .preview_with(&declared, &cairn_engine::automation::PlanOptions { refresh: true, ..Default::default() })
        .await
        .unwrap();
    assert!(plan.refresh.unwrap().no_drift() && plan.steps.iter().all(|s| s.op() == Op::Same));
}

#[tokio::test]
async fn a_cancelled_refresh_writes_nothing() {
    let h = harness(TestProvider::new());
    up(&h, 4, |ctx| chain(ctx, 1)).await;
    delete_out_of_band(&h, "d");
    let (p, s) = names();
    let before = h.store.read(&p, &s).await.unwrap().state;
    let no = |_: cairn_engine::Command, plan: &cairn_engine::Plan| {
        assert_eq!(plan.refresh.as_ref().unwrap().counts(), (0, 1));
        Ok(false)
    };
    let run = runner(&h).refresh(&RunOptions::default(), &no).await.unwrap();
    assert!(matches!(run.outcome, cairn_engine::RunOutcome::Cancelled));
    assert_eq!(h.store.read(&p, &s).await.unwrap().state, before);
}

#[tokio::test]
async fn refresh_reads_every_resource_at_once() {
    let h = harness(TestProvider::new().read_delay(Duration::from_millis(100)));
    let program = |ctx: &Stack| {
        for i in 0..6 {
            thing(ctx, &format!("t{i}"), "x", 1);
        }
    };
    up(&h, 4, program).await;
    let plan = runner(&h)
        .preview_with(&declare(program), &cairn_engine::automation::PlanOptions { refresh: true, ..Default::default() })
        .await
        .unwrap();
    let timing = plan.refresh.unwrap().timing;
    assert_eq!(h.provider.max_reads_in_flight(), 6);
    assert!(timing.total >= Duration::from_millis(600) && timing.slowest.is_some(), "{timing:?}");
}

#[tokio::test]
async fn replace_makes_a_new_copy_first_and_updates_what_reads_it() {
    let h = harness(TestProvider::new());
    up(&h, 4, |ctx| chain(ctx, 1)).await;
    h.provider.calls.lock().unwrap().clear();
    let (_, s) = names();
    let a = cairn_core::Urn::parse(&format!("urn:cairn:{s}::p::test:index:Thing::a")).unwrap();
    let mut options = RunOptions::parallelism(4);
    options.plan.selection.replaces = vec![a];
    let run = runner(&h).up(&declare(|ctx| chain(ctx, 1)), &options, &AutoApprove).await.unwrap();
    h.store.check_every_prefix().unwrap();
    let ops: Vec<(&str, Op)> = run.plan.steps.iter().map(|s| (s.urn.name(), s.op())).collect();
    assert_eq!(ops, [("a", Op::Replace), ("b", Op::Update), ("c", Op::Same), ("d", Op::Same)]);
    let calls = h.provider.calls();
    let pos = |c: &str| calls.iter().position(|x| x == c).unwrap_or_else(|| panic!("{c} in {calls:?}"));
    assert!(pos("create a") < pos("update b") && pos("update b") < pos("delete a"), "{calls:?}");
}

#[tokio::test]
async fn a_delete_first_replacement_makes_its_replaced_dependents_delete_first_too() {
    // a is replaced delete-first (its option); b depends on a and is replaced too (create-first by default).
    let h = harness(TestProvider::new().replace_on(&["size"]));
    let program = |size: i64| {
        move |ctx: &Stack| {
            let opts = ResourceOptions::builder().delete_before_replace(true).build();
            let a: Thing = ctx.resource_with("a", ThingArgs { value: "root".into(), size }, opts).unwrap();
            thing(ctx, "b", a.id.map(|id| format!("after {id}")), size);
        }
    };
    up(&h, 4, program(1)).await;
    h.provider.calls.lock().unwrap().clear();
    let steps = up(&h, 4, program(2)).await;
    assert!(steps.iter().all(|(_, op, st)| *op == Op::Replace && *st == Status::Succeeded), "{steps:?}");
    let calls = h.provider.calls();
    let pos = |c: &str| calls.iter().position(|x| x == c).unwrap_or_else(|| panic!("{c} in {calls:?}"));
    assert!(
        pos("delete b") < pos("delete a") && pos("delete a") < pos("create a") && pos("create a") < pos("create b"),
        "{calls:?}"
    );
    assert_eq!(recorded(&h).await, ["a", "b"]);
}
