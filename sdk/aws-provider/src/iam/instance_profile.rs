//! `aws:iam:InstanceProfile`: the IAM calls. The provider ID is the profile name.

use aws_sdk_iam::types::InstanceProfile;
use cairn_aws::iam_extras::{InstanceProfileArgs, InstanceProfileOutputs};
use cairn_core::{
    CreateRequest, CreateResponse, DeleteRequest, ErrorCode, Input, ProviderError, ReadRequest, ReadResponse,
    UpdateRequest, UpdateResponse, Value,
};

use super::{iam_tags, tag_map};
use crate::Clients;
use crate::changes::tag_changes;
use crate::sdk::{AwsResultExt, optional};
use cairn_provider_sdk::known;

fn outputs(profile: &InstanceProfile) -> Result<Value, ProviderError> {
    cairn_provider_sdk::to_value(&InstanceProfileOutputs {
        name: profile.instance_profile_name().to_owned(),
        arn: profile.arn().to_owned(),
    })
}

/// The profile, or `None` if it does not exist.
async fn get(c: &Clients, name: &str) -> Result<Option<InstanceProfile>, ProviderError> {
    let got = optional(
        c.iam.get_instance_profile().instance_profile_name(name).send().await.aws("GetInstanceProfile", name),
    )?;
    Ok(got.and_then(|g| g.instance_profile().cloned()))
}

async fn add_role(c: &Clients, name: &str, role: &str) -> Result<(), ProviderError> {
    c.iam
        .add_role_to_instance_profile()
        .instance_profile_name(name)
        .role_name(role)
        .send()
        .await
        .aws("AddRoleToInstanceProfile", name)?;
    Ok(())
}

async fn remove_role(c: &Clients, name: &str, role: &str) -> Result<(), ProviderError> {
    optional(
        c.iam
            .remove_role_from_instance_profile()
            .instance_profile_name(name)
            .role_name(role)
            .send()
            .await
            .aws("RemoveRoleFromInstanceProfile", name),
    )?;
    Ok(())
}

pub(crate) async fn create(c: &Clients, req: CreateRequest) -> Result<CreateResponse, ProviderError> {
    let args: InstanceProfileArgs = cairn_provider_sdk::args(&req.inputs)?;
    let name = cairn_provider_sdk::physical_name(&args.name, "name")?;
    let created = c
        .iam
        .create_instance_profile()
        .instance_profile_name(&name)
        .path(&args.path)
        .set_tags(iam_tags(&args.tags)?)
        .send()
        .await
        .aws("CreateInstanceProfile", &name)?;
    let mut profile = created
        .instance_profile()
        .cloned()
        .ok_or_else(|| ProviderError::internal(format!("CreateInstanceProfile `{name}` returned no profile")))?;

    if let Some(role) = &args.role {
        let role = known(role, "role")?;
        // A profile without its role would make the retry fail with EntityAlreadyExists: remove it.
        if let Err(e) = add_role(c, &name, role).await {
            let cleanup = optional(
                c.iam
                    .delete_instance_profile()
                    .instance_profile_name(&name)
                    .send()
                    .await
                    .aws("DeleteInstanceProfile", &name),
            );
            let message = match cleanup {
                Ok(_) => format!("{}; the instance profile was deleted again", e.message),
                Err(d) => {
                    format!("{}; deleting the half-created profile `{name}` also failed: {}", e.message, d.message)
                }
            };
            return Err(ProviderError { message, ..e });
        }
        profile = get(c, &name).await?.unwrap_or(profile);
    }
    Ok(CreateResponse { id: name, outputs: outputs(&profile)? })
}

pub(crate) async fn read(c: &Clients, req: ReadRequest) -> Result<Option<ReadResponse>, ProviderError> {
    let name = cairn_provider_sdk::read_id(&req, "name")?;
    let Some(profile) = get(c, &name).await? else { return Ok(None) };
    // GetInstanceProfile returns the tags (ListInstanceProfileTags would repeat them; moto lacks it).
    let live = InstanceProfileArgs {
        name: Some(Input::Value(name.clone())),
        path: profile.path().to_owned(),
        role: profile.roles().first().map(|r| Input::Value(r.role_name().to_owned())),
        tags: tag_map(profile.tags()),
    };
    Ok(Some(ReadResponse {
        id: name,
        inputs: cairn_provider_sdk::live_inputs(&live, &req.inputs)?,
        outputs: outputs(&profile)?,
    }))
}

pub(crate) async fn update(c: &Clients, req: UpdateRequest) -> Result<UpdateResponse, ProviderError> {
    let old: InstanceProfileArgs = cairn_provider_sdk::args(&req.olds)?;
    let new: InstanceProfileArgs = cairn_provider_sdk::args(&req.news)?;
    let name = req.id.as_str();

    let old_role = old.role.as_ref().and_then(Input::value);
    let new_role = match &new.role {
        Some(role) => Some(known(role, "role")?),
        None => None,
    };
    if old_role != new_role {
        // A profile holds one role: the old one must leave before the new one can join.
        if let Some(role) = old_role {
            remove_role(c, name, role).await?;
        }
        if let Some(role) = new_role {
            add_role(c, name, role).await?;
        }
    }
    let (set, remove) = tag_changes(&old.tags, &new.tags);
    if !set.is_empty() {
        c.iam
            .tag_instance_profile()
            .instance_profile_name(name)
            .set_tags(iam_tags(&set)?)
            .send()
            .await
            .aws("TagInstanceProfile", name)?;
    }
    if !remove.is_empty() {
        c.iam
            .untag_instance_profile()
            .instance_profile_name(name)
            .set_tag_keys(Some(remove))
            .send()
            .await
            .aws("UntagInstanceProfile", name)?;
    }
    let profile = get(c, name).await?.ok_or_else(|| {
        ProviderError::new(ErrorCode::NotFound, format!("instance profile `{name}` disappeared during its update"))
    })?;
    Ok(UpdateResponse { outputs: outputs(&profile)? })
}

/// Removes the profile's roles (IAM refuses to delete a profile that has
/// one), then the profile. A profile already gone counts as deleted.
pub(crate) async fn delete(c: &Clients, req: DeleteRequest) -> Result<(), ProviderError> {
    let name = req.id.as_str();
    let Some(profile) = get(c, name).await? else { return Ok(()) };
    for role in profile.roles() {
        remove_role(c, name, role.role_name()).await?;
    }
    optional(
        c.iam.delete_instance_profile().instance_profile_name(name).send().await.aws("DeleteInstanceProfile", name),
    )?;
    Ok(())
}
