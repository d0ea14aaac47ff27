//! A program that declares one built-in component with one invalid argument,
//! chosen by `CAIRN_TEST_COMPONENT`: the end-to-end tests check that each is
//! refused naming the component, the field and the fix, with a non-zero exit
//! and nothing written.

use cairn_ai::*;

fn cluster() -> ClusterInfo {
    ClusterInfo {
        name: "ai".into(),
        version: "1.31".into(),
        oidc_provider_arn: "arn:aws:iam::123456789012:oidc-provider/oidc.example/id/X".into(),
        oidc_issuer: "oidc.example/id/X".into(),
    }
}

fn main() -> std::process::ExitCode {
    cairn::run("component-errors", |ctx| {
        let which = std::env::var("CAIRN_TEST_COMPONENT").unwrap_or_default();
        match which.as_str() {
            "BaseNetwork" => {
                ctx.component(
                    "net",
                    BaseNetworkArgs::builder().availability_zones(["a", "b"]).cidr_block("10.0.0.0/8").build(),
                )?;
            }
            "EksCluster" => {
                ctx.component(
                    "ai",
                    EksClusterArgs::builder().subnet_ids(vec!["s"]).endpoint_public_access(true).build(),
                )?;
            }
            "GpuNodePool" => {
                let args = GpuNodePoolArgs::builder()
                    .cluster_name("ai")
                    .cluster_version("1.31")
                    .subnet_ids(vec!["s"])
                    .instance_types(["m5.large"])
                    .build();
                ctx.component("gpu", args)?;
            }
            "CpuNodePool" => {
                let args = CpuNodePoolArgs::builder()
                    .cluster_name("ai")
                    .cluster_version("1.31")
                    .subnet_ids(vec!["s"])
                    .max_size(64)
                    .build();
                ctx.component("cpu", args)?;
            }
            "ArtifactBucket" => {
                ctx.component(
                    "artifacts",
                    ArtifactBucketArgs::builder().infrequent_access_after_days(Some(7)).build(),
                )?;
            }
            "ModelRegistry" => {
                ctx.component("registry", ModelRegistryArgs::builder().promoters(Vec::<String>::new()).build())?;
            }
            "InferenceService" => {
                let args = InferenceServiceArgs::builder()
                    .cluster(cluster())
                    .model(ModelSource { bucket: "models".into(), key_arn: None, stage: "dev".into() })
                    .model_name("llm")
                    .model_version("v1")
                    .max_replicas(50)
                    .build();
                ctx.component("llm", args)?;
            }
            "TrainingPipeline" => {
                let args = TrainingPipelineArgs::builder()
                    .cluster(cluster())
                    .subnet_ids(vec!["s"])
                    .trigger(Trigger::Queue)
                    .checkpoint_interval_minutes(None)
                    .build();
                ctx.component("train", args)?;
            }
            "FeatureStore" => {
                let args = FeatureStoreArgs::builder().cluster(cluster()).namespace("Features_NS").build();
                ctx.component("features", args)?;
            }
            "DataPreprocessing" => {
                let args = DataPreprocessingArgs::builder()
                    .cluster(cluster())
                    .subnet_ids(vec!["s"])
                    .input(S3Location { bucket: "data".into(), prefix: "raw/".into(), key_arn: None })
                    .output(S3Location { bucket: "data".into(), prefix: "raw/out/".into(), key_arn: None })
                    .build();
                ctx.component("prep", args)?;
            }
            "MonitoringStack" => {
                let args = MonitoringStackArgs::builder()
                    .cluster_name("ai")
                    .monthly_budget_usd(1000.0)
                    .budget_emails(Vec::<String>::new())
                    .build();
                ctx.component("monitoring", args)?;
            }
            // Valid arguments: the stack's tags decide.
            "ArtifactBucketValid" => {
                ctx.component("artifacts", ArtifactBucketArgs::builder().build())?;
            }
            other => return Err(format!("CAIRN_TEST_COMPONENT names no component: `{other}`").into()),
        }
        Ok(())
    })
}
