//! Import by ID: the example platform, created in one state, is adopted into
//! a fresh state with `--import NAME=ID`; afterwards `preview` shows no
//! change. A mismatching program or a missing ID is refused, writing nothing.

use cairn_tests::{Project, platform_config, unique};

/// `--import URN=ID` for every custom resource of the exported state.
fn import_args(exported: &serde_json::Value) -> Vec<String> {
    exported["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .filter(|r| r["kind"] == "custom")
        .flat_map(|r| ["--import".to_owned(), format!("{}={}", r["urn"].as_str().unwrap(), r["id"].as_str().unwrap())])
        .collect()
}

fn with<'a>(base: &[&'a str], extra: &'a [String]) -> Vec<&'a str> {
    base.iter().copied().chain(extra.iter().map(String::as_str)).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_platform_is_imported_into_a_fresh_state_and_then_unchanged() {
    let (stack, team) = (unique("imp"), unique("imp"));
    let p = Project::new("test-platform");
    p.write_config(&stack, &platform_config(&team, ""));
    p.run(&["up", "--yes", "--stack", &stack]).ok();
    let exported = p.run(&["state", "export", "--stack", &stack]).ok().json();
    let imports = import_args(&exported);
    assert_eq!(
        imports.len(),
        2 * 7,
        "two roles, a key, a bucket, a cluster, its OIDC provider, a node group: {imports:?}"
    );

    let fresh = tempfile::tempdir().unwrap();
    let fresh_url = format!("file://{}", fresh.path().display());
    let base = ["--stack", stack.as_str(), "--backend", fresh_url.as_str()];

    // A missing ID: refused, nothing written.
    let mut bogus = imports.clone();
    let bucket = bogus.iter().position(|a| a.contains("aws:s3:Bucket")).unwrap();
    let (urn, _) = bogus[bucket].split_once('=').unwrap();
    bogus[bucket] = format!("{urn}=no-such-bucket-{}", unique("x"));
    let run = p.run(&with(&with(&["up", "--yes"], &bogus), &base.map(str::to_owned)));
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("cannot import") && run.stderr.contains("no-such-bucket"), "{}", run.stderr);
    let state = p.run(&with(&["state", "export"], &base.map(str::to_owned))).ok().json();
    assert_eq!((state["serial"].as_u64(), state["resources"].as_array().map(Vec::len)), (Some(0), Some(0)));

    // The plan: every custom resource imported, every component recorded.
    let plan = p.run(&with(&with(&["preview", "--json"], &imports), &base.map(str::to_owned))).ok();
    let ops = plan.ops();
    assert_eq!(ops.iter().filter(|(_, op)| op == "import").count(), 7, "{ops:?}");
    assert!(ops.iter().all(|(_, op)| op == "import" || op == "create"), "{ops:?}");
    assert_eq!(plan.json()["summary"]["import"], 7);

    let up = p.run(&with(&with(&["up", "--yes", "--json"], &imports), &base.map(str::to_owned))).ok();
    assert_eq!(up.json()["succeeded"], true);
    let again = p.run(&with(&["preview", "--json"], &base.map(str::to_owned))).ok();
    assert!(again.ops().iter().all(|(_, op)| op == "same"), "imported state matches the program: {:?}", again.ops());
    let imported = p.run(&with(&["state", "export"], &base.map(str::to_owned))).ok().json();
    // Steps run in parallel, so records may come in another order.
    let ids = |state: &serde_json::Value| {
        let mut v: Vec<(String, String)> = state["resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["urn"].to_string(), r["id"].to_string()))
            .collect();
        v.sort();
        v
    };
    assert_eq!(ids(&exported), ids(&imported), "same resources, same IDs");
    cairn_tests::assert_platform_exists_once(&team, "after the import").await;

    // A program that differs from the live resources: refused, naming the property.
    let other = tempfile::tempdir().unwrap();
    let other_url = format!("file://{}", other.path().display());
    p.write_config(&stack, &platform_config(&team, "gpu_max_size = 3\n"));
    let run = p.run(&with(&["up", "--yes", "--stack", &stack, "--backend", &other_url], &imports));
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("scaling.max_size") && run.stderr.contains("live 2"), "{}", run.stderr);
    let state = p.run(&["state", "export", "--stack", &stack, "--backend", &other_url]).ok().json();
    assert_eq!((state["serial"].as_u64(), state["resources"].as_array().map(Vec::len)), (Some(0), Some(0)));
    p.write_config(&stack, &platform_config(&team, ""));

    p.run(&with(&["destroy", "--yes"], &base.map(str::to_owned))).ok();
    assert!(cairn_tests::team_roles(&team).await.is_empty() && cairn_tests::team_clusters(&team).await.is_empty());
}
