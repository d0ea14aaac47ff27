//! `aws:kms:Key` and `aws:kms:Alias`: customer managed KMS keys and their aliases.

use std::collections::BTreeMap;

use cairn_core::schema::TypedArgs;
use cairn_core::{CheckFailure, Input, PropertyPath};
use serde::{Deserialize, Serialize};
use typed_builder::TypedBuilder;

use crate::failure;
use crate::policy::PolicyDocument;

/// The shortest waiting period before KMS deletes a key, in days.
pub const MIN_DELETION_WINDOW_DAYS: i32 = 7;
/// The longest waiting period before KMS deletes a key, in days (also the default).
pub const MAX_DELETION_WINDOW_DAYS: i32 = 30;
/// The longest alias name KMS accepts, `alias/` included.
const MAX_ALIAS_NAME: usize = 256;

aws_enum! {
    /// What a key is for.
    #[derive(Default)]
    KeyUsage {
        /// Encrypt and decrypt (symmetric or RSA keys).
        #[default]
        EncryptDecrypt = "ENCRYPT_DECRYPT",
        /// Sign and verify (RSA or elliptic-curve keys).
        SignVerify = "SIGN_VERIFY",
        /// Generate and verify MACs (HMAC keys).
        GenerateVerifyMac = "GENERATE_VERIFY_MAC",
    }
}

aws_enum! {
    /// The kind of key material.
    #[derive(Default)]
    KeySpec {
        /// A 256-bit AES-GCM key.
        #[default]
        SymmetricDefault = "SYMMETRIC_DEFAULT",
        /// RSA, 2048 bits.
        Rsa2048 = "RSA_2048",
        /// RSA, 4096 bits.
        Rsa4096 = "RSA_4096",
        /// Elliptic curve NIST P-256.
        EccNistP256 = "ECC_NIST_P256",
        /// HMAC with a 256-bit key.
        Hmac256 = "HMAC_256",
    }
}

impl KeySpec {
    /// The usages KMS allows for this key material.
    fn allows(self, usage: KeyUsage) -> bool {
        match self {
            KeySpec::SymmetricDefault => usage == KeyUsage::EncryptDecrypt,
            KeySpec::Rsa2048 | KeySpec::Rsa4096 => matches!(usage, KeyUsage::EncryptDecrypt | KeyUsage::SignVerify),
            KeySpec::EccNistP256 => usage == KeyUsage::SignVerify,
            KeySpec::Hmac256 => usage == KeyUsage::GenerateVerifyMac,
        }
    }
}

fn default_deletion_window() -> i32 {
    MAX_DELETION_WINDOW_DAYS
}

/// The arguments of a customer managed KMS key.
///
/// ```
/// use cairn_aws::kms::KeyArgs;
/// let key = KeyArgs::builder().description("artifact encryption").deletion_window_days(7).build();
/// assert!(key.enable_key_rotation && key.validate().is_empty());
/// ```
#[derive(Debug, Clone, Serialize, Deserialize, TypedBuilder, TypedArgs)]
#[args(
    doc = "A customer managed KMS key. Deleting it schedules the deletion after `deletion_window_days`; a key \
          pending deletion counts as gone. Usage and key material are fixed; the rest changes in place.",
    outputs = KeyOutputs,
    warnings = crate::policy::warnings
)]
pub struct KeyArgs {
    /// A description, changed in place.
    #[builder(default, setter(into, strip_option))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// What the key is for (`ENCRYPT_DECRYPT` unless set). Changing it replaces the key.
    #[builder(default)]
    #[serde(default)]
    #[args(replace)]
    pub key_usage: KeyUsage,
    /// The kind of key material (`SYMMETRIC_DEFAULT` unless set). Changing it replaces the key.
    #[builder(default)]
    #[serde(default)]
    #[args(replace)]
    pub key_spec: KeySpec,
    /// Rotate the key material every year (on unless turned off; symmetric keys only).
    #[builder(default = true)]
    #[serde(default = "crate::default_true")]
    pub enable_key_rotation: bool,
    /// Days KMS waits before deleting the key once it is deleted here (7 to 30, default 30).
    #[builder(default = MAX_DELETION_WINDOW_DAYS)]
    #[serde(default = "default_deletion_window")]
    pub deletion_window_days: i32,
    /// The key policy; KMS's default (the account may use the key through IAM) when absent.
    #[builder(default, setter(strip_option))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<PolicyDocument>,
    /// Tags.
    #[builder(default, setter(fn transform<K: Into<String>, V: Into<String>>(tags: impl IntoIterator<Item = (K, V)>) -> BTreeMap<String, String> {
        crate::string_map(tags)
    }))]
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

cairn_core::resource! {
    /// A KMS key, as declared: its URN and typed outputs.
    Key, token = "aws:kms:Key", args = KeyArgs, outputs = KeyOutputs {
        /// The key ID (what an alias's `target_key_id` takes).
        key_id: String,
        /// The key ARN (what log groups, queues and buckets take).
        arn: String,
    }
}

impl KeyArgs {
    /// Checks what KMS would refuse later, with the fix in each message.
    pub fn validate(&self) -> Vec<CheckFailure> {
        let mut failures = Vec::new();
        let days = self.deletion_window_days;
        if !(MIN_DELETION_WINDOW_DAYS..=MAX_DELETION_WINDOW_DAYS).contains(&days) {
            failures.push(failure(
                "deletion_window_days",
                format!(
                    "{days} days is outside what KMS allows: set deletion_window_days between \
                     {MIN_DELETION_WINDOW_DAYS} and {MAX_DELETION_WINDOW_DAYS}"
                ),
            ));
        }
        if !self.key_spec.allows(self.key_usage) {
            failures.push(failure(
                "key_usage",
                format!("a {} key cannot be used for {}: change key_usage or key_spec", self.key_spec, self.key_usage),
            ));
        }
        if self.enable_key_rotation && self.key_spec != KeySpec::SymmetricDefault {
            failures.push(failure(
                "enable_key_rotation",
                format!(
                    "KMS rotates only SYMMETRIC_DEFAULT keys, not {}: set enable_key_rotation to false",
                    self.key_spec
                ),
            ));
        }
        if let Some(policy) = &self.policy {
            if policy.statement.is_empty() {
                failures.push(failure(
                    "policy.statement",
                    "the key policy has no statements: add one, or remove the policy to get KMS's default",
                ));
            }
            for (i, s) in policy.statement.iter().enumerate() {
                if s.principal.is_none() {
                    failures.push(failure(
                        &format!("policy.statement[{i}].principal"),
                        "a key policy statement must name who it applies to: set principal, e.g. \
                         Principal::aws(\"arn:aws:iam::ACCOUNT:root\")",
                    ));
                }
            }
        }
        failures
    }
}

/// The arguments of a KMS alias.
///
/// ```
/// use cairn_aws::kms::AliasArgs;
/// let alias = AliasArgs::builder().name("alias/artifacts").target_key_id("1234abcd-12ab-34cd-56ef-1234567890ab").build();
/// assert!(alias.validate().is_empty());
/// ```
#[derive(Debug, Clone, Serialize, Deserialize, TypedBuilder, TypedArgs)]
#[args(
    doc = "A KMS alias (provider ID: the alias name). It is pointed at another key in place; a new name replaces it.",
    outputs = AliasOutputs
)]
pub struct AliasArgs {
    /// The alias, starting with `alias/`. Changing it replaces the alias.
    #[builder(setter(into))]
    #[args(replace)]
    pub name: String,
    /// The ID (or ARN) of the key the alias points to, changed in place.
    #[builder(setter(into))]
    pub target_key_id: Input<String>,
}

cairn_core::resource! {
    /// A KMS alias, as declared: its URN and typed outputs.
    Alias, token = "aws:kms:Alias", args = AliasArgs, outputs = AliasOutputs {
        /// The alias name, `alias/...`.
        name: String,
        /// The alias ARN.
        arn: String,
        /// The ID of the key it points to.
        target_key_id: String,
    }
}

impl AliasArgs {
    /// Checks what KMS would refuse later, with the fix in each message.
    pub fn validate(&self) -> Vec<CheckFailure> {
        let mut failures = Vec::new();
        let name = &self.name;
        let rest = name.strip_prefix("alias/").unwrap_or_default();
        let chars_ok = rest.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '-'));
        if !name.starts_with("alias/") || rest.is_empty() || !chars_ok || name.len() > MAX_ALIAS_NAME {
            failures.push(failure(
                "name",
                format!(
                    "`{name}` is not a valid alias: write alias/NAME with letters, digits, `/`, `_` or `-`, \
                     at most {MAX_ALIAS_NAME} characters"
                ),
            ));
        } else if name.starts_with("alias/aws/") {
            failures.push(failure("name", format!("`{name}` is reserved for AWS managed keys: choose another name")));
        }
        if let Some(target) = self.target_key_id.value()
            && target.starts_with("alias/")
        {
            failures.push(failure(
                "target_key_id",
                format!("`{target}` is an alias: aliases must point to a key ID or key ARN (Key.key_id)"),
            ));
        }
        failures
    }
}

impl crate::policy::PolicyDocuments for KeyArgs {
    /// The key policy with the path of its property (Check scans it for wildcards).
    fn policy_documents(&self) -> Vec<(PropertyPath, &PolicyDocument)> {
        self.policy.iter().map(|p| (PropertyPath::root().key("policy"), p)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Statement;
    use cairn_core::Value;
    use serde_json::json;

    fn messages(failures: &[CheckFailure]) -> Vec<String> {
        failures.iter().map(|f| format!("{}: {}", f.property, f.reason)).collect()
    }

    #[test]
    fn key_defaults_round_trip() {
        let v = Value::from_serialize(&KeyArgs::builder().build()).unwrap();
        assert_eq!(
            v.to_json(),
            json!({
                "key_usage": "ENCRYPT_DECRYPT", "key_spec": "SYMMETRIC_DEFAULT", "enable_key_rotation": true,
                "deletion_window_days": 30, "tags": {}
            })
        );
        let back: KeyArgs = v.deserialize_into().unwrap();
        assert_eq!(Value::from_serialize(&back).unwrap(), v);
        assert!(cairn_provider_sdk::check_structure(<KeyArgs as TypedArgs>::SCHEMA, &v).is_empty());
        let sparse: KeyArgs = Value::from_json(&json!({})).deserialize_into().unwrap();
        assert!(sparse.enable_key_rotation && sparse.deletion_window_days == 30);
    }

    #[test]
    fn key_validation_names_the_property_and_the_fix() {
        let args = KeyArgs::builder()
            .deletion_window_days(3)
            .key_spec(KeySpec::EccNistP256)
            .policy(PolicyDocument::builder().statement(vec![Statement::allow(["kms:Decrypt"], ["*"])]).build())
            .build();
        let text = messages(&args.validate());
        assert_eq!(text.len(), 4, "{text:?}");
        assert!(text[0].starts_with("deletion_window_days: 3 days is outside"), "{text:?}");
        assert!(text[1].starts_with("key_usage: a ECC_NIST_P256 key cannot be used for ENCRYPT_DECRYPT"), "{text:?}");
        assert!(text[2].starts_with("enable_key_rotation: KMS rotates only SYMMETRIC_DEFAULT keys"), "{text:?}");
        assert!(text[3].starts_with("policy.statement[0].principal: "), "{text:?}");
        let signing = KeyArgs::builder()
            .key_usage(KeyUsage::SignVerify)
            .key_spec(KeySpec::Rsa2048)
            .enable_key_rotation(false)
            .build();
        assert!(signing.validate().is_empty());
    }

    #[test]
    fn alias_names_must_be_aliases_and_targets_keys() {
        let bad = AliasArgs::builder().name("artifacts").target_key_id("alias/other").build();
        let text = messages(&bad.validate());
        assert_eq!(text.len(), 2, "{text:?}");
        assert!(text[0].starts_with("name: `artifacts` is not a valid alias"), "{text:?}");
        assert!(text[1].starts_with("target_key_id: `alias/other` is an alias"), "{text:?}");
        let reserved = AliasArgs::builder().name("alias/aws/s3").target_key_id("k").build();
        assert!(messages(&reserved.validate())[0].contains("reserved"));
        let v = Value::from_serialize(&AliasArgs::builder().name("alias/a").target_key_id("k").build()).unwrap();
        assert!(cairn_provider_sdk::check_structure(<AliasArgs as TypedArgs>::SCHEMA, &v).is_empty());
    }

    #[test]
    fn enums_use_aws_strings() {
        for u in KeyUsage::ALL {
            assert_eq!(KeyUsage::from_aws(u.as_str()), Some(*u));
        }
        for s in KeySpec::ALL {
            assert_eq!(KeySpec::from_aws(s.as_str()), Some(*s));
        }
        assert_eq!(KeySpec::from_aws("ECC_SECG_P256K1"), None);
    }
}
