//! The example platform's three programs (base, platform, runtime) run on
//! a stack of a test's own, with the `dev` configs: what the fault tests and
//! the R3 benchmark bring up, and the counts that show nothing was made twice.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::{Run, aws_endpoint, bin, unique};

/// The example's programs, in the order they are brought up.
pub const STACKS: [(&str, &str); 3] = [("ai-base", "base"), ("ai-platform", "platform"), ("ai-runtime", "runtime")];

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

/// The example's `dev` configs copied under a stack name of this test's own,
/// so that what it creates can be told from other tests' resources.
pub struct Example {
    dir: tempfile::TempDir,
    /// The stack name (also the `environment` tag on everything it creates).
    pub stack: String,
    backend: String,
}

impl Example {
    /// A fresh stack named `PREFIX-XXXXXXXX`.
    pub fn new(prefix: &str) -> Self {
        Self::with_provider(prefix, "")
    }

    /// The same, with `settings` (TOML lines) added under `[provider.aws]`.
    pub fn with_provider(prefix: &str, settings: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let stack = unique(prefix);
        let example = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().join("examples").join("ai-platform");
        for (_, sub) in STACKS {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
            let config = std::fs::read_to_string(example.join(sub).join("Cairn.dev.toml")).unwrap();
            let config = config.replacen("[provider.aws]\n", &format!("[provider.aws]\n{settings}"), 1);
            std::fs::write(dir.path().join(sub).join(format!("Cairn.{stack}.toml")), config).unwrap();
        }
        std::fs::create_dir_all(dir.path().join("policies")).unwrap();
        for policy in std::fs::read_dir(example.join("policies")).unwrap() {
            let policy = policy.unwrap().path();
            std::fs::copy(&policy, dir.path().join("policies").join(policy.file_name().unwrap())).unwrap();
        }
        let backend = format!("file://{}", dir.path().join(".cairn").display());
        crate::gitops_repo(&dir.path().join("gitops"));
        Self { dir, stack, backend }
    }

    /// The GitOps repository the runtime stack commits to.
    pub fn gitops(&self) -> PathBuf {
        self.dir.path().join("gitops")
    }

    fn project(&self, sub: &str) -> PathBuf {
        self.dir.path().join(sub)
    }

    /// Runs one of the programs against `endpoint`.
    pub fn run(&self, (package, sub): (&str, &str), endpoint: &str, args: &[&str]) -> Run {
        let mut cmd = std::process::Command::new(bin(package));
        cmd.args(args)
            .args(["--stack", &self.stack, "--backend", &self.backend])
            .current_dir(self.project(sub))
            .env("CAIRN_PROJECT_DIR", self.project(sub))
            .env_remove("CARGO");
        crate::with_plugins(&mut cmd, &self.gitops());
        crate::with_emulator(&mut cmd).env("AWS_ENDPOINT_URL", endpoint);
        cmd.output().expect("the example runs").into()
    }

    /// How many resources of each type the state records over the three stacks.
    pub fn recorded(&self) -> BTreeMap<String, usize> {
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
    pub async fn live(&self) -> BTreeMap<String, usize> {
        let conf = crate::sdk_config().await;
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
pub fn unnamed(counts: &BTreeMap<String, usize>) -> BTreeMap<&'static str, usize> {
    UNNAMED.iter().map(|ty| (*ty, counts.get(*ty).copied().unwrap_or(0))).collect()
}
