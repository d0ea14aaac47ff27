//! `aws:eks:Cluster`: the EKS calls. The provider ID is the cluster name.
//! Also the EKS helpers node groups share (tags, update tracking).

use std::collections::{BTreeMap, HashMap};

use aws_sdk_eks::types::{Cluster, ClusterStatus, Update, UpdateStatus, VpcConfigRequest};
use cairn_aws::eks::{CLUSTER_SCHEMA, ClusterArgs, ClusterOutputs};
use cairn_core::schema::ResourceSchema;
use cairn_core::{
    CheckFailure, CreateRequest, CreateResponse, DeleteRequest, ErrorCode, Input, ProviderError, ReadRequest,
    ReadResponse, UpdateRequest, UpdateResponse, Value,
};

use crate::Clients;
use crate::changes::{order_like, tag_changes};
use crate::generic::{self, TypedArgs, known};
use crate::sdk::{AwsResultExt, LastStatus, optional, wait_until};

impl TypedArgs for ClusterArgs {
    const SCHEMA: &'static ResourceSchema = &CLUSTER_SCHEMA;

    fn failures(&self) -> Vec<CheckFailure> {
        self.validate()
    }
}

pub(crate) async fn create(c: &Clients, req: CreateRequest) -> Result<CreateResponse, ProviderError> {
    let args: ClusterArgs = generic::args(&req.inputs)?;
    let name = generic::physical_name(&args.name, "name")?;
    let vpc = VpcConfigRequest::builder().set_subnet_ids(Some(known(&args.subnet_ids, "subnet_ids")?.clone())).build();
    c.eks
        .create_cluster()
        .name(&name)
        .role_arn(known(&args.role_arn, "role_arn")?)
        .resources_vpc_config(vpc)
        .set_version(args.version.clone())
        .set_tags(eks_tags(&args.tags))
        .send()
        .await
        .aws("CreateCluster", &name)?;
    // No rollback on a slow or failed start: the cluster exists and Read finds it by name.
    let cluster = wait_active(c, &name).await?;
    Ok(CreateResponse { id: name, outputs: outputs(&cluster)? })
}

fn outputs(cluster: &Cluster) -> Result<Value, ProviderError> {
    generic::to_value(&ClusterOutputs {
        name: cluster.name().unwrap_or_default().to_owned(),
        arn: cluster.arn().unwrap_or_default().to_owned(),
        endpoint: cluster.endpoint().unwrap_or_default().to_owned(),
        version: cluster.version().unwrap_or_default().to_owned(),
    })
}

/// The cluster, or `None` if it does not exist.
async fn describe(c: &Clients, name: &str) -> Result<Option<Cluster>, ProviderError> {
    let out = optional(c.eks.describe_cluster().name(name).send().await.aws("DescribeCluster", name))?;
    Ok(out.and_then(|o| o.cluster().cloned()))
}

fn status_of(cluster: &Cluster) -> &str {
    cluster.status().map_or("unknown", |s| s.as_str())
}

/// Waits for the cluster to be ACTIVE and returns it.
async fn wait_active(c: &Clients, name: &str) -> Result<Cluster, ProviderError> {
    let last = LastStatus::default();
    let seen = &last;
    wait_until(&format!("cluster `{name}` to become ACTIVE"), c.waits, move || async move {
        let cluster = describe(c, name).await?.ok_or_else(|| {
            ProviderError::new(ErrorCode::NotFound, format!("cluster `{name}` disappeared while starting"))
        })?;
        seen.set(status_of(&cluster));
        match cluster.status() {
            Some(ClusterStatus::Active) => Ok(true),
            Some(ClusterStatus::Failed | ClusterStatus::Deleting) => Err(ProviderError::internal(format!(
                "cluster `{name}` did not start: its status is {}",
                status_of(&cluster)
            ))),
            _ => Ok(false),
        }
    })
    .await
    .map_err(|e| last.explain(e))?;
    describe(c, name)
        .await?
        .ok_or_else(|| ProviderError::new(ErrorCode::NotFound, format!("cluster `{name}` disappeared")))
}

pub(crate) async fn read(c: &Clients, req: ReadRequest) -> Result<Option<ReadResponse>, ProviderError> {
    let name = generic::read_id(&req, "name")?;
    let Some(cluster) = describe(c, &name).await? else { return Ok(None) };
    let recorded: Option<ClusterArgs> = generic::recorded(&req.inputs);
    let recorded = recorded.as_ref();

    let live_subnets = cluster.resources_vpc_config().map(|v| v.subnet_ids().to_vec()).unwrap_or_default();
    let recorded_subnets = recorded.and_then(|r| r.subnet_ids.value()).map_or(&[][..], Vec::as_slice);
    let live = ClusterArgs {
        name: Some(Input::Value(name.clone())),
        role_arn: Input::Value(cluster.role_arn().unwrap_or_default().to_owned()),
        subnet_ids: Input::Value(order_like(live_subnets, recorded_subnets)),
        // EKS picks a version when none is asked for; reporting it then would look like drift.
        version: recorded.and_then(|r| r.version.as_ref()).and(cluster.version()).map(str::to_owned),
        tags: string_map(cluster.tags()),
    };
    Ok(Some(ReadResponse { id: name, inputs: generic::live_inputs(&live, &req.inputs)?, outputs: outputs(&cluster)? }))
}

pub(crate) async fn update(c: &Clients, req: UpdateRequest) -> Result<UpdateResponse, ProviderError> {
    let old: ClusterArgs = generic::args(&req.olds)?;
    let new: ClusterArgs = generic::args(&req.news)?;
    let name = req.id.as_str();

    // Dropping the version pin changes nothing in AWS: EKS cannot downgrade.
    if let Some(version) = new.version.as_ref().filter(|v| old.version.as_ref() != Some(*v)) {
        let out = c
            .eks
            .update_cluster_version()
            .name(name)
            .version(version)
            .send()
            .await
            .aws("UpdateClusterVersion", name)?;
        wait_for_update(c, name, None, out.update()).await?;
    }
    let cluster = describe(c, name).await?.ok_or_else(|| gone(name))?;
    if old.tags != new.tags {
        retag(c, cluster.arn().unwrap_or_default(), &old.tags, &new.tags).await?;
    }
    Ok(UpdateResponse { outputs: outputs(&cluster)? })
}

pub(crate) async fn delete(c: &Clients, req: DeleteRequest) -> Result<(), ProviderError> {
    let name = req.id.as_str();
    if optional(c.eks.delete_cluster().name(name).send().await.aws("DeleteCluster", name))?.is_none() {
        return Ok(());
    }
    let last = LastStatus::default();
    let seen = &last;
    wait_until(&format!("cluster `{name}` to be deleted"), c.waits, move || async move {
        let Some(cluster) = describe(c, name).await? else { return Ok(true) };
        seen.set(status_of(&cluster));
        match cluster.status() {
            Some(ClusterStatus::Failed) => {
                Err(ProviderError::internal(format!("cluster `{name}` failed to delete: its status is FAILED")))
            }
            _ => Ok(false),
        }
    })
    .await
    .map_err(|e| last.explain(e))
}

fn gone(name: &str) -> ProviderError {
    ProviderError::new(ErrorCode::NotFound, format!("cluster `{name}` does not exist"))
}

/// EKS tags, or `None` to send none.
pub(crate) fn eks_tags(tags: &BTreeMap<String, String>) -> Option<HashMap<String, String>> {
    (!tags.is_empty()).then(|| tags.clone().into_iter().collect())
}

/// A map EKS returns (tags, labels), sorted.
pub(crate) fn string_map(map: Option<&HashMap<String, String>>) -> BTreeMap<String, String> {
    map.map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()).unwrap_or_default()
}

/// Applies tag changes to an EKS resource (cluster or node group) by ARN.
pub(crate) async fn retag(
    c: &Clients,
    arn: &str,
    old: &BTreeMap<String, String>,
    new: &BTreeMap<String, String>,
) -> Result<(), ProviderError> {
    let (set, remove) = tag_changes(old, new);
    if !set.is_empty() {
        c.eks.tag_resource().resource_arn(arn).set_tags(eks_tags(&set)).send().await.aws("TagResource", arn)?;
    }
    if !remove.is_empty() {
        c.eks.untag_resource().resource_arn(arn).set_tag_keys(Some(remove)).send().await.aws("UntagResource", arn)?;
    }
    Ok(())
}

/// Waits for an EKS update (version, configuration) to finish.
pub(crate) async fn wait_for_update(
    c: &Clients,
    cluster: &str,
    node_group: Option<&str>,
    update: Option<&Update>,
) -> Result<(), ProviderError> {
    let Some((update, id)) = update.and_then(|u| Some((u, u.id()?))) else { return Ok(()) };
    let target = node_group.map_or_else(|| cluster.to_owned(), |ng| format!("{cluster}:{ng}"));
    let target = target.as_str();
    // Emulators report updates done at once (and may not implement DescribeUpdate).
    if update_done(update, target)? {
        return Ok(());
    }
    let last = LastStatus::default();
    let seen = &last;
    wait_until(&format!("update {id} of `{target}` to finish"), c.waits, move || async move {
        let out = c
            .eks
            .describe_update()
            .name(cluster)
            .set_nodegroup_name(node_group.map(str::to_owned))
            .update_id(id)
            .send()
            .await
            .aws("DescribeUpdate", target)?;
        let update = out
            .update()
            .ok_or_else(|| ProviderError::internal(format!("DescribeUpdate `{target}` returned no update")))?;
        seen.set(update.status().map_or("unknown", |s| s.as_str()));
        update_done(update, target)
    })
    .await
    .map_err(|e| last.explain(e))
}

/// True once the update succeeded; an error if it failed or was cancelled.
fn update_done(update: &Update, target: &str) -> Result<bool, ProviderError> {
    match update.status() {
        Some(UpdateStatus::Successful) => Ok(true),
        Some(status @ (UpdateStatus::Failed | UpdateStatus::Cancelled)) => {
            let errors: Vec<&str> = update.errors().iter().filter_map(|e| e.error_message()).collect();
            Err(ProviderError::internal(format!(
                "update {} of `{target}` ended {}: {}",
                update.id().unwrap_or("?"),
                status.as_str(),
                if errors.is_empty() { "no details".to_owned() } else { errors.join("; ") }
            )))
        }
        _ => Ok(false),
    }
}
