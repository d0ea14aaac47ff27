//! The EKS cluster and node group extras (endpoint access, control plane
//! logging, secrets encryption, security groups, the OIDC issuer; disk size,
//! update budget, pinned version) and the bucket's lifecycle rules and policy,
//! with the provider in-process against the emulator: create and read back
//! through the SDK, update in place, replace, import by ID into a fresh state
//! (then nothing to do), destroy.
//!
//! moto gaps worked around here (see the notes in the canned tests,
//! `sdk/aws-provider/src/canned_eks.rs`): `UpdateClusterConfig` with a VPC
//! configuration replaces the whole configuration (the subnets are lost), so
//! the cluster is imported before its endpoint changes and again after a
//! replacement; `CreateNodegroup` drops `updateConfig`, so the budget is set
//! in place; `UpdateNodegroupVersion` does not exist, so a version upgrade is
//! shown only by canned responses.

use std::collections::BTreeMap;

use aws_sdk_eks::error::ProvideErrorMetadata;
use cairn_aws::eks::{ClusterLogType, NodeGroupUpdateConfig};
use cairn_aws::policy::{Condition, PolicyDocument, Principal, Statement};
use cairn_aws::s3::{BucketLifecycleRule, LifecycleTransition, TransitionStorageClass};
use cairn_aws::{AmiType, BucketArgs, ClusterArgs, NodeGroupArgs, ScalingConfig};
use cairn_core::Stack;
use cairn_engine::Op;
use cairn_tests::inprocess::{Imports, InProcess, assert_all, op};
use cairn_tests::{assert_gone, eks, output, s3, unique};

const ACCOUNT_ROOT: &str = "arn:aws:iam::123456789012:root";
const KEY_A: &str = "arn:aws:kms:us-east-1:123456789012:key/11111111-1111-1111-1111-111111111111";
const KEY_B: &str = "arn:aws:kms:us-east-1:123456789012:key/22222222-2222-2222-2222-222222222222";

async fn describe_cluster(eks: &aws_sdk_eks::Client, name: &str) -> aws_sdk_eks::types::Cluster {
    eks.describe_cluster().name(name).send().await.unwrap().cluster().cloned().expect("a cluster")
}

async fn assert_cluster_gone(eks: &aws_sdk_eks::Client, name: &str) {
    match eks.describe_cluster().name(name).send().await {
        Err(e) => assert_eq!(e.code(), Some("ResourceNotFoundException"), "{e:?}"),
        Ok(found) => panic!("cluster `{name}` still exists: {found:?}"),
    }
}

fn enabled_logs(c: &aws_sdk_eks::types::Cluster) -> Vec<String> {
    let mut on: Vec<String> = c
        .logging()
        .map(|l| l.cluster_logging())
        .unwrap_or_default()
        .iter()
        .filter(|s| s.enabled() == Some(true))
        .flat_map(|s| s.types().iter().map(|t| t.as_str().to_owned()))
        .collect();
    on.sort();
    on
}

// ---------------------------------------------------------------------------
// Cluster

#[derive(Clone)]
struct Cp {
    team: String,
    private: bool,
    cidrs: Vec<&'static str>,
    logs: Vec<ClusterLogType>,
    key: &'static str,
    groups: Vec<&'static str>,
}

fn control_plane(ctx: &Stack, p: &Cp, imports: &Imports) {
    let args = ClusterArgs::builder()
        .role_arn("arn:aws:iam::123456789012:role/eks")
        .subnet_ids(vec!["subnet-x1", "subnet-x2"])
        .version("1.31")
        .endpoint_private_access(p.private)
        .public_access_cidrs(p.cidrs.clone())
        .enabled_cluster_log_types(p.logs.clone())
        .encryption_kms_key_arn(p.key)
        .security_group_ids(p.groups.clone())
        .tags([("team", p.team.as_str())])
        .build();
    ctx.resource_with("cp", args, imports.opts("cp")).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn cluster_endpoint_logging_encryption_and_security_groups_round_trip() {
    let eks = eks().await;
    let h = InProcess::new().await;
    let none = Imports::default();
    let p0 = Cp {
        team: unique("cp"),
        private: false,
        cidrs: vec!["203.0.113.0/24"],
        logs: vec![ClusterLogType::Audit, ClusterLogType::Api],
        key: KEY_A,
        groups: vec!["sg-0aaa"],
    };

    // Create, and read every new property back.
    assert_all(&h.up(|ctx| control_plane(ctx, &p0, &none)).await, Op::Create);
    let name = h.id("cp").await;
    let c = describe_cluster(&eks, &name).await;
    assert_eq!(c.role_arn(), Some("arn:aws:iam::123456789012:role/eks"));
    assert_eq!(c.version(), Some("1.31"));
    assert_eq!(c.tags().and_then(|t| t.get("team")), Some(&p0.team));
    let vpc = c.resources_vpc_config().expect("a VPC configuration");
    assert_eq!(vpc.subnet_ids(), ["subnet-x1", "subnet-x2"]);
    assert_eq!((vpc.endpoint_public_access(), vpc.endpoint_private_access()), (true, false));
    assert_eq!(vpc.public_access_cidrs(), ["203.0.113.0/24"]);
    assert_eq!(vpc.security_group_ids(), ["sg-0aaa"]);
    assert_eq!(enabled_logs(&c), ["api", "audit"]);
    let encryption = c.encryption_config();
    assert_eq!(encryption.len(), 1);
    assert_eq!(encryption[0].resources(), ["secrets"]);
    assert_eq!(encryption[0].provider().and_then(|p| p.key_arn()), Some(KEY_A));
    let outputs = h.outputs("cp").await;
    let issuer = c.identity().and_then(|i| i.oidc()).and_then(|o| o.issuer()).expect("an OIDC issuer");
    assert_eq!(output(&outputs, "oidc_issuer_url"), issuer);
    assert!(issuer.starts_with("https://"), "{issuer}");
    // moto reports no cluster security group: the output is what EKS says.
    assert_eq!(output(&outputs, "cluster_security_group_id"), vpc.cluster_security_group_id().unwrap_or_default());
    assert_all(&h.preview_ops(|ctx| control_plane(ctx, &p0, &none)).await, Op::Same);

    // Import into a fresh state before the endpoint changes (moto then loses the subnets).
    let fresh = h.fresh();
    let imports = Imports::of(&h).await;
    assert_all(&fresh.up(|ctx| control_plane(ctx, &p0, &imports)).await, Op::Import);
    assert_all(&fresh.preview_ops(|ctx| control_plane(ctx, &p0, &none)).await, Op::Same);

    // In place: logging.
    let p1 = Cp { logs: vec![ClusterLogType::Audit, ClusterLogType::Scheduler], ..p0.clone() };
    assert_eq!(op(&h.up(|ctx| control_plane(ctx, &p1, &none)).await, "cp"), Op::Update);
    assert_eq!(h.id("cp").await, name, "updated, not replaced");
    assert_eq!(enabled_logs(&describe_cluster(&eks, &name).await), ["audit", "scheduler"]);

    // In place: endpoint access, back to every address.
    let p2 = Cp { private: true, cidrs: vec![], ..p1.clone() };
    assert_eq!(op(&h.up(|ctx| control_plane(ctx, &p2, &none)).await, "cp"), Op::Update);
    let c = describe_cluster(&eks, &name).await;
    let vpc = c.resources_vpc_config().expect("a VPC configuration");
    assert_eq!((vpc.endpoint_public_access(), vpc.endpoint_private_access()), (true, true));
    assert_eq!(vpc.public_access_cidrs(), ["0.0.0.0/0"]);
    assert_eq!(enabled_logs(&c), ["audit", "scheduler"], "logging untouched");
    assert_all(&h.preview_ops(|ctx| control_plane(ctx, &p2, &none)).await, Op::Same);

    // Replacements: other security groups, then another key.
    let p3 = Cp { groups: vec!["sg-0bbb", "sg-0ccc"], ..p2.clone() };
    assert_eq!(op(&h.up(|ctx| control_plane(ctx, &p3, &none)).await, "cp"), Op::Replace);
    let replaced = h.id("cp").await;
    assert_ne!(replaced, name, "an auto-named cluster is replaced under a fresh name");
    assert_cluster_gone(&eks, &name).await;
    let c = describe_cluster(&eks, &replaced).await;
    let vpc = c.resources_vpc_config().expect("a VPC configuration");
    assert_eq!(vpc.security_group_ids(), ["sg-0bbb", "sg-0ccc"]);
    assert_eq!(vpc.subnet_ids(), ["subnet-x1", "subnet-x2"]);
    assert_eq!(enabled_logs(&c), ["audit", "scheduler"]);

    let p4 = Cp { key: KEY_B, ..p3.clone() };
    assert_eq!(op(&h.up(|ctx| control_plane(ctx, &p4, &none)).await, "cp"), Op::Replace);
    let last = h.id("cp").await;
    assert_cluster_gone(&eks, &replaced).await;
    let c = describe_cluster(&eks, &last).await;
    assert_eq!(c.encryption_config()[0].provider().and_then(|p| p.key_arn()), Some(KEY_B));

    // Import the replacement into a fresh state; afterwards nothing changes.
    let fresh = h.fresh();
    let imports = Imports::of(&h).await;
    assert_all(&fresh.up(|ctx| control_plane(ctx, &p4, &imports)).await, Op::Import);
    assert_all(&fresh.preview_ops(|ctx| control_plane(ctx, &p4, &none)).await, Op::Same);

    h.destroy().await;
    assert_cluster_gone(&eks, &last).await;
}

// ---------------------------------------------------------------------------
// Node group

#[derive(Clone)]
struct Ng {
    team: String,
    disk: i32,
    budget: Option<NodeGroupUpdateConfig>,
}

fn nodes(ctx: &Stack, n: &Ng, imports: &Imports) {
    let cluster = ClusterArgs::builder()
        .role_arn("arn:aws:iam::123456789012:role/eks")
        .subnet_ids(vec!["subnet-n1", "subnet-n2"])
        .version("1.31")
        .tags([("team", n.team.as_str())])
        .build();
    let cluster = ctx.resource_with("cp", cluster, imports.opts("cp")).unwrap();
    let mut group = NodeGroupArgs::builder()
        .cluster_name(&cluster.name)
        .node_role_arn("arn:aws:iam::123456789012:role/nodes")
        .subnet_ids(vec!["subnet-n1"])
        .instance_types(["g5.xlarge"])
        .ami_type(AmiType::Al2X86_64Gpu)
        .scaling(ScalingConfig { min_size: 0, max_size: 2, desired_size: 0 })
        .disk_size(n.disk)
        // Pinned to the cluster's, as the schema asks.
        .version(&cluster.version)
        .build();
    group.update_config = n.budget;
    ctx.resource_with("ng", group, imports.opts("ng")).unwrap();
}

async fn describe_nodegroup(eks: &aws_sdk_eks::Client, id: &str) -> aws_sdk_eks::types::Nodegroup {
    let (cluster, name) = id.split_once(':').expect("CLUSTER:NODEGROUP");
    let out = eks.describe_nodegroup().cluster_name(cluster).nodegroup_name(name).send().await.unwrap();
    out.nodegroup().cloned().expect("a node group")
}

#[tokio::test(flavor = "multi_thread")]
async fn node_group_disk_budget_and_pinned_version_round_trip() {
    let eks = eks().await;
    let h = InProcess::new().await;
    let none = Imports::default();
    let n0 = Ng { team: unique("ng"), disk: 50, budget: None };

    assert_all(&h.up(|ctx| nodes(ctx, &n0, &none)).await, Op::Create);
    let id = h.id("ng").await;
    let n = describe_nodegroup(&eks, &id).await;
    assert_eq!(n.disk_size(), Some(50));
    assert_eq!(n.version(), Some("1.31"), "the cluster's version, passed explicitly");
    assert_eq!(n.node_role(), Some("arn:aws:iam::123456789012:role/nodes"));
    assert_eq!((n.subnets(), n.instance_types()), (&["subnet-n1".to_owned()][..], &["g5.xlarge".to_owned()][..]));
    assert_eq!(n.ami_type().map(|a| a.as_str()), Some("AL2_x86_64_GPU"));
    let scaling = n.scaling_config().expect("a scaling configuration");
    assert_eq!((scaling.min_size(), scaling.max_size(), scaling.desired_size()), (Some(0), Some(2), Some(0)));

    // In place: a budget by count, then by percentage. (Not the tags: moto answers TagResource on a
    // node group ARN with 404; `canned_eks::node_group_tags_change_in_place_on_its_arn` covers it.)
    let n1 = Ng { budget: Some(NodeGroupUpdateConfig::MaxUnavailable(2)), ..n0.clone() };
    let ops = h.up(|ctx| nodes(ctx, &n1, &none)).await;
    assert_eq!((op(&ops, "cp"), op(&ops, "ng")), (Op::Same, Op::Update));
    assert_eq!(describe_nodegroup(&eks, &id).await.update_config().and_then(|u| u.max_unavailable()), Some(2));
    let n2 = Ng { budget: Some(NodeGroupUpdateConfig::MaxUnavailablePercentage(50)), ..n1.clone() };
    assert_eq!(op(&h.up(|ctx| nodes(ctx, &n2, &none)).await, "ng"), Op::Update);
    let budget = describe_nodegroup(&eks, &id).await.update_config().cloned().expect("a budget");
    assert_eq!((budget.max_unavailable(), budget.max_unavailable_percentage()), (None, Some(50)));
    assert_eq!(h.id("ng").await, id, "updated, not replaced");

    // Import into a fresh state; afterwards nothing changes.
    let fresh = h.fresh();
    let imports = Imports::of(&h).await;
    assert_all(&fresh.up(|ctx| nodes(ctx, &n2, &imports)).await, Op::Import);
    assert_all(&fresh.preview_ops(|ctx| nodes(ctx, &n2, &none)).await, Op::Same);

    // Replacement: a bigger disk.
    let n3 = Ng { disk: 100, ..n2.clone() };
    let ops = h.up(|ctx| nodes(ctx, &n3, &none)).await;
    assert_eq!((op(&ops, "cp"), op(&ops, "ng")), (Op::Same, Op::Replace));
    let replaced = h.id("ng").await;
    assert_ne!(replaced, id);
    assert_eq!(describe_nodegroup(&eks, &replaced).await.disk_size(), Some(100));
    let (cluster, old) = id.split_once(':').unwrap();
    let gone = eks.describe_nodegroup().cluster_name(cluster).nodegroup_name(old).send().await;
    assert_eq!(gone.err().and_then(|e| e.code().map(str::to_owned)).as_deref(), Some("ResourceNotFoundException"));

    h.destroy().await;
    let (_, name) = replaced.split_once(':').unwrap();
    assert_gone(eks.describe_nodegroup().cluster_name(cluster).nodegroup_name(name).send().await, "the node group");
    assert_cluster_gone(&eks, cluster).await;
}

// ---------------------------------------------------------------------------
// Bucket

#[derive(Clone)]
struct Bk {
    name: String,
    rules: Vec<BucketLifecycleRule>,
    policy: Option<PolicyDocument>,
}

fn bucket(ctx: &Stack, b: &Bk, imports: &Imports) {
    let mut args = BucketArgs::builder().bucket(b.name.as_str()).force_destroy(true).build();
    args.lifecycle_rules = b.rules.clone();
    args.policy = b.policy.clone();
    ctx.resource_with("bucket", args, imports.opts("bucket")).unwrap();
}

/// Read access for the account itself: a policy that cannot lock the test
/// out (no `Deny`, which moto enforces over its plain http endpoint).
fn read_policy(name: &str, list: bool) -> PolicyDocument {
    let mut statements = vec![
        Statement::builder()
            .principal(Principal::aws(ACCOUNT_ROOT))
            .action(["s3:GetObject"])
            .resource([format!("arn:aws:s3:::{name}/*")])
            .build(),
    ];
    if list {
        let prefix: BTreeMap<String, Vec<String>> = [("s3:prefix".to_owned(), vec!["models/*".to_owned()])].into();
        let condition: Condition = [("StringLike".to_owned(), prefix)].into();
        statements.push(
            Statement::builder()
                .sid("ListModels")
                .principal(Principal::aws(ACCOUNT_ROOT))
                .action(["s3:ListBucket"])
                .resource([format!("arn:aws:s3:::{name}")])
                .condition(condition)
                .build(),
        );
    }
    PolicyDocument::builder().statement(statements).build()
}

fn logs_rule(expire: i32) -> BucketLifecycleRule {
    BucketLifecycleRule::builder()
        .id("logs")
        .prefix("logs/")
        .expiration_days(expire)
        .noncurrent_version_expiration_days(30)
        .transitions(vec![
            LifecycleTransition { days: 30, storage_class: TransitionStorageClass::StandardIa },
            LifecycleTransition { days: 90, storage_class: TransitionStorageClass::Glacier },
        ])
        .build()
}

fn uploads_rule() -> BucketLifecycleRule {
    BucketLifecycleRule::builder().id("uploads").enabled(false).abort_incomplete_multipart_upload_days(7).build()
}

async fn live_rules(s3: &aws_sdk_s3::Client, name: &str) -> Option<Vec<aws_sdk_s3::types::LifecycleRule>> {
    match s3.get_bucket_lifecycle_configuration().bucket(name).send().await {
        Ok(out) => Some(out.rules().to_vec()),
        Err(e) => {
            assert_eq!(
                aws_sdk_s3::error::ProvideErrorMetadata::code(&e),
                Some("NoSuchLifecycleConfiguration"),
                "{e:?}"
            );
            None
        }
    }
}

async fn live_policy(s3: &aws_sdk_s3::Client, name: &str) -> Option<PolicyDocument> {
    match s3.get_bucket_policy().bucket(name).send().await {
        Ok(out) => Some(PolicyDocument::from_aws_json(out.policy().expect("a policy")).unwrap()),
        Err(e) => {
            assert_eq!(aws_sdk_s3::error::ProvideErrorMetadata::code(&e), Some("NoSuchBucketPolicy"), "{e:?}");
            None
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn bucket_lifecycle_rules_and_policy_round_trip() {
    let s3 = s3().await;
    let h = InProcess::new().await;
    let none = Imports::default();
    let name = unique("extras");
    let b0 =
        Bk { name: name.clone(), rules: vec![logs_rule(365), uploads_rule()], policy: Some(read_policy(&name, false)) };

    assert_all(&h.up(|ctx| bucket(ctx, &b0, &none)).await, Op::Create);
    let rules = live_rules(&s3, &name).await.expect("lifecycle rules");
    assert_eq!(rules.len(), 2);
    let logs = &rules[0];
    assert_eq!((logs.id(), logs.status().as_str()), (Some("logs"), "Enabled"));
    assert_eq!(logs.filter().and_then(|f| f.prefix()), Some("logs/"));
    assert_eq!(logs.expiration().and_then(|e| e.days()), Some(365));
    assert_eq!(logs.noncurrent_version_expiration().and_then(|e| e.noncurrent_days()), Some(30));
    let transitions: Vec<(Option<i32>, Option<&str>)> =
        logs.transitions().iter().map(|t| (t.days(), t.storage_class().map(|c| c.as_str()))).collect();
    assert_eq!(transitions, [(Some(30), Some("STANDARD_IA")), (Some(90), Some("GLACIER"))]);
    let uploads = &rules[1];
    assert_eq!((uploads.id(), uploads.status().as_str()), (Some("uploads"), "Disabled"));
    assert_eq!(uploads.abort_incomplete_multipart_upload().and_then(|a| a.days_after_initiation()), Some(7));
    assert_eq!(live_policy(&s3, &name).await, b0.policy);
    // The policy does not lock the account out of its objects.
    s3.put_object().bucket(&name).key("models/m.bin").body(b"weights".to_vec().into()).send().await.unwrap();
    s3.get_object().bucket(&name).key("models/m.bin").send().await.unwrap();
    assert_all(&h.preview_ops(|ctx| bucket(ctx, &b0, &none)).await, Op::Same);

    // In place: one rule changed, one dropped; a statement added.
    let b1 = Bk { rules: vec![logs_rule(180)], policy: Some(read_policy(&name, true)), ..b0.clone() };
    assert_eq!(op(&h.up(|ctx| bucket(ctx, &b1, &none)).await, "bucket"), Op::Update);
    let rules = live_rules(&s3, &name).await.expect("lifecycle rules");
    assert_eq!(rules.len(), 1);
    assert_eq!(rules[0].expiration().and_then(|e| e.days()), Some(180));
    assert_eq!(live_policy(&s3, &name).await, b1.policy);

    // Import into a fresh state; afterwards nothing changes.
    let fresh = h.fresh();
    let imports = Imports::of(&h).await;
    assert_all(&fresh.up(|ctx| bucket(ctx, &b1, &imports)).await, Op::Import);
    assert_all(&fresh.preview_ops(|ctx| bucket(ctx, &b1, &none)).await, Op::Same);

    // In place: both removed.
    let b2 = Bk { rules: vec![], policy: None, ..b1.clone() };
    assert_eq!(op(&h.up(|ctx| bucket(ctx, &b2, &none)).await, "bucket"), Op::Update);
    assert!(live_rules(&s3, &name).await.is_none(), "no lifecycle configuration left");
    assert!(live_policy(&s3, &name).await.is_none(), "no policy left");

    // Replacement: a new name. The old bucket, its object included (force_destroy), is gone.
    let renamed = unique("extras");
    let b3 = Bk { name: renamed.clone(), ..b2.clone() };
    assert_eq!(op(&h.up(|ctx| bucket(ctx, &b3, &none)).await, "bucket"), Op::Replace);
    assert_gone(s3.head_bucket().bucket(&name).send().await, "the old bucket");
    s3.head_bucket().bucket(&renamed).send().await.expect("the new bucket exists");
    assert_eq!(h.id("bucket").await, renamed);

    h.destroy().await;
    assert_gone(s3.head_bucket().bucket(&renamed).send().await, "the bucket");
}
