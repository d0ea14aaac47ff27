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
