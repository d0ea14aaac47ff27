//! The architecture's dependency invariants, read from `cargo metadata`:
//! a user program never compiles a cloud SDK, and the crates that describe
//! resources stay light (no gRPC, no async runtime, no AWS SDK).

use std::collections::{BTreeMap, HashMap, VecDeque};

/// No gRPC, no async runtime, no AWS SDK: what a crate every program or
/// provider links must stay free of.
const LIGHT: &[&str] = &["tonic", "tokio", "hyper", "aws-sdk-", "aws-config", "aws-smithy-"];
/// No AWS SDK crate.
const NO_AWS_SDK: &[&str] = &["aws-sdk-", "aws-config", "aws-smithy-"];
/// Why a program must not reach one.
const PROGRAMS: &str = "a user program never compiles an AWS SDK crate";

/// Crates that must not reach any crate whose name starts with one of the prefixes, and why.
const RULES: &[(&str, &[&str], &str)] = &[
    ("cairn-core", LIGHT, "the core model is linked by every program and every provider"),
    ("cairn-aws", LIGHT, "typed arguments: programs link them; the AWS calls live in the plugin"),
    ("cairn-random", LIGHT, "typed arguments: programs link them; the generation lives in the plugin"),
    ("cairn-provider-sdk", LIGHT, "every provider links the SDK, whatever its cloud and runtime"),
    ("cairn-k8s", LIGHT, "typed manifests: programs link them to render their runtime side"),
    ("cairn-gitops", LIGHT, "typed arguments: programs link them; files and git live in the plugin"),
    (
        "cairn-ai",
        &["jsonschema", "cairn-k8s-schemas"],
        "CRD schemas are checked in the plugin and in tests, not compiled into programs",
    ),
    (
        "cairn-engine",
        &["tonic", "aws-sdk-", "aws-config", "aws-smithy-"],
        "the engine talks to providers through a trait",
    ),
    ("cairn", NO_AWS_SDK, PROGRAMS),
    ("cairn-ai", NO_AWS_SDK, PROGRAMS),
    ("ai-base", NO_AWS_SDK, PROGRAMS),
    ("ai-platform", NO_AWS_SDK, PROGRAMS),
    ("ai-runtime", NO_AWS_SDK, PROGRAMS),
];

/// The resolved dependency graph: package name by ID, and each package's
/// normal and build dependencies (dev-dependencies are not compiled into it).
struct Graph {
    names: HashMap<String, String>,
    deps: HashMap<String, Vec<String>>,
}

impl Graph {
    fn from_metadata(meta: &serde_json::Value) -> Self {
        let names = meta["packages"]
            .as_array()
            .expect("packages")
            .iter()
            .map(|p| (p["id"].as_str().unwrap().to_owned(), p["name"].as_str().unwrap().to_owned()))
            .collect();
        let mut deps = HashMap::new();
        for node in meta["resolve"]["nodes"].as_array().expect("resolve.nodes") {
            let compiled = node["deps"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| d["dep_kinds"].as_array().unwrap().iter().any(|k| k["kind"].as_str() != Some("dev")))
                .map(|d| d["pkg"].as_str().unwrap().to_owned())
                .collect();
            deps.insert(node["id"].as_str().unwrap().to_owned(), compiled);
        }
        Self { names, deps }
    }

    /// Each crate `root` compiles, with the chain of crates that brings it in.
    fn closure(&self, root: &str) -> BTreeMap<String, Vec<String>> {
        let mut out = BTreeMap::new();
        let Some(start) = self.names.iter().find(|(_, n)| *n == root).map(|(id, _)| id.clone()) else {
            panic!("no package `{root}` in the workspace: update the rules of this test");
        };
        let mut queue = VecDeque::from([(start, vec![root.to_owned()])]);
        while let Some((id, chain)) = queue.pop_front() {
            for dep in self.deps.get(&id).into_iter().flatten() {
                let name = &self.names[dep];
                if out.contains_key(name) {
                    continue;
                }
                let mut path = chain.clone();
                path.push(name.clone());
                out.insert(name.clone(), path.clone());
                queue.push_back((dep.clone(), path));
            }
        }
        out
    }
}

/// Every broken rule: the crate, the forbidden crate, the chain and why.
fn violations(meta: &serde_json::Value) -> Vec<String> {
    let graph = Graph::from_metadata(meta);
    let mut out = Vec::new();
    for (root, forbidden, why) in RULES {
        for (name, chain) in graph.closure(root) {
            if forbidden.iter().any(|f| name.starts_with(f)) {
                out.push(format!("{root} depends on {name} ({}): {why}", chain.join(" → ")));
            }
        }
    }
    out
}

/// The resolved graph for this machine's platform (other platforms' crates
/// are never downloaded here, and the rules are the same on every platform).
fn metadata() -> serde_json::Value {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let rustc = std::process::Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()))
        .arg("-vV")
        .output()
        .expect("run rustc -vV");
    let host = String::from_utf8_lossy(&rustc.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_owned))
        .expect("rustc -vV names the host");
    let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
    let out = std::process::Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--offline", "--filter-platform", &host, "--manifest-path"])
        .arg(&manifest)
        .output()
        .expect("run cargo metadata");
    assert!(out.status.success(), "cargo metadata failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("cargo metadata prints JSON")
}

#[test]
fn no_crate_depends_on_what_the_architecture_forbids() {
    let found = violations(&metadata());
    assert!(found.is_empty(), "forbidden dependencies:\n  {}", found.join("\n  "));
}

#[test]
fn a_forbidden_dependency_is_found_with_the_chain_that_brings_it_in() {
    // The real graph, with one edge added as a careless change would: the
    // core crate depending on the crate the engine uses for tokio.
    let mut meta = metadata();
    let id_of = |meta: &serde_json::Value, name: &str| {
        meta["packages"].as_array().unwrap().iter().find(|p| p["name"] == name).unwrap()["id"].clone()
    };
    let (core, tokio) = (id_of(&meta, "cairn-core"), id_of(&meta, "tokio"));
    let node = meta["resolve"]["nodes"].as_array_mut().unwrap().iter_mut().find(|n| n["id"] == core).unwrap();
    node["deps"].as_array_mut().unwrap().push(serde_json::json!({
        "name": "tokio", "pkg": tokio, "dep_kinds": [{"kind": null, "target": null}]
    }));
    let found = violations(&meta);
    assert!(found.iter().any(|v| v.starts_with("cairn-core depends on tokio (cairn-core → tokio)")), "{found:#?}");
    assert!(found.iter().any(|v| v.starts_with("cairn-aws depends on tokio (cairn-aws → cairn-core → tokio)")));
}
