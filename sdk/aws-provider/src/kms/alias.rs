//! `aws:kms:Alias`: the KMS calls. The provider ID is the alias name.

use aws_sdk_kms::types::AliasListEntry;
use cairn_aws::kms::{AliasArgs, AliasOutputs};
use cairn_core::{
    CreateRequest, CreateResponse, DeleteRequest, ErrorCode, Input, ProviderError, ReadRequest, ReadResponse,
    UpdateRequest, UpdateResponse, Value,
};

use crate::Clients;
use crate::kms::key::KMS_NOT_FOUND;
use crate::sdk::AwsResultExt;
use cairn_provider_sdk::known;

fn outputs(alias: &AliasListEntry) -> Result<Value, ProviderError> {
    cairn_provider_sdk::to_value(&AliasOutputs {
        name: alias.alias_name().unwrap_or_default().to_owned(),
        arn: alias.alias_arn().unwrap_or_default().to_owned(),
        target_key_id: alias.target_key_id().unwrap_or_default().to_owned(),
    })
}

/// The alias called `name`, or `None` (KMS has no call to get one alias: list them).
async fn find(c: &Clients, name: &str) -> Result<Option<AliasListEntry>, ProviderError> {
    let aliases: Vec<AliasListEntry> =
        c.kms.list_aliases().into_paginator().items().send().try_collect().await.aws("ListAliases", name)?;
    Ok(aliases.into_iter().find(|a| a.alias_name() == Some(name)))
}

async fn find_existing(c: &Clients, name: &str) -> Result<AliasListEntry, ProviderError> {
    find(c, name).await?.ok_or_else(|| ProviderError::new(ErrorCode::NotFound, format!("alias `{name}` disappeared")))
}

/// True if `declared` (a key ID or key ARN) names the key `live_id`.
fn same_key(declared: &str, live_id: &str) -> bool {
    declared == live_id || declared.rsplit_once(":key/").is_some_and(|(_, id)| id == live_id)
}

pub(crate) async fn create(c: &Clients, req: CreateRequest) -> Result<CreateResponse, ProviderError> {
    let args: AliasArgs = cairn_provider_sdk::args(&req.inputs)?;
    let target = known(&args.target_key_id, "target_key_id")?;
    c.kms.create_alias().alias_name(&args.name).target_key_id(target).send().await.aws("CreateAlias", &args.name)?;
    let alias = find_existing(c, &args.name).await?;
    Ok(CreateResponse { outputs: outputs(&alias)?, id: args.name })
}

pub(crate) async fn read(c: &Clients, req: ReadRequest) -> Result<Option<ReadResponse>, ProviderError> {
    let name = cairn_provider_sdk::read_id(&req, "name")?;
    let Some(alias) = find(c, &name).await? else { return Ok(None) };
    let recorded: Option<AliasArgs> = cairn_provider_sdk::recorded(&req.inputs);
    let live_target = alias.target_key_id().unwrap_or_default();
    // KMS reports the key ID: keep the declared form (ID or ARN) when it names the same key.
    let target = recorded
        .as_ref()
        .and_then(|r| r.target_key_id.value())
        .filter(|declared| same_key(declared, live_target))
        .cloned()
        .unwrap_or_else(|| live_target.to_owned());
    let live = AliasArgs { name: name.clone(), target_key_id: Input::Value(target) };
    Ok(Some(ReadResponse {
        inputs: cairn_provider_sdk::live_inputs(&live, &req.inputs)?,
        outputs: outputs(&alias)?,
        id: name,
    }))
}

pub(crate) async fn update(c: &Clients, req: UpdateRequest) -> Result<UpdateResponse, ProviderError> {
    let new: AliasArgs = cairn_provider_sdk::args(&req.news)?;
    let name = req.id.as_str();
    let target = known(&new.target_key_id, "target_key_id")?;
    c.kms.update_alias().alias_name(name).target_key_id(target).send().await.aws("UpdateAlias", name)?;
    Ok(UpdateResponse { outputs: outputs(&find_existing(c, name).await?)? })
}

/// Deletes the alias (the key stays). An alias already gone counts as deleted.
pub(crate) async fn delete(c: &Clients, req: DeleteRequest) -> Result<(), ProviderError> {
    let name = req.id.as_str();
    c.kms.delete_alias().alias_name(name).send().await.aws_unless(&[KMS_NOT_FOUND], "DeleteAlias", name)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_declared_arn_names_the_same_key_as_its_id() {
        let id = "1234abcd-12ab-34cd-56ef-1234567890ab";
        assert!(same_key(id, id));
        assert!(same_key(&format!("arn:aws:kms:us-east-1:123456789012:key/{id}"), id));
        assert!(!same_key("arn:aws:kms:us-east-1:123456789012:key/other", id));
    }
}
