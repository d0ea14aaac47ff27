//! The runtime side of monitoring: `PrometheusRule`s for the in-cluster Prometheus (GPU
//! utilisation and memory, pods waiting for GPUs, queue backlogs) and a Grafana dashboard as a
//! `ConfigMap` the Grafana sidecar loads.

use std::collections::BTreeMap;

use cairn_core::{ComponentArgs, DeclareError, InvalidArgs, Scope, Stack, Urn};
use cairn_gitops::Manifest;
use cairn_k8s::api::core::v1::ConfigMap;
use cairn_k8s::prometheus::{PrometheusRule, PrometheusRuleSpec, Rule, RuleGroup};
use serde_json::json;
use typed_builder::TypedBuilder;

use super::{declare, labels, meta};

/// A queue whose backlog is alerted on.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueBacklog {
    /// A short label for the alert.
    pub label: String,
    /// The SQS queue's name.
    pub queue_name: String,
    /// Messages waiting above which the alert fires.
    pub max_depth: f64,
}

/// Arguments of [`MonitoringManifests`].
#[derive(Debug, Clone, TypedBuilder)]
pub struct MonitoringManifestsArgs {
    /// The namespace of the rules and the dashboard.
    #[builder(default = "monitoring".to_owned(), setter(into))]
    pub namespace: String,
    /// GPU utilisation (percent) under which a GPU counts as idle.
    #[builder(default = 10.0)]
    pub gpu_idle_below_percent: f64,
    /// Queues whose backlog is watched (the CloudWatch exporter's SQS metrics).
    #[builder(default)]
    pub queues: Vec<QueueBacklog>,
    /// Labels the Prometheus instance selects rules by (kube-prometheus-stack: `release`).
    #[builder(default = BTreeMap::from([("release".to_owned(), "kube-prometheus-stack".to_owned())]))]
    pub rule_selector: BTreeMap<String, String>,
}

/// The monitoring manifests.
#[derive(Debug, Clone)]
pub struct MonitoringManifests {
    /// The component's URN.
    pub urn: Urn,
    /// GPU alerts (the same rules Amazon Managed Prometheus gets, [`crate::gpu_rule_group`]).
    pub gpu_rules: Manifest,
    /// Queue backlog alerts, when queues are watched.
    pub queue_rules: Option<Manifest>,
    /// The Grafana dashboard.
    pub dashboard: Manifest,
}

/// The SQS backlog series of the CloudWatch exporter (YACE).
fn backlog(queue: &str) -> String {
    format!("aws_sqs_approximate_number_of_messages_visible_average{{dimension_QueueName=\"{queue}\"}}")
}

impl MonitoringManifestsArgs {
    fn rule_labels(&self, labels: &BTreeMap<String, String>) -> BTreeMap<String, String> {
        let mut l = labels.clone();
        l.extend(self.rule_selector.clone());
        l
    }

    /// The GPU rules as a `PrometheusRule`.
    pub fn gpu_rules(&self, name: &str, labels: &BTreeMap<String, String>) -> PrometheusRule {
        PrometheusRule {
            metadata: meta(&format!("{name}-gpu"), &self.namespace, &self.rule_labels(labels)),
            spec: PrometheusRuleSpec { groups: vec![crate::gpu_rule_group(self.gpu_idle_below_percent)] },
        }
    }

    /// One backlog alert per watched queue.
    pub fn queue_rules(&self, name: &str, labels: &BTreeMap<String, String>) -> PrometheusRule {
        let rules = self
            .queues
            .iter()
            .map(|q| Rule {
                alert: Some("QueueBacklog".into()),
                expr: format!("{} > {}", backlog(&q.queue_name), q.max_depth),
                for_: Some("15m".into()),
                labels: BTreeMap::from([
                    ("severity".to_owned(), "warning".to_owned()),
                    ("queue".to_owned(), q.label.clone()),
                ]),
                annotations: BTreeMap::from([(
                    "summary".to_owned(),
                    format!(
                        "{} messages wait on {} (over {} for 15 minutes): the workers are at their cap or failing",
                        "{{ $value }}", q.queue_name, q.max_depth
                    ),
                )]),
                ..Default::default()
            })
            .collect();
        PrometheusRule {
            metadata: meta(&format!("{name}-queues"), &self.namespace, &self.rule_labels(labels)),
            spec: PrometheusRuleSpec { groups: vec![RuleGroup { name: "cairn-queues".into(), interval: None, rules }] },
        }
    }

    /// The dashboard: GPU utilisation and memory per node, pods waiting for GPUs, queue backlogs.
    pub fn dashboard(&self, name: &str, labels: &BTreeMap<String, String>) -> ConfigMap {
        let panel = |id: u32, title: &str, expr: String, unit: &str| {
            json!({
                "id": id, "title": title, "type": "timeseries", "datasource": {"type": "prometheus"},
                "fieldConfig": {"defaults": {"unit": unit}},
                "gridPos": {"h": 8, "w": 12, "x": (id - 1) % 2 * 12, "y": (id - 1) / 2 * 8},
                "targets": [{"expr": expr, "refId": "A"}]
            })
        };
        let mut panels = vec![
            panel(1, "GPU utilisation", "avg by (Hostname) (DCGM_FI_DEV_GPU_UTIL)".into(), "percent"),
            panel(
                2,
                "GPU memory used",
                "sum by (Hostname) (DCGM_FI_DEV_FB_USED) / sum by (Hostname) (DCGM_FI_DEV_FB_USED + DCGM_FI_DEV_FB_FREE)"
                    .into(),
                "percentunit",
            ),
            panel(3, "GPUs asked for by waiting pods", crate::monitoring::PENDING_GPU_PODS.into(), "short"),
        ];
        for (i, q) in self.queues.iter().enumerate() {
            panels.push(panel(4 + i as u32, &format!("Backlog: {}", q.label), backlog(&q.queue_name), "short"));
        }
        let dashboard = json!({
            "title": format!("AI platform ({})", labels.get("environment").map_or("", String::as_str)),
            "uid": format!("cairn-{name}"),
            "schemaVersion": 39,
            "tags": ["cairn", "gpu"],
            "time": {"from": "now-6h", "to": "now"},
            "panels": panels,
        });
        let mut dashboard_labels = labels.clone();
        // The Grafana sidecar loads every ConfigMap with this label.
        dashboard_labels.insert("grafana_dashboard".into(), "1".into());
        ConfigMap {
            metadata: meta(&format!("{name}-dashboard"), &self.namespace, &dashboard_labels),
            data: Some(BTreeMap::from([(
                format!("{name}.json"),
                serde_json::to_string_pretty(&dashboard).expect("a dashboard is JSON") + "\n",
            )])),
            ..Default::default()
        }
    }
}

impl ComponentArgs for MonitoringManifestsArgs {
    type Component = MonitoringManifests;
    const TYPE: &'static str = "cairn:ai:MonitoringManifests";

    fn validate(&self, ctx: &Stack) -> Result<(), InvalidArgs> {
        crate::checks::dns_label("namespace", &self.namespace)?;
        if !(0.0..=100.0).contains(&self.gpu_idle_below_percent) {
            return Err(InvalidArgs::new(
                "gpu_idle_below_percent",
                format!("is {}", self.gpu_idle_below_percent),
                "give a percentage, 0 to 100",
            ));
        }
        for (i, q) in self.queues.iter().enumerate() {
            if q.queue_name.is_empty() || !(q.max_depth.is_finite() && q.max_depth > 0.0) {
                return Err(InvalidArgs::new(
                    format!("queues[{i}]"),
                    "needs a queue name and a positive max_depth",
                    "name the SQS queue and the backlog that should page",
                ));
            }
        }
        super::check_labels(ctx)
    }

    fn expand(self, scope: &Scope) -> Result<MonitoringManifests, DeclareError> {
        let labels = labels(scope, scope.name());
        let name = scope.name().to_owned();
        let gpu_rules = declare(scope, "gpu-rules", &self.gpu_rules(&name, &labels))?;
        let queue_rules = if self.queues.is_empty() {
            None
        } else {
            Some(declare(scope, "queue-rules", &self.queue_rules(&name, &labels))?)
        };
        let dashboard = declare(scope, "dashboard", &self.dashboard(&name, &labels))?;
        Ok(MonitoringManifests { urn: scope.urn().clone(), gpu_rules, queue_rules, dashboard })
    }
}
