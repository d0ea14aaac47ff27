//! A training pipeline's cloud side: spot GPU nodes that scale to zero
//! between runs, a bucket for the models it produces and one for
//! checkpoints (expired after a while), the IAM role its jobs assume, and the
//! trigger that starts a run: a queue or a schedule.

use std::collections::BTreeMap;

use cairn_aws::{CapacityType, Queue, Role};
use cairn_core::{ComponentArgs, DeclareError, Input, InvalidArgs, Output, Scope, Stack, Urn};
use typed_builder::TypedBuilder;

use crate::access::{self, S3Location};
use crate::artifact_bucket::{ArtifactBucket, ArtifactBucketArgs};
use crate::checks;
use crate::eks_cluster::ClusterInfo;
use crate::gpu::gpu_instance;
use crate::gpu_node_pool::{GpuNodePool, GpuNodePoolArgs, MAX_GPU_NODES};
use crate::tags::{check_cost_tags, cost_tags};
use crate::work_queue::WorkQueue;

/// What starts a training run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trigger {
    /// A message on the pipeline's own queue (with a dead-letter queue): for runs started by
    /// new data or by a person.
    Queue,
    /// A cron schedule (five fields, UTC), run by the runtime side (an Argo `CronWorkflow`).
    Schedule(String),
}

/// Arguments of [`TrainingPipeline`].
///
/// ```
/// use cairn_ai::{TrainingPipelineArgs, Trigger};
/// # let cluster = cairn_ai::ClusterInfo { name: "c".into(), version: "1.31".into(), oidc_provider_arn: "arn".into(), oidc_issuer: "i".into() };
/// let args = TrainingPipelineArgs::builder()
///     .cluster(cluster)
///     .subnet_ids(vec!["subnet-a", "subnet-b"])
///     .trigger(Trigger::Schedule("0 3 * * 1".into()))
///     .build();
/// assert_eq!(args.checkpoint_interval_minutes, Some(15), "spot runs checkpoint by default");
/// ```
#[derive(Debug, Clone, TypedBuilder)]
pub struct TrainingPipelineArgs {
    /// The cluster the jobs run on.
    pub cluster: ClusterInfo,
    /// The subnets of the training nodes (one zone's keeps multi-node traffic local).
    #[builder(setter(into))]
    pub subnet_ids: Input<Vec<String>>,
    /// What starts a run.
    pub trigger: Trigger,
    /// GPU instance types, most preferred first (several spread spot interruptions).
    #[builder(default = vec!["g5.12xlarge".to_owned(), "g6.12xlarge".to_owned()], setter(transform = |types: impl IntoIterator<Item = impl Into<String>>| cairn_aws::strings(types)))]
    pub instance_types: Vec<String>,
    /// Spot (default: training resumes from checkpoints) or on-demand.
    #[builder(default = CapacityType::Spot)]
    pub capacity_type: CapacityType,
    /// Most training nodes at once; at most `max_nodes_cap`.
    #[builder(default = 4)]
    pub max_nodes: i32,
    /// The cap `max_nodes` is checked against; raise it deliberately.
    #[builder(default = MAX_GPU_NODES)]
    pub max_nodes_cap: i32,
    /// How often jobs write a checkpoint: what makes a spot interruption cost minutes, not the
    /// run. Spot capacity requires it.
    #[builder(default = Some(15))]
    pub checkpoint_interval_minutes: Option<u32>,
    /// Days checkpoints are kept.
    #[builder(default = 14)]
    pub checkpoint_retention_days: i32,
    /// Where the training data is read from (read-only access).
    #[builder(default, setter(strip_option))]
    pub dataset: Option<S3Location>,
    /// The Kubernetes namespace of the jobs.
    #[builder(default = "training".to_owned(), setter(into))]
    pub namespace: String,
    /// Extra tags, added to the cost tags.
    #[builder(default, setter(fn transform<K: Into<String>, V: Into<String>>(tags: impl IntoIterator<Item = (K, V)>) -> BTreeMap<String, String> {
        cairn_aws::string_map(tags)
    }))]
    pub tags: BTreeMap<String, String>,
}

/// The cloud side of a training pipeline.
#[derive(Debug, Clone)]
pub struct TrainingPipeline {
    /// The component's URN.
    pub urn: Urn,
    /// The training nodes (tainted for GPU work, labelled `cairn.dev/workload=training`).
    pub pool: GpuNodePool,
    /// Where trained models are written (`models/`).
    pub artifacts: ArtifactBucket,
    /// Checkpoints (`checkpoints/`), expired after `checkpoint_retention_days`.
    pub checkpoints: ArtifactBucket,
    /// The IRSA role of the jobs' service account (the component's name).
    pub role: Role,
    /// The trigger queue, with [`Trigger::Queue`].
    pub queue: Option<Queue>,
    /// The queue's dead letters, with [`Trigger::Queue`].
    pub dead_letters: Option<Queue>,
    /// The schedule, with [`Trigger::Schedule`].
    pub schedule: Option<String>,
    /// How often jobs checkpoint, for the runtime side's job spec.
    pub checkpoint_interval_minutes: Option<u32>,
    /// What the runtime side needs ([`crate::TrainingManifests`]).
    pub runtime: TrainingRuntime,
}

/// What the runtime side of a training pipeline needs: its `WorkflowTemplate` (and
/// `CronWorkflow`) are rendered from it.
#[derive(Debug, Clone)]
pub struct TrainingRuntime {
    /// The pipeline's name, the objects' name.
    pub name: String,
    /// The Kubernetes namespace.
    pub namespace: String,
    /// The service account the jobs run as (bound to `role_arn`).
    pub service_account: String,
    /// The jobs' IAM role.
    pub role_arn: Output<String>,
    /// The node label value of the training pool (`cairn.dev/pool`).
    pub pool: String,
    /// GPUs on one training node.
    pub gpus_per_node: u32,
    /// The checkpoint bucket (`checkpoints/`).
    pub checkpoint_bucket: Output<String>,
    /// The artifact bucket trained models go to (`models/`).
    pub artifact_bucket: Output<String>,
    /// The cron schedule, if runs are scheduled.
    pub schedule: Option<String>,
    /// Minutes between checkpoints.
    pub checkpoint_interval_minutes: Option<u32>,
}

/// Checks a five-field cron expression's shape (the runtime side parses it fully).
fn check_cron(expr: &str) -> Result<(), InvalidArgs> {
    let fields: Vec<&str> = expr.split_whitespace().collect();
    let ok = fields.len() == 5 && fields.iter().all(|f| f.bytes().all(|b| b.is_ascii_digit() || b"*/,-".contains(&b)));
    if ok {
        Ok(())
    } else {
        Err(InvalidArgs::new(
            "trigger",
            format!("schedule `{expr}` is not a five-field cron expression"),
            "write minute hour day-of-month month day-of-week, e.g. \"0 3 * * 1\" for Mondays at 03:00 UTC",
        ))
    }
}

impl ComponentArgs for TrainingPipelineArgs {
    type Component = TrainingPipeline;
    const TYPE: &'static str = "cairn:ai:TrainingPipeline";

    fn validate(&self, ctx: &Stack) -> Result<(), InvalidArgs> {
        checks::dns_label("namespace", &self.namespace)?;
        if let Trigger::Schedule(expr) = &self.trigger {
            check_cron(expr)?;
        }
        match (self.capacity_type, self.checkpoint_interval_minutes) {
            (CapacityType::Spot, None) => {
                return Err(InvalidArgs::new(
                    "checkpoint_interval_minutes",
                    "is None on spot capacity: an interruption would lose the whole run",
                    "checkpoint (e.g. Some(15)), or use CapacityType::OnDemand",
                ));
            }
            (_, Some(0)) => {
                return Err(InvalidArgs::new(
                    "checkpoint_interval_minutes",
                    "is 0",
                    "give the minutes between checkpoints",
                ));
            }
            _ => {}
        }
        if self.checkpoint_retention_days < 1 {
            return Err(InvalidArgs::new(
                "checkpoint_retention_days",
                format!("is {}", self.checkpoint_retention_days),
                "keep checkpoints at least 1 day",
            ));
        }
        if let Some(dataset) = &self.dataset {
            dataset.check("dataset")?;
        }
        check_cost_tags(ctx, &self.tags)
    }

    fn expand(self, scope: &Scope) -> Result<TrainingPipeline, DeclareError> {
        let tags = cost_tags(scope, &self.tags);
        // The smallest node of the pool bounds what one job may ask for.
        let gpus_per_node =
            self.instance_types.iter().filter_map(|t| gpu_instance(t).ok()).map(|g| g.gpus).min().unwrap_or(1);
        let pool = scope.component(
            &scope.child_name("gpu"),
            GpuNodePoolArgs::builder()
                .cluster_name(self.cluster.name.clone())
                .cluster_version(self.cluster.version.clone())
                .subnet_ids(self.subnet_ids)
                .instance_types(self.instance_types)
                .capacity_type(self.capacity_type)
                .min_size(0)
                .desired_size(0)
                .max_size(self.max_nodes)
                .max_nodes_cap(self.max_nodes_cap)
                .labels([("cairn.dev/workload", "training")])
                .tags(self.tags.clone())
                .build(),
        )?;
        let artifacts = scope
            .component(&scope.child_name("artifacts"), ArtifactBucketArgs::builder().tags(self.tags.clone()).build())?;
        let checkpoints = scope.component(
            &scope.child_name("checkpoints"),
            ArtifactBucketArgs::builder()
                // Checkpoints are hot while a run lasts, then worthless.
                .infrequent_access_after_days(None)
                .archive_after_days(None)
                .noncurrent_version_retention_days(1)
                .expire_after_days(self.checkpoint_retention_days)
                .force_destroy(true)
                .tags(self.tags.clone())
                .build(),
        )?;

        let mut grants = access::s3_read_write(&artifacts.name(), "models/");
        grants.extend(access::s3_read_write(&checkpoints.name(), "checkpoints/"));
        if let Some(dataset) = &self.dataset {
            grants.extend(dataset.read());
        }
        let (queue, dead_letters, schedule) = match &self.trigger {
            Trigger::Schedule(expr) => (None, None, Some(expr.clone())),
            Trigger::Queue => {
                let (queue, dead) = WorkQueue {
                    name: "runs",
                    dead_letters: "runs-dlq",
                    // A run request stays invisible while a job starts on a scaled-up node.
                    visibility_timeout_seconds: 900,
                    max_receive_count: 3,
                    kms_key: None,
                }
                .declare(scope, &tags)?;
                grants.push(access::sqs_consume(&queue.arn));
                scope.output("queue_url", &queue.url);
                (Some(queue), Some(dead), None)
            }
        };
        let role = access::irsa_role(scope, "role", &self.cluster, (&self.namespace, scope.name()), &grants, &tags)?;
        scope.output("role_arn", &role.arn);
        scope.output("artifact_bucket", &artifacts.bucket.bucket);
        scope.output("checkpoint_bucket", &checkpoints.bucket.bucket);
        let runtime = TrainingRuntime {
            name: scope.name().to_owned(),
            namespace: self.namespace.clone(),
            service_account: scope.name().to_owned(),
            role_arn: role.arn.clone(),
            pool: pool.pool_label.clone(),
            gpus_per_node,
            checkpoint_bucket: checkpoints.bucket.bucket.clone(),
            artifact_bucket: artifacts.bucket.bucket.clone(),
            schedule: schedule.clone(),
            checkpoint_interval_minutes: self.checkpoint_interval_minutes,
        };
        Ok(TrainingPipeline {
            runtime,
            urn: scope.urn().clone(),
            pool,
            artifacts,
            checkpoints,
            role,
            queue,
            dead_letters,
            schedule,
            checkpoint_interval_minutes: self.checkpoint_interval_minutes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{cluster, ctx};

    fn args(trigger: Trigger) -> TrainingPipelineArgs {
        TrainingPipelineArgs::builder().cluster(cluster()).subnet_ids(vec!["s"]).trigger(trigger).build()
    }

    #[test]
    fn a_queue_trigger_brings_a_queue_with_dead_letters() {
        let ctx = ctx("dev");
        let p = ctx.component("train", args(Trigger::Queue)).unwrap();
        assert!(p.queue.is_some() && p.dead_letters.is_some() && p.schedule.is_none());
        let d = ctx.finish();
        let ng = d.resources.iter().find(|r| r.urn.resource_type().as_str() == "aws:eks:NodeGroup").unwrap();
        assert_eq!(ng.inputs.to_json()["capacity_type"], "SPOT");
        assert_eq!(ng.inputs.to_json()["labels"]["cairn.dev/workload"], "training");
    }

    #[test]
    fn spot_without_checkpoints_is_refused() {
        let mut a = args(Trigger::Queue);
        a.checkpoint_interval_minutes = None;
        let err = ctx("dev").component("train", a).err().unwrap().to_string();
        assert!(err.contains("`checkpoint_interval_minutes`") && err.contains("CapacityType::OnDemand"), "{err}");
        let err = ctx("dev").component("train", args(Trigger::Schedule("daily".into()))).err().unwrap().to_string();
        assert!(err.contains("five-field cron"), "{err}");
    }
}
