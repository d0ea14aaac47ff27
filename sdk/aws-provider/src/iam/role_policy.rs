//! `aws:iam:RolePolicy`: the IAM calls. The provider ID is `ROLE:NAME`
//! (neither role names nor policy names can contain `:`).

use cairn_aws::iam_extras::{RolePolicyArgs, RolePolicyOutputs, parse_role_policy_id, role_policy_id};
use cairn_aws::policy::PolicyDocument;
use cairn_core::{
    CreateRequest, CreateResponse, DeleteRequest, Input, ProviderError, ReadRequest, ReadResponse, UpdateRequest,
    UpdateResponse, Value,
};

use super::read_policy;
use crate::Clients;
use crate::sdk::{AwsResultExt, optional};
use cairn_provider_sdk::known;

fn outputs(role: &str, name: &str) -> Result<Value, ProviderError> {
    cairn_provider_sdk::to_value(&RolePolicyOutputs { role: role.to_owned(), name: name.to_owned() })
}

/// Splits a provider ID, refusing one that is not `ROLE:NAME`.
fn split_id(id: &str) -> Result<(&str, &str), ProviderError> {
    parse_role_policy_id(id).ok_or_else(|| {
        ProviderError::invalid(format!("`{id}` is not the ID of an inline role policy: write ROLE:POLICY_NAME"))
    })
}

async fn put(c: &Clients, role: &str, name: &str, doc: &PolicyDocument) -> Result<(), ProviderError> {
    let id = role_policy_id(role, name);
    c.iam
        .put_role_policy()
        .role_name(role)
        .policy_name(name)
        .policy_document(doc.to_aws_json())
        .send()
        .await
        .aws("PutRolePolicy", &id)?;
    Ok(())
}

pub(crate) async fn create(c: &Clients, req: CreateRequest) -> Result<CreateResponse, ProviderError> {
    let args: RolePolicyArgs = cairn_provider_sdk::args(&req.inputs)?;
    let role = known(&args.role, "role")?;
    put(c, role, &args.name, known(&args.policy, "policy")?).await?;
    Ok(CreateResponse { id: role_policy_id(role, &args.name), outputs: outputs(role, &args.name)? })
}

pub(crate) async fn read(c: &Clients, req: ReadRequest) -> Result<Option<ReadResponse>, ProviderError> {
    let id = match &req.id {
        Some(id) => id.clone(),
        None => role_policy_id(
            &cairn_provider_sdk::input_str(&req.inputs, "role")?,
            &cairn_provider_sdk::input_str(&req.inputs, "name")?,
        ),
    };
    let (role, name) = split_id(&id)?;
    let got = c.iam.get_role_policy().role_name(role).policy_name(name).send().await.aws("GetRolePolicy", &id);
    // NoSuchEntity: the role or the policy is gone.
    let Some(got) = optional(got)? else { return Ok(None) };
    let live = RolePolicyArgs {
        role: Input::Value(role.to_owned()),
        name: name.to_owned(),
        policy: Input::Value(read_policy(got.policy_document(), &format!("inline policy `{id}`"))?),
    };
    Ok(Some(ReadResponse {
        inputs: cairn_provider_sdk::live_inputs(&live, &req.inputs)?,
        outputs: outputs(role, name)?,
        id: id.clone(),
    }))
}

pub(crate) async fn update(c: &Clients, req: UpdateRequest) -> Result<UpdateResponse, ProviderError> {
    let new: RolePolicyArgs = cairn_provider_sdk::args(&req.news)?;
    let (role, name) = split_id(&req.id)?;
    // Only the document changes in place (role and name replace); PutRolePolicy overwrites it.
    put(c, role, name, known(&new.policy, "policy")?).await?;
    Ok(UpdateResponse { outputs: outputs(role, name)? })
}

pub(crate) async fn delete(c: &Clients, req: DeleteRequest) -> Result<(), ProviderError> {
    let (role, name) = split_id(&req.id)?;
    optional(
        c.iam.delete_role_policy().role_name(role).policy_name(name).send().await.aws("DeleteRolePolicy", &req.id),
    )?;
    Ok(())
}
