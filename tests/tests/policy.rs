//! Policies on every plan, through the CLI against the emulator: a
//! deliberately bad program is refused with one message per violation and
//! nothing is created; without `[policy]` the same findings only warn.

use cairn_tests::{Project, unique};

fn config(bucket: &str, policy: &str) -> String {
    format!("[provider.aws]\nregion = \"us-east-1\"\n[config]\nbucket = \"{bucket}\"\n{policy}")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_program_is_refused_with_one_message_per_violation_and_nothing_is_created() {
    let bucket = unique("bad-site");
    let p = Project::new("bad-program");
    p.write_config("dev", &config(&bucket, "[policy]\n"));

    let up = p.run(&["up", "--yes", "--stack", "dev"]);
    assert_eq!(up.code, 1, "{}", up.stderr);
    for expected in [
        "ai/required-tags — urn:cairn:dev::bad-program::aws:sqs:Queue::jobs tags: has no `team`, `cost-center`, `environment` tags",
        "ai/training-on-spot — urn:cairn:dev::bad-program::aws:eks:NodeGroup::train-nodes capacity_type: training nodes are on-demand",
        "ai/node-group-cap — urn:cairn:dev::bad-program::aws:eks:NodeGroup::train-nodes scaling.max_size: may grow to 40 GPU nodes; the cap is 16",
        "ai/gpu-instance-types — urn:cairn:dev::bad-program::aws:eks:NodeGroup::train-nodes instance_types[0]: GPU instance type `p4d.24xlarge` is not allowed",
        "ai/s3-public-access-block — urn:cairn:dev::bad-program::aws:s3:Bucket::site public_access_block.block_public_policy",
        "ai/iam-no-wildcard-action — urn:cairn:dev::bad-program::aws:iam:Role::trainer inline_policies.everything.statement[0].action[0]: allows the wildcard action `*`",
    ] {
        assert_eq!(
            up.stderr.matches(expected).count(),
            2,
            "`{expected}` listed, then named in the refusal:\n{}",
            up.stderr
        );
    }
    assert!(up.stderr.contains("mandatory policy violation(s); nothing was applied"), "{}", up.stderr);
    // Nothing was applied: no state, no bucket.
    let state = p.run(&["state", "export", "--stack", "dev"]).ok().json();
    assert_eq!(state["resources"].as_array().map(Vec::len), Some(0), "{state:#}");
    let s3 = cairn_tests::s3().await;
    cairn_tests::assert_gone(s3.head_bucket().bucket(&bucket).send().await, "the public bucket");

    // Preview says the same, as JSON too, and fails.
    let preview = p.run(&["preview", "--json", "--stack", "dev"]);
    assert_eq!(preview.code, 1, "{}", preview.stderr);
    let doc = preview.json();
    let violations = doc["policy"]["violations"].as_array().unwrap();
    let mandatory: Vec<&str> =
        violations.iter().filter(|v| v["level"] == "mandatory").map(|v| v["policy"].as_str().unwrap()).collect();
    assert_eq!(mandatory.len(), 10, "{mandatory:?}");
    assert!(violations.iter().all(|v| v["urn"].is_string() && v["fix"].is_string() && v["property"].is_string()));

    // An exception waives one policy for one resource, and the reason shows.
    let waived = "[policy]\n[[policy.exception]]\npolicy = \"ai/s3-public-access-block\"\nresource = \"site\"\nreason = \"static site, SEC-7\"\n";
    p.write_config("dev", &config(&bucket, waived));
    let preview = p.run(&["preview", "--stack", "dev"]);
    assert!(
        preview.stderr.contains("~ waived ai/s3-public-access-block")
            && preview.stderr.contains("exception: static site, SEC-7"),
        "{}",
        preview.stderr
    );

    // Without [policy], the same findings only warn.
    p.write_config("dev", &config(&bucket, ""));
    let preview = p.run(&["preview", "--stack", "dev"]).ok();
    assert!(preview.stderr.contains("! advisory ai/node-group-cap"), "{}", preview.stderr);

    // A level or exception naming no policy is refused, naming the file.
    p.write_config("dev", &config(&bucket, "[policy.levels]\n\"ai/tags\" = \"advisory\"\n"));
    let bad = p.run(&["preview", "--stack", "dev"]);
    assert_eq!(bad.code, 1);
    assert!(bad.stderr.contains("Cairn.dev.toml: [policy] names `ai/tags`, which is no policy here"), "{}", bad.stderr);
    p.write_config("dev", &config(&bucket, "[policy]\nlevel = 3\n"));
    let bad = p.run(&["preview", "--stack", "dev"]);
    assert!(bad.stderr.contains("[policy] is not valid") && bad.stderr.contains("level"), "{}", bad.stderr);
}

/// The example's Rego policy, alone (no built-in pack), blocks the bad
/// program's on-demand GPU node group in dev: nothing is created.
#[tokio::test(flavor = "multi_thread")]
async fn the_example_rego_policy_blocks_an_up_and_nothing_is_created() {
    let rego = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .join("examples/ai-platform/policies/gpu_spot_outside_prod.rego");
    let bucket = unique("rego-site");
    let p = Project::new("bad-program");
    let policy = format!("[policy]\npacks = []\n[[policy.rego]]\nfile = {:?}\n", rego.display().to_string());
    p.write_config("dev", &config(&bucket, &policy));

    let up = p.run(&["up", "--yes", "--stack", "dev"]);
    assert_eq!(up.code, 1, "{}", up.stderr);
    let expected = "acme.gpu_spot_outside_prod — urn:cairn:dev::bad-program::aws:eks:NodeGroup::train-nodes capacity_type: \
                    GPU nodes (p4d.24xlarge) on ON_DEMAND capacity outside prod";
    assert!(up.stderr.contains(expected), "{}", up.stderr);
    assert!(up.stderr.contains("1 mandatory policy violation(s); nothing was applied"), "{}", up.stderr);
    assert!(!up.stderr.contains("ai/"), "the built-in pack is off: {}", up.stderr);
    let state = p.run(&["state", "export", "--stack", "dev"]).ok().json();
    assert_eq!(state["resources"].as_array().map(Vec::len), Some(0), "{state:#}");
    cairn_tests::assert_gone(cairn_tests::s3().await.head_bucket().bucket(&bucket).send().await, "the bucket");

    // The same program in prod passes the Rego policy.
    p.write_config("prod", &config(&bucket, &policy));
    let preview = p.run(&["preview", "--json", "--stack", "prod"]).ok();
    assert_eq!(preview.json()["policy"]["violations"], serde_json::json!([]));

    // A Rego file that does not parse is refused, naming it.
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.rego");
    std::fs::write(&broken, "package acme.broken\ndeny contains if {\n").unwrap();
    let policy = format!("[policy]\n[[policy.rego]]\nfile = {:?}\n", broken.display().to_string());
    p.write_config("dev", &config(&bucket, &policy));
    let bad = p.run(&["preview", "--stack", "dev"]);
    assert_eq!(bad.code, 1);
    assert!(bad.stderr.contains("broken.rego does not parse"), "{}", bad.stderr);
}

/// A plan document saved by `preview --policy-input` becomes a test case of
/// its own: `policy test` runs the stack's policies over it, and checks the
/// violations it expects.
#[test]
fn saved_plan_documents_are_policy_test_cases() {
    let p = Project::new("bad-program");
    p.write_config("dev", &config(&unique("doc-site"), "[policy]\n"));
    let doc = p.dir.path().join("bad-plan.json");
    let preview = p.run(&["preview", "--stack", "dev", "--policy-input", doc.to_str().unwrap()]);
    assert_eq!(preview.code, 1, "mandatory violations: {}", preview.stderr);
    let mut json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&doc).unwrap()).unwrap();
    assert_eq!(json["version"], 1);
    assert_eq!(json["resources"].as_array().map(Vec::len), Some(4), "{json:#}");

    // Without expectations, the mandatory violations fail the test.
    let test = p.run(&["policy", "test", "--stack", "dev", doc.to_str().unwrap()]);
    assert_eq!(test.code, 1);
    assert!(test.stderr.contains("FAILED") && test.stderr.contains("10 mandatory violation(s)"), "{}", test.stderr);

    // With the expected violations listed, it passes; with one missing, it names it.
    let node_group = "urn:cairn:dev::bad-program::aws:eks:NodeGroup::train-nodes";
    let mut expected: Vec<serde_json::Value> =
        ["ai/required-tags", "ai/gpu-instance-types", "ai/node-group-cap", "ai/training-on-spot"]
            .iter()
            .map(|policy| serde_json::json!({"policy": policy, "urn": node_group}))
            .collect();
    for (policy, name) in [
        ("ai/required-tags", "aws:sqs:Queue::jobs"),
        ("ai/required-tags", "aws:s3:Bucket::site"),
        ("ai/s3-public-access-block", "aws:s3:Bucket::site"),
        ("ai/s3-public-access-block", "aws:s3:Bucket::site"),
        ("ai/required-tags", "aws:iam:Role::trainer"),
        ("ai/iam-no-wildcard-action", "aws:iam:Role::trainer"),
    ] {
        expected.push(serde_json::json!({"policy": policy, "urn": format!("urn:cairn:dev::bad-program::{name}")}));
    }
    json["expect"] = serde_json::Value::Array(expected.clone());
    std::fs::write(&doc, json.to_string()).unwrap();
    let test = p.run(&["policy", "test", "--stack", "dev", doc.to_str().unwrap()]);
    assert_eq!(test.code, 0, "{}", test.stderr);
    assert!(test.stderr.contains("ok ") && test.stderr.contains("10 violation(s), as expected"), "{}", test.stderr);

    expected.retain(|e| e["policy"] != "ai/training-on-spot");
    json["expect"] = serde_json::Value::Array(expected);
    std::fs::write(&doc, json.to_string()).unwrap();
    let test = p.run(&["policy", "test", "--stack", "dev", "--json", doc.to_str().unwrap()]);
    assert_eq!(test.code, 1);
    let report = test.json();
    assert_eq!(report["failed"], 1);
    let verdict = report["files"][0]["verdict"].as_str().unwrap();
    assert_eq!(verdict, format!("found but not expected: ai/training-on-spot on {node_group}"));
}

/// A budget below the plan's estimate refuses `up`, naming the largest
/// contributors; the preview shows the monthly cost, as JSON too.
#[tokio::test(flavor = "multi_thread")]
async fn a_budget_below_the_estimate_blocks_up() {
    let bucket = unique("budget-site");
    let p = Project::new("bad-program");
    p.write_config("dev", &config(&bucket, "[policy]\npacks = []\n[cost]\nbudget = 1000.0\n"));

    let up = p.run(&["up", "--yes", "--stack", "dev"]);
    assert_eq!(up.code, 1, "{}", up.stderr);
    // Two p4d.24xlarge on demand: 2 × $32.7726/h × 730 h.
    assert!(
        up.stderr.contains(
            "cost/budget — stack dev cost.budget: the estimate $47848.00/month exceeds the budget $1000.00; largest: \
             train-nodes $47848.00"
        ),
        "{}",
        up.stderr
    );
    assert!(up.stderr.contains("Cost (monthly, us-east-1): $0.00 → $47,848.00"), "{}", up.stderr);
    let state = p.run(&["state", "export", "--stack", "dev"]).ok().json();
    assert_eq!(state["resources"].as_array().map(Vec::len), Some(0));
    cairn_tests::assert_gone(cairn_tests::s3().await.head_bucket().bucket(&bucket).send().await, "the bucket");

    // Within budget (and with a usage assumption for the bucket), the preview passes and prices it.
    p.write_config(
        "dev",
        &config(&bucket, "[policy]\npacks = []\n[cost]\nbudget = 50000.0\n[cost.usage]\ns3_gb_per_bucket = 100.0\n"),
    );
    let preview = p.run(&["preview", "--json", "--stack", "dev"]).ok();
    let cost = &preview.json()["cost"];
    assert!((cost["after"].as_f64().unwrap() - (47_847.996 + 2.3)).abs() < 0.01, "{cost:#}");
    assert!((cost["after_max"].as_f64().unwrap() - (40.0 * 23_923.998 + 2.3)).abs() < 0.1, "{cost:#}");
    let nodes = cost["resources"].as_array().unwrap().iter().find(|r| r["type"] == "aws:eks:NodeGroup").unwrap();
    assert_eq!(nodes["after"]["status"], "known");
    // Every resource's estimate is in the document policies read.
    let doc = p.dir.path().join("doc.json");
    p.run(&["preview", "--stack", "dev", "--policy-input", doc.to_str().unwrap()]).ok();
    let doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&doc).unwrap()).unwrap();
    let priced = doc["resources"].as_array().unwrap().iter().find(|r| r["type"] == "aws:eks:NodeGroup").unwrap();
    assert!((priced["cost"]["desired"].as_f64().unwrap() - 47_847.996).abs() < 0.01, "{priced:#}");

    // A budget that is no amount is refused, naming the file.
    p.write_config("dev", &config(&bucket, "[cost]\nbudget = 0.0\n"));
    let bad = p.run(&["preview", "--stack", "dev"]);
    assert!(bad.code == 1 && bad.stderr.contains("Cairn.dev.toml: [cost] budget = 0 is no budget"), "{}", bad.stderr);
    let queue = cost["resources"].as_array().unwrap().iter().find(|r| r["type"] == "aws:sqs:Queue").unwrap();
    assert_eq!(queue["after"], serde_json::json!({"assumption": "sqs_requests_million", "status": "needs_usage"}));
}
