//! `aws:budgets:Budget`: an AWS cost budget with e-mail notifications.

use std::collections::BTreeMap;

use cairn_core::schema::TypedArgs;
use cairn_core::{CheckFailure, Input};
use serde::{Deserialize, Serialize};
use typed_builder::TypedBuilder;

use crate::failure;

/// The longest budget name AWS Budgets accepts.
const MAX_BUDGET_NAME: usize = 100;
/// The most notifications a budget has.
const MAX_NOTIFICATIONS: usize = 5;
/// The most e-mail subscribers a notification has.
const MAX_EMAIL_SUBSCRIBERS: usize = 10;

aws_enum! {
    /// What a budget tracks (Cairn models cost budgets).
    #[derive(Default)]
    BudgetType {
        /// Spend, in `limit_unit`.
        #[default]
        Cost = "COST",
    }
}

aws_enum! {
    /// The period a budget's limit covers.
    #[derive(Default)]
    BudgetTimeUnit {
        /// Each calendar month.
        #[default]
        Monthly = "MONTHLY",
        /// Each calendar quarter.
        Quarterly = "QUARTERLY",
        /// Each calendar year.
        Annually = "ANNUALLY",
    }
}

aws_enum! {
    /// How spend is compared with a notification's threshold.
    NotificationComparison {
        /// Spend above the threshold.
        GreaterThan = "GREATER_THAN",
        /// Spend below the threshold.
        LessThan = "LESS_THAN",
        /// Spend at the threshold.
        EqualTo = "EQUAL_TO",
    }
}

aws_enum! {
    /// What a notification's threshold is.
    #[derive(Default)]
    ThresholdType {
        /// A percentage of the limit.
        #[default]
        Percentage = "PERCENTAGE",
        /// An amount in the limit's unit.
        AbsoluteValue = "ABSOLUTE_VALUE",
    }
}

aws_enum! {
    /// Which spend a notification looks at.
    NotificationType {
        /// Spend so far.
        Actual = "ACTUAL",
        /// Spend forecast for the period.
        Forecasted = "FORECASTED",
    }
}

/// A notification: who is e-mailed when spend crosses a threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TypedBuilder, cairn_core::rust_code::RustLiteral)]
pub struct BudgetNotification {
    /// Actual or forecast spend.
    pub notification_type: NotificationType,
    /// How spend is compared with the threshold.
    pub comparison_operator: NotificationComparison,
    /// The threshold (a percentage of the limit unless `threshold_type` says otherwise).
    pub threshold: f64,
    /// PERCENTAGE (default) or ABSOLUTE_VALUE.
    #[builder(default)]
    #[serde(default)]
    pub threshold_type: ThresholdType,
    /// The e-mail addresses notified (1 to 10).
    #[builder(setter(fn transform(emails: impl IntoIterator<Item = impl Into<String>>) -> Vec<String> {
        crate::strings(emails)
    }))]
    pub subscriber_emails: Vec<String>,
}

impl BudgetNotification {
    /// What AWS identifies a notification by (a budget cannot have two alike).
    pub fn identity(&self) -> (NotificationType, NotificationComparison, String, ThresholdType) {
        (self.notification_type, self.comparison_operator, format!("{}", self.threshold), self.threshold_type)
    }
}

fn default_limit_unit() -> String {
    "USD".to_owned()
}

/// The arguments of a cost budget.
///
/// ```
/// use cairn_aws::budgets::{BudgetArgs, BudgetNotification, NotificationComparison, NotificationType};
/// let gpu = BudgetArgs::builder()
///     .limit_amount("2500")
///     .cost_filters([("Service", vec!["Amazon Elastic Compute Cloud - Compute"])])
///     .notifications(vec![BudgetNotification::builder()
///         .notification_type(NotificationType::Forecasted)
///         .comparison_operator(NotificationComparison::GreaterThan)
///         .threshold(100.0)
///         .subscriber_emails(["finops@example.com"])
///         .build()])
///     .build();
/// assert!(gpu.validate().is_empty());
/// ```
#[derive(Debug, Clone, Serialize, Deserialize, TypedBuilder, TypedArgs)]
#[args(
    doc = "An AWS cost budget (provider ID: `ACCOUNT:NAME`). The limit, period, cost filters and notifications \
          change in place; the name, account and budget type are fixed.",
    outputs = BudgetOutputs,
    auto_name(property = "name", max_len = MAX_BUDGET_NAME)
)]
pub struct BudgetArgs {
    /// The budget name; generated from the logical name when absent. Changing it replaces the budget.
    #[builder(default, setter(into, strip_option))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[args(replace)]
    pub name: Option<Input<String>>,
    /// The account the budget belongs to; the caller's account when absent. Changing it replaces the budget.
    #[builder(default, setter(into, strip_option))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[args(replace)]
    pub account_id: Option<String>,
    /// What the budget tracks (COST). Changing it replaces the budget.
    #[builder(default)]
    #[serde(default)]
    #[args(replace)]
    pub budget_type: BudgetType,
    /// The limit, a decimal number as a string (e.g. `"2500"`), changed in place.
    #[builder(setter(into))]
    pub limit_amount: String,
    /// The limit's unit (`USD` unless set), changed in place.
    #[builder(default = default_limit_unit(), setter(into))]
    #[serde(default = "default_limit_unit")]
    pub limit_unit: String,
    /// The period the limit covers (MONTHLY unless set), changed in place.
    #[builder(default)]
    #[serde(default)]
    pub time_unit: BudgetTimeUnit,
    /// Which costs count, e.g. `{"Service": ["Amazon Simple Storage Service"]}`; all when empty. Changed in place.
    #[builder(default, setter(fn transform<K: Into<String>, V: IntoIterator<Item = S>, S: Into<String>>(filters: impl IntoIterator<Item = (K, V)>) -> BTreeMap<String, Vec<String>> {
        filters.into_iter().map(|(k, v)| (k.into(), crate::strings(v))).collect()
    }))]
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub cost_filters: BTreeMap<String, Vec<String>>,
    /// E-mail notifications (at most 5), changed in place.
    #[builder(default)]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notifications: Vec<BudgetNotification>,
}

cairn_core::resource! {
    /// A cost budget, as declared: its URN and typed outputs.
    Budget, token = "aws:budgets:Budget", args = BudgetArgs, outputs = BudgetOutputs {
        /// The budget name.
        name: String,
        /// The account the budget belongs to.
        account_id: String,
        /// The budget ARN, `arn:aws:budgets::ACCOUNT:budget/NAME`.
        arn: String,
    }
}

/// The provider ID of a budget, `ACCOUNT:NAME`, and back.
///
/// ```
/// use cairn_aws::budgets::{budget_id, parse_budget_id};
/// assert_eq!(budget_id("123456789012", "gpu"), "123456789012:gpu");
/// assert_eq!(parse_budget_id("123456789012:gpu"), Some(("123456789012", "gpu")));
/// assert_eq!(parse_budget_id("gpu"), None);
/// ```
pub fn budget_id(account_id: &str, name: &str) -> String {
    format!("{account_id}:{name}")
}

/// The account and name in a budget's provider ID.
pub fn parse_budget_id(id: &str) -> Option<(&str, &str)> {
    let (account, name) = id.split_once(':')?;
    (account.len() == 12 && account.chars().all(|c| c.is_ascii_digit()) && !name.is_empty()).then_some((account, name))
}

impl BudgetArgs {
    /// Checks what AWS Budgets would refuse later, with the fix in each message.
    pub fn validate(&self) -> Vec<CheckFailure> {
        let mut failures = Vec::new();
        if let Some(name) = self.name.as_ref().and_then(Input::value)
            && (name.is_empty() || name.len() > MAX_BUDGET_NAME || name.contains([':', '\\']))
        {
            failures.push(failure(
                "name",
                format!(
                    "`{name}` is not a valid budget name: use 1 to {MAX_BUDGET_NAME} characters without `:` or `\\`"
                ),
            ));
        }
        if let Some(account) = &self.account_id
            && (account.len() != 12 || !account.chars().all(|c| c.is_ascii_digit()))
        {
            failures.push(failure(
                "account_id",
                format!("`{account}` is not an account ID: use the 12 digits, or remove it for the caller's account"),
            ));
        }
        match self.limit_amount.trim().parse::<f64>() {
            Ok(n) if n.is_finite() && n > 0.0 => {}
            _ => failures.push(failure(
                "limit_amount",
                format!("`{}` is not a positive amount: write a decimal number such as \"2500\"", self.limit_amount),
            )),
        }
        if self.notifications.len() > MAX_NOTIFICATIONS {
            failures.push(failure(
                "notifications",
                format!(
                    "{} notifications is more than the {MAX_NOTIFICATIONS} a budget has: remove some",
                    self.notifications.len()
                ),
            ));
        }
        let mut seen = Vec::new();
        for (i, n) in self.notifications.iter().enumerate() {
            let at = |field: &str| format!("notifications[{i}].{field}");
            if !n.threshold.is_finite() || n.threshold <= 0.0 {
                failures.push(failure(
                    &at("threshold"),
                    format!("{} is not above 0: set a positive threshold", n.threshold),
                ));
            }
            if n.subscriber_emails.is_empty() || n.subscriber_emails.len() > MAX_EMAIL_SUBSCRIBERS {
                failures.push(failure(
                    &at("subscriber_emails"),
                    format!("a notification needs 1 to {MAX_EMAIL_SUBSCRIBERS} e-mail addresses: list them"),
                ));
            }
            for (j, email) in n.subscriber_emails.iter().enumerate() {
                if !email.contains('@') {
                    failures.push(failure(
                        &format!("notifications[{i}].subscriber_emails[{j}]"),
                        format!("`{email}` is not an e-mail address: write name@domain"),
                    ));
                }
            }
            if seen.contains(&n.identity()) {
                failures.push(failure(
                    &format!("notifications[{i}]"),
                    "another notification has the same type, comparison, threshold and threshold type: merge their \
                     subscriber_emails",
                ));
            }
            seen.push(n.identity());
        }
        failures
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_core::Value;
    use serde_json::json;

    fn notification(threshold: f64, emails: &[&str]) -> BudgetNotification {
        BudgetNotification::builder()
            .notification_type(NotificationType::Actual)
            .comparison_operator(NotificationComparison::GreaterThan)
            .threshold(threshold)
            .subscriber_emails(emails.iter().copied())
            .build()
    }

    #[test]
    fn defaults_round_trip() {
        let args =
            BudgetArgs::builder().limit_amount("100").notifications(vec![notification(80.0, &["a@b.c"])]).build();
        let v = Value::from_serialize(&args).unwrap();
        assert_eq!(
            v.to_json(),
            json!({
                "budget_type": "COST", "limit_amount": "100", "limit_unit": "USD", "time_unit": "MONTHLY",
                "notifications": [{
                    "notification_type": "ACTUAL", "comparison_operator": "GREATER_THAN", "threshold": 80.0,
                    "threshold_type": "PERCENTAGE", "subscriber_emails": ["a@b.c"]
                }]
            })
        );
        let back: BudgetArgs = v.deserialize_into().unwrap();
        assert_eq!(Value::from_serialize(&back).unwrap(), v);
        assert!(cairn_provider_sdk::check_structure(<BudgetArgs as TypedArgs>::SCHEMA, &v).is_empty());
    }

    #[test]
    fn validation_names_the_property_and_the_fix() {
        let args = BudgetArgs::builder()
            .name("a:b")
            .account_id("123")
            .limit_amount("-5")
            .notifications(vec![notification(0.0, &["nobody"]), notification(0.0, &[])])
            .build();
        let text: Vec<String> = args.validate().iter().map(|f| format!("{}: {}", f.property, f.reason)).collect();
        assert_eq!(text.len(), 8, "{text:?}");
        assert!(text[0].starts_with("name: `a:b` is not a valid budget name"), "{text:?}");
        assert!(text[1].starts_with("account_id: `123` is not an account ID"), "{text:?}");
        assert!(text[2].starts_with("limit_amount: `-5` is not a positive amount"), "{text:?}");
        assert!(text[3].starts_with("notifications[0].threshold: 0 is not above 0"), "{text:?}");
        assert!(text[4].starts_with("notifications[0].subscriber_emails[0]: `nobody` is not an e-mail"), "{text:?}");
        assert!(text[5].starts_with("notifications[1].threshold: "), "{text:?}");
        assert!(text[6].starts_with("notifications[1].subscriber_emails: a notification needs 1 to 10"), "{text:?}");
        assert!(text[7].starts_with("notifications[1]: another notification has the same type"), "{text:?}");
    }
}
