//! Policy evaluation at scale: a synthetic plan of N resources (node groups,
//! buckets, roles with policies and queues, most inside components, with
//! realistic inputs) checked by the built-in pack and the example's Rego
//! policy, and priced. Run by `cargo xtask bench` (optimised: `cargo run --release -p
//! cairn-policy --example bench_policy`); prints one JSON line: seconds to
//! build the plan document, to run the Rust pack, to run the Rego policy, to price it,
//! and, as the yardstick measured in the same run, to serialise the
//! document's JSON form once.
//!
//! Usage: bench_policy N REGO_FILE

use std::time::Instant;

use cairn_aws::policy::{PolicyDocument, Principal, Statement};
use cairn_aws::{AmiType, BucketArgs, CapacityType, NodeGroupArgs, QueueArgs, RoleArgs, ScalingConfig};
use cairn_core::{ProjectName, ResourceKind, ResourceType, StackName, Urn, Value};
use cairn_engine::plan::{Change, Desired, Plan, Step};
use cairn_policy::{PlanDocument, PolicyConfig, PolicySet, StackInfo};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).and_then(|a| a.parse().ok()).expect("usage: bench_policy N REGO_FILE");
    let rego = std::path::PathBuf::from(args.get(2).expect("usage: bench_policy N REGO_FILE"));
    let plan = plan(n);

    let stack = StackInfo { project: "bench".into(), stack: "dev".into(), ..StackInfo::default() };
    let started = Instant::now();
    let document = PlanDocument::new(&plan, stack);
    let document_seconds = started.elapsed().as_secs_f64();

    let started = Instant::now();
    let json = serde_json::to_string(&document.to_json()).expect("serialises");
    let serialise_seconds = started.elapsed().as_secs_f64();

    let rust = PolicySet::for_stack(PolicyConfig::default(), false, std::path::Path::new(".")).expect("the pack");
    let started = Instant::now();
    let report = rust.evaluate(&document).expect("evaluates");
    let rust_seconds = started.elapsed().as_secs_f64();

    let config: PolicyConfig = toml::from_str(&format!(
        "packs = []\n[[rego]]\nfile = {:?}\n",
        rego.canonicalize().expect("the Rego file").display().to_string()
    ))
    .expect("config");
    let rego = PolicySet::for_stack(config, false, std::path::Path::new(".")).expect("the Rego policy");
    let started = Instant::now();
    let rego_report = rego.evaluate(&document).expect("evaluates");
    let rego_seconds = started.elapsed().as_secs_f64();

    let prices = cairn_cost::PriceTable::shipped();
    let started = Instant::now();
    let rows = plan.steps.iter().map(|s| cairn_cost::Row {
        urn: s.urn.as_str(),
        ty: s.ty.as_str(),
        component: None,
        old: None,
        new: s.desired().map(|d| &d.inputs),
    });
    let cost = cairn_cost::estimate_plan(rows, "us-east-1", &prices, &cairn_cost::Usage::default());
    let cost_seconds = started.elapsed().as_secs_f64();

    println!(
        "{}",
        serde_json::json!({
            "resources": n,
            "document_seconds": document_seconds,
            "rust_seconds": rust_seconds,
            "rego_seconds": rego_seconds,
            "cost_seconds": cost_seconds,
            "monthly_cost": cost.after,
            "serialise_seconds": serialise_seconds,
            "document_bytes": json.len(),
            "violations": report.violations.len(),
            "rego_violations": rego_report.violations.len(),
        })
    );
}

fn urn(ty: &str, parent: Option<&Urn>, name: &str) -> Urn {
    let (stack, project) = (StackName::new("dev").unwrap(), ProjectName::new("bench").unwrap());
    Urn::new(&stack, &project, parent, &ResourceType::new(ty).unwrap(), name).unwrap()
}

fn step(urn: Urn, kind: ResourceKind, inputs: Value) -> Step {
    Step {
        ty: urn.resource_type(),
        urn,
        kind,
        change: Change::Create {
            new: Desired {
                inputs,
                parent: None,
                dependencies: Vec::new(),
                protect: false,
                retain_on_delete: false,
                provider: None,
                declared_index: 0,
            },
        },
        diffs: Vec::new(),
        replaces: Vec::new(),
        warnings: Vec::new(),
    }
}

/// N resources in components of four: a GPU node group (one in ten on
/// demand, one in fifty over the cap), a bucket, a role and a queue.
fn plan(n: usize) -> Plan {
    let tags = [("team", "ml"), ("cost-center", "4711"), ("environment", "dev")];
    let mut steps = Vec::with_capacity(n + n / 4);
    for i in 0..n.div_ceil(4) {
        let component = urn("cairn:ai:TrainingPipeline", None, &format!("pipeline-{i}"));
        steps.push(step(component.clone(), ResourceKind::Component, Value::Map(Default::default())));
        let value = |v: serde_json::Value| Value::from_json(&v);
        let node_group = NodeGroupArgs::builder()
            .cluster_name("ai-dev")
            .node_role_arn(format!("arn:aws:iam::123456789012:role/nodes-{i}"))
            .subnet_ids(vec!["subnet-0a1b2c3d", "subnet-0e4f5a6b"])
            .instance_types(["g5.xlarge", "g5.2xlarge"])
            .capacity_type(if i % 10 == 0 { CapacityType::OnDemand } else { CapacityType::Spot })
            .ami_type(AmiType::Al2023X86_64Nvidia)
            .scaling(ScalingConfig { min_size: 0, max_size: if i % 50 == 0 { 40 } else { 4 }, desired_size: 1 })
            .labels([("cairn.dev/workload", "training"), ("cairn.dev/pool", "gpu")])
            .tags(tags)
            .build();
        let role = RoleArgs::builder()
            .assume_role_policy(
                PolicyDocument::builder()
                    .statement(vec![
                        Statement::builder()
                            .principal(Principal::service("ec2.amazonaws.com"))
                            .action(["sts:AssumeRole"])
                            .build(),
                    ])
                    .build(),
            )
            .inline_policies([(
                "data",
                PolicyDocument::builder()
                    .statement(vec![Statement::allow(
                        ["s3:GetObject", "s3:ListBucket"],
                        [format!("arn:aws:s3:::data-{i}/*")],
                    )])
                    .build(),
            )])
            .tags(tags)
            .build();
        let members: [(&str, serde_json::Value); 4] = [
            ("aws:eks:NodeGroup", serde_json::to_value(node_group).unwrap()),
            (
                "aws:s3:Bucket",
                serde_json::to_value(BucketArgs::builder().bucket(format!("data-{i}")).tags(tags).build()).unwrap(),
            ),
            ("aws:iam:Role", serde_json::to_value(role).unwrap()),
            ("aws:sqs:Queue", serde_json::to_value(QueueArgs::builder().tags(tags).build()).unwrap()),
        ];
        for (ty, inputs) in members.into_iter().take(n - 4 * i) {
            steps.push(step(
                urn(ty, Some(&component), &format!("{}-{i}", ty.rsplit(':').next().unwrap().to_lowercase())),
                ResourceKind::Custom,
                value(inputs),
            ));
        }
    }
    Plan {
        base_serial: 0,
        lineage: "bench".into(),
        steps,
        outputs: Default::default(),
        component_outputs: Default::default(),
        refresh: None,
        moves: Vec::new(),
    }
}
