//! The runtime of the AI platform, on top of the `ai-base` and `ai-platform`
//! stacks of the same environment: the inference services and training
//! pipelines (their cloud side, applied by Cairn), and every Kubernetes object
//! the cluster runs (their runtime side, written to the GitOps repository for
//! Argo CD to apply). Model versions come from this stack's config, so
//! promoting a model is a reviewed change of one line (`promote`).
//!
//! ```sh
//! cargo run -p ai-runtime -- up --stack dev
//! ```

use cairn_ai::{
    ArgoApplicationArgs, ClusterInfo, InferenceManifestsArgs, InferenceServiceArgs, ModelSource,
    MonitoringManifestsArgs, PreprocessingManifestsArgs, PreprocessingRuntime, QueueBacklog, S3Location,
    TrainingManifestsArgs, TrainingPipelineArgs, Trigger,
};

/// Declares the stack (what `cairn::run` runs, and what the manifest snapshots render).
pub fn program(ctx: &cairn::Stack) -> cairn::Result {
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

    // The runtime side: Kubernetes objects committed to the GitOps repository.
    let platform = ctx.stack_reference("ai-platform")?;
    ctx.component(
        "fraud-scorer-k8s",
        InferenceManifestsArgs::builder()
            .runtime(fraud.runtime.clone())
            .model_format(cfg.require::<String>("fraud_model_format")?)
            .build(),
    )?;
    ctx.component(
        "retrain-k8s",
        TrainingManifestsArgs::builder()
            .runtime(training.runtime.clone())
            .image(cfg.require::<String>("training_image")?)
            .build(),
    )?;
    ctx.component(
        "prep-k8s",
        PreprocessingManifestsArgs::builder()
            .runtime(PreprocessingRuntime::from_reference(&platform, "prep")?)
            .image(cfg.require::<String>("prep_image")?)
            .build(),
    )?;
    ctx.component(
        "monitoring",
        MonitoringManifestsArgs::builder()
            .queues(vec![QueueBacklog {
                label: "prep".into(),
                queue_name: platform.require("prep_queue_name")?,
                max_depth: platform.require("prep_max_backlog")?,
            }])
            .build(),
    )?;
    ctx.component(
        "argocd",
        ArgoApplicationArgs::builder().repo_url(cfg.require::<String>("gitops_repo_url")?).build(),
    )?;

    ctx.export("fraud_model_uri", &fraud.runtime.model_uri);
    ctx.export("fraud_role_arn", &fraud.runtime.role_arn);
    ctx.export("training_role_arn", &training.role.arn);
    ctx.export("training_artifact_bucket", &training.artifacts.bucket.bucket);
    if let Some(queue) = &training.queue {
        ctx.export("training_queue_url", &queue.url);
    }
    Ok(())
}
