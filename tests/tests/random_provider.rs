//! The second provider, `random`, as a plugin process: Check and Diff come
//! from the provider SDK; create, no-op, replace on a `keepers` change,
//! import, refusal by property, and delete, through the automation API.

use std::sync::Arc;
use std::time::Duration;

use cairn_core::{Config, ProjectName, Provider, ResourceOptions, Stack, StackName, Value};
use cairn_engine::{AutoApprove, Op, RunOptions, StackRunner, StaticProviders};
use cairn_random::{IdArgs, PasswordArgs};
use cairn_state::journal_tap::JournalTap;
use cairn_state::{FileStore, LockOptions, StateStore};
use cairn_tests::bin;

fn names() -> (ProjectName, StackName) {
    (ProjectName::new("random-test").unwrap(), StackName::new("dev").unwrap())
}

fn program(rotation: &'static str, import: Option<String>) -> impl Fn(&Stack) {
    move |ctx: &Stack| {
        let pw = PasswordArgs::builder().length(24).min_special(2).keepers([("rotated", rotation)]).build();
        ctx.resource("db", pw).unwrap();
        let id = IdArgs::builder().byte_length(6).prefix("ml-").build();
        let opts = match &import {
            Some(b64) => ResourceOptions::builder().import(b64.clone()).build(),
            None => ResourceOptions::default(),
        };
        ctx.resource_with("suffix", id, opts).unwrap();
    }
}

fn declare(program: impl Fn(&Stack)) -> cairn_core::DeclaredStack {
    let (p, s) = names();
    let ctx = Stack::new(s, p, Config::default());
    program(&ctx);
    ctx.finish()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_random_provider_runs_as_a_plugin_on_the_provider_sdk() {
    let plugin = cairn_plugin::launch(&bin("cairn-provider-random")).await.expect("the plugin starts");
    plugin.configure(Value::map()).await.unwrap();
    let providers = StaticProviders::default().with("random", Arc::new(plugin));
    let dir = tempfile::tempdir().unwrap();
    let store = JournalTap::new(FileStore::new(dir.path()));
    let (p, s) = names();
    let lock = LockOptions { wait: Duration::from_secs(30), ..LockOptions::default() };
    let runner = StackRunner::new(p.clone(), s.clone(), &store, &providers).lock_options(lock);
    let up = |program| async {
        let run = runner.up(&declare(program), &RunOptions::default(), &AutoApprove).await.unwrap();
        assert!(!run.failed(), "{:?}", run.apply_report());
        store.check_every_prefix().unwrap();
        let ops: Vec<(String, Op)> = run.plan.steps.iter().map(|s| (s.urn.name().to_owned(), s.op())).collect();
        (ops, run.state().unwrap().clone())
    };
    let password = |state: &cairn_state::StackState| {
        let r = state.resources.iter().find(|r| r.urn.name() == "db").unwrap();
        match r.outputs.get("result") {
            Some(Value::Secret(v)) => v.as_str().unwrap().to_owned(),
            other => panic!("the password is a secret output: {other:?}"),
        }
    };

    // Create: the values follow the arguments; the password is a secret.
    let (ops, state) = up(program("2026-12", None)).await;
    assert_eq!(ops, [("db".into(), Op::Create), ("suffix".into(), Op::Create)]);
    let first = password(&state);
    assert_eq!(first.chars().count(), 24);
    assert!(first.chars().filter(|c| cairn_random::DEFAULT_SPECIAL.contains(*c)).count() >= 2, "{first}");
    let suffix = state.resources.iter().find(|r| r.urn.name() == "suffix").unwrap();
    let hex = suffix.outputs.get("hex").and_then(Value::as_str).unwrap();
    assert!(hex.starts_with("ml-") && hex.len() == "ml-".len() + 12, "{hex}");
    let suffix_id = suffix.id.clone().unwrap();

    // Nothing changed: nothing happens, the values stay.
    let (ops, state) = up(program("2026-12", None)).await;
    assert!(ops.iter().all(|(_, op)| *op == Op::Same), "{ops:?}");
    assert_eq!(password(&state), first);

    // A keepers change: the SDK's Diff says replace, and the value is new.
    let plan = runner.preview(&declare(program("2027-01", None))).await.unwrap();
    let db = plan.steps.iter().find(|s| s.urn.name() == "db").unwrap();
    assert_eq!(db.op(), Op::Replace);
    assert_eq!(db.replaces.iter().map(ToString::to_string).collect::<Vec<_>>(), ["keepers.rotated"]);
    let (ops, state) = up(program("2027-01", None)).await;
    assert_eq!(ops[0], ("db".into(), Op::Replace));
    assert_ne!(password(&state), first, "a replacement is a new password");
    assert_eq!(state.resources.iter().filter(|r| r.urn.name() == "db").count(), 1, "the old one is gone");

    // The SDK's Check refuses by property, through the plugin.
    let bad = |ctx: &Stack| {
        ctx.resource("db", PasswordArgs::builder().length(3).min_numeric(2).min_upper(2).build()).unwrap();
    };
    let err = runner.preview(&declare(bad)).await.unwrap_err().to_string();
    assert!(err.contains("::db property `length`: the minimums add up to 4, more than length (3)"), "{err}");

    // Destroy, then adopt the old ID again: an import rebuilds its outputs.
    let run = runner.destroy(&RunOptions::default(), &AutoApprove).await.unwrap();
    assert!(!run.failed() && run.state().unwrap().resources.is_empty());
    store.check_every_prefix().unwrap();
    let (ops, state) = up(program("2027-01", Some(suffix_id.clone()))).await;
    assert_eq!(ops[1], ("suffix".into(), Op::Import));
    let imported = state.resources.iter().find(|r| r.urn.name() == "suffix").unwrap();
    assert_eq!(imported.outputs.get("hex").and_then(Value::as_str), Some(hex));
    assert!(store.read(&p, &s).await.unwrap().pending.is_empty());
}
