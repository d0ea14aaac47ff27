//! The platform services of the AI platform, on top of the `ai-base` stack
//! of the same environment: monitoring with GPU alerts and the
//! environment's budget, the feature store, and the data preprocessing
//! queue and workers.
//!
//! ```sh
//! cargo run -p ai-base -- up --stack dev       # first: this stack reads its outputs
//! cargo run -p ai-platform -- up --stack dev
//! ```

use cairn_ai::{ClusterInfo, DataPreprocessingArgs, FeatureStoreArgs, MonitoringStackArgs, S3Location, WatchedQueue};

fn main() -> std::process::ExitCode {
    cairn::run("ai-platform", |ctx| {
        let cfg = ctx.config();
        let base = ctx.stack_reference("ai-base")?;
        let cluster = ClusterInfo::from_reference(&base)?;
        let subnets: Vec<String> = base.require("private_subnet_ids")?;
        let artifacts: String = base.require("artifact_bucket")?;

        let features = ctx.component("features", FeatureStoreArgs::builder().cluster(cluster.clone()).build())?;

        // Raw events land under raw/ in the artifact bucket; workers write curated/.
        let prep_max_backlog = cfg.get_or("prep_max_backlog", 10_000.0)?;
        let prep = ctx.component(
            "prep",
            DataPreprocessingArgs::builder()
                .cluster(cluster)
                .subnet_ids(subnets)
                .input(S3Location { bucket: artifacts.clone().into(), prefix: "raw/".into(), key_arn: None })
                .output(S3Location { bucket: artifacts.into(), prefix: "curated/".into(), key_arn: None })
                .max_nodes(cfg.get_or("prep_max_nodes", 4)?)
                .build(),
        )?;

        ctx.component(
            "monitoring",
            MonitoringStackArgs::builder()
                .cluster_name(base.require::<String>("cluster_name")?)
                // The budget plans are checked against ([cost] budget) is the one AWS Budgets watches.
                .monthly_budget_usd(cfg.budget().ok_or("set `budget` under [cost] in the stack's config")?)
                .budget_emails(cfg.require::<Vec<String>>("budget_emails")?)
                .max_gpus(cfg.get_or("max_gpus", 16.0)?)
                .queues(vec![WatchedQueue {
                    label: "prep".into(),
                    name: prep.queue.name.clone().into(),
                    max_depth: prep_max_backlog,
                    dead_letters: Some(prep.dead_letters.name.clone().into()),
                }])
                .build(),
        )?;

        ctx.export("prep_max_backlog", &cairn::Output::new(prep_max_backlog));
        ctx.export("online_feature_table", &features.online.name);
        ctx.export("offline_feature_bucket", &features.offline.bucket.bucket);
        ctx.export("feature_reader_role_arn", &features.reader.arn);
        ctx.export("prep_queue_name", &prep.queue.name);
        // The runtime stack renders the workers' Job from these (PreprocessingRuntime::from_reference).
        prep.runtime.export(ctx, "prep");
        Ok(())
    })
}
