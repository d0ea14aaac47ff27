//! The runtime side of a training pipeline: an Argo `WorkflowTemplate` on its spot pool that
//! checkpoints to its bucket and retries a reclaimed node, a `CronWorkflow` when runs are
//! scheduled, and the service account bound to its IRSA role.

use std::collections::BTreeMap;
use std::sync::Arc;

use cairn_core::{ComponentArgs, DeclareError, InvalidArgs, Output, Scope, Stack, Urn};
use cairn_gitops::Manifest;
use cairn_k8s::api::core::v1::{Container, EnvVar, ResourceRequirements};
use cairn_k8s::apimachinery::pkg::api::resource::Quantity;
use cairn_k8s::apimachinery::pkg::util::intstr::IntOrString;
use cairn_k8s::argo::{
    Backoff, ConcurrencyPolicy, CronWorkflow, CronWorkflowSpec, PodGc, PodGcStrategy, PodMetadata, RetryPolicy,
    RetryStrategy, Template, TtlStrategy, WorkflowSpec, WorkflowTemplate,
};
use typed_builder::TypedBuilder;

use super::{declare_output, declare_service_account, gpu_toleration, labels, meta};
use crate::TrainingRuntime;

/// Arguments of [`TrainingManifests`].
#[derive(Debug, Clone, TypedBuilder)]
pub struct TrainingManifestsArgs {
    /// What the cloud side made ([`crate::TrainingPipeline::runtime`]).
    pub runtime: TrainingRuntime,
    /// The training image.
    #[builder(setter(into))]
    pub image: String,
    /// The command the container runs.
    #[builder(default = vec!["python".to_owned(), "train.py".to_owned()])]
    pub command: Vec<String>,
    /// GPUs a run takes (at most one node's; 0 for all of it).
    #[builder(default = 0)]
    pub gpus: u32,
    /// Hours a run may take before it is stopped.
    #[builder(default = 24)]
    pub max_hours: i64,
    /// Attempts after the first when a node is lost (a spot reclaim) or the pod errs.
    #[builder(default = 3)]
    pub retries: i32,
    /// Days a finished run's record is kept.
    #[builder(default = 7)]
    pub keep_days: i32,
}

/// The manifests of one training pipeline.
#[derive(Debug, Clone)]
pub struct TrainingManifests {
    /// The component's URN.
    pub urn: Urn,
    /// The service account, annotated with the IRSA role.
    pub service_account: Manifest,
    /// The workflow a run submits.
    pub workflow_template: Manifest,
    /// The schedule's workflow, when runs are scheduled.
    pub cron_workflow: Option<Manifest>,
}

/// The buckets a run writes to, known once the cloud side exists.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct TrainingBuckets {
    /// Checkpoints (`s3://…/checkpoints/`).
    pub checkpoints: String,
    /// Trained models (`s3://…/models/`).
    pub artifacts: String,
}

impl TrainingManifestsArgs {
    fn gpus(&self) -> u32 {
        if self.gpus == 0 { self.runtime.gpus_per_node } else { self.gpus }
    }

    /// The workflow a run is: one step on the training pool that resumes from its last checkpoint.
    pub fn workflow(&self, labels: &BTreeMap<String, String>, buckets: &TrainingBuckets) -> WorkflowSpec {
        let r = &self.runtime;
        let env =
            |name: &str, value: String| EnvVar { name: name.to_owned(), value: Some(value), ..Default::default() };
        let mut vars = vec![
            // One checkpoint directory per workflow: a retried pod resumes from it.
            env(
                "CHECKPOINT_URI",
                format!("s3://{}/checkpoints/{}/{{{{workflow.name}}}}/", buckets.checkpoints, r.name),
            ),
            env("MODEL_OUTPUT_URI", format!("s3://{}/models/{}/{{{{workflow.name}}}}/", buckets.artifacts, r.name)),
        ];
        if let Some(minutes) = r.checkpoint_interval_minutes {
            vars.push(env("CHECKPOINT_INTERVAL_MINUTES", minutes.to_string()));
        }
        let gpus = Quantity(self.gpus().to_string());
        let resources = ResourceRequirements {
            requests: Some(BTreeMap::from([("nvidia.com/gpu".to_owned(), gpus.clone())])),
            limits: Some(BTreeMap::from([("nvidia.com/gpu".to_owned(), gpus)])),
            ..Default::default()
        };
        WorkflowSpec {
            entrypoint: Some("train".into()),
            templates: vec![Template {
                name: "train".into(),
                container: Some(Container {
                    name: "train".into(),
                    image: Some(self.image.clone()),
                    command: Some(self.command.clone()),
                    env: Some(vars),
                    resources: Some(resources),
                    ..Default::default()
                }),
                ..Default::default()
            }],
            service_account_name: Some(r.service_account.clone()),
            node_selector: Some(BTreeMap::from([("cairn.dev/pool".to_owned(), r.pool.clone())])),
            tolerations: Some(vec![gpu_toleration()]),
            active_deadline_seconds: Some(self.max_hours * 3600),
            // A reclaimed spot node ends the pod with an error, not a failure: run it again.
            retry_strategy: Some(RetryStrategy {
                limit: Some(IntOrString::Int(self.retries)),
                retry_policy: Some(RetryPolicy::OnError),
                backoff: Some(Backoff {
                    duration: Some("1m".into()),
                    factor: Some(IntOrString::Int(2)),
                    max_duration: Some("1h".into()),
                }),
            }),
            // Failed pods stay for their logs; a succeeded run's go.
            pod_gc: Some(PodGc { strategy: Some(PodGcStrategy::OnWorkflowSuccess) }),
            ttl_strategy: Some(TtlStrategy {
                seconds_after_completion: Some(self.keep_days * 86_400),
                ..Default::default()
            }),
            pod_metadata: Some(PodMetadata { labels: labels.clone(), annotations: BTreeMap::new() }),
            ..Default::default()
        }
    }

    /// The `WorkflowTemplate`.
    pub fn workflow_template(&self, labels: &BTreeMap<String, String>, buckets: &TrainingBuckets) -> WorkflowTemplate {
        WorkflowTemplate {
            metadata: meta(&self.runtime.name, &self.runtime.namespace, labels),
            spec: self.workflow(labels, buckets),
        }
    }

    /// The `CronWorkflow` of a schedule: never two runs at once.
    pub fn cron_workflow(
        &self,
        labels: &BTreeMap<String, String>,
        buckets: &TrainingBuckets,
        schedule: &str,
    ) -> CronWorkflow {
        CronWorkflow {
            metadata: meta(&self.runtime.name, &self.runtime.namespace, labels),
            spec: CronWorkflowSpec {
                schedules: vec![schedule.to_owned()],
                timezone: Some("UTC".into()),
                concurrency_policy: Some(ConcurrencyPolicy::Forbid),
                successful_jobs_history_limit: Some(3),
                failed_jobs_history_limit: Some(3),
                workflow_spec: self.workflow(labels, buckets),
                ..Default::default()
            },
        }
    }
}

impl ComponentArgs for TrainingManifestsArgs {
    type Component = TrainingManifests;
    const TYPE: &'static str = "cairn:ai:TrainingManifests";

    fn validate(&self, ctx: &Stack) -> Result<(), InvalidArgs> {
        if self.image.is_empty() {
            return Err(InvalidArgs::new("image", "is empty", "give the training image, e.g. ECR_URL/train:TAG"));
        }
        if self.gpus > self.runtime.gpus_per_node {
            return Err(InvalidArgs::new(
                "gpus",
                format!("is {}, but a training node has {}", self.gpus, self.runtime.gpus_per_node),
                "ask for at most one node's GPUs (0 takes the whole node)",
            ));
        }
        if self.max_hours < 1 || self.retries < 0 || self.keep_days < 1 {
            return Err(InvalidArgs::new(
                "max_hours",
                "max_hours and keep_days must be 1 or more and retries 0 or more",
                "give positive limits",
            ));
        }
        super::check_labels(ctx)
    }

    fn expand(self, scope: &Scope) -> Result<TrainingManifests, DeclareError> {
        let labels = labels(scope, &self.runtime.name);
        let r = self.runtime.clone();
        let sa = declare_service_account(scope, &r.service_account, &r.namespace, &labels, &r.role_arn)?;
        let buckets: Output<TrainingBuckets> = r
            .checkpoint_bucket
            .zip(&r.artifact_bucket)
            .map(|(checkpoints, artifacts)| TrainingBuckets { checkpoints, artifacts });
        let this = Arc::new((self.clone(), labels.clone()));
        let template = {
            let this = this.clone();
            let object = buckets.map(move |b: TrainingBuckets| this.0.workflow_template(&this.1, &b));
            declare_output(scope, "workflow", &self.workflow_template(&labels, &TrainingBuckets::default()), object)?
        };
        let cron = match r.schedule.clone() {
            None => None,
            Some(schedule) => {
                let identity = self.cron_workflow(&labels, &TrainingBuckets::default(), &schedule);
                let object = buckets.map(move |b: TrainingBuckets| this.0.cron_workflow(&this.1, &b, &schedule));
                Some(declare_output(scope, "cron", &identity, object)?)
            }
        };
        Ok(TrainingManifests {
            urn: scope.urn().clone(),
            service_account: sa,
            workflow_template: template,
            cron_workflow: cron,
        })
    }
}
