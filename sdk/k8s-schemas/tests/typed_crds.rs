//! Every field of cairn-k8s's custom resource types, set, passes the upstream schema: the typed
//! structs and the published CRDs agree on names and types.

use std::collections::BTreeMap;

use cairn_k8s::api::core::v1::{Container, EnvVar, ResourceRequirements, Toleration};
use cairn_k8s::apimachinery::pkg::api::resource::Quantity;
use cairn_k8s::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use cairn_k8s::apimachinery::pkg::util::intstr::IntOrString;
use cairn_k8s::{argo, argocd, kserve, prometheus};

fn meta() -> ObjectMeta {
    ObjectMeta {
        name: Some("x".into()),
        namespace: Some("ns".into()),
        labels: Some(BTreeMap::from([("team".into(), "ml".into())])),
        ..Default::default()
    }
}

fn map(k: &str, v: &str) -> BTreeMap<String, String> {
    BTreeMap::from([(k.to_owned(), v.to_owned())])
}

fn passes(object: &impl cairn_k8s::Object) {
    let json = serde_json::to_value(object).unwrap();
    match cairn_k8s_schemas::check(&json) {
        Ok(true) => {}
        Ok(false) => panic!("no schema for {json}"),
        Err(errors) => panic!("{}", errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")),
    }
    // And the typed check reads back exactly what was written.
    cairn_k8s::check_object(&json).unwrap().expect("a typed kind");
}

fn toleration() -> Toleration {
    Toleration {
        key: Some("nvidia.com/gpu".into()),
        operator: Some("Exists".into()),
        effect: Some("NoSchedule".into()),
        ..Default::default()
    }
}

#[test]
fn inference_service() {
    let limits = BTreeMap::from([("nvidia.com/gpu".to_owned(), Quantity("1".into()))]);
    passes(&kserve::InferenceService {
        metadata: meta(),
        spec: kserve::InferenceServiceSpec {
            predictor: kserve::PredictorSpec {
                model: Some(kserve::ModelSpec {
                    model_format: kserve::ModelFormat { name: "pytorch".into(), version: Some("2".into()) },
                    runtime: Some("kserve-torchserve".into()),
                    runtime_version: Some("0.12".into()),
                    protocol_version: Some("v2".into()),
                    storage_uri: Some("s3://b/m/v1".into()),
                    resources: Some(ResourceRequirements { limits: Some(limits), ..Default::default() }),
                    env: Some(vec![EnvVar { name: "A".into(), value: Some("b".into()), ..Default::default() }]),
                    args: Some(vec!["--x".into()]),
                }),
                min_replicas: Some(0),
                max_replicas: Some(4),
                scale_metric: Some(kserve::ScaleMetric::Concurrency),
                scale_target: Some(8),
                canary_traffic_percent: Some(10),
                container_concurrency: Some(4),
                timeout: Some(60),
                service_account_name: Some("sa".into()),
                node_selector: Some(map("pool", "gpu")),
                tolerations: Some(vec![toleration()]),
                labels: Some(map("team", "ml")),
                annotations: Some(map("a", "b")),
                priority_class_name: Some("high".into()),
            },
        },
    });
}

fn workflow() -> argo::WorkflowSpec {
    let retry = argo::RetryStrategy {
        limit: Some(IntOrString::Int(3)),
        retry_policy: Some(argo::RetryPolicy::OnError),
        backoff: Some(argo::Backoff {
            duration: Some("1m".into()),
            factor: Some(IntOrString::Int(2)),
            max_duration: Some("1h".into()),
        }),
    };
    let pod = argo::PodMetadata { labels: map("team", "ml"), annotations: map("a", "b") };
    let param = argo::Parameter { name: "epochs".into(), value: Some("3".into()), description: Some("d".into()) };
    argo::WorkflowSpec {
        entrypoint: Some("train".into()),
        templates: vec![argo::Template {
            name: "train".into(),
            container: Some(Container { name: "main".into(), image: Some("img".into()), ..Default::default() }),
            inputs: Some(argo::Inputs { parameters: vec![param.clone()] }),
            retry_strategy: Some(retry.clone()),
            active_deadline_seconds: Some(IntOrString::Int(3600)),
            metadata: Some(pod.clone()),
        }],
        arguments: Some(argo::Arguments { parameters: vec![param] }),
        service_account_name: Some("sa".into()),
        node_selector: Some(map("pool", "gpu")),
        tolerations: Some(vec![toleration()]),
        active_deadline_seconds: Some(7200),
        parallelism: Some(2),
        retry_strategy: Some(retry),
        pod_gc: Some(argo::PodGc { strategy: Some(argo::PodGcStrategy::OnWorkflowSuccess) }),
        ttl_strategy: Some(argo::TtlStrategy {
            seconds_after_completion: Some(1),
            seconds_after_success: Some(2),
            seconds_after_failure: Some(3),
        }),
        pod_metadata: Some(pod),
    }
}

#[test]
fn workflow_template_and_cron_workflow() {
    passes(&argo::WorkflowTemplate { metadata: meta(), spec: workflow() });
    passes(&argo::CronWorkflow {
        metadata: meta(),
        spec: argo::CronWorkflowSpec {
            schedules: vec!["0 2 * * *".into()],
            timezone: Some("UTC".into()),
            concurrency_policy: Some(argo::ConcurrencyPolicy::Forbid),
            starting_deadline_seconds: Some(60),
            successful_jobs_history_limit: Some(3),
            failed_jobs_history_limit: Some(3),
            suspend: Some(false),
            workflow_spec: workflow(),
        },
    });
}

#[test]
fn prometheus_rule() {
    passes(&prometheus::PrometheusRule {
        metadata: meta(),
        spec: prometheus::PrometheusRuleSpec {
            groups: vec![prometheus::RuleGroup {
                name: "gpu".into(),
                interval: Some("1m".into()),
                rules: vec![prometheus::Rule {
                    alert: Some("GpuIdle".into()),
                    record: None,
                    expr: "avg(DCGM_FI_DEV_GPU_UTIL) < 10".into(),
                    for_: Some("30m".into()),
                    labels: map("severity", "warning"),
                    annotations: map("summary", "idle"),
                }],
            }],
        },
    });
}

#[test]
fn application() {
    passes(&argocd::Application {
        metadata: meta(),
        spec: argocd::ApplicationSpec {
            project: "default".into(),
            source: Some(argocd::ApplicationSource {
                repo_url: "https://git.example/platform.git".into(),
                path: Some("clusters/dev".into()),
                target_revision: Some("main".into()),
                directory: Some(argocd::DirectorySource { recurse: Some(true) }),
            }),
            destination: argocd::ApplicationDestination {
                server: Some("https://kubernetes.default.svc".into()),
                namespace: Some("default".into()),
            },
            sync_policy: Some(argocd::SyncPolicy {
                automated: Some(argocd::AutomatedSync { prune: Some(true), self_heal: Some(true) }),
                sync_options: vec!["CreateNamespace=true".into()],
            }),
            revision_history_limit: Some(10),
        },
    });
}
