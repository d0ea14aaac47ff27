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

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use cairn_tests::faults::{Fault, FaultProxy};
use cairn_tests::{Run, aws_endpoint, bin, unique};

/// The example's programs, in the order they are brought up.
const STACKS: [(&str, &str); 3] = [("ai-base", "base"), ("ai-platform", "platform"), ("ai-runtime", "runtime")];

/// Types whose create AWS does not make idempotent by name: a retried create
/// that had reached the service would leave a second one.
const UNNAMED: [&str; 8] = [
    "aws:ec2:Vpc",
    "aws:ec2:Subnet",
    "aws:ec2:InternetGateway",
    "aws:ec2:NatGateway",
    "aws:ec2:Eip",
    "aws:ec2:RouteTable",
    "aws:ec2:SecurityGroup",
    "aws:kms:Key",
];

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The example's `dev` configs copied under a stack name of this test's own,
/// so that what it creates can be told from other tests' resources.
pub(crate) struct Example {
    dir: tempfile::TempDir,
    /// The stack name (also the `environment` tag on everything it creates).
    pub(crate) stack: String,
    backend: String,
}

impl Example {
    pub(crate) fn new(prefix: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let stack = unique(prefix);
        let example = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().join("examples").join("ai-platform");
        for (_, sub) in STACKS {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
            let config = std::fs::read_to_string(example.join(sub).join("Cairn.dev.toml")).unwrap();
            std::fs::write(dir.path().join(sub).join(format!("Cairn.{stack}.toml")), config).unwrap();
        }
        std::fs::create_dir_all(dir.path().join("policies")).unwrap();
        for policy in std::fs::read_dir(example.join("policies")).unwrap() {
            let policy = policy.unwrap().path();
            std::fs::copy(&policy, dir.path().join("policies").join(policy.file_name().unwrap())).unwrap();
        }
        let backend = format!("file://{}", dir.path().join(".cairn").display());
        Self { dir, stack, backend }
    }

    fn project(&self, sub: &str) -> PathBuf {
        self.dir.path().join(sub)
    }

    /// Runs one of the programs against `endpoint`.
    pub(crate) fn run(&self, (package, sub): (&str, &str), endpoint: &str, args: &[&str]) -> Run {
        let mut cmd = std::process::Command::new(bin(package));
        cmd.args(args)
            .args(["--stack", &self.stack, "--backend", &self.backend])
            .current_dir(self.project(sub))
            .env("CAIRN_PROJECT_DIR", self.project(sub))
            .env("CAIRN_PLUGIN_AWS", bin("cairn-provider-aws"))
            .env_remove("CARGO");
        cairn_tests::with_emulator(&mut cmd).env("AWS_ENDPOINT_URL", endpoint);
        cmd.output().expect("the example runs").into()
    }

    /// How many resources of each type the state records over the three stacks.
    pub(crate) fn recorded(&self) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for stack in STACKS {
            let export = self.run(stack, &aws_endpoint(), &["state", "export"]);
            if export.code != 0 {
                continue; // never brought up
            }
            let state: cairn_state::StackState = serde_json::from_value(export.json()).expect("an exported state");
            for r in state.resources.iter().filter(|r| r.kind == cairn_core::ResourceKind::Custom) {
                *counts.entry(r.urn.resource_type().as_str().to_owned()).or_default() += 1;
            }
        }
        counts
    }

    /// How many resources of each non-idempotent type exist in the emulator
    /// with this stack's `environment` tag.
    pub(crate) async fn live(&self) -> BTreeMap<String, usize> {
        let conf = cairn_tests::sdk_config().await;
        let ec2 = aws_sdk_ec2::Client::new(&conf);
        // Filtered here, not by the API: the emulator ignores tag filters on some kinds (NAT gateways).
        let ours = |tags: &[aws_sdk_ec2::types::Tag]| {
            tags.iter().any(|t| t.key() == Some("environment") && t.value() == Some(self.stack.as_str()))
        };
        let mut live = BTreeMap::new();
        let mut put = |ty: &str, n: usize| {
            live.insert(ty.to_owned(), n);
        };
        let vpcs = ec2.describe_vpcs().send().await.unwrap();
        put("aws:ec2:Vpc", vpcs.vpcs().iter().filter(|v| ours(v.tags())).count());
        let subnets = ec2.describe_subnets().send().await.unwrap();
        put("aws:ec2:Subnet", subnets.subnets().iter().filter(|v| ours(v.tags())).count());
        let igws = ec2.describe_internet_gateways().send().await.unwrap();
        put("aws:ec2:InternetGateway", igws.internet_gateways().iter().filter(|v| ours(v.tags())).count());
        let nats = ec2.describe_nat_gateways().send().await.unwrap();
        let nats = nats.nat_gateways().iter().filter(|n| n.state().is_none_or(|s| s.as_str() != "deleted"));
        put("aws:ec2:NatGateway", nats.filter(|v| ours(v.tags())).count());
        let eips = ec2.describe_addresses().send().await.unwrap();
        put("aws:ec2:Eip", eips.addresses().iter().filter(|v| ours(v.tags())).count());
        let tables = ec2.describe_route_tables().send().await.unwrap();
        put("aws:ec2:RouteTable", tables.route_tables().iter().filter(|v| ours(v.tags())).count());
        let groups = ec2.describe_security_groups().send().await.unwrap();
        put("aws:ec2:SecurityGroup", groups.security_groups().iter().filter(|v| ours(v.tags())).count());
        let kms = aws_sdk_kms::Client::new(&conf);
        let mut keys = 0;
        for key in kms.list_keys().limit(1000).send().await.unwrap().keys() {
            let id = key.key_id().unwrap();
            let meta = kms.describe_key().key_id(id).send().await.unwrap();
            if meta.key_metadata().and_then(|m| m.key_state()).is_some_and(|s| s.as_str() != "Enabled") {
                continue; // scheduled for deletion: destroyed
            }
            let tags = kms.list_resource_tags().key_id(id).send().await.unwrap();
            if tags.tags().iter().any(|t| t.tag_key() == "environment" && t.tag_value() == self.stack) {
                keys += 1;
            }
        }
        put("aws:kms:Key", keys);
        live
    }
}

/// Recorded and live counts of the non-idempotent types, side by side.
fn unnamed(counts: &BTreeMap<String, usize>) -> BTreeMap<&'static str, usize> {
    UNNAMED.iter().map(|ty| (*ty, counts.get(*ty).copied().unwrap_or(0))).collect()
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
    let up = p
        .command(&["up", "--yes"])
        .env("CAIRN_TEST_STEP_DELAY_MS", "400")
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
