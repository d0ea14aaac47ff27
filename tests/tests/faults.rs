//! The example platform with a share of its AWS calls failing: a fault
//! proxy (`cairn_tests::faults`) in front of the emulator answers 20% of
//! requests with throttling, 500 or 503 in each service's error shape. The
//! three stacks' `up`, a second preview and `destroy` must all succeed with no
//! failed step, and nothing may exist twice (no second VPC, NAT gateway or
//! key from a retried create).
//!
//! `CAIRN_FAULT_TRIALS` (default 1), `CAIRN_FAULT_RATE` (default 0.2) and
//! `CAIRN_FAULT_SEED` set the trials; `cargo xtask faults --trials N --rate R`
//! runs more.

use std::path::{Path, PathBuf};

use cairn_tests::example::{Example, STACKS, unnamed};
use cairn_tests::faults::{Fault, FaultProxy};
use cairn_tests::{Run, aws_endpoint, unique};

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn ok(run: Run, what: &str) -> Run {
    assert_eq!(run.code, 0, "{what} failed\nstdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    run
}

async fn trial(n: usize, rate: f64) {
    let seed = std::env::var("CAIRN_FAULT_SEED").ok().and_then(|s| s.parse().ok());
    let proxy = FaultProxy::start(&aws_endpoint(), rate, seed);
    let example = Example::new("faults");
    let endpoint = proxy.endpoint();

    let mut logs = String::new();
    for stack in STACKS {
        let up =
            ok(example.run(stack, &endpoint, &["up", "--yes", "--json"]), &format!("trial {n}: up of {}", stack.0));
        logs.push_str(&format!("up of {}:\n{}\n", stack.0, up.stderr));
        let doc = up.json();
        let failed: Vec<&serde_json::Value> =
            doc["steps"].as_array().unwrap().iter().filter(|s| s["status"] != "succeeded").collect();
        assert!(failed.is_empty(), "trial {n}: {}: no step fails: {failed:#?}", stack.0);
    }
    for stack in STACKS {
        let again = ok(example.run(stack, &endpoint, &["preview", "--json"]), "second preview");
        assert!(again.ops().iter().all(|(_, op)| op == "same"), "trial {n}: {}: {:?}", stack.0, again.ops());
    }
    let recorded = unnamed(&example.recorded());
    assert!(recorded["aws:ec2:Vpc"] == 1 && recorded["aws:ec2:NatGateway"] >= 1, "{recorded:?}");
    assert_eq!(unnamed(&example.live().await), recorded, "trial {n}: each resource exists once\n{logs}");

    for stack in STACKS.iter().rev() {
        ok(example.run(*stack, &endpoint, &["destroy", "--yes"]), &format!("trial {n}: destroy of {}", stack.0));
    }
    assert!(example.live().await.values().all(|n| *n == 0), "trial {n}: nothing left: {:?}", example.live().await);

    let counts = proxy.counts();
    eprintln!(
        "trial {n}: {} requests forwarded, {} faulted ({} throttled, {} 500, {} 503): {:?}",
        counts.forwarded,
        counts.faulted(),
        counts.of(Fault::Throttling),
        counts.of(Fault::InternalError),
        counts.of(Fault::Unavailable),
        counts.faults
    );
    if rate > 0.0 {
        for fault in [Fault::Throttling, Fault::InternalError, Fault::Unavailable] {
            assert!(counts.of(fault) > 0, "trial {n}: the proxy injected {fault:?}: {counts:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_example_goes_up_and_is_destroyed_with_a_fifth_of_aws_calls_failing() {
    let rate = env_or("CAIRN_FAULT_RATE", 0.2);
    for n in 1..=env_or("CAIRN_FAULT_TRIALS", 1usize) {
        trial(n, rate).await;
    }
}

/// A pseudo-random number in `0..n` (each test prints what it drew).
fn draw(n: u64) -> u64 {
    fastrand::u64(..n)
}

/// The test platform's config for `team`, with `provider` lines added under
/// `[provider.aws]` and `top` lines before it.
fn mid_apply_config(team: &str, top: &str, provider: &str) -> String {
    let config = cairn_tests::platform_config(team, "");
    format!("{top}{}", config.replacen("[provider.aws]\n", &format!("[provider.aws]\n{provider}"), 1))
}

/// After a run that failed mid-apply: the state reads back, the next `up`
/// finishes, a preview finds nothing to do, everything exists once, and
/// `destroy` leaves nothing.
async fn the_next_up_finishes(p: &cairn_tests::Project, stack: &str, team: &str, context: &str) {
    // The next run settles what the failed one left pending, through the providers' Read.
    p.run(&["up", "--yes", "--stack", stack, "--lock-timeout", "60s"]).ok();
    let export = p.run(&["state", "export", "--stack", stack]);
    assert_eq!(export.code, 0, "{context}: the state reads back: {}", export.stderr);
    let _: cairn_state::StackState = serde_json::from_value(export.json()).expect("a valid state");
    let again = p.run(&["preview", "--json", "--stack", stack]).ok();
    assert!(again.ops().iter().all(|(_, op)| op == "same"), "{context}: converged: {:?}", again.ops());
    cairn_tests::assert_platform_exists_once(team, context).await;
    p.run(&["destroy", "--yes", "--stack", stack]).ok();
    assert!(cairn_tests::team_roles(team).await.is_empty(), "{context}: nothing left");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_emulator_going_down_mid_apply_fails_the_up_and_the_next_up_finishes() {
    let proxy = FaultProxy::start(&aws_endpoint(), 0.0, None);
    let team = unique("down");
    let p = cairn_tests::Project::new("test-platform");
    // Two attempts per call, so that the failed run ends soon (the default retries for minutes).
    p.write_config("dev", &mid_apply_config(&team, "", "max_attempts = 2\n"));
    let after = 3 + draw(15);
    eprintln!("the emulator goes down after {after} requests");
    proxy.go_down_after(after);
    let failed: Run = p.command(&["up", "--yes"]).env("AWS_ENDPOINT_URL", proxy.endpoint()).output().unwrap().into();
    assert!(proxy.is_down(), "the run made fewer than {after} requests");
    assert_ne!(failed.code, 0, "{}", failed.stdout);
    assert!(
        failed.stderr.contains("failed") && failed.stderr.contains("dispatch failure"),
        "the error says which call could not reach AWS: {}",
        failed.stderr
    );
    proxy.come_back();
    let up =
        |args: &[&str]| -> Run { p.command(args).env("AWS_ENDPOINT_URL", proxy.endpoint()).output().unwrap().into() };
    // Through the proxy, up again.
    let next = up(&["up", "--yes", "--json"]).ok();
    assert_eq!(next.json()["succeeded"], true);
    the_next_up_finishes(&p, "dev", &team, "emulator down").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_state_backend_going_down_mid_apply_fails_the_up_and_the_next_up_finishes() {
    let postgres = cairn_tests::postgres_url();
    let authority = postgres.trim_start_matches("postgres://").split('@').nth(1).unwrap().split('/').next().unwrap();
    let relay = cairn_tests::faults::TcpRelay::start(authority);
    let backend = postgres.replacen(authority, &relay.address().to_string(), 1);
    let team = unique("pgdown");
    let p = cairn_tests::Project::new("test-platform");
    p.write_config("dev", &mid_apply_config(&team, &format!("backend = \"{backend}\"\nlock_ttl = \"3s\"\n"), ""));
    let down_after = 600 + draw(1200);
    eprintln!("the state backend goes down after {down_after} ms");
    // Each step waits a second, so the run (four levels of steps) outlasts the latest draw: on a
    // fast machine 400 ms steps let it finish before the backend went down.
    let up = p
        .command(&["up", "--yes"])
        .env("CAIRN_TEST_STEP_DELAY_MS", "1000")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(down_after));
    relay.go_down();
    let failed: Run = up.wait_with_output().unwrap().into();
    assert_ne!(failed.code, 0, "the run went on without its state store: {}", failed.stdout);
    assert!(failed.stderr.contains("state store postgres://"), "the error names the store: {}", failed.stderr);
    relay.come_back();
    the_next_up_finishes(&p, "dev", &team, "state backend down").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_disk_under_the_file_store_fails_the_up_and_the_next_up_finishes() {
    let team = unique("full");
    let p = cairn_tests::Project::new("test-platform");
    p.write_config("dev", &mid_apply_config(&team, "", ""));
    let state = p.dir.path().join(".cairn");
    let kept = p.dir.path().join(".cairn-kept");
    std::fs::create_dir_all(&state).unwrap();
    std::fs::create_dir_all(&kept).unwrap();
    // A run of the test platform writes about 25 KB; these sizes fill at different steps.
    let size = env_or("CAIRN_FAULT_DISK_KB", [12, 16, 20][draw(3) as usize]);
    eprintln!("the file store gets a {size} KB disk");
    // A tmpfs of that size over the state directory, in a mount namespace of the run's own.
    let script = format!(
        "mount -t tmpfs -o size={size}k tmpfs .cairn || exit 97\n\"$@\"\nrc=$?\ncp -a .cairn/. .cairn-kept/\nexit $rc"
    );
    let plain = p.command(&["up", "--yes"]);
    let mut cmd = std::process::Command::new("unshare");
    cmd.args(["--user", "--map-root-user", "--mount", "sh", "-c", &script, "sh"])
        .arg(plain.get_program())
        .args(plain.get_args())
        .current_dir(p.dir.path());
    for (k, v) in plain.get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    let failed: Run = cmd.output().expect("unshare (util-linux) runs: this test needs it").into();
    assert_ne!(failed.code, 97, "could not mount a tmpfs in a user namespace: {}", failed.stderr);
    assert_ne!(failed.code, 0, "the run filled no disk: {}", failed.stdout);
    assert!(
        failed.stderr.contains("No space left on device") && failed.stderr.contains("state store file://"),
        "the error names the store and the cause: {}",
        failed.stderr
    );
    assert!(
        failed.stderr.lines().all(|l| l.matches("No space left on device").count() <= 1),
        "the cause is said once: {}",
        failed.stderr
    );
    std::fs::remove_dir(&state).unwrap();
    std::fs::rename(&kept, &state).unwrap();
    // What the failed run left, for a failure's report.
    for file in walk(&state) {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        eprintln!("{} ({} bytes):\n{}", file.display(), text.len(), text);
    }
    eprintln!("the failed run's stderr:\n{}", failed.stderr);
    let leftovers: Vec<_> = walk(&state).into_iter().filter(|f| f.extension().is_some_and(|e| e == "tmp")).collect();
    assert!(leftovers.is_empty(), "nothing half-written is left: {leftovers:?}");
    the_next_up_finishes(&p, "dev", &team, "disk full").await;
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() { out.extend(walk(&path)) } else { out.push(path) }
    }
    out
}
