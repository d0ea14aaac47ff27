//! A bucket for training artifacts, checkpoints, data sets or models:
//! versioned, encrypted, closed to the public, moved to cheaper storage as it
//! ages, old versions kept for a while, and optionally expired.

use std::collections::BTreeMap;

use cairn_aws::s3::{BucketLifecycleRule, LifecycleTransition, TransitionStorageClass};
use cairn_aws::{Bucket, BucketArgs, BucketEncryption, Key, KeyArgs, SseAlgorithm};
use cairn_core::{ComponentArgs, DeclareError, Input, InvalidArgs, Scope, Stack, Urn};
use typed_builder::TypedBuilder;

use crate::tags::{check_cost_tags, cost_tags};

/// How an [`ArtifactBucket`] encrypts its objects.
#[derive(Debug, Clone, Default)]
pub enum Encryption {
    /// S3-managed keys (SSE-S3): no key to manage, no KMS charges.
    #[default]
    SseS3,
    /// A KMS key of the component's own (rotated yearly): access needs `kms:Decrypt` too.
    DedicatedKey,
    /// An existing KMS key, by ARN (or another resource's output).
    Kms(Input<String>),
}

/// Arguments of [`ArtifactBucket`].
///
/// ```
/// use cairn_ai::{ArtifactBucketArgs, Encryption};
/// let args = ArtifactBucketArgs::builder().encryption(Encryption::DedicatedKey).expire_after_days(365).build();
/// assert_eq!(args.infrequent_access_after_days, Some(30));
/// ```
#[derive(Debug, Clone, TypedBuilder)]
pub struct ArtifactBucketArgs {
    /// How objects are encrypted at rest (SSE-S3 unless set).
    #[builder(default)]
    pub encryption: Encryption,
    /// Move objects to Standard-IA this many days after creation (at least 30); never when `None`.
    #[builder(default = Some(30))]
    pub infrequent_access_after_days: Option<i32>,
    /// Move objects to Glacier Instant Retrieval this many days after creation; never when `None`.
    #[builder(default = Some(180))]
    pub archive_after_days: Option<i32>,
    /// Keep replaced and deleted object versions this many days (what lets a bad write be undone).
    #[builder(default = 30)]
    pub noncurrent_version_retention_days: i32,
    /// Delete objects this many days after creation (retention of checkpoints, scratch data); kept
    /// forever when `None`.
    #[builder(default, setter(strip_option))]
    pub expire_after_days: Option<i32>,
    /// Let `destroy` delete the bucket with its objects. Off: a bucket holding data refuses to go.
    #[builder(default = false)]
    pub force_destroy: bool,
    /// Extra tags, added to the cost tags.
    #[builder(default, setter(fn transform<K: Into<String>, V: Into<String>>(tags: impl IntoIterator<Item = (K, V)>) -> BTreeMap<String, String> {
        cairn_aws::string_map(tags)
    }))]
    pub tags: BTreeMap<String, String>,
}

/// A versioned, encrypted, private bucket with lifecycle rules.
#[derive(Debug, Clone)]
pub struct ArtifactBucket {
    /// The component's URN.
    pub urn: Urn,
    /// The bucket.
    pub bucket: Bucket,
    /// The component's own key, with [`Encryption::DedicatedKey`].
    pub key: Option<Key>,
    /// The key objects are encrypted with, when it is a KMS key (readers need `kms:Decrypt` on it).
    pub kms_key_arn: Option<Input<String>>,
}

impl ArtifactBucket {
    /// The bucket's name, as other components' arguments take it.
    pub fn name(&self) -> Input<String> {
        self.bucket.bucket.clone().into()
    }
}

impl ArtifactBucketArgs {
    fn lifecycle_rules(&self) -> Vec<BucketLifecycleRule> {
        let mut transitions = Vec::new();
        if let Some(days) = self.infrequent_access_after_days {
            transitions.push(LifecycleTransition { days, storage_class: TransitionStorageClass::StandardIa });
        }
        if let Some(days) = self.archive_after_days {
            transitions.push(LifecycleTransition { days, storage_class: TransitionStorageClass::GlacierIr });
        }
        let mut rule = BucketLifecycleRule::builder()
            .id("cairn-artifact-lifecycle")
            .noncurrent_version_expiration_days(self.noncurrent_version_retention_days)
            .abort_incomplete_multipart_upload_days(7)
            .transitions(transitions)
            .build();
        rule.expiration_days = self.expire_after_days;
        vec![rule]
    }
}

impl ComponentArgs for ArtifactBucketArgs {
    type Component = ArtifactBucket;
    const TYPE: &'static str = "cairn:ai:ArtifactBucket";

    fn validate(&self, ctx: &Stack) -> Result<(), InvalidArgs> {
        if let Some(d) = self.infrequent_access_after_days
            && d < 30
        {
            return Err(InvalidArgs::new(
                "infrequent_access_after_days",
                format!("is {d}, but S3 moves objects to Standard-IA only once they are 30 days old"),
                "give 30 or more, or None to keep objects in Standard",
            ));
        }
        if let (Some(ia), Some(archive)) = (self.infrequent_access_after_days, self.archive_after_days)
            && archive <= ia
        {
            return Err(InvalidArgs::new(
                "archive_after_days",
                format!("({archive}) is not after infrequent_access_after_days ({ia})"),
                "archive later than the move to Standard-IA",
            ));
        }
        if self.noncurrent_version_retention_days < 1 {
            return Err(InvalidArgs::new(
                "noncurrent_version_retention_days",
                format!("is {}", self.noncurrent_version_retention_days),
                "keep old versions at least 1 day",
            ));
        }
        if let Some(e) = self.expire_after_days {
            let last = self.archive_after_days.or(self.infrequent_access_after_days).unwrap_or(0);
            if e <= last {
                return Err(InvalidArgs::new(
                    "expire_after_days",
                    format!("({e}) is not after the last storage transition (day {last})"),
                    "expire later, or drop the transitions for short-lived data",
                ));
            }
        }
        check_cost_tags(ctx, &self.tags)
    }

    fn expand(self, scope: &Scope) -> Result<ArtifactBucket, DeclareError> {
        let tags = cost_tags(scope, &self.tags);
        let lifecycle_rules = self.lifecycle_rules();
        let (key, kms_key_arn) = match self.encryption.clone() {
            Encryption::SseS3 => (None, None),
            Encryption::Kms(arn) => (None, Some(arn)),
            Encryption::DedicatedKey => {
                let key = scope.resource(
                    &scope.child_name("key"),
                    KeyArgs::builder()
                        .description(format!("objects of bucket {}", scope.name()))
                        .tags(tags.clone())
                        .build(),
                )?;
                let arn = key.arn.clone().into();
                (Some(key), Some(arn))
            }
        };
        let encryption = match &kms_key_arn {
            None => BucketEncryption::default(),
            Some(arn) => BucketEncryption::builder().algorithm(SseAlgorithm::AwsKms).kms_key_id(arn.clone()).build(),
        };
        let bucket = scope.resource(
            scope.name(),
            BucketArgs::builder()
                .encryption(encryption)
                .lifecycle_rules(lifecycle_rules)
                .force_destroy(self.force_destroy)
                .tags(tags)
                .build(),
        )?;
        scope.output("bucket", &bucket.bucket);
        scope.output("arn", &bucket.arn);
        Ok(ArtifactBucket { urn: scope.urn().clone(), bucket, key, kms_key_arn })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::ctx;

    #[test]
    fn versioned_private_encrypted_with_lifecycle() {
        let ctx = ctx("dev");
        let b = ctx.component("artifacts", ArtifactBucketArgs::builder().encryption(Encryption::DedicatedKey).build());
        assert!(b.unwrap().key.is_some());
        let d = ctx.finish();
        let bucket = d.resources.iter().find(|r| r.urn.resource_type().as_str() == "aws:s3:Bucket").unwrap();
        let j = bucket.inputs.to_json();
        assert_eq!(j["versioning"], true);
        assert_eq!(j["public_access_block"]["block_public_acls"], true);
        assert_eq!(j["encryption"]["algorithm"], "aws:kms");
        assert_eq!(j["lifecycle_rules"][0]["transitions"][0]["storage_class"], "STANDARD_IA");
        assert_eq!(j["lifecycle_rules"][0]["noncurrent_version_expiration_days"], 30);
    }

    #[test]
    fn lifecycle_days_must_be_in_order() {
        let refused = |a: ArtifactBucketArgs| ctx("dev").component("b", a).err().unwrap().to_string();
        let err = refused(ArtifactBucketArgs::builder().infrequent_access_after_days(Some(7)).build());
        assert!(err.contains("`infrequent_access_after_days` is 7") && err.contains("30 or more"), "{err}");
        let err = refused(ArtifactBucketArgs::builder().expire_after_days(60).build());
        assert!(err.contains("`expire_after_days` (60)") && err.contains("day 180"), "{err}");
    }
}
