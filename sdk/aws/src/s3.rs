//! `aws:s3:Bucket`: an S3 bucket with safe defaults (versioned, encrypted,
//! public access blocked).

use std::collections::BTreeMap;

use cairn_core::schema::{AutoName, PropertySchema, ResourceSchema};
use cairn_core::{CheckFailure, CustomResource, Input};
use serde::{Deserialize, Serialize};
use typed_builder::TypedBuilder;

use crate::failure;

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
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, TypedBuilder)]
pub struct BucketEncryption {
    /// The algorithm; SSE-S3 (`AES256`) unless set.
    #[builder(default)]
    #[serde(default)]
    pub algorithm: SseAlgorithm,
    /// The KMS key ID or ARN (only with `aws:kms`; the AWS-managed key when absent).
    #[builder(default, setter(into, strip_option))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<String>,
}

/// The bucket's public access block. Every flag defaults to `true`: nothing public.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TypedBuilder)]
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

/// The arguments of an S3 bucket. Every field has a safe default, so
/// `BucketArgs::builder().build()` is a private, versioned, encrypted bucket.
///
/// ```
/// use cairn_aws::BucketArgs;
/// let scratch = BucketArgs::builder().versioning(false).force_destroy(true).build();
/// assert!(scratch.bucket.is_none() && scratch.public_access_block.block_public_acls);
/// ```
#[derive(Debug, Clone, Serialize, Deserialize, TypedBuilder)]
pub struct BucketArgs {
    /// The bucket name; generated (lowercase) from the logical name when absent. Changing it replaces the bucket.
    #[builder(default, setter(into, strip_option))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
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

/// The schema of `aws:s3:Bucket`.
pub const BUCKET_SCHEMA: ResourceSchema = ResourceSchema {
    token: <Bucket as CustomResource>::TYPE,
    doc: "An S3 bucket, versioned, encrypted and closed to the public unless told otherwise. \
          Everything but the name is updated in place.",
    properties: &[
        PropertySchema::replace("bucket", "The bucket name; generated (lowercase) from the logical name when absent."),
        PropertySchema::in_place("versioning", "Keep every version of every object (default true)."),
        PropertySchema::in_place("encryption", "Default encryption of new objects (default SSE-S3, AES256)."),
        PropertySchema::in_place("public_access_block", "The public access block (default: all four flags true)."),
        PropertySchema::in_place("force_destroy", "Delete every object and version with the bucket (default false)."),
        PropertySchema::in_place("tags", "Tags."),
    ],
    auto_name: Some(AutoName { property: "bucket", max_len: MAX_BUCKET_NAME, lowercase: true }),
    outputs: BucketOutputs::FIELDS,
};

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
        failures
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

#[cfg(test)]
mod tests {
    use super::*;
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
        assert!(BUCKET_SCHEMA.check_structure(&v).is_empty());

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
}
