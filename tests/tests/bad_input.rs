//! Bad input is refused with an error naming the file, field or resource and
//! the fix; the exit code is non-zero and no state is written.

use cairn_tests::{Project, platform_config, unique};

fn assert_refused(p: &Project, args: &[&str], needles: &[&str]) {
    let run = p.run(args);
    assert_ne!(run.code, 0, "must fail: {run:?}");
    for n in needles {
        assert!(run.stderr.contains(n), "stderr lacks `{n}`:\n{}", run.stderr);
    }
    assert!(!p.state_dir("test-platform", "dev").join("state.json").exists(), "no state may be written on bad input");
}

#[test]
fn an_unparseable_stack_config_names_the_file_and_line() {
    let p = Project::new("test-platform");
    p.write_config("dev", "[config\nsubnet_ids = [");
    assert_refused(&p, &["up", "--yes"], &["Cairn.dev.toml is not a valid stack config", "line 1"]);
}

#[test]
fn a_missing_required_config_value_says_what_to_add() {
    let _ = cairn_tests::aws_endpoint();
    let p = Project::new("test-platform");
    p.write_config("dev", "[tags]\nteam = \"x\"\ncost-center = \"1\"\n");
    assert_refused(
        &p,
        &["preview"],
        &[
            "missing config value `availability_zones` in Cairn.dev.toml",
            "add `availability_zones = ...` under [config]",
        ],
    );
}

#[test]
fn a_missing_stack_config_says_how_to_create_it() {
    let p = Project::new("test-platform");
    assert_refused(&p, &["preview", "--stack", "prod"], &["stack `prod` has no config file", "Cairn.prod.toml"]);
}

#[test]
fn min_above_max_in_a_node_group_is_refused_before_anything_is_created() {
    let p = Project::new("test-platform");
    p.write_config(
        "dev",
        &platform_config(&unique("bad"), "gpu_min_size = 3\ngpu_max_size = 2\ngpu_desired_size = 3\n"),
    );
    assert_refused(
        &p,
        &["up", "--yes"],
        &[
            "component gpu (cairn:ai:GpuNodePool)",
            "`min_size` (3) is above max_size (2)",
            "lower min_size or raise max_size",
        ],
    );
}
