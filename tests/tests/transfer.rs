//! Moving a stack's state between backends with `state export` / `state import`.

use cairn_tests::{Project, platform_config, postgres_url, unique};

#[test]
fn a_state_moves_from_the_file_store_to_postgres_and_keeps_working() {
    let stack = unique("mv");
    let p = Project::new("test-platform");
    p.write_config(&stack, &platform_config(&unique("mv"), ""));
    let on = |backend: Option<&str>, args: &[&str]| {
        let mut a: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        a.extend(["--stack".to_owned(), stack.clone()]);
        if let Some(b) = backend {
            a.extend(["--backend".to_owned(), b.to_owned()]);
        }
        p.run(&a.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let pg = postgres_url();

    on(None, &["up", "--yes"]).ok();
    let exported = on(None, &["state", "export"]).ok();
    let file = p.dir.path().join("exported.json");
    std::fs::write(&file, &exported.stdout).unwrap();

    let imported = on(Some(&pg), &["state", "import", file.to_str().unwrap()]).ok();
    assert!(imported.stderr.contains("imported 10 resources"), "{}", imported.stderr);
    let preview = on(Some(&pg), &["preview", "--json"]).ok();
    assert!(preview.ops().iter().all(|(_, op)| op == "same"), "the moved state matches the cloud: {:?}", preview.ops());

    let history = on(Some(&pg), &["state", "history", "--json"]).ok().json();
    let versions = history["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 1);
    assert_eq!(versions[0]["operation"], "import");
    assert_eq!(versions[0]["changes"]["created"], 10);

    // Another stack's history is refused, naming stack and backend; nothing changes.
    let mut foreign: serde_json::Value = serde_json::from_str(&exported.stdout).unwrap();
    foreign["lineage"] = "00000000-0000-0000-0000-000000000000".into();
    foreign["serial"] = 999.into();
    std::fs::write(&file, foreign.to_string()).unwrap();
    let refused = on(Some(&pg), &["state", "import", file.to_str().unwrap()]);
    assert_eq!(refused.code, 1);
    assert!(refused.stderr.contains("lineage") && refused.stderr.contains(&stack), "{}", refused.stderr);
    assert!(refused.stderr.contains("postgres://"), "names the backend: {}", refused.stderr);
    let after = on(Some(&pg), &["state", "history", "--json"]).ok().json();
    assert_eq!(after["versions"].as_array().unwrap().len(), 1, "nothing was written");

    on(Some(&pg), &["destroy", "--yes"]).ok();
}

#[test]
fn an_unreachable_backend_is_refused_naming_stack_and_backend() {
    let stack = unique("down");
    let p = Project::new("test-platform");
    p.write_config(&stack, &platform_config(&unique("down"), ""));
    let run = p.run(&["up", "--yes", "--stack", &stack, "--backend", "postgres://nobody@127.0.0.1:1/none"]);
    assert_eq!(run.code, 1);
    for needle in ["postgres://nobody@127.0.0.1:1/none", &format!("`{stack}`"), "connect"] {
        assert!(run.stderr.contains(needle), "`{needle}` missing: {}", run.stderr);
    }
}
