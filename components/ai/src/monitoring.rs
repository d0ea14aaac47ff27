//! A stack's monitoring: a managed Prometheus workspace with GPU alert rules,
//! CloudWatch alarms on GPUs running, queue depth and dead letters, a log
//! group, and a monthly AWS budget for the environment with e-mail warnings.

use std::collections::BTreeMap;

use cairn_aws::budgets::{BudgetTimeUnit, NotificationComparison, NotificationType, ThresholdType};
use cairn_aws::cloudwatch::{ComparisonOperator, Statistic, TreatMissingData};
use cairn_aws::{
    Budget, BudgetArgs, BudgetNotification, LogGroup, LogGroupArgs, MetricAlarm, MetricAlarmArgs, RuleGroupsNamespace,
    RuleGroupsNamespaceArgs, Workspace, WorkspaceArgs,
};
use cairn_core::{ComponentArgs, DeclareError, Input, InvalidArgs, Scope, Stack, Urn};
use cairn_k8s::prometheus::{PrometheusRuleSpec, Rule, RuleGroup};
use typed_builder::TypedBuilder;

use crate::tags::{check_cost_tags, cost_tags};

/// A queue to watch: its name (or another resource's output) and the
/// backlog that raises the alarm.
#[derive(Debug, Clone)]
pub struct WatchedQueue {
    /// A short label for the alarm's name (a DNS label).
    pub label: String,
    /// The queue's name.
    pub name: Input<String>,
    /// Messages waiting that raise the alarm.
    pub max_depth: f64,
    /// Its dead-letter queue's name: any message there raises an alarm.
    pub dead_letters: Option<Input<String>>,
}

/// Arguments of [`MonitoringStack`].
///
/// ```
/// use cairn_ai::MonitoringStackArgs;
/// let args = MonitoringStackArgs::builder()
///     .cluster_name("ai-prod")
///     .monthly_budget_usd(25_000.0)
///     .budget_emails(["ml-platform@example.com"])
///     .build();
/// assert_eq!(args.gpu_idle_below_percent, 10.0);
/// ```
#[derive(Debug, Clone, TypedBuilder)]
pub struct MonitoringStackArgs {
    /// The cluster whose GPUs are watched.
    #[builder(setter(into))]
    pub cluster_name: Input<String>,
    /// The environment's monthly AWS spend (USD) the budget warns at (80% forecast, 100% actual).
    pub monthly_budget_usd: f64,
    /// Who gets the budget warnings.
    #[builder(setter(transform = |emails: impl IntoIterator<Item = impl Into<String>>| cairn_aws::strings(emails)))]
    pub budget_emails: Vec<String>,
    /// GPUs running in the cluster that raise the alarm (a runaway autoscaler or a forgotten job).
    #[builder(default = 16.0)]
    pub max_gpus: f64,
    /// A GPU below this utilization for an hour raises an alert (idle GPUs are the costliest waste).
    #[builder(default = 10.0)]
    pub gpu_idle_below_percent: f64,
    /// Queues to watch.
    #[builder(default)]
    pub queues: Vec<WatchedQueue>,
    /// Where alarms notify (SNS topic ARNs); none when empty.
    #[builder(default)]
    pub alarm_actions: Vec<Input<String>>,
    /// Days the platform log group keeps logs.
    #[builder(default = 30)]
    pub log_retention_days: i32,
    /// Extra tags, added to the cost tags.
    #[builder(default, setter(fn transform<K: Into<String>, V: Into<String>>(tags: impl IntoIterator<Item = (K, V)>) -> BTreeMap<String, String> {
        cairn_aws::string_map(tags)
    }))]
    pub tags: BTreeMap<String, String>,
}

/// The monitoring of one environment.
#[derive(Debug, Clone)]
pub struct MonitoringStack {
    /// The component's URN.
    pub urn: Urn,
    /// The managed Prometheus workspace.
    pub workspace: Workspace,
    /// Its GPU alert rules.
    pub rules: RuleGroupsNamespace,
    /// The CloudWatch alarms, by name.
    pub alarms: BTreeMap<String, MetricAlarm>,
    /// The platform's log group.
    pub log_group: LogGroup,
    /// The environment's budget.
    pub budget: Budget,
}

/// GPUs asked for by pods still waiting to be scheduled (kube-state-metrics): an alert and a
/// dashboard panel read it.
pub(crate) const PENDING_GPU_PODS: &str = "sum(kube_pod_container_resource_requests{resource=\"nvidia_com_gpu\"} \
     * on (pod, namespace) group_left kube_pod_status_phase{phase=\"Pending\"})";

/// The GPU alerting rules, typed: Amazon Managed Prometheus loads them as a rule group
/// ([`gpu_rules`]) and an in-cluster Prometheus as a `PrometheusRule`
/// ([`crate::MonitoringManifests`]); one definition for both.
pub fn gpu_rule_group(idle_below_percent: f64) -> RuleGroup {
    let rule = |alert: &str, expr: String, for_: Option<&str>, severity: &str, summary: &str| Rule {
        alert: Some(alert.to_owned()),
        expr,
        for_: for_.map(str::to_owned),
        labels: BTreeMap::from([("severity".to_owned(), severity.to_owned())]),
        annotations: BTreeMap::from([("summary".to_owned(), summary.to_owned())]),
        ..Default::default()
    };
    RuleGroup {
        name: "cairn-gpu".into(),
        interval: None,
        rules: vec![
            rule(
                "GpuIdle",
                format!("avg by (Hostname, gpu) (DCGM_FI_DEV_GPU_UTIL) < {idle_below_percent}"),
                Some("1h"),
                "warning",
                &format!(
                    "GPU {{{{ $labels.gpu }}}} on {{{{ $labels.Hostname }}}} is under {idle_below_percent}% busy for an \
                     hour: scale down or stop the job"
                ),
            ),
            rule(
                "GpuMemoryNearlyFull",
                "DCGM_FI_DEV_FB_USED / (DCGM_FI_DEV_FB_USED + DCGM_FI_DEV_FB_FREE) > 0.95".into(),
                Some("15m"),
                "warning",
                "GPU {{ $labels.gpu }} on {{ $labels.Hostname }} has used 95% of its memory for 15 minutes",
            ),
            rule(
                "GpuXidError",
                "changes(DCGM_FI_DEV_XID_ERRORS[10m]) > 0".into(),
                None,
                "critical",
                "GPU {{ $labels.gpu }} on {{ $labels.Hostname }} reported XID error {{ $value }}: drain the node",
            ),
            rule(
                "GpuPodsPending",
                format!("{PENDING_GPU_PODS} > 0"),
                Some("15m"),
                "warning",
                "pods asking for GPUs have waited 15 minutes: a pool is at its cap or out of spot capacity",
            ),
        ],
    }
}

/// The GPU alerting rules as an Amazon Managed Prometheus rule-group file (YAML).
pub fn gpu_rules(idle_below_percent: f64) -> String {
    let groups = PrometheusRuleSpec { groups: vec![gpu_rule_group(idle_below_percent)] };
    cairn_k8s::canonical_yaml(&serde_json::to_value(groups).expect("rule groups are JSON"))
}

impl ComponentArgs for MonitoringStackArgs {
    type Component = MonitoringStack;
    const TYPE: &'static str = "cairn:ai:MonitoringStack";

    fn validate(&self, ctx: &Stack) -> Result<(), InvalidArgs> {
        if !(self.monthly_budget_usd.is_finite() && self.monthly_budget_usd > 0.0) {
            return Err(InvalidArgs::new(
                "monthly_budget_usd",
                format!("is {}", self.monthly_budget_usd),
                "give the environment's monthly spend in USD, above 0",
            ));
        }
        if self.budget_emails.is_empty() {
            return Err(InvalidArgs::new(
                "budget_emails",
                "is empty, so nobody hears of an overrun",
                "list at least one address",
            ));
        }
        if let Some((i, e)) = self.budget_emails.iter().enumerate().find(|(_, e)| !e.contains('@')) {
            return Err(InvalidArgs::new(
                format!("budget_emails[{i}]"),
                format!("`{e}` is not an e-mail address"),
                "fix the address",
            ));
        }
        if !(0.0..=100.0).contains(&self.gpu_idle_below_percent) {
            return Err(InvalidArgs::new(
                "gpu_idle_below_percent",
                format!("is {}", self.gpu_idle_below_percent),
                "give 0 to 100",
            ));
        }
        if self.max_gpus < 1.0 {
            return Err(InvalidArgs::new("max_gpus", format!("is {}", self.max_gpus), "give 1 or more"));
        }
        for (i, q) in self.queues.iter().enumerate() {
            crate::checks::dns_label(&format!("queues[{i}].label"), &q.label)?;
        }
        check_cost_tags(ctx, &self.tags)
    }

    fn expand(self, scope: &Scope) -> Result<MonitoringStack, DeclareError> {
        let tags = cost_tags(scope, &self.tags);
        let workspace = scope.resource(
            &scope.child_name("prometheus"),
            WorkspaceArgs::builder()
                .alias(format!("{}-{}", scope.project_name(), scope.stack_name()))
                .tags(tags.clone())
                .build(),
        )?;
        let rules = scope.resource(
            &scope.child_name("gpu-rules"),
            RuleGroupsNamespaceArgs::builder()
                .workspace_id(workspace.id.clone())
                .data(gpu_rules(self.gpu_idle_below_percent))
                .tags(tags.clone())
                .build(),
        )?;
        let alarm = |suffix: &str, args: MetricAlarmArgs| scope.resource(&scope.child_name(suffix), args);
        let mut alarms = BTreeMap::new();
        let gpus = MetricAlarmArgs::builder()
            .namespace("ContainerInsights")
            .metric_name("node_gpu_limit")
            .statistic(Statistic::Sum)
            .dimensions([("ClusterName", self.cluster_name.clone())])
            .period(300)
            .evaluation_periods(1)
            .threshold(self.max_gpus)
            .comparison_operator(ComparisonOperator::GreaterThanThreshold)
            .treat_missing_data(TreatMissingData::NotBreaching)
            .alarm_actions(self.alarm_actions.clone())
            .tags(tags.clone())
            .build();
        alarms.insert("gpus-running".to_owned(), alarm("gpus-running", gpus)?);
        for q in &self.queues {
            let depth = MetricAlarmArgs::builder()
                .namespace("AWS/SQS")
                .metric_name("ApproximateNumberOfMessagesVisible")
                .statistic(Statistic::Maximum)
                .dimensions([("QueueName", q.name.clone())])
                .period(300)
                .evaluation_periods(3)
                .threshold(q.max_depth)
                .comparison_operator(ComparisonOperator::GreaterThanThreshold)
                .treat_missing_data(TreatMissingData::NotBreaching)
                .alarm_actions(self.alarm_actions.clone())
                .tags(tags.clone())
                .build();
            let name = format!("{}-depth", q.label);
            alarms.insert(name.clone(), alarm(&name, depth)?);
            if let Some(dlq) = &q.dead_letters {
                let dead = MetricAlarmArgs::builder()
                    .namespace("AWS/SQS")
                    .metric_name("ApproximateNumberOfMessagesVisible")
                    .statistic(Statistic::Maximum)
                    .dimensions([("QueueName", dlq.clone())])
                    .period(60)
                    .evaluation_periods(1)
                    .threshold(0.0)
                    .comparison_operator(ComparisonOperator::GreaterThanThreshold)
                    .treat_missing_data(TreatMissingData::NotBreaching)
                    .alarm_actions(self.alarm_actions.clone())
                    .tags(tags.clone())
                    .build();
                let name = format!("{}-dead-letters", q.label);
                alarms.insert(name.clone(), alarm(&name, dead)?);
            }
        }
        let log_group = scope.resource(
            &scope.child_name("logs"),
            LogGroupArgs::builder().retention_in_days(self.log_retention_days).tags(tags).build(),
        )?;
        let environment =
            scope.config().tags().get("environment").cloned().unwrap_or_else(|| scope.stack_name().to_string());
        let notify = |kind, threshold| {
            BudgetNotification::builder()
                .notification_type(kind)
                .comparison_operator(NotificationComparison::GreaterThan)
                .threshold(threshold)
                .threshold_type(ThresholdType::Percentage)
                .subscriber_emails(self.budget_emails.clone())
                .build()
        };
        let budget = scope.resource(
            &scope.child_name("budget"),
            BudgetArgs::builder()
                .limit_amount(format!("{:.2}", self.monthly_budget_usd))
                .time_unit(BudgetTimeUnit::Monthly)
                // The environment's spend, by the cost tag every component sets.
                .cost_filters([("TagKeyValue", [format!("user:environment${environment}")])])
                .notifications(vec![
                    notify(NotificationType::Forecasted, 80.0),
                    notify(NotificationType::Actual, 100.0),
                ])
                .build(),
        )?;
        scope.output("prometheus_endpoint", &workspace.prometheus_endpoint);
        scope.output("log_group", &log_group.name);
        scope.output("budget", &budget.name);
        Ok(MonitoringStack { urn: scope.urn().clone(), workspace, rules, alarms, log_group, budget })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::ctx;

    fn args() -> MonitoringStackArgs {
        MonitoringStackArgs::builder()
            .cluster_name("ai-dev")
            .monthly_budget_usd(1000.0)
            .budget_emails(["ml@example.com"])
            .queues(vec![WatchedQueue {
                label: "prep".into(),
                name: "prep-queue".into(),
                max_depth: 1000.0,
                dead_letters: Some("prep-dlq".into()),
            }])
            .build()
    }

    #[test]
    fn alarms_for_gpus_queue_depth_and_dead_letters() {
        let ctx = ctx("dev");
        let m = ctx.component("monitoring", args()).unwrap();
        assert_eq!(m.alarms.keys().collect::<Vec<_>>(), ["gpus-running", "prep-dead-letters", "prep-depth"]);
        let d = ctx.finish();
        let budget = d.resources.iter().find(|r| r.urn == m.budget.urn).unwrap().inputs.to_json();
        assert_eq!(budget["cost_filters"]["TagKeyValue"][0], "user:environment$dev");
        assert_eq!(budget["limit_amount"], "1000.00");
    }

    #[test]
    fn a_budget_needs_someone_to_tell() {
        let mut a = args();
        a.budget_emails.clear();
        let err = ctx("dev").component("monitoring", a).err().unwrap().to_string();
        assert!(err.contains("`budget_emails` is empty"), "{err}");
    }

    #[test]
    fn gpu_rules_are_yaml_with_the_idle_threshold() {
        let rules = gpu_rules(12.5);
        assert!(rules.contains("DCGM_FI_DEV_GPU_UTIL) < 12.5"));
        assert!(rules.contains("{{ $labels.gpu }}"));
    }
}
