//! `aws:iam:Policy`: the IAM calls. The provider ID is the policy ARN.
//!
//! A new document becomes a new default version. IAM keeps at most five
//! versions, so when five exist the oldest version that is not the default
//! is deleted first.

use aws_sdk_iam::types::{Policy, PolicyScopeType, PolicyVersion};
use cairn_aws::iam_extras::{PolicyArgs, PolicyOutputs};
use cairn_core::{
    CreateRequest, CreateResponse, DeleteRequest, ErrorCode, Input, ProviderError, ReadRequest, ReadResponse,
    UpdateRequest, UpdateResponse, Value,
};

use super::{iam_tags, read_policy, tag_map};
use crate::Clients;
use crate::changes::tag_changes;
use crate::sdk::{AwsResultExt, optional};

/// The most versions IAM keeps of a managed policy.
const MAX_VERSIONS: usize = 5;

fn outputs(policy: &Policy) -> Result<Value, ProviderError> {
    cairn_provider_sdk::to_value(&PolicyOutputs {
        arn: policy.arn().unwrap_or_default().to_owned(),
        name: policy.policy_name().unwrap_or_default().to_owned(),
        default_version_id: policy.default_version_id().unwrap_or_default().to_owned(),
    })
}

pub(crate) async fn create(c: &Clients, req: CreateRequest) -> Result<CreateResponse, ProviderError> {
    let args: PolicyArgs = cairn_provider_sdk::args(&req.inputs)?;
    let name = cairn_provider_sdk::physical_name(&args.name, "name")?;
    let created = c
        .iam
        .create_policy()
        .policy_name(&name)
        .path(&args.path)
        .policy_document(args.policy.to_aws_json())
        .set_description(args.description.clone())
        .set_tags(iam_tags(&args.tags)?)
        .send()
        .await
        .aws("CreatePolicy", &name)?;
    let policy =
        created.policy().ok_or_else(|| ProviderError::internal(format!("CreatePolicy `{name}` returned no policy")))?;
    let arn = policy.arn().unwrap_or_default().to_owned();
    Ok(CreateResponse { id: arn, outputs: outputs(policy)? })
}

/// The policy, or `None` if it does not exist.
async fn get(c: &Clients, arn: &str) -> Result<Option<Policy>, ProviderError> {
    let got = optional(c.iam.get_policy().policy_arn(arn).send().await.aws("GetPolicy", arn))?;
    Ok(got.and_then(|g| g.policy().cloned()))
}

/// The ARN of the customer managed policy called `name` under `path` (for a
/// create interrupted before its ID was recorded).
async fn find_by_name(c: &Clients, name: &str, path: &str) -> Result<Option<String>, ProviderError> {
    let policies: Vec<Policy> = c
        .iam
        .list_policies()
        .scope(PolicyScopeType::Local)
        .path_prefix(path)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .aws("ListPolicies", name)?;
    Ok(policies.iter().find(|p| p.policy_name() == Some(name)).and_then(|p| p.arn()).map(str::to_owned))
}

pub(crate) async fn read(c: &Clients, req: ReadRequest) -> Result<Option<ReadResponse>, ProviderError> {
    let recorded: Option<PolicyArgs> = cairn_provider_sdk::recorded(&req.inputs);
    let arn = match &req.id {
        Some(id) => id.clone(),
        None => {
            let name = cairn_provider_sdk::input_str(&req.inputs, "name")?;
            let path = recorded.as_ref().map_or("/", |r| r.path.as_str());
            match find_by_name(c, &name, path).await? {
                Some(arn) => arn,
                None => return Ok(None),
            }
        }
    };
    let Some(policy) = get(c, &arn).await? else { return Ok(None) };
    let name = policy.policy_name().unwrap_or_default().to_owned();
    let version_id = policy
        .default_version_id()
        .ok_or_else(|| ProviderError::internal(format!("GetPolicy `{arn}` returned no default version")))?;
    let version = c
        .iam
        .get_policy_version()
        .policy_arn(&arn)
        .version_id(version_id)
        .send()
        .await
        .aws("GetPolicyVersion", &arn)?;
    let document = version.policy_version().and_then(PolicyVersion::document).unwrap_or_default();
    let tags: Vec<aws_sdk_iam::types::Tag> = c
        .iam
        .list_policy_tags()
        .policy_arn(&arn)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .aws("ListPolicyTags", &arn)?;

    let live = PolicyArgs {
        name: Some(Input::Value(name.clone())),
        path: policy.path().unwrap_or("/").to_owned(),
        // IAM reports an absent description as empty (or not at all).
        description: policy.description().filter(|d| !d.is_empty()).map(str::to_owned),
        policy: read_policy(document, &format!("policy `{arn}` version {version_id}"))?,
        tags: tag_map(&tags),
    };
    Ok(Some(ReadResponse {
        id: arn,
        inputs: cairn_provider_sdk::live_inputs(&live, &req.inputs)?,
        outputs: outputs(&policy)?,
    }))
}

/// The versions of a policy, oldest first (IAM numbers them `v1`, `v2`, ...).
async fn versions(c: &Clients, arn: &str) -> Result<Vec<PolicyVersion>, ProviderError> {
    let mut versions: Vec<PolicyVersion> = c
        .iam
        .list_policy_versions()
        .policy_arn(arn)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .aws("ListPolicyVersions", arn)?;
    versions.sort_by_key(|v| version_number(v.version_id()));
    Ok(versions)
}

/// The number of a version ID such as `v12` (unknown shapes sort first).
fn version_number(id: Option<&str>) -> u64 {
    id.and_then(|id| id.strip_prefix('v')).and_then(|n| n.parse().ok()).unwrap_or(0)
}

/// The version to delete before adding one: the oldest that is not the
/// default, once IAM's limit is reached.
fn version_to_prune(versions: &[PolicyVersion]) -> Option<&str> {
    if versions.len() < MAX_VERSIONS {
        return None;
    }
    versions.iter().find(|v| !v.is_default_version()).and_then(PolicyVersion::version_id)
}

pub(crate) async fn update(c: &Clients, req: UpdateRequest) -> Result<UpdateResponse, ProviderError> {
    let old: PolicyArgs = cairn_provider_sdk::args(&req.olds)?;
    let new: PolicyArgs = cairn_provider_sdk::args(&req.news)?;
    let arn = req.id.as_str();

    if old.policy != new.policy {
        let existing = versions(c, arn).await?;
        if let Some(oldest) = version_to_prune(&existing) {
            optional(
                c.iam
                    .delete_policy_version()
                    .policy_arn(arn)
                    .version_id(oldest)
                    .send()
                    .await
                    .aws("DeletePolicyVersion", arn),
            )?;
        }
        c.iam
            .create_policy_version()
            .policy_arn(arn)
            .policy_document(new.policy.to_aws_json())
            .set_as_default(true)
            .send()
            .await
            .aws("CreatePolicyVersion", arn)?;
    }
    let (set, remove) = tag_changes(&old.tags, &new.tags);
    if !set.is_empty() {
        c.iam.tag_policy().policy_arn(arn).set_tags(iam_tags(&set)?).send().await.aws("TagPolicy", arn)?;
    }
    if !remove.is_empty() {
        c.iam.untag_policy().policy_arn(arn).set_tag_keys(Some(remove)).send().await.aws("UntagPolicy", arn)?;
    }
    let policy = get(c, arn).await?.ok_or_else(|| {
        ProviderError::new(ErrorCode::NotFound, format!("policy `{arn}` disappeared during its update"))
    })?;
    Ok(UpdateResponse { outputs: outputs(&policy)? })
}

/// Deletes the versions that are not the default (IAM requires it), then the
/// policy. A policy already gone counts as deleted; one still attached
/// somewhere fails with DeleteConflict.
pub(crate) async fn delete(c: &Clients, req: DeleteRequest) -> Result<(), ProviderError> {
    let arn = req.id.as_str();
    let Some(existing) = optional(versions(c, arn).await)? else { return Ok(()) };
    for v in existing.iter().filter(|v| !v.is_default_version()) {
        if let Some(id) = v.version_id() {
            optional(
                c.iam
                    .delete_policy_version()
                    .policy_arn(arn)
                    .version_id(id)
                    .send()
                    .await
                    .aws("DeletePolicyVersion", arn),
            )?;
        }
    }
    optional(c.iam.delete_policy().policy_arn(arn).send().await.aws("DeletePolicy", arn)).map_err(|e| {
        if e.message.contains("DeleteConflict") {
            ProviderError { message: format!("{}; detach it from every role, user and group first", e.message), ..e }
        } else {
            e
        }
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(id: &str, default: bool) -> PolicyVersion {
        PolicyVersion::builder().version_id(id).is_default_version(default).build()
    }

    #[test]
    fn the_oldest_non_default_version_is_pruned_only_at_the_limit() {
        let four: Vec<PolicyVersion> = (1..=4).map(|i| version(&format!("v{i}"), i == 4)).collect();
        assert_eq!(version_to_prune(&four), None);
        let five = vec![
            version("v2", true),
            version("v3", false),
            version("v4", false),
            version("v5", false),
            version("v6", false),
        ];
        assert_eq!(version_to_prune(&five), Some("v3"), "v2 is the default, so v3 is the oldest to go");
    }

    #[test]
    fn versions_sort_by_number_not_text() {
        let mut ids = vec![Some("v10"), Some("v9"), Some("v1")];
        ids.sort_by_key(|id| version_number(*id));
        assert_eq!(ids, [Some("v1"), Some("v9"), Some("v10")]);
    }
}
