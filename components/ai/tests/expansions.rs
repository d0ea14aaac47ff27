//! Snapshots of each component's expanded resource graph per environment:
//! types, names, parents, dependencies and the declared properties. Outputs
//! of other resources appear as `<name.property>`, so policy documents built
//! from them are readable too. A change to a component's expansion shows up
//! here as a snapshot diff to review (`cargo insta review`).

use std::collections::HashMap;

use cairn_ai::*;
use cairn_core::output::resolve_placeholders;
use cairn_core::{ComponentArgs, Config, DeclaredStack, OutputSource, ProjectName, Stack, StackName, Urn, Value};

const ENVIRONMENTS: [&str; 3] = ["dev", "staging", "prod"];

fn ctx(env: &str) -> Stack {
    let config = Config::new(format!("Cairn.{env}.toml"), Default::default())
        .with_tags([("team", "ml-platform"), ("cost-center", "4711")]);
    Stack::new(StackName::new(env).unwrap(), ProjectName::new("ai").unwrap(), config)
}

fn cluster() -> ClusterInfo {
    ClusterInfo {
        name: "ai-cluster".into(),
        version: "1.31".into(),
        oidc_provider_arn: "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE".into(),
        oidc_issuer: "oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE".into(),
    }
}

/// Every resource's outputs as `<name.property>` placeholders.
struct Named(HashMap<Urn, Value>);

impl Named {
    fn of(declared: &DeclaredStack) -> Self {
        let outputs = declared
            .resources
            .iter()
            .filter_map(|r| {
                let ty = r.urn.resource_type();
                let schema = cairn_aws::SCHEMAS.iter().find(|s| s.token == ty.as_str())?;
                let map: Value = schema
                    .outputs
                    .iter()
                    .map(|(field, _)| (*field, Value::from(format!("<{}.{field}>", r.urn.name()))))
                    .collect();
                Some((r.urn.clone(), map))
            })
            .collect();
        Self(outputs)
    }
}

impl OutputSource for Named {
    fn outputs_of(&self, urn: &Urn) -> Option<&Value> {
        self.0.get(urn)
    }
}

/// The expansion of one component, as a snapshot-friendly document.
fn expansion<A: ComponentArgs>(env: &str, name: &str, args: A) -> serde_json::Value {
    let ctx = ctx(env);
    ctx.component(name, args).unwrap_or_else(|e| panic!("{e}"));
    let declared = ctx.finish();
    let named = Named::of(&declared);
    let resources: Vec<serde_json::Value> = declared
        .resources
        .iter()
        .map(|r| {
            let inputs = resolve_placeholders(&r.inputs, &r.outputs, &named).expect("resolves");
            let mut deps: Vec<&str> = r.dependencies.iter().map(Urn::name).collect();
            deps.sort_unstable();
            let outputs: Vec<&String> = r.exports.keys().collect();
            serde_json::json!({
                "type": r.urn.type_chain(),
                "name": r.urn.name(),
                "parent": r.parent.as_ref().map(Urn::name),
                "depends_on": deps,
                "properties": inputs.to_json(),
                "outputs": outputs,
            })
        })
        .collect();
    serde_json::Value::Array(resources)
}

fn snapshot<A: ComponentArgs>(component: &str, make: impl Fn() -> A) {
    for env in ENVIRONMENTS {
        let doc = expansion(env, component, make());
        insta::with_settings!({ sort_maps => true, snapshot_suffix => env }, {
            insta::assert_json_snapshot!(component, doc);
        });
    }
}

#[test]
fn base_network() {
    snapshot("net", || BaseNetworkArgs::builder().availability_zones(["us-east-1a", "us-east-1b"]).build());
}

#[test]
fn eks_cluster() {
    snapshot("ai", || EksClusterArgs::builder().subnet_ids(vec!["subnet-a", "subnet-b"]).build());
}

#[test]
fn gpu_node_pool() {
    snapshot("gpu", || {
        GpuNodePoolArgs::builder()
            .cluster_name("ai-cluster")
            .cluster_version("1.31")
            .subnet_ids(vec!["subnet-a", "subnet-b"])
            .build()
    });
}

#[test]
fn cpu_node_pool() {
    snapshot("cpu", || {
        CpuNodePoolArgs::builder()
            .cluster_name("ai-cluster")
            .cluster_version("1.31")
            .subnet_ids(vec!["subnet-a"])
            .build()
    });
}

#[test]
fn artifact_bucket() {
    snapshot("artifacts", || ArtifactBucketArgs::builder().encryption(Encryption::DedicatedKey).build());
}

#[test]
fn model_registry() {
    snapshot("registry", || ModelRegistryArgs::builder().promoters(["arn:aws:iam::123456789012:role/ml-ci"]).build());
}

#[test]
fn inference_service() {
    snapshot("fraud-scorer", || {
        InferenceServiceArgs::builder()
            .cluster(cluster())
            .model(ModelSource {
                bucket: "models".into(),
                key_arn: Some("arn:aws:kms:us-east-1:123456789012:key/k".into()),
                stage: "prod".into(),
            })
            .model_name("fraud-scorer")
            .model_version("2026-11-30")
            .dedicated_pool_subnets(vec!["subnet-a"])
            .build()
    });
}

#[test]
fn training_pipeline() {
    snapshot("retrain", || {
        TrainingPipelineArgs::builder()
            .cluster(cluster())
            .subnet_ids(vec!["subnet-a"])
            .trigger(Trigger::Queue)
            .dataset(S3Location { bucket: "datasets".into(), prefix: "curated/".into(), key_arn: None })
            .build()
    });
}

#[test]
fn feature_store() {
    snapshot("features", || FeatureStoreArgs::builder().cluster(cluster()).build());
}

#[test]
fn data_preprocessing() {
    snapshot("prep", || {
        DataPreprocessingArgs::builder()
            .cluster(cluster())
            .subnet_ids(vec!["subnet-a"])
            .input(S3Location { bucket: "data".into(), prefix: "raw/".into(), key_arn: None })
            .output(S3Location { bucket: "data".into(), prefix: "curated/".into(), key_arn: None })
            .build()
    });
}

#[test]
fn monitoring_stack() {
    snapshot("monitoring", || {
        MonitoringStackArgs::builder()
            .cluster_name("ai-cluster")
            .monthly_budget_usd(2000.0)
            .budget_emails(["ml-platform@example.com"])
            .queues(vec![WatchedQueue {
                label: "prep".into(),
                name: "prep-queue".into(),
                max_depth: 1000.0,
                dead_letters: Some("prep-dlq".into()),
            }])
            .build()
    });
}
