//! The platform program the engine's end-to-end tests run (crash, chaos,
//! locks, secrets, backends): a VPC with private subnets in two zones behind a
//! NAT gateway (unless `subnet_ids` names existing ones), an EKS cluster in
//! them, a spot GPU node pool and an artifact bucket. Smaller than the
//! example's three stacks, so that killing it at random moments stays quick.

use cairn::Input;
use cairn_ai::{ArtifactBucketArgs, BaseNetworkArgs, EksClusterArgs, GpuNodePoolArgs};

fn main() -> std::process::ExitCode {
    cairn::run("test-platform", |ctx| {
        let cfg = ctx.config();

        // The cluster and its nodes live in private subnets: existing ones, or a network of our own.
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

        let eks = ctx.component(
            "ai",
            EksClusterArgs::builder()
                .subnet_ids(subnets.clone())
                .version(cfg.get_or::<String>("kubernetes_version", "1.31")?)
                .endpoint_public_access(cfg.get_or("endpoint_public_access", false)?)
                .public_access_cidrs(cfg.get_or::<Vec<String>>("public_access_cidrs", Vec::new())?)
                .build(),
        )?;

        let gpu = ctx.component(
            "gpu",
            GpuNodePoolArgs::builder()
                .cluster_name(&eks.cluster.name)
                .cluster_version(&eks.cluster.version)
                .subnet_ids(subnets)
                .instance_types(cfg.get_or::<Vec<String>>("gpu_instance_types", vec!["g5.2xlarge".to_owned()])?)
                .min_size(cfg.get_or("gpu_min_size", 0)?)
                .max_size(cfg.get_or("gpu_max_size", 2)?)
                .desired_size(cfg.get_or("gpu_desired_size", 0)?)
                .build(),
        )?;

        // Private, versioned and encrypted; moved to cheaper storage as it ages.
        let artifacts = ctx.component("artifacts", ArtifactBucketArgs::builder().build())?;
        // Optional: a second bucket for training data sets.
        if cfg.get_or("datasets_bucket", false)? {
            ctx.component("datasets", ArtifactBucketArgs::builder().build())?;
        }

        ctx.export("cluster_name", &eks.cluster.name);
        ctx.export("cluster_endpoint", &eks.cluster.endpoint);
        ctx.export("gpu_node_group", gpu.name());
        ctx.export("artifact_bucket", &artifacts.bucket.bucket);
        // Optional: where alerts go; a secret, so never shown and sealed at rest.
        if let Some(webhook) = cfg.get_secret::<String>("alerts_webhook")? {
            ctx.export("alerts_webhook", &webhook);
            // Kept in Secrets Manager too: workloads read it by ARN, never by value.
            let secret = ctx.resource(
                "alerts-webhook",
                cairn::aws::SecretArgs::builder().secret_string(webhook).recovery_window_days(0).build(),
            )?;
            ctx.export("alerts_webhook_secret", &secret.arn);
        }
        Ok(())
    })
}
