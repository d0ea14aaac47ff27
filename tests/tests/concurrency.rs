//! 16 processes write the same stack at once, on every backend: the lock is
//! held by one at a time, serials strictly increase, no update is lost; and
//! without waiting, the losers fail fast naming the holder.

use std::process::{Command, Stdio};

use cairn_tests::{bin, postgres_url, unique};

const WRITERS: usize = 16;

struct Outcome {
    ok: Vec<serde_json::Value>,
    refusals: Vec<String>,
}

fn race(url: &str, project: &str, wait_secs: u64) -> Outcome {
    let children: Vec<_> = (0..WRITERS)
        .map(|i| {
            Command::new(bin("state-writer"))
                .args([url, project, "dev", &format!("w{i:02}"), &wait_secs.to_string()])
                .env("CAIRN_PLUGIN_AWS", bin("cairn-provider-aws"))
                .env_remove("CARGO")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("state-writer starts")
        })
        .collect();
    let mut out = Outcome { ok: Vec::new(), refusals: Vec::new() };
    for c in children {
        let o = c.wait_with_output().unwrap();
        if o.status.success() {
            out.ok.push(serde_json::from_slice(&o.stdout).unwrap());
        } else {
            out.refusals.push(String::from_utf8_lossy(&o.stderr).into_owned());
        }
    }
    out
}

async fn stored_names(url: &str, project: &str) -> Vec<String> {
    // s3:// opens in the AWS plugin: `cargo xtask test` sets CAIRN_PLUGIN_AWS to the built one.
    let store = cairn::backends::open(url, std::path::Path::new("."), &Default::default()).await.unwrap();
    let p = cairn_core::ProjectName::new(project).unwrap();
    let s = cairn_core::StackName::new("dev").unwrap();
    let r = store.read(&p, &s).await.unwrap();
    assert!(r.pending.is_empty());
    let mut names: Vec<String> = r.state.resources.iter().map(|r| r.urn.name().to_owned()).collect();
    names.sort();
    names
}

async fn waiting_writers_lose_nothing(url: &str) {
    let project = unique("race");
    let out = race(url, &project, 120);
    assert!(out.refusals.is_empty(), "every writer waits its turn: {:?}", out.refusals);
    let mut held: Vec<(u128, u128, u64)> = out
        .ok
        .iter()
        .map(|j| {
            (j["from"].as_u64().unwrap() as u128, j["until"].as_u64().unwrap() as u128, j["serial"].as_u64().unwrap())
        })
        .collect();
    held.sort();
    for pair in held.windows(2) {
        assert!(pair[0].1 <= pair[1].0, "two writers held the lock at once: {pair:?}");
        assert!(pair[0].2 < pair[1].2, "serials strictly increase in lock order: {pair:?}");
    }
    let expected: Vec<String> = (0..WRITERS).map(|i| format!("w{i:02}")).collect();
    assert_eq!(stored_names(url, &project).await, expected, "zero lost updates");
}

async fn impatient_writers_fail_fast_naming_the_holder(url: &str) {
    let project = unique("race");
    let out = race(url, &project, 0);
    assert!(!out.ok.is_empty(), "someone gets the lock");
    for r in &out.refusals {
        assert!(r.contains("is locked by") && r.contains("pid"), "a refusal names the holder: {r}");
    }
    let mut winners: Vec<String> = out.ok.iter().map(|j| j["name"].as_str().unwrap().to_owned()).collect();
    winners.sort();
    assert_eq!(stored_names(url, &project).await, winners, "exactly the winners' updates, none lost");
}

#[tokio::test(flavor = "multi_thread")]
async fn file_store_under_16_concurrent_writers() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("file://{}", dir.path().display());
    waiting_writers_lose_nothing(&url).await;
    impatient_writers_fail_fast_naming_the_holder(&url).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn s3_store_under_16_concurrent_writers() {
    let url = cairn_tests::s3_state_url().await;
    waiting_writers_lose_nothing(&url).await;
    impatient_writers_fail_fast_naming_the_holder(&url).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn s3_with_dynamodb_lock_under_16_concurrent_writers() {
    let url = cairn_tests::s3_dynamodb_state_url().await;
    waiting_writers_lose_nothing(&url).await;
    impatient_writers_fail_fast_naming_the_holder(&url).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_store_under_16_concurrent_writers() {
    let url = postgres_url();
    waiting_writers_lose_nothing(&url).await;
    impatient_writers_fail_fast_naming_the_holder(&url).await;
}

/// 16 concurrent `up` runs of the example program on one stack: each waits
/// its turn, the first creates, the others find nothing to do; the result is
/// what sequential runs give, with every resource once.
async fn sixteen_ups(backend: Option<String>) {
    use cairn_tests::{Project, platform_config};
    let team = unique("ups");
    let stack = unique("ups");
    let p = Project::new("test-platform");
    let backend_line = backend.map(|b| format!("backend = \"{b}\"\n")).unwrap_or_default();
    p.write_config(&stack, &format!("{backend_line}{}", platform_config(&team, "")));
    let children: Vec<_> = (0..WRITERS)
        .map(|_| {
            p.command(&["up", "--yes", "--json", "--stack", &stack, "--lock-timeout", "5m"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut serials = Vec::new();
    for c in children {
        let out = c.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "every run succeeds after waiting: {stderr}");
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(doc["succeeded"], true);
        serials.push(doc["serial"].as_u64().unwrap());
    }
    serials.sort();
    serials.dedup();
    assert!(!serials.is_empty());
    let after = p.run(&["preview", "--json", "--stack", &stack]).ok();
    assert!(after.ops().iter().all(|(_, op)| op == "same"), "{:?}", after.ops());
    cairn_tests::assert_platform_exists_once(&team, "after 16 concurrent ups").await;
    p.run(&["destroy", "--yes", "--stack", &stack]).ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn sixteen_concurrent_ups_on_the_file_store() {
    sixteen_ups(None).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sixteen_concurrent_ups_on_s3() {
    sixteen_ups(Some(cairn_tests::s3_state_url().await)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sixteen_concurrent_ups_on_s3_with_dynamodb_lock() {
    sixteen_ups(Some(cairn_tests::s3_dynamodb_state_url().await)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sixteen_concurrent_ups_on_postgres() {
    sixteen_ups(Some(postgres_url())).await;
}
