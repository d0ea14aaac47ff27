//! The example program with its state in PostgreSQL: converge, and recover
//! from a SIGKILL whose lock expires by itself.

use std::time::Duration;

use cairn_tests::{Project, assert_platform_exists_once, platform_config, postgres_url, team_roles, unique, wait_for};

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_run_on_postgres_leaves_a_lock_that_expires_and_a_state_the_next_run_finishes() {
    let team = unique("pg");
    let stack = unique("pg");
    let p = Project::new("test-platform");
    let backend = postgres_url();
    p.write_config(&stack, &format!("backend = \"{backend}\"\nlock_ttl = \"3s\"\n{}", platform_config(&team, "")));
    let args = |cmd: &[&'static str]| -> Vec<String> {
        cmd.iter().map(|s| s.to_string()).chain(["--stack".to_owned(), stack.clone()]).collect()
    };
    let run = |cmd: &[&'static str]| {
        let a = args(cmd);
        p.run(&a.iter().map(String::as_str).collect::<Vec<_>>())
    };

    let mut up = p
        .command(&args(&["up", "--yes"]).iter().map(String::as_str).collect::<Vec<_>>())
        .env("CAIRN_TEST_STEP_DELAY_MS", "1500")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the run is mid-way: some steps recorded, the lock held.
    wait_for("the first steps to be journaled", Duration::from_secs(90), || {
        let shown = run(&["state", "lock", "--json"]);
        shown.code == 0 && !shown.json()["lock"].is_null() && !team_roles_blocking(&team).is_empty()
    });
    up.kill().unwrap();
    up.wait().unwrap();

    let held = run(&["state", "lock", "--json"]).ok().json();
    assert!(!held["lock"].is_null(), "a SIGKILLed run leaves its lease behind");
    let refused = run(&["up", "--yes"]);
    assert_eq!(refused.code, 1, "the lease is still live right after the kill: {refused:?}");
    assert!(refused.stderr.contains("is locked by"), "{}", refused.stderr);

    // No manual unlock: waiting out the 3 s lease is enough.
    let next = run(&["up", "--yes", "--json", "--lock-timeout", "60s"]).ok();
    assert_eq!(next.json()["succeeded"], true);
    let again = run(&["preview", "--json"]).ok();
    assert!(again.ops().iter().all(|(_, op)| op == "same"), "{:?}", again.ops());

    assert_platform_exists_once(&team, "after the killed up on postgres").await;

    run(&["destroy", "--yes"]).ok();
    assert!(team_roles(&team).await.is_empty());
}

/// `team_roles` from a synchronous poll loop.
fn team_roles_blocking(team: &str) -> Vec<String> {
    let team = team.to_owned();
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(team_roles(&team))
    })
    .join()
    .unwrap()
}
