//! `aws:amp:Workspace` and `aws:amp:RuleGroupsNamespace`: Amazon Managed
//! Service for Prometheus workspaces and their alerting and recording rules.

use std::collections::BTreeMap;

use cairn_core::schema::TypedArgs;
use cairn_core::{CheckFailure, Input};
use serde::{Deserialize, Serialize};
use typed_builder::TypedBuilder;

use crate::failure;

/// The longest workspace alias AMP accepts.
const MAX_ALIAS: usize = 100;
/// The longest rule groups namespace name AMP accepts.
const MAX_NAMESPACE_NAME: usize = 64;

/// The arguments of a Prometheus workspace.
///
/// ```
/// use cairn_aws::amp::WorkspaceArgs;
/// let metrics = WorkspaceArgs::builder().alias("platform-metrics").build();
/// assert!(metrics.validate().is_empty());
/// ```
#[derive(Debug, Clone, Serialize, Deserialize, TypedBuilder, TypedArgs)]
#[args(
    doc = "An Amazon Managed Service for Prometheus workspace (provider ID: its workspace ID). The alias and tags \
          change in place.",
    outputs = WorkspaceOutputs
)]
pub struct WorkspaceArgs {
    /// A friendly name (not unique), changed in place; none when absent.
    #[builder(default, setter(into, strip_option))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    /// Tags.
    #[builder(default, setter(fn transform<K: Into<String>, V: Into<String>>(tags: impl IntoIterator<Item = (K, V)>) -> BTreeMap<String, String> {
        crate::string_map(tags)
    }))]
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

cairn_core::resource! {
    /// A Prometheus workspace, as declared: its URN and typed outputs.
    Workspace, token = "aws:amp:Workspace", args = WorkspaceArgs, outputs = WorkspaceOutputs {
        /// The workspace ID, `ws-...` (the provider ID; what a rule groups namespace takes).
        id: String,
        /// The workspace ARN.
        arn: String,
        /// The Prometheus endpoint, for remote write and queries.
        prometheus_endpoint: String,
    }
}

impl WorkspaceArgs {
    /// Checks what AMP would refuse later, with the fix in each message.
    pub fn validate(&self) -> Vec<CheckFailure> {
        let mut failures = Vec::new();
        if let Some(alias) = &self.alias
            && (alias.is_empty() || alias.chars().count() > MAX_ALIAS)
        {
            failures.push(failure(
                "alias",
                format!("`{alias}` is not a valid alias: use 1 to {MAX_ALIAS} characters, or remove it"),
            ));
        }
        failures
    }
}

/// The arguments of a rule groups namespace: one Prometheus rules file in a workspace.
///
/// ```
/// use cairn_aws::amp::RuleGroupsNamespaceArgs;
/// let rules = RuleGroupsNamespaceArgs::builder()
///     .workspace_id("ws-1234")
///     .data("groups:\n- name: up\n  rules:\n  - alert: Down\n    expr: up == 0\n")
///     .build();
/// assert!(rules.validate().is_empty());
/// ```
#[derive(Debug, Clone, Serialize, Deserialize, TypedBuilder, TypedArgs)]
#[args(
    doc = "A Prometheus rules file in an AMP workspace (provider ID: its ARN). The rules and tags change in place; \
          the workspace and the name are fixed.",
    outputs = RuleGroupsNamespaceOutputs,
    auto_name(property = "name", max_len = MAX_NAMESPACE_NAME)
)]
pub struct RuleGroupsNamespaceArgs {
    /// The workspace (its `id` output). Changing it replaces the namespace.
    #[builder(setter(into))]
    #[args(replace)]
    pub workspace_id: Input<String>,
    /// The namespace name; generated from the logical name when absent. Changing it replaces the namespace.
    #[builder(default, setter(into, strip_option))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[args(replace)]
    pub name: Option<Input<String>>,
    /// The rules file, in Prometheus's YAML format, changed in place.
    #[builder(setter(into))]
    pub data: String,
    /// Tags.
    #[builder(default, setter(fn transform<K: Into<String>, V: Into<String>>(tags: impl IntoIterator<Item = (K, V)>) -> BTreeMap<String, String> {
        crate::string_map(tags)
    }))]
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

cairn_core::resource! {
    /// A rule groups namespace, as declared: its URN and typed outputs.
    RuleGroupsNamespace, token = "aws:amp:RuleGroupsNamespace", args = RuleGroupsNamespaceArgs,
    outputs = RuleGroupsNamespaceOutputs {
        /// The namespace ARN (the provider ID), `arn:aws:aps:REGION:ACCOUNT:rulegroupsnamespace/WORKSPACE/NAME`.
        arn: String,
        /// The namespace name.
        name: String,
    }
}

/// The workspace ID and the name in a rule groups namespace ARN.
///
/// ```
/// let arn = "arn:aws:aps:us-east-1:123456789012:rulegroupsnamespace/ws-1/alerts";
/// assert_eq!(cairn_aws::amp::parse_namespace_arn(arn), Some(("ws-1", "alerts")));
/// assert_eq!(cairn_aws::amp::parse_namespace_arn("ws-1/alerts"), None);
/// ```
pub fn parse_namespace_arn(arn: &str) -> Option<(&str, &str)> {
    let resource = arn.strip_prefix("arn:")?.split(':').nth(4)?;
    let rest = resource.strip_prefix("rulegroupsnamespace/")?;
    let (workspace, name) = rest.split_once('/')?;
    (!workspace.is_empty() && !name.is_empty()).then_some((workspace, name))
}

impl RuleGroupsNamespaceArgs {
    /// Checks what AMP would refuse later, with the fix in each message.
    pub fn validate(&self) -> Vec<CheckFailure> {
        let mut failures = Vec::new();
        if let Some(name) = self.name.as_ref().and_then(Input::value) {
            let chars_ok = name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
            if name.is_empty() || name.len() > MAX_NAMESPACE_NAME || !chars_ok {
                failures.push(failure(
                    "name",
                    format!(
                        "`{name}` is not a valid namespace name: use 1 to {MAX_NAMESPACE_NAME} letters, digits, `-`, \
                         `_` or `.`"
                    ),
                ));
            }
        }
        if let Some(ws) = self.workspace_id.value()
            && !ws.starts_with("ws-")
        {
            failures.push(failure(
                "workspace_id",
                format!("`{ws}` is not a workspace ID: use the workspace's `id` output (ws-...), not its ARN or alias"),
            ));
        }
        if self.data.trim().is_empty() {
            failures.push(failure("data", "the rules file is empty: write at least `groups: []`"));
        }
        failures
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_core::Value;
    use serde_json::json;

    #[test]
    fn round_trip_and_validation() {
        let ws = WorkspaceArgs::builder().alias("m").tags([("team", "obs")]).build();
        let v = Value::from_serialize(&ws).unwrap();
        assert_eq!(v.to_json(), json!({"alias": "m", "tags": {"team": "obs"}}));
        assert!(cairn_provider_sdk::check_structure(<WorkspaceArgs as TypedArgs>::SCHEMA, &v).is_empty());
        assert!(WorkspaceArgs::builder().alias("").build().validate()[0].reason.contains("not a valid alias"));

        let ns = RuleGroupsNamespaceArgs::builder().workspace_id("arn:aws:aps:x").name("a b").data(" ").build();
        let text: Vec<String> = ns.validate().iter().map(|f| format!("{}: {}", f.property, f.reason)).collect();
        assert_eq!(text.len(), 3, "{text:?}");
        assert!(text[0].starts_with("name: `a b` is not a valid namespace name"), "{text:?}");
        assert!(text[1].starts_with("workspace_id: `arn:aws:aps:x` is not a workspace ID"), "{text:?}");
        assert!(text[2].starts_with("data: the rules file is empty"), "{text:?}");
        let v =
            Value::from_serialize(&RuleGroupsNamespaceArgs::builder().workspace_id("ws-1").data("groups: []").build())
                .unwrap();
        assert!(cairn_provider_sdk::check_structure(<RuleGroupsNamespaceArgs as TypedArgs>::SCHEMA, &v).is_empty());
    }
}
