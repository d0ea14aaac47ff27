//! A program with GitOps manifests only (no cloud), for the tests of the commands around them
//! (`promote`, the preview's line diffs): a model server's service account and
//! `InferenceService`, whose storage URI follows the `model_version` config value, and a
//! dashboard.

use std::collections::BTreeMap;

use cairn_gitops::ManifestArgs;
use cairn_k8s::api::core::v1::{ConfigMap, ServiceAccount};
use cairn_k8s::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use cairn_k8s::kserve::{InferenceService, InferenceServiceSpec, ModelFormat, ModelSpec, PredictorSpec};

fn meta(name: &str, namespace: &str) -> ObjectMeta {
    ObjectMeta { name: Some(name.into()), namespace: Some(namespace.into()), ..Default::default() }
}

fn main() -> std::process::ExitCode {
    cairn::run("gitops-program", |ctx| {
        let version: String = ctx.config().require("model_version")?;
        let sa = ServiceAccount { metadata: meta("fraud", "fraud"), ..Default::default() };
        ctx.resource("fraud-sa", ManifestArgs::of(&sa)?)?;
        let isvc = InferenceService {
            metadata: meta("fraud", "fraud"),
            spec: InferenceServiceSpec {
                predictor: PredictorSpec {
                    model: Some(ModelSpec {
                        model_format: ModelFormat { name: "xgboost".into(), version: None },
                        storage_uri: Some(format!("s3://models/fraud/{version}/")),
                        ..Default::default()
                    }),
                    min_replicas: Some(0),
                    max_replicas: Some(2),
                    ..Default::default()
                },
            },
        };
        ctx.resource("fraud", ManifestArgs::of(&isvc)?)?;
        let dashboard = ConfigMap {
            metadata: meta("fraud-dashboard", "monitoring"),
            data: Some(BTreeMap::from([("fraud.json".to_owned(), "{}\n".to_owned())])),
            ..Default::default()
        };
        ctx.resource("dashboard", ManifestArgs::of(&dashboard)?)?;
        Ok(())
    })
}
