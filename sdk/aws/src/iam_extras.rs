//! The IAM types beside roles: `aws:iam:Policy` (a managed policy),
//! `aws:iam:RolePolicy` (one inline policy of a role),
//! `aws:iam:RolePolicyAttachment` (a managed policy attached to a role),
//! `aws:iam:InstanceProfile` and `aws:iam:OpenIdConnectProvider`.

use std::collections::BTreeMap;

use cairn_core::schema::TypedArgs;
use cairn_core::{CheckFailure, Input, PropertyPath};
use serde::{Deserialize, Serialize};
use typed_builder::TypedBuilder;

use crate::policy::PolicyDocument;
use crate::{check_name, failure};

/// The longest managed policy name IAM accepts.
const MAX_POLICY_NAME: usize = 128;
/// The longest inline policy name IAM accepts.
const MAX_ROLE_POLICY_NAME: usize = 128;
/// The longest instance profile name IAM accepts.
const MAX_INSTANCE_PROFILE_NAME: usize = 128;
/// The longest IAM path.
const MAX_PATH: usize = 512;
/// The most thumbprints an OpenID Connect provider may have.
const MAX_THUMBPRINTS: usize = 5;

/// The separator in the provider ID of a role policy attachment,
/// `ROLE/POLICY_ARN`: role names cannot contain `/`, so the first `/` ends
/// the role name (the ARN after it may hold more).
pub const ATTACHMENT_ID_SEPARATOR: char = '/';

/// The separator in the provider ID of an inline role policy, `ROLE:NAME`:
/// neither role names nor policy names can contain `:`.
pub const ROLE_POLICY_ID_SEPARATOR: char = ':';

fn default_path() -> String {
    "/".to_owned()
}

/// IAM paths: `/`, or `/` + segments + `/`, at most 512 characters.
fn check_path(path: &str, property: &str, failures: &mut Vec<CheckFailure>) {
    if !path.starts_with('/') || !path.ends_with('/') || path.len() > MAX_PATH || path.contains("//") {
        failures.push(failure(
            property,
            format!("`{path}` is not an IAM path: write `/` or `/segment/.../`, at most {MAX_PATH} characters"),
        ));
    }
}

/// Statements of an identity policy (managed or inline): at least one, none with a principal.
fn check_identity_policy(doc: &PolicyDocument, at: &PropertyPath, failures: &mut Vec<CheckFailure>) {
    if doc.statement.is_empty() {
        failures.push(CheckFailure {
            property: at.key("statement"),
            reason: format!("`{at}` has no statements: add one, e.g. Statement::allow([\"s3:GetObject\"], [ARN])"),
        });
    }
    for (i, s) in doc.statement.iter().enumerate() {
        if s.principal.is_some() {
            failures.push(CheckFailure {
                property: at.key("statement").index(i).key("principal"),
                reason: format!(
                    "statement {i} of `{at}` has a principal, which only trust and resource policies may have: remove it"
                ),
            });
        }
        if s.action.is_empty() {
            failures.push(CheckFailure {
                property: at.key("statement").index(i).key("action"),
                reason: format!("statement {i} of `{at}` has no actions: list at least one, e.g. \"s3:GetObject\""),
            });
        }
    }
}

// ---------------------------------------------------------------------------
// aws:iam:Policy

/// The arguments of an IAM managed policy.
///
/// ```
/// use cairn_aws::iam_extras::PolicyArgs;
/// use cairn_aws::policy::{PolicyDocument, Statement};
/// let read = PolicyArgs::builder()
///     .policy(PolicyDocument::builder().statement(vec![Statement::allow(["s3:GetObject"], ["arn:aws:s3:::b/*"])]).build())
///     .description("read the artifacts")
///     .build();
/// assert_eq!(read.path, "/");
/// assert!(read.validate().is_empty());
/// ```
#[derive(Debug, Clone, Serialize, Deserialize, TypedBuilder, TypedArgs)]
#[args(
    doc = "An IAM managed policy. A new document becomes a new default version (the oldest other version is \
          deleted when IAM's limit of five is reached); name, path and description are fixed at creation.",
    outputs = PolicyOutputs,
    auto_name(property = "name", max_len = MAX_POLICY_NAME),
    warnings = crate::policy::warnings
)]
pub struct PolicyArgs {
    /// The policy name; generated from the logical name when absent. Changing it replaces the policy.
    #[builder(default, setter(into, strip_option))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[args(replace)]
    pub name: Option<Input<String>>,
    /// The IAM path (`/` unless set). Changing it replaces the policy.
    #[builder(default = default_path(), setter(into))]
    #[serde(default = "default_path")]
    #[args(replace)]
    pub path: String,
    /// A description. IAM cannot change it, so changing it replaces the policy.
    #[builder(default, setter(into, strip_option))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[args(replace)]
    pub description: Option<String>,
    /// The policy document. A change becomes a new default version.
    pub policy: PolicyDocument,
    /// Tags.
    #[builder(default, setter(fn transform<K: Into<String>, V: Into<String>>(tags: impl IntoIterator<Item = (K, V)>) -> BTreeMap<String, String> {
        crate::string_map(tags)
    }))]
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

cairn_core::resource! {
    /// An IAM managed policy, as declared: its URN and typed outputs.
    Policy, token = "aws:iam:Policy", args = PolicyArgs, outputs = PolicyOutputs {
        /// The policy ARN (what a role policy attachment's `policy_arn` takes).
        arn: String,
        /// The policy name.
        name: String,
        /// The version ID of the policy's default (current) version, e.g. `v2`.
        default_version_id: String,
    }
}

impl PolicyArgs {
    /// Checks what IAM would refuse later, with the fix in each message.
    pub fn validate(&self) -> Vec<CheckFailure> {
        let mut failures = Vec::new();
        check_name(self.name.as_ref(), "name", MAX_POLICY_NAME, &mut failures);
        check_path(&self.path, "path", &mut failures);
        check_identity_policy(&self.policy, &PropertyPath::root().key("policy"), &mut failures);
        failures
    }
}

// ---------------------------------------------------------------------------
// aws:iam:RolePolicy

/// The arguments of one inline policy of a role (for roles whose inline
/// policies are not declared in [`RoleArgs::inline_policies`](crate::RoleArgs)).
///
/// ```
/// use cairn_aws::iam_extras::RolePolicyArgs;
/// use cairn_aws::policy::{PolicyDocument, Statement};
/// let logs = RolePolicyArgs::builder()
///     .role("ci")
///     .name("write-logs")
///     .policy(PolicyDocument::builder().statement(vec![Statement::allow(["logs:PutLogEvents"], ["*"])]).build())
///     .build();
/// assert!(logs.validate().is_empty());
/// ```
#[derive(Debug, Clone, Serialize, Deserialize, TypedBuilder, TypedArgs)]
#[args(
    doc = "One inline policy of an IAM role (provider ID `ROLE:NAME`). The document is replaced in place; \
          the role and the name are fixed. Do not also declare the same policy in the role's `inline_policies`.",
    outputs = RolePolicyOutputs,
    warnings = crate::policy::warnings
)]
pub struct RolePolicyArgs {
    /// The role's name. Changing it replaces the policy.
    #[builder(setter(into))]
    #[args(replace)]
    pub role: Input<String>,
    /// The inline policy's name. Changing it replaces the policy.
    #[builder(setter(into))]
    #[args(replace)]
    pub name: String,
    /// The policy document, replaced in place. It may come from other
    /// resources' outputs (the ARNs of the buckets it grants access to).
    #[builder(setter(into))]
    pub policy: Input<PolicyDocument>,
}

cairn_core::resource! {
    /// An inline policy of an IAM role, as declared: its URN and typed outputs.
    RolePolicy, token = "aws:iam:RolePolicy", args = RolePolicyArgs, outputs = RolePolicyOutputs {
        /// The role's name.
        role: String,
        /// The inline policy's name.
        name: String,
    }
}

impl RolePolicyArgs {
    /// Checks what IAM would refuse later, with the fix in each message.
    pub fn validate(&self) -> Vec<CheckFailure> {
        let mut failures = Vec::new();
        check_name(Some(&Input::Value(self.name.clone())), "name", MAX_ROLE_POLICY_NAME, &mut failures);
        if self.name.contains(ROLE_POLICY_ID_SEPARATOR) {
            failures.push(failure("name", format!("`{}` contains `:`: IAM policy names cannot; remove it", self.name)));
        }
        // A document made of outputs is checked once they are known.
        if let Some(doc) = self.policy.value() {
            check_identity_policy(doc, &PropertyPath::root().key("policy"), &mut failures);
        }
        failures
    }
}

/// The provider ID of an inline role policy: `ROLE:NAME`.
pub fn role_policy_id(role: &str, name: &str) -> String {
    format!("{role}{ROLE_POLICY_ID_SEPARATOR}{name}")
}

/// Splits a `ROLE:NAME` provider ID.
pub fn parse_role_policy_id(id: &str) -> Option<(&str, &str)> {
    id.split_once(ROLE_POLICY_ID_SEPARATOR).filter(|(role, name)| !role.is_empty() && !name.is_empty())
}

// ---------------------------------------------------------------------------
// aws:iam:RolePolicyAttachment

/// The arguments of a managed policy attached to a role.
///
/// ```
/// use cairn_aws::iam_extras::RolePolicyAttachmentArgs;
/// let a = RolePolicyAttachmentArgs::builder()
///     .role("nodes")
///     .policy_arn("arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy")
///     .build();
/// assert!(a.validate().is_empty());
/// ```
#[derive(Debug, Clone, Serialize, Deserialize, TypedBuilder, TypedArgs)]
#[args(
    doc = "A managed policy attached to an IAM role (provider ID `ROLE/POLICY_ARN`: role names cannot contain `/`, \
          so the first `/` ends the role name). Any change replaces the attachment. Do not also list the policy \
          in the role's `managed_policy_arns`.",
    outputs = RolePolicyAttachmentOutputs
)]
pub struct RolePolicyAttachmentArgs {
    /// The role's name. Changing it replaces the attachment.
    #[builder(setter(into))]
    #[args(replace)]
    pub role: Input<String>,
    /// The managed policy's ARN. Changing it replaces the attachment.
    #[builder(setter(into))]
    #[args(replace)]
    pub policy_arn: Input<String>,
}

cairn_core::resource! {
    /// A managed policy attached to an IAM role, as declared: its URN and typed outputs.
    RolePolicyAttachment, token = "aws:iam:RolePolicyAttachment", args = RolePolicyAttachmentArgs,
    outputs = RolePolicyAttachmentOutputs {
        /// The role's name.
        role: String,
        /// The attached policy's ARN.
        policy_arn: String,
    }
}

impl RolePolicyAttachmentArgs {
    /// Checks what IAM would refuse later, with the fix in each message.
    pub fn validate(&self) -> Vec<CheckFailure> {
        let mut failures = Vec::new();
        if let Some(role) = self.role.value()
            && role.contains(ATTACHMENT_ID_SEPARATOR)
        {
            failures.push(failure("role", format!("`{role}` contains `/`: give the role's name, not its ARN or path")));
        }
        if let Some(arn) = self.policy_arn.value()
            && !(arn.starts_with("arn:") && arn.contains(":policy/"))
        {
            failures.push(failure(
                "policy_arn",
                format!(
                    "`{arn}` is not a managed policy ARN: write arn:aws:iam::ACCOUNT:policy/NAME (or use Policy.arn)"
                ),
            ));
        }
        failures
    }
}

/// The provider ID of an attachment: `ROLE/POLICY_ARN`.
pub fn attachment_id(role: &str, policy_arn: &str) -> String {
    format!("{role}{ATTACHMENT_ID_SEPARATOR}{policy_arn}")
}

/// Splits a `ROLE/POLICY_ARN` provider ID at its first `/`.
pub fn parse_attachment_id(id: &str) -> Option<(&str, &str)> {
    id.split_once(ATTACHMENT_ID_SEPARATOR).filter(|(role, arn)| !role.is_empty() && arn.starts_with("arn:"))
}

// ---------------------------------------------------------------------------
// aws:iam:InstanceProfile

/// The arguments of an IAM instance profile (how EC2 instances take a role).
///
/// ```
/// use cairn_aws::iam_extras::InstanceProfileArgs;
/// let p = InstanceProfileArgs::builder().role("nodes").build();
/// assert!(p.name.is_none() && p.path == "/");
/// ```
#[derive(Debug, Clone, Serialize, Deserialize, TypedBuilder, TypedArgs)]
#[args(
    doc = "An IAM instance profile holding at most one role. The role (removed, then the new one added) and \
          the tags change in place; the name and path are fixed.",
    outputs = InstanceProfileOutputs,
    auto_name(property = "name", max_len = MAX_INSTANCE_PROFILE_NAME)
)]
pub struct InstanceProfileArgs {
    /// The profile name; generated from the logical name when absent. Changing it replaces the profile.
    #[builder(default, setter(into, strip_option))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[args(replace)]
    pub name: Option<Input<String>>,
    /// The IAM path (`/` unless set). Changing it replaces the profile.
    #[builder(default = default_path(), setter(into))]
    #[serde(default = "default_path")]
    #[args(replace)]
    pub path: String,
    /// The role's name (a profile holds at most one), changed in place.
    #[builder(default, setter(into, strip_option))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Input<String>>,
    /// Tags.
    #[builder(default, setter(fn transform<K: Into<String>, V: Into<String>>(tags: impl IntoIterator<Item = (K, V)>) -> BTreeMap<String, String> {
        crate::string_map(tags)
    }))]
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

cairn_core::resource! {
    /// An IAM instance profile, as declared: its URN and typed outputs.
    InstanceProfile, token = "aws:iam:InstanceProfile", args = InstanceProfileArgs, outputs = InstanceProfileOutputs {
        /// The profile name.
        name: String,
        /// The profile ARN (what a launch template's instance profile takes).
        arn: String,
    }
}

impl InstanceProfileArgs {
    /// Checks what IAM would refuse later, with the fix in each message.
    pub fn validate(&self) -> Vec<CheckFailure> {
        let mut failures = Vec::new();
        check_name(self.name.as_ref(), "name", MAX_INSTANCE_PROFILE_NAME, &mut failures);
        check_path(&self.path, "path", &mut failures);
        if let Some(role) = self.role.as_ref().and_then(Input::value)
            && role.starts_with("arn:")
        {
            failures.push(failure("role", format!("`{role}` is an ARN: give the role's name (Role.name)")));
        }
        failures
    }
}

// ---------------------------------------------------------------------------
// aws:iam:OpenIdConnectProvider

/// The arguments of an IAM OpenID Connect identity provider, e.g. an EKS
/// cluster's issuer for IAM roles for service accounts (IRSA).
///
/// ```
/// use cairn_aws::iam_extras::OpenIdConnectProviderArgs;
/// let oidc = OpenIdConnectProviderArgs::builder()
///     .url("https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE")
///     .client_ids(["sts.amazonaws.com"])
///     .thumbprints(["9e99a48a9960b14926bb7f3b02e22da2b0ab7280"])
///     .build();
/// assert!(oidc.validate().is_empty());
/// ```
#[derive(Debug, Clone, Serialize, Deserialize, TypedBuilder, TypedArgs)]
#[args(
    doc = "An IAM OpenID Connect identity provider (for EKS: the cluster's OIDC issuer, for IAM roles for \
          service accounts). Client IDs, thumbprints and tags change in place; the URL is fixed.",
    outputs = OpenIdConnectProviderOutputs
)]
pub struct OpenIdConnectProviderArgs {
    /// The issuer URL, starting with `https://`. Changing it replaces the provider.
    #[builder(setter(into))]
    #[args(replace)]
    pub url: Input<String>,
    /// The audiences (client IDs), e.g. `sts.amazonaws.com`; added and removed in place.
    #[builder(default, setter(fn transform(ids: impl IntoIterator<Item = impl Into<String>>) -> Vec<String> {
        crate::strings(ids)
    }))]
    #[serde(default)]
    pub client_ids: Vec<String>,
    /// SHA-1 thumbprints (40 hex digits) of the issuer's certificates; replaced in place.
    #[builder(default, setter(fn transform(prints: impl IntoIterator<Item = impl Into<String>>) -> Vec<String> {
        crate::strings(prints)
    }))]
    #[serde(default)]
    pub thumbprints: Vec<String>,
    /// Tags.
    #[builder(default, setter(fn transform<K: Into<String>, V: Into<String>>(tags: impl IntoIterator<Item = (K, V)>) -> BTreeMap<String, String> {
        crate::string_map(tags)
    }))]
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

cairn_core::resource! {
    /// An IAM OpenID Connect provider, as declared: its URN and typed outputs.
    OpenIdConnectProvider, token = "aws:iam:OpenIdConnectProvider", args = OpenIdConnectProviderArgs,
    outputs = OpenIdConnectProviderOutputs {
        /// The provider ARN (a trust policy's `Principal::federated` takes it).
        arn: String,
        /// The issuer without `https://`, as IAM condition keys name it (`ISSUER:sub`, `ISSUER:aud`).
        issuer: String,
    }
}

impl OpenIdConnectProviderArgs {
    /// Checks what IAM would refuse later, with the fix in each message.
    pub fn validate(&self) -> Vec<CheckFailure> {
        let mut failures = Vec::new();
        if let Some(url) = self.url.value()
            && (!url.starts_with("https://") || url.len() <= "https://".len())
        {
            failures.push(failure(
                "url",
                format!("`{url}` is not an https URL: write https://HOST/PATH (an EKS cluster's OIDC issuer)"),
            ));
        }
        if self.thumbprints.len() > MAX_THUMBPRINTS {
            failures.push(failure(
                "thumbprints",
                format!(
                    "{} thumbprints given: IAM keeps at most {MAX_THUMBPRINTS}; drop the oldest",
                    self.thumbprints.len()
                ),
            ));
        }
        for (i, t) in self.thumbprints.iter().enumerate() {
            if t.len() != 40 || !t.chars().all(|c| c.is_ascii_hexdigit()) {
                failures.push(failure(
                    &format!("thumbprints[{i}]"),
                    format!("`{t}` is not a SHA-1 thumbprint: write the certificate's 40 hex digits"),
                ));
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        for (i, id) in self.client_ids.iter().enumerate() {
            if id.is_empty() || id.len() > 255 {
                failures.push(failure(
                    &format!("client_ids[{i}]"),
                    "a client ID has 1 to 255 characters: fix or remove it",
                ));
            }
            if !seen.insert(id) {
                failures.push(failure(&format!("client_ids[{i}]"), format!("`{id}` is listed twice: remove one")));
            }
        }
        failures
    }
}

/// The issuer of an OIDC provider URL: without `https://`, as IAM stores it.
pub fn oidc_issuer(url: &str) -> &str {
    url.strip_prefix("https://").unwrap_or(url)
}

impl crate::policy::PolicyDocuments for PolicyArgs {
    /// The policy document with the path of its property (Check scans it for wildcards).
    fn policy_documents(&self) -> Vec<(PropertyPath, &PolicyDocument)> {
        vec![(PropertyPath::root().key("policy"), &self.policy)]
    }
}

impl crate::policy::PolicyDocuments for RolePolicyArgs {
    /// The policy document with the path of its property (Check scans it for wildcards).
    fn policy_documents(&self) -> Vec<(PropertyPath, &PolicyDocument)> {
        self.policy.value().map(|d| (PropertyPath::root().key("policy"), d)).into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{Principal, Statement};
    use cairn_core::Value;
    use cairn_core::schema::ResourceSchema;

    fn doc() -> PolicyDocument {
        PolicyDocument::builder().statement(vec![Statement::allow(["s3:GetObject"], ["arn:aws:s3:::b/*"])]).build()
    }

    fn messages(failures: &[CheckFailure]) -> Vec<String> {
        failures.iter().map(|f| format!("{}: {}", f.property, f.reason)).collect()
    }

    #[test]
    fn every_schema_names_its_serialized_properties() {
        let cases: Vec<(Value, &ResourceSchema)> = vec![
            (
                Value::from_serialize(&PolicyArgs::builder().name("p").description("d").policy(doc()).build()).unwrap(),
                <PolicyArgs as TypedArgs>::SCHEMA,
            ),
            (
                Value::from_serialize(&RolePolicyArgs::builder().role("r").name("n").policy(doc()).build()).unwrap(),
                <RolePolicyArgs as TypedArgs>::SCHEMA,
            ),
            (
                Value::from_serialize(
                    &RolePolicyAttachmentArgs::builder().role("r").policy_arn("arn:aws:iam::1:policy/p").build(),
                )
                .unwrap(),
                <RolePolicyAttachmentArgs as TypedArgs>::SCHEMA,
            ),
            (
                Value::from_serialize(&InstanceProfileArgs::builder().name("i").role("r").build()).unwrap(),
                <InstanceProfileArgs as TypedArgs>::SCHEMA,
            ),
            (
                Value::from_serialize(&OpenIdConnectProviderArgs::builder().url("https://x").client_ids(["a"]).build())
                    .unwrap(),
                <OpenIdConnectProviderArgs as TypedArgs>::SCHEMA,
            ),
        ];
        for (v, schema) in cases {
            let keys: Vec<&String> = v.as_map().unwrap().keys().collect();
            assert!(keys.iter().all(|k| schema.property(k).is_some()), "{}: {keys:?}", schema.token);
            assert!(cairn_provider_sdk::check_structure(schema, &v).is_empty(), "{}", schema.token);
            assert!(schema.properties.iter().all(|p| !p.doc.is_empty()) && !schema.outputs.is_empty());
        }
    }

    #[test]
    fn policy_defaults_and_round_trip() {
        let args = PolicyArgs::builder().policy(doc()).build();
        let v = Value::from_serialize(&args).unwrap();
        let j = v.to_json();
        assert_eq!(j["path"], serde_json::json!("/"));
        assert_eq!(j["tags"], serde_json::json!({}));
        assert!(j.get("name").is_none() && j.get("description").is_none());
        let back: PolicyArgs = v.deserialize_into().unwrap();
        assert_eq!(Value::from_serialize(&back).unwrap(), v);
        assert_eq!(
            <PolicyArgs as TypedArgs>::SCHEMA.outputs.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
            ["arn", "name", "default_version_id"]
        );
    }

    #[test]
    fn policy_validation_names_the_property_and_the_fix() {
        let mut bad = doc();
        bad.statement[0].principal = Some(Principal::aws("*"));
        bad.statement.push(Statement::builder().action(Vec::<String>::new()).build());
        let args = PolicyArgs::builder().path("nope").policy(bad).build();
        let text = messages(&args.validate());
        assert_eq!(text.len(), 3, "{text:?}");
        assert!(text[0].starts_with("path: `nope` is not an IAM path"), "{text:?}");
        assert!(
            text[1].starts_with("policy.statement[0].principal: statement 0 of `policy` has a principal"),
            "{text:?}"
        );
        assert!(text[2].starts_with("policy.statement[1].action: statement 1 of `policy` has no actions"), "{text:?}");
        let empty = PolicyArgs::builder().policy(PolicyDocument::builder().statement(vec![]).build()).build();
        assert!(messages(&empty.validate())[0].starts_with("policy.statement: `policy` has no statements"));
    }

    #[test]
    fn ids_split_where_names_cannot_hold_the_separator() {
        let arn = "arn:aws:iam::123456789012:policy/team/read-only";
        let id = attachment_id("nodes", arn);
        assert_eq!(id, "nodes/arn:aws:iam::123456789012:policy/team/read-only");
        assert_eq!(parse_attachment_id(&id), Some(("nodes", arn)));
        assert_eq!(parse_attachment_id("nodes"), None);
        assert_eq!(parse_attachment_id("nodes/not-an-arn"), None);
        assert_eq!(parse_role_policy_id(&role_policy_id("ci", "logs")), Some(("ci", "logs")));
        assert_eq!(parse_role_policy_id("ci:"), None);
    }

    #[test]
    fn attachment_and_profile_refuse_arns_where_names_belong() {
        let a = RolePolicyAttachmentArgs::builder().role("arn:aws:iam::1:role/x").policy_arn("ReadOnly").build();
        let text = messages(&a.validate());
        assert_eq!(text.len(), 2, "{text:?}");
        assert!(
            text[0].starts_with("role: ") && text[1].starts_with("policy_arn: `ReadOnly` is not a managed policy ARN")
        );
        let p = InstanceProfileArgs::builder().role("arn:aws:iam::1:role/x").build();
        assert!(messages(&p.validate())[0].starts_with("role: `arn:aws:iam::1:role/x` is an ARN"));
    }

    #[test]
    fn oidc_validation_checks_url_thumbprints_and_duplicates() {
        let args = OpenIdConnectProviderArgs::builder()
            .url("http://issuer")
            .client_ids(["sts.amazonaws.com", "sts.amazonaws.com"])
            .thumbprints(["abc"])
            .build();
        let text = messages(&args.validate());
        assert_eq!(text.len(), 3, "{text:?}");
        assert!(text[0].starts_with("url: `http://issuer` is not an https URL"), "{text:?}");
        assert!(text[1].starts_with("thumbprints[0]: `abc` is not a SHA-1 thumbprint"), "{text:?}");
        assert!(text[2].starts_with("client_ids[1]: `sts.amazonaws.com` is listed twice"), "{text:?}");
        assert_eq!(oidc_issuer("https://oidc.eks.x/id/1"), "oidc.eks.x/id/1");
    }
}
