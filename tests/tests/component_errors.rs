//! Each built-in component refuses an invalid argument before anything is
//! planned: the error names the component, its type, the field and the fix;
//! the exit code is non-zero; no state is written (nor any cloud call made:
//! the emulator is not even needed).

use cairn_tests::Project;

/// (component type, declared name, field, a piece of the fix).
const CASES: [(&str, &str, &str, &str); 11] = [
    ("BaseNetwork", "net", "`cidr_block`", "give a /16 to /24 network range"),
    ("EksCluster", "ai", "`public_access_cidrs`", "list the networks that may reach it"),
    ("GpuNodePool", "gpu", "`instance_types[0]`", "use an NVIDIA GPU family"),
    ("CpuNodePool", "cpu", "`max_size`", "raise max_nodes_cap deliberately"),
    ("ArtifactBucket", "artifacts", "`infrequent_access_after_days`", "give 30 or more"),
    ("ModelRegistry", "registry", "`promoters`", "list the IAM role ARNs that promote models"),
    ("InferenceService", "llm", "`max_replicas`", "raise max_replicas_cap deliberately"),
    ("TrainingPipeline", "train", "`checkpoint_interval_minutes`", "use CapacityType::OnDemand"),
    ("FeatureStore", "features", "`namespace`", "lowercase letters, digits and dashes"),
    ("DataPreprocessing", "prep", "`output.prefix`", "separate from the input"),
    ("MonitoringStack", "monitoring", "`budget_emails`", "list at least one address"),
];

#[test]
fn every_component_refuses_an_invalid_argument_naming_field_and_fix() {
    for (ty, name, field, fix) in CASES {
        let p = Project::new("component-errors");
        p.write_config("dev", "[tags]\nteam = \"ml\"\ncost-center = \"1\"\n");
        for command in [&["preview"][..], &["up", "--yes"][..]] {
            let run = p.command(command).env("CAIRN_TEST_COMPONENT", ty).output().expect("runs");
            let stderr = String::from_utf8_lossy(&run.stderr);
            assert_ne!(run.status.code(), Some(0), "{ty}: must fail");
            let head = format!("component {name} (cairn:ai:{ty}): {field}");
            assert!(stderr.contains(&head) && stderr.contains(fix), "{ty}: stderr lacks `{head}` … `{fix}`:\n{stderr}");
        }
        assert!(!p.state_dir("component-errors", "dev").exists(), "{ty}: nothing may be written");
    }
}

#[test]
fn a_component_without_cost_tags_says_which_line_to_add() {
    let p = Project::new("component-errors");
    p.write_config("dev", "[tags]\nteam = \"ml\"\n");
    let run = p.command(&["preview"]).env("CAIRN_TEST_COMPONENT", "ArtifactBucketValid").output().expect("runs");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_ne!(run.status.code(), Some(0));
    assert!(
        stderr.contains("component artifacts (cairn:ai:ArtifactBucket): `tags` lack the cost tag `cost-center`")
            && stderr.contains("add `cost-center = \"...\"` under [tags] in Cairn.dev.toml"),
        "{stderr}"
    );
}
