//! Cairn's `gitops` resource type: one Kubernetes object written as one file into a Git
//! repository that Argo CD (or Flux) reconciles, by the `cairn-provider-gitops` plugin.
//!
//! | Type token              | Arguments        | Handle       |
//! |-------------------------|------------------|--------------|
//! | `gitops:index:Manifest` | [`ManifestArgs`] | [`Manifest`] |
//!
//! The cloud base changes through Cairn's engine; the objects a cluster runs change through
//! Git: the provider writes each manifest as canonical YAML under the stack's directory of the
//! repository, and each `up` that changes files makes one commit. Preview compares the files on
//! disk too, so a hand edit shows as a change to undo (docs/gitops.md).
//!
//! ```
//! use cairn_gitops::ManifestArgs;
//! use cairn_k8s::api::core::v1::ServiceAccount;
//! use cairn_k8s::apimachinery::pkg::apis::meta::v1::ObjectMeta;
//!
//! let sa = ServiceAccount {
//!     metadata: ObjectMeta { name: Some("fraud".into()), namespace: Some("inference".into()), ..Default::default() },
//!     ..Default::default()
//! };
//! let args = ManifestArgs::of(&sa).unwrap();
//! assert_eq!(args.file, "inference/serviceaccount-fraud.yaml");
//! assert!(args.validate().is_empty());
//! ```

use cairn_core::schema::TypedArgs;
use cairn_core::{CheckFailure, Input, Output, PropertyPath};
use cairn_k8s::{ManifestError, Object};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use typed_builder::TypedBuilder;

/// Where a stack's manifests go in the repository unless `[provider.gitops] path` says
/// otherwise; `{stack}` stands for the stack's name.
pub const DEFAULT_PATH: &str = "clusters/{stack}";

/// A stack's directory from a path template such as [`DEFAULT_PATH`].
///
/// ```
/// assert_eq!(cairn_gitops::stack_dir(cairn_gitops::DEFAULT_PATH, "prod"), "clusters/prod");
/// ```
pub fn stack_dir(template: &str, stack: &str) -> String {
    template.replace("{stack}", stack)
}

/// Whether `path` names a place inside the repository: relative, its parts plain names (no empty
/// part, no `.` or `..`). The provider's `path` setting, each manifest's `file` and an Argo CD
/// application's `path` are all checked by it.
///
/// ```
/// assert!(cairn_gitops::inside_repo("clusters/{stack}"));
/// assert!(!cairn_gitops::inside_repo("../up") && !cairn_gitops::inside_repo("/abs") && !cairn_gitops::inside_repo("a//b"));
/// ```
pub fn inside_repo(path: &str) -> bool {
    !path.starts_with('/') && path.split('/').all(|part| !part.is_empty() && part != "." && part != "..")
}

/// The first line of every file the provider writes: how a person (and the provider, when it
/// commits) tells Cairn's files from others in the same directory.
pub const HEADER: &str = "# Written by Cairn: change the program that declares it, not this file.";

/// The arguments of a manifest: the object, and the file it is written to.
#[derive(Debug, Clone, Serialize, Deserialize, TypedBuilder, TypedArgs)]
#[args(
    doc = "A Kubernetes object written as canonical YAML to one file under the stack's directory of a Git \
           repository (provider ID: the file's path in the repository). Changing the object rewrites the file; \
           changing the file moves it. Each `up` that changes files makes one commit; preview compares the file \
           on disk too, so a hand edit shows as a change.",
    outputs = ManifestOutputs
)]
pub struct ManifestArgs {
    /// The object as the Kubernetes API reads it (`apiVersion`, `kind`, `metadata`, `spec`). Built-in
    /// kinds and the custom resources of `cairn-k8s` are read through their types at Check, and custom
    /// resources checked against their published schemas.
    #[builder(setter(into))]
    pub object: Input<serde_json::Value>,
    /// The file, relative to the stack's directory in the repository: `<namespace>/<kind>-<name>.yaml`
    /// when made with `ManifestArgs::of`. Changing it moves the file.
    #[builder(setter(into))]
    #[args(replace)]
    pub file: String,
}

cairn_core::resource! {
    /// A manifest in the GitOps repository, as declared: its URN and typed outputs.
    Manifest, token = "gitops:index:Manifest", args = ManifestArgs, compare_live = true, outputs = ManifestOutputs {
        /// The file's path in the repository (the provider ID).
        path: String,
        /// The Git blob ID of the bytes written (`git hash-object`), how a hand edit is noticed.
        blob: String,
    }
}

/// The schema of every `gitops` type (for the reference page, docs/reference/gitops.md).
pub const SCHEMAS: &[&cairn_core::schema::ResourceSchema] = &[ManifestArgs::SCHEMA];

fn failure(property: &str, reason: String) -> CheckFailure {
    CheckFailure { property: PropertyPath::parse(property), reason }
}

impl ManifestArgs {
    /// The manifest of a typed object known when the program runs, in its deterministic file.
    pub fn of<K: Object>(object: &K) -> Result<Self, ManifestError> {
        let manifest = cairn_k8s::Manifest::of(object)?;
        Ok(Self { file: manifest.file_name(), object: Input::from(manifest.object().clone()) })
    }

    /// The manifest of an object made from other resources' outputs (an IRSA role's ARN in a
    /// ServiceAccount's annotation). `identity` is the same object as far as it is known now:
    /// its kind, name and namespace name the file.
    pub fn of_output<K>(identity: &K, object: Output<K>) -> Result<Self, ManifestError>
    where
        K: Object + DeserializeOwned + 'static,
    {
        let file = cairn_k8s::Manifest::of(identity)?.file_name();
        let json = object.map(|o: K| serde_json::to_value(&o).expect("a typed object is JSON"));
        Ok(Self { file, object: json.into() })
    }

    /// Argument checks the provider runs at Check: the file is a relative `.yaml` path inside
    /// the stack's directory; a known object of a built-in kind is read through its type (the
    /// field named). Custom resources are checked against their CRD's published schema by the
    /// plugin instead: Cairn's structs type the fields its components write, and a CRD allows more.
    pub fn validate(&self) -> Vec<CheckFailure> {
        let mut out = Vec::new();
        let f = &self.file;
        if !inside_repo(f) || !f.ends_with(".yaml") || f.contains('\\') {
            out.push(failure(
                "file",
                format!(
                    "`{f}` is not a file inside the stack's directory: use a relative path of plain names ending \
                     in .yaml, such as `inference/serviceaccount-fraud.yaml`"
                ),
            ));
        }
        if let Some(object) = self.object.value() {
            let text = |k: &str| object.get(k).and_then(serde_json::Value::as_str).unwrap_or_default();
            let built_in = cairn_k8s::kind_info(text("apiVersion"), text("kind")).filter(|k| !k.custom);
            if let Err(e) = cairn_k8s::Manifest::from_json(object.clone()) {
                out.push(failure("object", e.to_string()));
            } else if let Some(Err(e)) = built_in.map(|k| k.check(object)) {
                let path = if e.path == "." { "object".to_owned() } else { format!("object.{}", e.path) };
                out.push(failure(&path, e.reason));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn args(object: serde_json::Value, file: &str) -> ManifestArgs {
        ManifestArgs::builder().object(object).file(file).build()
    }

    #[test]
    fn files_stay_inside_the_stack_directory() {
        let ok = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "b"}});
        assert!(args(ok.clone(), "b/configmap-a.yaml").validate().is_empty());
        for bad in ["../x.yaml", "/etc/x.yaml", "a//b.yaml", "a/./b.yaml", "x.yml"] {
            let failures = args(ok.clone(), bad).validate();
            assert_eq!(failures.len(), 1, "{bad}");
            assert_eq!(failures[0].property.to_string(), "file");
        }
    }

    #[test]
    fn objects_are_read_through_their_kind() {
        let typo = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "a", "namespace": "b"},
                          "spec": {"paralelism": 2, "template": {}}});
        let failures = args(typo, "b/job-a.yaml").validate();
        assert_eq!(failures[0].property.to_string(), "object.spec.paralelism");
        // A field of the CRD that Cairn's struct does not type is left to the plugin's schema check.
        let logged = json!({"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
                            "metadata": {"name": "a", "namespace": "b"},
                            "spec": {"predictor": {"logger": {"mode": "all"}}}});
        assert!(args(logged, "b/inferenceservice-a.yaml").validate().is_empty());
        let nameless = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"namespace": "b"}});
        let failures = args(nameless, "b/x.yaml").validate();
        assert_eq!(failures[0].reason, "a ConfigMap has no name: set metadata.name");
    }
}
