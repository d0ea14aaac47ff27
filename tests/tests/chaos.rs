//! kill -9 of `up` at random moments, on every backend: the next `up` must
//! leave exactly one of every resource (none duplicated, none orphaned) and
//! a valid, converged state. `CAIRN_CHAOS_TRIALS` sets the trials per backend
//! (default 5); `cargo xtask chaos --trials N` runs any number.

use std::time::Duration;

use cairn_tests::{
    Project, assert_platform_exists_once, platform_config, postgres_url, team_buckets, team_clusters, team_roles,
    unique,
};

fn trials() -> usize {
    std::env::var("CAIRN_CHAOS_TRIALS").ok().and_then(|t| t.parse().ok()).unwrap_or(5)
}

/// A pseudo-random number in `0..n` (no seed to manage: each trial prints what it drew).
fn draw(n: u64) -> u64 {
    let b = uuid::Uuid::new_v4().into_bytes();
    u64::from_le_bytes(b[..8].try_into().unwrap()) % n
}

async fn trial(backend: Option<&str>, n: usize) {
    let team = unique("chaos");
    let stack = unique("chaos");
    let p = Project::new("test-platform");
    let backend_line = backend.map(|b| format!("backend = \"{b}\"\n")).unwrap_or_default();
    p.write_config(&stack, &format!("{backend_line}lock_ttl = \"3s\"\n{}", platform_config(&team, "")));
    let with_stack = |args: &[&str]| -> Vec<String> {
        args.iter().map(|s| s.to_string()).chain(["--stack".into(), stack.clone()]).collect()
    };
    let run = |args: &[&str]| {
        let a = with_stack(args);
        p.run(&a.iter().map(String::as_str).collect::<Vec<_>>())
    };

    let step_delay = 100 + draw(900);
    let kill_after = 200 + draw(4000);
    eprintln!(
        "chaos trial {n} on {}: step delay {step_delay} ms, kill after {kill_after} ms",
        backend.unwrap_or("file")
    );
    let mut up = p
        .command(&with_stack(&["up", "--yes"]).iter().map(String::as_str).collect::<Vec<_>>())
        .env("CAIRN_TEST_STEP_DELAY_MS", step_delay.to_string())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(kill_after));
    let _ = up.kill(); // SIGKILL; it may have finished already, which is a valid trial too
    up.wait().unwrap();

    let next = run(&["up", "--yes", "--json", "--lock-timeout", "60s"]).ok();
    assert_eq!(next.json()["succeeded"], true, "trial {n}");
    let again = run(&["preview", "--json"]).ok();
    assert!(again.ops().iter().all(|(_, op)| op == "same"), "trial {n}: converged: {:?}", again.ops());
    assert_platform_exists_once(&team, &format!("trial {n}")).await;

    run(&["destroy", "--yes", "--lock-timeout", "60s"]).ok();
    assert!(team_roles(&team).await.is_empty() && team_buckets(&team).await.is_empty(), "trial {n}: nothing orphaned");
    assert!(team_clusters(&team).await.is_empty(), "trial {n}: cluster gone");
}

#[tokio::test(flavor = "multi_thread")]
async fn chaos_kill_9_on_the_file_store() {
    for n in 0..trials() {
        trial(None, n).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn chaos_kill_9_on_s3() {
    let url = cairn_tests::s3_state_url().await;
    for n in 0..trials() {
        trial(Some(&url), n).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn chaos_kill_9_on_s3_with_dynamodb_lock() {
    let url = cairn_tests::s3_dynamodb_state_url().await;
    for n in 0..trials() {
        trial(Some(&url), n).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn chaos_kill_9_on_postgres() {
    let url = postgres_url();
    for n in 0..trials() {
        trial(Some(&url), n).await;
    }
}
