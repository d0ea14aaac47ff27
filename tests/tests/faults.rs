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

    /// The state store's directory.
    pub(crate) fn state_dir(&self) -> PathBuf {
        self.dir.path().join(".cairn")
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
        let tagged = aws_sdk_ec2::types::Filter::builder().name("tag:environment").values(&self.stack).build();
        let mut live = BTreeMap::new();
        let mut put = |ty: &str, n: usize| {
            live.insert(ty.to_owned(), n);
        };
        let vpcs = ec2.describe_vpcs().filters(tagged.clone()).send().await.unwrap();
        put("aws:ec2:Vpc", vpcs.vpcs().len());
        let subnets = ec2.describe_subnets().filters(tagged.clone()).send().await.unwrap();
        put("aws:ec2:Subnet", subnets.subnets().len());
        let igws = ec2.describe_internet_gateways().filters(tagged.clone()).send().await.unwrap();
        put("aws:ec2:InternetGateway", igws.internet_gateways().len());
        let nats = ec2.describe_nat_gateways().filter(tagged.clone()).send().await.unwrap();
        let nats = nats.nat_gateways().iter().filter(|n| n.state().is_none_or(|s| s.as_str() != "deleted")).count();
        put("aws:ec2:NatGateway", nats);
        let eips = ec2.describe_addresses().filters(tagged.clone()).send().await.unwrap();
        put("aws:ec2:Eip", eips.addresses().len());
        let tables = ec2.describe_route_tables().filters(tagged.clone()).send().await.unwrap();
        put("aws:ec2:RouteTable", tables.route_tables().len());
        let groups = ec2.describe_security_groups().filters(tagged).send().await.unwrap();
        put("aws:ec2:SecurityGroup", groups.security_groups().len());
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

    for stack in STACKS {
        let up =
            ok(example.run(stack, &endpoint, &["up", "--yes", "--json"]), &format!("trial {n}: up of {}", stack.0));
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
    assert_eq!(unnamed(&example.live().await), recorded, "trial {n}: each resource exists once");

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
