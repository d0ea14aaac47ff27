//! `up` killed with SIGKILL while steps are in flight: the next `up` leaves
//! no duplicated and no orphaned resource, and a valid state.

use std::time::{Duration, Instant};

use cairn_tests::{Project, platform_config, team_buckets, team_clusters, team_roles, unique};

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_up_is_finished_by_the_next_one_without_duplicates_or_orphans() {
    let team = unique("crash");
    let p = Project::new("ai-platform");
    p.write_config("dev", &platform_config(&team, ""));

    // Each provider call is followed by a pause before its result is journaled,
    // so the kill lands between "the cloud did it" and "the state knows it".
    let mut up = p
        .command(&["up", "--yes"])
        .env("CAIRN_TEST_STEP_DELAY_MS", "1500")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let journal = p.state_dir("ai-platform", "dev").join("journal.jsonl");
    let start = Instant::now();
    loop {
        let text = std::fs::read_to_string(&journal).unwrap_or_default();
        // The roles and the bucket begin first; the cluster begins once its
        // role is committed. Kill then: at least one create is done in the
        // cloud but not yet in the state.
        if text.matches("\"entry\":\"begin\"").count() >= 3 {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(90), "up never got going:\n{text}");
        std::thread::sleep(Duration::from_millis(20));
    }
    up.kill().unwrap(); // SIGKILL
    up.wait().unwrap();
    let text = std::fs::read_to_string(&journal).unwrap();
    assert!(text.contains("\"entry\":\"begin\""), "the run died mid-flight:\n{text}");

    let next = p.run(&["up", "--yes", "--json"]).ok();
    assert_eq!(next.json()["succeeded"], true);
    let again = p.run(&["preview", "--json"]).ok();
    assert!(again.ops().iter().all(|(_, op)| op == "same"), "a valid, converged state: {:?}", again.ops());

    assert_eq!(team_roles(&team).await.len(), 2, "cluster role and node role, once each");
    assert_eq!(team_buckets(&team).await.len(), 1, "one artifact bucket");
    let clusters = team_clusters(&team).await;
    assert_eq!(clusters.len(), 1, "one cluster: {clusters:?}");
    assert_eq!(clusters[0].1.len(), 1, "one node group: {clusters:?}");

    p.run(&["destroy", "--yes"]).ok();
    assert!(team_roles(&team).await.is_empty() && team_buckets(&team).await.is_empty());
}
