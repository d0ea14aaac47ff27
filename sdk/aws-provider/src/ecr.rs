//! `aws:ecr:Repository`: the ECR calls. The provider ID is the repository name.
//!
//! ECR reports a KMS key even when the program left it to ECR (the AWS
//! managed key): Read reports the live key only when one was declared.

use aws_sdk_ecr::types::{
    EncryptionConfiguration, EncryptionType, ImageScanningConfiguration, ImageTagMutability as AwsMutability,
    Repository, Tag,
};
use cairn_aws::ecr::{
    ImageTagMutability, RepositoryArgs, RepositoryEncryption, RepositoryOutputs, lifecycle_policy_json,
    parse_lifecycle_policy,
};
use cairn_core::{
    CreateRequest, CreateResponse, DeleteRequest, ErrorCode, Input, ProviderError, ReadRequest, ReadResponse,
    UpdateRequest, UpdateResponse, Value,
};

use crate::Clients;
use crate::changes::retag_by_arn;
use crate::sdk::{AwsResultExt, build_error};
use cairn_provider_sdk::known;

/// The code ECR answers with for a repository that does not exist.
const REPOSITORY_NOT_FOUND: &str = "RepositoryNotFoundException";
/// The code ECR answers with for a repository without a lifecycle policy.
const POLICY_NOT_FOUND: &str = "LifecyclePolicyNotFoundException";

fn outputs(repo: &Repository) -> Result<Value, ProviderError> {
    cairn_provider_sdk::to_value(&RepositoryOutputs {
        arn: repo.repository_arn().unwrap_or_default().to_owned(),
        name: repo.repository_name().unwrap_or_default().to_owned(),
        repository_url: repo.repository_uri().unwrap_or_default().to_owned(),
    })
}

fn ecr_tags(tags: &std::collections::BTreeMap<String, String>) -> Result<Option<Vec<Tag>>, ProviderError> {
    crate::sdk::tag_list(tags, |k, v| Tag::builder().key(k).value(v).build())
}

/// The repository called `name`, or `None`.
async fn describe(c: &Clients, name: &str) -> Result<Option<Repository>, ProviderError> {
    let out = c.ecr.describe_repositories().repository_names(name).send().await.aws_unless(
        &[REPOSITORY_NOT_FOUND],
        "DescribeRepositories",
        name,
    )?;
    Ok(out.and_then(|o| o.repositories().iter().find(|r| r.repository_name() == Some(name)).cloned()))
}

async fn describe_existing(c: &Clients, name: &str) -> Result<Repository, ProviderError> {
    describe(c, name)
        .await?
        .ok_or_else(|| ProviderError::new(ErrorCode::NotFound, format!("repository `{name}` does not exist")))
}

/// Puts the declared lifecycle policy, or deletes the policy when none is declared.
async fn set_lifecycle_policy(c: &Clients, name: &str, args: &RepositoryArgs) -> Result<(), ProviderError> {
    if args.lifecycle_policy.is_empty() {
        c.ecr.delete_lifecycle_policy().repository_name(name).send().await.aws_unless(
            &[POLICY_NOT_FOUND],
            "DeleteLifecyclePolicy",
            name,
        )?;
    } else {
        c.ecr
            .put_lifecycle_policy()
            .repository_name(name)
            .lifecycle_policy_text(lifecycle_policy_json(&args.lifecycle_policy).to_string())
            .send()
            .await
            .aws("PutLifecyclePolicy", name)?;
    }
    Ok(())
}

pub(crate) async fn create(c: &Clients, req: CreateRequest) -> Result<CreateResponse, ProviderError> {
    let args: RepositoryArgs = cairn_provider_sdk::args(&req.inputs)?;
    let name = cairn_provider_sdk::physical_name(&args.name, "name")?;
    let kms_key = args.kms_key.as_ref().map(|k| known(k, "kms_key").cloned()).transpose()?;
    let encryption = EncryptionConfiguration::builder()
        .encryption_type(EncryptionType::from(args.encryption.as_str()))
        .set_kms_key(kms_key)
        .build()
        .map_err(build_error)?;
    let created = c
        .ecr
        .create_repository()
        .repository_name(&name)
        .image_tag_mutability(AwsMutability::from(args.image_tag_mutability.as_str()))
        .image_scanning_configuration(ImageScanningConfiguration::builder().scan_on_push(args.scan_on_push).build())
        .encryption_configuration(encryption)
        .set_tags(ecr_tags(&args.tags)?)
        .send()
        .await
        .aws("CreateRepository", &name)?;
    let repo = created
        .repository()
        .cloned()
        .ok_or_else(|| ProviderError::internal(format!("CreateRepository `{name}` returned no repository")))?;

    // A repository without its declared lifecycle policy would be recorded nowhere: remove it so a retry starts clean.
    if !args.lifecycle_policy.is_empty()
        && let Err(e) = set_lifecycle_policy(c, &name, &args).await
    {
        let cleanup = c.ecr.delete_repository().repository_name(&name).force(true).send().await;
        let message = match cleanup.aws("DeleteRepository", &name) {
            Ok(_) => format!("{}; the repository was deleted again", e.message),
            Err(d) => {
                format!("{}; deleting the half-created repository `{name}` also failed: {}", e.message, d.message)
            }
        };
        return Err(ProviderError { message, ..e });
    }
    Ok(CreateResponse { outputs: outputs(&repo)?, id: name })
}

pub(crate) async fn read(c: &Clients, req: ReadRequest) -> Result<Option<ReadResponse>, ProviderError> {
    let name = cairn_provider_sdk::read_id(&req, "name")?;
    let Some(repo) = describe(c, &name).await? else { return Ok(None) };
    let recorded: Option<RepositoryArgs> = cairn_provider_sdk::recorded(&req.inputs);
    let arn = repo.repository_arn().unwrap_or_default().to_owned();

    let image_tag_mutability = match repo.image_tag_mutability() {
        None => ImageTagMutability::default(),
        Some(m) => ImageTagMutability::from_aws(m.as_str()).ok_or_else(|| {
            ProviderError::internal(format!(
                "repository `{name}` has tag mutability {}, which Cairn does not model",
                m.as_str()
            ))
        })?,
    };
    let config = repo.encryption_configuration();
    let encryption = match config.map(|e| e.encryption_type().as_str()) {
        None => RepositoryEncryption::default(),
        Some(t) => RepositoryEncryption::from_aws(t).ok_or_else(|| {
            ProviderError::internal(format!("repository `{name}` has encryption {t}, which Cairn does not model"))
        })?,
    };
    // The key ECR chose (the AWS managed one) is not drift: report a key only when one was declared.
    let declared_key = recorded.as_ref().is_some_and(|r| r.kms_key.is_some());
    let kms_key = config.and_then(|e| e.kms_key()).filter(|_| declared_key).map(|k| Input::Value(k.to_owned()));

    let policy = c.ecr.get_lifecycle_policy().repository_name(&name).send().await.aws_unless(
        &[POLICY_NOT_FOUND],
        "GetLifecyclePolicy",
        &name,
    )?;
    let lifecycle_policy = match policy.as_ref().and_then(|p| p.lifecycle_policy_text()) {
        None => Vec::new(),
        Some(text) => parse_lifecycle_policy(text).map_err(|e| {
            ProviderError::internal(format!("the lifecycle policy of repository `{name}` could not be read: {e}"))
        })?,
    };
    let tags = c.ecr.list_tags_for_resource().resource_arn(&arn).send().await.aws("ListTagsForResource", &arn)?;

    let live = RepositoryArgs {
        name: Some(Input::Value(name.clone())),
        image_tag_mutability,
        scan_on_push: repo.image_scanning_configuration().is_some_and(|s| s.scan_on_push()),
        encryption,
        kms_key,
        lifecycle_policy,
        // Not an ECR setting: only Cairn's delete uses it.
        force_delete: recorded.as_ref().is_some_and(|r| r.force_delete),
        tags: tags.tags().iter().map(|t| (t.key().to_owned(), t.value().to_owned())).collect(),
    };
    Ok(Some(ReadResponse {
        inputs: cairn_provider_sdk::live_inputs(&live, &req.inputs)?,
        outputs: outputs(&repo)?,
        id: name,
    }))
}

pub(crate) async fn update(c: &Clients, req: UpdateRequest) -> Result<UpdateResponse, ProviderError> {
    let old: RepositoryArgs = cairn_provider_sdk::args(&req.olds)?;
    let new: RepositoryArgs = cairn_provider_sdk::args(&req.news)?;
    let name = req.id.as_str();

    if old.image_tag_mutability != new.image_tag_mutability {
        c.ecr
            .put_image_tag_mutability()
            .repository_name(name)
            .image_tag_mutability(AwsMutability::from(new.image_tag_mutability.as_str()))
            .send()
            .await
            .aws("PutImageTagMutability", name)?;
    }
    if old.scan_on_push != new.scan_on_push {
        c.ecr
            .put_image_scanning_configuration()
            .repository_name(name)
            .image_scanning_configuration(ImageScanningConfiguration::builder().scan_on_push(new.scan_on_push).build())
            .send()
            .await
            .aws("PutImageScanningConfiguration", name)?;
    }
    if old.lifecycle_policy != new.lifecycle_policy {
        set_lifecycle_policy(c, name, &new).await?;
    }
    let repo = describe_existing(c, name).await?;
    let arn = repo.repository_arn().unwrap_or_default().to_owned();
    let arn = arn.as_str();
    retag_by_arn!(c.ecr, arn, &old.tags, &new.tags, ecr_tags).await?;
    // force_delete changes nothing in ECR: it is recorded for the delete.
    Ok(UpdateResponse { outputs: outputs(&repo)? })
}

/// Deletes the repository (with its images when `force_delete` was recorded).
/// A repository already gone counts as deleted.
pub(crate) async fn delete(c: &Clients, req: DeleteRequest) -> Result<(), ProviderError> {
    let name = req.id.as_str();
    let force = matches!(req.inputs.get("force_delete"), Some(Value::Bool(true)));
    let result = c.ecr.delete_repository().repository_name(name).force(force).send().await;
    match result.aws_unless(&[REPOSITORY_NOT_FOUND], "DeleteRepository", name) {
        Ok(_) => Ok(()),
        Err(mut e) if e.message.contains("RepositoryNotEmptyException") => {
            e.message = format!("{}: delete the images first, or set force_delete to true and apply", e.message);
            Err(e)
        }
        Err(e) => Err(e),
    }
}
