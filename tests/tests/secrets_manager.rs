//! `aws:secretsmanager:Secret` against the emulator, in process: create and
//! read back through the SDK (the value too), the value, description and
//! tags changed in place, a new name replaces it, import by ARN into a fresh
//! state (then nothing to do), destroy (gone). A plain value is refused at
//! Check, and the value never reaches the recorded state unmarked.

use std::collections::BTreeMap;

use cairn_aws::secretsmanager::SecretArgs;
use cairn_core::{Output, Stack, Value};
use cairn_engine::Op;
use cairn_tests::inprocess::{InProcess, assert_all, import_opts, op};
use cairn_tests::{assert_gone, tags, unique};

fn program(ctx: &Stack, v: u32, name: &str, ids: Option<&BTreeMap<&str, String>>) {
    let value = if v >= 2 { "s3cr3t-two" } else { "s3cr3t-one" };
    let mut args = SecretArgs::builder()
        .name(if v >= 3 { format!("{name}-renamed") } else { name.to_owned() })
        .description(if v >= 2 { "the webhook, rotated" } else { "the webhook" })
        .secret_string(Output::secret(value.to_owned()))
        .recovery_window_days(0)
        .build();
    args.tags = if v >= 2 { tags(&[("team", "infra"), ("tier", "gold")]) } else { tags(&[("team", "ml")]) };
    ctx.resource_with("webhook", args, import_opts(ids, "webhook")).expect("declare the secret");
}

#[tokio::test(flavor = "multi_thread")]
async fn secret_round_trip() {
    let sm = aws_sdk_secretsmanager::Client::new(&cairn_tests::sdk_config().await);
    let describe = |id: String| {
        let sm = sm.clone();
        async move { sm.describe_secret().secret_id(id).send().await }
    };
    let value_of = |id: String| {
        let sm = sm.clone();
        async move { sm.get_secret_value().secret_id(id).send().await.unwrap().secret_string().unwrap().to_owned() }
    };
    let tags_of = |d: &aws_sdk_secretsmanager::operation::describe_secret::DescribeSecretOutput| {
        d.tags()
            .iter()
            .map(|t| (t.key().unwrap().to_owned(), t.value().unwrap().to_owned()))
            .collect::<BTreeMap<_, _>>()
    };
    let name = unique("cairn-webhook");
    let h = InProcess::new().await;
    let ops = h.up(|ctx: &Stack| program(ctx, 1, &name, None)).await;
    assert_eq!(ops, [("webhook".to_owned(), Op::Create)]);

    // Create: every declared property, read back; the state holds the value marked secret.
    let arn = h.id("webhook").await;
    assert_eq!(h.output("webhook", "arn").await, arn);
    let d = describe(arn.clone()).await.unwrap();
    assert_eq!((d.name(), d.description()), (Some(name.as_str()), Some("the webhook")));
    assert_eq!(tags_of(&d), tags(&[("team", "ml")]));
    assert_eq!(value_of(arn.clone()).await, "s3cr3t-one");
    let state = h.state().await;
    let recorded = &state.resources.iter().find(|r| r.urn.name() == "webhook").unwrap().inputs;
    assert_eq!(recorded.get("secret_string"), Some(&Value::Secret(Box::new("s3cr3t-one".into()))));
    assert_all(&h.preview_ops(|ctx: &Stack| program(ctx, 1, &name, None)).await, Op::Same);

    // In place: a new value (a new version), description and tags.
    let ops = h.up(|ctx: &Stack| program(ctx, 2, &name, None)).await;
    assert_eq!(op(&ops, "webhook"), Op::Update);
    assert_eq!(h.id("webhook").await, arn, "same secret");
    let d = describe(arn.clone()).await.unwrap();
    assert_eq!(d.description(), Some("the webhook, rotated"));
    assert_eq!(tags_of(&d), tags(&[("team", "infra"), ("tier", "gold")]));
    assert_eq!(value_of(arn.clone()).await, "s3cr3t-two");
    assert_all(&h.preview_ops(|ctx: &Stack| program(ctx, 2, &name, None)).await, Op::Same);

    // Import by ARN into a fresh state, then nothing to do.
    let ids: BTreeMap<&str, String> = [("webhook", arn.clone())].into_iter().collect();
    let fresh = h.fresh();
    let ops = fresh.up(|ctx: &Stack| program(ctx, 2, &name, Some(&ids))).await;
    assert_eq!(ops, [("webhook".to_owned(), Op::Import)]);
    assert_all(&fresh.preview_ops(|ctx: &Stack| program(ctx, 2, &name, Some(&ids))).await, Op::Same);

    // A new name replaces it: the old secret is gone.
    let ops = h.up(|ctx: &Stack| program(ctx, 3, &name, None)).await;
    assert_eq!(op(&ops, "webhook"), Op::Replace);
    let renamed = h.id("webhook").await;
    assert_ne!(renamed, arn);
    assert_gone(describe(arn).await, "the replaced secret");
    assert_eq!(value_of(renamed.clone()).await, "s3cr3t-two");

    h.destroy().await;
    assert_gone(describe(renamed).await, "the destroyed secret");
    fresh.destroy().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plain_value_is_refused_at_check() {
    let h = InProcess::new().await;
    let plain = |ctx: &Stack| {
        ctx.resource("leaky", SecretArgs::builder().secret_string("hunter2").build()).expect("declare");
    };
    let err = h.try_preview(plain).await.expect_err("refused");
    assert!(err.contains("secret_string") && err.contains("not marked secret"), "{err}");
}
