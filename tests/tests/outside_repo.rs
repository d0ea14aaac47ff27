//! A platform repository outside Cairn's workspace: it depends on the crates
//! by path, uses a built-in component and one of its own, and gets its AWS
//! plugin with cargo alone (no plugin variable: the plugin is built from the
//! Cairn source the program came from, into the plugin cache).

use std::path::{Path, PathBuf};

use cairn_tests::{Run, s3, unique};

/// The Cairn checkout these tests run from.
fn cairn_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_owned()
}

/// Copies the fixture repository into `dir`, pointing it at this checkout.
fn write_repo(dir: &Path, team: &str) {
    let fixture = cairn_root().join("tests").join("fixtures").join("outside-repo");
    let read = |p: &str| std::fs::read_to_string(fixture.join(p)).expect("fixture file");
    let root = cairn_root().display().to_string();
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(dir.join("Cargo.toml"), read("Cargo.toml.in").replace("@CAIRN@", &root)).unwrap();
    std::fs::write(dir.join("src").join("main.rs"), read("src/main.rs")).unwrap();
    std::fs::write(dir.join("Cairn.dev.toml"), read("Cairn.dev.toml").replace("@TEAM@", team)).unwrap();
    // The same dependency versions as Cairn's own build (cargo prunes what the repo does not use).
    std::fs::copy(cairn_root().join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
}

/// `cargo ARGS` in the repository, with the emulator's environment and no plugin variable.
fn cargo(dir: &Path, args: &[&str]) -> Run {
    let target = cairn_root().join("target").join("outside-repo");
    // Without the variables cargo set for this test binary, as a person's shell would be.
    let mut cmd = cairn_plugin::source_build::cargo_command(Path::new(
        &std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()),
    ));
    cmd.args(args)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", &target)
        .env("CAIRN_PLUGIN_CACHE", cairn_root().join("target").join("plugin-cache"))
        .env_remove("CAIRN_PLUGIN_AWS")
        .env_remove("CAIRN_PROJECT_DIR");
    cairn_tests::with_emulator(&mut cmd).output().expect("cargo runs").into()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_repository_outside_the_workspace_builds_finds_its_plugin_and_runs() {
    let team = unique("outside");
    let repo = tempfile::tempdir().unwrap();
    write_repo(repo.path(), &team);

    let up = cargo(repo.path(), &["run", "--quiet", "--", "up", "--yes", "--json"]);
    assert_eq!(up.code, 0, "up failed\nstdout:\n{}\nstderr:\n{}", up.stdout, up.stderr);
    let doc = up.json();
    let bucket = doc["outputs"]["raw_bucket"].as_str().expect("raw_bucket output").to_owned();
    assert!(doc["outputs"]["ingest_queue"].as_str().is_some_and(|u| u.contains("ingest-queue")), "{doc:#}");
    let ingest =
        doc["steps"].as_array().unwrap().iter().find(|s| s["type"] == "acme:data:Ingest").expect("the component");
    assert!(ingest["outputs"]["queue_url"].is_string(), "the component records its outputs: {ingest:#}");

    // The built-in component's defaults hold in the cloud.
    let s3 = s3().await;
    let tags = s3.get_bucket_tagging().bucket(&bucket).send().await.unwrap();
    let tag = |k: &str| tags.tag_set().iter().find(|t| t.key() == k).map(|t| t.value().to_owned());
    assert_eq!((tag("team"), tag("environment")), (Some(team.clone()), Some("dev".to_owned())));
    let versioning = s3.get_bucket_versioning().bucket(&bucket).send().await.unwrap();
    assert_eq!(versioning.status().map(|s| s.as_str()), Some("Enabled"));

    let again = cargo(repo.path(), &["run", "--quiet", "--", "preview", "--json"]).ok();
    assert!(again.ops().iter().all(|(_, op)| op == "same"), "{:?}", again.ops());

    // Its own component refuses bad arguments like a built-in one, before anything is planned.
    let config = std::fs::read_to_string(repo.path().join("Cairn.dev.toml")).unwrap();
    std::fs::write(repo.path().join("Cairn.dev.toml"), format!("{config}\n[config]\nretention_days = 0\n")).unwrap();
    let bad = cargo(repo.path(), &["run", "--quiet", "--", "preview"]);
    assert_ne!(bad.code, 0);
    assert!(
        bad.stderr.contains("component ingest (acme:data:Ingest): `retention_days` is 0; give 1 to 3653"),
        "{}",
        bad.stderr
    );
    std::fs::write(repo.path().join("Cairn.dev.toml"), config).unwrap();

    cargo(repo.path(), &["run", "--quiet", "--", "destroy", "--yes"]).ok();
    cairn_tests::assert_gone(s3.get_bucket_versioning().bucket(&bucket).send().await, "the raw bucket");
}
