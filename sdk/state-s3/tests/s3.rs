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
    let config = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "cairn-tests"))
        .load()
        .await;
    aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&config).force_path_style(true).build())
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
