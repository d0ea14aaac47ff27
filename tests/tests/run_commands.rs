//! The commands around a run, on a program of `random` resources (no cloud):
//! `preview --detailed-exitcode` and `--expect-no-changes` (for CI gates),
//! `up --expect-no-changes`, `stack output` (secrets masked unless asked) and
//! `graph` (the dependency graph as DOT).

use cairn_tests::Project;

#[test]
fn exit_codes_outputs_and_the_graph() {
    let p = Project::new("random-program");
    p.write_config("dev", "backend = \"file://.cairn\"\n");
    let run = |args: &[&str]| p.run(args);

    // Before the first `up`: changes, so exit 2; --expect-no-changes fails naming them.
    let before = run(&["preview", "--detailed-exitcode"]);
    assert_eq!(before.code, 2, "changes: exit 2\n{}", before.stderr);
    let gate = run(&["preview", "--expect-no-changes"]);
    assert_eq!(gate.code, 1);
    assert!(gate.stderr.contains("has changes to make (3 to create)"), "{}", gate.stderr);
    let refused = run(&["up", "--yes", "--expect-no-changes"]);
    assert_eq!(refused.code, 1);
    assert!(refused.stderr.contains("the plan has changes (3 to create); nothing was applied"), "{}", refused.stderr);
    assert!(run(&["stack", "output"]).stderr.contains("has not been brought up"), "nothing was applied");

    run(&["up", "--yes"]).ok();
    assert_eq!(run(&["preview", "--detailed-exitcode", "--expect-no-changes"]).code, 0, "no changes: exit 0");
    run(&["up", "--yes", "--expect-no-changes"]).ok();

    // Outputs: all of them with the secret masked, one bare for scripts, secrets only when asked.
    let all = run(&["stack", "output", "--json"]).ok().json();
    assert_eq!(all["outputs"]["db_password"], "[secret]");
    let suffix = all["outputs"]["suffix"].as_str().unwrap().to_owned();
    assert_eq!(suffix.len(), 8, "4 bytes in hex: {suffix}");
    assert_eq!(run(&["stack", "output", "suffix"]).ok().stdout.trim(), suffix);
    assert_eq!(run(&["stack", "output", "db_password"]).ok().stdout.trim(), "[secret]");
    let password = run(&["stack", "output", "db_password", "--show-secrets"]).ok().stdout.trim().to_owned();
    assert_eq!(password.chars().count(), 20);
    let missing = run(&["stack", "output", "nope"]);
    assert!(missing.code != 0 && missing.stderr.contains("its outputs: db_password, suffix"), "{}", missing.stderr);

    // A changed rotation replaces the password: a change for the gates again.
    p.write_config("dev", "backend = \"file://.cairn\"\n[config]\nrotation = \"r2\"\n");
    assert_eq!(run(&["preview", "--detailed-exitcode"]).code, 2);
    let gate = run(&["preview", "--expect-no-changes"]);
    assert!(gate.stderr.contains("(1 to replace)"), "{}", gate.stderr);
    let md = run(&["preview", "--markdown"]).ok().stdout;
    assert!(md.contains("| ± | `db` | `random:index:Password` | replace (forced by keepers.rotation) |"), "{md}");
    assert!(md.contains("! keepers.rotation: \"r1\" => \"r2\""), "the property diff, folded: {md}");
    assert!(run(&["preview", "--markdown", "--json"]).code != 0, "one format at a time");

    // The graph: every resource, and the edge `build` waits on.
    let dot = run(&["graph"]).ok().stdout;
    assert!(dot.starts_with("digraph \"random-program/dev\" {"), "{dot}");
    for name in ["db", "suffix", "build"] {
        assert!(dot.contains(&format!("\\n{name}\"")), "{name} is a node: {dot}");
    }
    assert!(
        dot.contains("\"urn:cairn:dev::random-program::random:index:Id::suffix\" -> \"urn:cairn:dev::random-program::random:index:Id::build\";"),
        "{dot}"
    );
    run(&["destroy", "--yes"]).ok();
}

/// `preview --out FILE` saves the plan; `up --plan FILE` applies exactly it,
/// and refuses, naming what moved, when the program, the state or a
/// provider's version changed since.
#[test]
fn saved_plans_apply_exactly_what_was_reviewed() {
    let p = Project::new("random-program");
    let config = |rotation: &str| format!("backend = \"file://.cairn\"\n[config]\nrotation = \"{rotation}\"\n");
    p.write_config("dev", &config("r1"));
    let run = |args: &[&str]| p.run(args);
    let plan_path = |name: &str| p.dir.path().join(name).display().to_string();
    run(&["up", "--yes"]).ok();

    // Saved, then applied: the same steps, nothing more, and no question asked.
    p.write_config("dev", &config("r2"));
    let saved = plan_path("rotate.json");
    let preview = run(&["preview", "--out", &saved]).ok();
    assert!(
        preview.stderr.contains("Saved the plan to") && preview.stderr.contains("(1 to replace)"),
        "{}",
        preview.stderr
    );
    let file: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&saved).unwrap()).unwrap();
    assert!(file["created_by"].as_str().is_some_and(|w| w.contains('@')), "who made it: {file:#}");
    assert!(file["created_at"].as_str().is_some_and(|t| t.starts_with("20")), "when: {file:#}");
    assert_eq!(file["providers"]["random"], env!("CARGO_PKG_VERSION"), "{file:#}");
    let saved_ops: Vec<(String, String)> = file["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (s["urn"].as_str().unwrap().rsplit("::").next().unwrap().to_owned(), s["op"].as_str().unwrap().to_owned())
        })
        .collect();
    assert_eq!(
        saved_ops,
        [("db".into(), "replace".into()), ("suffix".into(), "same".into()), ("build".into(), "same".into())]
    );
    let applied = run(&["up", "--plan", &saved, "--json"]).ok();
    let applied_ops: Vec<(String, String)> =
        applied.ops().into_iter().map(|(u, op)| (u.rsplit("::").next().unwrap().to_owned(), op)).collect();
    assert_eq!(applied_ops, saved_ops, "exactly the saved steps");
    assert_eq!(run(&["preview", "--detailed-exitcode"]).code, 0, "the cloud matches the program");

    // The program moved: the changed input is named, nothing is applied.
    p.write_config("dev", &config("r3"));
    let stale = plan_path("r3.json");
    run(&["preview", "--out", &stale]).ok();
    p.write_config("dev", &config("r4"));
    let serial = || run(&["state", "export"]).ok().json()["serial"].as_u64().unwrap();
    let before = serial();
    let refused = run(&["up", "--plan", &stale]);
    assert_eq!(refused.code, 1);
    assert!(
        refused.stderr.contains("is stale, so nothing was applied")
            && refused.stderr.contains("Password::db: input `keepers.rotation` was \"r3\", now \"r4\""),
        "{}",
        refused.stderr
    );
    assert_eq!(serial(), before, "nothing written");

    // The state moved (another run applied r3 first): the serials are named.
    p.write_config("dev", &config("r3"));
    run(&["up", "--yes"]).ok();
    let refused = run(&["up", "--plan", &stale]);
    assert_eq!(refused.code, 1);
    assert!(
        refused.stderr.contains(&format!("the state moved from serial {}", file_serial(&stale)))
            && refused.stderr.contains("Password::db: was to replace, now unchanged"),
        "{}",
        refused.stderr
    );

    // Another provider version.
    let current = plan_path("current.json");
    run(&["preview", "--out", &current]).ok();
    let mut doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&current).unwrap()).unwrap();
    doc["providers"]["random"] = "0.0.1".into();
    std::fs::write(&current, doc.to_string()).unwrap();
    let refused = run(&["up", "--plan", &current]);
    assert!(
        refused.code == 1
            && refused.stderr.contains(&format!(
                "provider `random` is version {}, the plan was made with 0.0.1",
                env!("CARGO_PKG_VERSION")
            )),
        "{}",
        refused.stderr
    );

    // A plan made after a refresh is applied after the same refresh.
    p.write_config("dev", &config("r5"));
    let refreshed = plan_path("refreshed.json");
    run(&["preview", "--refresh", "--out", &refreshed]).ok();
    let doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&refreshed).unwrap()).unwrap();
    assert_eq!(doc["refresh"], true, "{doc:#}");
    let applied = run(&["up", "--plan", &refreshed, "--json"]).ok();
    assert!(applied.ops().contains(&("db".into(), "replace".into())), "{:?}", applied.ops());
    assert_eq!(run(&["drift"]).code, 0, "nothing drifted");

    // Another stack's plan, and a file that is no plan, are named.
    p.write_config("prod", &config("r3"));
    let other = p.run(&["up", "--plan", &current, "--stack", "prod"]);
    assert!(other.code != 0 && other.stderr.contains("is a plan for stack `dev`"), "{}", other.stderr);
    std::fs::write(p.dir.path().join("junk.json"), "{\"steps\": 3}").unwrap();
    let junk = run(&["up", "--plan", &plan_path("junk.json")]);
    assert!(junk.code != 0 && junk.stderr.contains("junk.json is not a Cairn plan file"), "{}", junk.stderr);
    run(&["destroy", "--yes"]).ok();
}

fn file_serial(path: &str) -> u64 {
    let doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    doc["serial"].as_u64().unwrap()
}

/// `state move` and `state delete`: repairs of the records alone, under the
/// lock, kept in the history; refused where they would break the state.
#[test]
fn state_repairs_move_and_forget_records() {
    let p = Project::new("random-program");
    p.write_config("dev", "backend = \"file://.cairn\"\n");
    let run = |args: &[&str]| p.run(args);
    run(&["up", "--yes"]).ok();
    let state = || run(&["state", "export"]).ok().json();
    let names = || -> Vec<String> {
        state()["resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["urn"].as_str().unwrap().rsplit("::").next().unwrap().to_owned())
            .collect()
    };

    // Moved: the record and the dependency on it follow; moved back, the program matches again.
    run(&["state", "move", "suffix", "suffix-renamed"]).ok();
    let doc = state();
    let build =
        doc["resources"].as_array().unwrap().iter().find(|r| r["urn"].as_str().unwrap().ends_with("::build")).unwrap();
    assert!(build["dependencies"][0].as_str().unwrap().ends_with("::suffix-renamed"), "{build:#}");
    let moved = run(&["preview", "--json"]).ok();
    assert!(
        moved.ops().contains(&("suffix".into(), "create".into()))
            && moved.ops().contains(&("suffix-renamed".into(), "delete".into()))
    );
    run(&["state", "move", "suffix-renamed", "suffix"]).ok();
    assert_eq!(run(&["preview", "--detailed-exitcode"]).code, 0, "back as the program declares it");
    let taken = run(&["state", "move", "suffix", "build"]);
    assert!(taken.code != 0 && taken.stderr.contains("already records"), "{}", taken.stderr);

    // Forgotten: refused while something depends on it, unless forced.
    let refused = run(&["state", "delete", "suffix"]);
    assert!(
        refused.code != 0 && refused.stderr.contains("::build depend(s) on") && refused.stderr.contains("--force"),
        "{}",
        refused.stderr
    );
    run(&["state", "delete", "build"]).ok();
    assert_eq!(names(), ["db", "suffix"]);
    let again = run(&["preview", "--json"]).ok();
    assert!(again.ops().contains(&("build".into(), "create".into())), "{:?}", again.ops());
    let unknown = run(&["state", "delete", "nope"]);
    assert!(unknown.code != 0 && unknown.stderr.contains("no resource of this stack"), "{}", unknown.stderr);

    // Both repairs are in the history.
    let history = run(&["state", "history", "--json"]).ok().json();
    let ops: Vec<&str> =
        history["versions"].as_array().unwrap().iter().map(|v| v["operation"].as_str().unwrap()).collect();
    assert!(ops.contains(&"state move") && ops.contains(&"state delete"), "{ops:?}");
    run(&["up", "--yes"]).ok();
    run(&["destroy", "--yes"]).ok();
}

/// A named provider instance from the stack file runs as its own plugin
/// process; a misconfigured one is named with the fix.
#[test]
fn a_named_provider_instance_comes_from_the_stack_file() {
    let p = Project::new("random-program");
    let config = |package: &str| {
        format!(
            "backend = \"file://.cairn\"\n[provider.rnd2]\npackage = \"{package}\"\n[config]\nsuffix_provider = \"rnd2\"\n"
        )
    };
    p.write_config("dev", &config("aws"));
    let wrong = p.run(&["preview"]);
    assert!(
        wrong.code != 0 && wrong.stderr.contains("provider instance `rnd2` is of package `aws`"),
        "{}",
        wrong.stderr
    );
    p.write_config("dev", &config("random"));
    p.run(&["up", "--yes"]).ok();
    let state = p.run(&["state", "export"]).ok().json();
    let suffix = state["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["urn"].as_str().unwrap().ends_with("::suffix"))
        .unwrap();
    assert_eq!(suffix["provider"], "rnd2", "{suffix:#}");
    assert_eq!(p.run(&["preview", "--detailed-exitcode"]).code, 0);
    p.run(&["destroy", "--yes"]).ok();
}

/// `stack ls` lists the project's stacks with what they hold; `stack rm`
/// refuses while a stack records resources, and removes it once destroyed.
/// On the file store and on S3 with a DynamoDB lock (through the AWS plugin).
#[tokio::test(flavor = "multi_thread")]
async fn stacks_are_listed_and_removed_on_file_and_s3_backends() {
    for backend in ["file://.cairn".to_owned(), cairn_tests::s3_dynamodb_state_url().await] {
        let p = Project::new("random-program");
        let config = format!("backend = \"{backend}\"\n");
        p.write_config("dev", &config);
        p.write_config("prod", &config);
        let run = |args: &[&str]| p.run(args);
        run(&["up", "--yes"]).ok();
        run(&["up", "--yes", "--stack", "prod"]).ok();

        let ls = run(&["stack", "ls", "--json"]).ok().json();
        let stacks = ls["stacks"].as_array().unwrap();
        let names: Vec<&str> = stacks.iter().map(|s| s["stack"].as_str().unwrap()).collect();
        assert_eq!(names, ["dev", "prod"], "{backend}: {ls:#}");
        assert_eq!(stacks[0]["resources"], 3, "{ls:#}");
        assert_eq!(stacks[0]["current"], true);
        assert!(stacks[0]["last_update"].as_str().is_some_and(|t| t.starts_with("20")), "{ls:#}");
        let text = run(&["stack", "ls"]).ok().stdout;
        assert!(text.contains("* dev") && text.contains("prod"), "{text}");

        let refused = run(&["stack", "rm", "--yes", "--stack", "prod"]);
        assert!(
            refused.code != 0 && refused.stderr.contains("still records 3 resources: run `destroy` first"),
            "{backend}: {}",
            refused.stderr
        );
        run(&["destroy", "--yes", "--stack", "prod"]).ok();
        run(&["stack", "rm", "--yes", "--stack", "prod"]).ok();
        let ls = run(&["stack", "ls", "--json"]).ok().json();
        let names: Vec<&str> = ls["stacks"].as_array().unwrap().iter().map(|s| s["stack"].as_str().unwrap()).collect();
        assert_eq!(names, ["dev"], "{backend}: {ls:#}");

        // --force forgets what dev records (it stays in the cloud: here, nowhere but the state).
        run(&["stack", "rm", "--yes", "--force"]).ok();
        assert!(run(&["stack", "ls", "--json"]).ok().json()["stacks"].as_array().unwrap().is_empty());
        assert!(run(&["stack", "output"]).stderr.contains("has not been brought up"), "dev reads as new");
    }
}
