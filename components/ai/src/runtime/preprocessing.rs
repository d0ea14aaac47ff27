//! The runtime side of data preprocessing: workers reading its queue, as a `Job` (started now,
//! parallel, each worker stopping when the queue is empty) or a `CronJob` (on a schedule).

use std::collections::BTreeMap;
use std::sync::Arc;

use cairn_core::{ComponentArgs, DeclareError, InvalidArgs, Scope, Stack, Urn};
use cairn_gitops::Manifest;
use cairn_k8s::api::batch::v1::{CronJob, CronJobSpec, Job, JobSpec, JobTemplateSpec};
use cairn_k8s::api::core::v1::{Container, EnvVar, PodSpec, PodTemplateSpec, ResourceRequirements};
use cairn_k8s::apimachinery::pkg::api::resource::Quantity;
use cairn_k8s::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use typed_builder::TypedBuilder;

use super::{declare_output, declare_service_account, labels, meta};
use crate::PreprocessingRuntime;

/// Arguments of [`PreprocessingManifests`].
#[derive(Debug, Clone, TypedBuilder)]
pub struct PreprocessingManifestsArgs {
    /// What the cloud side made ([`crate::DataPreprocessing::runtime`], or read from its stack
    /// with [`PreprocessingRuntime::from_reference`]).
    pub runtime: PreprocessingRuntime,
    /// The worker image.
    #[builder(setter(into))]
    pub image: String,
    /// The command a worker runs.
    #[builder(default = vec!["python".to_owned(), "worker.py".to_owned()])]
    pub command: Vec<String>,
    /// Workers running at once.
    #[builder(default = 4)]
    pub parallelism: i32,
    /// A cron schedule (five fields, UTC): a `CronJob` instead of a `Job`.
    #[builder(default, setter(strip_option, into))]
    pub schedule: Option<String>,
    /// CPU per worker.
    #[builder(default = "1".to_owned(), setter(into))]
    pub cpu: String,
    /// Memory per worker.
    #[builder(default = "2Gi".to_owned(), setter(into))]
    pub memory: String,
    /// Attempts of a worker before the job fails.
    #[builder(default = 3)]
    pub backoff_limit: i32,
}

/// The manifests of the preprocessing workers.
#[derive(Debug, Clone)]
pub struct PreprocessingManifests {
    /// The component's URN.
    pub urn: Urn,
    /// The service account, annotated with the IRSA role.
    pub service_account: Manifest,
    /// The `Job` or `CronJob`.
    pub workers: Manifest,
}

impl PreprocessingManifestsArgs {
    fn job_spec(&self, labels: &BTreeMap<String, String>, queue_url: &str) -> JobSpec {
        let r = &self.runtime;
        let resources = ResourceRequirements {
            requests: Some(BTreeMap::from([
                ("cpu".to_owned(), Quantity(self.cpu.clone())),
                ("memory".to_owned(), Quantity(self.memory.clone())),
            ])),
            limits: Some(BTreeMap::from([("memory".to_owned(), Quantity(self.memory.clone()))])),
            ..Default::default()
        };
        JobSpec {
            // A work queue: no completion count, each worker exits when the queue is empty.
            parallelism: Some(self.parallelism),
            backoff_limit: Some(self.backoff_limit),
            ttl_seconds_after_finished: Some(86_400),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta { labels: Some(labels.clone()), ..Default::default() }),
                spec: Some(PodSpec {
                    service_account_name: Some(r.service_account.clone()),
                    restart_policy: Some("OnFailure".into()),
                    node_selector: Some(BTreeMap::from([("cairn.dev/pool".to_owned(), r.pool.clone())])),
                    containers: vec![Container {
                        name: "worker".into(),
                        image: Some(self.image.clone()),
                        command: Some(self.command.clone()),
                        env: Some(vec![EnvVar {
                            name: "QUEUE_URL".into(),
                            value: Some(queue_url.to_owned()),
                            ..Default::default()
                        }]),
                        resources: Some(resources),
                        ..Default::default()
                    }],
                    ..Default::default()
                }),
            },
            ..Default::default()
        }
    }

    /// The `Job`: `parallelism` workers draining the queue now.
    pub fn job(&self, labels: &BTreeMap<String, String>, queue_url: &str) -> Job {
        Job {
            metadata: meta(&self.runtime.name, &self.runtime.namespace, labels),
            spec: Some(self.job_spec(labels, queue_url)),
            ..Default::default()
        }
    }

    /// The `CronJob`: the same workers on a schedule, never two batches at once.
    pub fn cron_job(&self, labels: &BTreeMap<String, String>, queue_url: &str, schedule: &str) -> CronJob {
        CronJob {
            metadata: meta(&self.runtime.name, &self.runtime.namespace, labels),
            spec: Some(CronJobSpec {
                schedule: schedule.to_owned(),
                time_zone: Some("Etc/UTC".into()),
                concurrency_policy: Some("Forbid".into()),
                job_template: JobTemplateSpec {
                    metadata: Some(ObjectMeta { labels: Some(labels.clone()), ..Default::default() }),
                    spec: Some(self.job_spec(labels, queue_url)),
                },
                ..Default::default()
            }),
            ..Default::default()
        }
    }
}

impl ComponentArgs for PreprocessingManifestsArgs {
    type Component = PreprocessingManifests;
    const TYPE: &'static str = "cairn:ai:PreprocessingManifests";

    fn validate(&self, ctx: &Stack) -> Result<(), InvalidArgs> {
        if self.image.is_empty() {
            return Err(InvalidArgs::new("image", "is empty", "give the worker image, e.g. ECR_URL/prep:TAG"));
        }
        if !(1..=100).contains(&self.parallelism) {
            return Err(InvalidArgs::new("parallelism", format!("is {}", self.parallelism), "give 1 to 100 workers"));
        }
        if let Some(s) = &self.schedule
            && s.split_whitespace().count() != 5
        {
            return Err(InvalidArgs::new(
                "schedule",
                format!("`{s}` is not a five-field cron expression"),
                "write minute hour day-of-month month day-of-week, e.g. \"0 2 * * *\"",
            ));
        }
        super::check_labels(ctx)
    }

    fn expand(self, scope: &Scope) -> Result<PreprocessingManifests, DeclareError> {
        let labels = labels(scope, &self.runtime.name);
        let r = self.runtime.clone();
        let sa = declare_service_account(scope, &r.service_account, &r.namespace, &labels, &r.role_arn)?;
        let this = Arc::new((self.clone(), labels.clone()));
        let workers = match self.schedule.clone() {
            Some(schedule) => {
                let identity = self.cron_job(&labels, "", &schedule);
                let object = r.queue_url.map(move |q: String| this.0.cron_job(&this.1, &q, &schedule));
                declare_output(scope, "workers", &identity, object)?
            }
            None => {
                let object = r.queue_url.map(move |q: String| this.0.job(&this.1, &q));
                declare_output(scope, "workers", &self.job(&labels, ""), object)?
            }
        };
        Ok(PreprocessingManifests { urn: scope.urn().clone(), service_account: sa, workers })
    }
}
