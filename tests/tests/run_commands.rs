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
