//! `aws:s3:Bucket`: an S3 bucket with safe defaults (versioned, encrypted,
//! public access blocked).

use std::collections::BTreeMap;

use cairn_core::schema::TypedArgs;
use cairn_core::{CheckFailure, Input, PropertyPath};
use serde::{Deserialize, Serialize};
use typed_builder::TypedBuilder;

use crate::failure;
use crate::policy::{Effect, PolicyDocument};

/// The longest bucket name S3 accepts.
const MAX_BUCKET_NAME: usize = 63;

aws_enum! {
    /// The server-side encryption applied to new objects.
    #[derive(Default)]
    SseAlgorithm {
        /// SSE-S3: keys managed by S3.
        #[default]
        Aes256 = "AES256",
        /// SSE-KMS: keys in AWS KMS.
        AwsKms = "aws:kms",
    }
}

/// Default encryption of a bucket.
#[derive(
    Debug, Clone, PartialEq, Default, Serialize, Deserialize, TypedBuilder, cairn_core::rust_code::RustLiteral,
)]
pub struct BucketEncryption {
    /// The algorithm; SSE-S3 (`AES256`) unless set.
    #[builder(default)]
    #[serde(default)]
    pub algorithm: SseAlgorithm,
    /// The KMS key ID or ARN (only with `aws:kms`; the AWS-managed key when absent); it may be
    /// another resource's output, such as a key's `arn`.
    #[builder(default, setter(into, strip_option))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<Input<String>>,
}

/// The bucket's public access block. Every flag defaults to `true`: nothing public.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TypedBuilder, cairn_core::rust_code::RustLiteral)]
#[serde(default)]
pub struct PublicAccessBlock {
    /// Refuse requests that add public ACLs.
    #[builder(default = true)]
    pub block_public_acls: bool,
    /// Ignore public ACLs already present.
    #[builder(default = true)]
    pub ignore_public_acls: bool,
    /// Refuse bucket policies that grant public access.
    #[builder(default = true)]
    pub block_public_policy: bool,
    /// Restrict access under a public bucket policy to AWS services and the owner's account.
    #[builder(default = true)]
    pub restrict_public_buckets: bool,
}

impl Default for PublicAccessBlock {
    fn default() -> Self {
        Self {
            block_public_acls: true,
            ignore_public_acls: true,
            block_public_policy: true,
            restrict_public_buckets: true,
        }
    }
}

aws_enum! {
    /// The storage class a lifecycle transition moves objects to.
    TransitionStorageClass {
        /// Standard-Infrequent Access (objects at least 30 days old).
        StandardIa = "STANDARD_IA",
        /// One Zone-Infrequent Access (objects at least 30 days old).
        OnezoneIa = "ONEZONE_IA",
        /// Intelligent-Tiering.
        IntelligentTiering = "INTELLIGENT_TIERING",
        /// Glacier Instant Retrieval.
        GlacierIr = "GLACIER_IR",
        /// Glacier Flexible Retrieval.
        Glacier = "GLACIER",
        /// Glacier Deep Archive.
        DeepArchive = "DEEP_ARCHIVE",
    }
}

/// One transition of a lifecycle rule: after `days`, move objects to `storage_class`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TypedBuilder, cairn_core::rust_code::RustLiteral,
)]
pub struct LifecycleTransition {
    /// Days after an object's creation.
    pub days: i32,
    /// Where the object moves.
    pub storage_class: TransitionStorageClass,
}

/// One lifecycle rule of a bucket.
///
/// ```
/// use cairn_aws::s3::{BucketLifecycleRule, LifecycleTransition, TransitionStorageClass};
/// let logs = BucketLifecycleRule::builder()
///     .id("expire-logs")
///     .prefix("logs/")
///     .expiration_days(90)
///     .transitions(vec![LifecycleTransition { days: 30, storage_class: TransitionStorageClass::StandardIa }])
///     .build();
/// assert!(logs.enabled && logs.noncurrent_version_expiration_days.is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TypedBuilder, cairn_core::rust_code::RustLiteral)]
pub struct BucketLifecycleRule {
    /// The rule's unique ID (1 to 255 characters).
    #[builder(setter(into))]
    pub id: String,
    /// Whether S3 applies the rule (default true).
    #[builder(default = true)]
    #[serde(default = "crate::default_true")]
    pub enabled: bool,
    /// Apply only to keys starting with this prefix; the whole bucket when absent.
    #[builder(default, setter(into, strip_option))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// Expire current object versions this many days after creation.
    #[builder(default, setter(strip_option))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration_days: Option<i32>,
    /// Delete noncurrent object versions this many days after they become noncurrent.
    #[builder(default, setter(strip_option))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noncurrent_version_expiration_days: Option<i32>,
    /// Abort multipart uploads still incomplete this many days after they started.
    #[builder(default, setter(strip_option))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abort_incomplete_multipart_upload_days: Option<i32>,
    /// Move current object versions to cheaper storage classes over time.
    #[builder(default, setter(into))]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transitions: Vec<LifecycleTransition>,
}

/// The most lifecycle rules S3 takes per bucket.
const MAX_LIFECYCLE_RULES: usize = 1000;

/// The longest lifecycle rule ID S3 accepts.
const MAX_RULE_ID: usize = 255;

/// The fewest days before S3 moves objects to an infrequent-access class.
const MIN_INFREQUENT_ACCESS_DAYS: i32 = 30;

/// The arguments of an S3 bucket. Every field has a safe default, so
/// `BucketArgs::builder().build()` is a private, versioned, encrypted bucket.
///
/// ```
/// use cairn_aws::BucketArgs;
/// let scratch = BucketArgs::builder().versioning(false).force_destroy(true).build();
/// assert!(scratch.bucket.is_none() && scratch.public_access_block.block_public_acls);
/// assert!(scratch.lifecycle_rules.is_empty() && scratch.policy.is_none());
/// ```
#[derive(Debug, Clone, Serialize, Deserialize, TypedBuilder, TypedArgs)]
#[args(
    doc = "An S3 bucket, versioned, encrypted and closed to the public unless told otherwise. \
          Everything but the name is updated in place.",
    outputs = BucketOutputs,
    auto_name(property = "bucket", max_len = MAX_BUCKET_NAME, lowercase),
    warnings = crate::policy::warnings
)]
pub struct BucketArgs {
    /// The bucket name; generated (lowercase) from the logical name when absent. Changing it replaces the bucket.
    #[builder(default, setter(into, strip_option))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[args(replace)]
    pub bucket: Option<Input<String>>,
    /// Keep every version of every object (on unless turned off).
    #[builder(default = true)]
    #[serde(default = "crate::default_true")]
    pub versioning: bool,
    /// Default encryption of new objects.
    #[builder(default)]
    #[serde(default)]
    pub encryption: BucketEncryption,
    /// The public access block.
    #[builder(default)]
    #[serde(default)]
    pub public_access_block: PublicAccessBlock,
    /// Let deletion remove every object and object version first; otherwise
    /// deleting a bucket that holds objects fails.
    #[builder(default)]
    #[serde(default)]
    pub force_destroy: bool,
    /// Lifecycle rules (expiration, transitions, cleanup of noncurrent versions and incomplete
    /// uploads); none when empty.
    #[builder(default, setter(into))]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lifecycle_rules: Vec<BucketLifecycleRule>,
    /// The bucket policy; none when absent. Every statement names a principal and resources.
    /// A `Deny` can lock out Cairn itself (e.g. on `aws:SecureTransport`, against an endpoint
    /// over plain http): the bucket calls Cairn makes must stay allowed.
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
    /// An S3 bucket, as declared: its URN and typed outputs.
    Bucket, token = "aws:s3:Bucket", args = BucketArgs, outputs = BucketOutputs {
        /// The bucket name.
        bucket: String,
        /// The bucket ARN, `arn:aws:s3:::NAME`.
        arn: String,
    }
}

impl BucketArgs {
    /// Checks what S3 would refuse later, with the fix in each message.
    pub fn validate(&self) -> Vec<CheckFailure> {
        let mut failures = Vec::new();
        if let Some(name) = self.bucket.as_ref().and_then(Input::value)
            && let Err(reason) = check_bucket_name(name)
        {
            failures.push(failure("bucket", reason));
        }
        if self.encryption.kms_key_id.is_some() && self.encryption.algorithm != SseAlgorithm::AwsKms {
            failures.push(failure(
                "encryption.kms_key_id",
                format!(
                    "kms_key_id is set but encryption.algorithm is {}: set encryption.algorithm to aws:kms, or remove kms_key_id",
                    self.encryption.algorithm
                ),
            ));
        }
        self.check_lifecycle_rules(&mut failures);
        self.check_policy(&mut failures);
        failures
    }

    fn check_lifecycle_rules(&self, failures: &mut Vec<CheckFailure>) {
        if self.lifecycle_rules.len() > MAX_LIFECYCLE_RULES {
            failures.push(failure(
                "lifecycle_rules",
                format!(
                    "{} lifecycle rules are listed: S3 takes at most {MAX_LIFECYCLE_RULES}",
                    self.lifecycle_rules.len()
                ),
            ));
        }
        for (i, rule) in self.lifecycle_rules.iter().enumerate() {
            let at = |field: &str| format!("lifecycle_rules[{i}].{field}");
            if rule.id.is_empty() || rule.id.len() > MAX_RULE_ID {
                failures.push(failure(&at("id"), format!("the rule ID must be 1 to {MAX_RULE_ID} characters")));
            } else if self.lifecycle_rules[..i].iter().any(|r| r.id == rule.id) {
                failures
                    .push(failure(&at("id"), format!("rule ID `{}` is used twice: give each rule its own", rule.id)));
            }
            if rule.prefix.as_deref() == Some("") {
                failures
                    .push(failure(&at("prefix"), "prefix is empty: remove it to apply the rule to the whole bucket"));
            }
            if rule.expiration_days.is_none()
                && rule.noncurrent_version_expiration_days.is_none()
                && rule.abort_incomplete_multipart_upload_days.is_none()
                && rule.transitions.is_empty()
            {
                failures.push(failure(
                    &format!("lifecycle_rules[{i}]"),
                    format!(
                        "rule `{}` does nothing: set expiration_days, noncurrent_version_expiration_days, \
                         abort_incomplete_multipart_upload_days or transitions",
                        rule.id
                    ),
                ));
            }
            for (field, days) in [
                ("expiration_days", rule.expiration_days),
                ("noncurrent_version_expiration_days", rule.noncurrent_version_expiration_days),
                ("abort_incomplete_multipart_upload_days", rule.abort_incomplete_multipart_upload_days),
            ] {
                if let Some(days) = days.filter(|d| *d < 1) {
                    failures.push(failure(&at(field), format!("{field} ({days}) must be at least 1")));
                }
            }
            for (j, t) in rule.transitions.iter().enumerate() {
                let path = format!("lifecycle_rules[{i}].transitions[{j}].days");
                let infrequent =
                    matches!(t.storage_class, TransitionStorageClass::StandardIa | TransitionStorageClass::OnezoneIa);
                if t.days < 0 {
                    failures.push(failure(&path, format!("days ({}) must be 0 or more", t.days)));
                } else if infrequent && t.days < MIN_INFREQUENT_ACCESS_DAYS {
                    failures.push(failure(
                        &path,
                        format!(
                            "S3 moves objects to {} only after at least {MIN_INFREQUENT_ACCESS_DAYS} days, not {}: \
                             raise days to {MIN_INFREQUENT_ACCESS_DAYS} or more",
                            t.storage_class, t.days
                        ),
                    ));
                }
                if rule.transitions[..j].iter().any(|o| o.storage_class == t.storage_class) {
                    failures.push(failure(
                        &format!("lifecycle_rules[{i}].transitions[{j}].storage_class"),
                        format!("{} is the target of two transitions: keep one", t.storage_class),
                    ));
                }
                if let Some(expire) = rule.expiration_days.filter(|e| *e <= t.days) {
                    failures.push(failure(
                        &at("expiration_days"),
                        format!(
                            "expiration_days ({expire}) must be greater than the days of every transition ({} to {}): \
                             raise expiration_days or transition earlier",
                            t.days, t.storage_class
                        ),
                    ));
                }
            }
        }
    }

    fn check_policy(&self, failures: &mut Vec<CheckFailure>) {
        let Some(policy) = &self.policy else { return };
        if policy.statement.is_empty() {
            failures.push(failure(
                "policy.statement",
                "the bucket policy has no statements: add one, or remove the policy",
            ));
        }
        for (i, s) in policy.statement.iter().enumerate() {
            let at = |field: &str| format!("policy.statement[{i}].{field}");
            match &s.principal {
                None => failures.push(failure(
                    &at("principal"),
                    format!(
                        "bucket policy statement {i} names no principal: set one, e.g. Principal::aws(\"arn:aws:iam::ACCOUNT:root\")"
                    ),
                )),
                Some(p) => {
                    let everyone = p.values().iter().any(|v| v == "*");
                    if everyone
                        && s.effect == Effect::Allow
                        && s.condition.is_none()
                        && self.public_access_block.block_public_policy
                    {
                        failures.push(failure(
                            &at("principal"),
                            format!(
                                "bucket policy statement {i} allows everyone (`*`), which the public access block \
                                 refuses: name the principals, add a condition, or set \
                                 public_access_block.block_public_policy = false"
                            ),
                        ));
                    }
                }
            }
            if s.action.is_empty() {
                failures.push(failure(&at("action"), format!("bucket policy statement {i} has no actions: list them")));
            }
            if s.resource.is_empty() {
                failures.push(failure(
                    &at("resource"),
                    format!(
                        "bucket policy statement {i} names no resources: list the bucket ARN (arn:aws:s3:::NAME) \
                         and/or its objects (arn:aws:s3:::NAME/*)"
                    ),
                ));
            }
        }
    }
}

/// S3's naming rules, in short: 3 to 63 lowercase letters, digits, `.` and
/// `-`, starting and ending with a letter or digit.
fn check_bucket_name(name: &str) -> Result<(), String> {
    let fix = "use 3 to 63 lowercase letters, digits, `.` or `-`, starting and ending with a letter or digit";
    let edge_ok = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let chars_ok = name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-');
    if (3..=MAX_BUCKET_NAME).contains(&name.len())
        && chars_ok
        && edge_ok(name.chars().next())
        && edge_ok(name.chars().last())
    {
        Ok(())
    } else {
        Err(format!("`{name}` is not a valid bucket name: {fix}"))
    }
}

impl crate::policy::PolicyDocuments for BucketArgs {
    /// The bucket policy with the path of its property (Check scans it for wildcards).
    fn policy_documents(&self) -> Vec<(PropertyPath, &PolicyDocument)> {
        self.policy.iter().map(|doc| (PropertyPath::root().key("policy"), doc)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::PolicyDocuments;
    use cairn_core::Value;
    use serde_json::json;

    #[test]
    fn defaults_are_safe_and_round_trip() {
        let args = BucketArgs::builder().tags([("env", "dev")]).build();
        let v = Value::from_serialize(&args).unwrap();
        assert_eq!(
            v.to_json(),
            json!({
                "versioning": true,
                "encryption": {"algorithm": "AES256"},
                "public_access_block": {
                    "block_public_acls": true, "ignore_public_acls": true,
                    "block_public_policy": true, "restrict_public_buckets": true
                },
                "force_destroy": false,
                "tags": {"env": "dev"}
            })
        );
        let back: BucketArgs = v.deserialize_into().unwrap();
        assert_eq!(Value::from_serialize(&back).unwrap(), v);
        assert!(cairn_provider_sdk::check_structure(<BucketArgs as TypedArgs>::SCHEMA, &v).is_empty());

        let sparse: BucketArgs = Value::from_json(&json!({"public_access_block": {"block_public_policy": false}}))
            .deserialize_into()
            .unwrap();
        assert!(sparse.versioning && sparse.public_access_block.block_public_acls);
        assert!(!sparse.public_access_block.block_public_policy);
    }

    #[test]
    fn sse_algorithm_uses_aws_strings() {
        assert_eq!(serde_json::to_value(SseAlgorithm::AwsKms).unwrap(), json!("aws:kms"));
        assert_eq!(SseAlgorithm::from_aws("AES256"), Some(SseAlgorithm::Aes256));
        assert_eq!(SseAlgorithm::from_aws("aws:kms:dsse"), None);
        assert_eq!(SseAlgorithm::default(), SseAlgorithm::Aes256);
    }

    #[test]
    fn kms_key_needs_kms_and_names_must_be_valid() {
        let args = BucketArgs::builder()
            .bucket("Bad_Name")
            .encryption(BucketEncryption::builder().kms_key_id("alias/data").build())
            .build();
        let text: Vec<String> = args.validate().iter().map(|f| format!("{}: {}", f.property, f.reason)).collect();
        assert_eq!(text.len(), 2, "{text:?}");
        assert!(text[0].starts_with("bucket: `Bad_Name` is not a valid bucket name"), "{text:?}");
        assert_eq!(
            text[1],
            "encryption.kms_key_id: kms_key_id is set but encryption.algorithm is AES256: \
             set encryption.algorithm to aws:kms, or remove kms_key_id"
        );
        let kms = BucketArgs::builder()
            .bucket("data.example-1")
            .encryption(BucketEncryption::builder().algorithm(SseAlgorithm::AwsKms).kms_key_id("alias/data").build())
            .build();
        assert!(kms.validate().is_empty());
    }
    fn bucket_messages(args: &BucketArgs) -> Vec<String> {
        args.validate().iter().map(|f| format!("{}: {}", f.property, f.reason)).collect()
    }

    fn rule(id: &str) -> BucketLifecycleRule {
        BucketLifecycleRule::builder().id(id).abort_incomplete_multipart_upload_days(7).build()
    }

    fn read_policy(bucket: &str) -> PolicyDocument {
        use crate::policy::{Principal, Statement};
        PolicyDocument::builder()
            .statement(vec![
                Statement::builder()
                    .principal(Principal::aws("arn:aws:iam::123456789012:root"))
                    .action(["s3:GetObject"])
                    .resource([format!("arn:aws:s3:::{bucket}/*")])
                    .build(),
            ])
            .build()
    }

    #[test]
    fn lifecycle_rules_and_policy_round_trip_in_their_declared_shape() {
        let full = BucketLifecycleRule::builder()
            .id("logs")
            .enabled(false)
            .prefix("logs/")
            .expiration_days(365)
            .noncurrent_version_expiration_days(30)
            .abort_incomplete_multipart_upload_days(7)
            .transitions(vec![
                LifecycleTransition { days: 30, storage_class: TransitionStorageClass::StandardIa },
                LifecycleTransition { days: 90, storage_class: TransitionStorageClass::Glacier },
            ])
            .build();
        let args = BucketArgs::builder()
            .bucket("data-1")
            .lifecycle_rules(vec![full, rule("uploads")])
            .policy(read_policy("data-1"))
            .build();
        assert!(args.validate().is_empty(), "{:?}", bucket_messages(&args));
        let v = Value::from_serialize(&args).unwrap();
        let j = v.to_json();
        assert_eq!(
            j["lifecycle_rules"],
            json!([
                {
                    "id": "logs", "enabled": false, "prefix": "logs/", "expiration_days": 365,
                    "noncurrent_version_expiration_days": 30, "abort_incomplete_multipart_upload_days": 7,
                    "transitions": [{"days": 30, "storage_class": "STANDARD_IA"}, {"days": 90, "storage_class": "GLACIER"}]
                },
                {"id": "uploads", "enabled": true, "abort_incomplete_multipart_upload_days": 7}
            ])
        );
        assert_eq!(j["policy"]["statement"][0]["principal"], json!({"aws": ["arn:aws:iam::123456789012:root"]}));
        let back: BucketArgs = v.deserialize_into().unwrap();
        assert_eq!(Value::from_serialize(&back).unwrap(), v);
        assert!(cairn_provider_sdk::check_structure(<BucketArgs as TypedArgs>::SCHEMA, &v).is_empty());
        assert_eq!(args.policy_documents().len(), 1);
        assert_eq!(args.policy_documents()[0].0.to_string(), "policy");
        for c in TransitionStorageClass::ALL {
            assert_eq!(TransitionStorageClass::from_aws(c.as_str()), Some(*c));
        }
    }

    #[test]
    fn lifecycle_validation_names_the_rule_and_the_fix() {
        let mut r = rule("a");
        r.prefix = Some(String::new());
        r.expiration_days = Some(20);
        r.transitions = vec![
            LifecycleTransition { days: 10, storage_class: TransitionStorageClass::StandardIa },
            LifecycleTransition { days: 40, storage_class: TransitionStorageClass::StandardIa },
        ];
        let idle = BucketLifecycleRule::builder().id("a").build();
        let args = BucketArgs::builder().lifecycle_rules(vec![r, idle]).build();
        let text = bucket_messages(&args);
        assert_eq!(
            text,
            [
                "lifecycle_rules[0].prefix: prefix is empty: remove it to apply the rule to the whole bucket",
                "lifecycle_rules[0].transitions[0].days: S3 moves objects to STANDARD_IA only after at least 30 days, \
                 not 10: raise days to 30 or more",
                "lifecycle_rules[0].transitions[1].storage_class: STANDARD_IA is the target of two transitions: keep one",
                "lifecycle_rules[0].expiration_days: expiration_days (20) must be greater than the days of every \
                 transition (40 to STANDARD_IA): raise expiration_days or transition earlier",
                "lifecycle_rules[1].id: rule ID `a` is used twice: give each rule its own",
                "lifecycle_rules[1]: rule `a` does nothing: set expiration_days, noncurrent_version_expiration_days, \
                 abort_incomplete_multipart_upload_days or transitions",
            ]
        );
        let mut zero = rule("z");
        zero.abort_incomplete_multipart_upload_days = Some(0);
        let text = bucket_messages(&BucketArgs::builder().lifecycle_rules(vec![zero]).build());
        assert_eq!(
            text,
            ["lifecycle_rules[0].abort_incomplete_multipart_upload_days: abort_incomplete_multipart_upload_days (0) \
              must be at least 1"]
        );
    }

    #[test]
    fn bucket_policies_need_principals_and_resources_and_respect_the_public_access_block() {
        use crate::policy::{Principal, Statement};
        let public_read = Statement::builder()
            .principal(Principal::aws("*"))
            .action(["s3:GetObject"])
            .resource(["arn:aws:s3:::site/*"])
            .build();
        let no_principal = Statement::allow(["s3:GetObject"], Vec::<String>::new());
        let policy = PolicyDocument::builder().statement(vec![public_read.clone(), no_principal]).build();
        let text = bucket_messages(&BucketArgs::builder().policy(policy).build());
        assert_eq!(text.len(), 3, "{text:?}");
        assert!(text[0].starts_with("policy.statement[0].principal: bucket policy statement 0 allows everyone"));
        assert!(text[1].starts_with("policy.statement[1].principal: bucket policy statement 1 names no principal"));
        assert!(text[2].starts_with("policy.statement[1].resource: bucket policy statement 1 names no resources"));

        let open = PublicAccessBlock { block_public_policy: false, ..PublicAccessBlock::default() };
        let site = BucketArgs::builder()
            .public_access_block(open)
            .policy(PolicyDocument::builder().statement(vec![public_read]).build())
            .build();
        assert!(site.validate().is_empty(), "{:?}", bucket_messages(&site));

        let empty = BucketArgs::builder().policy(PolicyDocument::builder().statement(vec![]).build()).build();
        assert_eq!(
            bucket_messages(&empty),
            ["policy.statement: the bucket policy has no statements: add one, or remove the policy"]
        );
    }
}
