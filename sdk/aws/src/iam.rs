//! `aws:iam:Role`: an IAM role with its trust policy, inline policies and
//! attached managed policies.

use std::collections::BTreeMap;

use cairn_core::schema::TypedArgs;
use cairn_core::{CheckFailure, Input, PropertyPath};
use serde::{Deserialize, Serialize};
use typed_builder::TypedBuilder;

use crate::policy::PolicyDocument;
use crate::{check_name, failure};

/// The longest role name IAM accepts.
const MAX_ROLE_NAME: usize = 64;

/// The arguments of an IAM role.
///
/// ```
/// use cairn_aws::{PolicyDocument, RoleArgs};
/// let node_role = RoleArgs::builder()
///     .name("gpu-nodes")
///     .assume_role_policy(PolicyDocument::assume_role_for_service("ec2.amazonaws.com"))
///     .managed_policy_arns([
///         "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
///         "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
///     ])
///     .tags([("team", "ml")])
///     .build();
/// assert_eq!(node_role.managed_policy_arns.len(), 2);
/// ```
#[derive(Debug, Clone, Serialize, Deserialize, TypedBuilder, TypedArgs)]
#[args(
    doc = "An IAM role: a trust policy naming who may assume it, inline policies and attached managed policies. \
          Everything but the name is updated in place.",
    outputs = RoleOutputs,
    auto_name(property = "name", max_len = MAX_ROLE_NAME),
    warnings = crate::policy::warnings
)]
pub struct RoleArgs {
    /// The role name; generated from the logical name when absent. Changing it replaces the role.
    #[builder(default, setter(into, strip_option))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[args(replace)]
    pub name: Option<Input<String>>,
    /// The trust policy: who may assume the role. It may come from other
    /// resources' outputs (an IRSA trust names the cluster's OIDC provider).
    #[builder(setter(into))]
    pub assume_role_policy: Input<PolicyDocument>,
    /// Inline policies, by policy name. Authoritative only when some are
    /// declared: a role that declares none leaves its inline policies to
    /// `aws:iam:RolePolicy` resources, and refresh does not report them.
    #[builder(default, setter(fn transform<K: Into<String>>(policies: impl IntoIterator<Item = (K, PolicyDocument)>) -> BTreeMap<String, PolicyDocument> {
        policies.into_iter().map(|(name, doc)| (name.into(), doc)).collect()
    }))]
    #[serde(default)]
    pub inline_policies: BTreeMap<String, PolicyDocument>,
    /// ARNs of managed policies to attach. Authoritative only when some are
    /// declared: a role that declares none leaves attachments to
    /// `aws:iam:RolePolicyAttachment` resources, and refresh does not report them.
    #[builder(default, setter(fn transform(arns: impl IntoIterator<Item = impl Into<String>>) -> Vec<String> {
        crate::strings(arns)
    }))]
    #[serde(default)]
    pub managed_policy_arns: Vec<String>,
    /// A description.
    #[builder(default, setter(into, strip_option))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Tags.
    #[builder(default, setter(fn transform<K: Into<String>, V: Into<String>>(tags: impl IntoIterator<Item = (K, V)>) -> BTreeMap<String, String> {
        crate::string_map(tags)
    }))]
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

cairn_core::resource! {
    /// An IAM role, as declared: its URN and typed outputs.
    Role, token = "aws:iam:Role", args = RoleArgs, outputs = RoleOutputs {
        /// The role name.
        name: String,
        /// The role ARN (what a cluster's `role_arn` or a node group's `node_role_arn` takes).
        arn: String,
    }
}

impl RoleArgs {
    /// Checks what IAM would refuse later, with the fix in each message.
    pub fn validate(&self) -> Vec<CheckFailure> {
        let mut failures = Vec::new();
        check_name(self.name.as_ref(), "name", MAX_ROLE_NAME, &mut failures);
        // A trust policy made of outputs is checked once they are known.
        let trust = self.assume_role_policy.value().map_or(&[][..], |d| d.statement.as_slice());
        if self.assume_role_policy.value().is_some_and(|d| d.statement.is_empty()) {
            failures.push(failure(
                "assume_role_policy.statement",
                "the trust policy has no statements: add one, e.g. PolicyDocument::assume_role_for_service(\"eks.amazonaws.com\")",
            ));
        }
        for (i, s) in trust.iter().enumerate() {
            if s.principal.is_none() {
                failures.push(failure(
                    &format!("assume_role_policy.statement[{i}].principal"),
                    "a trust policy statement must name who may assume the role: set principal, e.g. Principal::service(\"eks.amazonaws.com\")",
                ));
            }
        }
        for (name, doc) in &self.inline_policies {
            let at = PropertyPath::root().key("inline_policies").key(name);
            if doc.statement.is_empty() {
                failures.push(CheckFailure {
                    property: at.key("statement"),
                    reason: format!("inline policy `{name}` has no statements: add one or remove the policy"),
                });
            }
            for (i, s) in doc.statement.iter().enumerate() {
                if s.principal.is_some() {
                    failures.push(CheckFailure {
                        property: at.key("statement").index(i).key("principal"),
                        reason: format!(
                            "inline policy `{name}` statement {i} has a principal, which only trust policies may have: \
                             remove it, or move the statement to assume_role_policy"
                        ),
                    });
                }
            }
        }
        failures
    }
}

impl crate::policy::PolicyDocuments for RoleArgs {
    /// Every policy document with the path of its property, e.g.
    /// `inline_policies.read-artifacts` (Check scans them for wildcards).
    fn policy_documents(&self) -> Vec<(PropertyPath, &PolicyDocument)> {
        let mut docs: Vec<(PropertyPath, &PolicyDocument)> = self
            .assume_role_policy
            .value()
            .map(|d| (PropertyPath::root().key("assume_role_policy"), d))
            .into_iter()
            .collect();
        docs.extend(
            self.inline_policies.iter().map(|(name, doc)| (PropertyPath::root().key("inline_policies").key(name), doc)),
        );
        docs
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::PolicyDocuments;
    use crate::policy::Statement;
    use cairn_core::Value;

    fn args() -> RoleArgs {
        RoleArgs::builder()
            .name("ci")
            .assume_role_policy(PolicyDocument::assume_role_for_service("eks.amazonaws.com"))
            .inline_policies([(
                "logs",
                PolicyDocument::builder().statement(vec![Statement::allow(["logs:*"], ["*"])]).build(),
            )])
            .managed_policy_arns(["arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"])
            .description("cluster role")
            .tags([("team", "ml")])
            .build()
    }

    #[test]
    fn serde_round_trip_keeps_schema_property_names() {
        let v = Value::from_serialize(&args()).unwrap();
        let keys: Vec<&str> = v.as_map().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            ["assume_role_policy", "description", "inline_policies", "managed_policy_arns", "name", "tags"]
        );
        assert!(keys.iter().all(|k| <RoleArgs as TypedArgs>::SCHEMA.property(k).is_some()));
        let back: RoleArgs = v.deserialize_into().unwrap();
        assert_eq!(Value::from_serialize(&back).unwrap(), v);
        assert!(cairn_provider_sdk::check_structure(<RoleArgs as TypedArgs>::SCHEMA, &v).is_empty());
    }

    #[test]
    fn unknown_name_deserializes_as_unknown_input() {
        let mut v = Value::from_serialize(&args()).unwrap();
        if let Value::Map(m) = &mut v {
            m.insert("name".into(), Value::Unknown);
        }
        let back: RoleArgs = v.deserialize_into().unwrap();
        assert!(matches!(back.name, Some(Input::Unknown)));
    }

    #[test]
    fn validation_names_the_statement_at_fault() {
        let mut a = args();
        if let Input::Value(trust) = &mut a.assume_role_policy {
            trust.statement[0].principal = None;
        }
        a.inline_policies.get_mut("logs").unwrap().statement[0].principal = Some(crate::Principal::aws("*"));
        let text: Vec<String> = a.validate().iter().map(|f| format!("{}: {}", f.property, f.reason)).collect();
        assert_eq!(text.len(), 2, "{text:?}");
        assert!(text[0].starts_with("assume_role_policy.statement[0].principal: "), "{text:?}");
        assert!(text[1].starts_with("inline_policies.logs.statement[0].principal: "), "{text:?}");
        assert!(args().validate().is_empty());
    }

    #[test]
    fn policy_documents_carry_their_paths() {
        let paths: Vec<String> = args().policy_documents().iter().map(|(p, _)| p.to_string()).collect();
        assert_eq!(paths, ["assume_role_policy", "inline_policies.logs"]);
    }
}
