//! The runtime side of a model server: KServe `InferenceService`, its service account bound to
//! the IRSA role, a network policy admitting only the ingress, and a quota on its namespace.

use std::collections::BTreeMap;

use cairn_core::{ComponentArgs, DeclareError, InvalidArgs, Scope, Stack, Urn};
use cairn_gitops::Manifest;
use cairn_k8s::api::core::v1::{ResourceQuota, ResourceQuotaSpec, ResourceRequirements};
use cairn_k8s::api::networking::v1::{NetworkPolicy, NetworkPolicyIngressRule, NetworkPolicyPeer, NetworkPolicySpec};
use cairn_k8s::apimachinery::pkg::api::resource::Quantity;
use cairn_k8s::apimachinery::pkg::apis::meta::v1::LabelSelector;
use cairn_k8s::kserve::{InferenceService, InferenceServiceSpec, ModelFormat, ModelSpec, PredictorSpec, ScaleMetric};
use typed_builder::TypedBuilder;

use super::{declare, declare_output, declare_service_account, gpu_toleration, labels, meta};
use crate::InferenceRuntime;

/// The namespaces Knative and KServe route requests from (its activator holds requests while a
/// service scaled to zero starts).
const SERVING_NAMESPACES: [&str; 1] = ["knative-serving"];

/// Arguments of [`InferenceManifests`].
///
/// ```
/// # use cairn_ai::{InferenceManifestsArgs, InferenceRuntime};
/// # use cairn_core::Output;
/// # let runtime = InferenceRuntime { model_name: "fraud".into(), model_version: "v1".into(),
/// #   model_uri: Output::new("s3://m/fraud/v1/".into()), namespace: "fraud".into(), service_account: "fraud".into(),
/// #   role_arn: Output::new("arn:aws:iam::1:role/r".into()), gpu_instance_type: "g5.xlarge".into(),
/// #   gpus_per_replica: 1, min_replicas: 0, max_replicas: 2, node_pool: None };
/// let args = InferenceManifestsArgs::builder().runtime(runtime).model_format("xgboost").build();
/// assert_eq!(args.ingress_namespace, "istio-system");
/// ```
#[derive(Debug, Clone, TypedBuilder)]
pub struct InferenceManifestsArgs {
    /// What the cloud side made ([`crate::InferenceService::runtime`]).
    pub runtime: InferenceRuntime,
    /// The model's format, which picks KServe's serving runtime (`xgboost`, `sklearn`, `pytorch`,
    /// `huggingface`, …).
    #[builder(setter(into))]
    pub model_format: String,
    /// A serving runtime by name instead of the one the format picks.
    #[builder(default, setter(strip_option, into))]
    pub serving_runtime: Option<String>,
    /// What the autoscaler watches.
    #[builder(default = ScaleMetric::Concurrency)]
    pub scale_metric: ScaleMetric,
    /// The metric's target per replica (requests in flight, by default).
    #[builder(default = 4)]
    pub scale_target: i32,
    /// Send this percent of traffic to a new version, the rest to the last good one.
    #[builder(default, setter(strip_option))]
    pub canary_traffic_percent: Option<i64>,
    /// The namespace of the ingress gateway, the only source of requests the network policy admits
    /// (beside Knative's activator).
    #[builder(default = "istio-system".to_owned(), setter(into))]
    pub ingress_namespace: String,
    /// CPU requested per replica.
    #[builder(default = "2".to_owned(), setter(into))]
    pub cpu_per_replica: String,
    /// Memory requested (and limited) per replica.
    #[builder(default = "8Gi".to_owned(), setter(into))]
    pub memory_per_replica: String,
}

/// The manifests of one model server.
#[derive(Debug, Clone)]
pub struct InferenceManifests {
    /// The component's URN.
    pub urn: Urn,
    /// The service account, annotated with the IRSA role.
    pub service_account: Manifest,
    /// The KServe `InferenceService`.
    pub inference_service: Manifest,
    /// Requests admitted from the ingress (and Knative) only.
    pub network_policy: Manifest,
    /// GPUs, CPU, memory and pods the namespace may take.
    pub quota: Manifest,
}

impl InferenceManifestsArgs {
    fn quantity(n: impl std::fmt::Display) -> Quantity {
        Quantity(n.to_string())
    }

    /// The pods' resources: the GPUs asked for, requested and limited (GPUs are never shared).
    fn resources(&self) -> ResourceRequirements {
        let gpus = Self::quantity(self.runtime.gpus_per_replica);
        let requests = BTreeMap::from([
            ("cpu".to_owned(), Self::quantity(&self.cpu_per_replica)),
            ("memory".to_owned(), Self::quantity(&self.memory_per_replica)),
            ("nvidia.com/gpu".to_owned(), gpus.clone()),
        ]);
        let limits = BTreeMap::from([
            ("memory".to_owned(), Self::quantity(&self.memory_per_replica)),
            ("nvidia.com/gpu".to_owned(), gpus),
        ]);
        ResourceRequirements { requests: Some(requests), limits: Some(limits), ..Default::default() }
    }

    /// The pods land on the service's own pool when it has one, else on any node of its GPU type.
    fn node_selector(&self) -> BTreeMap<String, String> {
        match &self.runtime.node_pool {
            Some(pool) => BTreeMap::from([("cairn.dev/pool".to_owned(), pool.clone())]),
            None => BTreeMap::from([(
                "node.kubernetes.io/instance-type".to_owned(),
                self.runtime.gpu_instance_type.clone(),
            )]),
        }
    }

    /// The `InferenceService`, serving the model at `model_uri`.
    pub fn inference_service(&self, labels: &BTreeMap<String, String>, model_uri: String) -> InferenceService {
        let r = &self.runtime;
        InferenceService {
            metadata: meta(&r.model_name, &r.namespace, labels),
            spec: InferenceServiceSpec {
                predictor: PredictorSpec {
                    model: Some(ModelSpec {
                        model_format: ModelFormat { name: self.model_format.clone(), version: None },
                        runtime: self.serving_runtime.clone(),
                        storage_uri: Some(model_uri),
                        resources: Some(self.resources()),
                        ..Default::default()
                    }),
                    min_replicas: Some(r.min_replicas),
                    max_replicas: Some(r.max_replicas),
                    scale_metric: Some(self.scale_metric),
                    scale_target: Some(self.scale_target),
                    canary_traffic_percent: self.canary_traffic_percent,
                    service_account_name: Some(r.service_account.clone()),
                    node_selector: Some(self.node_selector()),
                    tolerations: Some(vec![gpu_toleration()]),
                    labels: Some(labels.clone()),
                    ..Default::default()
                },
            },
        }
    }

    /// Deny every request to the model's pods but those from the ingress and Knative.
    pub fn network_policy(&self, labels: &BTreeMap<String, String>) -> NetworkPolicy {
        let r = &self.runtime;
        let from = |ns: &str| NetworkPolicyPeer {
            namespace_selector: Some(LabelSelector {
                match_labels: Some(BTreeMap::from([("kubernetes.io/metadata.name".to_owned(), ns.to_owned())])),
                ..Default::default()
            }),
            ..Default::default()
        };
        let sources = std::iter::once(self.ingress_namespace.as_str()).chain(SERVING_NAMESPACES).map(from).collect();
        NetworkPolicy {
            metadata: meta(&format!("{}-ingress", r.model_name), &r.namespace, labels),
            spec: Some(NetworkPolicySpec {
                pod_selector: Some(LabelSelector {
                    match_labels: Some(BTreeMap::from([(
                        "serving.kserve.io/inferenceservice".to_owned(),
                        r.model_name.clone(),
                    )])),
                    ..Default::default()
                }),
                policy_types: Some(vec!["Ingress".into()]),
                ingress: Some(vec![NetworkPolicyIngressRule { from: Some(sources), ..Default::default() }]),
                ..Default::default()
            }),
        }
    }

    /// The namespace's ceiling: the service at its replica cap, plus one replica of headroom for
    /// a rollout.
    pub fn quota(&self, labels: &BTreeMap<String, String>) -> ResourceQuota {
        let r = &self.runtime;
        let replicas = i64::from(r.max_replicas) + 1;
        let hard = BTreeMap::from([
            ("requests.nvidia.com/gpu".to_owned(), Self::quantity(replicas * i64::from(r.gpus_per_replica))),
            ("pods".to_owned(), Self::quantity(replicas * 2)),
        ]);
        ResourceQuota {
            metadata: meta(&r.model_name, &r.namespace, labels),
            spec: Some(ResourceQuotaSpec { hard: Some(hard), ..Default::default() }),
            ..Default::default()
        }
    }
}

impl ComponentArgs for InferenceManifestsArgs {
    type Component = InferenceManifests;
    const TYPE: &'static str = "cairn:ai:InferenceManifests";

    fn validate(&self, ctx: &Stack) -> Result<(), InvalidArgs> {
        crate::checks::dns_label("model_format", &self.model_format)?;
        crate::checks::dns_label("ingress_namespace", &self.ingress_namespace)?;
        if self.scale_target < 1 {
            return Err(InvalidArgs::new("scale_target", format!("is {}", self.scale_target), "give 1 or more"));
        }
        if let Some(p) = self.canary_traffic_percent
            && !(0..=100).contains(&p)
        {
            return Err(InvalidArgs::new("canary_traffic_percent", format!("is {p}"), "give 0 to 100"));
        }
        super::check_labels(ctx)
    }

    fn expand(self, scope: &Scope) -> Result<InferenceManifests, DeclareError> {
        let labels = labels(scope, &self.runtime.model_name);
        let this = std::sync::Arc::new((self.clone(), labels.clone()));
        let r = &self.runtime;
        let sa = declare_service_account(scope, &r.service_account, &r.namespace, &labels, &r.role_arn)?;
        let isvc = {
            let this = this.clone();
            let object = self.runtime.model_uri.map(move |uri: String| this.0.inference_service(&this.1, uri));
            declare_output(scope, "isvc", &self.inference_service(&labels, String::new()), object)?
        };
        let network_policy = declare(scope, "netpol", &self.network_policy(&labels))?;
        let quota = declare(scope, "quota", &self.quota(&labels))?;
        Ok(InferenceManifests {
            urn: scope.urn().clone(),
            service_account: sa,
            inference_service: isvc,
            network_policy,
            quota,
        })
    }
}
