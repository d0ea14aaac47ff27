//! `up` killed with SIGKILL while steps are in flight: the next `up` leaves
//! no duplicated and no orphaned resource, and a valid state.

use std::time::Duration;

use cairn_tests::{Project, assert_platform_exists_once, platform_config, team_buckets, team_roles, unique, wait_for};

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_up_is_finished_by_the_next_one_without_duplicates_or_orphans() {
    let team = unique("crash");
    let p = Project::new("test-platform");
    p.write_config("dev", &platform_config(&team, ""));

    // Each provider call is followed by a pause before its result is journaled,
    // so the kill lands between "the cloud did it" and "the state knows it".
    let mut up = p.spawn_slow_up(1500);
    let journal = p.state_dir("test-platform", "dev").join("journal.jsonl");
    // The roles and the bucket begin first; the cluster begins once its role
    // is committed. Kill then: at least one create is done in the cloud but
    // not yet in the state.
    wait_for("three steps to begin", Duration::from_secs(90), || {
        std::fs::read_to_string(&journal).is_ok_and(|t| t.matches("\"entry\":\"begin\"").count() >= 3)
    });
    up.kill().unwrap(); // SIGKILL
    up.wait().unwrap();
    let text = std::fs::read_to_string(&journal).unwrap();
    let entries: Vec<serde_json::Value> = text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    let ended: Vec<&serde_json::Value> =
        entries.iter().filter(|e| e["entry"] != "begin").filter_map(|e| e.get("op")).collect();
    let pending = entries.iter().filter(|e| e["entry"] == "begin" && !ended.contains(&&e["op"])).count();
    assert!(pending >= 1, "the kill must leave an operation in flight:\n{text}");

    let next = p.run(&["up", "--yes", "--json"]).ok();
    assert_eq!(next.json()["succeeded"], true);
    let again = p.run(&["preview", "--json"]).ok();
    assert!(again.ops().iter().all(|(_, op)| op == "same"), "a valid, converged state: {:?}", again.ops());

    assert_platform_exists_once(&team, "after the killed up").await;

    p.run(&["destroy", "--yes"]).ok();
    assert!(team_roles(&team).await.is_empty() && team_buckets(&team).await.is_empty());
}
