//! Prometheus Operator (`monitoring.coreos.com/v1`): alerting and recording rules as objects.
//! Field names follow the CRD of prometheus-operator v0.93.0.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

custom_resource! {
    /// Groups of Prometheus rules the operator loads into every Prometheus selecting it.
    PrometheusRule(PrometheusRuleSpec), group = "monitoring.coreos.com", version = "v1", plural = "prometheusrules"
}

/// `spec` of a [`PrometheusRule`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PrometheusRuleSpec {
    /// The rule groups.
    #[serde(default)]
    pub groups: Vec<RuleGroup>,
}

/// One group of rules, evaluated together.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleGroup {
    /// The group's name, unique in the object.
    pub name: String,
    /// How often the group is evaluated, such as `1m`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    /// The rules.
    #[serde(default)]
    pub rules: Vec<Rule>,
}

/// One alerting rule (with `alert`) or recording rule (with `record`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// The alert's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert: Option<String>,
    /// The recorded series' name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<String>,
    /// The PromQL expression.
    pub expr: String,
    /// How long the expression must hold before the alert fires, such as `10m`.
    #[serde(default, rename = "for", skip_serializing_if = "Option::is_none")]
    pub for_: Option<String>,
    /// Labels added to the alert or series (`severity`, cost labels).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Annotations of the alert (`summary`, `runbook_url`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}
