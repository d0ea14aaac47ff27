//! The runtime of the AI platform, on top of the `ai-base` stack of the same
//! environment: the inference services and training pipelines. Model
//! versions come from this stack's config, so promoting a model is a
//! reviewed change of one line (`config set fraud_model_version ...`).
//!
//! ```sh
//! cargo run -p ai-runtime -- up --stack dev
//! ```

use cairn_ai::{ClusterInfo, InferenceServiceArgs, ModelSource, S3Location, TrainingPipelineArgs, Trigger};

fn main() -> std::process::ExitCode {
    cairn::run("ai-runtime", |ctx| {
        let cfg = ctx.config();
        let base = ctx.stack_reference("ai-base")?;
        let cluster = ClusterInfo::from_reference(&base)?;
        let subnets: Vec<String> = base.require("private_subnet_ids")?;
        let models = ModelSource {
            bucket: base.require::<String>("model_bucket")?.into(),
            key_arn: Some(base.require::<String>("model_key_arn")?.into()),
            stage: ctx.stack_name().to_string(),
        };

        let mut fraud = InferenceServiceArgs::builder()
            .cluster(cluster.clone())
            .model(models)
            .model_name("fraud-scorer")
            .model_version(cfg.require::<String>("fraud_model_version")?)
            .gpu_instance_type(cfg.get_or::<String>("fraud_gpu_instance_type", "g5.xlarge")?)
            .max_replicas(cfg.get_or("fraud_max_replicas", 2)?)
            .build();
        if cfg.get_or("fraud_dedicated_pool", false)? {
            fraud.dedicated_pool_subnets = Some(subnets.clone().into());
        }
        let fraud = ctx.component("fraud-scorer", fraud)?;

        // Retraining: on a schedule where one is configured, else when a run is queued.
        let trigger = match cfg.get::<String>("retrain_schedule")? {
            Some(cron) => Trigger::Schedule(cron),
            None => Trigger::Queue,
        };
        let training = ctx.component(
            "retrain",
            TrainingPipelineArgs::builder()
                .cluster(cluster)
                .subnet_ids(subnets)
                .trigger(trigger)
                .max_nodes(cfg.get_or("training_max_nodes", 2)?)
                .dataset(S3Location {
                    bucket: base.require::<String>("artifact_bucket")?.into(),
                    prefix: "curated/".into(),
                    key_arn: None,
                })
                .build(),
        )?;

        ctx.export("fraud_model_uri", &fraud.runtime.model_uri);
        ctx.export("fraud_role_arn", &fraud.runtime.role_arn);
        ctx.export("training_role_arn", &training.role.arn);
        ctx.export("training_artifact_bucket", &training.artifacts.bucket.bucket);
        if let Some(queue) = &training.queue {
            ctx.export("training_queue_url", &queue.url);
        }
        Ok(())
    })
}
