//! `aws:sagemaker:ModelPackageGroup`: the SageMaker calls. The provider ID is
//! the group name.
//!
//! SageMaker answers a missing group with `ValidationException` ("... does
//! not exist"), not a not-found code; that message is what "gone" means here.

use std::collections::BTreeMap;

use aws_sdk_sagemaker::error::ProvideErrorMetadata;
use aws_sdk_sagemaker::operation::describe_model_package_group::DescribeModelPackageGroupOutput;
use aws_sdk_sagemaker::types::{ModelPackageGroupStatus, Tag};
use cairn_aws::sagemaker::{ModelPackageGroupArgs, ModelPackageGroupOutputs};
use cairn_core::{
    CreateRequest, CreateResponse, DeleteRequest, ErrorCode, Input, ProviderError, ReadRequest, ReadResponse,
    UpdateRequest, UpdateResponse, Value,
};

use crate::Clients;
use crate::changes::retag;
use crate::sdk::{AwsResultExt, LastStatus, aws_error, wait_until};

fn outputs(arn: &str, name: &str) -> Result<Value, ProviderError> {
    cairn_provider_sdk::to_value(&ModelPackageGroupOutputs { arn: arn.to_owned(), name: name.to_owned() })
}

fn sagemaker_tags(tags: &BTreeMap<String, String>) -> Result<Option<Vec<Tag>>, ProviderError> {
    crate::sdk::tag_list(tags, |k, v| Ok::<_, std::convert::Infallible>(Tag::builder().key(k).value(v).build()))
}

/// The group called `name`, or `None` when SageMaker says it does not exist.
async fn describe(c: &Clients, name: &str) -> Result<Option<DescribeModelPackageGroupOutput>, ProviderError> {
    match c.sagemaker.describe_model_package_group().model_package_group_name(name).send().await {
        Ok(out) => Ok(Some(out)),
        Err(e)
            if e.code() == Some("ValidationException") && e.message().is_some_and(|m| m.contains("does not exist")) =>
        {
            Ok(None)
        }
        Err(e) => Err(aws_error("DescribeModelPackageGroup", name, e)),
    }
}

/// Waits until the group is `Completed` (or gone, when `gone` is set).
async fn wait_for(c: &Clients, name: &str, gone: bool) -> Result<(), ProviderError> {
    let last = LastStatus::default();
    let what = if gone {
        format!("model package group `{name}` to be deleted")
    } else {
        format!("model package group `{name}`")
    };
    wait_until(&what, &c.waits, || async {
        let Some(out) = describe(c, name).await? else { return Ok(gone) };
        let status = out.model_package_group_status();
        let shown = status.map_or("unknown", |s| s.as_str());
        last.set(shown);
        match status {
            Some(ModelPackageGroupStatus::Completed) => Ok(!gone),
            Some(ModelPackageGroupStatus::Failed | ModelPackageGroupStatus::DeleteFailed) => {
                Err(ProviderError::internal(format!("model package group `{name}` is {shown}")))
            }
            _ => Ok(false),
        }
    })
    .await
    .map_err(|e| last.explain(e))
}

pub(crate) async fn create(c: &Clients, req: CreateRequest) -> Result<CreateResponse, ProviderError> {
    let args: ModelPackageGroupArgs = cairn_provider_sdk::args(&req.inputs)?;
    let name = cairn_provider_sdk::physical_name(&args.name, "name")?;
    let created = c
        .sagemaker
        .create_model_package_group()
        .model_package_group_name(&name)
        .set_model_package_group_description(args.description.clone())
        .set_tags(sagemaker_tags(&args.tags)?)
        .send()
        .await
        .aws("CreateModelPackageGroup", &name)?;
    let arn = created.model_package_group_arn().unwrap_or_default().to_owned();
    wait_for(c, &name, false).await?;
    Ok(CreateResponse { outputs: outputs(&arn, &name)?, id: name })
}

pub(crate) async fn read(c: &Clients, req: ReadRequest) -> Result<Option<ReadResponse>, ProviderError> {
    let name = cairn_provider_sdk::read_id(&req, "name")?;
    let Some(group) = describe(c, &name).await? else { return Ok(None) };
    let arn = group.model_package_group_arn().unwrap_or_default().to_owned();
    let listed = c.sagemaker.list_tags().resource_arn(&arn).send().await.aws("ListTags", &arn)?;
    let tags = listed.tags();
    let live = ModelPackageGroupArgs {
        name: Some(Input::Value(name.clone())),
        description: group.model_package_group_description().filter(|d| !d.is_empty()).map(str::to_owned),
        tags: tags
            .iter()
            .map(|t| (t.key().unwrap_or_default().to_owned(), t.value().unwrap_or_default().to_owned()))
            .collect(),
    };
    Ok(Some(ReadResponse {
        inputs: cairn_provider_sdk::live_inputs(&live, &req.inputs)?,
        outputs: outputs(&arn, &name)?,
        id: name,
    }))
}

pub(crate) async fn update(c: &Clients, req: UpdateRequest) -> Result<UpdateResponse, ProviderError> {
    let old: ModelPackageGroupArgs = cairn_provider_sdk::args(&req.olds)?;
    let new: ModelPackageGroupArgs = cairn_provider_sdk::args(&req.news)?;
    let name = req.id.as_str();
    let group = describe(c, name).await?.ok_or_else(|| {
        ProviderError::new(ErrorCode::NotFound, format!("model package group `{name}` does not exist"))
    })?;
    let arn = group.model_package_group_arn().unwrap_or_default().to_owned();
    let arn = arn.as_str();
    retag(
        &old.tags,
        &new.tags,
        |set| async move {
            c.sagemaker
                .add_tags()
                .resource_arn(arn)
                .set_tags(sagemaker_tags(&set)?)
                .send()
                .await
                .aws("AddTags", arn)
                .map(drop)
        },
        |remove| async move {
            c.sagemaker
                .delete_tags()
                .resource_arn(arn)
                .set_tag_keys(Some(remove))
                .send()
                .await
                .aws("DeleteTags", arn)
                .map(drop)
        },
    )
    .await?;
    Ok(UpdateResponse { outputs: outputs(arn, name)? })
}

/// Deletes the group and waits until it is gone. A group already gone counts as deleted.
pub(crate) async fn delete(c: &Clients, req: DeleteRequest) -> Result<(), ProviderError> {
    let name = req.id.as_str();
    if describe(c, name).await?.is_none() {
        return Ok(());
    }
    match c.sagemaker.delete_model_package_group().model_package_group_name(name).send().await {
        Ok(_) => {}
        Err(e)
            if e.code() == Some("ValidationException") && e.message().is_some_and(|m| m.contains("does not exist")) =>
        {
            return Ok(());
        }
        Err(e) => return Err(aws_error("DeleteModelPackageGroup", name, e)),
    }
    wait_for(c, name, true).await
}
