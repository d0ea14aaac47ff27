//! `aws:iam:RolePolicyAttachment`: the IAM calls. The provider ID is
//! `ROLE/POLICY_ARN`: role names cannot contain `/`, so the first `/` ends
//! the role name and everything after it is the policy ARN.

use cairn_aws::iam_extras::{
    RolePolicyAttachmentArgs, RolePolicyAttachmentOutputs, attachment_id, parse_attachment_id,
};
use cairn_core::{
    CreateRequest, CreateResponse, DeleteRequest, Input, ProviderError, ReadRequest, ReadResponse, UpdateRequest,
    UpdateResponse, Value,
};

use crate::Clients;
use crate::sdk::{AwsResultExt, optional};
use cairn_provider_sdk::known;

fn outputs(role: &str, policy_arn: &str) -> Result<Value, ProviderError> {
    cairn_provider_sdk::to_value(&RolePolicyAttachmentOutputs {
        role: role.to_owned(),
        policy_arn: policy_arn.to_owned(),
    })
}

/// Splits a provider ID, refusing one that is not `ROLE/POLICY_ARN`.
fn split_id(id: &str) -> Result<(&str, &str), ProviderError> {
    parse_attachment_id(id).ok_or_else(|| {
        ProviderError::invalid(format!(
            "`{id}` is not the ID of a role policy attachment: write ROLE/POLICY_ARN, e.g. \
             nodes/arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy"
        ))
    })
}

pub(crate) async fn create(c: &Clients, req: CreateRequest) -> Result<CreateResponse, ProviderError> {
    let args: RolePolicyAttachmentArgs = cairn_provider_sdk::args(&req.inputs)?;
    let role = known(&args.role, "role")?;
    let policy_arn = known(&args.policy_arn, "policy_arn")?;
    let id = attachment_id(role, policy_arn);
    c.iam.attach_role_policy().role_name(role).policy_arn(policy_arn).send().await.aws("AttachRolePolicy", &id)?;
    Ok(CreateResponse { outputs: outputs(role, policy_arn)?, id })
}

/// The ARNs of the managed policies attached to `role`; `None` if the role is gone.
async fn attached(c: &Clients, role: &str) -> Result<Option<Vec<String>>, ProviderError> {
    let listed = c
        .iam
        .list_attached_role_policies()
        .role_name(role)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .aws("ListAttachedRolePolicies", role);
    Ok(optional(listed)?.map(|policies| policies.iter().filter_map(|p| p.policy_arn().map(str::to_owned)).collect()))
}

pub(crate) async fn read(c: &Clients, req: ReadRequest) -> Result<Option<ReadResponse>, ProviderError> {
    let id = match &req.id {
        Some(id) => id.clone(),
        None => attachment_id(
            &cairn_provider_sdk::input_str(&req.inputs, "role")?,
            &cairn_provider_sdk::input_str(&req.inputs, "policy_arn")?,
        ),
    };
    let (role, policy_arn) = split_id(&id)?;
    let Some(arns) = attached(c, role).await? else { return Ok(None) };
    if !arns.iter().any(|a| a == policy_arn) {
        return Ok(None);
    }
    let live = RolePolicyAttachmentArgs {
        role: Input::Value(role.to_owned()),
        policy_arn: Input::Value(policy_arn.to_owned()),
    };
    Ok(Some(ReadResponse {
        inputs: cairn_provider_sdk::live_inputs(&live, &req.inputs)?,
        outputs: outputs(role, policy_arn)?,
        id: id.clone(),
    }))
}

/// Every property replaces the attachment, so there is nothing to change in place.
pub(crate) async fn update(_c: &Clients, req: UpdateRequest) -> Result<UpdateResponse, ProviderError> {
    let (role, policy_arn) = split_id(&req.id)?;
    Ok(UpdateResponse { outputs: outputs(role, policy_arn)? })
}

pub(crate) async fn delete(c: &Clients, req: DeleteRequest) -> Result<(), ProviderError> {
    let (role, policy_arn) = split_id(&req.id)?;
    optional(
        c.iam.detach_role_policy().role_name(role).policy_arn(policy_arn).send().await.aws("DetachRolePolicy", &req.id),
    )?;
    Ok(())
}
