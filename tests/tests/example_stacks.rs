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
use cairn_tests::example::STACKS;
use cairn_tests::{Run, aws_endpoint, bin};

fn example_dir(dir: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().join("examples").join("ai-platform").join(dir)
}

/// The GitOps repository of a test's environment: beside its state (`backend` is `file://DIR`).
fn gitops_of(backend: &str) -> PathBuf {
    Path::new(backend.strip_prefix("file://").expect("a file backend")).join("gitops")
}

/// Runs one of the example programs on `env` with its own config files, in the shared `backend`.
fn run((package, dir): (&str, &str), env: &str, backend: &str, args: &[&str]) -> Run {
    let mut cmd = std::process::Command::new(bin(package));
    cmd.args(args)
        .args(["--stack", env, "--backend", backend])
        .current_dir(example_dir(dir))
        .env("CAIRN_PROJECT_DIR", example_dir(dir))
        .env_remove("CARGO");
    cairn_tests::with_plugins(&mut cmd, &gitops_of(backend));
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
    let gitops = cairn_tests::gitops_repo(&gitops_of(&backend));
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

    if env == "dev" {
        targeting(base, env, &backend);
    }
    for stack in STACKS {
        ok(run(stack, env, &backend, &["up", "--yes"]), &format!("up of {} {env}", stack.0));
    }
    for stack in STACKS {
        let again = ok(run(stack, env, &backend, &["preview", "--json"]), "second preview");
        assert!(again.ops().iter().all(|(_, op)| op == "same"), "{} {env}: {:?}", stack.0, again.ops());
        // Each stack's monthly cost in each environment, pinned (docs/cost.md).
        insta::assert_json_snapshot!(format!("cost_{}_{env}", stack.0), again.json()["cost"]);
        assert!(
            again.json()["policy"]["passed"].as_bool().unwrap(),
            "{} {env}: every mandatory policy passes",
            stack.0
        );
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

    // Every type's Read returns what the state records: nothing has drifted.
    for stack in STACKS {
        let drift = run(stack, env, &backend, &["drift", "--json"]);
        let doc = drift.json();
        let t = &doc["drift"]["timing"];
        // The figures for the record (`--no-capture` shows them): reads run in parallel.
        eprintln!(
            "drift of {} {env}: {} resources read in {:.0} ms; slowest read {:.0} ms; reads added up {:.0} ms",
            stack.0,
            doc["drift"]["read"],
            t["wall_ms"].as_f64().unwrap_or(0.0),
            t["slowest_read_ms"].as_f64().unwrap_or(0.0),
            t["sum_of_reads_ms"].as_f64().unwrap_or(0.0)
        );
        let what = format!("drift of {} {env}: {}\n{}", stack.0, drift.stdout, drift.stderr);
        assert_eq!((doc["drift"]["changed"].as_u64(), doc["drift"]["missing"].as_u64()), (Some(0), Some(0)), "{what}");
        // moto answers DescribeSubscribersForNotification with a 500, so a
        // budget cannot be read here (its Read is covered by canned responses);
        // every other resource is read, and drift says it could not answer.
        let unreadable: Vec<&str> =
            doc["drift"]["unreadable"].as_array().unwrap().iter().filter_map(|u| u["urn"].as_str()).collect();
        if stack == platform {
            assert!(
                unreadable.len() == 1 && unreadable[0].contains("$aws:budgets:Budget::"),
                "only the budget is unreadable on the emulator: {what}"
            );
            assert_eq!(drift.code, 1, "an incomplete answer is an error: {what}");
        } else {
            assert!(unreadable.is_empty(), "{what}");
            assert_eq!(drift.code, 0, "{what}");
        }
    }
    if env == "dev" {
        drift_is_found_and_put_back(runtime, env, &backend).await;
    }

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
    // The runtime's manifests were committed by its `up`, and its destroy removed them, in one
    // commit each.
    let log = cairn_tests::git(&gitops, &["log", "--format=%s"]);
    let subjects: Vec<&str> = log.lines().collect();
    assert!(
        subjects.len() == 2
            && subjects[1].starts_with(&format!("cairn up: ai-runtime/{env}, serial"))
            && subjects[0].starts_with(&format!("cairn destroy: ai-runtime/{env}, serial")),
        "{log}"
    );
    assert_eq!(cairn_tests::git(&gitops, &["ls-files"]), "", "destroy leaves the stack's directory empty");
    // What Cairn created in AWS is gone.
    for (urn, _, id, inputs) in all.into_iter().filter(|(urn, ..)| urn.resource_type().package() == "aws") {
        let live = provider.read(ReadRequest { urn: urn.clone(), id: id.clone(), inputs, outputs: None }).await;
        assert!(matches!(live, Ok(None)), "{urn} ({id:?}) is left after destroy: {live:?}");
    }
    let s3 = cairn_tests::s3().await;
    cairn_tests::assert_gone(s3.get_bucket_versioning().bucket(model_bucket).send().await, "the model bucket");
}

/// `--target` and `--exclude` on the base stack before its first `up`:
/// a target brings what it depends on (the GPU pool needs the cluster and
/// the network), and nothing else; an exclusion takes its dependents.
fn targeting(stack: (&str, &str), env: &str, backend: &str) {
    // Components are named `net`, `ai` (the cluster), `gpu`, `registry` and
    // `artifacts`; their children's names start with theirs.
    let of = |ops: &[(String, String)], component: &str| -> Vec<String> {
        ops.iter()
            .filter(|(n, _)| n == component || n.starts_with(&format!("{component}-")))
            .map(|(_, op)| op.clone())
            .collect()
    };
    let full = ok(run(stack, env, backend, &["preview", "--json"]), "preview").ops();

    let gpu = ok(run(stack, env, backend, &["preview", "--json", "--target", "gpu"]), "preview --target").ops();
    for component in ["gpu", "ai", "net"] {
        assert!(
            !of(&gpu, component).is_empty() && of(&gpu, component).iter().all(|op| op == "create"),
            "{component} in {gpu:?}"
        );
    }
    assert_eq!(of(&gpu, "gpu"), of(&full, "gpu"), "the whole pool is targeted");
    assert!(of(&gpu, "registry").is_empty() && of(&gpu, "artifacts").is_empty(), "nothing else: {gpu:?}");

    // The component and its cluster are both named `ai`: an exclusion by name means the component.
    let by_name = ok(run(stack, env, backend, &["preview", "--json", "--exclude", "ai"]), "preview --exclude").ops();
    let component = format!("urn:cairn:{env}::ai-base::cairn:ai:EksCluster::ai");
    let no_cluster =
        ok(run(stack, env, backend, &["preview", "--json", "--exclude", &component]), "preview --exclude").ops();
    // The pool's node group runs in the cluster, so it goes too; its role does not need the cluster.
    let names = |ops: &[(String, String)]| ops.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    let gone: Vec<String> = names(&full).into_iter().filter(|n| !names(&no_cluster).contains(n)).collect();
    assert!(of(&no_cluster, "ai").is_empty(), "{no_cluster:?}");
    assert_eq!(by_name, no_cluster, "the name means the component");
    assert!(
        gone.iter().any(|n| n.starts_with("gpu-")) && names(&no_cluster).contains(&"gpu-node-role".to_owned()),
        "{gone:?}"
    );
    assert!(!of(&no_cluster, "net").is_empty() && !of(&no_cluster, "registry").is_empty(), "{no_cluster:?}");

    // Applied: only the artifact bucket exists; the next plan creates the rest.
    let up = ok(run(stack, env, backend, &["up", "--yes", "--json", "--target", "artifacts"]), "up --target").ops();
    assert!(up.iter().all(|(n, op)| n.starts_with("artifacts") && op == "create"), "{up:?}");
    let rest = ok(run(stack, env, backend, &["preview", "--json"]), "preview").ops();
    assert!(
        of(&rest, "artifacts").iter().all(|op| op == "same") && of(&rest, "gpu").iter().all(|op| op == "create"),
        "{rest:?}"
    );

    let unknown = run(stack, env, backend, &["preview", "--target", "no-such-thing"]);
    assert!(
        unknown.code != 0 && unknown.stderr.contains("--target `no-such-thing`: no resource"),
        "{}",
        unknown.stderr
    );
}

/// The record of the first resource of type `ty` in a stack's exported state.
fn record_of(stack: (&str, &str), env: &str, backend: &str, ty: &str) -> cairn_state::ResourceState {
    let state = ok(run(stack, env, backend, &["state", "export"]), "state export").json();
    let state: cairn_state::StackState = serde_json::from_value(state).expect("an exported state");
    state.resources.into_iter().find(|r| r.urn.resource_type().as_str() == ty).unwrap_or_else(|| panic!("no {ty}"))
}

/// Scales a node group and tags a bucket behind Cairn's back and deletes a
/// queue out of band: `drift` names the two properties and the missing queue
/// (exit 2), `up --refresh` puts all three back, and `drift` then exits 0.
async fn drift_is_found_and_put_back(stack: (&str, &str), env: &str, backend: &str) {
    let ng = record_of(stack, env, backend, "aws:eks:NodeGroup");
    let bucket = record_of(stack, env, backend, "aws:s3:Bucket");
    let queue = record_of(stack, env, backend, "aws:sqs:Queue");
    let (cluster, ng_name) = ng.id.as_deref().unwrap().split_once(':').unwrap();
    let bucket_name = bucket.id.clone().unwrap();
    let queue_url = queue.id.clone().unwrap();
    let declared_scaling = ng.inputs.to_json()["scaling"].clone();

    let eks = cairn_tests::eks().await;
    let scaling = aws_sdk_eks::types::NodegroupScalingConfig::builder().min_size(0).max_size(5).desired_size(3).build();
    eks.update_nodegroup_config()
        .cluster_name(cluster)
        .nodegroup_name(ng_name)
        .scaling_config(scaling)
        .send()
        .await
        .unwrap();
    let s3 = cairn_tests::s3().await;
    let mut tags = s3.get_bucket_tagging().bucket(&bucket_name).send().await.unwrap().tag_set().to_vec();
    tags.push(aws_sdk_s3::types::Tag::builder().key("owner").value("someone-by-hand").build().unwrap());
    let tagging = aws_sdk_s3::types::Tagging::builder().set_tag_set(Some(tags)).build().unwrap();
    s3.put_bucket_tagging().bucket(&bucket_name).tagging(tagging).send().await.unwrap();
    let sqs = aws_sdk_sqs::Client::new(&cairn_tests::sdk_config().await);
    sqs.delete_queue().queue_url(&queue_url).send().await.unwrap();

    let drift = run(stack, env, backend, &["drift", "--json"]);
    assert_eq!(drift.code, 2, "drift exits 2: {}\n{}", drift.stdout, drift.stderr);
    let doc = drift.json();
    let resources = doc["drift"]["resources"].as_array().unwrap();
    let find = |urn: &cairn_core::Urn| {
        resources.iter().find(|r| r["urn"] == urn.as_str()).unwrap_or_else(|| panic!("{urn} in {doc:#}"))
    };
    let paths = |r: &serde_json::Value| -> Vec<String> {
        r["properties"].as_array().unwrap().iter().map(|p| p["path"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(paths(find(&ng.urn)), ["scaling.desired_size", "scaling.max_size"], "{doc:#}");
    let ng_drift = &find(&ng.urn)["properties"][1];
    assert_eq!((ng_drift["live"].as_i64(), &ng_drift["program"]), (Some(5), &declared_scaling["max_size"]));
    assert_eq!(paths(find(&bucket.urn)), ["tags.owner"], "{doc:#}");
    assert_eq!(find(&queue.urn)["status"], "missing");
    assert_eq!((doc["drift"]["changed"].as_u64(), doc["drift"]["missing"].as_u64()), (Some(2), Some(1)), "{doc:#}");
    let md = run(stack, env, backend, &["drift", "--markdown"]);
    assert_eq!(md.code, 2);
    assert!(md.stdout.contains("| `tags.owner` |") && md.stdout.contains("| missing |"), "{}", md.stdout);

    ok(run(stack, env, backend, &["up", "--refresh", "--yes"]), "up --refresh");
    let after = run(stack, env, backend, &["drift", "--json"]);
    assert_eq!(after.code, 0, "nothing drifted after up --refresh: {}\n{}", after.stdout, after.stderr);
    let live = eks.describe_nodegroup().cluster_name(cluster).nodegroup_name(ng_name).send().await.unwrap();
    let live = live.nodegroup().and_then(|n| n.scaling_config()).cloned().unwrap();
    assert_eq!(
        (live.max_size(), live.desired_size()),
        (
            declared_scaling["max_size"].as_i64().map(|v| v as i32),
            declared_scaling["desired_size"].as_i64().map(|v| v as i32)
        )
    );
    let tags = s3.get_bucket_tagging().bucket(&bucket_name).send().await.unwrap();
    assert!(tags.tag_set().iter().all(|t| t.key() != "owner"), "the hand-made tag is gone");
    // Created again (under a new generated name: the old one's record is gone).
    let again = record_of(stack, env, backend, "aws:sqs:Queue");
    sqs.get_queue_attributes().queue_url(again.id.unwrap()).send().await.expect("the queue exists again");
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
