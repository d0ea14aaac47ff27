//! The resource options teams expect, each against the emulator:
//! `ignore_changes`, `replace_on_changes`, `delete_before_replace`,
//! `retain_on_delete`, `aliases` (a rename and a move into a component,
//! neither replacing anything) and `custom_timeouts`.

use std::time::Duration;

use cairn_aws::s3::BucketArgs;
use cairn_aws::sqs::QueueArgs;
use cairn_core::{CustomTimeouts, ResourceOptions, Stack};
use cairn_engine::Op;
use cairn_tests::inprocess::{InProcess, op};
use cairn_tests::unique;

async fn sqs() -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::new(&cairn_tests::sdk_config().await)
}

async fn queue_exists(name: &str) -> bool {
    sqs().await.get_queue_url().queue_name(name).send().await.is_ok()
}

async fn visibility(url: &str) -> String {
    let attrs = sqs()
        .await
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout)
        .send()
        .await
        .unwrap();
    attrs.attributes().unwrap()[&aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout].clone()
}

fn queue(ctx: &Stack, name: &str, visibility: i32, team: &str, opts: ResourceOptions) {
    let args = QueueArgs::builder().name(name.to_owned()).visibility_timeout_seconds(visibility).tags([("team", team)]);
    ctx.resource_with("jobs", args.build(), opts).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn ignore_changes_keeps_the_recorded_value_and_replace_on_changes_replaces() {
    let h = InProcess::new().await;
    let name = unique("opt-q");
    let plain = |v: i32, team: &'static str| {
        let name = name.clone();
        move |ctx: &Stack| queue(ctx, &name, v, team, ResourceOptions::default())
    };
    h.up(plain(30, "ml")).await;
    let url = h.id("jobs").await;

    // A visibility timeout someone else manages: the program's new value is ignored.
    let ignoring = |v: i32| {
        let name = name.clone();
        move |ctx: &Stack| {
            let opts = ResourceOptions::builder().ignore_changes(["visibility_timeout_seconds"]).build();
            queue(ctx, &name, v, "ml", opts)
        }
    };
    assert_eq!(op(&h.up(ignoring(90)).await, "jobs"), Op::Same);
    assert_eq!(visibility(&url).await, "30", "the recorded value stays");
    // Without the option the change is made in place.
    assert_eq!(op(&h.up(plain(90, "ml")).await, "jobs"), Op::Update);
    assert_eq!(visibility(&url).await, "90");

    // A tag change, normally in place, replaces the queue when the tags are listed.
    let replacing = |team: &'static str, delete_first: bool| {
        let name = name.clone();
        move |ctx: &Stack| {
            let opts =
                ResourceOptions::builder().replace_on_changes(["tags"]).delete_before_replace(delete_first).build();
            queue(ctx, &name, 90, team, opts)
        }
    };
    // The name is fixed, so the old queue must go first: delete-before-replace.
    let declared = h.preview_plan(replacing("ops", true)).await;
    let step = declared.steps.iter().find(|s| s.urn.name() == "jobs").unwrap();
    assert!(step.op() == Op::Replace && step.delete_before_replace(), "{:?}", step.op());
    assert_eq!(step.replaces.iter().map(ToString::to_string).collect::<Vec<_>>(), ["tags.team"]);
    assert_eq!(op(&h.up(replacing("ops", true)).await, "jobs"), Op::Replace);
    assert!(queue_exists(&name).await, "the replacement exists under the same name");
    let tags = sqs().await.list_queue_tags().queue_url(h.id("jobs").await).send().await.unwrap();
    assert_eq!(tags.tags().unwrap()["team"], "ops");
    h.destroy().await;
    assert!(!queue_exists(&name).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn retain_on_delete_leaves_the_resource_in_the_cloud() {
    let h = InProcess::new().await;
    let name = unique("opt-keep");
    let n = name.clone();
    h.up(move |ctx: &Stack| queue(ctx, &n, 30, "ml", ResourceOptions::builder().retain_on_delete(true).build())).await;
    let url = h.id("jobs").await;
    let ops = h.up(|_: &Stack| {}).await;
    assert_eq!(op(&ops, "jobs"), Op::Delete);
    assert!(h.state().await.resources.is_empty(), "the record is gone");
    assert!(queue_exists(&name).await, "the queue is left in the cloud");
    sqs().await.delete_queue().queue_url(url).send().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_alias_renames_or_moves_a_resource_without_replacing_it() {
    let h = InProcess::new().await;
    let bucket = |ctx: &Stack, name: &str, opts: ResourceOptions| {
        ctx.resource_with(name, BucketArgs::builder().tags([("team", "ml")]).build(), opts).unwrap();
    };
    h.up(|ctx: &Stack| bucket(ctx, "models", ResourceOptions::default())).await;
    let id = h.id("models").await;
    let old_urn = h.state().await.resources[0].urn.clone();

    // Renamed: the record is taken over, nothing is created or deleted.
    let renamed = |ctx: &Stack| bucket(ctx, "model-store", ResourceOptions::builder().aliases(["models"]).build());
    let ops = h.up(renamed).await;
    assert_eq!(ops.len(), 1, "no delete of the old name: {ops:?}");
    assert_eq!(op(&ops, "model-store"), Op::Same);
    assert_eq!(h.id("model-store").await, id, "the same bucket");

    // Moved into a component: the old URN says where it was.
    let moved = |ctx: &Stack| {
        let group = ctx.component_scope("acme:storage:Models", "storage", ResourceOptions::default()).unwrap();
        let opts = ResourceOptions::builder().aliases([old_urn.as_str().replace("::models", "::model-store")]).build();
        bucket(&group, "model-store", opts);
    };
    let ops = h.up(moved).await;
    assert_eq!(op(&ops, "storage"), Op::Create, "the component is new");
    assert_eq!(op(&ops, "model-store"), Op::Same, "the bucket is not replaced: {ops:?}");
    assert_eq!(h.id("model-store").await, id);
    let state = h.state().await;
    let rec = state.resources.iter().find(|r| r.urn.name() == "model-store").unwrap();
    assert!(rec.urn.type_chain().starts_with("acme:storage:Models$"), "{}", rec.urn);
    assert_eq!(rec.parent.as_ref().map(|p| p.name()), Some("storage"));
    // Once moved, the alias changes nothing more.
    assert!(h.preview_ops(moved).await.iter().all(|(_, o)| *o == Op::Same));
    h.destroy().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_create_past_its_timeout_fails_and_the_next_run_settles_it_once() {
    let h = InProcess::new().await;
    let name = unique("opt-slow");
    let program = |limit: Option<Duration>| {
        let name = name.clone();
        move |ctx: &Stack| {
            let timeouts = CustomTimeouts { create: limit, ..CustomTimeouts::default() };
            queue(ctx, &name, 30, "ml", ResourceOptions::builder().custom_timeouts(timeouts).build())
        }
    };
    let run = h.try_up(program(Some(Duration::from_micros(1)))).await;
    let outcome = &run.apply_report().unwrap().outcomes[0];
    let error = outcome.error.as_deref().unwrap_or_default();
    assert!(error.contains("did not finish within") && error.contains("custom_timeouts.create"), "{error}");
    // No limit now: the interrupted create is settled (adopted or found absent), never made twice.
    h.up(program(None)).await;
    assert!(queue_exists(&name).await);
    let urls = sqs().await.list_queues().queue_name_prefix(&name).send().await.unwrap();
    assert_eq!(urls.queue_urls().len(), 1, "exactly one queue: {:?}", urls.queue_urls());
    h.destroy().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_named_provider_instance_puts_a_resource_in_another_region() {
    use cairn_core::{Provider, Value};
    let west = std::sync::Arc::new(cairn_provider_aws::AwsProvider::new());
    let config = serde_json::json!({"region": "us-west-2", "endpoint": cairn_tests::aws_endpoint()});
    west.configure(Value::from_json(&config)).await.unwrap();
    let h = InProcess::new().await.with_instance("aws-west", west);
    let bucket = |instance: Option<&'static str>| {
        move |ctx: &Stack| {
            let opts = ResourceOptions { provider: instance.map(str::to_owned), ..Default::default() };
            ctx.resource_with("replicas", BucketArgs::builder().tags([("team", "ml")]).build(), opts).unwrap();
        }
    };
    h.up(bucket(Some("aws-west"))).await;
    let name = h.id("replicas").await;
    let s3 = cairn_tests::s3().await;
    let location = s3.get_bucket_location().bucket(&name).send().await.unwrap();
    assert_eq!(location.location_constraint().map(|c| c.as_str()), Some("us-west-2"));
    assert_eq!(h.state().await.resources[0].provider.as_deref(), Some("aws-west"), "recorded with its instance");
    // Moved back to the default instance: another region is another bucket.
    let ops = h.up(bucket(None)).await;
    assert_eq!(op(&ops, "replicas"), Op::Replace);
    let moved = h.id("replicas").await;
    let location = s3.get_bucket_location().bucket(&moved).send().await.unwrap();
    assert!(location.location_constraint().is_none_or(|c| c.as_str().is_empty() || c.as_str() == "us-east-1"));
    cairn_tests::assert_gone(s3.get_bucket_versioning().bucket(&name).send().await, "the us-west-2 copy");
    h.destroy().await;
}
