//! Argo CD (`argoproj.io/v1alpha1`): an `Application` syncs a path of a Git repository into a
//! cluster. Field names follow the CRD of Argo CD v3.5.1.

use serde::{Deserialize, Serialize};

custom_resource! {
    /// A path of a Git repository that Argo CD keeps applied to a cluster.
    Application(ApplicationSpec), group = "argoproj.io", version = "v1alpha1", plural = "applications"
}

/// `spec` of an [`Application`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApplicationSpec {
    /// The Argo CD project (`default` unless the team has its own).
    pub project: String,
    /// Where the manifests are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<ApplicationSource>,
    /// Where they are applied.
    pub destination: ApplicationDestination,
    /// How and when Argo CD syncs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_policy: Option<SyncPolicy>,
    /// Syncs kept in the history.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision_history_limit: Option<i64>,
}

/// `spec.source`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApplicationSource {
    /// The Git repository's URL.
    #[serde(rename = "repoURL")]
    pub repo_url: String,
    /// The directory in it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The branch, tag or commit followed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_revision: Option<String>,
    /// Options of a plain directory of manifests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directory: Option<DirectorySource>,
}

/// `spec.source.directory`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DirectorySource {
    /// Read subdirectories too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recurse: Option<bool>,
}

/// `spec.destination`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApplicationDestination {
    /// The cluster's API server URL (`https://kubernetes.default.svc` for Argo CD's own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// The default namespace for objects without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// `spec.syncPolicy`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SyncPolicy {
    /// Sync on every change of the repository, without a person pressing "sync".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automated: Option<AutomatedSync>,
    /// Options such as `CreateNamespace=true`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sync_options: Vec<String>,
}

/// `spec.syncPolicy.automated`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AutomatedSync {
    /// Delete what left the repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prune: Option<bool>,
    /// Undo changes made in the cluster by hand.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_heal: Option<bool>,
}
