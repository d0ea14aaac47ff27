//! `aws:amp:Workspace` and `aws:amp:RuleGroupsNamespace`: the Amazon Managed
//! Service for Prometheus calls. A workspace's provider ID is its workspace
//! ID; a namespace's is its ARN (which holds the workspace ID and the name).
//! Tags are read with ListTagsForResource (DescribeWorkspace's copy can lag).

use std::collections::BTreeMap;

use aws_sdk_amp::primitives::Blob;
use aws_sdk_amp::types::{RuleGroupsNamespaceStatusCode, WorkspaceStatusCode};
use cairn_aws::amp::{
    RuleGroupsNamespaceArgs, RuleGroupsNamespaceOutputs, WorkspaceArgs, WorkspaceOutputs, parse_namespace_arn,
};
use cairn_core::{
    CreateRequest, CreateResponse, DeleteRequest, ErrorCode, Input, ProviderError, ReadRequest, ReadResponse,
    UpdateRequest, UpdateResponse,
};

use crate::Clients;
use crate::sdk::{AwsResultExt, LastStatus, map_or_none, optional, wait_until};
use cairn_provider_sdk::known;

async fn live_tags(c: &Clients, arn: &str) -> Result<BTreeMap<String, String>, ProviderError> {
    let out = c.amp.list_tags_for_resource().resource_arn(arn).send().await.aws("ListTagsForResource", arn)?;
    Ok(out.tags().map(|t| t.clone().into_iter().collect()).unwrap_or_default())
}

async fn retag(
    c: &Clients,
    arn: &str,
    old: &BTreeMap<String, String>,
    new: &BTreeMap<String, String>,
) -> Result<(), ProviderError> {
    crate::changes::retag_by_arn!(c.amp, arn, old, new, |set| Ok::<_, ProviderError>(map_or_none(set))).await
}

// ---------------------------------------------------------------------------
// aws:amp:Workspace

/// The workspace's status code, ARN and endpoint; `None` if it does not exist.
async fn describe_workspace(
    c: &Clients,
    id: &str,
) -> Result<Option<(WorkspaceStatusCode, WorkspaceOutputs, Option<String>)>, ProviderError> {
    let out = optional(c.amp.describe_workspace().workspace_id(id).send().await.aws("DescribeWorkspace", id))?;
    Ok(out.and_then(|o| {
        let w = o.workspace()?;
        let outputs = WorkspaceOutputs {
            id: w.workspace_id().to_owned(),
            arn: w.arn().to_owned(),
            prometheus_endpoint: w.prometheus_endpoint().unwrap_or_default().to_owned(),
        };
        let status = w.status().map_or_else(|| WorkspaceStatusCode::from("UNKNOWN"), |s| s.status_code().clone());
        Some((status, outputs, w.alias().map(str::to_owned)))
    }))
}

/// Waits until the workspace is ACTIVE (or gone, when `gone` is set).
async fn wait_workspace(c: &Clients, id: &str, gone: bool) -> Result<(), ProviderError> {
    let last = LastStatus::default();
    let what = if gone { format!("workspace `{id}` to be deleted") } else { format!("workspace `{id}` to be ACTIVE") };
    wait_until(&what, &c.waits, || async {
        let Some((status, _, _)) = describe_workspace(c, id).await? else { return Ok(gone) };
        last.set(status.as_str());
        match status {
            WorkspaceStatusCode::CreationFailed => {
                Err(ProviderError::internal(format!("workspace `{id}` failed to be created")))
            }
            WorkspaceStatusCode::Active => Ok(!gone),
            _ => Ok(false),
        }
    })
    .await
    .map_err(|e| last.explain(e))
}

pub(crate) async fn create(c: &Clients, req: CreateRequest) -> Result<CreateResponse, ProviderError> {
    let args: WorkspaceArgs = cairn_provider_sdk::args(&req.inputs)?;
    let created = c
        .amp
        .create_workspace()
        .set_alias(args.alias.clone())
        .set_tags(map_or_none(&args.tags))
        .send()
        .await
        .aws("CreateWorkspace", args.alias.as_deref().unwrap_or("new workspace"))?;
    let id = created.workspace_id().to_owned();
    wait_workspace(c, &id, false).await?;
    let (_, outputs, _) = describe_workspace(c, &id)
        .await?
        .ok_or_else(|| ProviderError::new(ErrorCode::NotFound, format!("workspace `{id}` disappeared")))?;
    Ok(CreateResponse { outputs: cairn_provider_sdk::to_value(&outputs)?, id })
}

pub(crate) async fn read(c: &Clients, req: ReadRequest) -> Result<Option<ReadResponse>, ProviderError> {
    // A workspace has no unique name to find it by: without an ID there is nothing to read.
    let Some(id) = req.id.clone() else { return Ok(None) };
    let Some((_, outputs, alias)) = describe_workspace(c, &id).await? else { return Ok(None) };
    let live = WorkspaceArgs { alias, tags: live_tags(c, &outputs.arn).await? };
    Ok(Some(ReadResponse {
        inputs: cairn_provider_sdk::live_inputs(&live, &req.inputs)?,
        outputs: cairn_provider_sdk::to_value(&outputs)?,
        id,
    }))
}

pub(crate) async fn update(c: &Clients, req: UpdateRequest) -> Result<UpdateResponse, ProviderError> {
    let old: WorkspaceArgs = cairn_provider_sdk::args(&req.olds)?;
    let new: WorkspaceArgs = cairn_provider_sdk::args(&req.news)?;
    let id = req.id.as_str();
    if old.alias != new.alias {
        // No alias removes it.
        c.amp
            .update_workspace_alias()
            .workspace_id(id)
            .set_alias(new.alias.clone())
            .send()
            .await
            .aws("UpdateWorkspaceAlias", id)?;
        wait_workspace(c, id, false).await?;
    }
    let (_, outputs, _) = describe_workspace(c, id)
        .await?
        .ok_or_else(|| ProviderError::new(ErrorCode::NotFound, format!("workspace `{id}` does not exist")))?;
    retag(c, &outputs.arn, &old.tags, &new.tags).await?;
    Ok(UpdateResponse { outputs: cairn_provider_sdk::to_value(&outputs)? })
}

/// Deletes the workspace (with its rule groups namespaces) and waits until it
/// is gone. A workspace already gone counts as deleted.
pub(crate) async fn delete(c: &Clients, req: DeleteRequest) -> Result<(), ProviderError> {
    let id = req.id.as_str();
    if optional(c.amp.delete_workspace().workspace_id(id).send().await.aws("DeleteWorkspace", id))?.is_none() {
        return Ok(());
    }
    wait_workspace(c, id, true).await
}

// ---------------------------------------------------------------------------
// aws:amp:RuleGroupsNamespace

/// The module of `aws:amp:RuleGroupsNamespace` for `aws_types!`.
pub(crate) mod rule_groups {
    use super::*;

    /// The namespace's status code, outputs, rules and workspace; `None` if it does not exist.
    async fn describe(
        c: &Clients,
        workspace: &str,
        name: &str,
    ) -> Result<Option<(RuleGroupsNamespaceStatusCode, RuleGroupsNamespaceOutputs, String)>, ProviderError> {
        let target = format!("{workspace}/{name}");
        let out = optional(
            c.amp
                .describe_rule_groups_namespace()
                .workspace_id(workspace)
                .name(name)
                .send()
                .await
                .aws("DescribeRuleGroupsNamespace", &target),
        )?;
        let Some(out) = out else { return Ok(None) };
        let Some(ns) = out.rule_groups_namespace() else { return Ok(None) };
        let data = String::from_utf8(ns.data().as_ref().to_vec()).map_err(|e| {
            ProviderError::internal(format!("the rules of namespace `{target}` are not UTF-8 text: {e}"))
        })?;
        let outputs = RuleGroupsNamespaceOutputs { arn: ns.arn().to_owned(), name: ns.name().to_owned() };
        let status =
            ns.status().map_or_else(|| RuleGroupsNamespaceStatusCode::from("UNKNOWN"), |s| s.status_code().clone());
        Ok(Some((status, outputs, data)))
    }

    async fn wait_active(
        c: &Clients,
        workspace: &str,
        name: &str,
    ) -> Result<RuleGroupsNamespaceOutputs, ProviderError> {
        let last = LastStatus::default();
        let seen = std::sync::Mutex::new(None);
        wait_until(&format!("rule groups namespace `{workspace}/{name}` to be ACTIVE"), &c.waits, || async {
            let Some((status, outputs, _)) = describe(c, workspace, name).await? else {
                return Err(ProviderError::new(
                    ErrorCode::NotFound,
                    format!("namespace `{workspace}/{name}` disappeared"),
                ));
            };
            last.set(status.as_str());
            match status {
                RuleGroupsNamespaceStatusCode::CreationFailed | RuleGroupsNamespaceStatusCode::UpdateFailed => {
                    Err(ProviderError::invalid(format!(
                        "namespace `{workspace}/{name}` is {}: check the rules",
                        status.as_str()
                    )))
                }
                RuleGroupsNamespaceStatusCode::Active => {
                    *seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(outputs);
                    Ok(true)
                }
                _ => Ok(false),
            }
        })
        .await
        .map_err(|e| last.explain(e))?;
        seen.into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .ok_or_else(|| ProviderError::internal("the namespace wait ended without a status"))
    }

    /// The workspace ID and name in a namespace's provider ID.
    fn parts(id: &str) -> Result<(&str, &str), ProviderError> {
        parse_namespace_arn(id)
            .ok_or_else(|| ProviderError::invalid(format!("`{id}` is not a rule groups namespace ARN")))
    }

    pub(crate) async fn create(c: &Clients, req: CreateRequest) -> Result<CreateResponse, ProviderError> {
        let args: RuleGroupsNamespaceArgs = cairn_provider_sdk::args(&req.inputs)?;
        let name = cairn_provider_sdk::physical_name(&args.name, "name")?;
        let workspace = known(&args.workspace_id, "workspace_id")?.clone();
        c.amp
            .create_rule_groups_namespace()
            .workspace_id(&workspace)
            .name(&name)
            .data(Blob::new(args.data.as_bytes()))
            .set_tags(map_or_none(&args.tags))
            .send()
            .await
            .aws("CreateRuleGroupsNamespace", &format!("{workspace}/{name}"))?;
        let outputs = wait_active(c, &workspace, &name).await?;
        Ok(CreateResponse { id: outputs.arn.clone(), outputs: cairn_provider_sdk::to_value(&outputs)? })
    }

    pub(crate) async fn read(c: &Clients, req: ReadRequest) -> Result<Option<ReadResponse>, ProviderError> {
        let Some(id) = req.id.clone() else { return Ok(None) };
        let (workspace, name) = parts(&id)?;
        let Some((_, outputs, data)) = describe(c, workspace, name).await? else { return Ok(None) };
        let live = RuleGroupsNamespaceArgs {
            workspace_id: Input::Value(workspace.to_owned()),
            name: Some(Input::Value(name.to_owned())),
            data,
            tags: live_tags(c, &outputs.arn).await?,
        };
        Ok(Some(ReadResponse {
            inputs: cairn_provider_sdk::live_inputs(&live, &req.inputs)?,
            outputs: cairn_provider_sdk::to_value(&outputs)?,
            id,
        }))
    }

    pub(crate) async fn update(c: &Clients, req: UpdateRequest) -> Result<UpdateResponse, ProviderError> {
        let old: RuleGroupsNamespaceArgs = cairn_provider_sdk::args(&req.olds)?;
        let new: RuleGroupsNamespaceArgs = cairn_provider_sdk::args(&req.news)?;
        let (workspace, name) = parts(&req.id)?;
        if old.data != new.data {
            c.amp
                .put_rule_groups_namespace()
                .workspace_id(workspace)
                .name(name)
                .data(Blob::new(new.data.as_bytes()))
                .send()
                .await
                .aws("PutRuleGroupsNamespace", &req.id)?;
        }
        let outputs = wait_active(c, workspace, name).await?;
        retag(c, &outputs.arn, &old.tags, &new.tags).await?;
        Ok(UpdateResponse { outputs: cairn_provider_sdk::to_value(&outputs)? })
    }

    /// Deletes the namespace and waits until it is gone. A namespace (or its workspace) already gone counts as
    /// deleted.
    pub(crate) async fn delete(c: &Clients, req: DeleteRequest) -> Result<(), ProviderError> {
        let (workspace, name) = parts(&req.id)?;
        let deleted = c.amp.delete_rule_groups_namespace().workspace_id(workspace).name(name).send().await;
        if optional(deleted.aws("DeleteRuleGroupsNamespace", &req.id))?.is_none() {
            return Ok(());
        }
        wait_until(&format!("rule groups namespace `{}` to be deleted", req.id), &c.waits, || async {
            Ok(describe(c, workspace, name).await?.is_none())
        })
        .await
    }
}
