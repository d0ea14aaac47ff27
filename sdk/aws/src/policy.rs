//! A typed IAM policy document.
//!
//! In a program's arguments (and in Cairn's state) a policy has snake_case
//! fields like every other argument. AWS's own JSON shape (`Version`,
//! `Statement`, `Effect`, ...) is produced by [`PolicyDocument::to_aws_json`]
//! and read back by [`PolicyDocument::from_aws_json`].
//!
//! ```
//! use cairn_aws::policy::{PolicyDocument, Statement};
//! let read_artifacts = PolicyDocument::builder()
//!     .statement(vec![
//!         Statement::builder()
//!             .action(["s3:GetObject", "s3:ListBucket"])
//!             .resource(["arn:aws:s3:::artifacts", "arn:aws:s3:::artifacts/*"])
//!             .build(),
//!     ])
//!     .build();
//! assert!(read_artifacts.to_aws_json().contains(r#""Action":["s3:GetObject","s3:ListBucket"]"#));
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};
use typed_builder::TypedBuilder;

/// The policy language version new policies should use.
pub const POLICY_VERSION: &str = "2012-10-17";

/// The version IAM assumes when a document names none.
const IMPLICIT_POLICY_VERSION: &str = "2008-10-17";

fn default_version() -> String {
    POLICY_VERSION.to_owned()
}

/// Condition blocks: operator (`StringEquals`) → condition key (`aws:SourceAccount`) → values.
pub type Condition = BTreeMap<String, BTreeMap<String, Vec<String>>>;

/// An IAM policy document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TypedBuilder, cairn_core::rust_code::RustLiteral)]
pub struct PolicyDocument {
    /// The policy language version; [`POLICY_VERSION`] unless set.
    #[builder(default = default_version(), setter(into))]
    #[serde(default = "default_version")]
    pub version: String,
    /// The statements, evaluated together.
    #[builder(setter(into))]
    pub statement: Vec<Statement>,
}

/// Whether a statement allows or denies.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, cairn_core::rust_code::RustLiteral,
)]
pub enum Effect {
    /// Grants the actions.
    #[default]
    Allow,
    /// Refuses the actions, overriding any grant.
    Deny,
}

impl Effect {
    /// The AWS spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Effect::Allow => "Allow",
            Effect::Deny => "Deny",
        }
    }
}

/// Who a statement applies to (trust policies; identity policies have none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Principal {
    /// AWS services, e.g. `eks.amazonaws.com`.
    Service(Vec<String>),
    /// AWS accounts, users or roles by ARN, or `*`.
    Aws(Vec<String>),
    /// Identity providers (OIDC, SAML), e.g. an EKS cluster's OIDC provider ARN.
    Federated(Vec<String>),
}

impl Principal {
    /// One AWS service.
    pub fn service(name: impl Into<String>) -> Self {
        Principal::Service(vec![name.into()])
    }

    /// One account, user or role ARN.
    pub fn aws(arn: impl Into<String>) -> Self {
        Principal::Aws(vec![arn.into()])
    }

    /// One identity provider ARN.
    pub fn federated(arn: impl Into<String>) -> Self {
        Principal::Federated(vec![arn.into()])
    }

    /// The key AWS uses inside `Principal`.
    fn aws_key(&self) -> &'static str {
        match self {
            Principal::Service(_) => "Service",
            Principal::Aws(_) => "AWS",
            Principal::Federated(_) => "Federated",
        }
    }

    /// The principals named.
    pub fn values(&self) -> &[String] {
        match self {
            Principal::Service(v) | Principal::Aws(v) | Principal::Federated(v) => v,
        }
    }
}

/// Written as `Principal::service("eks.amazonaws.com")` when it names one
/// principal, as programs write it.
impl cairn_core::rust_code::RustLiteral for Principal {
    fn write_rust(&self, w: &mut cairn_core::rust_code::RustWriter, _: cairn_core::rust_code::Form) {
        use cairn_core::rust_code::Form;
        let (one, many) = match self {
            Principal::Service(_) => ("service", "Service"),
            Principal::Aws(_) => ("aws", "Aws"),
            Principal::Federated(_) => ("federated", "Federated"),
        };
        Self::write_type(w);
        match self.values() {
            [value] => {
                w.push(&format!("::{one}("));
                value.write_rust(w, Form::Into);
            }
            values => {
                w.push(&format!("::{many}("));
                values.to_vec().write_rust(w, Form::Exact);
            }
        }
        w.push(")");
    }

    fn write_type(w: &mut cairn_core::rust_code::RustWriter) {
        w.path(module_path!(), "Principal");
    }
}

/// One statement of a policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TypedBuilder, cairn_core::rust_code::RustLiteral)]
pub struct Statement {
    /// An optional statement ID.
    #[builder(default, setter(into, strip_option))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// Allow (the default) or deny.
    #[builder(default)]
    #[serde(default)]
    pub effect: Effect,
    /// Who the statement applies to; only trust policies have one.
    #[builder(default, setter(strip_option))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<Principal>,
    /// The actions, e.g. `s3:GetObject` or `sts:AssumeRole`.
    #[builder(setter(fn transform(actions: impl IntoIterator<Item = impl Into<String>>) -> Vec<String> {
        crate::strings(actions)
    }))]
    #[serde(default)]
    pub action: Vec<String>,
    /// The resource ARNs the actions apply to (none in trust policies).
    #[builder(default, setter(fn transform(resources: impl IntoIterator<Item = impl Into<String>>) -> Vec<String> {
        crate::strings(resources)
    }))]
    #[serde(default)]
    pub resource: Vec<String>,
    /// Conditions under which the statement applies.
    #[builder(default, setter(strip_option))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<Condition>,
}

impl Statement {
    /// An `Allow` statement for `actions` on `resources`.
    pub fn allow(
        actions: impl IntoIterator<Item = impl Into<String>>,
        resources: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        Statement::builder().action(actions).resource(resources).build()
    }

    /// True if any action is `*` or `service:*`.
    fn has_wildcard_action(&self) -> bool {
        self.action.iter().any(|a| a == "*" || a.split_once(':').is_some_and(|(_, op)| op == "*"))
    }

    fn to_aws(&self) -> Json {
        let mut m = Map::new();
        if let Some(sid) = &self.sid {
            m.insert("Sid".into(), Json::from(sid.as_str()));
        }
        m.insert("Effect".into(), Json::from(self.effect.as_str()));
        if let Some(p) = &self.principal {
            let inner: Map<String, Json> =
                [(p.aws_key().to_owned(), Json::from(p.values().to_vec()))].into_iter().collect();
            m.insert("Principal".into(), Json::Object(inner));
        }
        m.insert("Action".into(), Json::from(self.action.clone()));
        if !self.resource.is_empty() {
            m.insert("Resource".into(), Json::from(self.resource.clone()));
        }
        if let Some(c) = &self.condition {
            m.insert("Condition".into(), serde_json::to_value(c).unwrap_or_default());
        }
        Json::Object(m)
    }

    fn from_aws(i: usize, j: &Json) -> Result<Self, String> {
        let obj = j.as_object().ok_or_else(|| format!("statement {i} is not a JSON object"))?;
        for key in obj.keys() {
            if !matches!(key.as_str(), "Sid" | "Effect" | "Principal" | "Action" | "Resource" | "Condition") {
                return Err(format!("statement {i}: `{key}` is not supported by Cairn's policy model"));
            }
        }
        let effect = match obj.get("Effect").and_then(Json::as_str) {
            Some("Allow") => Effect::Allow,
            Some("Deny") => Effect::Deny,
            other => return Err(format!("statement {i}: `Effect` must be \"Allow\" or \"Deny\", not {other:?}")),
        };
        let list = |key: &str| obj.get(key).map(|v| one_or_many(v, &format!("statement {i}: `{key}`"))).transpose();
        let condition = match obj.get("Condition") {
            None => None,
            Some(c) => Some(condition_from_aws(c).map_err(|e| format!("statement {i}: `Condition` {e}"))?),
        };
        Ok(Statement {
            sid: obj.get("Sid").and_then(Json::as_str).map(str::to_owned),
            effect,
            principal: obj.get("Principal").map(|p| principal_from_aws(p, i)).transpose()?,
            action: list("Action")?.unwrap_or_default(),
            resource: list("Resource")?.unwrap_or_default(),
            condition,
        })
    }
}

/// AWS writes single values as a string and several as a list; condition
/// values may also be booleans or numbers.
fn one_or_many(v: &Json, what: &str) -> Result<Vec<String>, String> {
    let scalar = |v: &Json| match v {
        Json::String(s) => Ok(s.clone()),
        Json::Bool(_) | Json::Number(_) => Ok(v.to_string()),
        other => Err(format!("{what} holds {other}, expected a string")),
    };
    match v {
        Json::Array(items) => items.iter().map(scalar).collect(),
        other => scalar(other).map(|s| vec![s]),
    }
}

fn principal_from_aws(p: &Json, i: usize) -> Result<Principal, String> {
    // `"Principal": "*"` is AWS shorthand for `{"AWS": "*"}`.
    if p.as_str() == Some("*") {
        return Ok(Principal::Aws(vec!["*".to_owned()]));
    }
    let obj = p.as_object().ok_or_else(|| format!("statement {i}: `Principal` must be \"*\" or an object"))?;
    let mut entries = obj.iter();
    let (Some((key, values)), None) = (entries.next(), entries.next()) else {
        return Err(format!(
            "statement {i}: `Principal` must name exactly one kind of principal; split the statement per kind"
        ));
    };
    let values = one_or_many(values, &format!("statement {i}: `Principal.{key}`"))?;
    match key.as_str() {
        "Service" => Ok(Principal::Service(values)),
        "AWS" => Ok(Principal::Aws(values)),
        "Federated" => Ok(Principal::Federated(values)),
        other => Err(format!("statement {i}: principal kind `{other}` is not supported by Cairn's policy model")),
    }
}

fn condition_from_aws(c: &Json) -> Result<Condition, String> {
    let ops = c.as_object().ok_or("must be an object")?;
    let mut condition = Condition::new();
    for (op, keys) in ops {
        let keys = keys.as_object().ok_or_else(|| format!("`{op}` must be an object"))?;
        let mut entry = BTreeMap::new();
        for (key, values) in keys {
            entry.insert(key.clone(), one_or_many(values, &format!("`{op}.{key}`"))?);
        }
        condition.insert(op.clone(), entry);
    }
    Ok(condition)
}

impl PolicyDocument {
    /// A trust policy letting an AWS service assume the role, e.g.
    /// `eks.amazonaws.com` for a cluster role or `ec2.amazonaws.com` for a node role.
    ///
    /// ```
    /// let p = cairn_aws::PolicyDocument::assume_role_for_service("eks.amazonaws.com");
    /// assert_eq!(p.statement[0].action, ["sts:AssumeRole"]);
    /// ```
    pub fn assume_role_for_service(service: impl Into<String>) -> Self {
        PolicyDocument::builder()
            .statement(vec![
                Statement::builder().principal(Principal::service(service)).action(["sts:AssumeRole"]).build(),
            ])
            .build()
    }

    /// The document in AWS's JSON shape, as IAM's APIs take it.
    pub fn to_aws_json(&self) -> String {
        let statements: Vec<Json> = self.statement.iter().map(Statement::to_aws).collect();
        let doc: Map<String, Json> = [
            ("Version".to_owned(), Json::from(self.version.as_str())),
            ("Statement".to_owned(), Json::Array(statements)),
        ]
        .into_iter()
        .collect();
        Json::Object(doc).to_string()
    }

    /// Reads a document in AWS's JSON shape. Single values may be strings or
    /// lists. IAM returns role policies URL-encoded: decode them first.
    pub fn from_aws_json(text: &str) -> Result<PolicyDocument, String> {
        let j: Json = serde_json::from_str(text).map_err(|e| {
            if text.trim_start().starts_with('%') {
                format!("the policy looks URL-encoded (IAM returns it so): decode it first ({e})")
            } else {
                format!("the policy is not valid JSON: {e}")
            }
        })?;
        let obj = j.as_object().ok_or("a policy document must be a JSON object")?;
        for key in obj.keys() {
            if !matches!(key.as_str(), "Version" | "Statement") {
                return Err(format!("`{key}` is not supported by Cairn's policy model"));
            }
        }
        let version = obj.get("Version").and_then(Json::as_str).unwrap_or(IMPLICIT_POLICY_VERSION).to_owned();
        let statement = match obj.get("Statement") {
            Some(Json::Array(items)) => {
                items.iter().enumerate().map(|(i, s)| Statement::from_aws(i, s)).collect::<Result<Vec<_>, String>>()
            }
            // A document may hold a single statement object instead of a list.
            Some(single @ Json::Object(_)) => Statement::from_aws(0, single).map(|s| vec![s]),
            Some(_) => Err("`Statement` must be a list or an object".to_owned()),
            None => Ok(Vec::new()),
        }?;
        Ok(PolicyDocument { version, statement })
    }

    /// The indices of `Allow` statements granting every action (`*`) or
    /// every action of a service (`s3:*`); Check warns about them. `Deny`
    /// statements are left out: denying broadly is the safe direction.
    pub fn wildcard_statements(&self) -> Vec<usize> {
        self.statement
            .iter()
            .enumerate()
            .filter(|(_, s)| s.effect == Effect::Allow && s.has_wildcard_action())
            .map(|(i, _)| i)
            .collect()
    }
}

/// Argument structs that hold policy documents, so Check can warn about their wildcard actions.
pub trait PolicyDocuments {
    /// Each policy document in the arguments, at its property path.
    fn policy_documents(&self) -> Vec<(cairn_core::PropertyPath, &PolicyDocument)>;
}

/// The wildcard-action warnings of every policy document in `args`.
pub fn warnings<T: PolicyDocuments>(args: &T) -> Vec<cairn_core::CheckFailure> {
    wildcard_warnings(args.policy_documents())
}

/// A warning per statement that allows wildcard actions, in each document at its property path.
pub fn wildcard_warnings(documents: Vec<(cairn_core::PropertyPath, &PolicyDocument)>) -> Vec<cairn_core::CheckFailure> {
    let mut warnings = Vec::new();
    for (path, doc) in documents {
        for i in doc.wildcard_statements() {
            let actions = doc.statement[i].action.join(", ");
            warnings.push(cairn_core::CheckFailure {
                property: path.key("statement").index(i),
                reason: format!(
                    "statement {i} of `{path}` allows wildcard actions ({actions}): list only the actions the role needs"
                ),
            });
        }
    }
    warnings
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn trust_and_condition() -> PolicyDocument {
        let condition: Condition = [(
            "StringEquals".to_owned(),
            [("aws:SourceAccount".to_owned(), vec!["123456789012".to_owned()])].into_iter().collect(),
        )]
        .into_iter()
        .collect();
        PolicyDocument::builder()
            .statement(vec![
                Statement::builder()
                    .sid("Trust")
                    .principal(Principal::service("eks.amazonaws.com"))
                    .action(["sts:AssumeRole"])
                    .condition(condition)
                    .build(),
                Statement::builder().effect(Effect::Deny).action(["s3:DeleteBucket"]).resource(["*"]).build(),
            ])
            .build()
    }

    #[test]
    fn aws_json_has_aws_keys_and_lists() {
        let j: Json = serde_json::from_str(&trust_and_condition().to_aws_json()).unwrap();
        assert_eq!(
            j,
            json!({
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "Trust",
                        "Effect": "Allow",
                        "Principal": {"Service": ["eks.amazonaws.com"]},
                        "Action": ["sts:AssumeRole"],
                        "Condition": {"StringEquals": {"aws:SourceAccount": ["123456789012"]}}
                    },
                    {"Effect": "Deny", "Action": ["s3:DeleteBucket"], "Resource": ["*"]}
                ]
            })
        );
    }

    #[test]
    fn aws_json_round_trips() {
        let p = trust_and_condition();
        assert_eq!(PolicyDocument::from_aws_json(&p.to_aws_json()).unwrap(), p);
    }

    #[test]
    fn single_strings_and_single_statement_are_accepted() {
        let text = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"*"},
            "Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*","Condition":{"Bool":{"aws:SecureTransport":true}}}}"#;
        let p = PolicyDocument::from_aws_json(text).unwrap();
        let s = &p.statement[0];
        assert_eq!(s.action, ["s3:GetObject"]);
        assert_eq!(s.resource, ["arn:aws:s3:::b/*"]);
        assert_eq!(s.principal, Some(Principal::Aws(vec!["*".into()])));
        assert_eq!(s.condition.as_ref().unwrap()["Bool"]["aws:SecureTransport"], ["true"]);
        let star = PolicyDocument::from_aws_json(r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*"}]}"#);
        assert_eq!(star.unwrap().version, IMPLICIT_POLICY_VERSION);
    }

    #[test]
    fn url_encoded_input_is_refused_with_a_hint_and_unknown_keys_are_named() {
        let encoded = "%7B%22Version%22%3A%222012-10-17%22%7D";
        let err = PolicyDocument::from_aws_json(encoded).unwrap_err();
        assert!(err.contains("URL-encoded"), "{err}");
        let err =
            PolicyDocument::from_aws_json(r#"{"Statement":[{"Effect":"Allow","NotAction":"s3:*"}]}"#).unwrap_err();
        assert!(err.contains("statement 0") && err.contains("NotAction"), "{err}");
        let err = PolicyDocument::from_aws_json(
            r#"{"Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"AWS":"a","Service":"b"}}]}"#,
        )
        .unwrap_err();
        assert!(err.contains("exactly one kind"), "{err}");
    }

    #[test]
    fn cairn_form_is_snake_case() {
        let v = serde_json::to_value(PolicyDocument::assume_role_for_service("ec2.amazonaws.com")).unwrap();
        assert_eq!(
            v,
            json!({
                "version": "2012-10-17",
                "statement": [{
                    "effect": "Allow",
                    "principal": {"service": ["ec2.amazonaws.com"]},
                    "action": ["sts:AssumeRole"],
                    "resource": []
                }]
            })
        );
        let back: PolicyDocument = serde_json::from_value(v).unwrap();
        assert_eq!(back, PolicyDocument::assume_role_for_service("ec2.amazonaws.com"));
    }

    #[test]
    fn wildcards_are_found_in_allow_statements_only() {
        let p = PolicyDocument::builder()
            .statement(vec![
                Statement::allow(["s3:GetObject"], ["*"]),
                Statement::allow(["s3:*"], ["*"]),
                Statement::allow(["*"], ["*"]),
                Statement::allow(["s3:Get*"], ["*"]),
                Statement::builder().effect(Effect::Deny).action(["*"]).resource(["*"]).build(),
            ])
            .build();
        assert_eq!(p.wildcard_statements(), [1, 2]);
    }
}
