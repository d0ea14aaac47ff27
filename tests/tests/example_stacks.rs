//! The example AI platform's three stacks (base → platform → runtime) in each
//! environment, against the emulator: brought up in order, each reading the
//! ones before it; a second preview changes nothing; every resource they
//! declare carries the cost tags, no IAM statement grants a `*` action, no
//! bucket lacks its public access block or encryption; destroyed in reverse
//! order, nothing is left (each recorded resource is read again through the
//! AWS SDK and not found).

use std::path::{Path, PathBuf};

use cairn_core::{Provider, ReadRequest, Urn, Value};
use cairn_provider_aws::AwsProvider;
use cairn_tests::{Run, aws_endpoint, bin};

/// The stacks, in the order they are brought up.
const STACKS: [(&str, &str); 3] = [("ai-base", "base"), ("ai-platform", "platform"), ("ai-runtime", "runtime")];

fn example_dir(dir: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().join("examples").join("ai-platform").join(dir)
}

/// Runs one of the example programs on `env` with its own config files, in the shared `backend`.
fn run((package, dir): (&str, &str), env: &str, backend: &str, args: &[&str]) -> Run {
    let mut cmd = std::process::Command::new(bin(package));
    cmd.args(args)
        .args(["--stack", env, "--backend", backend])
        .current_dir(example_dir(dir))
        .env("CAIRN_PROJECT_DIR", example_dir(dir))
        .env("CAIRN_PLUGIN_AWS", bin("cairn-provider-aws"))
        .env_remove("CARGO");
    cairn_tests::with_emulator(&mut cmd).output().expect("the example runs").into()
}

fn ok(run: Run, what: &str) -> Run {
    assert_eq!(run.code, 0, "{what} failed\nstdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    run
}

/// Every recorded resource of a stack: (URN, type, provider ID, inputs).
fn recorded(stack: (&str, &str), env: &str, backend: &str) -> Vec<(Urn, String, Option<String>, Value)> {
    let state = ok(run(stack, env, backend, &["state", "export"]), "state export").json();
    let state: cairn_state::StackState = serde_json::from_value(state).expect("an exported state");
    state
        .resources
        .into_iter()
        .filter(|r| r.kind == cairn_core::ResourceKind::Custom)
        .map(|r| (r.urn.clone(), r.urn.resource_type().as_str().to_owned(), r.id, r.inputs))
        .collect()
}

/// The governance walk over a stack's recorded inputs (what the provider checked and created).
fn check_governance(env: &str, resources: &[(Urn, String, Option<String>, Value)]) {
    let taggable: Vec<&str> =
        cairn_aws::SCHEMAS.iter().filter(|s| s.properties.iter().any(|p| p.name == "tags")).map(|s| s.token).collect();
    for (urn, ty, _, inputs) in resources {
        let j = inputs.to_json();
        if taggable.contains(&ty.as_str()) {
            for tag in cairn_ai::REQUIRED_COST_TAGS {
                assert!(
                    j["tags"][tag].as_str().is_some_and(|v| !v.is_empty()),
                    "{urn} lacks the cost tag `{tag}`: {j}"
                );
            }
            assert_eq!(j["tags"]["environment"], env, "{urn}");
        }
        // Every policy document anywhere in the inputs.
        let mut docs = Vec::new();
        collect_statements(&j, &mut docs);
        for s in docs {
            for action in s["action"].as_array().into_iter().flatten().filter_map(|a| a.as_str()) {
                assert!(action != "*" && !action.ends_with(":*"), "{urn} grants the wildcard action `{action}`");
            }
            if let Some(p) = s["principal"].as_object() {
                assert!(!p.values().filter_map(|v| v.as_array()).flatten().any(|v| v == "*"), "{urn} trusts `*`: {s}");
            }
            for resource in s["resource"].as_array().into_iter().flatten().filter_map(|r| r.as_str()) {
                if resource == "*" {
                    assert!(
                        s["action"] == serde_json::json!(["ecr:GetAuthorizationToken"]),
                        "{urn}: `*` resource only where AWS requires it (documented in docs/components.md): {s}"
                    );
                }
            }
        }
        if ty == "aws:s3:Bucket" {
            for flag in ["block_public_acls", "ignore_public_acls", "block_public_policy", "restrict_public_buckets"] {
                assert_eq!(j["public_access_block"][flag], true, "{urn}: {flag}");
            }
            assert!(j["encryption"]["algorithm"].is_string(), "{urn} is encrypted: {j}");
            assert_eq!(j["versioning"], true, "{urn} is versioned");
        }
    }
}

fn collect_statements<'a>(j: &'a serde_json::Value, out: &mut Vec<&'a serde_json::Value>) {
    match j {
        serde_json::Value::Object(m) => {
            if let Some(serde_json::Value::Array(statements)) = m.get("statement") {
                out.extend(statements.iter());
            }
            m.values().for_each(|v| collect_statements(v, out));
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect_statements(v, out)),
        _ => {}
    }
}

/// Brings `env` up in order, checks it, destroys it in reverse order and checks nothing is left.
async fn environment(env: &str) {
    let state = tempfile::tempdir().unwrap();
    let backend = format!("file://{}", state.path().display());
    let [base, platform, runtime] = STACKS;

    // A stack reference to a stack never brought up names the stack, the output and the fix.
    let early = run(platform, env, &backend, &["preview"]);
    assert_ne!(early.code, 0);
    assert!(
        early.stderr.contains(&format!("stack reference ai-base/{env}: the stack has not been brought up"))
            && early.stderr.contains(&format!("run `up --stack {env}` of project ai-base's program first")),
        "{}",
        early.stderr
    );

    for stack in STACKS {
        ok(run(stack, env, &backend, &["up", "--yes"]), &format!("up of {} {env}", stack.0));
    }
    for stack in STACKS {
        let again = ok(run(stack, env, &backend, &["preview", "--json"]), "second preview");
        assert!(again.ops().iter().all(|(_, op)| op == "same"), "{} {env}: {:?}", stack.0, again.ops());
    }
    // The platform stack read the base stack's outputs.
    let base_out = ok(run(base, env, &backend, &["preview", "--json"]), "preview").json()["outputs"].clone();
    let runtime_out = ok(run(runtime, env, &backend, &["preview", "--json"]), "preview").json()["outputs"].clone();
    let model_bucket = base_out["model_bucket"].as_str().unwrap();
    assert!(
        runtime_out["fraud_model_uri"]
            .as_str()
            .is_some_and(|u| u == format!("s3://{model_bucket}/models/{env}/fraud-scorer/2026-11-30/")),
        "{runtime_out:#}"
    );

    let mut all = Vec::new();
    for stack in STACKS {
        let resources = recorded(stack, env, &backend);
        check_governance(env, &resources);
        all.extend(resources);
    }

    for stack in [runtime, platform, base] {
        ok(run(stack, env, &backend, &["destroy", "--yes"]), &format!("destroy of {} {env}", stack.0));
    }
    let provider = AwsProvider::new();
    let config = serde_json::json!({"region": "us-east-1", "endpoint": aws_endpoint()});
    provider.configure(Value::from_json(&config)).await.unwrap();
    for (urn, _, id, inputs) in all {
        let live = provider.read(ReadRequest { urn: urn.clone(), id: id.clone(), inputs, outputs: None }).await;
        assert!(matches!(live, Ok(None)), "{urn} ({id:?}) is left after destroy: {live:?}");
    }
    let s3 = cairn_tests::s3().await;
    cairn_tests::assert_gone(s3.get_bucket_versioning().bucket(model_bucket).send().await, "the model bucket");
}

#[tokio::test(flavor = "multi_thread")]
async fn dev_goes_up_in_order_reads_its_references_and_is_destroyed_in_reverse() {
    environment("dev").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn staging_goes_up_and_is_destroyed() {
    environment("staging").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn prod_goes_up_and_is_destroyed() {
    environment("prod").await;
}
