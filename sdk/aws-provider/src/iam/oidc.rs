//! `aws:iam:OpenIdConnectProvider`: the IAM calls. The provider ID is the
//! provider ARN. IAM stores the issuer without `https://`; Read reports the
//! URL in the declared form.

use std::collections::BTreeSet;

use cairn_aws::iam_extras::{OpenIdConnectProviderArgs, OpenIdConnectProviderOutputs, oidc_issuer};
use cairn_core::{
    CreateRequest, CreateResponse, DeleteRequest, Input, ProviderError, ReadRequest, ReadResponse, UpdateRequest,
    UpdateResponse, Value,
};

use super::{iam_tags, tag_map};
use crate::Clients;
use crate::changes::{order_like, tag_changes};
use crate::sdk::{AwsResultExt, optional};
use cairn_provider_sdk::known;

fn outputs(arn: &str, issuer: &str) -> Result<Value, ProviderError> {
    cairn_provider_sdk::to_value(&OpenIdConnectProviderOutputs { arn: arn.to_owned(), issuer: issuer.to_owned() })
}

/// `None` for an empty list: IAM takes the lists as optional.
fn some_unless_empty(items: &[String]) -> Option<Vec<String>> {
    (!items.is_empty()).then(|| items.to_vec())
}

pub(crate) async fn create(c: &Clients, req: CreateRequest) -> Result<CreateResponse, ProviderError> {
    let args: OpenIdConnectProviderArgs = cairn_provider_sdk::args(&req.inputs)?;
    let url = known(&args.url, "url")?;
    let created = c
        .iam
        .create_open_id_connect_provider()
        .url(url)
        .set_client_id_list(some_unless_empty(&args.client_ids))
        .set_thumbprint_list(some_unless_empty(&args.thumbprints))
        .set_tags(iam_tags(&args.tags)?)
        .send()
        .await
        .aws("CreateOpenIDConnectProvider", url)?;
    let arn = created
        .open_id_connect_provider_arn()
        .map(str::to_owned)
        .ok_or_else(|| ProviderError::internal(format!("CreateOpenIDConnectProvider `{url}` returned no ARN")))?;
    Ok(CreateResponse { outputs: outputs(&arn, oidc_issuer(url))?, id: arn })
}

/// The ARN of the provider for `url` (for a create interrupted before its ID was recorded).
async fn find_by_url(c: &Clients, url: &str) -> Result<Option<String>, ProviderError> {
    let listed = c.iam.list_open_id_connect_providers().send().await.aws("ListOpenIDConnectProviders", url)?;
    let suffix = format!(":oidc-provider/{}", oidc_issuer(url));
    Ok(listed
        .open_id_connect_provider_list()
        .iter()
        .filter_map(|p| p.arn())
        .find(|a| a.ends_with(&suffix))
        .map(str::to_owned))
}

pub(crate) async fn read(c: &Clients, req: ReadRequest) -> Result<Option<ReadResponse>, ProviderError> {
    let recorded: Option<OpenIdConnectProviderArgs> = cairn_provider_sdk::recorded(&req.inputs);
    let arn = match &req.id {
        Some(id) => id.clone(),
        None => match find_by_url(c, &cairn_provider_sdk::input_str(&req.inputs, "url")?).await? {
            Some(arn) => arn,
            None => return Ok(None),
        },
    };
    let got = optional(
        c.iam
            .get_open_id_connect_provider()
            .open_id_connect_provider_arn(&arn)
            .send()
            .await
            .aws("GetOpenIDConnectProvider", &arn),
    )?;
    let Some(got) = got else { return Ok(None) };
    let tags: Vec<aws_sdk_iam::types::Tag> = c
        .iam
        .list_open_id_connect_provider_tags()
        .open_id_connect_provider_arn(&arn)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .aws("ListOpenIDConnectProviderTags", &arn)?;

    let issuer = got.url().map(oidc_issuer).unwrap_or_default().to_owned();
    // IAM drops the scheme: report the declared URL when it names the same issuer.
    let declared_url = recorded.as_ref().and_then(|r| r.url.value()).filter(|u| oidc_issuer(u) == issuer);
    let url = declared_url.cloned().unwrap_or_else(|| format!("https://{issuer}"));
    let (recorded_ids, recorded_prints) =
        recorded.as_ref().map_or((&[][..], &[][..]), |r| (r.client_ids.as_slice(), r.thumbprints.as_slice()));
    let live = OpenIdConnectProviderArgs {
        url: Input::Value(url),
        client_ids: order_like(got.client_id_list().to_vec(), recorded_ids),
        thumbprints: order_like(got.thumbprint_list().to_vec(), recorded_prints),
        tags: tag_map(&tags),
    };
    Ok(Some(ReadResponse {
        inputs: cairn_provider_sdk::live_inputs(&live, &req.inputs)?,
        outputs: outputs(&arn, &issuer)?,
        id: arn,
    }))
}

pub(crate) async fn update(c: &Clients, req: UpdateRequest) -> Result<UpdateResponse, ProviderError> {
    let old: OpenIdConnectProviderArgs = cairn_provider_sdk::args(&req.olds)?;
    let new: OpenIdConnectProviderArgs = cairn_provider_sdk::args(&req.news)?;
    let arn = req.id.as_str();

    let (old_ids, new_ids): (BTreeSet<&String>, BTreeSet<&String>) =
        (old.client_ids.iter().collect(), new.client_ids.iter().collect());
    for id in new_ids.difference(&old_ids) {
        c.iam
            .add_client_id_to_open_id_connect_provider()
            .open_id_connect_provider_arn(arn)
            .client_id(*id)
            .send()
            .await
            .aws("AddClientIDToOpenIDConnectProvider", arn)?;
    }
    for id in old_ids.difference(&new_ids) {
        c.iam
            .remove_client_id_from_open_id_connect_provider()
            .open_id_connect_provider_arn(arn)
            .client_id(*id)
            .send()
            .await
            .aws("RemoveClientIDFromOpenIDConnectProvider", arn)?;
    }
    let (old_prints, new_prints): (BTreeSet<&String>, BTreeSet<&String>) =
        (old.thumbprints.iter().collect(), new.thumbprints.iter().collect());
    if old_prints != new_prints {
        c.iam
            .update_open_id_connect_provider_thumbprint()
            .open_id_connect_provider_arn(arn)
            .set_thumbprint_list(Some(new.thumbprints.clone()))
            .send()
            .await
            .aws("UpdateOpenIDConnectProviderThumbprint", arn)?;
    }
    let (set, remove) = tag_changes(&old.tags, &new.tags);
    if !set.is_empty() {
        c.iam
            .tag_open_id_connect_provider()
            .open_id_connect_provider_arn(arn)
            .set_tags(iam_tags(&set)?)
            .send()
            .await
            .aws("TagOpenIDConnectProvider", arn)?;
    }
    if !remove.is_empty() {
        c.iam
            .untag_open_id_connect_provider()
            .open_id_connect_provider_arn(arn)
            .set_tag_keys(Some(remove))
            .send()
            .await
            .aws("UntagOpenIDConnectProvider", arn)?;
    }
    let url = known(&new.url, "url")?;
    Ok(UpdateResponse { outputs: outputs(arn, oidc_issuer(url))? })
}

pub(crate) async fn delete(c: &Clients, req: DeleteRequest) -> Result<(), ProviderError> {
    let arn = req.id.as_str();
    optional(
        c.iam
            .delete_open_id_connect_provider()
            .open_id_connect_provider_arn(arn)
            .send()
            .await
            .aws("DeleteOpenIDConnectProvider", arn),
    )?;
    Ok(())
}
