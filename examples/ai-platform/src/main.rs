//! An AI platform on AWS: a VPC with private subnets in two zones behind a
//! NAT gateway, an EKS cluster in them, a spot GPU node pool and a versioned,
//! encrypted artifact bucket. With `subnet_ids` in the config it uses an
//! existing network instead of making one.
//!
//! ```sh
//! cargo run -p ai-platform -- preview --stack dev
//! cargo run -p ai-platform -- up --stack dev
//! ```

use cairn::Input;
use cairn::aws::s3::BucketArgs;
use cairn_ai::{BaseNetwork, BaseNetworkArgs, EksCluster, EksClusterArgs, GpuNodePool, GpuNodePoolArgs, cost_tags};

fn main() -> std::process::ExitCode {
    cairn::run("ai-platform", |ctx| {
        let cfg = ctx.config();
        let team: String = cfg.get_or("team", "ml-platform".to_owned())?;
        let tags: std::collections::BTreeMap<String, String> = [("team".to_owned(), team)].into_iter().collect();

        // The cluster and its nodes live in private subnets: existing ones, or a network of our own.
        let subnets: Input<Vec<String>> = match cfg.get::<Vec<String>>("subnet_ids")? {
            Some(ids) => ids.into(),
            None => {
                let zones: Vec<String> = cfg.require("availability_zones")?;
                let network = BaseNetwork::new(
                    ctx,
                    "net",
                    BaseNetworkArgs::builder()
                        .cidr_block(cfg.get_or("vpc_cidr", "10.0.0.0/16".to_owned())?)
                        .availability_zones(zones)
                        .tags(tags.clone())
                        .build(),
                )?;
                ctx.export("vpc_id", &network.vpc.id);
                network.private_subnet_ids().into()
            }
        };

        let eks = EksCluster::new(
            ctx,
            "ai",
            EksClusterArgs::builder()
                .subnet_ids(subnets.clone())
                .version(cfg.get_or("kubernetes_version", "1.31".to_owned())?)
                .tags(tags.clone())
                .build(),
        )?;

        let gpu = GpuNodePool::new(
            ctx,
            "gpu",
            GpuNodePoolArgs::builder()
                .cluster_name(eks.cluster.name.clone())
                .cluster_version(eks.cluster.version.clone())
                .subnet_ids(subnets)
                .instance_types(cfg.get_or("gpu_instance_types", vec!["g5.2xlarge".to_owned()])?)
                .min_size(cfg.get_or("gpu_min_size", 0)?)
                .max_size(cfg.get_or("gpu_max_size", 2)?)
                .desired_size(cfg.get_or("gpu_desired_size", 0)?)
                .tags(tags.clone())
                .build(),
        )?;

        // Private, versioned and encrypted by default; tagged for cost allocation.
        let artifacts =
            ctx.resource("artifacts", BucketArgs::builder().tags(cost_tags(ctx, "artifacts", &tags)).build())?;
        // Optional: a second bucket for training data sets.
        if cfg.get_or("datasets_bucket", false)? {
            ctx.resource("datasets", BucketArgs::builder().tags(cost_tags(ctx, "datasets", &tags)).build())?;
        }

        ctx.export("cluster_name", &eks.cluster.name);
        ctx.export("cluster_endpoint", &eks.cluster.endpoint);
        ctx.export("gpu_node_group", &gpu.node_group.node_group_name);
        ctx.export("artifact_bucket", &artifacts.bucket);
        // Optional: where alerts go; a secret, so never shown and sealed at rest.
        if cfg.get::<String>("alerts_webhook")?.is_some() {
            ctx.export("alerts_webhook", &cfg.require_secret::<String>("alerts_webhook")?);
        }
        Ok(())
    })
}
