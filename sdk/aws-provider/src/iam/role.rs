//! `aws:iam:Role`: the IAM calls. The provider ID is the role name.

use std::collections::BTreeMap;

use aws_sdk_iam::types::Tag;
use cairn_aws::iam::{RoleArgs, RoleOutputs};
use cairn_aws::policy::PolicyDocument;
use cairn_core::{
    CreateRequest, CreateResponse, DeleteRequest, Input, ProviderError, ReadRequest, ReadResponse, UpdateRequest,
    UpdateResponse,
};

use crate::Clients;
use crate::changes::order_like;
use crate::sdk::{AwsResultExt, optional};

pub(crate) async fn create(c: &Clients, req: CreateRequest) -> Result<CreateResponse, ProviderError> {
    let args: RoleArgs = cairn_provider_sdk::args(&req.inputs)?;
    let name = cairn_provider_sdk::physical_name(&args.name, "name")?;
    let created = c
        .iam
        .create_role()
        .role_name(&name)
        .assume_role_policy_document(
            cairn_provider_sdk::known(&args.assume_role_policy, "assume_role_policy")?.to_aws_json(),
        )
        .set_description(args.description.clone())
        .set_tags(iam_tags(&args.tags)?)
        .send()
        .await
        .aws("CreateRole", &name)?;
    let arn = created.role().map(|r| r.arn().to_owned()).unwrap_or_default();

    // A half-configured role would make the retry fail with EntityAlreadyExists:
    // remove it so that the create can simply be run again.
    if let Err(e) = attach_policies(c, &name, &args).await {
        return Err(match delete_role(c, &name).await {
            Ok(()) => ProviderError { message: format!("{}; the role was deleted again", e.message), ..e },
            Err(cleanup) => ProviderError {
                message: format!(
                    "{}; deleting the half-created role `{name}` also failed: {}",
                    e.message, cleanup.message
                ),
                ..e
            },
        });
    }
    Ok(CreateResponse { id: name.clone(), outputs: cairn_provider_sdk::to_value(&RoleOutputs { name, arn })? })
}

/// Puts the inline policies and attaches the managed ones of a new role.
async fn attach_policies(c: &Clients, name: &str, args: &RoleArgs) -> Result<(), ProviderError> {
    for (policy, doc) in &args.inline_policies {
        put_inline(c, name, policy, doc).await?;
    }
    for arn in &args.managed_policy_arns {
        c.iam.attach_role_policy().role_name(name).policy_arn(arn).send().await.aws("AttachRolePolicy", name)?;
    }
    Ok(())
}

async fn put_inline(c: &Clients, name: &str, policy: &str, doc: &PolicyDocument) -> Result<(), ProviderError> {
    c.iam
        .put_role_policy()
        .role_name(name)
        .policy_name(policy)
        .policy_document(doc.to_aws_json())
        .send()
        .await
        .aws("PutRolePolicy", name)?;
    Ok(())
}

pub(crate) async fn read(c: &Clients, req: ReadRequest) -> Result<Option<ReadResponse>, ProviderError> {
    let name = cairn_provider_sdk::read_id(&req, "name")?;
    let Some(got) = optional(c.iam.get_role().role_name(&name).send().await.aws("GetRole", &name))? else {
        return Ok(None);
    };
    let role = got.role().ok_or_else(|| ProviderError::internal(format!("GetRole `{name}` returned no role")))?;
    let recorded: Option<RoleArgs> = cairn_provider_sdk::recorded(&req.inputs);
    // A role that declares no inline (or managed) policies leaves them to
    // `aws:iam:RolePolicy` (or `RolePolicyAttachment`) resources: they are not
    // its to report. An import (nothing recorded) reads everything.
    let manages_inline = recorded.as_ref().is_none_or(|r| !r.inline_policies.is_empty());
    let manages_attached = recorded.as_ref().is_none_or(|r| !r.managed_policy_arns.is_empty());

    let mut inline_policies = BTreeMap::new();
    let inline_names = if manages_inline { inline_policy_names(c, &name).await? } else { Vec::new() };
    for policy in inline_names {
        let got =
            c.iam.get_role_policy().role_name(&name).policy_name(&policy).send().await.aws("GetRolePolicy", &name)?;
        let doc = decode_policy(got.policy_document()).map_err(|e| {
            ProviderError::internal(format!("inline policy `{policy}` of role `{name}` could not be read: {e}"))
        })?;
        inline_policies.insert(policy, doc);
    }
    let attached = if manages_attached { attached_policy_arns(c, &name).await? } else { Vec::new() };
    let live = RoleArgs {
        name: Some(Input::Value(name.clone())),
        assume_role_policy: Input::Value(
            decode_policy(role.assume_role_policy_document().unwrap_or_default()).map_err(|e| {
                ProviderError::internal(format!("the trust policy of role `{name}` could not be read: {e}"))
            })?,
        ),
        inline_policies,
        managed_policy_arns: order_like(
            attached,
            recorded.as_ref().map_or(&[][..], |r| r.managed_policy_arns.as_slice()),
        ),
        // IAM reports a cleared description as empty.
        description: role.description().filter(|d| !d.is_empty()).map(str::to_owned),
        tags: role.tags().iter().map(|t| (t.key().to_owned(), t.value().to_owned())).collect(),
    };
    let outputs = RoleOutputs { name: name.clone(), arn: role.arn().to_owned() };
    Ok(Some(ReadResponse {
        id: name,
        inputs: cairn_provider_sdk::live_inputs(&live, &req.inputs)?,
        outputs: cairn_provider_sdk::to_value(&outputs)?,
    }))
}

pub(crate) async fn update(c: &Clients, req: UpdateRequest) -> Result<UpdateResponse, ProviderError> {
    let old: RoleArgs = cairn_provider_sdk::args(&req.olds)?;
    let new: RoleArgs = cairn_provider_sdk::args(&req.news)?;
    let name = req.id.as_str();

    if old.assume_role_policy != new.assume_role_policy {
        c.iam
            .update_assume_role_policy()
            .role_name(name)
            .policy_document(cairn_provider_sdk::known(&new.assume_role_policy, "assume_role_policy")?.to_aws_json())
            .send()
            .await
            .aws("UpdateAssumeRolePolicy", name)?;
    }
    if old.description != new.description {
        // An empty description clears it.
        let description = new.description.clone().unwrap_or_default();
        c.iam.update_role().role_name(name).description(description).send().await.aws("UpdateRole", name)?;
    }
    for policy in old.inline_policies.keys().filter(|p| !new.inline_policies.contains_key(*p)) {
        optional(
            c.iam.delete_role_policy().role_name(name).policy_name(policy).send().await.aws("DeleteRolePolicy", name),
        )?;
    }
    for (policy, doc) in &new.inline_policies {
        if old.inline_policies.get(policy) != Some(doc) {
            put_inline(c, name, policy, doc).await?;
        }
    }
    for arn in old.managed_policy_arns.iter().filter(|a| !new.managed_policy_arns.contains(a)) {
        optional(
            c.iam.detach_role_policy().role_name(name).policy_arn(arn).send().await.aws("DetachRolePolicy", name),
        )?;
    }
    for arn in new.managed_policy_arns.iter().filter(|a| !old.managed_policy_arns.contains(a)) {
        c.iam.attach_role_policy().role_name(name).policy_arn(arn).send().await.aws("AttachRolePolicy", name)?;
    }
    crate::changes::retag(
        &old.tags,
        &new.tags,
        |set| async move {
            c.iam.tag_role().role_name(name).set_tags(iam_tags(&set)?).send().await.aws("TagRole", name).map(drop)
        },
        |remove| async move {
            c.iam.untag_role().role_name(name).set_tag_keys(Some(remove)).send().await.aws("UntagRole", name).map(drop)
        },
    )
    .await?;

    let got = c.iam.get_role().role_name(name).send().await.aws("GetRole", name)?;
    let arn = got.role().map(|r| r.arn().to_owned()).unwrap_or_default();
    Ok(UpdateResponse { outputs: cairn_provider_sdk::to_value(&RoleOutputs { name: name.to_owned(), arn })? })
}

pub(crate) async fn delete(c: &Clients, req: DeleteRequest) -> Result<(), ProviderError> {
    delete_role(c, &req.id).await
}

/// Detaches and deletes the role's policies (IAM refuses to delete a role
/// that has any), then the role. A role already gone counts as deleted.
async fn delete_role(c: &Clients, name: &str) -> Result<(), ProviderError> {
    let Some(attached) = optional(attached_policy_arns(c, name).await)? else { return Ok(()) };
    for arn in attached {
        optional(
            c.iam.detach_role_policy().role_name(name).policy_arn(arn).send().await.aws("DetachRolePolicy", name),
        )?;
    }
    let Some(inline) = optional(inline_policy_names(c, name).await)? else { return Ok(()) };
    for policy in inline {
        optional(
            c.iam.delete_role_policy().role_name(name).policy_name(policy).send().await.aws("DeleteRolePolicy", name),
        )?;
    }
    optional(c.iam.delete_role().role_name(name).send().await.aws("DeleteRole", name))?;
    Ok(())
}

async fn inline_policy_names(c: &Clients, name: &str) -> Result<Vec<String>, ProviderError> {
    c.iam
        .list_role_policies()
        .role_name(name)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .aws("ListRolePolicies", name)
}

async fn attached_policy_arns(c: &Clients, name: &str) -> Result<Vec<String>, ProviderError> {
    let attached = c
        .iam
        .list_attached_role_policies()
        .role_name(name)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .aws("ListAttachedRolePolicies", name)?;
    Ok(attached.iter().filter_map(|p| p.policy_arn().map(str::to_owned)).collect())
}

/// IAM tags, or `None` to send none.
pub(crate) fn iam_tags(tags: &BTreeMap<String, String>) -> Result<Option<Vec<Tag>>, ProviderError> {
    crate::sdk::tag_list(tags, |k, v| Tag::builder().key(k).value(v).build())
}

/// Reads a policy document as IAM returns it: URL-encoded JSON. (Some
/// emulators return it plain; JSON starts with `{`, its encoding with `%7B`.)
pub(crate) fn decode_policy(raw: &str) -> Result<PolicyDocument, String> {
    let text = if raw.trim_start().starts_with('{') { raw.to_owned() } else { percent_decode(raw)? };
    PolicyDocument::from_aws_json(&text)
}

/// Decodes `%XX` escapes (RFC 3986, as IAM encodes; `+` stays `+`).
fn percent_decode(s: &str) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(hi), Some(lo)) => {
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|e| format!("the URL-decoded policy is not UTF-8: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_aws::policy::Principal;

    #[test]
    fn percent_decoding_handles_escapes_utf8_and_stray_percents() {
        assert_eq!(percent_decode("%7B%22a%22%3A%20%22b%2Bc%22%7D").unwrap(), r#"{"a": "b+c"}"#);
        assert_eq!(percent_decode("a+b").unwrap(), "a+b");
        assert_eq!(percent_decode("caf%C3%A9").unwrap(), "café");
        assert_eq!(percent_decode("100%").unwrap(), "100%");
        assert_eq!(percent_decode("%zz%4").unwrap(), "%zz%4");
        assert!(percent_decode("%FF").is_err());
    }

    #[test]
    fn url_encoded_trust_policy_with_single_strings_decodes() {
        // As IAM returns it: URL-encoded, with single values as plain strings.
        let raw = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C\
                   %22Principal%22%3A%7B%22Service%22%3A%22eks.amazonaws.com%22%7D%2C%22Action%22%3A%22sts%3AAssumeRole%22%7D%5D%7D";
        assert_eq!(decode_policy(raw).unwrap(), PolicyDocument::assume_role_for_service("eks.amazonaws.com"));
        let plain = PolicyDocument::assume_role_for_service("ec2.amazonaws.com").to_aws_json();
        let doc = decode_policy(&plain).unwrap();
        assert_eq!(doc.statement[0].principal, Some(Principal::service("ec2.amazonaws.com")));
    }
}
