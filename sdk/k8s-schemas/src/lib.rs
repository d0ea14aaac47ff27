//! The published OpenAPI schemas of the custom resources Cairn renders, and a check of an
//! object against them.
//!
//! The schemas are the upstream CRDs' `openAPIV3Schema`s (`schemas/SOURCES.md` gives each
//! repository, tag and commit). The API server prunes fields a CRD does not declare without a
//! word; [`check`] is stricter and refuses them, so a misspelt field fails before it reaches
//! Git.
//!
//! ```
//! let isvc = serde_json::json!({
//!     "apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
//!     "metadata": {"name": "fraud", "namespace": "inference"},
//!     "spec": {"predictor": {"minReplicas": "zero"}}
//! });
//! let errors = cairn_k8s_schemas::check(&isvc).unwrap_err();
//! assert_eq!(errors[0].path, "/spec/predictor/minReplicas");
//! ```

use std::sync::OnceLock;

use serde_json::Value;

/// One CRD schema shipped with Cairn.
pub struct CrdSchema {
    /// `apiVersion` of the served version.
    pub api_version: &'static str,
    /// `kind`.
    pub kind: &'static str,
    /// The upstream project and tag the schema was taken from.
    pub source: &'static str,
    text: &'static str,
    validator: OnceLock<jsonschema::Validator>,
}

macro_rules! schemas {
    ($($api:literal, $kind:literal, $file:literal, $source:literal;)*) => {
        static SCHEMAS: [CrdSchema; [$($kind),*].len()] = [$(CrdSchema {
            api_version: $api,
            kind: $kind,
            source: $source,
            text: include_str!(concat!("../schemas/", $file)),
            validator: OnceLock::new(),
        }),*];
    };
}

schemas! {
    "serving.kserve.io/v1beta1", "InferenceService", "inferenceservice.json", "kserve/kserve v0.20.0";
    "argoproj.io/v1alpha1", "WorkflowTemplate", "workflowtemplate.json", "argoproj/argo-workflows v4.1.2";
    "argoproj.io/v1alpha1", "CronWorkflow", "cronworkflow.json", "argoproj/argo-workflows v4.1.2";
    "monitoring.coreos.com/v1", "PrometheusRule", "prometheusrule.json", "prometheus-operator/prometheus-operator v0.93.0";
    "argoproj.io/v1alpha1", "Application", "application.json", "argoproj/argo-cd v3.5.1";
}

/// Every shipped schema.
pub fn schemas() -> &'static [CrdSchema] {
    &SCHEMAS
}

/// The schema of a kind, if one is shipped.
pub fn schema_for(api_version: &str, kind: &str) -> Option<&'static CrdSchema> {
    SCHEMAS.iter().find(|s| s.api_version == api_version && s.kind == kind)
}

/// One place where an object breaks its kind's schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaError {
    /// A JSON pointer to the field, such as `/spec/predictor/minReplicas`.
    pub path: String,
    /// What the schema requires there.
    pub reason: String,
}

impl std::fmt::Display for SchemaError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let path = if self.path.is_empty() { "/" } else { &self.path };
        write!(f, "{path}: {}", self.reason)
    }
}

/// Errors shown for one object, at most.
const MAX_ERRORS: usize = 8;

impl CrdSchema {
    fn validator(&self) -> &jsonschema::Validator {
        self.validator.get_or_init(|| {
            let mut schema: Value = serde_json::from_str(self.text).expect("shipped schemas are JSON");
            strict(&mut schema);
            // CRD schemas are OpenAPI 3.0 schemas, a dialect of JSON Schema draft 4.
            jsonschema::options()
                .with_draft(jsonschema::Draft::Draft4)
                .build(&schema)
                .unwrap_or_else(|e| panic!("the shipped schema of {} does not compile: {e}", self.kind))
        })
    }

    /// The places where `object` breaks this schema.
    pub fn errors(&self, object: &Value) -> Vec<SchemaError> {
        self.validator()
            .iter_errors(object)
            .take(MAX_ERRORS)
            .map(|e| SchemaError { path: e.instance_path().to_string(), reason: e.to_string() })
            .collect()
    }
}

/// Checks an object against its kind's shipped schema. `Ok(true)` when it was checked,
/// `Ok(false)` when no schema is shipped for its kind (built-in kinds are checked by their
/// typed structs in `cairn-k8s`).
pub fn check(object: &Value) -> Result<bool, Vec<SchemaError>> {
    let field = |k: &str| object.get(k).and_then(Value::as_str).unwrap_or_default();
    let Some(schema) = schema_for(field("apiVersion"), field("kind")) else { return Ok(false) };
    let errors = schema.errors(object);
    if errors.is_empty() { Ok(true) } else { Err(errors) }
}

/// Closes every object schema that lists its properties and does not keep unknown fields, so
/// an undeclared field is an error rather than silently pruned.
fn strict(schema: &mut Value) {
    let Value::Object(map) = schema else { return };
    // Kubernetes patterns are Go regexps; the one inline flag upstream uses (`(?i)`, Prometheus
    // Operator's partial_response_strategy) is not ECMA syntax, which draft 4 requires.
    if let Some(Value::String(p)) = map.get_mut("pattern")
        && p.contains("(?i)")
    {
        match go_case_insensitive(p) {
            Some(ecma) => *p = ecma,
            None => drop(map.remove("pattern")),
        }
    }
    let preserves = map.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
    if map.contains_key("properties") && !map.contains_key("additionalProperties") && !preserves {
        map.insert("additionalProperties".into(), Value::Bool(false));
    }
    for key in ["properties", "patternProperties"] {
        if let Some(Value::Object(props)) = map.get_mut(key) {
            props.values_mut().for_each(strict);
        }
    }
    for key in ["items", "additionalProperties", "not"] {
        if let Some(v) = map.get_mut(key) {
            strict(v);
        }
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        if let Some(Value::Array(vs)) = map.get_mut(key) {
            vs.iter_mut().for_each(strict);
        }
    }
}

/// A Go pattern with `(?i)` as an ECMA one: each ASCII letter after the flag matches both
/// cases. `None` when the rest has classes or escapes this simple rewrite would break.
fn go_case_insensitive(pattern: &str) -> Option<String> {
    let (head, tail) = pattern.split_once("(?i)")?;
    if tail.contains(['[', '\\', '{']) {
        return None;
    }
    let mut out = head.to_owned();
    for c in tail.chars() {
        if c.is_ascii_alphabetic() {
            out.push_str(&format!("[{}{}]", c.to_ascii_lowercase(), c.to_ascii_uppercase()));
        } else {
            out.push(c);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_schema_compiles() {
        for s in schemas() {
            let _ = s.validator();
        }
    }

    #[test]
    fn undeclared_fields_are_refused_and_open_maps_kept() {
        let rule = |extra: Value| {
            json!({
                "apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule",
                "metadata": {"name": "gpu", "namespace": "monitoring", "labels": {"team": "ml"}},
                "spec": {"groups": [{"name": "gpu", "rules": [extra]}]}
            })
        };
        assert_eq!(check(&rule(json!({"alert": "Idle", "expr": "up == 0", "labels": {"severity": "page"}}))), Ok(true));
        let errors = check(&rule(json!({"alert": "Idle", "expr": "up == 0", "fro": "5m"}))).unwrap_err();
        assert_eq!(errors[0].path, "/spec/groups/0/rules/0");
        assert!(errors[0].reason.contains("fro"), "{}", errors[0]);
        let errors = check(&rule(json!({"alert": "Idle"}))).unwrap_err();
        assert!(errors[0].reason.contains("expr"), "{}", errors[0]);
    }

    #[test]
    fn go_flags_become_ecma() {
        assert_eq!(go_case_insensitive("^(?i)(ab|w)?$").as_deref(), Some("^([aA][bB]|[wW])?$"));
        assert_eq!(go_case_insensitive("^(?i)[a-z]+$"), None);
    }

    #[test]
    fn kinds_without_a_schema_are_not_checked() {
        assert_eq!(check(&json!({"apiVersion": "v1", "kind": "ConfigMap"})), Ok(false));
    }
}
