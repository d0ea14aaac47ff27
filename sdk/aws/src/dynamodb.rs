//! `aws:dynamodb:Table`: a DynamoDB table with its key, capacity mode,
//! point-in-time recovery, encryption, time to live and deletion protection.

use std::collections::BTreeMap;

use cairn_core::schema::TypedArgs;
use cairn_core::{CheckFailure, Input};
use serde::{Deserialize, Serialize};
use typed_builder::TypedBuilder;

use crate::failure;

/// The longest table name DynamoDB accepts.
const MAX_TABLE_NAME: usize = 255;

aws_enum! {
    /// The type of a key attribute.
    AttributeType {
        /// A string.
        S = "S",
        /// A number.
        N = "N",
        /// Binary data.
        B = "B",
    }
}

aws_enum! {
    /// How reads and writes are paid for.
    #[derive(Default)]
    BillingMode {
        /// On demand: per request, no capacity to plan.
        #[default]
        PayPerRequest = "PAY_PER_REQUEST",
        /// Provisioned read and write capacity units.
        Provisioned = "PROVISIONED",
    }
}

/// A key attribute: its name and type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TypedBuilder, cairn_core::rust_code::RustLiteral)]
pub struct KeyAttribute {
    /// The attribute name.
    #[builder(setter(into))]
    pub name: String,
    /// Its type: S, N or B.
    pub attribute_type: AttributeType,
}

impl KeyAttribute {
    /// A key attribute called `name` of type `attribute_type`.
    pub fn new(name: impl Into<String>, attribute_type: AttributeType) -> Self {
        Self { name: name.into(), attribute_type }
    }
}

/// Encryption with a KMS key instead of the key DynamoDB owns.
#[derive(
    Debug, Clone, PartialEq, Default, Serialize, Deserialize, TypedBuilder, cairn_core::rust_code::RustLiteral,
)]
pub struct TableSse {
    /// The ARN of a customer managed KMS key; the AWS managed key (`alias/aws/dynamodb`) when absent.
    #[builder(default, setter(into, strip_option))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key_arn: Option<Input<String>>,
}

/// The arguments of a DynamoDB table.
///
/// ```
/// use cairn_aws::dynamodb::{AttributeType, KeyAttribute, TableArgs};
/// let sessions = TableArgs::builder()
///     .hash_key(KeyAttribute::new("user_id", AttributeType::S))
///     .range_key(KeyAttribute::new("started_at", AttributeType::N))
///     .ttl_attribute("expires_at")
///     .build();
/// assert!(sessions.point_in_time_recovery && sessions.validate().is_empty());
/// ```
#[derive(Debug, Clone, Serialize, Deserialize, TypedBuilder, TypedArgs)]
#[args(
    doc = "A DynamoDB table (provider ID: its name). Capacity, point-in-time recovery, encryption, time to live, \
          deletion protection and tags change in place; the name and the key schema are fixed.",
    outputs = TableOutputs,
    auto_name(property = "name", max_len = MAX_TABLE_NAME)
)]
pub struct TableArgs {
    /// The table name; generated from the logical name when absent. Changing it replaces the table.
    #[builder(default, setter(into, strip_option))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[args(replace)]
    pub name: Option<Input<String>>,
    /// The partition key. Changing it replaces the table.
    #[args(replace)]
    pub hash_key: KeyAttribute,
    /// The sort key, if any. Changing it replaces the table.
    #[builder(default, setter(strip_option))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[args(replace)]
    pub range_key: Option<KeyAttribute>,
    /// On demand (default) or provisioned capacity, changed in place.
    #[builder(default)]
    #[serde(default)]
    pub billing_mode: BillingMode,
    /// Read capacity units (PROVISIONED only), changed in place.
    #[builder(default, setter(strip_option))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_capacity: Option<i64>,
    /// Write capacity units (PROVISIONED only), changed in place.
    #[builder(default, setter(strip_option))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write_capacity: Option<i64>,
    /// Continuous backups with point-in-time recovery (on unless turned off), changed in place.
    #[builder(default = true)]
    #[serde(default = "crate::default_true")]
    pub point_in_time_recovery: bool,
    /// Encryption with a KMS key; the key DynamoDB owns when absent. Changed in place.
    #[builder(default, setter(strip_option))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sse: Option<TableSse>,
    /// The attribute holding each item's expiry time (epoch seconds); no expiry when absent. Changed in place.
    #[builder(default, setter(into, strip_option))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_attribute: Option<String>,
    /// Refuse deletion (off unless turned on): turn it off, apply, then delete.
    #[builder(default)]
    #[serde(default)]
    pub deletion_protection: bool,
    /// Tags.
    #[builder(default, setter(fn transform<K: Into<String>, V: Into<String>>(tags: impl IntoIterator<Item = (K, V)>) -> BTreeMap<String, String> {
        crate::string_map(tags)
    }))]
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

cairn_core::resource! {
    /// A DynamoDB table, as declared: its URN and typed outputs.
    Table, token = "aws:dynamodb:Table", args = TableArgs, outputs = TableOutputs {
        /// The table ARN (what IAM policies take).
        arn: String,
        /// The table name (the provider ID).
        name: String,
        /// The ARN of the table's latest stream; none when streams are off.
        stream_arn: Option<String>,
    }
}

impl TableArgs {
    /// Checks what DynamoDB would refuse later, with the fix in each message.
    pub fn validate(&self) -> Vec<CheckFailure> {
        let mut failures = Vec::new();
        if let Some(name) = self.name.as_ref().and_then(Input::value) {
            let chars_ok = name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
            if !(3..=MAX_TABLE_NAME).contains(&name.len()) || !chars_ok {
                failures.push(failure(
                    "name",
                    format!(
                        "`{name}` is not a valid table name: use 3 to {MAX_TABLE_NAME} letters, digits, `_`, `-` or `.`"
                    ),
                ));
            }
        }
        if self.hash_key.name.is_empty() {
            failures.push(failure("hash_key.name", "the partition key has no name: set hash_key.name"));
        }
        if let Some(range) = &self.range_key {
            if range.name.is_empty() {
                failures.push(failure("range_key.name", "the sort key has no name: set range_key.name"));
            } else if range.name == self.hash_key.name {
                failures.push(failure(
                    "range_key.name",
                    format!("`{}` is already the partition key: give the sort key another attribute", range.name),
                ));
            }
        }
        match self.billing_mode {
            BillingMode::Provisioned => {
                for (property, units) in
                    [("read_capacity", self.read_capacity), ("write_capacity", self.write_capacity)]
                {
                    match units {
                        None => failures.push(failure(
                            property,
                            format!("a PROVISIONED table needs {property}: set it (1 or more), or use PAY_PER_REQUEST"),
                        )),
                        Some(n) if n < 1 => {
                            failures.push(failure(property, format!("{n} is below 1: set {property} to 1 or more")));
                        }
                        Some(_) => {}
                    }
                }
            }
            BillingMode::PayPerRequest => {
                for (property, units) in
                    [("read_capacity", self.read_capacity), ("write_capacity", self.write_capacity)]
                {
                    if units.is_some() {
                        failures.push(failure(
                            property,
                            format!("{property} applies only to PROVISIONED tables: remove it, or set billing_mode"),
                        ));
                    }
                }
            }
        }
        if let Some(key) = self.sse.as_ref().and_then(|s| s.kms_key_arn.as_ref()).and_then(Input::value)
            && !(key.starts_with("arn:") && key.contains(":kms:"))
        {
            failures.push(failure(
                "sse.kms_key_arn",
                format!("`{key}` is not a KMS key ARN: DynamoDB reports the key's ARN, so declare it (Key.arn)"),
            ));
        }
        if self.ttl_attribute.as_deref() == Some("") {
            failures.push(failure("ttl_attribute", "the TTL attribute is empty: name it, or remove ttl_attribute"));
        }
        failures
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_core::Value;
    use serde_json::json;

    fn messages(args: &TableArgs) -> Vec<String> {
        args.validate().iter().map(|f| format!("{}: {}", f.property, f.reason)).collect()
    }

    #[test]
    fn defaults_round_trip() {
        let args = TableArgs::builder().hash_key(KeyAttribute::new("pk", AttributeType::S)).build();
        let v = Value::from_serialize(&args).unwrap();
        assert_eq!(
            v.to_json(),
            json!({
                "hash_key": {"name": "pk", "attribute_type": "S"}, "billing_mode": "PAY_PER_REQUEST",
                "point_in_time_recovery": true, "deletion_protection": false, "tags": {}
            })
        );
        let back: TableArgs = v.deserialize_into().unwrap();
        assert_eq!(Value::from_serialize(&back).unwrap(), v);
        assert!(cairn_provider_sdk::check_structure(<TableArgs as TypedArgs>::SCHEMA, &v).is_empty());
        let missing =
            cairn_provider_sdk::check_structure(<TableArgs as TypedArgs>::SCHEMA, &Value::from_json(&json!({})));
        assert_eq!(missing.len(), 1, "hash_key is required");
    }

    #[test]
    fn validation_names_the_property_and_the_fix() {
        let args = TableArgs::builder()
            .name("t")
            .hash_key(KeyAttribute::new("pk", AttributeType::S))
            .range_key(KeyAttribute::new("pk", AttributeType::N))
            .billing_mode(BillingMode::Provisioned)
            .read_capacity(0)
            .sse(TableSse::builder().kms_key_arn("alias/t").build())
            .build();
        let text = messages(&args);
        assert_eq!(text.len(), 5, "{text:?}");
        assert!(text[0].starts_with("name: `t` is not a valid table name"), "{text:?}");
        assert!(text[1].starts_with("range_key.name: `pk` is already the partition key"), "{text:?}");
        assert!(text[2].starts_with("read_capacity: 0 is below 1"), "{text:?}");
        assert!(text[3].starts_with("write_capacity: a PROVISIONED table needs write_capacity"), "{text:?}");
        assert!(text[4].starts_with("sse.kms_key_arn: `alias/t` is not a KMS key ARN"), "{text:?}");
        let on_demand =
            TableArgs::builder().hash_key(KeyAttribute::new("pk", AttributeType::B)).write_capacity(5).build();
        assert!(messages(&on_demand)[0].starts_with("write_capacity: write_capacity applies only to PROVISIONED"));
    }
}
