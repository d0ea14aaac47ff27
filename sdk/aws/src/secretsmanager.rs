//! `aws:secretsmanager:Secret`: a secret in AWS Secrets Manager.
//!
//! The value is write-only: it must be a secret output (from
//! `config.require_secret`, another stack's secret, or `.as_secret()`), so it
//! is sealed in the state and never shown; Read never fetches it back.
//! Workloads read it from Secrets Manager by ARN, with an IAM grant on that
//! ARN alone: components take the ARN, never the value.

use std::collections::BTreeMap;

use cairn_core::schema::TypedArgs;
use cairn_core::{CheckFailure, Input};
use serde::{Deserialize, Serialize};
use typed_builder::TypedBuilder;

use crate::failure;

/// The longest secret name Secrets Manager accepts.
const MAX_SECRET_NAME: usize = 512;

/// Days a deleted secret can be restored unless the program says otherwise.
pub const DEFAULT_RECOVERY_WINDOW_DAYS: i32 = 7;

fn default_recovery_window() -> i32 {
    DEFAULT_RECOVERY_WINDOW_DAYS
}

/// The arguments of a secret.
///
/// ```
/// use cairn_aws::secretsmanager::SecretArgs;
/// use cairn_core::Output;
/// let token = SecretArgs::builder()
///     .description("the alerting webhook")
///     .secret_string(Output::secret("https://hooks.example/T0".to_owned()))
///     .build();
/// assert_eq!(token.recovery_window_days, 7);
/// ```
#[derive(Debug, Clone, Serialize, Deserialize, TypedBuilder, TypedArgs)]
#[args(
    doc = "A Secrets Manager secret (provider ID: its ARN). The description, key, value (write-only, a secret \
          output) and tags change in place; the name is fixed. Deleting it schedules the deletion after \
          `recovery_window_days` (0: at once).",
    outputs = SecretOutputs,
    auto_name(property = "name", max_len = MAX_SECRET_NAME)
)]
pub struct SecretArgs {
    /// The secret's name; generated from the logical name when absent. Changing it replaces the secret.
    #[builder(default, setter(into, strip_option))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[args(replace)]
    pub name: Option<Input<String>>,
    /// A description, changed in place.
    #[builder(default, setter(into, strip_option))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The KMS key (ARN or ID) the value is encrypted with; Secrets Manager's own key when absent.
    #[builder(default, setter(into, strip_option))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<Input<String>>,
    /// The value: a secret output (a plain value is refused at Check). Write-only: changed in
    /// place as a new version, never read back.
    #[builder(default, setter(into, strip_option))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[args(secret)]
    pub secret_string: Option<Input<String>>,
    /// Days a deleted secret can still be restored (7 to 30), or 0 to delete it at once.
    #[builder(default = DEFAULT_RECOVERY_WINDOW_DAYS)]
    #[serde(default = "default_recovery_window")]
    pub recovery_window_days: i32,
    /// Tags.
    #[builder(default, setter(fn transform<K: Into<String>, V: Into<String>>(tags: impl IntoIterator<Item = (K, V)>) -> BTreeMap<String, String> {
        crate::string_map(tags)
    }))]
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

cairn_core::resource! {
    /// A Secrets Manager secret, as declared: its URN and typed outputs.
    Secret, token = "aws:secretsmanager:Secret", args = SecretArgs, outputs = SecretOutputs {
        /// The secret's ARN (what IAM grants and workloads name).
        arn: String,
        /// The secret's name.
        name: String,
    }
}

impl SecretArgs {
    /// Checks what Secrets Manager would refuse later, with the fix in each message.
    pub fn validate(&self) -> Vec<CheckFailure> {
        let mut failures = Vec::new();
        if let Some(name) = self.name.as_ref().and_then(Input::value) {
            let ok = name.chars().all(|c| c.is_ascii_alphanumeric() || "/_+=.@-".contains(c));
            if name.is_empty() || name.len() > MAX_SECRET_NAME || !ok {
                failures.push(failure(
                    "name",
                    format!(
                        "`{name}` is not a valid secret name: use 1 to {MAX_SECRET_NAME} letters, digits and /_+=.@-"
                    ),
                ));
            }
        }
        if self.recovery_window_days != 0 && !(7..=30).contains(&self.recovery_window_days) {
            failures.push(failure(
                "recovery_window_days",
                format!(
                    "{} is not a recovery window: give 7 to 30 days, or 0 to delete at once",
                    self.recovery_window_days
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

    #[test]
    fn a_plain_value_is_refused_and_a_secret_one_accepted() {
        // The schema marks the value secret, and the SDK's Check holds every secret property to it.
        let check = |v: Value| {
            cairn_provider_sdk::check_structure(SecretArgs::SCHEMA, &[("secret_string", v)].into_iter().collect())
        };
        let refused = check(Value::from("hunter2"));
        assert_eq!(refused[0].property.to_string(), "secret_string");
        assert!(refused[0].reason.contains("not marked secret"));
        assert!(check(Value::Secret(Box::new("hunter2".into()))).is_empty());
        assert!(check(Value::Unknown).is_empty());
    }

    #[test]
    fn the_recovery_window_is_7_to_30_or_0() {
        let mut a = SecretArgs::builder().build();
        assert!(a.validate().is_empty());
        a.recovery_window_days = 3;
        assert!(a.validate()[0].reason.contains("7 to 30 days"));
        a.recovery_window_days = 0;
        assert!(a.validate().is_empty());
    }
}
