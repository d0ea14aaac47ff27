//! `aws:s3:Bucket`: the S3 calls. The provider ID is the bucket name.

use std::collections::BTreeMap;

use aws_sdk_s3::types::{
    AbortIncompleteMultipartUpload, BucketLifecycleConfiguration, BucketLocationConstraint, BucketVersioningStatus,
    CreateBucketConfiguration, Delete, ExpirationStatus, LifecycleExpiration, LifecycleRule as S3LifecycleRule,
    LifecycleRuleFilter, NoncurrentVersionExpiration, ObjectIdentifier, PublicAccessBlockConfiguration,
    ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
    Tag, Tagging, Transition, TransitionStorageClass as S3StorageClass, VersioningConfiguration,
};
use cairn_aws::policy::PolicyDocument;
use cairn_aws::s3::{
    BucketArgs, BucketEncryption, BucketLifecycleRule, BucketOutputs, LifecycleTransition, PublicAccessBlock,
    SseAlgorithm, TransitionStorageClass,
};
use cairn_core::{
    CreateRequest, CreateResponse, DeleteRequest, Input, ProviderError, ReadRequest, ReadResponse, UpdateRequest,
    UpdateResponse, Value,
};

use crate::Clients;
use crate::changes::order_like;
use crate::sdk::{AwsResultExt, build_error, optional};

/// S3's default region, which refuses an explicit location constraint.
const DEFAULT_REGION: &str = "us-east-1";

/// DeleteObjects takes at most this many keys per call.
const DELETE_BATCH: usize = 1000;

fn outputs(name: &str) -> Result<Value, ProviderError> {
    cairn_provider_sdk::to_value(&BucketOutputs { bucket: name.to_owned(), arn: format!("arn:aws:s3:::{name}") })
}

pub(crate) async fn create(c: &Clients, req: CreateRequest) -> Result<CreateResponse, ProviderError> {
    let args: BucketArgs = cairn_provider_sdk::args(&req.inputs)?;
    let name = cairn_provider_sdk::physical_name(&args.bucket, "bucket")?;
    let mut call = c.s3.create_bucket().bucket(&name);
    if c.region != DEFAULT_REGION {
        let location = BucketLocationConstraint::from(c.region.as_str());
        call = call
            .create_bucket_configuration(CreateBucketConfiguration::builder().location_constraint(location).build());
    }
    call.send().await.aws("CreateBucket", &name)?;

    // A half-configured bucket (e.g. public access not blocked yet) must not
    // linger unrecorded: remove it so that the create can simply be run again.
    if let Err(e) = apply(c, &name, None, &args).await {
        let cleanup = optional(c.s3.delete_bucket().bucket(&name).send().await.aws("DeleteBucket", &name));
        let message = match cleanup {
            Ok(_) => format!("{}; the bucket was deleted again", e.message),
            Err(d) => format!("{}; deleting the half-created bucket `{name}` also failed: {}", e.message, d.message),
        };
        return Err(ProviderError { message, ..e });
    }
    Ok(CreateResponse { id: name.clone(), outputs: outputs(&name)? })
}

/// Puts the settings that differ from `old` (all of them for a new bucket,
/// where `old` is `None` and S3's defaults are the baseline).
async fn apply(c: &Clients, name: &str, old: Option<&BucketArgs>, new: &BucketArgs) -> Result<(), ProviderError> {
    // A new bucket is unversioned, so only enabling needs a call; suspending
    // is only needed once versioning was enabled.
    if old.map_or(new.versioning, |o| o.versioning != new.versioning) {
        let status = if new.versioning { BucketVersioningStatus::Enabled } else { BucketVersioningStatus::Suspended };
        c.s3.put_bucket_versioning()
            .bucket(name)
            .versioning_configuration(VersioningConfiguration::builder().status(status).build())
            .send()
            .await
            .aws("PutBucketVersioning", name)?;
    }
    if old.is_none_or(|o| o.encryption != new.encryption) {
        let by_default = ServerSideEncryptionByDefault::builder()
            .sse_algorithm(ServerSideEncryption::from(new.encryption.algorithm.as_str()))
            .set_kms_master_key_id(
                new.encryption
                    .kms_key_id
                    .as_ref()
                    .map(|k| cairn_provider_sdk::known(k, "encryption.kms_key_id").cloned())
                    .transpose()?,
            )
            .build()
            .map_err(build_error)?;
        let config = ServerSideEncryptionConfiguration::builder()
            .rules(ServerSideEncryptionRule::builder().apply_server_side_encryption_by_default(by_default).build())
            .build()
            .map_err(build_error)?;
        c.s3.put_bucket_encryption()
            .bucket(name)
            .server_side_encryption_configuration(config)
            .send()
            .await
            .aws("PutBucketEncryption", name)?;
    }
    if old.is_none_or(|o| o.public_access_block != new.public_access_block) {
        let p = &new.public_access_block;
        let config = PublicAccessBlockConfiguration::builder()
            .block_public_acls(p.block_public_acls)
            .ignore_public_acls(p.ignore_public_acls)
            .block_public_policy(p.block_public_policy)
            .restrict_public_buckets(p.restrict_public_buckets)
            .build();
        c.s3.put_public_access_block()
            .bucket(name)
            .public_access_block_configuration(config)
            .send()
            .await
            .aws("PutPublicAccessBlock", name)?;
    }
    if old.map_or(!new.lifecycle_rules.is_empty(), |o| o.lifecycle_rules != new.lifecycle_rules) {
        if new.lifecycle_rules.is_empty() {
            // PutBucketLifecycleConfiguration refuses an empty rule list.
            c.s3.delete_bucket_lifecycle().bucket(name).send().await.aws("DeleteBucketLifecycle", name)?;
        } else {
            let rules = new.lifecycle_rules.iter().map(s3_rule).collect::<Result<Vec<_>, _>>()?;
            let config = BucketLifecycleConfiguration::builder().set_rules(Some(rules)).build().map_err(build_error)?;
            c.s3.put_bucket_lifecycle_configuration()
                .bucket(name)
                .lifecycle_configuration(config)
                .send()
                .await
                .aws("PutBucketLifecycleConfiguration", name)?;
        }
    }
    // After the public access block, which decides whether a public policy is accepted.
    if old.map_or(new.policy.is_some(), |o| o.policy != new.policy) {
        match &new.policy {
            Some(policy) => {
                c.s3.put_bucket_policy()
                    .bucket(name)
                    .policy(policy.to_aws_json())
                    .send()
                    .await
                    .aws("PutBucketPolicy", name)?;
            }
            None => {
                c.s3.delete_bucket_policy().bucket(name).send().await.aws("DeleteBucketPolicy", name)?;
            }
        }
    }
    if old.map_or(!new.tags.is_empty(), |o| o.tags != new.tags) {
        if new.tags.is_empty() {
            // PutBucketTagging refuses an empty tag set.
            c.s3.delete_bucket_tagging().bucket(name).send().await.aws("DeleteBucketTagging", name)?;
        } else {
            let tags = new
                .tags
                .iter()
                .map(|(k, v)| Tag::builder().key(k).value(v).build().map_err(build_error))
                .collect::<Result<Vec<_>, _>>()?;
            let tagging = Tagging::builder().set_tag_set(Some(tags)).build().map_err(build_error)?;
            c.s3.put_bucket_tagging().bucket(name).tagging(tagging).send().await.aws("PutBucketTagging", name)?;
        }
    }
    Ok(())
}

/// A lifecycle rule as S3 takes it. The filter is always sent (empty for the
/// whole bucket): the rule-level prefix is deprecated.
fn s3_rule(rule: &BucketLifecycleRule) -> Result<S3LifecycleRule, ProviderError> {
    let transitions: Vec<Transition> = rule
        .transitions
        .iter()
        .map(|t| {
            Transition::builder().days(t.days).storage_class(S3StorageClass::from(t.storage_class.as_str())).build()
        })
        .collect();
    S3LifecycleRule::builder()
        .id(&rule.id)
        .status(if rule.enabled { ExpirationStatus::Enabled } else { ExpirationStatus::Disabled })
        .filter(LifecycleRuleFilter::builder().set_prefix(rule.prefix.clone()).build())
        .set_expiration(rule.expiration_days.map(|d| LifecycleExpiration::builder().days(d).build()))
        .set_noncurrent_version_expiration(
            rule.noncurrent_version_expiration_days
                .map(|d| NoncurrentVersionExpiration::builder().noncurrent_days(d).build()),
        )
        .set_abort_incomplete_multipart_upload(
            rule.abort_incomplete_multipart_upload_days
                .map(|d| AbortIncompleteMultipartUpload::builder().days_after_initiation(d).build()),
        )
        .set_transitions((!transitions.is_empty()).then_some(transitions))
        .build()
        .map_err(build_error)
}

/// A lifecycle rule as S3 reports it, or why Cairn cannot model it.
fn cairn_rule(rule: &S3LifecycleRule) -> Result<BucketLifecycleRule, String> {
    let id = rule.id().unwrap_or_default();
    let unmodelled = |what: &str| format!("lifecycle rule `{id}` uses {what}, which Cairn does not model");
    if let Some(f) = rule.filter()
        && (f.tag().is_some()
            || f.and().is_some()
            || f.object_size_greater_than().is_some()
            || f.object_size_less_than().is_some())
    {
        return Err(unmodelled("a tag, size or combined filter"));
    }
    if !rule.noncurrent_version_transitions().is_empty() {
        return Err(unmodelled("noncurrent version transitions"));
    }
    if let Some(e) = rule.expiration()
        && (e.date().is_some() || e.expired_object_delete_marker() == Some(true))
    {
        return Err(unmodelled("an expiration date or expired delete marker cleanup"));
    }
    let transitions = rule
        .transitions()
        .iter()
        .map(|t| {
            let class = t.storage_class().map_or("none", |c| c.as_str());
            match (t.days(), TransitionStorageClass::from_aws(class)) {
                (Some(days), Some(storage_class)) => Ok(LifecycleTransition { days, storage_class }),
                (None, _) => Err(unmodelled("a transition by date")),
                (_, None) => Err(unmodelled(&format!("storage class `{class}`"))),
            }
        })
        .collect::<Result<Vec<_>, String>>()?;
    // The deprecated rule-level prefix is read too (rules made by older tools); an empty prefix is the whole bucket.
    #[allow(deprecated)]
    let prefix = rule.filter().and_then(LifecycleRuleFilter::prefix).or(rule.prefix()).filter(|p| !p.is_empty());
    Ok(BucketLifecycleRule {
        id: id.to_owned(),
        enabled: *rule.status() == ExpirationStatus::Enabled,
        prefix: prefix.map(str::to_owned),
        expiration_days: rule.expiration().and_then(LifecycleExpiration::days),
        noncurrent_version_expiration_days: rule
            .noncurrent_version_expiration()
            .and_then(NoncurrentVersionExpiration::noncurrent_days),
        abort_incomplete_multipart_upload_days: rule
            .abort_incomplete_multipart_upload()
            .and_then(AbortIncompleteMultipartUpload::days_after_initiation),
        transitions,
    })
}

pub(crate) async fn read(c: &Clients, req: ReadRequest) -> Result<Option<ReadResponse>, ProviderError> {
    let name = cairn_provider_sdk::read_id(&req, "bucket")?;
    if optional(c.s3.head_bucket().bucket(&name).send().await.aws("HeadBucket", &name))?.is_none() {
        return Ok(None);
    }
    let versioning = c.s3.get_bucket_versioning().bucket(&name).send().await.aws("GetBucketVersioning", &name)?;

    let encryption = c.s3.get_bucket_encryption().bucket(&name).send().await.aws_unless(
        &["ServerSideEncryptionConfigurationNotFoundError"],
        "GetBucketEncryption",
        &name,
    )?;
    let by_default = encryption
        .as_ref()
        .and_then(|e| e.server_side_encryption_configuration())
        .and_then(|conf| conf.rules().first())
        .and_then(|rule| rule.apply_server_side_encryption_by_default());
    let encryption = match by_default {
        // S3 encrypts new objects with SSE-S3 when nothing else is configured.
        None => BucketEncryption::default(),
        Some(d) => BucketEncryption {
            algorithm: SseAlgorithm::from_aws(d.sse_algorithm().as_str()).ok_or_else(|| {
                ProviderError::internal(format!(
                    "bucket `{name}` uses encryption `{}`, which Cairn does not model (AES256 or aws:kms)",
                    d.sse_algorithm().as_str()
                ))
            })?,
            kms_key_id: d.kms_master_key_id().map(|k| Input::Value(k.to_owned())),
        },
    };

    let block = c.s3.get_public_access_block().bucket(&name).send().await.aws_unless(
        &["NoSuchPublicAccessBlockConfiguration"],
        "GetPublicAccessBlock",
        &name,
    )?;
    let public_access_block = match block.as_ref().and_then(|b| b.public_access_block_configuration()) {
        Some(p) => PublicAccessBlock {
            block_public_acls: p.block_public_acls().unwrap_or(false),
            ignore_public_acls: p.ignore_public_acls().unwrap_or(false),
            block_public_policy: p.block_public_policy().unwrap_or(false),
            restrict_public_buckets: p.restrict_public_buckets().unwrap_or(false),
        },
        // No block at all: everything S3 allows is allowed.
        None => PublicAccessBlock {
            block_public_acls: false,
            ignore_public_acls: false,
            block_public_policy: false,
            restrict_public_buckets: false,
        },
    };

    let tagging = c.s3.get_bucket_tagging().bucket(&name).send().await.aws_unless(
        &["NoSuchTagSet"],
        "GetBucketTagging",
        &name,
    )?;
    let tags: BTreeMap<String, String> = tagging
        .as_ref()
        .map(|t| t.tag_set().iter().map(|t| (t.key().to_owned(), t.value().to_owned())).collect())
        .unwrap_or_default();

    let recorded: Option<BucketArgs> = cairn_provider_sdk::recorded(&req.inputs);
    let lifecycle = c.s3.get_bucket_lifecycle_configuration().bucket(&name).send().await.aws_unless(
        &["NoSuchLifecycleConfiguration"],
        "GetBucketLifecycleConfiguration",
        &name,
    )?;
    let live_rules = lifecycle
        .as_ref()
        .map_or(&[][..], |l| l.rules())
        .iter()
        .map(cairn_rule)
        .collect::<Result<Vec<_>, String>>()
        .map_err(|e| ProviderError::internal(format!("bucket `{name}`: {e}")))?;
    let lifecycle_rules = order_like(live_rules, recorded.as_ref().map_or(&[][..], |r| r.lifecycle_rules.as_slice()));

    let policy = c.s3.get_bucket_policy().bucket(&name).send().await.aws_unless(
        &["NoSuchBucketPolicy"],
        "GetBucketPolicy",
        &name,
    )?;
    let policy =
        match policy.as_ref().and_then(|p| p.policy()) {
            None => None,
            Some(text) => Some(PolicyDocument::from_aws_json(text).map_err(|e| {
                ProviderError::internal(format!("the policy of bucket `{name}` could not be read: {e}"))
            })?),
        };

    let live = BucketArgs {
        bucket: Some(Input::Value(name.clone())),
        versioning: versioning.status() == Some(&BucketVersioningStatus::Enabled),
        encryption,
        public_access_block,
        // Not an S3 setting: only Cairn's delete uses it.
        force_destroy: force_destroy(&req.inputs),
        lifecycle_rules,
        policy,
        tags,
    };
    Ok(Some(ReadResponse {
        inputs: cairn_provider_sdk::live_inputs(&live, &req.inputs)?,
        outputs: outputs(&name)?,
        id: name,
    }))
}

pub(crate) async fn update(c: &Clients, req: UpdateRequest) -> Result<UpdateResponse, ProviderError> {
    let old: BucketArgs = cairn_provider_sdk::args(&req.olds)?;
    let new: BucketArgs = cairn_provider_sdk::args(&req.news)?;
    apply(c, &req.id, Some(&old), &new).await?;
    Ok(UpdateResponse { outputs: outputs(&req.id)? })
}

pub(crate) async fn delete(c: &Clients, req: DeleteRequest) -> Result<(), ProviderError> {
    let name = req.id.as_str();
    if force_destroy(&req.inputs) && !empty_bucket(c, name).await? {
        return Ok(());
    }
    let deleted = c.s3.delete_bucket().bucket(name).send().await.aws("DeleteBucket", name);
    optional(deleted).map_err(|e| {
        if e.message.contains("BucketNotEmpty") {
            ProviderError {
                message: format!("{}; set force_destroy = true to delete its objects with it", e.message),
                ..e
            }
        } else {
            e
        }
    })?;
    Ok(())
}

/// The recorded `force_destroy` flag.
fn force_destroy(inputs: &Value) -> bool {
    matches!(inputs.get("force_destroy"), Some(Value::Bool(true)))
}

/// Deletes every object version and delete marker, page by page.
/// `Ok(false)` when the bucket is already gone.
async fn empty_bucket(c: &Clients, name: &str) -> Result<bool, ProviderError> {
    let (mut key_marker, mut version_marker) = (None::<String>, None::<String>);
    loop {
        let page =
            c.s3.list_object_versions()
                .bucket(name)
                .set_key_marker(key_marker.take())
                .set_version_id_marker(version_marker.take())
                .send()
                .await
                .aws("ListObjectVersions", name);
        let Some(page) = optional(page)? else { return Ok(false) };

        // Unversioned objects are listed with version ID "null", which deletes them too.
        let versions = page.versions().iter().map(|v| (v.key(), v.version_id()));
        let markers = page.delete_markers().iter().map(|m| (m.key(), m.version_id()));
        let objects = versions
            .chain(markers)
            .filter_map(|(key, version)| Some((key?, version)))
            .map(|(key, version)| {
                ObjectIdentifier::builder()
                    .key(key)
                    .set_version_id(version.map(str::to_owned))
                    .build()
                    .map_err(build_error)
            })
            .collect::<Result<Vec<_>, _>>()?;
        for batch in objects.chunks(DELETE_BATCH) {
            let delete =
                Delete::builder().set_objects(Some(batch.to_vec())).quiet(true).build().map_err(build_error)?;
            let out = c.s3.delete_objects().bucket(name).delete(delete).send().await.aws("DeleteObjects", name)?;
            if let Some(err) = out.errors().first() {
                return Err(ProviderError::internal(format!(
                    "emptying bucket `{name}` failed: {} errors, first: object `{}`: {}: {}",
                    out.errors().len(),
                    err.key().unwrap_or_default(),
                    err.code().unwrap_or("unknown"),
                    err.message().unwrap_or("no message"),
                )));
            }
        }
        if page.is_truncated() != Some(true) {
            return Ok(true);
        }
        key_marker = page.next_key_marker().map(str::to_owned);
        version_marker = page.next_version_id_marker().map(str::to_owned);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifecycle_rules_round_trip_through_the_s3_shape() {
        let full = BucketLifecycleRule::builder()
            .id("logs")
            .enabled(false)
            .prefix("logs/")
            .expiration_days(365)
            .noncurrent_version_expiration_days(30)
            .abort_incomplete_multipart_upload_days(7)
            .transitions(vec![
                LifecycleTransition { days: 30, storage_class: TransitionStorageClass::StandardIa },
                LifecycleTransition { days: 90, storage_class: TransitionStorageClass::DeepArchive },
            ])
            .build();
        let bare = BucketLifecycleRule::builder().id("uploads").abort_incomplete_multipart_upload_days(1).build();
        for rule in [full, bare] {
            let sent = s3_rule(&rule).unwrap();
            assert!(sent.filter().is_some(), "a filter, not the deprecated rule-level prefix");
            #[allow(deprecated)] // the legacy field must stay unset
            let legacy_prefix = sent.prefix();
            assert_eq!(legacy_prefix, None);
            assert_eq!(cairn_rule(&sent).unwrap(), rule);
        }
        for class in TransitionStorageClass::ALL {
            assert_eq!(S3StorageClass::from(class.as_str()).as_str(), class.as_str());
        }
    }

    #[test]
    #[allow(deprecated)] // rules written by older tools use the rule-level prefix
    fn lifecycle_rules_read_the_legacy_prefix_and_refuse_what_is_not_modelled() {
        let legacy = S3LifecycleRule::builder()
            .id("old")
            .prefix("tmp/")
            .status(ExpirationStatus::Enabled)
            .expiration(LifecycleExpiration::builder().days(1).build())
            .build()
            .unwrap();
        let read = cairn_rule(&legacy).unwrap();
        assert_eq!((read.prefix.as_deref(), read.expiration_days), (Some("tmp/"), Some(1)));

        let empty_prefix = S3LifecycleRule::builder()
            .id("all")
            .filter(LifecycleRuleFilter::builder().prefix("").build())
            .status(ExpirationStatus::Enabled)
            .expiration(LifecycleExpiration::builder().days(1).build())
            .build()
            .unwrap();
        assert_eq!(cairn_rule(&empty_prefix).unwrap().prefix, None, "an empty prefix is the whole bucket");

        let tagged = S3LifecycleRule::builder()
            .id("tagged")
            .filter(LifecycleRuleFilter::builder().tag(Tag::builder().key("k").value("v").build().unwrap()).build())
            .status(ExpirationStatus::Enabled)
            .build()
            .unwrap();
        let err = cairn_rule(&tagged).unwrap_err();
        assert!(err.contains("lifecycle rule `tagged`") && err.contains("does not model"), "{err}");
    }
}
