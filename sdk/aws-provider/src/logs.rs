//! `aws:cloudwatch:LogGroup`: the CloudWatch Logs calls. The provider ID is
//! the log group name. Tags are set on the ARN without the `:*` suffix
//! (TagResource, UntagResource and ListTagsForResource want that form).

use std::collections::{BTreeMap, HashMap};

use aws_sdk_cloudwatchlogs::types::LogGroup;
use cairn_aws::logs::{LogGroupArgs, LogGroupOutputs};
use cairn_core::{
    CreateRequest, CreateResponse, DeleteRequest, ErrorCode, Input, ProviderError, ReadRequest, ReadResponse,
    UpdateRequest, UpdateResponse, Value,
};

use crate::Clients;
use crate::changes::retag_by_arn;
use crate::sdk::{AwsResultExt, optional};
use cairn_provider_sdk::known;

/// The log group's ARN without `:*`.
fn arn_of(group: &LogGroup) -> String {
    match group.log_group_arn() {
        Some(arn) => arn.to_owned(),
        None => group.arn().map(|a| a.strip_suffix(":*").unwrap_or(a)).unwrap_or_default().to_owned(),
    }
}

fn outputs(name: &str, group: &LogGroup) -> Result<Value, ProviderError> {
    cairn_provider_sdk::to_value(&LogGroupOutputs { arn: arn_of(group), name: name.to_owned() })
}

/// The log group called `name`, or `None` (DescribeLogGroups matches by
/// prefix: the exact name is picked out).
async fn describe(c: &Clients, name: &str) -> Result<Option<LogGroup>, ProviderError> {
    let groups: Vec<LogGroup> = c
        .logs
        .describe_log_groups()
        .log_group_name_prefix(name)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .aws("DescribeLogGroups", name)?;
    Ok(groups.into_iter().find(|g| g.log_group_name() == Some(name)))
}

async fn describe_existing(c: &Clients, name: &str) -> Result<LogGroup, ProviderError> {
    describe(c, name)
        .await?
        .ok_or_else(|| ProviderError::new(ErrorCode::NotFound, format!("log group `{name}` disappeared")))
}

async fn set_retention(c: &Clients, name: &str, days: Option<i32>) -> Result<(), ProviderError> {
    match days {
        Some(days) => {
            c.logs
                .put_retention_policy()
                .log_group_name(name)
                .retention_in_days(days)
                .send()
                .await
                .aws("PutRetentionPolicy", name)?;
        }
        None => {
            c.logs.delete_retention_policy().log_group_name(name).send().await.aws("DeleteRetentionPolicy", name)?;
        }
    }
    Ok(())
}

pub(crate) async fn create(c: &Clients, req: CreateRequest) -> Result<CreateResponse, ProviderError> {
    let args: LogGroupArgs = cairn_provider_sdk::args(&req.inputs)?;
    let name = cairn_provider_sdk::physical_name(&args.name, "name")?;
    let kms_key_id = args.kms_key_id.as_ref().map(|k| known(k, "kms_key_id").cloned()).transpose()?;
    let tags: HashMap<String, String> = args.tags.clone().into_iter().collect();
    c.logs
        .create_log_group()
        .log_group_name(&name)
        .set_kms_key_id(kms_key_id)
        .set_tags((!tags.is_empty()).then_some(tags))
        .send()
        .await
        .aws("CreateLogGroup", &name)?;

    // A group that keeps events forever when the program asked otherwise must
    // not linger unrecorded: remove it so that the create can simply be run again.
    if let Some(days) = args.retention_in_days
        && let Err(e) = set_retention(c, &name, Some(days)).await
    {
        let cleanup =
            optional(c.logs.delete_log_group().log_group_name(&name).send().await.aws("DeleteLogGroup", &name));
        let message = match cleanup {
            Ok(_) => format!("{}; the log group was deleted again", e.message),
            Err(d) => format!("{}; deleting the half-created log group `{name}` also failed: {}", e.message, d.message),
        };
        return Err(ProviderError { message, ..e });
    }
    let group = describe_existing(c, &name).await?;
    Ok(CreateResponse { outputs: outputs(&name, &group)?, id: name })
}

pub(crate) async fn read(c: &Clients, req: ReadRequest) -> Result<Option<ReadResponse>, ProviderError> {
    let name = cairn_provider_sdk::read_id(&req, "name")?;
    let Some(group) = describe(c, &name).await? else { return Ok(None) };
    let arn = arn_of(&group);
    let tags = c.logs.list_tags_for_resource().resource_arn(&arn).send().await.aws("ListTagsForResource", &arn)?;
    let live = LogGroupArgs {
        name: Some(Input::Value(name.clone())),
        retention_in_days: group.retention_in_days(),
        kms_key_id: group.kms_key_id().filter(|k| !k.is_empty()).map(|k| Input::Value(k.to_owned())),
        tags: tags.tags().map(|t| t.clone().into_iter().collect::<BTreeMap<_, _>>()).unwrap_or_default(),
    };
    Ok(Some(ReadResponse {
        inputs: cairn_provider_sdk::live_inputs(&live, &req.inputs)?,
        outputs: outputs(&name, &group)?,
        id: name,
    }))
}

pub(crate) async fn update(c: &Clients, req: UpdateRequest) -> Result<UpdateResponse, ProviderError> {
    let old: LogGroupArgs = cairn_provider_sdk::args(&req.olds)?;
    let new: LogGroupArgs = cairn_provider_sdk::args(&req.news)?;
    let name = req.id.as_str();

    if old.retention_in_days != new.retention_in_days {
        set_retention(c, name, new.retention_in_days).await?;
    }
    let old_key = old.kms_key_id.as_ref().and_then(Input::value);
    let new_key = new.kms_key_id.as_ref().map(|k| known(k, "kms_key_id")).transpose()?;
    if old_key != new_key {
        match new_key {
            Some(key) => {
                c.logs
                    .associate_kms_key()
                    .log_group_name(name)
                    .kms_key_id(key)
                    .send()
                    .await
                    .aws("AssociateKmsKey", name)?;
            }
            None => {
                c.logs.disassociate_kms_key().log_group_name(name).send().await.aws("DisassociateKmsKey", name)?;
            }
        }
    }
    let group = describe_existing(c, name).await?;
    let arn = arn_of(&group);
    let arn = arn.as_str();
    retag_by_arn!(c.logs, arn, &old.tags, &new.tags, |set| Ok::<_, ProviderError>(crate::sdk::map_or_none(set)))
        .await?;
    Ok(UpdateResponse { outputs: outputs(name, &group)? })
}

/// Deletes the group and its events. A group already gone counts as deleted.
pub(crate) async fn delete(c: &Clients, req: DeleteRequest) -> Result<(), ProviderError> {
    let name = req.id.as_str();
    optional(c.logs.delete_log_group().log_group_name(name).send().await.aws("DeleteLogGroup", name))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_arn_drops_the_wildcard_suffix() {
        let old_style = LogGroup::builder().arn("arn:aws:logs:us-east-1:123456789012:log-group:/ai/app:*").build();
        assert_eq!(arn_of(&old_style), "arn:aws:logs:us-east-1:123456789012:log-group:/ai/app");
        let new_style = LogGroup::builder()
            .arn("arn:aws:logs:us-east-1:123456789012:log-group:/ai/app:*")
            .log_group_arn("arn:aws:logs:us-east-1:123456789012:log-group:/ai/app")
            .build();
        assert_eq!(arn_of(&new_style), "arn:aws:logs:us-east-1:123456789012:log-group:/ai/app");
    }
}
