//! The runtime side of the components: the Kubernetes objects a cluster runs, rendered typed
//! (cairn-k8s) and declared as `gitops:index:Manifest`s, so they reach the cluster through the
//! stack's GitOps repository and Argo CD rather than through Cairn's own calls.
//!
//! Each component here takes what its cloud side made (an [`crate::InferenceRuntime`], a
//! [`crate::TrainingRuntime`], …) and declares one manifest per object. Every object carries the
//! stack's cost labels (`team`, `cost-center`, `environment`) and `app.kubernetes.io` labels.

use std::collections::BTreeMap;

use cairn_core::{DeclareError, InvalidArgs, Output, Scope, Stack};
use cairn_gitops::{Manifest, ManifestArgs};
use cairn_k8s::Object;
use cairn_k8s::api::core::v1::{ServiceAccount, Toleration};
use cairn_k8s::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::de::DeserializeOwned;

mod argocd;
mod inference;
mod monitoring;
mod preprocessing;
mod training;

pub use argocd::{ArgoApplication, ArgoApplicationArgs};
pub use inference::{InferenceManifests, InferenceManifestsArgs};
pub use monitoring::{MonitoringManifests, MonitoringManifestsArgs, QueueBacklog};
pub use preprocessing::{PreprocessingManifests, PreprocessingManifestsArgs};
pub use training::{TrainingManifests, TrainingManifestsArgs};

/// The cost tags that become labels on every object.
const LABELLED_TAGS: [&str; 3] = crate::tags::REQUIRED_COST_TAGS;

/// A Kubernetes label value: at most 63 characters, alphanumerics, `-`, `_`, `.`, starting and
/// ending alphanumeric (or empty).
fn label_value(v: &str) -> bool {
    let alnum = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    v.is_empty()
        || (v.len() <= 63
            && v.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            && alnum(v.chars().next())
            && alnum(v.chars().last()))
}

/// Refuses a cost tag that cannot be a label value, naming it.
pub(crate) fn check_labels(ctx: &Stack) -> Result<(), InvalidArgs> {
    for key in LABELLED_TAGS {
        if let Some(v) = ctx.config().tags().get(key)
            && !label_value(v)
        {
            return Err(InvalidArgs::new(
                "[tags]",
                format!("`{key} = \"{v}\"` cannot be a Kubernetes label value"),
                "use at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit",
            ));
        }
    }
    Ok(())
}

/// The labels of every object of a component: cost tags and `app.kubernetes.io/*`.
pub(crate) fn labels(scope: &Scope, app: &str) -> BTreeMap<String, String> {
    let tags = crate::tags::cost_tags(scope, &BTreeMap::new());
    let mut labels: BTreeMap<String, String> =
        LABELLED_TAGS.iter().filter_map(|k| Some(((*k).to_owned(), tags.get(*k)?.clone()))).collect();
    labels.insert("app.kubernetes.io/name".into(), app.to_owned());
    labels.insert("app.kubernetes.io/part-of".into(), scope.project_name().as_str().to_owned());
    labels.insert("app.kubernetes.io/managed-by".into(), "cairn".into());
    labels
}

/// Metadata with a name, a namespace and labels.
pub(crate) fn meta(name: &str, namespace: &str, labels: &BTreeMap<String, String>) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_owned()),
        namespace: Some(namespace.to_owned()),
        labels: Some(labels.clone()),
        ..Default::default()
    }
}

/// A workload's service account, bound to its IAM role through IRSA (the annotation EKS's pod
/// identity webhook reads).
pub(crate) fn irsa_service_account(
    name: &str,
    namespace: &str,
    labels: &BTreeMap<String, String>,
    role_arn: String,
) -> ServiceAccount {
    let mut metadata = meta(name, namespace, labels);
    metadata.annotations = Some(BTreeMap::from([("eks.amazonaws.com/role-arn".to_owned(), role_arn)]));
    ServiceAccount { metadata, ..Default::default() }
}

/// Declares the service account `name` bound to `role_arn` (an output: the role may be made in
/// the same run), as the manifest `<component>-sa`.
pub(crate) fn declare_service_account(
    scope: &Scope,
    name: &str,
    namespace: &str,
    labels: &BTreeMap<String, String>,
    role_arn: &Output<String>,
) -> Result<Manifest, DeclareError> {
    let (n, ns, l) = (name.to_owned(), namespace.to_owned(), labels.clone());
    let object = role_arn.map(move |arn: String| irsa_service_account(&n, &ns, &l, arn));
    declare_output(scope, "sa", &irsa_service_account(name, namespace, labels, String::new()), object)
}

/// The toleration of the GPU taint every GPU pool carries.
pub(crate) fn gpu_toleration() -> Toleration {
    let taint = crate::gpu_taint();
    Toleration {
        key: Some(taint.key),
        operator: Some("Exists".into()),
        // The node group's taint as the kubelet names its effect.
        effect: Some(
            match taint.effect {
                cairn_aws::TaintEffect::NoSchedule => "NoSchedule",
                cairn_aws::TaintEffect::NoExecute => "NoExecute",
                cairn_aws::TaintEffect::PreferNoSchedule => "PreferNoSchedule",
            }
            .into(),
        ),
        ..Default::default()
    }
}

fn manifest_error(scope: &Scope, e: cairn_k8s::ManifestError) -> DeclareError {
    DeclareError::Args { urn: scope.urn().clone(), message: e.to_string() }
}

/// Declares a manifest of a known object, named `<component>-<suffix>`.
pub(crate) fn declare<K: Object>(scope: &Scope, suffix: &str, object: &K) -> Result<Manifest, DeclareError> {
    let args = ManifestArgs::of(object).map_err(|e| manifest_error(scope, e))?;
    scope.resource(&scope.child_name(suffix), args)
}

/// Declares a manifest of an object made from outputs; `identity` names its file.
pub(crate) fn declare_output<K>(
    scope: &Scope,
    suffix: &str,
    identity: &K,
    object: Output<K>,
) -> Result<Manifest, DeclareError>
where
    K: Object + DeserializeOwned + 'static,
{
    let args = ManifestArgs::of_output(identity, object).map_err(|e| manifest_error(scope, e))?;
    scope.resource(&scope.child_name(suffix), args)
}

#[cfg(test)]
mod tests {
    use super::label_value;

    #[test]
    fn label_values() {
        assert!(label_value("ml-platform") && label_value("4711") && label_value(""));
        assert!(!label_value("ML Platform") && !label_value("-x") && !label_value(&"a".repeat(64)));
    }
}
