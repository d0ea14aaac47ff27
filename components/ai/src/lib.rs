//! AI platform components.
//!
//! Each component is a typed arguments struct implementing
//! [`cairn_core::ComponentArgs`], declared like a resource with
//! `ctx.component(name, args)`: it checks its arguments before anything is
//! declared (an error names the component, the field and the fix), groups its
//! children under its URN and records its outputs. The defaults are the safe
//! ones: cost tags (`team`, `cost-center`, `environment`) on every resource,
//! encryption at rest, least-privilege IAM, nothing public, and replica and
//! size caps a team must raise deliberately.
//!
//! - [`BaseNetworkArgs`]: a VPC with public and private subnets per zone, an
//!   internet gateway and a NAT gateway.
//! - [`EksClusterArgs`]: an EKS cluster with a private endpoint, encrypted
//!   secrets, control-plane logs and its IAM OIDC provider.
//! - [`GpuNodePoolArgs`]: a GPU node group (spot by default, tainted so only
//!   GPU workloads land on it, scaled to zero when idle, capped), on an NVIDIA
//!   node image matched to the instances' architecture; [`CpuNodePoolArgs`]
//!   for CPU batch work.
//! - [`ArtifactBucketArgs`]: a versioned, encrypted, private bucket with
//!   lifecycle rules.
//! - [`ModelRegistryArgs`]: a KMS-encrypted model bucket and image
//!   repository, a SageMaker model package group and one promotion role per stage.
//! - [`InferenceServiceArgs`]: the cloud side of a model server (an IRSA role
//!   reading only its model, a log group, optionally its own GPU nodes) and
//!   what its runtime side needs.
//! - [`TrainingPipelineArgs`]: spot GPU nodes, artifact and checkpoint
//!   buckets, an IRSA role and a queue or schedule trigger.
//! - [`FeatureStoreArgs`]: a DynamoDB online store and an S3 offline store
//!   under one key, with reader and writer roles.
//! - [`DataPreprocessingArgs`]: a queue with dead letters, spot CPU workers and
//!   a role limited to its input and output locations.
//! - [`MonitoringStackArgs`]: managed Prometheus with GPU alert rules,
//!   CloudWatch alarms and the environment's budget.
//!
//!
//! The runtime side, Kubernetes objects written to the stack's GitOps repository (as
//! `gitops:index:Manifest`s) for Argo CD to apply (docs/gitops.md):
//!
//! - [`InferenceManifestsArgs`]: the KServe `InferenceService` (scale to zero outside prod, GPU
//!   requests, pinned to its pool), its IRSA service account, a network policy admitting only the
//!   ingress, and a quota on its namespace.
//! - [`TrainingManifestsArgs`]: an Argo `WorkflowTemplate` on the spot pool, checkpointing to its
//!   bucket and retrying a reclaimed node, and a `CronWorkflow` when scheduled.
//! - [`PreprocessingManifestsArgs`]: a `Job` (or `CronJob`) of parallel workers reading the queue.
//! - [`MonitoringManifestsArgs`]: `PrometheusRule`s (GPU, pending pods, queue backlogs) and a
//!   Grafana dashboard `ConfigMap`.
//! - [`ArgoApplicationArgs`]: the stack's Argo CD `Application`.
//!
//! [`access`] holds the least-privilege grants and the IRSA trust they share.
//!
//! ```
//! use cairn_ai::{EksClusterArgs, GpuNodePoolArgs};
//! use cairn_core::{Config, ProjectName, Stack, StackName};
//!
//! let config = Config::default().with_tags([("team", "ml-platform"), ("cost-center", "4711")]);
//! let ctx = Stack::new(StackName::new("dev").unwrap(), ProjectName::new("ai").unwrap(), config);
//! let eks = ctx.component("ai", EksClusterArgs::builder().subnet_ids(vec!["subnet-a", "subnet-b"]).build())?;
//! let gpu = ctx.component(
//!     "gpu",
//!     GpuNodePoolArgs::builder()
//!         .cluster_name(&eks.cluster.name)
//!         .cluster_version(&eks.cluster.version)
//!         .subnet_ids(vec!["subnet-a", "subnet-b"])
//!         .build(),
//! )?;
//! ctx.export("gpu_node_group", gpu.name());
//! # Ok::<(), cairn_core::DeclareError>(())
//! ```

pub mod access;
mod artifact_bucket;
mod checks;
mod cpu_node_pool;
mod data_preprocessing;
mod eks_cluster;
mod feature_store;
pub mod gpu;
mod gpu_node_pool;
mod inference_service;
mod model_registry;
mod monitoring;
mod network;
mod runtime;
mod tags;
#[cfg(test)]
mod testing;
mod training_pipeline;
mod work_queue;

pub use access::S3Location;
pub use artifact_bucket::{ArtifactBucket, ArtifactBucketArgs, Encryption};
pub use cpu_node_pool::{CpuNodePool, CpuNodePoolArgs, MAX_CPU_NODES};
pub use data_preprocessing::{DataPreprocessing, DataPreprocessingArgs, PreprocessingRuntime};
pub use eks_cluster::{ClusterInfo, EksCluster, EksClusterArgs};
pub use feature_store::{FeatureStore, FeatureStoreArgs};
pub use gpu_node_pool::{GpuNodePool, GpuNodePoolArgs, MAX_GPU_NODES, gpu_taint};
pub use inference_service::{
    InferenceRuntime, InferenceService, InferenceServiceArgs, MAX_INFERENCE_REPLICAS, ModelSource, PRODUCTION_STACK,
};
pub use model_registry::{DEFAULT_STAGES, ModelRegistry, ModelRegistryArgs, stage_prefix};
pub use monitoring::{MonitoringStack, MonitoringStackArgs, WatchedQueue, gpu_rule_group, gpu_rules};
pub use network::{BaseNetwork, BaseNetworkArgs};
pub use runtime::{
    ArgoApplication, ArgoApplicationArgs, InferenceManifests, InferenceManifestsArgs, MonitoringManifests,
    MonitoringManifestsArgs, PreprocessingManifests, PreprocessingManifestsArgs, QueueBacklog, TrainingManifests,
    TrainingManifestsArgs,
};
pub use tags::{REQUIRED_COST_TAGS, check_cost_tags, cost_tags};
pub use training_pipeline::{TrainingPipeline, TrainingPipelineArgs, TrainingRuntime, Trigger};
