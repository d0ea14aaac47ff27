//! Policies written in Rego, evaluated in process (regorus) over the plan
//! document's JSON form, so a team reuses its OPA skills and policies.
//!
//! A Rego policy is one file. Its package names it (`package acme.gpu` is
//! the policy `acme.gpu`), and its `deny` rule is a set of violations, each
//! an object `{"urn", "property", "message", "fix"}` (only `message` is
//! required) or a plain message string:
//!
//! ```rego
//! package acme.gpu_on_demand
//!
//! deny contains v if {
//!     input.stack != "prod"
//!     some r in input.resources
//!     r.type == "aws:eks:NodeGroup"
//!     r.new.capacity_type == "ON_DEMAND"
//!     v := {"urn": r.urn, "property": "capacity_type", "message": "on-demand GPU nodes", "fix": "use spot"}
//! }
//! ```

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::policy::{Finding, Level};

/// A Rego policy as a stack's config names it: `[[policy.rego]]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegoSource {
    /// The `.rego` file, relative to the stack's config file.
    pub file: PathBuf,
    /// Its level (default: mandatory).
    #[serde(default = "mandatory")]
    pub level: Level,
}

fn mandatory() -> Level {
    Level::Mandatory
}

/// A Rego file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum RegoError {
    /// The file cannot be read.
    #[error("cannot read the Rego policy {file}: {message}")]
    Read {
        /// The file.
        file: PathBuf,
        /// Why.
        message: String,
    },
    /// The file does not parse.
    #[error("the Rego policy {file} does not parse: {message}")]
    Parse {
        /// The file.
        file: PathBuf,
        /// The parser's message, with the line.
        message: String,
    },
    /// Evaluating it failed.
    #[error("the Rego policy {file} failed to evaluate: {message}")]
    Eval {
        /// The file.
        file: PathBuf,
        /// Why.
        message: String,
    },
    /// Its `deny` holds something that is no violation.
    #[error(
        "the Rego policy {file}: `deny` holds {found}; each violation is a string, or an object with `message` (and \
         `urn`, `property`, `fix`)"
    )]
    Shape {
        /// The file.
        file: PathBuf,
        /// What was found.
        found: String,
    },
}

/// A loaded Rego policy.
#[derive(Debug, Clone)]
pub struct RegoPolicy {
    /// Its ID: the package (`acme.gpu_on_demand`).
    pub id: String,
    /// Its level.
    pub level: Level,
    file: PathBuf,
    source: String,
}

/// One violation a Rego policy reports: the resource's URN (empty for the stack) and the finding.
pub type RegoViolation = (String, Finding);

impl RegoPolicy {
    /// Reads and parses `source.file` (relative to `base`).
    pub fn load(source: &RegoSource, base: &Path) -> Result<Self, RegoError> {
        let file = base.join(&source.file);
        let text = std::fs::read_to_string(&file)
            .map_err(|e| RegoError::Read { file: file.clone(), message: e.to_string() })?;
        let package = engine(&file, &text)?.1;
        Ok(Self { id: package, level: source.level, file, source: text })
    }

    /// Evaluates `deny` over the plan document's JSON form.
    pub fn evaluate(&self, input: &serde_json::Value) -> Result<Vec<RegoViolation>, RegoError> {
        let (mut engine, _) = engine(&self.file, &self.source)?;
        let eval = |message: String| RegoError::Eval { file: self.file.clone(), message };
        engine.set_input_json(&input.to_string()).map_err(|e| eval(e.to_string()))?;
        let denied = engine.eval_rule(format!("data.{}.deny", self.id)).map_err(|e| eval(e.to_string()))?;
        let denied = serde_json::to_value(&denied).map_err(|e| eval(e.to_string()))?;
        let items = match denied {
            serde_json::Value::Array(items) => items,
            serde_json::Value::Null => Vec::new(),
            serde_json::Value::String(s) if s == "<undefined>" => Vec::new(),
            other => return Err(RegoError::Shape { file: self.file.clone(), found: other.to_string() }),
        };
        items
            .into_iter()
            .map(|item| {
                let text = |key: &str| item.get(key).and_then(|v| v.as_str()).unwrap_or_default().to_owned();
                match &item {
                    serde_json::Value::String(message) => Ok((String::new(), Finding::new("", message.clone(), ""))),
                    serde_json::Value::Object(o) if o.get("message").is_some_and(serde_json::Value::is_string) => {
                        Ok((text("urn"), Finding::new(text("property"), text("message"), text("fix"))))
                    }
                    other => Err(RegoError::Shape { file: self.file.clone(), found: other.to_string() }),
                }
            })
            .collect()
    }
}

/// A fresh engine holding the policy, and its package.
fn engine(file: &Path, text: &str) -> Result<(regorus::Engine, String), RegoError> {
    let mut engine = regorus::Engine::new();
    let package = engine
        .add_policy(file.display().to_string(), text.to_owned())
        .map_err(|e| RegoError::Parse { file: file.to_owned(), message: e.to_string() })?;
    Ok((engine, package.trim_start_matches("data.").to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(text: &str) -> (tempfile::TempDir, Result<RegoPolicy, RegoError>) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("p.rego"), text).unwrap();
        let source = RegoSource { file: "p.rego".into(), level: Level::Mandatory };
        let loaded = RegoPolicy::load(&source, dir.path());
        (dir, loaded)
    }

    #[test]
    fn deny_objects_and_strings_become_findings() {
        let (_dir, p) = policy(
            "package acme.buckets\n\ndeny contains v if {\n  some r in input.resources\n  r.type == \"aws:s3:Bucket\"\n  \
             not r.new.versioning\n  v := {\"urn\": r.urn, \"property\": \"versioning\", \"message\": \"not versioned\", \
             \"fix\": \"turn it on\"}\n}\n\ndeny contains \"always\" if input.stack == \"dev\"\n",
        );
        let p = p.unwrap();
        assert_eq!(p.id, "acme.buckets");
        let input = serde_json::json!({"stack": "dev", "resources": [
            {"urn": "u1", "type": "aws:s3:Bucket", "new": {"versioning": false}},
            {"urn": "u2", "type": "aws:s3:Bucket", "new": {"versioning": true}},
        ]});
        let mut found = p.evaluate(&input).unwrap();
        found.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(found[0], (String::new(), Finding::new("", "always", "")));
        assert_eq!(found[1], ("u1".to_owned(), Finding::new("versioning", "not versioned", "turn it on")));
        assert_eq!(found.len(), 2);
        assert!(p.evaluate(&serde_json::json!({"stack": "prod", "resources": []})).unwrap().is_empty());
    }

    #[test]
    fn a_broken_policy_is_refused_naming_its_file() {
        let (_dir, p) = policy("package acme.x\n\ndeny contains if {\n");
        let e = p.unwrap_err().to_string();
        assert!(e.contains("p.rego does not parse"), "{e}");
        let (_dir, p) = policy("package acme.x\n\ndeny contains 3 if true\n");
        let e = p.unwrap().evaluate(&serde_json::json!({})).unwrap_err().to_string();
        assert!(e.contains("`deny` holds 3"), "{e}");
    }
}
