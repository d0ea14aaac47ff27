//! The GitOps provider against a real Git repository in a temp dir, through the plugin process
//! and the automation API: one commit per `up` that changes files and none otherwise, a hand
//! edit shown by the next preview (with its line diff) and undone by `up`, a removed component's
//! files removed in one commit, `destroy` leaving the stack's directory empty, a push to a
//! remote, and a custom resource refused at Check naming its field.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use cairn_core::{Config, ProjectName, Provider, Stack, StackName, Value};
use cairn_engine::{AutoApprove, Op, RunOptions, StackRunner, StaticProviders};
use cairn_gitops::ManifestArgs;
use cairn_k8s::api::core::v1::ServiceAccount;
use cairn_k8s::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use cairn_k8s::kserve::{InferenceService, InferenceServiceSpec, ModelFormat, ModelSpec, PredictorSpec};
use cairn_state::journal_tap::JournalTap;
use cairn_state::{FileStore, LockOptions};
use cairn_tests::bin;

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git").arg("-C").arg(dir).args(args).output().expect("git runs");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn commits(repo: &Path) -> usize {
    git(repo, &["rev-list", "--count", "HEAD"]).parse().unwrap()
}

fn meta(name: &str, namespace: &str) -> ObjectMeta {
    ObjectMeta { name: Some(name.into()), namespace: Some(namespace.into()), ..Default::default() }
}

/// The program: an inference service (its service account and InferenceService, the model
/// version given), and, unless dropped, the monitoring component of `cairn-ai` (three manifests:
/// GPU rules, backlog rules, a dashboard).
fn program(version: &'static str, monitoring: bool) -> impl Fn(&Stack) {
    move |ctx: &Stack| {
        let sa = ServiceAccount { metadata: meta("fraud", "inference"), ..Default::default() };
        ctx.resource("fraud-sa", ManifestArgs::of(&sa).unwrap()).unwrap();
        let isvc = InferenceService {
            metadata: meta("fraud", "inference"),
            spec: InferenceServiceSpec {
                predictor: PredictorSpec {
                    model: Some(ModelSpec {
                        model_format: ModelFormat { name: "sklearn".into(), version: None },
                        storage_uri: Some(format!("s3://models/fraud/{version}")),
                        ..Default::default()
                    }),
                    min_replicas: Some(0),
                    max_replicas: Some(2),
                    ..Default::default()
                },
            },
        };
        ctx.resource("fraud-isvc", ManifestArgs::of(&isvc).unwrap()).unwrap();
        if monitoring {
            let queue =
                cairn_ai::QueueBacklog { label: "prep".into(), queue_name: "prep-jobs".into(), max_depth: 100.0 };
            ctx.component("monitoring", cairn_ai::MonitoringManifestsArgs::builder().queues(vec![queue]).build())
                .unwrap();
        }
    }
}

fn declare(program: impl Fn(&Stack)) -> cairn_core::DeclaredStack {
    declare_on("dev", program)
}

fn declare_on(stack: &str, program: impl Fn(&Stack)) -> cairn_core::DeclaredStack {
    let ctx = Stack::new(StackName::new(stack).unwrap(), ProjectName::new("gitops-test").unwrap(), Config::default());
    program(&ctx);
    ctx.finish()
}

async fn provider(repo: &Path, push: bool) -> Arc<dyn Provider> {
    let plugin = cairn_plugin::launch(&bin("cairn-provider-gitops")).await.expect("the plugin starts");
    let mut settings = serde_json::json!({"repo": repo.to_str().unwrap(), "path": "clusters/{stack}"});
    if push {
        settings["push"] = "origin".into();
    }
    plugin.configure(Value::from_json(&settings)).await.expect("the settings are accepted");
    Arc::new(plugin)
}

#[tokio::test(flavor = "multi_thread")]
async fn manifests_are_committed_once_per_run_and_hand_edits_show() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("platform-gitops");
    let remote = tmp.path().join("remote.git");
    git(tmp.path(), &["init", "--quiet", "--bare", "-b", "main", remote.to_str().unwrap()]);
    git(tmp.path(), &["init", "--quiet", "-b", "main", repo.to_str().unwrap()]);
    git(&repo, &["-c", "user.name=T", "-c", "user.email=t@e", "commit", "--quiet", "--allow-empty", "-m", "start"]);
    git(&repo, &["remote", "add", "origin", remote.to_str().unwrap()]);
    // A file of the team's own beside Cairn's: never touched.
    std::fs::create_dir_all(repo.join("clusters/dev")).unwrap();
    std::fs::write(repo.join("clusters/dev/README.md"), "hand-written\n").unwrap();

    let providers = StaticProviders::default().with("gitops", provider(&repo, true).await);
    let state_dir = tempfile::tempdir().unwrap();
    let store = JournalTap::new(FileStore::new(state_dir.path()));
    let lock = LockOptions { wait: Duration::from_secs(30), ..LockOptions::default() };
    let (p, s) = (ProjectName::new("gitops-test").unwrap(), StackName::new("dev").unwrap());
    let runner = StackRunner::new(p, s, &store, &providers).lock_options(lock);
    let up = |program| async {
        let run = runner.up(&declare(program), &RunOptions::default(), &AutoApprove).await.unwrap();
        assert!(!run.failed(), "{:?}", run.apply_report());
        store.check_every_prefix().unwrap();
        run
    };
    let dir = repo.join("clusters/dev");
    let isvc_file = dir.join("inference/inferenceservice-fraud.yaml");

    // The first up writes three files in one commit, which names them and the serial, and pushes.
    let run = up(program("v41", true)).await;
    assert_eq!(commits(&repo), 2);
    let message = git(&repo, &["log", "-1", "--format=%B"]);
    let serial = run.state().unwrap().serial;
    assert!(message.starts_with(&format!("cairn up: gitops-test/dev, serial {serial}")), "{message}");
    for file in [
        "clusters/dev/inference/serviceaccount-fraud.yaml",
        "clusters/dev/inference/inferenceservice-fraud.yaml",
        "clusters/dev/monitoring/configmap-monitoring-dashboard.yaml",
        "clusters/dev/monitoring/prometheusrule-monitoring-gpu.yaml",
        "clusters/dev/monitoring/prometheusrule-monitoring-queues.yaml",
    ] {
        assert!(message.contains(&format!("created  {file}")), "{message}");
    }
    let shown = git(&repo, &["show", "--stat", "--format=", "HEAD"]);
    assert!(shown.contains("5 files changed") && !shown.contains("README"), "{shown}");
    assert_eq!(git(&remote, &["rev-parse", "main"]), git(&repo, &["rev-parse", "HEAD"]));
    assert!(
        run.notes.iter().any(|n| n.contains("committed") && n.contains("5 created") && n.contains("pushed")),
        "{:?}",
        run.notes
    );
    let text = std::fs::read_to_string(&isvc_file).unwrap();
    assert!(text.starts_with(cairn_gitops::HEADER) && text.contains("storageUri: s3://models/fraud/v41\n"), "{text}");

    // A second up changes nothing and commits nothing.
    let run = up(program("v41", true)).await;
    assert!(run.plan.steps.iter().all(|s| s.op() == Op::Same));
    assert!(run.notes.is_empty());
    assert_eq!(commits(&repo), 2);

    // A hand edit shows in the next preview as an update of that manifest, with the line diff.
    std::fs::write(&isvc_file, text.replace("maxReplicas: 2", "maxReplicas: 20")).unwrap();
    let plan = runner.preview(&declare(program("v41", true))).await.unwrap();
    let changed: Vec<_> = plan.steps.iter().filter(|s| s.op() != Op::Same).collect();
    assert_eq!(changed.len(), 1, "{:?}", plan.steps.iter().map(|s| (s.urn.name(), s.op())).collect::<Vec<_>>());
    assert_eq!(changed[0].urn.name(), "fraud-isvc");
    let detail = changed[0].diffs[0].detail.as_deref().expect("a line diff");
    assert!(detail.contains("-    maxReplicas: 20\n+    maxReplicas: 2\n"), "{detail}");
    assert!(detail.contains("changed outside Cairn"), "{detail}");
    // Up writes it back; the file then equals the last commit, so there is nothing to commit.
    up(program("v41", true)).await;
    assert_eq!(std::fs::read_to_string(&isvc_file).unwrap(), text);
    assert_eq!(commits(&repo), 2, "the restored file equals the last commit: nothing to commit");

    // A model version change: the one manifest changes, its diff the one line.
    let plan = runner.preview(&declare(program("v42", true))).await.unwrap();
    let changed: Vec<_> = plan.steps.iter().filter(|s| s.op() != Op::Same).collect();
    assert_eq!(changed.len(), 1);
    let detail = changed[0].diffs[0].detail.as_deref().unwrap();
    assert_eq!(
        detail.lines().filter(|l| l.starts_with(['-', '+']) && !l.starts_with("---") && !l.starts_with("+++")).count(),
        2,
        "{detail}"
    );
    up(program("v42", true)).await;
    assert_eq!(commits(&repo), 3);
    assert_eq!(
        git(&repo, &["show", "--format=", "--name-only", "HEAD"]),
        "clusters/dev/inference/inferenceservice-fraud.yaml"
    );

    // Removing the monitoring component removes its three files, in one commit.
    up(program("v42", false)).await;
    assert_eq!(commits(&repo), 4);
    assert_eq!(
        git(&repo, &["show", "--format=", "--name-status", "HEAD"]),
        "D\tclusters/dev/monitoring/configmap-monitoring-dashboard.yaml\n\
         D\tclusters/dev/monitoring/prometheusrule-monitoring-gpu.yaml\n\
         D\tclusters/dev/monitoring/prometheusrule-monitoring-queues.yaml"
    );
    assert!(!dir.join("monitoring").exists());

    // Destroy leaves nothing of Cairn's under the stack's directory (the team's file stays).
    let run = runner.destroy(&RunOptions::default(), &AutoApprove).await.unwrap();
    assert!(!run.failed());
    assert_eq!(commits(&repo), 5);
    assert_eq!(git(&repo, &["ls-files", "clusters/dev"]), "");
    let left: Vec<_> = walk(&dir);
    assert_eq!(left, ["README.md"]);
    assert_eq!(git(&remote, &["rev-parse", "main"]), git(&repo, &["rev-parse", "HEAD"]));
}

fn walk(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        if e.path().is_dir() {
            out.extend(walk(&e.path()).into_iter().map(|f| format!("{}/{f}", e.file_name().to_string_lossy())));
        } else {
            out.push(e.file_name().to_string_lossy().into_owned());
        }
    }
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn a_custom_resource_that_breaks_its_schema_is_refused_at_check() {
    let tmp = tempfile::tempdir().unwrap();
    git(tmp.path(), &["init", "--quiet", "-b", "main", "repo"]);
    let provider = provider(&tmp.path().join("repo"), false).await;
    let object = serde_json::json!({
        "apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule",
        "metadata": {"name": "gpu", "namespace": "monitoring"},
        "spec": {"groups": [{"name": "gpu", "rules": [{"alert": "Idle", "expr": "up == 0", "for": "ten minutes"}]}]}
    });
    let args = ManifestArgs::builder().object(object).file("monitoring/prometheusrule-gpu.yaml").build();
    let urn = cairn_core::Urn::parse("urn:cairn:dev::gitops-test::gitops:index:Manifest::rules").unwrap();
    let checked = provider
        .check(cairn_core::CheckRequest { urn, olds: None, news: Value::from_serialize(&args).unwrap() })
        .await
        .unwrap();
    assert_eq!(checked.failures.len(), 1, "{:?}", checked.failures);
    assert_eq!(checked.failures[0].property.to_string(), "object.spec.groups[0].rules[0].for");
    assert!(checked.failures[0].reason.contains("prometheus-operator v0.93.0"), "{}", checked.failures[0].reason);

    // A field the CRD has but Cairn's struct does not type (the request logger) is accepted.
    let logged = serde_json::json!({
        "apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
        "metadata": {"name": "fraud", "namespace": "fraud"},
        "spec": {"predictor": {"logger": {"mode": "all"}, "model": {"modelFormat": {"name": "xgboost"}}}}
    });
    let args = ManifestArgs::builder().object(logged).file("fraud/inferenceservice-fraud.yaml").build();
    let urn = cairn_core::Urn::parse("urn:cairn:dev::gitops-test::gitops:index:Manifest::fraud").unwrap();
    let checked = provider
        .check(cairn_core::CheckRequest { urn, olds: None, news: Value::from_serialize(&args).unwrap() })
        .await
        .unwrap();
    assert!(checked.failures.is_empty(), "{:?}", checked.failures);
}

#[tokio::test(flavor = "multi_thread")]
async fn settings_that_cannot_work_are_refused_with_the_fix() {
    let tmp = tempfile::tempdir().unwrap();
    let configure = |settings: serde_json::Value| async move {
        let plugin = cairn_plugin::launch(&bin("cairn-provider-gitops")).await.unwrap();
        plugin.configure(Value::from_json(&settings)).await.unwrap_err().message
    };
    let missing = tmp.path().join("nowhere");
    let err = configure(serde_json::json!({"repo": missing.to_str().unwrap()})).await;
    assert!(err.contains("does not exist") && err.contains("git init -b main"), "{err}");
    std::fs::create_dir(tmp.path().join("plain")).unwrap();
    let err = configure(serde_json::json!({"repo": tmp.path().join("plain").to_str().unwrap()})).await;
    assert!(err.contains("is not a Git working tree"), "{err}");
    git(tmp.path(), &["init", "--quiet", "-b", "trunk", "repo"]);
    let err = configure(serde_json::json!({"repo": tmp.path().join("repo").to_str().unwrap()})).await;
    assert!(err.contains("is on branch `trunk`") && err.contains("branch = \"main\""), "{err}");
}

/// `up` of `stack` with the manifests of `program`, on `repo`, in a state of its own.
async fn up_in(repo: &Path, stack: &str, state: &Path) -> cairn_engine::RunReport {
    let providers = StaticProviders::default().with("gitops", provider(repo, true).await);
    let store = FileStore::new(state);
    let (p, s) = (ProjectName::new("gitops-test").unwrap(), StackName::new(stack).unwrap());
    let runner = StackRunner::new(p, s, &store, &providers);
    let run = runner.up(&declare_on(stack, program("v1", true)), &RunOptions::default(), &AutoApprove).await.unwrap();
    assert!(!run.failed(), "{:?}", run.apply_report());
    run
}

#[tokio::test(flavor = "multi_thread")]
async fn stacks_sharing_a_repository_commit_at_once_and_push_past_each_other() {
    let tmp = tempfile::tempdir().unwrap();
    let remote = tmp.path().join("remote.git");
    git(tmp.path(), &["init", "--quiet", "--bare", "-b", "main", remote.to_str().unwrap()]);
    let seed = tmp.path().join("seed");
    git(tmp.path(), &["init", "--quiet", "-b", "main", seed.to_str().unwrap()]);
    git(&seed, &["-c", "user.name=T", "-c", "user.email=t@e", "commit", "--quiet", "--allow-empty", "-m", "start"]);
    git(&seed, &["push", "--quiet", remote.to_str().unwrap(), "main"]);
    let clone = |name: &str| {
        let dir = tmp.path().join(name);
        git(tmp.path(), &["clone", "--quiet", remote.to_str().unwrap(), dir.to_str().unwrap()]);
        dir
    };
    let (a, b) = (clone("a"), clone("b"));
    let state = |name: &str| tmp.path().join("state").join(name);

    // Two stacks in one working tree at once: both commit (one waits for the other's index lock).
    let (dev_state, staging_state) = (state("dev"), state("staging"));
    let (dev, staging) = tokio::join!(up_in(&a, "dev", &dev_state), up_in(&a, "staging", &staging_state));
    assert!(
        dev.notes.iter().chain(&staging.notes).all(|n| n.contains("committed")),
        "{:?} {:?}",
        dev.notes,
        staging.notes
    );
    let subjects = git(&a, &["log", "--format=%s"]);
    assert!(subjects.contains("gitops-test/dev") && subjects.contains("gitops-test/staging"), "{subjects}");

    // A clone behind the remote: its push is refused, so its commit is replayed on top and pushed.
    let prod = up_in(&b, "prod", &state("prod")).await;
    assert!(prod.notes.iter().any(|n| n.contains("pushed to origin")), "{:?}", prod.notes);
    let log = git(&remote, &["log", "--format=%s", "main"]);
    for stack in ["dev", "staging", "prod"] {
        assert!(log.contains(&format!("cairn up: gitops-test/{stack}")), "{stack}: {log}");
    }
    assert_eq!(git(&b, &["rev-parse", "HEAD"]), git(&remote, &["rev-parse", "main"]));
}
