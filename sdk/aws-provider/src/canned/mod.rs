//! The error paths the emulator cannot produce, with canned SDK responses
//! ([`rules`]): throttling and 5xx are retried with the provider's
//! retry configuration, errors that cannot succeed fail at once naming the
//! AWS code and the resource, and slow waiters stop at their time limit.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_eks::error::ErrorMetadata;
use aws_sdk_eks::operation::create_cluster::CreateClusterOutput;
use aws_sdk_eks::operation::delete_cluster::DeleteClusterOutput;
use aws_sdk_eks::operation::describe_cluster::{DescribeClusterError, DescribeClusterOutput};
use aws_sdk_eks::types::{Cluster, ClusterStatus};
use aws_smithy_async::rt::sleep::SharedAsyncSleep;
use aws_smithy_async::time::SharedTimeSource;
use cairn_core::{CreateRequest, DeleteRequest, ErrorCode, ReadRequest, Urn, Value};

use self::rules::{Rule, VirtualClock, rule};
use crate::eks::cluster;
use crate::sdk::Waits;
use crate::{Clients, settings};

/// A retry partition no other client shares: the adaptive retry's rate
/// limiter is kept per partition, and one test's throttling must not slow
/// down another's calls.
pub(crate) fn lone_partition() -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    format!("canned-{}", NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
}

/// A `$krate` client answering `$rules` (met in order when `$in_order`),
/// with the provider's retry policy (backoffs of 1 to 20 ms, on real time) in a
/// retry partition of its own.
macro_rules! mocked {
    ($krate:ident, $rules:expr, $in_order:expr) => {{
        let config = $krate::Config::builder()
            .behavior_version($krate::config::BehaviorVersion::latest())
            .region($krate::config::Region::new("us-east-1"))
            .credentials_provider($krate::config::Credentials::new("canned", "canned", None, None, "canned"))
            .http_client($crate::canned::rules::CannedHttp)
            .interceptor($crate::canned::rules::Canned::new($rules, $in_order))
            .retry_config(
                $crate::settings::Retry::default()
                    .config()
                    .with_initial_backoff(std::time::Duration::from_millis(1))
                    .with_max_backoff(std::time::Duration::from_millis(20)),
            )
            .retry_partition($krate::config::retry::RetryPartition::new($crate::canned::lone_partition()));
        $krate::Client::from_conf(config.build())
    }};
}

mod eks;
mod more;
pub(crate) mod rules;

/// Canned rules per service; a service without rules answers nothing (any
/// call to it fails the test). `sequential`: each service's rules must be
/// met in this exact order.
#[derive(Default)]
pub(crate) struct Rules<'a> {
    pub(crate) iam: &'a [&'a Rule],
    pub(crate) logs: &'a [&'a Rule],
    pub(crate) eks: &'a [&'a Rule],
    pub(crate) kms: &'a [&'a Rule],
    pub(crate) sagemaker: &'a [&'a Rule],
    pub(crate) budgets: &'a [&'a Rule],
    pub(crate) dynamodb: &'a [&'a Rule],
    pub(crate) sts: &'a [&'a Rule],
    pub(crate) sequential: bool,
}

/// The one builder of mocked provider clients: every client of the
/// provider answers its service's canned rules, with the provider's retry
/// policy, and waiters capped at a minute of virtual time (no test waits it).
pub(crate) fn clients_with(rules: Rules<'_>) -> Clients {
    let in_order = rules.sequential;
    let none = &[] as &[&Rule];
    let clock = VirtualClock::new();
    Clients {
        iam: mocked!(aws_sdk_iam, rules.iam, in_order),
        s3: mocked!(aws_sdk_s3, none, in_order),
        eks: mocked!(aws_sdk_eks, rules.eks, in_order),
        ec2: mocked!(aws_sdk_ec2, none, in_order),
        kms: mocked!(aws_sdk_kms, rules.kms, in_order),
        sqs: mocked!(aws_sdk_sqs, none, in_order),
        logs: mocked!(aws_sdk_cloudwatchlogs, rules.logs, in_order),
        ecr: mocked!(aws_sdk_ecr, none, in_order),
        sagemaker: mocked!(aws_sdk_sagemaker, rules.sagemaker, in_order),
        dynamodb: mocked!(aws_sdk_dynamodb, rules.dynamodb, in_order),
        cloudwatch: mocked!(aws_sdk_cloudwatch, none, in_order),
        amp: mocked!(aws_sdk_amp, none, in_order),
        budgets: mocked!(aws_sdk_budgets, rules.budgets, in_order),
        secrets: mocked!(aws_sdk_secretsmanager, none, in_order),
        sts: mocked!(aws_sdk_sts, rules.sts, in_order),
        region: "us-east-1".into(),
        default_tags: BTreeMap::new(),
        limits: settings::Limits::new(BTreeMap::new()),
        waits: Waits {
            timeout: Duration::from_secs(60),
            interval: Duration::from_secs(5),
            sleep: SharedAsyncSleep::new(clock.clone()),
            time: SharedTimeSource::new(clock.clone()),
        },
    }
}

fn urn() -> Urn {
    Urn::parse("urn:cairn:dev::ai::aws:eks:Cluster::ai").unwrap()
}

fn read_request() -> ReadRequest {
    ReadRequest { urn: urn(), id: Some("ai-1234567".into()), inputs: Value::map(), outputs: None }
}

fn cluster_in(status: ClusterStatus) -> Cluster {
    Cluster::builder()
        .name("ai-1234567")
        .arn("arn:aws:eks:us-east-1:123456789012:cluster/ai-1234567")
        .status(status)
        .build()
}

/// An EKS error as AWS sends it: a code, a message and the request's ID.
fn aws_error(code: &str) -> DescribeClusterError {
    let meta = ErrorMetadata::builder().code(code).message("canned").custom("aws_request_id", "req-4711").build();
    DescribeClusterError::generic(meta)
}

#[tokio::test]
async fn throttling_and_5xx_are_retried_until_the_call_succeeds() {
    let describe = rule!(aws_sdk_eks::Client::describe_cluster)
        .error(|| aws_error("ThrottlingException"))
        .status(500)
        .status(503)
        .output(|| DescribeClusterOutput::builder().cluster(cluster_in(ClusterStatus::Active)).build())
        .build();
    let c = clients_with(Rules { eks: &[&describe], ..Rules::default() });
    let read = cluster::read(&c, read_request()).await.expect("the fourth attempt succeeds");
    assert!(read.is_some());
    assert_eq!(describe.num_calls(), 4, "one call and three retries");
}

#[tokio::test]
async fn throttling_that_does_not_stop_fails_after_the_last_attempt() {
    let describe = rule!(aws_sdk_eks::Client::describe_cluster).then_error(|| aws_error("ThrottlingException"));
    let c = clients_with(Rules { eks: &[&describe], ..Rules::default() });
    let err = cluster::read(&c, read_request()).await.unwrap_err();
    assert_eq!(describe.num_calls(), settings::DEFAULT_MAX_ATTEMPTS as usize);
    assert_eq!(err.code, ErrorCode::Unavailable, "{err}");
    assert!(
        err.message.contains("DescribeCluster `ai-1234567`") && err.message.contains("ThrottlingException"),
        "{err}"
    );
}

#[tokio::test]
async fn access_denied_fails_at_once_naming_the_code_and_the_resource() {
    let describe = rule!(aws_sdk_eks::Client::describe_cluster).then_error(|| aws_error("AccessDeniedException"));
    let c = clients_with(Rules { eks: &[&describe], ..Rules::default() });
    let err = cluster::read(&c, read_request()).await.unwrap_err();
    assert_eq!(describe.num_calls(), 1, "no retry for an error that cannot succeed");
    assert_eq!(err.code, ErrorCode::PermissionDenied);
    assert!(err.message.contains("ai-1234567") && err.message.contains("AccessDeniedException"), "{err}");
    assert!(err.message.ends_with("(AWS request ID req-4711)"), "the request ID, for AWS support: {err}");
}

#[tokio::test]
async fn a_cluster_that_never_becomes_active_stops_the_wait_at_its_limit() {
    let create = rule!(aws_sdk_eks::Client::create_cluster)
        .then_output(|| CreateClusterOutput::builder().cluster(cluster_in(ClusterStatus::Creating)).build());
    let describe = rule!(aws_sdk_eks::Client::describe_cluster)
        .then_output(|| DescribeClusterOutput::builder().cluster(cluster_in(ClusterStatus::Creating)).build());
    let c = clients_with(Rules { eks: &[&create, &describe], ..Rules::default() });
    let inputs = Value::from_json(&serde_json::json!({
        "name": "ai-1234567", "role_arn": "arn:aws:iam::123456789012:role/eks", "subnet_ids": ["subnet-1", "subnet-2"]
    }));
    let started = c.waits.time.now();
    let err = cluster::create(&c, CreateRequest { urn: urn(), inputs }).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::DeadlineExceeded, "{err}");
    assert!(err.message.contains("timed out after 60 s") && err.message.contains("last status: CREATING"), "{err}");
    assert!(
        c.waits.time.now().duration_since(started).unwrap() <= Duration::from_secs(60),
        "the wait stops at its limit"
    );
    assert_eq!(describe.num_calls(), 13, "polled at 0, 5, …, 60 s");
}

#[tokio::test]
async fn a_delete_that_never_finishes_stops_the_wait_at_its_limit() {
    let delete = rule!(aws_sdk_eks::Client::delete_cluster)
        .then_output(|| DeleteClusterOutput::builder().cluster(cluster_in(ClusterStatus::Deleting)).build());
    let describe = rule!(aws_sdk_eks::Client::describe_cluster)
        .then_output(|| DescribeClusterOutput::builder().cluster(cluster_in(ClusterStatus::Deleting)).build());
    let c = clients_with(Rules { eks: &[&delete, &describe], ..Rules::default() });
    let req = DeleteRequest { urn: urn(), id: "ai-1234567".into(), inputs: Value::map(), outputs: Value::map() };
    let err = cluster::delete(&c, req).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::DeadlineExceeded, "{err}");
    assert!(err.message.contains("to be deleted") && err.message.contains("last status: DELETING"), "{err}");
}

/// The emulator answers `UpdateAlias` with a 500 (moto 5.1.22), so moving an
/// alias to another key in place is shown here.
#[tokio::test]
async fn an_alias_moves_to_another_key_in_place() {
    use aws_sdk_kms::operation::list_aliases::ListAliasesOutput;
    use aws_sdk_kms::operation::update_alias::UpdateAliasOutput;
    use aws_sdk_kms::types::AliasListEntry;
    let update = rule!(aws_sdk_kms::Client::update_alias)
        .match_requests(|r| r.alias_name() == Some("alias/models") && r.target_key_id() == Some("key-b"))
        .then_output(|| UpdateAliasOutput::builder().build());
    let list = rule!(aws_sdk_kms::Client::list_aliases).then_output(|| {
        ListAliasesOutput::builder()
            .aliases(
                AliasListEntry::builder()
                    .alias_name("alias/models")
                    .alias_arn("arn:aws:kms:us-east-1:123456789012:alias/models")
                    .target_key_id("key-b")
                    .build(),
            )
            .build()
    });
    let c = clients_with(Rules { kms: &[&update, &list], ..Rules::default() });
    let urn = Urn::parse("urn:cairn:dev::ai::aws:kms:Alias::models").unwrap();
    let olds = Value::from_json(&serde_json::json!({"name": "alias/models", "target_key_id": "key-a"}));
    let news = Value::from_json(&serde_json::json!({"name": "alias/models", "target_key_id": "key-b"}));
    let req = cairn_core::UpdateRequest { urn, id: "alias/models".into(), olds, old_outputs: Value::map(), news };
    let out = crate::kms::alias::update(&c, req).await.expect("UpdateAlias with the new target");
    assert_eq!(update.num_calls(), 1, "one UpdateAlias naming the new key");
    assert_eq!(out.outputs.get("target_key_id").and_then(Value::as_str), Some("key-b"), "{:?}", out.outputs);
}

/// The emulator lacks `AddClientIDToOpenIDConnectProvider` and its remove
/// twin: an OIDC provider's audiences change in place through them, one call per client ID.
#[tokio::test]
async fn an_oidc_provider_gains_and_loses_client_ids_in_place() {
    use aws_sdk_iam::operation::add_client_id_to_open_id_connect_provider::AddClientIdToOpenIdConnectProviderOutput;
    use aws_sdk_iam::operation::remove_client_id_from_open_id_connect_provider::RemoveClientIdFromOpenIdConnectProviderOutput;
    let arn = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC";
    let add = rule!(aws_sdk_iam::Client::add_client_id_to_open_id_connect_provider)
        .match_requests(move |r| {
            r.open_id_connect_provider_arn() == Some(arn) && r.client_id() == Some("sts.amazonaws.com")
        })
        .then_output(|| AddClientIdToOpenIdConnectProviderOutput::builder().build());
    let remove = rule!(aws_sdk_iam::Client::remove_client_id_from_open_id_connect_provider)
        .match_requests(move |r| r.open_id_connect_provider_arn() == Some(arn) && r.client_id() == Some("old-audience"))
        .then_output(|| RemoveClientIdFromOpenIdConnectProviderOutput::builder().build());
    let c = clients_with(Rules { iam: &[&add, &remove], ..Rules::default() });
    let inputs = |ids: &[&str]| {
        Value::from_json(&serde_json::json!({
            "url": "https://oidc.eks.us-east-1.amazonaws.com/id/ABC",
            "client_ids": ids,
            "thumbprints": ["9e99a48a9960b14926bb7f3b02e22da2b0ab7280"],
            "tags": {}
        }))
    };
    let req = cairn_core::UpdateRequest {
        urn: Urn::parse("urn:cairn:dev::ai::aws:iam:OpenIdConnectProvider::irsa").unwrap(),
        id: arn.into(),
        olds: inputs(&["old-audience", "kept"]),
        old_outputs: Value::map(),
        news: inputs(&["kept", "sts.amazonaws.com"]),
    };
    crate::iam::oidc::update(&c, req).await.expect("one add and one remove");
    assert_eq!((add.num_calls(), remove.num_calls()), (1, 1), "only the changed client IDs");
}

/// The emulator lacks `AssociateKmsKey` and `DisassociateKmsKey`: a log
/// group's key changes in place through them.
#[tokio::test]
async fn a_log_group_key_is_associated_and_disassociated_in_place() {
    use aws_sdk_cloudwatchlogs::operation::associate_kms_key::AssociateKmsKeyOutput;
    use aws_sdk_cloudwatchlogs::operation::describe_log_groups::DescribeLogGroupsOutput;
    use aws_sdk_cloudwatchlogs::operation::disassociate_kms_key::DisassociateKmsKeyOutput;
    use aws_sdk_cloudwatchlogs::types::LogGroup;
    const KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/11111111-1111-1111-1111-111111111111";
    let associate = rule!(aws_sdk_cloudwatchlogs::Client::associate_kms_key)
        .match_requests(|r| r.log_group_name() == Some("/ml/training") && r.kms_key_id() == Some(KEY))
        .then_output(|| AssociateKmsKeyOutput::builder().build());
    let disassociate = rule!(aws_sdk_cloudwatchlogs::Client::disassociate_kms_key)
        .match_requests(|r| r.log_group_name() == Some("/ml/training"))
        .then_output(|| DisassociateKmsKeyOutput::builder().build());
    let describe = rule!(aws_sdk_cloudwatchlogs::Client::describe_log_groups).then_output(|| {
        DescribeLogGroupsOutput::builder()
            .log_groups(
                LogGroup::builder()
                    .log_group_name("/ml/training")
                    .arn("arn:aws:logs:us-east-1:123456789012:log-group:/ml/training:*")
                    .build(),
            )
            .build()
    });
    let c = clients_with(Rules { logs: &[&associate, &disassociate, &describe], ..Rules::default() });
    let inputs = |key: Option<&str>| {
        Value::from_json(
            &serde_json::json!({"name": "/ml/training", "retention_in_days": 30, "kms_key_id": key, "tags": {}}),
        )
    };
    let urn = Urn::parse("urn:cairn:dev::ai::aws:cloudwatch:LogGroup::training").unwrap();
    let update = |olds, news| cairn_core::UpdateRequest {
        urn: urn.clone(),
        id: "/ml/training".into(),
        olds,
        old_outputs: Value::map(),
        news,
    };
    crate::logs::update(&c, update(inputs(None), inputs(Some(KEY)))).await.expect("associate the key");
    assert_eq!((associate.num_calls(), disassociate.num_calls()), (1, 0));
    let out = crate::logs::update(&c, update(inputs(Some(KEY)), inputs(None))).await.expect("disassociate it");
    assert_eq!((associate.num_calls(), disassociate.num_calls()), (1, 1));
    assert_eq!(
        out.outputs.get("arn").and_then(Value::as_str),
        Some("arn:aws:logs:us-east-1:123456789012:log-group:/ml/training"),
        "the ARN without the `:*` suffix"
    );
}
