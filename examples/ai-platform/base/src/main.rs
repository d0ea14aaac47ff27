//! The base of the AI platform: what changes rarely and deliberately. A VPC
//! (unless `subnet_ids` names an existing network's private subnets), an EKS
//! cluster with its OIDC provider, a GPU node pool, the model registry and
//! the artifact storage. Its outputs feed the `ai-platform` and `ai-runtime`
//! stacks of the same environment.
//!
//! ```sh
//! cargo run -p ai-base -- up --stack dev
//! ```

use cairn::Input;
use cairn::aws::CapacityType;
use cairn_ai::{ArtifactBucketArgs, BaseNetworkArgs, EksClusterArgs, GpuNodePoolArgs, ModelRegistryArgs};

fn main() -> std::process::ExitCode {
    cairn::run("ai-base", |ctx| {
        let cfg = ctx.config();

        // Private subnets for the cluster and its nodes: an existing network's, or our own.
        let subnets: Input<Vec<String>> = match cfg.get::<Vec<String>>("subnet_ids")? {
            Some(ids) => ids.into(),
            None => {
                let network = ctx.component(
                    "net",
                    BaseNetworkArgs::builder()
                        .cidr_block(cfg.get_or::<String>("vpc_cidr", "10.0.0.0/16")?)
                        .availability_zones(cfg.require::<Vec<String>>("availability_zones")?)
                        .build(),
                )?;
                ctx.export("vpc_id", &network.vpc.id);
                network.private_subnet_ids().into()
            }
        };
        ctx.export("private_subnet_ids", &subnets.clone().into_output());

        let eks = ctx.component(
            "ai",
            EksClusterArgs::builder()
                .subnet_ids(subnets.clone())
                .version(cfg.get_or::<String>("kubernetes_version", "1.31")?)
                .endpoint_public_access(cfg.get_or("endpoint_public_access", false)?)
                .public_access_cidrs(cfg.get_or::<Vec<String>>("public_access_cidrs", Vec::new())?)
                .build(),
        )?;

        // The shared GPU pool (services that need their own get one in the runtime stack).
        let gpu = ctx.component(
            "gpu",
            GpuNodePoolArgs::builder()
                .cluster_name(&eks.cluster.name)
                .cluster_version(&eks.cluster.version)
                .subnet_ids(subnets)
                .instance_types(cfg.get_or::<Vec<String>>("gpu_instance_types", vec!["g5.2xlarge".to_owned()])?)
                .capacity_type(if cfg.get_or("gpu_on_demand", false)? {
                    CapacityType::OnDemand
                } else {
                    CapacityType::Spot
                })
                .min_size(cfg.get_or("gpu_min_size", 0)?)
                .max_size(cfg.get_or("gpu_max_size", 2)?)
                .desired_size(cfg.get_or("gpu_desired_size", 0)?)
                .max_nodes_cap(cfg.get_or("gpu_nodes_cap", cairn_ai::MAX_GPU_NODES)?)
                .build(),
        )?;

        let registry = ctx.component(
            "registry",
            ModelRegistryArgs::builder().promoters(cfg.require::<Vec<String>>("model_promoters")?).build(),
        )?;
        let artifacts = ctx.component("artifacts", ArtifactBucketArgs::builder().build())?;

        // What the platform and runtime stacks read with ClusterInfo::from_reference.
        eks.export(ctx);
        ctx.export("cluster_endpoint", &eks.cluster.endpoint);
        ctx.export("gpu_node_group", gpu.name());
        ctx.export("model_bucket", &registry.models.bucket.bucket);
        ctx.export("model_key_arn", &registry.key.arn);
        ctx.export("image_repository", &registry.images.repository_url);
        ctx.export("model_package_group", &registry.package_group.name);
        ctx.export("artifact_bucket", &artifacts.bucket.bucket);
        Ok(())
    })
}
