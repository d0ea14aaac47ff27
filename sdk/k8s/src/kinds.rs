//! The kinds Cairn types, listed once, and the typed check of an object given as JSON.

use k8s_openapi::Resource;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::manifest::ScopeInfo;

/// A kind Cairn knows the type of.
#[derive(Debug, Clone, Copy)]
pub struct KindInfo {
    /// `apiVersion`.
    pub api_version: &'static str,
    /// `kind`.
    pub kind: &'static str,
    /// Whether objects of the kind live in a namespace.
    pub namespaced: bool,
    /// A custom resource (its CRD must be installed in the cluster), not a built-in kind.
    pub custom: bool,
    check: fn(&serde_json::Value) -> Result<(), CheckError>,
}

/// A field of an object that does not fit its kind's type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct CheckError {
    /// The field's path, such as `spec.predictor.minReplicas` (`.` for the whole object).
    pub path: String,
    /// What is wrong.
    pub reason: String,
}

macro_rules! kinds {
    ($($ty:ty => $custom:literal),* $(,)?) => {
        static KINDS: &[KindInfo] = &[$(KindInfo {
            api_version: <$ty as Resource>::API_VERSION,
            kind: <$ty as Resource>::KIND,
            namespaced: <<$ty as Resource>::Scope as ScopeInfo>::NAMESPACED,
            custom: $custom,
            check: check_as::<$ty>,
        }),*];
    };
}

use crate::api::{apps, autoscaling, batch, core, networking, policy, rbac};
kinds! {
    core::v1::Namespace => false,
    core::v1::ServiceAccount => false,
    core::v1::ConfigMap => false,
    core::v1::Service => false,
    core::v1::ResourceQuota => false,
    core::v1::LimitRange => false,
    core::v1::PersistentVolumeClaim => false,
    apps::v1::Deployment => false,
    apps::v1::StatefulSet => false,
    apps::v1::DaemonSet => false,
    batch::v1::Job => false,
    batch::v1::CronJob => false,
    rbac::v1::Role => false,
    rbac::v1::RoleBinding => false,
    rbac::v1::ClusterRole => false,
    rbac::v1::ClusterRoleBinding => false,
    networking::v1::NetworkPolicy => false,
    autoscaling::v2::HorizontalPodAutoscaler => false,
    policy::v1::PodDisruptionBudget => false,
    crate::kserve::InferenceService => true,
    crate::argo::WorkflowTemplate => true,
    crate::argo::CronWorkflow => true,
    crate::prometheus::PrometheusRule => true,
    crate::argocd::Application => true,
}

/// Every kind Cairn types: the built-in kinds a platform's runtime uses and the custom
/// resources of this crate.
pub fn kinds() -> &'static [KindInfo] {
    KINDS
}

impl KindInfo {
    /// Reads `object` through this kind's type (see [`check_object`]).
    pub fn check(&self, object: &serde_json::Value) -> Result<(), CheckError> {
        (self.check)(object)
    }
}

/// The kind with this `apiVersion` and `kind`, if Cairn types it.
pub fn kind_info(api_version: &str, kind: &str) -> Option<&'static KindInfo> {
    KINDS.iter().find(|k| k.api_version == api_version && k.kind == kind)
}

/// Reads an object through its kind's typed struct: a missing required field, a value of the
/// wrong type, or a field the type does not have (a misspelling) fails, naming the field.
/// Returns the kind, or `None` for a kind Cairn does not type (taken as written).
///
/// ```
/// let bad = serde_json::json!({
///     "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "prep", "namespace": "data"},
///     "spec": {"parallelism": "four", "template": {}}
/// });
/// let err = cairn_k8s::check_object(&bad).unwrap_err();
/// assert_eq!(err.path, "spec.parallelism");
/// ```
pub fn check_object(object: &serde_json::Value) -> Result<Option<&'static KindInfo>, CheckError> {
    let field = |k: &str| object.get(k).and_then(serde_json::Value::as_str).unwrap_or_default();
    match kind_info(field("apiVersion"), field("kind")) {
        Some(info) => (info.check)(object).map(|()| Some(info)),
        None => Ok(None),
    }
}

fn check_as<T: DeserializeOwned + Serialize>(object: &serde_json::Value) -> Result<(), CheckError> {
    let typed: T = serde_path_to_error::deserialize(object)
        .map_err(|e| CheckError { path: e.path().to_string(), reason: e.inner().to_string() })?;
    // k8s-openapi's types skip fields they do not know; writing the object back and comparing
    // finds them, so a misspelt field fails here rather than being dropped by the API server.
    let written = serde_json::to_value(&typed).map_err(|e| CheckError { path: ".".into(), reason: e.to_string() })?;
    match first_difference(object, &written, String::new()) {
        None => Ok(()),
        Some((path, reason)) => Err(CheckError { path, reason }),
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_owned() } else { format!("{path}.{key}") }
}

/// The first place where `given` has something `kept` lost or changed.
fn first_difference(given: &serde_json::Value, kept: &serde_json::Value, path: String) -> Option<(String, String)> {
    use serde_json::Value;
    match (given, kept) {
        (Value::Object(g), Value::Object(k)) => g.iter().find_map(|(key, gv)| match k.get(key) {
            None if gv.is_null() => None,
            None => {
                Some((join(&path, key), format!("unknown field `{key}` (check its spelling against the kind's API)")))
            }
            Some(kv) => first_difference(gv, kv, join(&path, key)),
        }),
        (Value::Array(g), Value::Array(k)) => {
            g.iter().zip(k).enumerate().find_map(|(i, (gv, kv))| first_difference(gv, kv, format!("{path}[{i}]")))
        }
        (g, k) if g == k => None,
        (Value::Number(g), Value::Number(k)) if g.as_f64() == k.as_f64() => None,
        (g, k) => Some((if path.is_empty() { ".".into() } else { path }, format!("{g} is read as {k}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn misspelt_fields_are_named() {
        let isvc = json!({
            "apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
            "metadata": {"name": "fraud", "namespace": "inference"},
            "spec": {"predictor": {"minReplica": 0, "model": {"modelFormat": {"name": "sklearn"}}}}
        });
        let err = check_object(&isvc).unwrap_err();
        assert_eq!(err.path, "spec.predictor.minReplica");
        assert!(err.reason.contains("unknown field `minReplica`"), "{err}");

        let sa = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "a", "namespace": "b", "lables": {}}});
        let err = check_object(&sa).unwrap_err();
        assert_eq!(err.path, "metadata.lables");
    }

    #[test]
    fn required_fields_and_kinds() {
        let app = json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": {"name": "a"}, "spec": {"destination": {}}});
        let err = check_object(&app).unwrap_err();
        assert!(err.reason.contains("missing field `project`"), "{err}");
        let other = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}});
        assert!(check_object(&other).unwrap().is_none());
        let wrong = json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": {}, "spec": {"project": "p", "destination": {}}});
        assert_eq!(check_object(&wrong).unwrap().unwrap().kind, "Application");
    }

    #[test]
    fn every_kind_is_listed_once() {
        let mut seen = std::collections::BTreeSet::new();
        for k in kinds() {
            assert!(seen.insert((k.api_version, k.kind)), "{} {} listed twice", k.api_version, k.kind);
        }
    }
}
