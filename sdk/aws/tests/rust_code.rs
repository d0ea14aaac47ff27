//! The Rust code `import` prints for an argument struct compiles, and builds
//! the very arguments it was written from: for each sample below, the code
//! is written into one program that trybuild compiles and runs, and that
//! program compares what each expression builds with the sample's JSON.

use std::collections::BTreeMap;

use cairn_aws::ec2::{SubnetArgs, VpcArgs};
use cairn_aws::eks::{ClusterLogType, NodeGroupUpdateConfig};
use cairn_aws::policy::{Effect, PolicyDocument, Principal, Statement};
use cairn_aws::s3::{BucketLifecycleRule, LifecycleTransition, TransitionStorageClass};
use cairn_aws::sqs::RedrivePolicy;
use cairn_aws::{
    AmiType, BucketArgs, BucketEncryption, CapacityType, ClusterArgs, NodeGroupArgs, QueueArgs, RoleArgs,
    ScalingConfig, SseAlgorithm, Taint, TaintEffect,
};
use cairn_core::rust_code::{RustLiteral, RustWriter};

/// Arguments that set every kind of field: optional, defaulted, nested, enums, maps, lists.
fn samples() -> Vec<(&'static str, RustExpression)> {
    vec![
        ("node_group", written(&node_group())),
        ("cluster", written(&cluster())),
        ("role", written(&role())),
        ("bucket", written(&bucket())),
        ("vpc", written(&VpcArgs::builder().cidr_block("10.0.0.0/16").enable_dns_hostnames(false).build())),
        (
            "subnet",
            written(
                &SubnetArgs::builder()
                    .vpc_id("vpc-0123")
                    .cidr_block("10.0.1.0/24")
                    .availability_zone("us-east-1a")
                    .tags([("tier", "private")])
                    .build(),
            ),
        ),
        (
            "queue",
            written(
                &QueueArgs::builder()
                    .visibility_timeout_seconds(120)
                    .redrive_policy(
                        RedrivePolicy::builder()
                            .dead_letter_target_arn("arn:aws:sqs:us-east-1:123456789012:dlq")
                            .max_receive_count(5)
                            .build(),
                    )
                    .build(),
            ),
        ),
    ]
}

type RustExpression = (String, serde_json::Value, Vec<String>);

fn written<A: RustLiteral + serde::Serialize>(args: &A) -> RustExpression {
    let mut w = RustWriter::new();
    args.write_rust(&mut w, cairn_core::rust_code::Form::Exact);
    let code = w.finish();
    (code.expression, serde_json::to_value(args).unwrap(), code.uses)
}

fn node_group() -> NodeGroupArgs {
    NodeGroupArgs::builder()
        .cluster_name("ai-dev")
        .node_group_name("gpu")
        .node_role_arn("arn:aws:iam::123456789012:role/nodes")
        .subnet_ids(vec!["subnet-a", "subnet-b"])
        .instance_types(["g5.xlarge", "g5.2xlarge"])
        .capacity_type(CapacityType::Spot)
        .ami_type(AmiType::Al2023X86_64Nvidia)
        .scaling(ScalingConfig { min_size: 0, max_size: 4, desired_size: 1 })
        .labels([("workload", "gpu")])
        .taints(vec![Taint::builder().key("nvidia.com/gpu").value("true").effect(TaintEffect::NoSchedule).build()])
        .disk_size(100)
        .update_config(NodeGroupUpdateConfig::MaxUnavailablePercentage(25))
        .version("1.31")
        .tags([("team", "ml"), ("cost-center", "ai \"research\"")])
        .build()
}

fn cluster() -> ClusterArgs {
    ClusterArgs::builder()
        .role_arn("arn:aws:iam::123456789012:role/eks")
        .subnet_ids(vec!["subnet-a", "subnet-b"])
        .version("1.31")
        .endpoint_public_access(false)
        .public_access_cidrs(["203.0.113.0/24"])
        .enabled_cluster_log_types(vec![ClusterLogType::Api, ClusterLogType::Audit])
        .build()
}

fn role() -> RoleArgs {
    let trust = PolicyDocument::builder()
        .statement(vec![
            Statement::builder()
                .principal(Principal::federated("arn:aws:iam::123456789012:oidc-provider/oidc.eks"))
                .action(["sts:AssumeRoleWithWebIdentity"])
                .condition(BTreeMap::from([(
                    "StringEquals".to_owned(),
                    BTreeMap::from([("oidc.eks:sub".to_owned(), vec!["system:serviceaccount:ml:scorer".to_owned()])]),
                )]))
                .build(),
        ])
        .build();
    RoleArgs::builder()
        .name("scorer")
        .assume_role_policy(trust)
        .inline_policies([(
            "read-models",
            PolicyDocument::builder()
                .statement(vec![
                    Statement::builder()
                        .sid("Read")
                        .effect(Effect::Deny)
                        .action(["s3:GetObject"])
                        .resource(["*"])
                        .build(),
                ])
                .build(),
        )])
        .managed_policy_arns(["arn:aws:iam::aws:policy/ReadOnlyAccess"])
        .description("Scores transactions")
        .build()
}

fn bucket() -> BucketArgs {
    BucketArgs::builder()
        .bucket("models-dev")
        .versioning(false)
        .encryption(BucketEncryption::builder().algorithm(SseAlgorithm::AwsKms).kms_key_id("alias/models").build())
        .force_destroy(true)
        .lifecycle_rules(vec![
            BucketLifecycleRule::builder()
                .id("logs")
                .prefix("logs/")
                .expiration_days(30)
                .transitions(vec![LifecycleTransition { days: 7, storage_class: TransitionStorageClass::StandardIa }])
                .build(),
        ])
        .tags([("team", "ml")])
        .build()
}

#[test]
fn written_arguments_compile_and_build_the_same_arguments() {
    let samples = samples();
    let mut uses: Vec<String> = samples.iter().flat_map(|(_, (_, _, u))| u.clone()).collect();
    uses.sort();
    uses.dedup();
    let mut program = String::from("// Generated by tests/rust_code.rs.\n");
    for u in &uses {
        program.push_str(&format!("use {u};\n"));
    }
    program.push_str("\nfn main() {\n");
    for (name, (code, json, _)) in &samples {
        program.push_str(&format!(
            "    let {name} = {};\n    assert_eq!(serde_json::to_value(&{name}).unwrap(), serde_json::json!({json}), \"{name}\");\n",
            code.replace('\n', "\n    ")
        ));
    }
    program.push_str("}\n");
    // The code as a person reads it: one setter per line, nothing left at its default.
    let node_group = &samples[0].1.0;
    assert!(node_group.starts_with("NodeGroupArgs::builder()\n    .cluster_name(\"ai-dev\")\n"), "{node_group}");
    assert!(
        node_group.contains(".scaling(ScalingConfig::builder().min_size(0).max_size(4).desired_size(1).build())")
            || node_group.contains(".scaling(\n"),
        "{node_group}"
    );
    assert!(!samples[4].1.0.contains("enable_dns_support"), "a default is left out: {}", samples[4].1.0);

    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("rust-code");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("written_arguments.rs");
    std::fs::write(&path, &program).unwrap();
    let t = trybuild::TestCases::new();
    t.pass(&path);
}
