//! KServe (`serving.kserve.io/v1beta1`): a model served behind an autoscaled endpoint.
//!
//! Field names follow the CRD of KServe v0.20.0; only the predictor is typed (transformers and
//! explainers are rare in the platforms Cairn builds).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::api::core::v1::{EnvVar, ResourceRequirements, Toleration};

custom_resource! {
    /// A model server: KServe creates its deployment, autoscaler and route.
    ///
    /// ```
    /// use cairn_k8s::kserve::{InferenceService, InferenceServiceSpec, ModelFormat, ModelSpec, PredictorSpec};
    /// let isvc = InferenceService {
    ///     metadata: Default::default(),
    ///     spec: InferenceServiceSpec {
    ///         predictor: PredictorSpec {
    ///             model: Some(ModelSpec { model_format: ModelFormat { name: "pytorch".into(), version: None }, ..Default::default() }),
    ///             min_replicas: Some(0),
    ///             ..Default::default()
    ///         },
    ///     },
    /// };
    /// assert_eq!(serde_json::to_value(&isvc).unwrap()["spec"]["predictor"]["minReplicas"], 0);
    /// ```
    InferenceService(InferenceServiceSpec), group = "serving.kserve.io", version = "v1beta1", plural = "inferenceservices"
}

/// `spec` of an [`InferenceService`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InferenceServiceSpec {
    /// The model server.
    pub predictor: PredictorSpec,
}

/// What a replica's autoscaler watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScaleMetric {
    /// CPU utilisation.
    Cpu,
    /// Memory utilisation.
    Memory,
    /// Requests in flight per replica (Knative's default).
    Concurrency,
    /// Requests per second per replica.
    Rps,
}

/// `spec.predictor`: the model, its replicas and where they run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PredictorSpec {
    /// The model and its serving runtime.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<ModelSpec>,
    /// Fewest replicas; 0 scales to zero when idle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_replicas: Option<i32>,
    /// Most replicas.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_replicas: Option<i32>,
    /// The autoscaling metric.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_metric: Option<ScaleMetric>,
    /// The metric's target per replica.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_target: Option<i32>,
    /// Percent of traffic sent to the latest revision (a canary); the rest stays on the last good one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary_traffic_percent: Option<i64>,
    /// Requests one replica serves at once (0: unlimited).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_concurrency: Option<i64>,
    /// Seconds a request may take.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<i64>,
    /// The service account the replicas run as (IRSA gives it its AWS role).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
    /// Node labels the replicas must land on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_selector: Option<BTreeMap<String, String>>,
    /// Taints the replicas tolerate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerations: Option<Vec<Toleration>>,
    /// Labels on the replicas' pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    /// Annotations on the replicas' pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    /// The pods' priority class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority_class_name: Option<String>,
}

/// `spec.predictor.model`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ModelSpec {
    /// The model's format, which picks a serving runtime.
    pub model_format: ModelFormat,
    /// A serving runtime by name, instead of the one the format picks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime: Option<String>,
    /// The runtime's image version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_version: Option<String>,
    /// The inference protocol (`v1`, `v2`, `grpc-v2`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol_version: Option<String>,
    /// Where the model's files are, such as `s3://bucket/fraud/v42`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_uri: Option<String>,
    /// CPU, memory and GPU requests and limits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
    /// Environment of the server container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<Vec<EnvVar>>,
    /// Arguments of the server container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Vec<String>>,
}

/// `spec.predictor.model.modelFormat`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ModelFormat {
    /// `pytorch`, `sklearn`, `xgboost`, `onnx`, `tensorflow`, `huggingface`, …
    pub name: String,
    /// The format's version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}
