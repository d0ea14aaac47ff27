//! Typed Kubernetes manifests, as Cairn's components render them for GitOps.
//!
//! - Built-in kinds come from [`k8s_openapi`] (re-exported), for the Kubernetes version the
//!   cluster component defaults to (1.31): `Deployment`, `Job`, `CronJob`, `ServiceAccount`,
//!   RBAC, `NetworkPolicy`, quotas, autoscalers, `ConfigMap`, `Namespace` and the rest.
//! - Custom resources are typed here with their CRDs' field names: KServe's
//!   [`kserve::InferenceService`], Argo Workflows' [`argo::WorkflowTemplate`] and
//!   [`argo::CronWorkflow`], Prometheus Operator's [`prometheus::PrometheusRule`] and Argo CD's
//!   [`argocd::Application`]. A required field is a plain field, so leaving it out does not
//!   compile; reading one back refuses unknown fields, naming them.
//! - [`Manifest`] is one object ready for a Git repository: its identity, its file name and its
//!   canonical YAML (keys sorted, one object per file), so the same object always renders to the
//!   same bytes.
//! - [`kinds`] lists every kind Cairn types once; [`check_object`] reads any object as JSON
//!   through its typed struct and names the field that does not fit.
//!
//! ```
//! use cairn_k8s::api::core::v1::ServiceAccount;
//! use cairn_k8s::apimachinery::pkg::apis::meta::v1::ObjectMeta;
//! use cairn_k8s::Manifest;
//!
//! let sa = ServiceAccount {
//!     metadata: ObjectMeta { name: Some("fraud".into()), namespace: Some("inference".into()), ..Default::default() },
//!     ..Default::default()
//! };
//! let m = Manifest::of(&sa).unwrap();
//! assert_eq!(m.file_name(), "inference/serviceaccount-fraud.yaml");
//! assert!(m.to_yaml().starts_with("apiVersion: v1\nkind: ServiceAccount\n"));
//! ```

pub use k8s_openapi;
pub use k8s_openapi::{api, apimachinery};

#[macro_use]
mod custom;
pub mod argo;
pub mod argocd;
mod kinds;
pub mod kserve;
mod manifest;
pub mod prometheus;

pub use kinds::{CheckError, KindInfo, check_object, kind_info, kinds};
pub use manifest::{Manifest, ManifestError, Object, canonical_yaml};
