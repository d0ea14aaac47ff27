//! Canned EKS responses for what the emulator cannot show: a node group
//! version upgrade (moto has no `UpdateNodegroupVersion`), updates that take
//! time (moto finishes them at once), the one-kind-per-call rule of
//! `UpdateClusterConfig`, the cluster security group (moto reports none), the
//! update budget at creation (moto drops it) and the defaults real EKS fills
//! in, which Read must not report as drift.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_eks::operation::create_cluster::CreateClusterOutput;
use aws_sdk_eks::operation::create_nodegroup::CreateNodegroupOutput;
use aws_sdk_eks::operation::describe_cluster::DescribeClusterOutput;
use aws_sdk_eks::operation::describe_nodegroup::DescribeNodegroupOutput;
use aws_sdk_eks::operation::describe_update::DescribeUpdateOutput;
use aws_sdk_eks::operation::update_cluster_config::UpdateClusterConfigOutput;
use aws_sdk_eks::operation::update_nodegroup_config::UpdateNodegroupConfigOutput;
use aws_sdk_eks::operation::update_nodegroup_version::UpdateNodegroupVersionOutput;
use aws_sdk_eks::types::{
    AmiTypes, CapacityTypes, Cluster, ClusterStatus, EncryptionConfig, ErrorDetail, Identity, LogSetup, LogType,
    Logging, Nodegroup, NodegroupScalingConfig, NodegroupStatus, NodegroupUpdateConfig, Oidc, Provider as KeyProvider,
    Update, UpdateStatus, VpcConfigResponse,
};

use cairn_aws::{ClusterArgs, NodeGroupArgs};
use cairn_core::{CreateRequest, ErrorCode, ReadRequest, UpdateRequest, Urn, Value};
use serde_json::json;

use crate::canned::rules::rule;
use crate::canned::{Rules, clients_with};
use crate::eks::{cluster, node_group};

const KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const ISSUER: &str = "https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE";

fn update(id: &str, status: UpdateStatus) -> Update {
    Update::builder().id(id).status(status).build()
}

fn cluster_urn() -> Urn {
    Urn::parse("urn:cairn:dev::ai::aws:eks:Cluster::ai").unwrap()
}

fn node_group_urn() -> Urn {
    Urn::parse("urn:cairn:dev::ai::aws:eks:NodeGroup::gpu").unwrap()
}

/// Recorded cluster inputs, as Check leaves them (defaults filled).
fn cluster_inputs(extra: serde_json::Value) -> Value {
    let mut j = json!({
        "name": "ai", "role_arn": "arn:aws:iam::123456789012:role/eks", "subnet_ids": ["subnet-1", "subnet-2"],
        "version": "1.31", "endpoint_public_access": true, "endpoint_private_access": true, "tags": {}
    });
    j.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    canonical::<ClusterArgs>(&j)
}

/// Recorded node group inputs, as Check leaves them (defaults filled).
fn node_group_inputs(extra: serde_json::Value) -> Value {
    let mut j = json!({
        "cluster_name": "ai", "node_group_name": "gpu", "node_role_arn": "arn:aws:iam::123456789012:role/nodes",
        "subnet_ids": ["subnet-1"], "instance_types": ["g5.xlarge"], "ami_type": "AL2_x86_64_GPU",
        "scaling": {"min_size": 0, "max_size": 2, "desired_size": 1}, "version": "1.30"
    });
    j.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    canonical::<NodeGroupArgs>(&j)
}

/// The typed arguments serialized again: the shape Read must report.
fn canonical<A: serde::Serialize + serde::de::DeserializeOwned>(j: &serde_json::Value) -> Value {
    let args: A = Value::from_json(j).deserialize_into().unwrap();
    Value::from_serialize(&args).unwrap()
}

/// A node group as EKS describes it.
fn nodegroup(version: &str, budget: NodegroupUpdateConfig, disk: i32) -> Nodegroup {
    Nodegroup::builder()
        .cluster_name("ai")
        .nodegroup_name("gpu")
        .nodegroup_arn("arn:aws:eks:us-east-1:123456789012:nodegroup/ai/gpu/1")
        .status(NodegroupStatus::Active)
        .capacity_type(CapacityTypes::OnDemand)
        .ami_type(AmiTypes::Al2X8664Gpu)
        .node_role("arn:aws:iam::123456789012:role/nodes")
        .subnets("subnet-1")
        .instance_types("g5.xlarge")
        .scaling_config(NodegroupScalingConfig::builder().min_size(0).max_size(2).desired_size(1).build())
        .disk_size(disk)
        .update_config(budget)
        .version(version)
        .build()
}

/// moto has no `UpdateNodegroupVersion` and finishes updates at once: here
/// the budget and scaling go first in one `UpdateNodegroupConfig`, then the
/// version upgrade, which is awaited through `DescribeUpdate`.
#[tokio::test]
async fn a_node_group_version_upgrade_follows_its_config_update_and_is_awaited() {
    let config = rule!(aws_sdk_eks::Client::update_nodegroup_config)
        .match_requests(|r| {
            r.scaling_config().and_then(|s| s.max_size()) == Some(3)
                && r.update_config().and_then(|u| u.max_unavailable_percentage()) == Some(50)
                && r.labels().is_none()
                && r.taints().is_none()
        })
        .then_output(|| {
            UpdateNodegroupConfigOutput::builder().update(update("cfg-1", UpdateStatus::Successful)).build()
        });
    let version = rule!(aws_sdk_eks::Client::update_nodegroup_version)
        .match_requests(|r| {
            r.cluster_name() == Some("ai") && r.nodegroup_name() == Some("gpu") && r.version() == Some("1.31")
        })
        .then_output(|| {
            UpdateNodegroupVersionOutput::builder().update(update("ver-1", UpdateStatus::InProgress)).build()
        });
    let progress = rule!(aws_sdk_eks::Client::describe_update)
        .match_requests(|r| {
            r.name() == Some("ai") && r.nodegroup_name() == Some("gpu") && r.update_id() == Some("ver-1")
        })
        .output(|| DescribeUpdateOutput::builder().update(update("ver-1", UpdateStatus::InProgress)).build())
        .output(|| DescribeUpdateOutput::builder().update(update("ver-1", UpdateStatus::Successful)).build())
        .build();
    let describe = rule!(aws_sdk_eks::Client::describe_nodegroup).then_output(|| {
        let budget = NodegroupUpdateConfig::builder().max_unavailable_percentage(50).build();
        DescribeNodegroupOutput::builder().nodegroup(nodegroup("1.31", budget, 20)).build()
    });
    let c =
        clients_with(Rules { eks: &[&config, &version, &progress, &describe], sequential: true, ..Rules::default() });

    let olds = node_group_inputs(json!({}));
    let news = node_group_inputs(json!({
        "version": "1.31",
        "scaling": {"min_size": 0, "max_size": 3, "desired_size": 1},
        "update_config": {"max_unavailable_percentage": 50}
    }));
    let started = c.waits.time.now();
    let req = UpdateRequest { urn: node_group_urn(), id: "ai:gpu".into(), olds, old_outputs: Value::map(), news };
    let out = node_group::update(&c, req).await.expect("config, then version, then done");
    assert_eq!(
        (config.num_calls(), version.num_calls(), progress.num_calls(), describe.num_calls()),
        (1, 1, 2, 1),
        "one call of each kind, in that order, and the upgrade polled until it succeeded"
    );
    let waited = c.waits.time.now().duration_since(started).unwrap();
    assert!(waited >= Duration::from_secs(5) && waited < Duration::from_secs(10), "one poll interval: {waited:?}");
    assert_eq!(out.outputs.get("status").and_then(Value::as_str), Some("ACTIVE"), "{:?}", out.outputs);
}

/// moto answers EKS `TagResource`/`UntagResource` on a node group ARN with
/// 404 (it tags clusters only): here a tag change is one `TagResource` of
/// the new and changed tags and one `UntagResource` of the dropped keys, on
/// the ARN DescribeNodegroup gives, and nothing else changes.
#[tokio::test]
async fn node_group_tags_change_in_place_on_its_arn() {
    const ARN: &str = "arn:aws:eks:us-east-1:123456789012:nodegroup/ai/gpu/1";
    let describe = rule!(aws_sdk_eks::Client::describe_nodegroup).then_output(|| {
        let budget = NodegroupUpdateConfig::builder().max_unavailable(1).build();
        DescribeNodegroupOutput::builder().nodegroup(nodegroup("1.30", budget, 20)).build()
    });
    let tag = rule!(aws_sdk_eks::Client::tag_resource)
        .match_requests(|r| {
            let set: BTreeMap<_, _> = r.tags().into_iter().flatten().collect();
            r.resource_arn() == Some(ARN)
                && set
                    == BTreeMap::from([
                        (&"team".to_owned(), &"infra".to_owned()),
                        (&"tier".to_owned(), &"gold".to_owned()),
                    ])
        })
        .then_output(|| aws_sdk_eks::operation::tag_resource::TagResourceOutput::builder().build());
    let untag = rule!(aws_sdk_eks::Client::untag_resource)
        .match_requests(|r| r.resource_arn() == Some(ARN) && r.tag_keys() == ["env"])
        .then_output(|| aws_sdk_eks::operation::untag_resource::UntagResourceOutput::builder().build());
    let c = clients_with(Rules { eks: &[&describe, &tag, &untag], sequential: true, ..Rules::default() });

    let olds = node_group_inputs(json!({"tags": {"team": "ml", "env": "dev"}}));
    let news = node_group_inputs(json!({"tags": {"team": "infra", "tier": "gold"}}));
    let req = UpdateRequest { urn: node_group_urn(), id: "ai:gpu".into(), olds, old_outputs: Value::map(), news };
    node_group::update(&c, req).await.expect("tags changed in place");
    assert_eq!((describe.num_calls(), tag.num_calls(), untag.num_calls()), (1, 1, 1));
}

#[tokio::test]
async fn a_failed_version_upgrade_reports_what_eks_said() {
    let version = rule!(aws_sdk_eks::Client::update_nodegroup_version).then_output(|| {
        UpdateNodegroupVersionOutput::builder().update(update("ver-2", UpdateStatus::InProgress)).build()
    });
    let progress = rule!(aws_sdk_eks::Client::describe_update).then_output(|| {
        let failed = Update::builder()
            .id("ver-2")
            .status(UpdateStatus::Failed)
            .errors(ErrorDetail::builder().error_message("Reached max retries while trying to evict pods").build())
            .build();
        DescribeUpdateOutput::builder().update(failed).build()
    });
    let c = clients_with(Rules { eks: &[&version, &progress], sequential: true, ..Rules::default() });
    let req = UpdateRequest {
        urn: node_group_urn(),
        id: "ai:gpu".into(),
        olds: node_group_inputs(json!({})),
        old_outputs: Value::map(),
        news: node_group_inputs(json!({"version": "1.31"})),
    };
    let err = node_group::update(&c, req).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::Internal, "{err}");
    assert!(
        err.message.contains("update ver-2 of `ai:gpu` ended Failed")
            && err.message.contains("Reached max retries while trying to evict pods"),
        "{err}"
    );
}

#[tokio::test]
async fn dropping_the_version_pin_calls_nothing() {
    // Sequential: any call but this DescribeNodegroup would panic.
    let describe = rule!(aws_sdk_eks::Client::describe_nodegroup).then_output(|| {
        DescribeNodegroupOutput::builder()
            .nodegroup(nodegroup("1.30", NodegroupUpdateConfig::builder().max_unavailable(1).build(), 20))
            .build()
    });
    let c = clients_with(Rules { eks: &[&describe], sequential: true, ..Rules::default() });
    let mut news = node_group_inputs(json!({}));
    if let Value::Map(m) = &mut news {
        m.remove("version");
    }
    let req = UpdateRequest {
        urn: node_group_urn(),
        id: "ai:gpu".into(),
        olds: node_group_inputs(json!({})),
        old_outputs: Value::map(),
        news,
    };
    node_group::update(&c, req).await.expect("nothing to do");
    assert_eq!(describe.num_calls(), 1);
}

/// moto drops a node group's `updateConfig` at creation; EKS keeps it. Read
/// reports the budget (and the disk size) only when the program declared
/// them, so EKS's defaults (one node, 20 GiB) are not drift.
#[tokio::test]
async fn the_update_budget_is_sent_at_creation_and_defaults_are_not_drift() {
    let create = rule!(aws_sdk_eks::Client::create_nodegroup)
        .match_requests(|r| {
            r.update_config().and_then(|u| u.max_unavailable_percentage()) == Some(25)
                && r.update_config().and_then(|u| u.max_unavailable()).is_none()
                && r.disk_size() == Some(100)
        })
        .then_output(|| CreateNodegroupOutput::builder().build());
    let describe = rule!(aws_sdk_eks::Client::describe_nodegroup).then_output(|| {
        let budget = NodegroupUpdateConfig::builder().max_unavailable_percentage(25).build();
        DescribeNodegroupOutput::builder().nodegroup(nodegroup("1.30", budget, 100)).build()
    });
    let c = clients_with(Rules { eks: &[&create, &describe], ..Rules::default() });
    let declared = node_group_inputs(json!({"disk_size": 100, "update_config": {"max_unavailable_percentage": 25}}));
    let created =
        node_group::create(&c, CreateRequest { urn: node_group_urn(), inputs: declared.clone() }).await.unwrap();
    assert_eq!(created.id, "ai:gpu");
    assert_eq!(create.num_calls(), 1);
    let read = node_group::read(
        &c,
        ReadRequest { urn: node_group_urn(), id: Some("ai:gpu".into()), inputs: declared.clone(), outputs: None },
    )
    .await
    .unwrap()
    .expect("the group exists");
    assert_eq!(read.inputs, declared, "read back in the declared shape");

    let defaults = rule!(aws_sdk_eks::Client::describe_nodegroup).then_output(|| {
        let budget = NodegroupUpdateConfig::builder().max_unavailable(1).build();
        DescribeNodegroupOutput::builder().nodegroup(nodegroup("1.30", budget, 20)).build()
    });
    let c = clients_with(Rules { eks: &[&defaults], ..Rules::default() });
    let plain = node_group_inputs(json!({}));
    let read = node_group::read(
        &c,
        ReadRequest { urn: node_group_urn(), id: Some("ai:gpu".into()), inputs: plain.clone(), outputs: None },
    )
    .await
    .unwrap()
    .expect("the group exists");
    assert_eq!(read.inputs, plain, "EKS's default budget and disk size are not reported");
}

/// A cluster as real EKS describes one created with `secrets` encryption,
/// audit logs and an extra security group: it adds its own cluster security
/// group, reports 0.0.0.0/0 for the public endpoint and lists the disabled
/// log types too.
fn described_cluster() -> Cluster {
    let vpc = VpcConfigResponse::builder()
        .subnet_ids("subnet-1")
        .subnet_ids("subnet-2")
        .security_group_ids("sg-extra")
        .cluster_security_group_id("sg-cluster")
        .vpc_id("vpc-1")
        .endpoint_public_access(true)
        .endpoint_private_access(true)
        .public_access_cidrs("0.0.0.0/0")
        .build();
    let logging = Logging::builder()
        .cluster_logging(LogSetup::builder().types(LogType::Audit).enabled(true).build())
        .cluster_logging(
            LogSetup::builder()
                .types(LogType::Api)
                .types(LogType::Authenticator)
                .types(LogType::ControllerManager)
                .types(LogType::Scheduler)
                .enabled(false)
                .build(),
        )
        .build();
    Cluster::builder()
        .name("ai")
        .arn("arn:aws:eks:us-east-1:123456789012:cluster/ai")
        .status(ClusterStatus::Active)
        .version("1.31")
        .endpoint("https://EXAMPLE.gr7.us-east-1.eks.amazonaws.com")
        .role_arn("arn:aws:iam::123456789012:role/eks")
        .resources_vpc_config(vpc)
        .logging(logging)
        .encryption_config(
            EncryptionConfig::builder()
                .resources("secrets")
                .provider(KeyProvider::builder().key_arn(KEY).build())
                .build(),
        )
        .identity(Identity::builder().oidc(Oidc::builder().issuer(ISSUER).build()).build())
        .build()
}

#[tokio::test]
async fn a_cluster_is_created_with_its_extras_and_read_back_in_the_declared_shape() {
    let create = rule!(aws_sdk_eks::Client::create_cluster)
        .match_requests(|r| {
            let vpc = r.resources_vpc_config();
            let on: Vec<&str> = r
                .logging()
                .map(|l| l.cluster_logging())
                .unwrap_or_default()
                .iter()
                .filter(|s| s.enabled() == Some(true))
                .flat_map(|s| s.types().iter().map(LogType::as_str))
                .collect();
            r.encryption_config().len() == 1
                && r.encryption_config()[0].resources() == ["secrets"]
                && r.encryption_config()[0].provider().and_then(|p| p.key_arn()) == Some(KEY)
                && on == ["audit"]
                && vpc.is_some_and(|v| {
                    v.subnet_ids() == ["subnet-1", "subnet-2"]
                        && v.security_group_ids() == ["sg-extra"]
                        && v.endpoint_public_access() == Some(true)
                        && v.endpoint_private_access() == Some(true)
                        && v.public_access_cidrs().is_empty()
                })
        })
        .then_output(|| CreateClusterOutput::builder().build());
    let describe = rule!(aws_sdk_eks::Client::describe_cluster)
        .then_output(|| DescribeClusterOutput::builder().cluster(described_cluster()).build());
    let c = clients_with(Rules { eks: &[&create, &describe], ..Rules::default() });
    let declared = cluster_inputs(json!({
        "enabled_cluster_log_types": ["audit"],
        "encryption_kms_key_arn": KEY,
        "security_group_ids": ["sg-extra"]
    }));
    let created = cluster::create(&c, CreateRequest { urn: cluster_urn(), inputs: declared.clone() }).await.unwrap();
    assert_eq!(create.num_calls(), 1, "CreateCluster carried the key, the logs and the endpoint settings");
    assert_eq!(created.outputs.get("oidc_issuer_url").and_then(Value::as_str), Some(ISSUER));
    assert_eq!(created.outputs.get("cluster_security_group_id").and_then(Value::as_str), Some("sg-cluster"));

    let read = cluster::read(
        &c,
        ReadRequest { urn: cluster_urn(), id: Some("ai".into()), inputs: declared.clone(), outputs: None },
    )
    .await
    .unwrap()
    .expect("the cluster exists");
    assert_eq!(read.inputs, declared, "0.0.0.0/0, the cluster security group and disabled logs are not drift");
}

/// EKS refuses an `UpdateClusterConfig` that changes two kinds of settings
/// ("Only one type of update can be allowed") and any update while another
/// runs; moto accepts both. Endpoint access and logging go in two calls,
/// the first awaited before the second.
#[tokio::test]
async fn endpoint_access_and_logging_change_in_two_updates_one_after_the_other() {
    let endpoint = rule!(aws_sdk_eks::Client::update_cluster_config)
        .match_requests(|r| {
            r.logging().is_none()
                && r.resources_vpc_config().is_some_and(|v| {
                    v.subnet_ids().is_empty()
                        && v.security_group_ids().is_empty()
                        && v.endpoint_public_access() == Some(true)
                        && v.endpoint_private_access() == Some(false)
                        && v.public_access_cidrs() == ["203.0.113.0/24"]
                })
        })
        .then_output(|| UpdateClusterConfigOutput::builder().update(update("ep-1", UpdateStatus::InProgress)).build());
    let progress = rule!(aws_sdk_eks::Client::describe_update)
        .match_requests(|r| r.name() == Some("ai") && r.nodegroup_name().is_none() && r.update_id() == Some("ep-1"))
        .then_output(|| DescribeUpdateOutput::builder().update(update("ep-1", UpdateStatus::Successful)).build());
    let logging = rule!(aws_sdk_eks::Client::update_cluster_config)
        .match_requests(|r| {
            let setups = r.logging().map(|l| l.cluster_logging()).unwrap_or_default();
            r.resources_vpc_config().is_none()
                && setups.len() == 2
                && setups[0].enabled() == Some(true)
                && setups[0].types() == [LogType::Api, LogType::Audit]
                && setups[1].enabled() == Some(false)
                && setups[1].types().len() == 3
        })
        .then_output(|| UpdateClusterConfigOutput::builder().update(update("log-1", UpdateStatus::Successful)).build());
    let describe = rule!(aws_sdk_eks::Client::describe_cluster)
        .then_output(|| DescribeClusterOutput::builder().cluster(described_cluster()).build());
    let c =
        clients_with(Rules { eks: &[&endpoint, &progress, &logging, &describe], sequential: true, ..Rules::default() });

    let olds = cluster_inputs(json!({}));
    let news = cluster_inputs(json!({
        "endpoint_private_access": false,
        "public_access_cidrs": ["203.0.113.0/24"],
        "enabled_cluster_log_types": ["api", "audit"]
    }));
    let req = UpdateRequest { urn: cluster_urn(), id: "ai".into(), olds, old_outputs: Value::map(), news };
    let out = cluster::update(&c, req).await.expect("two updates");
    assert_eq!((endpoint.num_calls(), progress.num_calls(), logging.num_calls()), (1, 1, 1));
    assert_eq!(out.outputs.get("cluster_security_group_id").and_then(Value::as_str), Some("sg-cluster"));
}
