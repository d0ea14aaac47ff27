//! `aws:secretsmanager:Secret`: the Secrets Manager calls. The provider ID is
//! the secret's ARN.
//!
//! The value is write-only: it is put on create and whenever the program's
//! value changes, and never read back, so it exists in plain text only in
//! the call that sends it. Read reports the recorded value (still marked
//! secret) in its place.

use std::collections::BTreeMap;

use aws_sdk_secretsmanager::operation::describe_secret::DescribeSecretOutput;
use aws_sdk_secretsmanager::types::Tag;
use cairn_aws::secretsmanager::{DEFAULT_RECOVERY_WINDOW_DAYS, SecretArgs, SecretOutputs};
use cairn_core::{
    CreateRequest, CreateResponse, DeleteRequest, Input, ProviderError, ReadRequest, ReadResponse, UpdateRequest,
    UpdateResponse, Value,
};

use crate::Clients;
use crate::changes::retag;
use crate::sdk::{AwsResultExt, optional};
use cairn_provider_sdk::known;

fn outputs(arn: &str, name: &str) -> Result<Value, ProviderError> {
    cairn_provider_sdk::to_value(&SecretOutputs { arn: arn.to_owned(), name: name.to_owned() })
}

fn tags(map: &BTreeMap<String, String>) -> Option<Vec<Tag>> {
    (!map.is_empty()).then(|| map.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect())
}

/// The secret `id` (ARN or name), unless it does not exist or is scheduled for deletion.
async fn describe(c: &Clients, id: &str) -> Result<Option<DescribeSecretOutput>, ProviderError> {
    let got = optional(c.secrets.describe_secret().secret_id(id).send().await.aws("DescribeSecret", id))?;
    Ok(got.filter(|s| s.deleted_date().is_none()))
}

pub(crate) async fn create(c: &Clients, req: CreateRequest) -> Result<CreateResponse, ProviderError> {
    let args: SecretArgs = cairn_provider_sdk::args(&req.inputs)?;
    let name = cairn_provider_sdk::physical_name(&args.name, "name")?;
    let kms = args.kms_key_id.as_ref().map(|k| known(k, "kms_key_id").cloned()).transpose()?;
    let value = args.secret_string.as_ref().map(|v| known(v, "secret_string").cloned()).transpose()?;
    let created = c
        .secrets
        .create_secret()
        .name(&name)
        .set_description(args.description.clone())
        .set_kms_key_id(kms)
        .set_secret_string(value)
        .set_tags(tags(&args.tags))
        .send()
        .await
        .aws("CreateSecret", &name)?;
    let arn = created.arn().ok_or_else(|| ProviderError::internal(format!("CreateSecret `{name}` returned no ARN")))?;
    Ok(CreateResponse { id: arn.to_owned(), outputs: outputs(arn, &name)? })
}

pub(crate) async fn read(c: &Clients, req: ReadRequest) -> Result<Option<ReadResponse>, ProviderError> {
    let id = cairn_provider_sdk::read_id(&req, "name")?;
    let Some(secret) = describe(c, &id).await? else { return Ok(None) };
    let recorded: Option<SecretArgs> = cairn_provider_sdk::recorded(&req.inputs);
    let arn = secret.arn().unwrap_or(&id).to_owned();
    let name = secret.name().unwrap_or_default().to_owned();
    let live = SecretArgs {
        name: Some(Input::Value(name.clone())),
        description: secret.description().filter(|d| !d.is_empty()).map(str::to_owned),
        // The emulator does not echo the key given at create; AWS does.
        kms_key_id: secret
            .kms_key_id()
            .map(|k| Input::Value(k.to_owned()))
            .or_else(|| recorded.as_ref().and_then(|r| r.kms_key_id.clone())),
        secret_string: None,
        // Not an AWS property: how this program deletes it.
        recovery_window_days: recorded.as_ref().map_or(DEFAULT_RECOVERY_WINDOW_DAYS, |r| r.recovery_window_days),
        tags: secret
            .tags()
            .iter()
            .map(|t| (t.key().unwrap_or_default().to_owned(), t.value().unwrap_or_default().to_owned()))
            .collect(),
    };
    let mut inputs = cairn_provider_sdk::live_inputs(&live, &req.inputs)?;
    // The write-only value: the recorded one, with its secret marker.
    if let (Value::Map(map), Some(value)) = (&mut inputs, req.inputs.get("secret_string")) {
        map.insert("secret_string".to_owned(), value.clone());
    }
    Ok(Some(ReadResponse { inputs, outputs: outputs(&arn, &name)?, id: arn }))
}

pub(crate) async fn update(c: &Clients, req: UpdateRequest) -> Result<UpdateResponse, ProviderError> {
    let old: SecretArgs = cairn_provider_sdk::args(&req.olds)?;
    let new: SecretArgs = cairn_provider_sdk::args(&req.news)?;
    let arn = req.id.as_str();
    if old.description != new.description || old.kms_key_id != new.kms_key_id {
        let kms = new.kms_key_id.as_ref().map(|k| known(k, "kms_key_id").cloned()).transpose()?;
        c.secrets
            .update_secret()
            .secret_id(arn)
            .description(new.description.clone().unwrap_or_default())
            .set_kms_key_id(kms)
            .send()
            .await
            .aws("UpdateSecret", arn)?;
    }
    if old.secret_string != new.secret_string
        && let Some(value) = &new.secret_string
    {
        c.secrets
            .put_secret_value()
            .secret_id(arn)
            .secret_string(known(value, "secret_string")?)
            .send()
            .await
            .aws("PutSecretValue", arn)?;
    }
    retag(
        &old.tags,
        &new.tags,
        |set| async move {
            c.secrets.tag_resource().secret_id(arn).set_tags(tags(&set)).send().await.aws("TagResource", arn).map(drop)
        },
        |remove| async move {
            c.secrets
                .untag_resource()
                .secret_id(arn)
                .set_tag_keys(Some(remove))
                .send()
                .await
                .aws("UntagResource", arn)
                .map(drop)
        },
    )
    .await?;
    let name = cairn_provider_sdk::input_str(&req.news, "name")?;
    Ok(UpdateResponse { outputs: outputs(arn, &name)? })
}

/// Schedules the deletion after the recovery window (0: at once). A secret
/// already gone or scheduled counts as deleted.
pub(crate) async fn delete(c: &Clients, req: DeleteRequest) -> Result<(), ProviderError> {
    let arn = req.id.as_str();
    if describe(c, arn).await?.is_none() {
        return Ok(());
    }
    let args: Option<SecretArgs> = cairn_provider_sdk::recorded(&req.inputs);
    let window = args.map_or(DEFAULT_RECOVERY_WINDOW_DAYS, |a| a.recovery_window_days);
    let call = c.secrets.delete_secret().secret_id(arn);
    let call = if window == 0 {
        call.force_delete_without_recovery(true)
    } else {
        call.recovery_window_in_days(i64::from(window))
    };
    optional(call.send().await.aws("DeleteSecret", arn))?;
    Ok(())
}
