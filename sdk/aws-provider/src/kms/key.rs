//! `aws:kms:Key`: the KMS calls. The provider ID is the key ID.
//!
//! KMS never deletes a key at once: Delete schedules the deletion after the
//! recorded `deletion_window_days`, and a key pending deletion counts as gone.

use std::collections::BTreeMap;

use aws_sdk_kms::types::{KeyMetadata, KeySpec as AwsKeySpec, KeyState, KeyUsageType, Tag};
use cairn_aws::kms::{KeyArgs, KeyOutputs, KeySpec, KeyUsage, MAX_DELETION_WINDOW_DAYS};
use cairn_aws::policy::{PolicyDocument, Principal, Statement};
use cairn_core::{
    CreateRequest, CreateResponse, DeleteRequest, ErrorCode, ProviderError, ReadRequest, ReadResponse, UpdateRequest,
    UpdateResponse, Value,
};

use crate::Clients;
use crate::changes::retag;
use crate::sdk::AwsResultExt;

/// The only key policy name KMS has.
const POLICY_NAME: &str = "default";

/// The code KMS answers with for a key (or alias) that does not exist.
pub(crate) const KMS_NOT_FOUND: &str = "NotFoundException";

fn outputs(meta: &KeyMetadata) -> Result<Value, ProviderError> {
    cairn_provider_sdk::to_value(&KeyOutputs {
        key_id: meta.key_id().to_owned(),
        arn: meta.arn().unwrap_or_default().to_owned(),
    })
}

/// KMS tags, or `None` to send none.
fn kms_tags(tags: &BTreeMap<String, String>) -> Result<Option<Vec<Tag>>, ProviderError> {
    crate::sdk::tag_list(tags, |k, v| Tag::builder().tag_key(k).tag_value(v).build())
}

/// The key's metadata; `None` if it does not exist or is pending deletion.
async fn describe(c: &Clients, key_id: &str) -> Result<Option<KeyMetadata>, ProviderError> {
    let out = c.kms.describe_key().key_id(key_id).send().await.aws_unless(&[KMS_NOT_FOUND], "DescribeKey", key_id)?;
    Ok(out
        .and_then(|o| o.key_metadata().cloned())
        .filter(|m| !matches!(m.key_state(), Some(KeyState::PendingDeletion | KeyState::PendingReplicaDeletion))))
}

pub(crate) async fn create(c: &Clients, req: CreateRequest) -> Result<CreateResponse, ProviderError> {
    let args: KeyArgs = cairn_provider_sdk::args(&req.inputs)?;
    let created = c
        .kms
        .create_key()
        .set_description(args.description.clone())
        .key_usage(KeyUsageType::from(args.key_usage.as_str()))
        .key_spec(AwsKeySpec::from(args.key_spec.as_str()))
        .set_policy(args.policy.as_ref().map(PolicyDocument::to_aws_json))
        .set_tags(kms_tags(&args.tags)?)
        .send()
        .await
        .aws("CreateKey", "new key")?;
    let meta = created.key_metadata().cloned().ok_or_else(|| ProviderError::internal("CreateKey returned no key"))?;
    let key_id = meta.key_id().to_owned();

    // A key without its rotation would be recorded nowhere: schedule its deletion so a retry starts clean.
    if args.enable_key_rotation
        && let Err(e) = c.kms.enable_key_rotation().key_id(&key_id).send().await.aws("EnableKeyRotation", &key_id)
    {
        let cleanup = schedule_deletion(c, &key_id, args.deletion_window_days).await;
        let message = match cleanup {
            Ok(()) => format!("{}; the key's deletion was scheduled again", e.message),
            Err(d) => format!(
                "{}; scheduling the deletion of the half-created key `{key_id}` also failed: {}",
                e.message, d.message
            ),
        };
        return Err(ProviderError { message, ..e });
    }
    Ok(CreateResponse { outputs: outputs(&meta)?, id: key_id })
}

/// The recorded deletion window, or KMS's longest (the default).
fn deletion_window(inputs: &Value) -> i32 {
    inputs
        .get("deletion_window_days")
        .and_then(|v| v.to_json().as_i64())
        .and_then(|d| i32::try_from(d).ok())
        .unwrap_or(MAX_DELETION_WINDOW_DAYS)
}

pub(crate) async fn read(c: &Clients, req: ReadRequest) -> Result<Option<ReadResponse>, ProviderError> {
    // A key has no name to find it by: without an ID there is nothing to read.
    let Some(key_id) = req.id.clone() else { return Ok(None) };
    let Some(meta) = describe(c, &key_id).await? else { return Ok(None) };
    let recorded: Option<KeyArgs> = cairn_provider_sdk::recorded(&req.inputs);

    let key_usage = match meta.key_usage() {
        None => KeyUsage::default(),
        Some(u) => KeyUsage::from_aws(u.as_str()).ok_or_else(|| {
            ProviderError::internal(format!("key `{key_id}` has usage {}, which Cairn does not model", u.as_str()))
        })?,
    };
    let key_spec = match meta.key_spec() {
        None => KeySpec::default(),
        Some(s) => KeySpec::from_aws(s.as_str()).ok_or_else(|| {
            ProviderError::internal(format!("key `{key_id}` has key spec {}, which Cairn does not model", s.as_str()))
        })?,
    };
    // Asymmetric and HMAC keys have no rotation: KMS answers UnsupportedOperationException.
    let rotation = c.kms.get_key_rotation_status().key_id(&key_id).send().await.aws_unless(
        &["UnsupportedOperationException"],
        "GetKeyRotationStatus",
        &key_id,
    )?;
    // The policy is compared only when the program declares one; KMS always has some policy.
    let policy =
        match recorded.as_ref().and_then(|r| r.policy.as_ref()) {
            None => None,
            Some(_) => {
                let got = c
                    .kms
                    .get_key_policy()
                    .key_id(&key_id)
                    .policy_name(POLICY_NAME)
                    .send()
                    .await
                    .aws("GetKeyPolicy", &key_id)?;
                let text = got.policy().unwrap_or_default();
                Some(PolicyDocument::from_aws_json(text).map_err(|e| {
                    ProviderError::internal(format!("the key policy of `{key_id}` could not be read: {e}"))
                })?)
            }
        };
    let tags: Vec<Tag> = c
        .kms
        .list_resource_tags()
        .key_id(&key_id)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .aws("ListResourceTags", &key_id)?;

    let live = KeyArgs {
        description: meta.description().filter(|d| !d.is_empty()).map(str::to_owned),
        key_usage,
        key_spec,
        enable_key_rotation: rotation.is_some_and(|r| r.key_rotation_enabled()),
        // Not a KMS setting until the key is deleted: only Cairn's delete uses it.
        deletion_window_days: deletion_window(&req.inputs),
        policy,
        tags: tags.iter().map(|t| (t.tag_key().to_owned(), t.tag_value().to_owned())).collect(),
    };
    Ok(Some(ReadResponse {
        inputs: cairn_provider_sdk::live_inputs(&live, &req.inputs)?,
        outputs: outputs(&meta)?,
        id: key_id,
    }))
}

/// KMS's default key policy: the account may use the key through IAM.
fn default_policy(key_arn: &str) -> Result<PolicyDocument, ProviderError> {
    let mut parts = key_arn.split(':');
    let (partition, account) = (parts.nth(1), parts.nth(2));
    let (Some(partition), Some(account)) = (partition, account) else {
        return Err(ProviderError::internal(format!("`{key_arn}` is not a key ARN")));
    };
    Ok(PolicyDocument::builder()
        .statement(vec![
            Statement::builder()
                .sid("Enable IAM User Permissions")
                .principal(Principal::aws(format!("arn:{partition}:iam::{account}:root")))
                .action(["kms:*"])
                .resource(["*"])
                .build(),
        ])
        .build())
}

pub(crate) async fn update(c: &Clients, req: UpdateRequest) -> Result<UpdateResponse, ProviderError> {
    let old: KeyArgs = cairn_provider_sdk::args(&req.olds)?;
    let new: KeyArgs = cairn_provider_sdk::args(&req.news)?;
    let key_id = req.id.as_str();
    let meta = describe(c, key_id).await?.ok_or_else(|| {
        ProviderError::new(ErrorCode::NotFound, format!("key `{key_id}` is gone or pending deletion"))
    })?;

    if old.description != new.description {
        // An empty description clears it.
        c.kms
            .update_key_description()
            .key_id(key_id)
            .description(new.description.clone().unwrap_or_default())
            .send()
            .await
            .aws("UpdateKeyDescription", key_id)?;
    }
    if old.enable_key_rotation != new.enable_key_rotation {
        if new.enable_key_rotation {
            c.kms.enable_key_rotation().key_id(key_id).send().await.aws("EnableKeyRotation", key_id)?;
        } else {
            c.kms.disable_key_rotation().key_id(key_id).send().await.aws("DisableKeyRotation", key_id)?;
        }
    }
    if old.policy != new.policy {
        // Dropping the declared policy puts KMS's default back.
        let policy = match &new.policy {
            Some(p) => p.clone(),
            None => default_policy(meta.arn().unwrap_or_default())?,
        };
        c.kms
            .put_key_policy()
            .key_id(key_id)
            .policy_name(POLICY_NAME)
            .policy(policy.to_aws_json())
            .send()
            .await
            .aws("PutKeyPolicy", key_id)?;
    }
    retag(
        &old.tags,
        &new.tags,
        |set| async move {
            c.kms
                .tag_resource()
                .key_id(key_id)
                .set_tags(kms_tags(&set)?)
                .send()
                .await
                .aws("TagResource", key_id)
                .map(drop)
        },
        |remove| async move {
            c.kms
                .untag_resource()
                .key_id(key_id)
                .set_tag_keys(Some(remove))
                .send()
                .await
                .aws("UntagResource", key_id)
                .map(drop)
        },
    )
    .await?;
    // deletion_window_days changes nothing in KMS: it is recorded for the delete.
    Ok(UpdateResponse { outputs: outputs(&meta)? })
}

async fn schedule_deletion(c: &Clients, key_id: &str, days: i32) -> Result<(), ProviderError> {
    c.kms
        .schedule_key_deletion()
        .key_id(key_id)
        .pending_window_in_days(days)
        .send()
        .await
        .aws("ScheduleKeyDeletion", key_id)?;
    Ok(())
}

/// Schedules the deletion after the recorded window. A key already gone or
/// already pending deletion counts as deleted.
pub(crate) async fn delete(c: &Clients, req: DeleteRequest) -> Result<(), ProviderError> {
    let key_id = req.id.as_str();
    if describe(c, key_id).await?.is_none() {
        return Ok(());
    }
    schedule_deletion(c, key_id, deletion_window(&req.inputs)).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_default_policy_names_the_keys_account() {
        let p = default_policy("arn:aws:kms:us-east-1:123456789012:key/1234abcd").unwrap();
        assert_eq!(p.statement[0].principal, Some(Principal::aws("arn:aws:iam::123456789012:root")));
        assert_eq!(p.statement[0].action, ["kms:*"]);
        assert!(default_policy("key/1234").is_err());
    }

    #[test]
    fn the_deletion_window_comes_from_the_recorded_inputs() {
        assert_eq!(deletion_window(&Value::from_json(&json!({"deletion_window_days": 7}))), 7);
        assert_eq!(deletion_window(&Value::from_json(&json!({}))), MAX_DELETION_WINDOW_DAYS);
    }
}
