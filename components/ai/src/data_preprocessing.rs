//! Data preprocessing: a work queue with a dead-letter queue and redrive,
//! both encrypted with the component's own key, spot CPU nodes that scale to
//! zero, and a role for the workers' service account that reads the input
//! location, writes the output location and consumes the queue, nothing else.

use std::collections::BTreeMap;

use cairn_aws::{Key, KeyArgs, Queue, Role};
use cairn_core::{ComponentArgs, DeclareError, Input, InvalidArgs, Output, Scope, Stack, Urn};
use typed_builder::TypedBuilder;

use crate::access::{self, S3Location};
use crate::checks;
use crate::cpu_node_pool::{CpuNodePool, CpuNodePoolArgs, MAX_CPU_NODES};
use crate::eks_cluster::ClusterInfo;
use crate::tags::{check_cost_tags, cost_tags};
use crate::work_queue::WorkQueue;

/// Arguments of [`DataPreprocessing`].
///
/// ```
/// use cairn_ai::{DataPreprocessingArgs, S3Location};
/// # let cluster = cairn_ai::ClusterInfo { name: "c".into(), version: "1.31".into(), oidc_provider_arn: "arn".into(), oidc_issuer: "i".into() };
/// let args = DataPreprocessingArgs::builder()
///     .cluster(cluster)
///     .subnet_ids(vec!["subnet-a"])
///     .input(S3Location { bucket: "raw".into(), prefix: "events/".into(), key_arn: None })
///     .output(S3Location { bucket: "curated".into(), prefix: "events/".into(), key_arn: None })
///     .build();
/// assert_eq!(args.max_receive_count, 5);
/// ```
#[derive(Debug, Clone, TypedBuilder)]
pub struct DataPreprocessingArgs {
    /// The cluster the workers run on.
    pub cluster: ClusterInfo,
    /// The subnets of the worker nodes.
    #[builder(setter(into))]
    pub subnet_ids: Input<Vec<String>>,
    /// What the workers read.
    pub input: S3Location,
    /// What the workers write.
    pub output: S3Location,
    /// Worker instance types (CPU).
    #[builder(default = vec!["m6i.2xlarge".to_owned(), "m5.2xlarge".to_owned()], setter(transform = |types: impl IntoIterator<Item = impl Into<String>>| cairn_aws::strings(types)))]
    pub instance_types: Vec<String>,
    /// Most worker nodes; at most `max_nodes_cap`.
    #[builder(default = 8)]
    pub max_nodes: i32,
    /// The cap `max_nodes` is checked against.
    #[builder(default = MAX_CPU_NODES)]
    pub max_nodes_cap: i32,
    /// Receives of a message before it moves to the dead-letter queue.
    #[builder(default = 5)]
    pub max_receive_count: i32,
    /// Seconds a received message stays hidden while a worker processes it.
    #[builder(default = 900)]
    pub visibility_timeout_seconds: i32,
    /// The Kubernetes namespace of the workers.
    #[builder(default = "preprocessing".to_owned(), setter(into))]
    pub namespace: String,
    /// Extra tags, added to the cost tags.
    #[builder(default, setter(fn transform<K: Into<String>, V: Into<String>>(tags: impl IntoIterator<Item = (K, V)>) -> BTreeMap<String, String> {
        cairn_aws::string_map(tags)
    }))]
    pub tags: BTreeMap<String, String>,
}

/// The queues, workers and worker role of a preprocessing stage.
#[derive(Debug, Clone)]
pub struct DataPreprocessing {
    /// What the runtime side needs ([`crate::PreprocessingManifests`]).
    pub runtime: PreprocessingRuntime,
    /// The component's URN.
    pub urn: Urn,
    /// The key both queues are encrypted with.
    pub key: Key,
    /// The work queue.
    pub queue: Queue,
    /// Messages that failed `max_receive_count` times.
    pub dead_letters: Queue,
    /// The workers' nodes.
    pub pool: CpuNodePool,
    /// The workers' role (service account: the component's name).
    pub role: Role,
}

/// What the runtime side of preprocessing needs: its `Job` or `CronJob` is rendered from it.
/// It crosses stacks (the cloud side in one, the manifests in another) through
/// [`PreprocessingRuntime::export`] and [`PreprocessingRuntime::from_reference`].
#[derive(Debug, Clone)]
pub struct PreprocessingRuntime {
    /// The component's name, the objects' name.
    pub name: String,
    /// The Kubernetes namespace.
    pub namespace: String,
    /// The service account the workers run as (bound to `role_arn`).
    pub service_account: String,
    /// The workers' IAM role.
    pub role_arn: Output<String>,
    /// The work queue's URL.
    pub queue_url: Output<String>,
    /// The node label value of the workers' pool (`cairn.dev/pool`).
    pub pool: String,
}

impl PreprocessingRuntime {
    /// The stack outputs it crosses stacks in, each `<prefix>_<field>`.
    const FIELDS: [&str; 6] = ["name", "namespace", "service_account", "role_arn", "queue_url", "pool"];

    /// Exports it from the stack of the cloud side, as `<prefix>_<field>` outputs.
    pub fn export(&self, ctx: &Stack, prefix: &str) {
        let [name, namespace, sa, role, queue, pool] = Self::FIELDS.map(|f| format!("{prefix}_{f}"));
        ctx.export(&name, &Output::new(self.name.clone()));
        ctx.export(&namespace, &Output::new(self.namespace.clone()));
        ctx.export(&sa, &Output::new(self.service_account.clone()));
        ctx.export(&role, &self.role_arn);
        ctx.export(&queue, &self.queue_url);
        ctx.export(&pool, &Output::new(self.pool.clone()));
    }

    /// Reads what [`export`](Self::export) wrote, in another stack.
    pub fn from_reference(reference: &cairn_core::StackReference, prefix: &str) -> Result<Self, DeclareError> {
        let [name, namespace, sa, role, queue, pool] = Self::FIELDS.map(|f| format!("{prefix}_{f}"));
        Ok(Self {
            name: reference.require(&name)?,
            namespace: reference.require(&namespace)?,
            service_account: reference.require(&sa)?,
            role_arn: Output::new(reference.require::<String>(&role)?),
            queue_url: Output::new(reference.require::<String>(&queue)?),
            pool: reference.require(&pool)?,
        })
    }
}

impl ComponentArgs for DataPreprocessingArgs {
    type Component = DataPreprocessing;
    const TYPE: &'static str = "cairn:ai:DataPreprocessing";

    fn validate(&self, ctx: &Stack) -> Result<(), InvalidArgs> {
        checks::dns_label("namespace", &self.namespace)?;
        self.input.check("input")?;
        self.output.check("output")?;
        if let (Input::Value(a), Input::Value(b)) = (&self.input.bucket, &self.output.bucket)
            && a == b
            && (self.input.prefix.starts_with(&self.output.prefix)
                || self.output.prefix.starts_with(&self.input.prefix))
        {
            return Err(InvalidArgs::new(
                "output.prefix",
                "overlaps the input location, so workers would read their own output",
                "write to a prefix (or bucket) separate from the input",
            ));
        }
        if !(1..=1000).contains(&self.max_receive_count) {
            return Err(InvalidArgs::new(
                "max_receive_count",
                format!("is {}", self.max_receive_count),
                "give 1 to 1000",
            ));
        }
        if !(0..=43_200).contains(&self.visibility_timeout_seconds) {
            return Err(InvalidArgs::new(
                "visibility_timeout_seconds",
                format!("is {}", self.visibility_timeout_seconds),
                "give 0 to 43200 seconds (12 hours)",
            ));
        }
        check_cost_tags(ctx, &self.tags)
    }

    fn expand(self, scope: &Scope) -> Result<DataPreprocessing, DeclareError> {
        let tags = cost_tags(scope, &self.tags);
        let key = scope.resource(
            &scope.child_name("key"),
            KeyArgs::builder().description(format!("queues of {}", scope.name())).tags(tags.clone()).build(),
        )?;
        let (queue, dead_letters) = WorkQueue {
            name: "queue",
            dead_letters: "dlq",
            visibility_timeout_seconds: self.visibility_timeout_seconds,
            max_receive_count: self.max_receive_count,
            kms_key: Some(key.arn.clone().into()),
        }
        .declare(scope, &tags)?;
        let pool = scope.component(
            &scope.child_name("workers"),
            CpuNodePoolArgs::builder()
                .cluster_name(self.cluster.name.clone())
                .cluster_version(self.cluster.version.clone())
                .subnet_ids(self.subnet_ids)
                .instance_types(self.instance_types)
                .max_size(self.max_nodes)
                .max_nodes_cap(self.max_nodes_cap)
                .labels([("cairn.dev/workload", "preprocessing")])
                .tags(self.tags.clone())
                .build(),
        )?;
        let mut grants = vec![access::sqs_consume(&queue.arn), access::kms_use(&key.arn.clone().into(), false)];
        grants.extend(self.input.read());
        grants.extend(self.output.read_write());
        let role = access::irsa_role(scope, "role", &self.cluster, (&self.namespace, scope.name()), &grants, &tags)?;
        scope.output("queue_url", &queue.url);
        scope.output("dead_letter_queue_url", &dead_letters.url);
        scope.output("role_arn", &role.arn);
        let runtime = PreprocessingRuntime {
            name: scope.name().to_owned(),
            namespace: self.namespace.clone(),
            service_account: scope.name().to_owned(),
            role_arn: role.arn.clone(),
            queue_url: queue.url.clone(),
            pool: pool.urn.name().to_owned(),
        };
        Ok(DataPreprocessing { urn: scope.urn().clone(), key, queue, dead_letters, pool, role, runtime })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{cluster, ctx};

    fn args(out_prefix: &str) -> DataPreprocessingArgs {
        DataPreprocessingArgs::builder()
            .cluster(cluster())
            .subnet_ids(vec!["s"])
            .input(S3Location { bucket: "data".into(), prefix: "raw/".into(), key_arn: None })
            .output(S3Location { bucket: "data".into(), prefix: out_prefix.into(), key_arn: None })
            .build()
    }

    #[test]
    fn a_queue_with_redrive_and_spot_workers() {
        let ctx = ctx("dev");
        let p = ctx.component("prep", args("curated/")).unwrap();
        let d = ctx.finish();
        let q = d.resources.iter().find(|r| r.urn == p.queue.urn).unwrap().inputs.to_json();
        assert_eq!(q["redrive_policy"]["max_receive_count"], 5);
        let ng = d.resources.iter().find(|r| r.urn == p.pool.node_group.urn).unwrap().inputs.to_json();
        assert_eq!(ng["capacity_type"], "SPOT");
    }

    #[test]
    fn overlapping_locations_are_refused() {
        let err = ctx("dev").component("prep", args("raw/out/")).err().unwrap().to_string();
        assert!(err.contains("`output.prefix`") && err.contains("overlaps"), "{err}");
        let err = ctx("dev").component("prep", args("curated")).err().unwrap().to_string();
        assert!(err.contains("does not end with `/`"), "{err}");
    }
}
