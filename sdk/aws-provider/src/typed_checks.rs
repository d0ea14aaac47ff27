//! Check of AWS types through the provider SDK: auto-names, validation and
//! type errors by property, wildcard warnings, serde defaults, and live inputs.

use cairn_aws::PolicyDocument;
use cairn_aws::{NodeGroupArgs, RoleArgs};
use cairn_core::value::DEFAULTS_KEY;
use cairn_core::{CheckFailure, CheckRequest, Value};
use cairn_core::{ProjectName, ResourceType, StackName, Urn};
use cairn_provider_sdk::{check, live_inputs};
use serde_json::json;

fn urn(ty: &str, name: &str) -> Urn {
    let (s, p) = (StackName::new("dev").unwrap(), ProjectName::new("ai").unwrap());
    Urn::new(&s, &p, None, &ResourceType::new(ty).unwrap(), name).unwrap()
}

fn node_group(scaling: serde_json::Value) -> Value {
    Value::from_json(&json!({
        "cluster_name": {"$cairn.unknown": true},
        "node_role_arn": {"$cairn.unknown": true},
        "subnet_ids": ["subnet-a"],
        "instance_types": ["g5.xlarge"],
        "ami_type": "AL2023_x86_64_NVIDIA",
        "scaling": scaling,
    }))
}

fn text(failures: &[CheckFailure]) -> Vec<String> {
    failures.iter().map(|f| format!("{}: {}", f.property, f.reason)).collect()
}

#[test]
fn check_fills_the_auto_name_and_allows_unknowns() {
    let req = CheckRequest {
        urn: urn("aws:eks:NodeGroup", "gpu"),
        olds: None,
        news: node_group(json!({"min_size": 0, "max_size": 2, "desired_size": 1})),
    };
    let res = check::<NodeGroupArgs>(req);
    assert!(res.failures.is_empty(), "{:?}", text(&res.failures));
    let name = res.inputs.get("node_group_name").and_then(Value::as_str).unwrap();
    assert!(name.starts_with("gpu-") && name.len() == "gpu-".len() + 7, "{name}");
    assert!(res.inputs.get(DEFAULTS_KEY).is_some());
}

#[test]
fn check_reports_validation_and_type_errors_by_property() {
    let bad_sizes = CheckRequest {
        urn: urn("aws:eks:NodeGroup", "gpu"),
        olds: None,
        news: node_group(json!({"min_size": 3, "max_size": 2, "desired_size": 2})),
    };
    let res = check::<NodeGroupArgs>(bad_sizes);
    assert_eq!(
        text(&res.failures),
        ["scaling.min_size: min_size (3) is greater than max_size (2): set scaling.min_size <= scaling.max_size"]
    );

    let wrong_type = CheckRequest {
        urn: urn("aws:eks:NodeGroup", "gpu"),
        olds: None,
        news: node_group(json!({"min_size": "zero", "max_size": 2, "desired_size": 1})),
    };
    let res = check::<NodeGroupArgs>(wrong_type);
    let t = text(&res.failures);
    assert_eq!(t.len(), 1);
    assert!(t[0].starts_with("scaling: `scaling` is not valid: invalid type"), "{t:?}");

    let mut bad_enum = node_group(json!({"min_size": 0, "max_size": 2, "desired_size": 1}));
    if let Value::Map(m) = &mut bad_enum {
        m.insert("ami_type".into(), "WINDOWS_95".into());
    }
    let res = check::<NodeGroupArgs>(CheckRequest { urn: urn("aws:eks:NodeGroup", "gpu"), olds: None, news: bad_enum });
    assert!(text(&res.failures)[0].starts_with("ami_type: "), "{:?}", text(&res.failures));
}

#[test]
fn wildcard_actions_are_warnings_not_failures() {
    let news = Value::from_json(&json!({
        "assume_role_policy": {"statement": [{"principal": {"service": ["eks.amazonaws.com"]}, "action": ["sts:AssumeRole"]}]},
        "inline_policies": {"admin": {"statement": [
            {"action": ["s3:GetObject"], "resource": ["*"]},
            {"action": ["s3:*"], "resource": ["*"]}
        ]}}
    }));
    let res = check::<RoleArgs>(CheckRequest { urn: urn("aws:iam:Role", "ci"), olds: None, news });
    assert!(res.failures.is_empty(), "{:?}", text(&res.failures));
    let w = text(&res.warnings);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].starts_with("inline_policies.admin.statement[1]: statement 1 of `inline_policies.admin`"), "{w:?}");
}

#[test]
fn check_fills_serde_defaults_at_any_depth_and_keeps_secrets() {
    let news = Value::from_json(&json!({
        "bucket": "b-1",
        "public_access_block": {"block_public_policy": false},
        "tags": {"owner": {"$cairn.secret": "alice"}}
    }));
    let res = check::<cairn_aws::BucketArgs>(CheckRequest { urn: urn("aws:s3:Bucket", "b"), olds: None, news });
    assert!(res.failures.is_empty(), "{:?}", text(&res.failures));
    let j = res.inputs.to_json();
    assert_eq!(j["versioning"], json!(true));
    assert_eq!(j["encryption"], json!({"algorithm": "AES256"}));
    assert_eq!(
        j["public_access_block"],
        json!({"block_public_acls": true, "ignore_public_acls": true, "block_public_policy": false, "restrict_public_buckets": true})
    );
    assert_eq!(j["tags"], json!({"owner": {"$cairn.secret": "alice"}}));
    assert!(res.inputs.get(DEFAULTS_KEY).is_none(), "the name was given");
}

#[test]
fn live_inputs_keep_the_recorded_defaults_list() {
    let recorded = Value::from_json(&json!({"name": "ci-1234567", "$cairn.defaults": ["name"]}));
    let live = RoleArgs::builder()
        .name("ci-1234567")
        .assume_role_policy(PolicyDocument::assume_role_for_service("eks.amazonaws.com"))
        .build();
    let v = live_inputs(&live, &recorded).unwrap();
    assert_eq!(v.get(DEFAULTS_KEY), recorded.get(DEFAULTS_KEY));
    assert_eq!(v.get("name").and_then(Value::as_str), Some("ci-1234567"));
}
