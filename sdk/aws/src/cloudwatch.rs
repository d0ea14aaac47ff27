//! `aws:cloudwatch:MetricAlarm`: a CloudWatch alarm on one metric.

use std::collections::BTreeMap;

use cairn_core::schema::TypedArgs;
use cairn_core::{CheckFailure, Input};
use serde::{Deserialize, Serialize};
use typed_builder::TypedBuilder;

use crate::failure;

/// The longest alarm name CloudWatch accepts.
const MAX_ALARM_NAME: usize = 255;
/// The most dimensions a metric has.
const MAX_DIMENSIONS: usize = 30;
/// The most actions per alarm state.
const MAX_ACTIONS: usize = 5;

aws_enum! {
    /// How data points in a period are combined.
    Statistic {
        /// The number of data points.
        SampleCount = "SampleCount",
        /// The mean.
        Average = "Average",
        /// The sum.
        Sum = "Sum",
        /// The lowest value.
        Minimum = "Minimum",
        /// The highest value.
        Maximum = "Maximum",
    }
}

aws_enum! {
    /// How the statistic is compared with the threshold.
    ComparisonOperator {
        /// statistic >= threshold.
        GreaterThanOrEqualToThreshold = "GreaterThanOrEqualToThreshold",
        /// statistic > threshold.
        GreaterThanThreshold = "GreaterThanThreshold",
        /// statistic < threshold.
        LessThanThreshold = "LessThanThreshold",
        /// statistic <= threshold.
        LessThanOrEqualToThreshold = "LessThanOrEqualToThreshold",
    }
}

aws_enum! {
    /// How periods without data count.
    #[derive(Default)]
    TreatMissingData {
        /// As breaching the threshold.
        Breaching = "breaching",
        /// As within the threshold.
        NotBreaching = "notBreaching",
        /// Not at all: the alarm keeps its state.
        Ignore = "ignore",
        /// As missing: the alarm may go to INSUFFICIENT_DATA (CloudWatch's default).
        #[default]
        Missing = "missing",
    }
}

/// The arguments of a metric alarm.
///
/// ```
/// use cairn_aws::cloudwatch::{ComparisonOperator, MetricAlarmArgs, Statistic};
/// let backlog = MetricAlarmArgs::builder()
///     .namespace("AWS/SQS")
///     .metric_name("ApproximateNumberOfMessagesVisible")
///     .statistic(Statistic::Maximum)
///     .dimensions([("QueueName", "jobs")])
///     .period(60)
///     .evaluation_periods(5)
///     .threshold(1000.0)
///     .comparison_operator(ComparisonOperator::GreaterThanThreshold)
///     .build();
/// assert!(backlog.validate().is_empty());
/// ```
#[derive(Debug, Clone, Serialize, Deserialize, TypedBuilder, TypedArgs)]
#[args(
    doc = "A CloudWatch alarm on one metric (provider ID: its name). Everything but the name changes in place \
          (PutMetricAlarm).",
    outputs = MetricAlarmOutputs,
    auto_name(property = "name", max_len = MAX_ALARM_NAME)
)]
pub struct MetricAlarmArgs {
    /// The alarm name; generated from the logical name when absent. Changing it replaces the alarm.
    #[builder(default, setter(into, strip_option))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[args(replace)]
    pub name: Option<Input<String>>,
    /// The metric's namespace, e.g. `AWS/SQS`.
    #[builder(setter(into))]
    pub namespace: String,
    /// The metric's name.
    #[builder(setter(into))]
    pub metric_name: String,
    /// How data points in a period are combined.
    pub statistic: Statistic,
    /// The metric's dimensions (name to value).
    #[builder(default, setter(fn transform<K: Into<String>, V: Into<Input<String>>>(dims: impl IntoIterator<Item = (K, V)>) -> BTreeMap<String, Input<String>> {
        dims.into_iter().map(|(k, v)| (k.into(), v.into())).collect()
    }))]
    #[serde(default)]
    pub dimensions: BTreeMap<String, Input<String>>,
    /// Seconds per period: 10, 30 or a multiple of 60.
    pub period: i32,
    /// Periods compared with the threshold before the alarm changes state.
    pub evaluation_periods: i32,
    /// The value the statistic is compared with.
    pub threshold: f64,
    /// How the statistic is compared with the threshold.
    pub comparison_operator: ComparisonOperator,
    /// How periods without data count (`missing` unless set).
    #[builder(default)]
    #[serde(default)]
    pub treat_missing_data: TreatMissingData,
    /// ARNs notified when the alarm goes to ALARM (SNS topics, Auto Scaling policies, ...).
    #[builder(default)]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alarm_actions: Vec<Input<String>>,
    /// Tags.
    #[builder(default, setter(fn transform<K: Into<String>, V: Into<String>>(tags: impl IntoIterator<Item = (K, V)>) -> BTreeMap<String, String> {
        crate::string_map(tags)
    }))]
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

cairn_core::resource! {
    /// A CloudWatch metric alarm, as declared: its URN and typed outputs.
    MetricAlarm, token = "aws:cloudwatch:MetricAlarm", args = MetricAlarmArgs, outputs = MetricAlarmOutputs {
        /// The alarm ARN.
        arn: String,
        /// The alarm name (the provider ID).
        name: String,
    }
}

impl MetricAlarmArgs {
    /// Checks what CloudWatch would refuse later, with the fix in each message.
    pub fn validate(&self) -> Vec<CheckFailure> {
        let mut failures = Vec::new();
        crate::check_name(self.name.as_ref(), "name", MAX_ALARM_NAME, &mut failures);
        for (property, value) in [("namespace", &self.namespace), ("metric_name", &self.metric_name)] {
            if value.is_empty() || value.len() > 255 {
                failures.push(failure(property, format!("`{value}` is not valid: use 1 to 255 characters")));
            }
        }
        let period_ok = matches!(self.period, 10 | 30) || (self.period >= 60 && self.period % 60 == 0);
        if !period_ok {
            failures.push(failure(
                "period",
                format!("{} seconds is not a period CloudWatch offers: use 10, 30 or a multiple of 60", self.period),
            ));
        }
        if self.evaluation_periods < 1 {
            failures.push(failure(
                "evaluation_periods",
                format!("{} is below 1: set evaluation_periods to 1 or more", self.evaluation_periods),
            ));
        }
        if !self.threshold.is_finite() {
            failures.push(failure("threshold", "the threshold is not a finite number: set a number"));
        }
        if self.dimensions.len() > MAX_DIMENSIONS {
            failures.push(failure(
                "dimensions",
                format!(
                    "{} dimensions is more than the {MAX_DIMENSIONS} a metric has: remove some",
                    self.dimensions.len()
                ),
            ));
        }
        if self.alarm_actions.len() > MAX_ACTIONS {
            failures.push(failure(
                "alarm_actions",
                format!(
                    "{} actions is more than the {MAX_ACTIONS} CloudWatch allows: remove some",
                    self.alarm_actions.len()
                ),
            ));
        }
        for (i, action) in self.alarm_actions.iter().enumerate() {
            if let Some(arn) = action.value()
                && !arn.starts_with("arn:")
            {
                failures.push(failure(
                    &format!("alarm_actions[{i}]"),
                    format!("`{arn}` is not an ARN: use the topic's or policy's ARN"),
                ));
            }
        }
        failures
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_core::Value;
    use serde_json::json;

    fn alarm() -> MetricAlarmArgs {
        MetricAlarmArgs::builder()
            .namespace("AWS/SQS")
            .metric_name("ApproximateNumberOfMessagesVisible")
            .statistic(Statistic::Average)
            .period(60)
            .evaluation_periods(2)
            .threshold(10.5)
            .comparison_operator(ComparisonOperator::GreaterThanThreshold)
            .build()
    }

    #[test]
    fn round_trips_with_defaults() {
        let v = Value::from_serialize(&alarm()).unwrap();
        assert_eq!(
            v.to_json(),
            json!({
                "namespace": "AWS/SQS", "metric_name": "ApproximateNumberOfMessagesVisible", "statistic": "Average",
                "dimensions": {}, "period": 60, "evaluation_periods": 2, "threshold": 10.5,
                "comparison_operator": "GreaterThanThreshold", "treat_missing_data": "missing", "tags": {}
            })
        );
        let back: MetricAlarmArgs = v.deserialize_into().unwrap();
        assert_eq!(Value::from_serialize(&back).unwrap(), v);
        assert!(cairn_provider_sdk::check_structure(<MetricAlarmArgs as TypedArgs>::SCHEMA, &v).is_empty());
    }

    #[test]
    fn validation_names_the_property_and_the_fix() {
        let mut args = alarm();
        args.period = 45;
        args.evaluation_periods = 0;
        args.alarm_actions = vec!["my-topic".into()];
        let text: Vec<String> = args.validate().iter().map(|f| format!("{}: {}", f.property, f.reason)).collect();
        assert_eq!(text.len(), 3, "{text:?}");
        assert!(text[0].starts_with("period: 45 seconds is not a period"), "{text:?}");
        assert!(text[1].starts_with("evaluation_periods: 0 is below 1"), "{text:?}");
        assert!(text[2].starts_with("alarm_actions[0]: `my-topic` is not an ARN"), "{text:?}");
        for ok in [10, 30, 60, 300] {
            args = alarm();
            args.period = ok;
            assert!(args.validate().is_empty(), "{ok}");
        }
    }
}
