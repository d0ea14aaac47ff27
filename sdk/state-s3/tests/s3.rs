//! The S3 backend against the AWS emulator (`cargo xtask test` starts moto
//! and sets `CAIRN_TEST_AWS_ENDPOINT`). Each test uses its own bucket.

use aws_config::{BehaviorVersion, Region};
use aws_sdk_s3::config::Credentials;
use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};
use cairn_state::conformance::{self, TTL, names, put};
use cairn_state::{ChangeSummary, StateError, StateStore};
use cairn_state_s3::S3Store;

fn endpoint() -> String {
    std::env::var("CAIRN_TEST_AWS_ENDPOINT").unwrap_or_else(|_| {
        panic!(
            "CAIRN_TEST_AWS_ENDPOINT is not set: this test needs the AWS emulator (moto). \
             Run the suite with `cargo xtask test`, which installs and starts it."
        )
    })
}

/// A client for the emulator: dummy credentials, path-style URLs.
async fn client() -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&emulator().await).force_path_style(true).build())
}

/// The SDK configuration of the emulator, with its dummy credentials.
async fn emulator() -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "cairn-tests"))
        .load()
        .await
}

/// A new bucket of this test's own, versioned if asked.
async fn bucket(versioned: bool) -> (aws_sdk_s3::Client, String) {
    let client = client().await;
    let name = format!("cairn-state-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    client.create_bucket().bucket(&name).send().await.expect("create the test bucket");
    if versioned {
        client
            .put_bucket_versioning()
            .bucket(&name)
            .versioning_configuration(
                VersioningConfiguration::builder().status(BucketVersioningStatus::Enabled).build(),
            )
            .send()
            .await
            .expect("enable versioning on the test bucket");
    }
    (client, name)
}

async fn store() -> S3Store {
    let (client, name) = bucket(true).await;
    S3Store::new(client, name, "states")
}

async fn dynamodb() -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(&emulator().await)
}

/// A new lock table, made as the docs tell users to make it.
async fn lock_table() -> (aws_sdk_dynamodb::Client, String) {
    let client = dynamodb().await;
    let name = format!("cairn-locks-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    cairn_state_s3::create_lock_table(&client, &name).await.expect("create the lock table");
    (client, name)
}

/// A store in a new versioned bucket that also locks in a new DynamoDB table.
async fn store_with_table() -> (S3Store, aws_sdk_s3::Client, String) {
    let (client, name) = bucket(true).await;
    let (dynamo, table) = lock_table().await;
    (S3Store::new(client.clone(), name.clone(), "states").with_lock_table(dynamo, table), client, name)
}

#[tokio::test]
async fn history_needs_a_versioned_bucket() {
    let (client, name) = bucket(false).await;
    let store = S3Store::new(client, name.clone(), "");
    let (p, s) = names();
    let err = store.history(&p, &s).await.unwrap_err();
    assert!(matches!(err, StateError::Refused { .. }), "{err}");
    let text = err.to_string();
    assert!(text.contains(&name) && text.contains("put-bucket-versioning"), "{text}");

    // Everything else works without versioning.
    let session = store.try_lock(&p, &s, "up", TTL).await.unwrap();
    let mut state = session.read().await.unwrap().state;
    state.serial = 1;
    session.compact(&state, &ChangeSummary::default()).await.unwrap();
    session.release().await.unwrap();
    assert_eq!(store.read(&p, &s).await.unwrap().state, state);
}

#[tokio::test]
async fn from_url_reaches_the_bucket() {
    let (_, name) = bucket(true).await;
    let store = S3Store::from_url(&format!("s3://{name}/team/cairn/"), Some("us-east-1".into()), Some(endpoint()))
        .await
        .unwrap();
    assert_eq!(store.describe(), format!("s3://{name}/team/cairn"));
    let (p, s) = names();
    let session = store.try_lock(&p, &s, "up", TTL).await.unwrap();
    session.append(&put(&p, "a", 1)).await.unwrap();
    session.release().await.unwrap();
    assert_eq!(store.read(&p, &s).await.unwrap().state.resources.len(), 1);

    let bad = S3Store::from_url("s3:///nobucket", None, None).await.err().expect("refused");
    assert!(matches!(bad, StateError::BadUrl { .. }), "{bad}");
}

// The conformance suite every lease-locking backend passes.

#[tokio::test]
async fn journal_and_snapshot_round_trip() {
    conformance::journal_and_snapshot_round_trip(&store().await).await;
}

#[tokio::test]
async fn a_live_lock_is_refused_naming_its_holder() {
    conformance::a_live_lock_is_refused_naming_its_holder(&store().await).await;
}

#[tokio::test]
async fn an_expired_lock_is_taken_over_and_its_old_holder_can_write_nothing() {
    conformance::an_expired_lock_is_taken_over_and_its_old_holder_can_write_nothing(&store().await).await;
}

#[tokio::test]
async fn compaction_is_compare_and_swap_on_the_serial_read() {
    conformance::compaction_is_compare_and_swap_on_the_serial_read(&store().await).await;
}

#[tokio::test]
async fn unlock_removes_only_the_named_lock() {
    conformance::unlock_removes_only_the_named_lock(&store().await).await;
}

#[tokio::test]
async fn history_lists_each_compaction_with_its_changes() {
    conformance::history_lists_each_compaction_with_its_changes(&store().await).await;
}

#[tokio::test]
async fn stacks_are_listed_and_removed() {
    conformance::stacks_are_listed_and_removed(&store().await).await;
}

// The same suite with the DynamoDB lock: every guarantee holds with both locks.

#[tokio::test]
async fn with_dynamodb_journal_and_snapshot_round_trip() {
    conformance::journal_and_snapshot_round_trip(&store_with_table().await.0).await;
}

#[tokio::test]
async fn with_dynamodb_a_live_lock_is_refused_naming_its_holder() {
    conformance::a_live_lock_is_refused_naming_its_holder(&store_with_table().await.0).await;
}

#[tokio::test]
async fn with_dynamodb_an_expired_lock_is_taken_over_and_its_old_holder_can_write_nothing() {
    conformance::an_expired_lock_is_taken_over_and_its_old_holder_can_write_nothing(&store_with_table().await.0).await;
}

#[tokio::test]
async fn with_dynamodb_compaction_is_compare_and_swap_on_the_serial_read() {
    conformance::compaction_is_compare_and_swap_on_the_serial_read(&store_with_table().await.0).await;
}

#[tokio::test]
async fn with_dynamodb_unlock_removes_only_the_named_lock() {
    conformance::unlock_removes_only_the_named_lock(&store_with_table().await.0).await;
}

#[tokio::test]
async fn with_dynamodb_both_locks_are_required() {
    let (store, s3, bucket) = store_with_table().await;
    let (p, s) = names();
    let a = store.try_lock(&p, &s, "up", TTL).await.unwrap();
    a.append(&put(&p, "from-a", 1)).await.unwrap();

    // The lock object vanishes (deleted by hand): the DynamoDB item still holds the stack.
    let lock_key = format!("states/{p}/{s}/lock.json");
    s3.delete_object().bucket(&bucket).key(&lock_key).send().await.unwrap();
    let err = store.try_lock(&p, &s, "up", TTL).await.err().expect("the item alone still locks").to_string();
    assert!(err.contains(&a.lock_info().who) && err.contains("DynamoDB table"), "{err}");
    assert!(
        s3.head_object().bucket(&bucket).key(&lock_key).send().await.is_err(),
        "the refused run gave back the lock object it took"
    );
    assert_eq!(store.current_lock(&p, &s).await.unwrap().map(|l| l.id), Some(a.lock_info().id.clone()));

    // The holder lost half its lock: it may write nothing more.
    let lost = a.append(&put(&p, "late", 2)).await.unwrap_err();
    assert!(matches!(lost, StateError::LockLost { .. }), "{lost}");

    // `state unlock` with the item's id frees the stack.
    store.unlock(&p, &s, &a.lock_info().id).await.unwrap();
    assert_eq!(store.current_lock(&p, &s).await.unwrap(), None);
    let b = store.try_lock(&p, &s, "up", TTL).await.expect("free again");
    b.release().await.unwrap();
    a.release().await.unwrap();
}

#[tokio::test]
async fn with_dynamodb_an_abandoned_item_expires_and_its_takeover_is_logged() {
    let (store, s3, bucket) = store_with_table().await;
    let (p, s) = names();
    // A run takes both locks with a 1 s lease, then dies after losing its object.
    let a = store.try_lock(&p, &s, "up", std::time::Duration::from_secs(1)).await.unwrap();
    s3.delete_object().bucket(&bucket).key(format!("states/{p}/{s}/lock.json")).send().await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;

    let b = store.try_lock(&p, &s, "up", TTL).await.expect("the expired item is taken over");
    let logged = s3.list_objects_v2().bucket(&bucket).prefix(format!("states/{p}/{s}/lock-log/")).send().await.unwrap();
    let keys: Vec<&str> = logged.contents().iter().filter_map(|o| o.key()).collect();
    assert!(keys.iter().any(|k| k.ends_with(&format!("-{}.json", b.lock_info().id))), "{keys:?}");
    assert!(matches!(a.heartbeat().await.unwrap_err(), StateError::LockLost { .. }));
    b.release().await.unwrap();
}

#[tokio::test]
async fn a_missing_lock_table_is_named_with_the_fix() {
    let (s3, name) = bucket(true).await;
    let store = S3Store::new(s3.clone(), name.clone(), "").with_lock_table(dynamodb().await, "no-such-table");
    assert_eq!(store.describe(), format!("s3://{name}?lock_table=no-such-table"));
    let (p, s) = names();
    let err = store.try_lock(&p, &s, "up", TTL).await.err().expect("refused").to_string();
    assert!(err.contains("no-such-table") && err.contains("create-table") && err.contains("LockID"), "{err}");
    // Nothing is left locked.
    let plain = S3Store::new(s3, name, "");
    plain.try_lock(&p, &s, "up", TTL).await.expect("the lock object was given back").release().await.unwrap();
}
