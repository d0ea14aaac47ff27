//! Snapshot tests of what people and machines see.

use cairn::engine::Status;
use cairn::engine::executor::{ApplyReport, StepOutcome};
use cairn::engine::plan::{Change, Desired, Op, Plan, Step};
use cairn::render;
use cairn_core::{DiffKind, PropertyDiff, PropertyPath, ResourceKind, Urn, Value};
use cairn_state::{ResourceState, StackState};

fn urn(chain: &str, name: &str) -> Urn {
    Urn::parse(&format!("urn:cairn:dev::ai::{chain}::{name}")).unwrap()
}

fn rec(u: &Urn, inputs: serde_json::Value, parent: Option<&Urn>) -> ResourceState {
    ResourceState {
        parent: parent.cloned(),
        inputs: Value::from_json(&inputs),
        ..ResourceState::custom(u.clone(), u.name())
    }
}

fn step(u: &Urn, op: Op, old: Option<ResourceState>, new: Option<serde_json::Value>, parent: Option<&Urn>) -> Step {
    let diffs = match (&old, &new) {
        (Some(o), Some(n)) => o.inputs.diff(&Value::from_json(n)),
        _ => vec![],
    };
    let new = new.map(|n| Desired {
        inputs: Value::from_json(&n),
        parent: parent.cloned(),
        dependencies: vec![],
        protect: false,
        retain_on_delete: false,
        provider: None,
        declared_index: 0,
    });
    let id = || old.as_ref().and_then(|o| o.id.clone()).unwrap();
    let change = match (op, old.clone(), new) {
        (Op::Create, None, Some(new)) => Change::Create { new },
        (Op::Update, Some(old), Some(new)) => Change::Update { id: id(), old, new },
        (Op::Replace, Some(old), Some(new)) => Change::Replace { id: id(), old, new, delete_first: false },
        (Op::Delete, Some(old), None) => Change::Delete { id: old.id.clone(), old },
        (Op::Import, None, Some(new)) => Change::Import { id: "imported-id".into(), new },
        (Op::Same, Some(old), Some(new)) => Change::Same { old, new },
        other => panic!("no such step: {other:?}"),
    };
    Step {
        urn: u.clone(),
        ty: u.resource_type(),
        kind: if u.resource_type().package() == "cairn" { ResourceKind::Component } else { ResourceKind::Custom },
        change,
        diffs,
        replaces: vec![],
        warnings: vec![],
    }
}

fn sample_plan() -> Plan {
    let pool = urn("cairn:ai:GpuNodePool", "gpu");
    let role = urn("cairn:ai:GpuNodePool$aws:iam:Role", "gpu-node-role");
    let ng = urn("cairn:ai:GpuNodePool$aws:eks:NodeGroup", "gpu-nodes");
    let bucket = urn("aws:s3:Bucket", "artifacts");
    let old_bucket = urn("aws:s3:Bucket", "scratch");
    let datasets = urn("aws:s3:Bucket", "datasets");
    let ng_old = rec(
        &ng,
        serde_json::json!({"instance_types": ["g5.2xlarge"], "scaling": {"min_size": 0, "max_size": 2}}),
        Some(&pool),
    );
    let mut replace = step(
        &ng,
        Op::Replace,
        Some(ng_old),
        Some(serde_json::json!({"instance_types": ["g5.4xlarge"], "scaling": {"min_size": 0, "max_size": 4}})),
        Some(&pool),
    );
    replace.replaces = vec![PropertyPath::parse("instance_types[0]")];
    let mut update = step(
        &bucket,
        Op::Update,
        Some(rec(&bucket, serde_json::json!({"tags": {"team": "ml"}, "versioning": true}), None)),
        Some(serde_json::json!({"tags": {"team": "ml", "cost-center": "42"}, "versioning": true})),
        None,
    );
    update.diffs =
        vec![PropertyDiff { path: PropertyPath::parse("tags.cost-center"), kind: DiffKind::Add, detail: None }];
    Plan {
        base_serial: 7,
        lineage: "l".into(),
        steps: vec![
            step(&pool, Op::Same, Some(rec(&pool, serde_json::json!({}), None)), Some(serde_json::json!({})), None),
            step(&role, Op::Create, None, Some(serde_json::json!({"name": "r"})), Some(&pool)),
            replace,
            update,
            step(&datasets, Op::Import, None, Some(serde_json::json!({"bucket": "ml-datasets"})), None),
            step(&old_bucket, Op::Delete, Some(rec(&old_bucket, serde_json::json!({}), None)), None, None),
        ],
        outputs: [
            ("password".to_owned(), Value::Secret(Box::new("hunter2".into()))),
            ("endpoint".to_owned(), Value::Unknown),
        ]
        .into_iter()
        .collect(),
        component_outputs: [(
            pool.clone(),
            [("node_group".to_owned(), Value::Unknown), ("role_arn".to_owned(), Value::from("arn:aws:iam::1:role/r"))]
                .into_iter()
                .collect(),
        )]
        .into_iter()
        .collect(),
        refresh: None,
        moves: vec![],
    }
}

/// A plan made after a refresh found a node group scaled by hand, a bucket
/// tagged by hand, and a queue deleted out of band.
fn drift_plan() -> Plan {
    use cairn::engine::refresh::{Drift, DriftKind, PropertyDrift, ReadTiming, Refresh};
    use std::time::Duration;
    let ng = urn("aws:eks:NodeGroup", "train-spot");
    let bucket = urn("aws:s3:Bucket", "artifacts");
    let queue = urn("aws:sqs:Queue", "retrain-requests");
    let program_ng = serde_json::json!({"scaling": {"min_size": 0, "max_size": 2, "desired_size": 0}});
    let live_ng = serde_json::json!({"scaling": {"min_size": 0, "max_size": 5, "desired_size": 3}});
    let program_bucket = serde_json::json!({"tags": {"team": "ml"}});
    let live_bucket = serde_json::json!({"tags": {"team": "ml", "owner": "someone | else"}});
    let prop = |path: &str, recorded: Option<Value>, live: Option<Value>| PropertyDrift {
        path: PropertyPath::parse(path),
        recorded,
        live,
    };
    let refresh = Refresh {
        read: 5,
        drifted: vec![
            Drift {
                urn: ng.clone(),
                ty: ng.resource_type(),
                id: "c:train-spot".into(),
                kind: DriftKind::Changed(vec![
                    prop("scaling.desired_size", Some(Value::Int(0)), Some(Value::Int(3))),
                    prop("scaling.max_size", Some(Value::Int(2)), Some(Value::Int(5))),
                ]),
            },
            Drift {
                urn: bucket.clone(),
                ty: bucket.resource_type(),
                id: "artifacts-1".into(),
                kind: DriftKind::Changed(vec![prop("tags.owner", None, Some("someone | else".into()))]),
            },
            Drift { urn: queue.clone(), ty: queue.resource_type(), id: "https://q/1".into(), kind: DriftKind::Missing },
        ],
        mutations: vec![],
        unreadable: vec![],
        timing: ReadTiming {
            wall: Duration::from_millis(850),
            slowest: Some((ng.clone(), Duration::from_millis(700))),
            total: Duration::from_millis(2400),
        },
    };
    let mut ng_step = step(&ng, Op::Update, Some(rec(&ng, live_ng, None)), Some(program_ng), None);
    ng_step.diffs.sort_by_key(|d| d.path.to_string());
    Plan {
        base_serial: 9,
        lineage: "l".into(),
        steps: vec![
            ng_step,
            step(&bucket, Op::Update, Some(rec(&bucket, live_bucket, None)), Some(program_bucket), None),
            step(&queue, Op::Create, None, Some(serde_json::json!({"name": "retrain-requests"})), None),
        ],
        outputs: Default::default(),
        component_outputs: Default::default(),
        refresh: Some(refresh),
        moves: vec![],
    }
}

#[test]
fn drift_text_markdown_and_json() {
    console::set_colors_enabled(false);
    let plan = drift_plan();
    insta::assert_snapshot!("drift_text", render::drift_text(&plan));
    insta::assert_snapshot!("drift_markdown", render::drift_markdown(&plan, "dev", "ai"));
    let j = render::drift_report_json(&plan, "dev", "ai");
    insta::with_settings!({ sort_maps => true }, { insta::assert_json_snapshot!("drift_json", j) });
    let mut none = plan.clone();
    none.refresh.as_mut().unwrap().drifted.clear();
    assert!(render::drift_text(&none).contains("No drift: the cloud matches the state."));
}

#[test]
fn plan_text() {
    console::set_colors_enabled(false);
    insta::assert_snapshot!(render::plan_text(&sample_plan(), "dev", "ai", "Preview", false));
}

#[test]
fn plan_markdown() {
    insta::assert_snapshot!(render::plan_markdown(&sample_plan(), "dev", "ai"));
    let mut none = sample_plan();
    none.steps.retain(|s| s.op() == Op::Same);
    assert_eq!(
        render::plan_markdown(&none, "dev", "ai"),
        "### Cairn preview of stack `dev` (project `ai`)\n\n**No changes** (1 unchanged)\n"
    );
}

#[test]
fn plan_json() {
    let j = render::plan_json(&sample_plan(), "dev", "ai");
    assert!(!j.to_string().contains("hunter2"), "secrets never reach --json");
    // Key order must not depend on serde_json's `preserve_order`, which a workspace build may switch on.
    insta::with_settings!({ sort_maps => true }, { insta::assert_json_snapshot!(j) });
}

#[test]
fn report_json_and_text() {
    console::set_colors_enabled(false);
    let plan = sample_plan();
    let statuses = [Status::Succeeded, Status::Succeeded, Status::Failed, Status::Skipped, Status::Succeeded];
    let outcomes = plan
        .steps
        .iter()
        .zip(statuses)
        .map(|(s, status)| StepOutcome {
            urn: s.urn.clone(),
            ty: s.ty.to_string(),
            op: s.op(),
            status,
            error: (status == Status::Failed).then(|| "create aws:eks:NodeGroup: quota exceeded".to_owned()),
        })
        .collect();
    let mut state = StackState::new(cairn_core::StackName::new("dev").unwrap());
    state.serial = 12;
    let report = ApplyReport { outcomes, state };
    let mut j = render::report_json(&plan, &report, "dev", "ai");
    assert_eq!(j["succeeded"], false);
    j["serial"] = 0.into();
    // Key order must not depend on serde_json's `preserve_order`, which a workspace build may switch on.
    insta::with_settings!({ sort_maps => true }, { insta::assert_json_snapshot!(j) });
    insta::assert_snapshot!(render::report_text(&report));
}

#[test]
fn no_changes_says_so() {
    console::set_colors_enabled(false);
    let mut plan = sample_plan();
    plan.steps.retain(|s| s.op() == Op::Same);
    plan.outputs.clear();
    let text = render::plan_text(&plan, "dev", "ai", "Preview", false);
    assert!(text.contains("No changes: stack dev matches the program (1 unchanged)."), "{text}");
}

#[test]
fn graph_dot() {
    use cairn::aws::iam::RoleArgs;
    use cairn::aws::{PolicyDocument, s3::BucketArgs};
    use cairn_core::{Config, ProjectName, ResourceOptions, Stack, StackName};
    let ctx = Stack::new(StackName::new("dev").unwrap(), ProjectName::new("ai").unwrap(), Config::default());
    let store = ctx.component_scope("cairn:ai:ArtifactBucket", "models", ResourceOptions::default()).unwrap();
    let bucket = store.resource("models", BucketArgs::builder().build()).unwrap();
    let role = RoleArgs::builder()
        .assume_role_policy(PolicyDocument::assume_role_for_service("sagemaker.amazonaws.com"))
        .tags([("bucket", "x")])
        .build();
    let opts = ResourceOptions::builder().depends_on(vec![bucket.urn.clone()]).build();
    ctx.resource_with("trainer", role, opts).unwrap();
    insta::assert_snapshot!(render::graph_dot(&ctx.finish(), "dev", "ai"));
}

#[test]
fn unchanged_resources_are_counted_not_listed_unless_asked() {
    console::set_colors_enabled(false);
    let mut plan = sample_plan();
    let quiet = urn("aws:sqs:Queue", "quiet-queue");
    let rec_q = rec(&quiet, serde_json::json!({}), None);
    plan.steps.push(step(&quiet, Op::Same, Some(rec_q), Some(serde_json::json!({})), None));
    let text = render::plan_text(&plan, "dev", "ai", "Preview", false);
    assert!(!text.contains("quiet-queue") && text.contains("1 unchanged resources not shown"), "{text}");
    assert!(text.contains("cairn:ai:GpuNodePool gpu"), "an unchanged component holding changes is shown: {text}");
    let all = render::plan_text(&plan, "dev", "ai", "Preview", true);
    assert!(all.contains("aws:sqs:Queue quiet-queue") && !all.contains("not shown"), "{all}");
}

/// A bad program's plan: an on-demand training pool of 40 GPU nodes with no
/// tags, a public bucket (waived by an exception), and a wildcard role.
fn bad_plan() -> Plan {
    let pool = urn("cairn:ai:TrainingPipeline$aws:eks:NodeGroup", "train-nodes");
    let bucket = urn("aws:s3:Bucket", "site");
    let role = urn("aws:iam:Role", "Admin");
    let node_group = json_of(
        cairn_aws::NodeGroupArgs::builder()
            .cluster_name("ai-dev")
            .node_role_arn("arn:aws:iam::123456789012:role/nodes")
            .subnet_ids(vec!["subnet-a"])
            .instance_types(["p5.48xlarge"])
            .ami_type(cairn_aws::AmiType::Al2023X86_64Nvidia)
            .scaling(cairn_aws::ScalingConfig { min_size: 0, max_size: 40, desired_size: 0 })
            .build(),
    );
    let open = cairn_aws::PublicAccessBlock::builder().block_public_policy(false).build();
    let site = json_of(
        cairn_aws::BucketArgs::builder()
            .public_access_block(open)
            .tags([("team", "web"), ("cost-center", "1"), ("environment", "dev")])
            .build(),
    );
    let admin = json_of(
        cairn_aws::RoleArgs::builder()
            .assume_role_policy(cairn_aws::PolicyDocument::assume_role_for_service("ec2.amazonaws.com"))
            .inline_policies([(
                "all",
                cairn_aws::PolicyDocument::builder().statement(vec![cairn_aws::Statement::allow(["*"], ["*"])]).build(),
            )])
            .tags([("team", "web"), ("cost-center", "1"), ("environment", "dev")])
            .build(),
    );
    Plan {
        base_serial: 3,
        lineage: "l".into(),
        steps: vec![
            step(&pool, Op::Create, None, Some(node_group), None),
            step(&bucket, Op::Create, None, Some(site), None),
            step(&role, Op::Create, None, Some(admin), None),
        ],
        outputs: Default::default(),
        component_outputs: Default::default(),
        refresh: None,
        moves: vec![],
    }
}

fn json_of<T: serde::Serialize>(args: T) -> serde_json::Value {
    serde_json::to_value(args).unwrap()
}

#[test]
fn policy_violations_in_text_json_and_markdown() {
    let config: cairn_policy::PolicyConfig = toml::from_str(
        "[[exception]]\npolicy = \"ai/s3-public-access-block\"\nresource = \"site\"\nreason = \"static website, SEC-7\"\n",
    )
    .unwrap();
    let set = cairn_policy::PolicySet::new(cairn_policy::ai_pack::policies(), config, false).unwrap();
    let stack = cairn_policy::StackInfo { project: "ai".into(), stack: "dev".into(), ..Default::default() };
    let report = set.evaluate(&cairn_policy::PlanDocument::new(&bad_plan(), stack)).unwrap();
    assert!(!report.passes());
    insta::assert_snapshot!("policy_text", render::policy_text(&report));
    insta::assert_snapshot!("policy_markdown", render::policy_markdown(&report));
    insta::assert_json_snapshot!("policy_json", render::policy_json(&report));
}

#[test]
fn cost_in_text_json_and_markdown() {
    let plan = bad_plan();
    let rows = plan.steps.iter().map(|s| cairn_cost::Row {
        urn: s.urn.as_str(),
        ty: s.ty.as_str(),
        component: None,
        old: None,
        new: s.desired().map(|d| &d.inputs),
    });
    let usage = cairn_cost::Usage { s3_gb_per_bucket: Some(1234.5), ..Default::default() };
    let cost = cairn_cost::estimate_plan(rows, "us-east-1", &cairn_cost::PriceTable::shipped(), &usage);
    insta::assert_snapshot!("cost_text", render::cost_text(&cost));
    insta::assert_snapshot!("cost_markdown", render::cost_markdown(&cost));
    insta::assert_json_snapshot!("cost_json", render::cost_json(&cost));
}
