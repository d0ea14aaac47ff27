//! One object ready for a Git repository: identity, file name, canonical YAML.

use k8s_openapi::{ClusterResourceScope, Metadata, NamespaceResourceScope, Resource};
use serde::{Deserialize, Serialize, Serializer};

use crate::apimachinery::pkg::apis::meta::v1::ObjectMeta;

/// Whether a k8s-openapi scope is namespaced.
pub trait ScopeInfo {
    /// True for namespaced kinds.
    const NAMESPACED: bool;
}
impl ScopeInfo for NamespaceResourceScope {
    const NAMESPACED: bool = true;
}
impl ScopeInfo for ClusterResourceScope {
    const NAMESPACED: bool = false;
}

/// A typed Kubernetes object: every k8s-openapi top-level kind and every custom resource of
/// this crate.
pub trait Object: Serialize {
    /// `apiVersion`, such as `apps/v1`.
    fn api_version(&self) -> &'static str;
    /// `kind`, such as `Deployment`.
    fn kind(&self) -> &'static str;
    /// The object's metadata.
    fn meta(&self) -> &ObjectMeta;
    /// Whether the kind lives in a namespace.
    fn namespaced(&self) -> bool;
}

impl<K> Object for K
where
    K: Resource + Metadata<Ty = ObjectMeta> + Serialize,
    K::Scope: ScopeInfo,
{
    fn api_version(&self) -> &'static str {
        K::API_VERSION
    }
    fn kind(&self) -> &'static str {
        K::KIND
    }
    fn meta(&self) -> &ObjectMeta {
        self.metadata()
    }
    fn namespaced(&self) -> bool {
        <K::Scope as ScopeInfo>::NAMESPACED
    }
}

/// Why an object cannot become a manifest. Each names the object and the field to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    /// `metadata.name` is missing or empty.
    #[error("a {kind} has no name: set metadata.name")]
    MissingName {
        /// The kind.
        kind: String,
    },
    /// `metadata.name` is not a DNS-1123 subdomain.
    #[error(
        "{kind} `{name}`: metadata.name must be lower-case letters, digits, '-' and '.', at most 253 characters, \
         starting and ending with a letter or digit"
    )]
    BadName {
        /// The kind.
        kind: String,
        /// The name given.
        name: String,
    },
    /// A namespaced kind without `metadata.namespace`.
    #[error("{kind} `{name}` lives in a namespace: set metadata.namespace")]
    MissingNamespace {
        /// The kind.
        kind: String,
        /// The object's name.
        name: String,
    },
    /// A cluster-scoped kind with `metadata.namespace`.
    #[error("{kind} `{name}` is cluster-scoped: remove metadata.namespace")]
    UnexpectedNamespace {
        /// The kind.
        kind: String,
        /// The object's name.
        name: String,
    },
    /// Not an object at all (no `apiVersion`, `kind` or `metadata`).
    #[error("not a Kubernetes object: {reason}")]
    NotAnObject {
        /// What is missing.
        reason: String,
    },
}

/// One Kubernetes object with its identity, ready to be written as one file.
///
/// The file name is deterministic (`<namespace>/<kind>-<name>.yaml`, `_cluster/…` for
/// cluster-scoped kinds) and the YAML canonical ([`canonical_yaml`]), so rendering the same
/// object twice gives the same bytes and a Git diff shows only real changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    api_version: String,
    kind: String,
    name: String,
    namespace: Option<String>,
    object: serde_json::Value,
}

fn dns_subdomain(name: &str) -> bool {
    let ok_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.';
    let alnum = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    !name.is_empty()
        && name.len() <= 253
        && name.chars().all(ok_char)
        && alnum(name.chars().next())
        && alnum(name.chars().last())
}

impl Manifest {
    /// A typed object as a manifest; refuses a missing or malformed name and a namespace that
    /// does not fit the kind's scope.
    pub fn of<K: Object>(object: &K) -> Result<Self, ManifestError> {
        let json = serde_json::to_value(object).map_err(|e| ManifestError::NotAnObject { reason: e.to_string() })?;
        Self::build(
            object.api_version().to_owned(),
            object.kind().to_owned(),
            object.meta().name.clone(),
            object.meta().namespace.clone(),
            Some(object.namespaced()),
            json,
        )
    }

    /// An object given as JSON (as a program's declaration carries it). The scope is checked
    /// when the kind is one of [`crate::kinds`]; an unknown kind is taken as written.
    pub fn from_json(object: serde_json::Value) -> Result<Self, ManifestError> {
        let text = |key: &str| object.get(key).and_then(serde_json::Value::as_str).map(str::to_owned);
        let missing = |what: &str| ManifestError::NotAnObject { reason: format!("`{what}` is missing") };
        let api_version = text("apiVersion").ok_or_else(|| missing("apiVersion"))?;
        let kind = text("kind").ok_or_else(|| missing("kind"))?;
        let meta = object.get("metadata").ok_or_else(|| missing("metadata"))?;
        let field = |key: &str| meta.get(key).and_then(serde_json::Value::as_str).map(str::to_owned);
        let (name, namespace) = (field("name"), field("namespace"));
        let namespaced = crate::kind_info(&api_version, &kind).map(|k| k.namespaced);
        Self::build(api_version, kind, name, namespace, namespaced, object)
    }

    fn build(
        api_version: String,
        kind: String,
        name: Option<String>,
        namespace: Option<String>,
        namespaced: Option<bool>,
        object: serde_json::Value,
    ) -> Result<Self, ManifestError> {
        let name = name.filter(|n| !n.is_empty()).ok_or_else(|| ManifestError::MissingName { kind: kind.clone() })?;
        if !dns_subdomain(&name) {
            return Err(ManifestError::BadName { kind, name });
        }
        match (namespaced, &namespace) {
            (Some(true), None) => return Err(ManifestError::MissingNamespace { kind, name }),
            (Some(false), Some(_)) => return Err(ManifestError::UnexpectedNamespace { kind, name }),
            _ => {}
        }
        if let Some(ns) = &namespace
            && !dns_subdomain(ns)
        {
            return Err(ManifestError::BadName { kind: "Namespace".into(), name: ns.clone() });
        }
        Ok(Self { api_version, kind, name, namespace, object })
    }

    /// `apiVersion`.
    pub fn api_version(&self) -> &str {
        &self.api_version
    }
    /// `kind`.
    pub fn kind(&self) -> &str {
        &self.kind
    }
    /// `metadata.name`.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// `metadata.namespace`, absent for cluster-scoped kinds.
    pub fn namespace(&self) -> Option<&str> {
        self.namespace.as_deref()
    }
    /// The whole object as JSON.
    pub fn object(&self) -> &serde_json::Value {
        &self.object
    }

    /// `Kind namespace/name`, how messages name the object.
    pub fn id(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{} {ns}/{}", self.kind, self.name),
            None => format!("{} {}", self.kind, self.name),
        }
    }

    /// The file this object is written to, relative to the stack's directory:
    /// `<namespace>/<kind>-<name>.yaml`, or `_cluster/<kind>-<name>.yaml`.
    pub fn file_name(&self) -> String {
        let dir = self.namespace.as_deref().unwrap_or("_cluster");
        format!("{dir}/{}-{}.yaml", self.kind.to_ascii_lowercase(), self.name)
    }

    /// The canonical YAML of the object.
    pub fn to_yaml(&self) -> String {
        canonical_yaml(&self.object)
    }
}

/// Keys sorted at every level whatever order the map kept (serde_json's `preserve_order`
/// may be on elsewhere in a build).
struct Sorted<'a>(&'a serde_json::Value);

impl Serialize for Sorted<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        match self.0 {
            serde_json::Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                let mut m = s.serialize_map(Some(keys.len()))?;
                for k in keys {
                    m.serialize_entry(k, &Sorted(&map[k]))?;
                }
                m.end()
            }
            serde_json::Value::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(&Sorted(item))?;
                }
                seq.end()
            }
            other => other.serialize(s),
        }
    }
}

/// The canonical YAML of a JSON value: keys sorted at every level, block style, strings quoted
/// only where YAML would read them as something else, multi-line strings as literal blocks, and
/// long strings (PromQL, URIs) on one line, never folded, so a diff shows the line that changed.
///
/// ```
/// let v = serde_json::json!({"kind": "ConfigMap", "apiVersion": "v1", "data": {"on": "yes"}});
/// assert_eq!(cairn_k8s::canonical_yaml(&v), "apiVersion: v1\ndata:\n  \"on\": \"yes\"\nkind: ConfigMap\n");
/// ```
pub fn canonical_yaml(value: &serde_json::Value) -> String {
    // A JSON value always has a YAML form; failure would be a bug in the serializer.
    let mut options = serde_saphyr::SerializerOptions::default();
    options.folded_wrap_chars = usize::MAX / 2;
    serde_saphyr::to_string_with_options(&Sorted(value), options).expect("a JSON value renders as YAML")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::core::v1::Namespace;

    #[test]
    fn names_and_scopes_are_checked() {
        let ns = |name: &str, namespace: Option<&str>| Namespace {
            metadata: ObjectMeta {
                name: Some(name.into()),
                namespace: namespace.map(Into::into),
                ..Default::default()
            },
            ..Default::default()
        };
        assert_eq!(Manifest::of(&ns("inference", None)).unwrap().file_name(), "_cluster/namespace-inference.yaml");
        assert!(matches!(Manifest::of(&ns("Inference", None)), Err(ManifestError::BadName { .. })));
        assert!(matches!(Manifest::of(&ns("", None)), Err(ManifestError::MissingName { .. })));
        let err = Manifest::of(&ns("a", Some("b"))).unwrap_err();
        assert_eq!(err.to_string(), "Namespace `a` is cluster-scoped: remove metadata.namespace");
    }

    #[test]
    fn yaml_is_canonical_whatever_the_input_order() {
        let a: serde_json::Value =
            serde_json::from_str(r#"{"b": {"y": 1, "x": [ {"k": 2, "j": 1} ]}, "a": "x"}"#).unwrap();
        assert_eq!(canonical_yaml(&a), "a: x\nb:\n  x:\n  - j: 1\n    k: 2\n  \"y\": 1\n");
    }

    #[test]
    fn long_lines_stay_whole_and_text_blocks_stay_literal() {
        let long = "x ".repeat(100);
        let v = serde_json::json!({"expr": long.trim(), "doc": "a\nb\n"});
        let yaml = canonical_yaml(&v);
        assert_eq!(yaml, format!("doc: |\n  a\n  b\nexpr: {}\n", long.trim()));
        let back: serde_json::Value = serde_saphyr::from_str(&yaml).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn json_objects_need_their_identity() {
        let err = Manifest::from_json(serde_json::json!({"kind": "ConfigMap", "metadata": {}})).unwrap_err();
        assert_eq!(err.to_string(), "not a Kubernetes object: `apiVersion` is missing");
        let err = Manifest::from_json(
            serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}),
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "ConfigMap `x` lives in a namespace: set metadata.namespace");
    }
}
