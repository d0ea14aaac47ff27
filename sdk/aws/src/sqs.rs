//! `aws:sqs:Queue`: an SQS queue, standard or FIFO, with an optional
//! dead-letter queue and KMS encryption.

use std::collections::BTreeMap;

use cairn_core::schema::TypedArgs;
use cairn_core::{CheckFailure, Input};
use serde::{Deserialize, Serialize};
use typed_builder::TypedBuilder;

use crate::failure;

/// The longest queue name SQS accepts, `.fifo` included.
pub const MAX_QUEUE_NAME: usize = 80;
/// The suffix every FIFO queue name has.
pub const FIFO_SUFFIX: &str = ".fifo";

/// SQS's defaults, which Cairn makes explicit.
const DEFAULT_VISIBILITY_TIMEOUT: i32 = 30;
const DEFAULT_MESSAGE_RETENTION: i32 = 345_600;

fn default_visibility_timeout() -> i32 {
    DEFAULT_VISIBILITY_TIMEOUT
}

fn default_message_retention() -> i32 {
    DEFAULT_MESSAGE_RETENTION
}

/// Where messages go after too many failed receives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TypedBuilder, cairn_core::rust_code::RustLiteral)]
pub struct RedrivePolicy {
    /// The ARN of the dead-letter queue (e.g. another queue's `arn` output).
    #[builder(setter(into))]
    pub dead_letter_target_arn: Input<String>,
    /// Receives of a message before it moves to the dead-letter queue (1 to 1000).
    pub max_receive_count: i32,
}

/// The arguments of an SQS queue. Every setting has SQS's default, so
/// `QueueArgs::builder().build()` is a standard queue as SQS would make it.
///
/// ```
/// use cairn_aws::sqs::{QueueArgs, RedrivePolicy};
/// let jobs = QueueArgs::builder()
///     .visibility_timeout_seconds(120)
///     .redrive_policy(RedrivePolicy::builder()
///         .dead_letter_target_arn("arn:aws:sqs:us-east-1:123456789012:jobs-dlq")
///         .max_receive_count(5)
///         .build())
///     .build();
/// assert!(jobs.validate().is_empty());
/// ```
#[derive(Debug, Clone, Serialize, Deserialize, TypedBuilder, TypedArgs)]
#[args(
    doc = "An SQS queue (provider ID: its URL). Timeouts, retention, delay, long polling, the dead-letter queue, \
          encryption and tags change in place; the name and the FIFO flag are fixed.",
    outputs = QueueOutputs,
    auto_name(property = "name", max_len = MAX_QUEUE_NAME - FIFO_SUFFIX.len())
)]
pub struct QueueArgs {
    /// The queue name; generated from the logical name when absent. A FIFO queue's name gets `.fifo`
    /// appended when it lacks it. Changing it replaces the queue.
    #[builder(default, setter(into, strip_option))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[args(replace)]
    pub name: Option<Input<String>>,
    /// A FIFO queue (exactly-once, ordered per message group). Changing it replaces the queue.
    #[builder(default)]
    #[serde(default)]
    #[args(replace)]
    pub fifo: bool,
    /// Seconds a received message stays hidden from other consumers (0 to 43200, default 30).
    #[builder(default = DEFAULT_VISIBILITY_TIMEOUT)]
    #[serde(default = "default_visibility_timeout")]
    pub visibility_timeout_seconds: i32,
    /// Seconds SQS keeps a message (60 to 1209600, default 345600: four days).
    #[builder(default = DEFAULT_MESSAGE_RETENTION)]
    #[serde(default = "default_message_retention")]
    pub message_retention_seconds: i32,
    /// Seconds every new message is delayed (0 to 900, default 0).
    #[builder(default)]
    #[serde(default)]
    pub delay_seconds: i32,
    /// Seconds a receive waits for a message: long polling (0 to 20, default 0).
    #[builder(default)]
    #[serde(default)]
    pub receive_wait_time_seconds: i32,
    /// The dead-letter queue; none when absent.
    #[builder(default, setter(strip_option))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redrive_policy: Option<RedrivePolicy>,
    /// The KMS key (ID, ARN or alias) encrypting messages; SQS's own encryption when absent.
    #[builder(default, setter(into, strip_option))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_master_key_id: Option<Input<String>>,
    /// Tags.
    #[builder(default, setter(fn transform<K: Into<String>, V: Into<String>>(tags: impl IntoIterator<Item = (K, V)>) -> BTreeMap<String, String> {
        crate::string_map(tags)
    }))]
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

cairn_core::resource! {
    /// An SQS queue, as declared: its URN and typed outputs.
    Queue, token = "aws:sqs:Queue", args = QueueArgs, outputs = QueueOutputs {
        /// The queue URL (the provider ID; what SendMessage and ReceiveMessage take).
        url: String,
        /// The queue ARN (what a redrive policy's `dead_letter_target_arn` and IAM policies take).
        arn: String,
        /// The queue name, `.fifo` included for FIFO queues.
        name: String,
    }
}

/// The name SQS gets for `name`: FIFO queue names end in `.fifo`.
///
/// ```
/// assert_eq!(cairn_aws::sqs::queue_name("jobs", true), "jobs.fifo");
/// assert_eq!(cairn_aws::sqs::queue_name("jobs.fifo", true), "jobs.fifo");
/// assert_eq!(cairn_aws::sqs::queue_name("jobs", false), "jobs");
/// ```
pub fn queue_name(name: &str, fifo: bool) -> String {
    if fifo && !name.ends_with(FIFO_SUFFIX) { format!("{name}{FIFO_SUFFIX}") } else { name.to_owned() }
}

impl QueueArgs {
    /// Checks what SQS would refuse later, with the fix in each message.
    pub fn validate(&self) -> Vec<CheckFailure> {
        let mut failures = Vec::new();
        if let Some(name) = self.name.as_ref().and_then(Input::value) {
            let full = queue_name(name, self.fifo);
            let base = full.strip_suffix(FIFO_SUFFIX).unwrap_or(&full);
            if base.is_empty()
                || full.len() > MAX_QUEUE_NAME
                || !base.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                failures.push(failure(
                    "name",
                    format!(
                        "`{full}` is not a valid queue name: use 1 to {MAX_QUEUE_NAME} letters, digits, `-` or `_` \
                         (`.fifo` included for FIFO queues)"
                    ),
                ));
            } else if !self.fifo && name.ends_with(FIFO_SUFFIX) {
                failures.push(failure(
                    "name",
                    format!("`{name}` ends in .fifo but fifo is false: set fifo to true, or drop the suffix"),
                ));
            }
        }
        let ranges = [
            ("visibility_timeout_seconds", self.visibility_timeout_seconds, 0, 43_200),
            ("message_retention_seconds", self.message_retention_seconds, 60, 1_209_600),
            ("delay_seconds", self.delay_seconds, 0, 900),
            ("receive_wait_time_seconds", self.receive_wait_time_seconds, 0, 20),
        ];
        for (property, value, min, max) in ranges {
            if !(min..=max).contains(&value) {
                failures
                    .push(failure(property, format!("{value} is outside {min} to {max}: set {property} within it")));
            }
        }
        if let Some(redrive) = &self.redrive_policy {
            let count = redrive.max_receive_count;
            if !(1..=1000).contains(&count) {
                failures.push(failure(
                    "redrive_policy.max_receive_count",
                    format!("{count} is outside 1 to 1000: set redrive_policy.max_receive_count within it"),
                ));
            }
            if let Some(arn) = redrive.dead_letter_target_arn.value() {
                if !arn.starts_with("arn:") || !arn.contains(":sqs:") {
                    failures.push(failure(
                        "redrive_policy.dead_letter_target_arn",
                        format!("`{arn}` is not a queue ARN: use the dead-letter queue's `arn` output, not its URL"),
                    ));
                } else if arn.ends_with(FIFO_SUFFIX) != self.fifo {
                    failures.push(failure(
                        "redrive_policy.dead_letter_target_arn",
                        format!(
                            "the dead-letter queue of a {} queue must be {} too: pick a matching queue",
                            if self.fifo { "FIFO" } else { "standard" },
                            if self.fifo { "FIFO" } else { "standard" }
                        ),
                    ));
                }
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

    fn messages(args: &QueueArgs) -> Vec<String> {
        args.validate().iter().map(|f| format!("{}: {}", f.property, f.reason)).collect()
    }

    #[test]
    fn defaults_are_sqs_defaults_and_round_trip() {
        let v = Value::from_serialize(&QueueArgs::builder().build()).unwrap();
        assert_eq!(
            v.to_json(),
            json!({
                "fifo": false, "visibility_timeout_seconds": 30, "message_retention_seconds": 345600,
                "delay_seconds": 0, "receive_wait_time_seconds": 0, "tags": {}
            })
        );
        let back: QueueArgs = v.deserialize_into().unwrap();
        assert_eq!(Value::from_serialize(&back).unwrap(), v);
        assert!(cairn_provider_sdk::check_structure(<QueueArgs as TypedArgs>::SCHEMA, &v).is_empty());

        let dlq = Value::from_json(&json!({
            "redrive_policy": {"dead_letter_target_arn": {"$cairn.unknown": true}, "max_receive_count": 3}
        }));
        let seen: QueueArgs = dlq.deserialize_into().unwrap();
        assert!(matches!(seen.redrive_policy.unwrap().dead_letter_target_arn, Input::Unknown));
    }

    #[test]
    fn validation_names_the_property_and_the_fix() {
        let args = QueueArgs::builder()
            .name("jobs.fifo")
            .visibility_timeout_seconds(50_000)
            .receive_wait_time_seconds(21)
            .redrive_policy(
                RedrivePolicy::builder().dead_letter_target_arn("https://sqs/q").max_receive_count(0).build(),
            )
            .build();
        let text = messages(&args);
        assert_eq!(text.len(), 5, "{text:?}");
        assert!(text[0].starts_with("name: `jobs.fifo` ends in .fifo but fifo is false"), "{text:?}");
        assert!(text[1].starts_with("visibility_timeout_seconds: 50000 is outside 0 to 43200"), "{text:?}");
        assert!(text[2].starts_with("receive_wait_time_seconds: 21 is outside 0 to 20"), "{text:?}");
        assert!(text[3].starts_with("redrive_policy.max_receive_count: 0 is outside 1 to 1000"), "{text:?}");
        assert!(
            text[4].starts_with("redrive_policy.dead_letter_target_arn: `https://sqs/q` is not a queue ARN"),
            "{text:?}"
        );

        let fifo = QueueArgs::builder()
            .name("jobs")
            .fifo(true)
            .redrive_policy(
                RedrivePolicy::builder()
                    .dead_letter_target_arn("arn:aws:sqs:us-east-1:123456789012:dlq")
                    .max_receive_count(3)
                    .build(),
            )
            .build();
        assert_eq!(
            messages(&fifo),
            ["redrive_policy.dead_letter_target_arn: the dead-letter queue of a FIFO queue must be FIFO too: \
              pick a matching queue"]
        );
        let bad_name = QueueArgs::builder().name("has space").build();
        assert!(messages(&bad_name)[0].starts_with("name: `has space` is not a valid queue name"));
    }

    #[test]
    fn generated_names_leave_room_for_the_fifo_suffix() {
        let auto = <QueueArgs as TypedArgs>::SCHEMA.auto_name.unwrap();
        assert_eq!(auto.max_len + FIFO_SUFFIX.len(), MAX_QUEUE_NAME);
    }
}
