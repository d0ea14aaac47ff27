//! The cloud side of a model server: the IAM role its pods assume (reading
//! only its own model's files), its log group, optionally a GPU node pool of
//! its own, and everything the runtime side (the Kubernetes objects the GitOps
//! hand-off renders) needs to know: model URI, GPU type and count, replicas.

use std::collections::BTreeMap;

use cairn_aws::{CapacityType, LogGroup, LogGroupArgs, Role};
use cairn_core::{ComponentArgs, DeclareError, Input, InvalidArgs, Output, Scope, Stack, Urn};
use typed_builder::TypedBuilder;

use crate::access::{self, Grant};
use crate::checks;
use crate::eks_cluster::ClusterInfo;
use crate::gpu::gpu_instance;
use crate::gpu_node_pool::{GpuNodePool, GpuNodePoolArgs, MAX_GPU_NODES};
use crate::model_registry::stage_prefix;
use crate::tags::{check_cost_tags, cost_tags};

/// The most replicas a service may scale to unless the program raises the cap.
pub const MAX_INFERENCE_REPLICAS: i32 = 8;

/// The stack whose services keep a warm replica unless told otherwise.
pub const PRODUCTION_STACK: &str = "prod";

/// Where a service's model comes from: the registry's bucket, the stage whose
/// models it serves, and the key the files are encrypted with.
#[derive(Debug, Clone)]
pub struct ModelSource {
    /// The model bucket's name (a [`crate::ModelRegistry`]'s `bucket()`, or another stack's output).
    pub bucket: Input<String>,
    /// The KMS key the model files are encrypted with, if any.
    pub key_arn: Option<Input<String>>,
    /// The registry stage served (`models/<stage>/...`).
    pub stage: String,
}

/// Arguments of [`InferenceService`].
///
/// ```
/// use cairn_ai::{ClusterInfo, InferenceServiceArgs, ModelSource};
/// let cluster = ClusterInfo {
///     name: "ai-prod".into(),
///     version: "1.31".into(),
///     oidc_provider_arn: "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/X".into(),
///     oidc_issuer: "oidc.eks.us-east-1.amazonaws.com/id/X".into(),
/// };
/// let source = ModelSource { bucket: "models-prod".into(), key_arn: None, stage: "prod".into() };
/// let args = InferenceServiceArgs::builder()
///     .cluster(cluster)
///     .model(source)
///     .model_name("fraud-scorer")
///     .model_version("2026-11-30")
///     .build();
/// assert_eq!((args.gpu_instance_type.as_str(), args.gpus_per_replica), ("g5.xlarge", 1));
/// ```
#[derive(Debug, Clone, TypedBuilder)]
pub struct InferenceServiceArgs {
    /// The cluster the service runs on.
    pub cluster: ClusterInfo,
    /// Where the model comes from.
    pub model: ModelSource,
    /// The model's name: a DNS label, also the Kubernetes service account's and objects' name.
    #[builder(setter(into))]
    pub model_name: String,
    /// The model version served (a path segment: `models/<stage>/<model>/<version>/`).
    #[builder(setter(into))]
    pub model_version: String,
    /// The Kubernetes namespace: the model's name unless set, so the runtime side's quota and
    /// network policy bound this service alone.
    #[builder(default = model_name.clone(), setter(into))]
    pub namespace: String,
    /// The GPU instance type a replica runs on.
    #[builder(default = "g5.xlarge".to_owned(), setter(into))]
    pub gpu_instance_type: String,
    /// GPUs per replica (at most what one instance has).
    #[builder(default = 1)]
    pub gpus_per_replica: u32,
    /// Fewest replicas: 0 (scale to zero) outside the `prod` stack, 1 in it, unless set.
    #[builder(default, setter(strip_option))]
    pub min_replicas: Option<i32>,
    /// Most replicas; at most `max_replicas_cap`.
    #[builder(default = 4)]
    pub max_replicas: i32,
    /// The cap `max_replicas` is checked against; raise it deliberately.
    #[builder(default = MAX_INFERENCE_REPLICAS)]
    pub max_replicas_cap: i32,
    /// Give the service GPU nodes of its own in these subnets (a [`GpuNodePool`] sized for
    /// `max_replicas`); it shares the cluster's pools when `None`.
    #[builder(default, setter(strip_option, into))]
    pub dedicated_pool_subnets: Option<Input<Vec<String>>>,
    /// Secrets Manager secrets the service reads, by ARN (never their values, which stay out of
    /// the program): its role may read these and no others.
    #[builder(default, setter(transform = |arns: impl IntoIterator<Item = impl Into<Input<String>>>| arns.into_iter().map(Into::into).collect()))]
    pub secret_arns: Vec<Input<String>>,
    /// Days the service's logs are kept.
    #[builder(default = 30)]
    pub log_retention_days: i32,
    /// Extra tags, added to the cost tags.
    #[builder(default, setter(fn transform<K: Into<String>, V: Into<String>>(tags: impl IntoIterator<Item = (K, V)>) -> BTreeMap<String, String> {
        cairn_aws::string_map(tags)
    }))]
    pub tags: BTreeMap<String, String>,
}

/// What the runtime side of a service needs: the KServe `InferenceService`,
/// its service account and autoscaling are rendered from it.
#[derive(Debug, Clone)]
pub struct InferenceRuntime {
    /// The model's name.
    pub model_name: String,
    /// The version served.
    pub model_version: String,
    /// `s3://BUCKET/models/<stage>/<model>/<version>/`.
    pub model_uri: Output<String>,
    /// The Kubernetes namespace.
    pub namespace: String,
    /// The service account the pods run as (annotated with `role_arn`).
    pub service_account: String,
    /// The IAM role of the service account.
    pub role_arn: Output<String>,
    /// The GPU instance type.
    pub gpu_instance_type: String,
    /// GPUs per replica.
    pub gpus_per_replica: u32,
    /// Fewest replicas.
    pub min_replicas: i32,
    /// Most replicas.
    pub max_replicas: i32,
    /// The node label value of the pool the pods are pinned to (`cairn.dev/pool`), if dedicated.
    pub node_pool: Option<String>,
}

/// The cloud side of one model server.
#[derive(Debug, Clone)]
pub struct InferenceService {
    /// The component's URN.
    pub urn: Urn,
    /// The IRSA role its pods assume: read-only on its own model's files.
    pub role: Role,
    /// Its log group.
    pub log_group: LogGroup,
    /// Its own GPU nodes, when asked for.
    pub pool: Option<GpuNodePool>,
    /// What the runtime side needs.
    pub runtime: InferenceRuntime,
}

impl InferenceServiceArgs {
    fn min_replicas(&self, ctx: &Stack) -> i32 {
        self.min_replicas.unwrap_or(if ctx.stack_name().as_str() == PRODUCTION_STACK { 1 } else { 0 })
    }
}

impl ComponentArgs for InferenceServiceArgs {
    type Component = InferenceService;
    const TYPE: &'static str = "cairn:ai:InferenceService";

    fn validate(&self, ctx: &Stack) -> Result<(), InvalidArgs> {
        checks::dns_label("model_name", &self.model_name)?;
        checks::dns_label("namespace", &self.namespace)?;
        checks::dns_label("model.stage", &self.model.stage)?;
        if self.model_version.is_empty() || self.model_version.contains('/') {
            return Err(InvalidArgs::new(
                "model_version",
                format!("`{}` is not a version (it is one path segment of the model's URI)", self.model_version),
                "give a non-empty version without `/`, e.g. 2026-11-30 or v7",
            ));
        }
        let gpu = gpu_instance(&self.gpu_instance_type)
            .map_err(|e| InvalidArgs::new("gpu_instance_type", e, "pick a GPU instance type"))?;
        if self.gpus_per_replica == 0 || self.gpus_per_replica > gpu.gpus {
            return Err(InvalidArgs::new(
                "gpus_per_replica",
                format!("is {}, but a {} has {} GPU(s)", self.gpus_per_replica, self.gpu_instance_type, gpu.gpus),
                "ask for 1 up to the instance's GPUs, or pick a larger instance type",
            ));
        }
        let min = self.min_replicas(ctx);
        checks::sizes(
            ("min_replicas", min),
            ("min_replicas", None),
            ("max_replicas", self.max_replicas),
            ("max_replicas_cap", self.max_replicas_cap),
            "replicas",
        )?;
        if self.log_retention_days < 1 {
            return Err(InvalidArgs::new(
                "log_retention_days",
                format!("is {}", self.log_retention_days),
                "keep logs at least 1 day",
            ));
        }
        check_cost_tags(ctx, &self.tags)
    }

    fn expand(self, scope: &Scope) -> Result<InferenceService, DeclareError> {
        let tags = cost_tags(scope, &self.tags);
        let min_replicas = self.min_replicas(scope);
        let service_account = self.model_name.clone();
        let prefix = format!("{}{}/{}/", stage_prefix(&self.model.stage), self.model_name, self.model_version);
        let mut grants = access::s3_read(&self.model.bucket, &prefix);
        if let Some(key) = &self.model.key_arn {
            grants.push(access::kms_use(key, false));
        }
        for arn in &self.secret_arns {
            grants.push(Grant::on(
                &["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                &arn.clone().into_output(),
                |a| vec![a],
            ));
        }
        let role =
            access::irsa_role(scope, "role", &self.cluster, (&self.namespace, &service_account), &grants, &tags)?;
        let log_group = scope.resource(
            &scope.child_name("logs"),
            LogGroupArgs::builder().retention_in_days(self.log_retention_days).tags(tags).build(),
        )?;
        let pool = match self.dedicated_pool_subnets {
            None => None,
            Some(subnets) => {
                let gpus = gpu_instance(&self.gpu_instance_type).expect("validated").gpus;
                let replicas_per_node = (gpus / self.gpus_per_replica).max(1) as i32;
                let nodes = (self.max_replicas + replicas_per_node - 1) / replicas_per_node;
                let production = scope.stack_name().as_str() == PRODUCTION_STACK;
                Some(
                    scope.component(
                        &scope.child_name("gpu"),
                        GpuNodePoolArgs::builder()
                            .cluster_name(self.cluster.name.clone())
                            .cluster_version(self.cluster.version.clone())
                            .subnet_ids(subnets)
                            .instance_types([self.gpu_instance_type.clone()])
                            // A reclaimed spot node drops live requests: on-demand where it matters.
                            .capacity_type(if production { CapacityType::OnDemand } else { CapacityType::Spot })
                            .min_size(0)
                            .desired_size(0)
                            .max_size(nodes)
                            .max_nodes_cap(nodes.max(MAX_GPU_NODES))
                            .labels([("cairn.dev/workload", "inference")])
                            .tags(self.tags.clone())
                            .build(),
                    )?,
                )
            }
        };
        let model_uri = self.model.bucket.clone().into_output().map(move |b| format!("s3://{b}/{prefix}"));
        scope.output("model_uri", &model_uri);
        scope.output("role_arn", &role.arn);
        scope.output("log_group", &log_group.name);
        let runtime = InferenceRuntime {
            model_name: self.model_name,
            model_version: self.model_version,
            model_uri,
            namespace: self.namespace,
            service_account,
            role_arn: role.arn.clone(),
            gpu_instance_type: self.gpu_instance_type,
            gpus_per_replica: self.gpus_per_replica,
            min_replicas,
            max_replicas: self.max_replicas,
            node_pool: pool.as_ref().map(|p| p.pool_label.clone()),
        };
        Ok(InferenceService { urn: scope.urn().clone(), role, log_group, pool, runtime })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{cluster, ctx};

    fn args() -> InferenceServiceArgs {
        InferenceServiceArgs::builder()
            .cluster(cluster())
            .model(ModelSource { bucket: "models".into(), key_arn: Some("arn:aws:kms:k".into()), stage: "prod".into() })
            .model_name("llm")
            .model_version("v3")
            .build()
    }

    #[test]
    fn scales_to_zero_outside_prod_and_keeps_one_warm_in_prod() {
        assert_eq!(ctx("dev").component("llm", args()).unwrap().runtime.min_replicas, 0);
        assert_eq!(ctx("prod").component("llm", args()).unwrap().runtime.min_replicas, 1);
    }

    #[test]
    fn a_dedicated_pool_is_sized_for_the_replicas() {
        let ctx = ctx("prod");
        let mut a = args();
        a.dedicated_pool_subnets = Some(vec!["s"].into());
        a.gpu_instance_type = "g5.12xlarge".into();
        a.gpus_per_replica = 2;
        a.max_replicas = 5;
        let svc = ctx.component("llm", a).unwrap();
        assert!(svc.pool.is_some());
        let d = ctx.finish();
        let ng = d.resources.iter().find(|r| r.urn.resource_type().as_str() == "aws:eks:NodeGroup").unwrap();
        let j = ng.inputs.to_json();
        assert_eq!(j["scaling"]["max_size"], 3, "two replicas per 4-GPU node, five replicas");
        assert_eq!(j["capacity_type"], "ON_DEMAND");
    }

    #[test]
    fn invalid_arguments_name_the_field() {
        let refused = |change: &dyn Fn(&mut InferenceServiceArgs)| {
            let mut a = args();
            change(&mut a);
            ctx("dev").component("llm", a).expect_err("refused").to_string()
        };
        let err = refused(&|a| a.max_replicas = MAX_INFERENCE_REPLICAS + 1);
        assert!(
            err.contains("component llm (cairn:ai:InferenceService)") && err.contains("raise max_replicas_cap"),
            "{err}"
        );
        assert!(refused(&|a| a.gpus_per_replica = 2).contains("a g5.xlarge has 1 GPU(s)"));
        assert!(refused(&|a| a.gpu_instance_type = "c5.large".into()).contains("`gpu_instance_type`"));
        assert!(refused(&|a| a.model_name = "LLM_7b".into()).contains("`model_name`"));
        assert!(refused(&|a| a.model_version = "a/b".into()).contains("`model_version`"));
    }
}
