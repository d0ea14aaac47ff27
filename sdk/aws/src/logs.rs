//! `aws:cloudwatch:LogGroup`: a CloudWatch Logs log group with its
//! retention, encryption key and tags.

use std::collections::BTreeMap;

use cairn_core::schema::TypedArgs;
use cairn_core::{CheckFailure, Input};
use serde::{Deserialize, Serialize};
use typed_builder::TypedBuilder;

use crate::failure;

/// The longest log group name CloudWatch Logs accepts.
const MAX_LOG_GROUP_NAME: usize = 512;

/// The retention periods CloudWatch Logs accepts, in days.
pub const RETENTION_DAYS: &[i32] =
    &[1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

/// The arguments of a log group.
///
/// ```
/// use cairn_aws::logs::LogGroupArgs;
/// let audit = LogGroupArgs::builder().name("/ai/audit").retention_in_days(90).build();
/// assert!(audit.validate().is_empty());
/// ```
#[derive(Debug, Clone, Serialize, Deserialize, TypedBuilder, TypedArgs)]
#[args(
    doc = "A CloudWatch Logs log group (provider ID: its name). Retention, the KMS key and tags change in place; \
          the name is fixed.",
    outputs = LogGroupOutputs,
    auto_name(property = "name", max_len = MAX_LOG_GROUP_NAME)
)]
pub struct LogGroupArgs {
    /// The log group name; generated from the logical name when absent. Changing it replaces the group.
    #[builder(default, setter(into, strip_option))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[args(replace)]
    pub name: Option<Input<String>>,
    /// Days events are kept (one of [`RETENTION_DAYS`]); forever when absent.
    #[builder(default, setter(strip_option))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_in_days: Option<i32>,
    /// The ARN of the KMS key encrypting the events; CloudWatch's own encryption when absent.
    #[builder(default, setter(into, strip_option))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<Input<String>>,
    /// Tags.
    #[builder(default, setter(fn transform<K: Into<String>, V: Into<String>>(tags: impl IntoIterator<Item = (K, V)>) -> BTreeMap<String, String> {
        crate::string_map(tags)
    }))]
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

cairn_core::resource! {
    /// A CloudWatch Logs log group, as declared: its URN and typed outputs.
    LogGroup, token = "aws:cloudwatch:LogGroup", args = LogGroupArgs, outputs = LogGroupOutputs {
        /// The log group ARN, without the `:*` suffix DescribeLogGroups shows (what IAM and tagging take).
        arn: String,
        /// The log group name.
        name: String,
    }
}

impl LogGroupArgs {
    /// Checks what CloudWatch Logs would refuse later, with the fix in each message.
    pub fn validate(&self) -> Vec<CheckFailure> {
        let mut failures = Vec::new();
        if let Some(name) = self.name.as_ref().and_then(Input::value) {
            let chars_ok = name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '/' | '.' | '#'));
            if name.is_empty() || name.len() > MAX_LOG_GROUP_NAME || !chars_ok {
                failures.push(failure(
                    "name",
                    format!(
                        "`{name}` is not a valid log group name: use 1 to {MAX_LOG_GROUP_NAME} letters, digits, \
                         `_`, `-`, `/`, `.` or `#`"
                    ),
                ));
            }
        }
        if let Some(days) = self.retention_in_days
            && !RETENTION_DAYS.contains(&days)
        {
            let nearest = RETENTION_DAYS.iter().copied().min_by_key(|d| (d - days).abs()).unwrap_or(1);
            failures.push(failure(
                "retention_in_days",
                format!(
                    "{days} days is not a retention CloudWatch Logs offers: use one of {RETENTION_DAYS:?} \
                     (nearest: {nearest}), or remove it to keep events forever"
                ),
            ));
        }
        if let Some(key) = self.kms_key_id.as_ref().and_then(Input::value)
            && !(key.starts_with("arn:") && key.contains(":kms:"))
        {
            failures.push(failure(
                "kms_key_id",
                format!(
                    "`{key}` is not a KMS key ARN: CloudWatch Logs needs the key's ARN (Key.arn), not its ID or alias"
                ),
            ));
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
    fn round_trips_and_matches_the_schema() {
        let args = LogGroupArgs::builder().name("/ai/app").retention_in_days(30).tags([("team", "ml")]).build();
        let v = Value::from_serialize(&args).unwrap();
        assert_eq!(v.to_json(), json!({"name": "/ai/app", "retention_in_days": 30, "tags": {"team": "ml"}}));
        let back: LogGroupArgs = v.deserialize_into().unwrap();
        assert_eq!(Value::from_serialize(&back).unwrap(), v);
        assert!(cairn_provider_sdk::check_structure(<LogGroupArgs as TypedArgs>::SCHEMA, &v).is_empty());
        assert_eq!(
            <LogGroupArgs as TypedArgs>::SCHEMA.outputs.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
            ["arn", "name"]
        );
    }

    #[test]
    fn validation_names_the_property_and_the_fix() {
        let args = LogGroupArgs::builder().name("bad name").retention_in_days(10).kms_key_id("alias/logs").build();
        let text: Vec<String> = args.validate().iter().map(|f| format!("{}: {}", f.property, f.reason)).collect();
        assert_eq!(text.len(), 3, "{text:?}");
        assert!(text[0].starts_with("name: `bad name` is not a valid log group name"), "{text:?}");
        assert!(
            text[1].starts_with("retention_in_days: 10 days is not a retention") && text[1].contains("nearest: 7"),
            "{text:?}"
        );
        assert!(text[2].starts_with("kms_key_id: `alias/logs` is not a KMS key ARN"), "{text:?}");
        let ok = LogGroupArgs::builder()
            .retention_in_days(3653)
            .kms_key_id("arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab")
            .build();
        assert!(ok.validate().is_empty());
    }
}
