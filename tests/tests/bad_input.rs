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

/// Every file under the project's `.cairn` directory, with its bytes.
fn state_bytes(p: &Project) -> std::collections::BTreeMap<std::path::PathBuf, Vec<u8>> {
    fn walk(dir: &std::path::Path, out: &mut std::collections::BTreeMap<std::path::PathBuf, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.file_name().is_some_and(|n| n != "lock") {
                out.insert(path.clone(), std::fs::read(&path).expect("read a state file"));
            }
        }
    }
    let mut out = std::collections::BTreeMap::new();
    walk(&p.dir.path().join(".cairn"), &mut out);
    out
}

/// A stack of the `random` program, brought up with `config`, and its state's bytes.
fn random_stack(config: &str) -> Project {
    let p = Project::new("random-program");
    p.write_config("dev", config);
    p.run(&["up", "--yes"]).ok();
    p
}

/// Runs `args` after `spoil` and asserts the run fails naming each of
/// `needles`, and that the stack's state files are byte-for-byte what they
/// were after `spoil`.
fn refused_leaving_state(p: &Project, spoil: impl FnOnce(&Project), args: &[&str], needles: &[&str]) {
    spoil(p);
    let before = state_bytes(p);
    assert!(!before.is_empty(), "the stack has state to protect");
    let run = p.run(args);
    assert_ne!(run.code, 0, "{args:?} must fail: {run:?}");
    for n in needles {
        assert!(run.stderr.contains(n), "stderr of {args:?} lacks `{n}`:\n{}", run.stderr);
    }
    assert!(state_bytes(p) == before, "{args:?} changed the state files");
}

fn state_file(p: &Project) -> std::path::PathBuf {
    p.state_dir("random-program", "dev").join("state.json")
}

#[test]
fn bad_input_against_an_existing_stack_leaves_its_state_byte_for_byte() {
    let p = random_stack("");
    // A config that does not parse, or is cut short.
    refused_leaving_state(
        &p,
        |p| p.write_config("dev", "[config]\nrotation = \"r2"),
        &["up", "--yes"],
        &["Cairn.dev.toml", "line 2"],
    );
    // A value of the wrong type.
    refused_leaving_state(
        &p,
        |p| p.write_config("dev", "[config]\nrotation = 5\n"),
        &["up", "--yes"],
        &["config value `rotation` in", "is not a valid String"],
    );
    // A setting the provider does not know (refused when the provider starts: here, for a new password).
    refused_leaving_state(
        &p,
        |p| p.write_config("dev", "[provider.random]\nbogus = 1\n[config]\nrotation = \"r2\"\n"),
        &["up", "--yes"],
        &["[provider.random]", "unknown setting `bogus`"],
    );
    p.write_config("dev", "");
    // A state backend that cannot be reached.
    refused_leaving_state(
        &p,
        |_| {},
        &["up", "--yes", "--backend", "postgres://cairn@127.0.0.1:1/cairn"],
        &["127.0.0.1:1"],
    );
    // A saved plan made before the state moved on.
    let plan = p.dir.path().join("plan.json");
    p.run(&["preview", "--out", plan.to_str().unwrap()]).ok();
    p.write_config("dev", "[config]\nrotation = \"r2\"\n");
    p.run(&["up", "--yes"]).ok();
    refused_leaving_state(&p, |_| {}, &["up", "--plan", plan.to_str().unwrap()], &["serial"]);
    // A state exported from another stack (another lineage).
    let other = random_stack("");
    let foreign = other.dir.path().join("other.json");
    std::fs::write(&foreign, other.run(&["state", "export"]).ok().stdout).unwrap();
    refused_leaving_state(&p, |_| {}, &["state", "import", foreign.to_str().unwrap()], &["lineage"]);
    // A state file that is no longer JSON.
    refused_leaving_state(
        &p,
        |p| {
            let text = std::fs::read(state_file(p)).unwrap();
            std::fs::write(state_file(p), &text[..text.len() / 2]).unwrap();
        },
        &["up", "--yes"],
        &["state.json"],
    );
}

#[test]
fn a_wrong_passphrase_is_refused_and_the_sealed_state_stays_as_it_was() {
    let p = Project::new("random-program");
    p.write_config("dev", "secrets = \"passphrase\"\n");
    let run = p.command(&["up", "--yes"]).env("CAIRN_PASSPHRASE", "correct horse battery staple").output().unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let before = state_bytes(&p);
    let run = p.command(&["up", "--yes"]).env("CAIRN_PASSPHRASE", "wrong").output().unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success(), "a wrong passphrase must fail");
    assert!(stderr.contains("passphrase"), "{stderr}");
    assert!(state_bytes(&p) == before, "a refused run changed the state files");
}

#[test]
fn a_journal_damaged_before_its_last_line_is_refused_naming_the_line() {
    let p = random_stack("");
    // A torn last line is a crash's trace and is recovered; a bad line with
    // entries after it is damage that no crash explains.
    refused_leaving_state(
        &p,
        |p| {
            let journal = p.state_dir("random-program", "dev").join("journal.jsonl");
            std::fs::write(
                journal,
                "{\"entry\":\"commit\",\"ser\n{\"entry\":\"abort\",\"serial\":99,\"op\":0,\"reason\":\"x\"}\n",
            )
            .unwrap();
        },
        &["up", "--yes"],
        &["journal.jsonl", "line 1"],
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_aws_credentials_are_refused_before_anything_changes() {
    let team = unique("nocreds");
    let p = Project::new("test-platform");
    p.write_config("dev", &platform_config(&team, ""));
    p.run(&["up", "--yes"]).ok();
    let before = state_bytes(&p);
    // A new resource to create, and no credentials anywhere: not in the
    // environment, no profile file (an empty home), no instance metadata.
    p.write_config("dev", &platform_config(&team, "datasets_bucket = true\n"));
    let home = tempfile::tempdir().unwrap();
    let run: cairn_tests::Run = p
        .command(&["up", "--yes"])
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env("HOME", home.path())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap()
        .into();
    assert_ne!(run.code, 0, "{run:?}");
    for needle in ["[provider.aws]", "no AWS credentials", "AWS_ACCESS_KEY_ID", "AWS_PROFILE"] {
        assert!(run.stderr.contains(needle), "stderr lacks `{needle}`:\n{}", run.stderr);
    }
    assert!(run.stderr.len() < 2000, "said once, plainly:\n{}", run.stderr);
    assert!(state_bytes(&p) == before, "a refused run changed the state files");
    p.run(&["destroy", "--yes"]).ok();
}
