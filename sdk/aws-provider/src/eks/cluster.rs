//! `aws:eks:Cluster`: the EKS calls. The provider ID is the cluster name.
//! Also the EKS helpers node groups share (tags, update tracking).

use std::collections::{BTreeMap, HashMap};

use aws_sdk_eks::types::{
    Cluster, ClusterStatus, EncryptionConfig, LogSetup, LogType, Logging, Provider as KeyProvider, Update,
    UpdateStatus, VpcConfigRequest,
};
use cairn_aws::eks::{ClusterArgs, ClusterLogType, ClusterOutputs};
use cairn_core::{
    CreateRequest, CreateResponse, DeleteRequest, ErrorCode, Input, ProviderError, ReadRequest, ReadResponse,
    UpdateRequest, UpdateResponse, Value,
};

use crate::Clients;
use crate::changes::order_like;
use crate::sdk::{AwsResultExt, LastStatus, map_or_none, optional, wait_until};
use cairn_provider_sdk::known;

/// What EKS allows on the public endpoint when no ranges are given.
const EVERYWHERE: &str = "0.0.0.0/0";

/// The only resource EKS envelope-encrypts.
const SECRETS: &str = "secrets";

pub(crate) async fn create(c: &Clients, req: CreateRequest) -> Result<CreateResponse, ProviderError> {
    let args: ClusterArgs = cairn_provider_sdk::args(&req.inputs)?;
    let name = cairn_provider_sdk::physical_name(&args.name, "name")?;
    let security_groups =
        args.security_group_ids.as_ref().map(|g| known(g, "security_group_ids").cloned()).transpose()?;
    let vpc = VpcConfigRequest::builder()
        .set_subnet_ids(Some(known(&args.subnet_ids, "subnet_ids")?.clone()))
        .set_security_group_ids(security_groups.filter(|g| !g.is_empty()))
        .endpoint_public_access(args.endpoint_public_access)
        .endpoint_private_access(args.endpoint_private_access)
        .set_public_access_cidrs(
            (args.endpoint_public_access && !args.public_access_cidrs.is_empty())
                .then(|| args.public_access_cidrs.clone()),
        )
        .build();
    let encryption = match &args.encryption_kms_key_arn {
        Some(key) => Some(vec![secrets_encryption(known(key, "encryption_kms_key_arn")?)]),
        None => None,
    };
    c.eks
        .create_cluster()
        .name(&name)
        .role_arn(known(&args.role_arn, "role_arn")?)
        .resources_vpc_config(vpc)
        .set_version(args.version.clone())
        // EKS exports no logs unless asked: only the enabled types need saying.
        .set_logging((!args.enabled_cluster_log_types.is_empty()).then(|| logging(&args.enabled_cluster_log_types)))
        .set_encryption_config(encryption)
        .set_tags(map_or_none(&args.tags))
        .send()
        .await
        .aws("CreateCluster", &name)?;
    // No rollback on a slow or failed start: the cluster exists and Read finds it by name.
    let cluster = wait_active(c, &name).await?;
    Ok(CreateResponse { id: name, outputs: outputs(&cluster)? })
}

fn secrets_encryption(key_arn: &str) -> EncryptionConfig {
    EncryptionConfig::builder().resources(SECRETS).provider(KeyProvider::builder().key_arn(key_arn).build()).build()
}

/// The whole logging configuration: `enabled` on, every other type off.
/// EKS changes only the types a request names, so naming all of them makes
/// the result independent of what was on before.
fn logging(enabled: &[ClusterLogType]) -> Logging {
    let setup = |types: Vec<LogType>, on: bool| {
        (!types.is_empty()).then(|| LogSetup::builder().set_types(Some(types)).enabled(on).build())
    };
    let on: Vec<LogType> = enabled.iter().map(|t| LogType::from(t.as_str())).collect();
    let off: Vec<LogType> =
        ClusterLogType::ALL.iter().filter(|t| !enabled.contains(*t)).map(|t| LogType::from(t.as_str())).collect();
    Logging::builder().set_cluster_logging(Some(setup(on, true).into_iter().chain(setup(off, false)).collect())).build()
}

/// The log types EKS reports enabled, in the order of `recorded`.
fn enabled_log_types(cluster: &Cluster, recorded: &[ClusterLogType]) -> Result<Vec<ClusterLogType>, ProviderError> {
    let mut enabled = Vec::new();
    for setup in cluster.logging().map(Logging::cluster_logging).unwrap_or_default() {
        if setup.enabled() != Some(true) {
            continue;
        }
        for t in setup.types() {
            let log = ClusterLogType::from_aws(t.as_str()).ok_or_else(|| {
                ProviderError::internal(format!(
                    "cluster `{}` exports log type `{}`, which Cairn does not model",
                    cluster.name().unwrap_or_default(),
                    t.as_str()
                ))
            })?;
            if !enabled.contains(&log) {
                enabled.push(log);
            }
        }
    }
    Ok(order_like(enabled, recorded))
}

fn outputs(cluster: &Cluster) -> Result<Value, ProviderError> {
    cairn_provider_sdk::to_value(&ClusterOutputs {
        name: cluster.name().unwrap_or_default().to_owned(),
        arn: cluster.arn().unwrap_or_default().to_owned(),
        endpoint: cluster.endpoint().unwrap_or_default().to_owned(),
        version: cluster.version().unwrap_or_default().to_owned(),
        oidc_issuer_url: cluster
            .identity()
            .and_then(|i| i.oidc())
            .and_then(|o| o.issuer())
            .unwrap_or_default()
            .to_owned(),
        cluster_security_group_id: cluster
            .resources_vpc_config()
            .and_then(|v| v.cluster_security_group_id())
            .unwrap_or_default()
            .to_owned(),
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
    wait_until(&format!("cluster `{name}` to become ACTIVE"), &c.waits, move || async move {
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
    let name = cairn_provider_sdk::read_id(&req, "name")?;
    let Some(cluster) = describe(c, &name).await? else { return Ok(None) };
    let recorded: Option<ClusterArgs> = cairn_provider_sdk::recorded(&req.inputs);
    let recorded = recorded.as_ref();

    let vpc = cluster.resources_vpc_config();
    let live_subnets = vpc.map(|v| v.subnet_ids().to_vec()).unwrap_or_default();
    let recorded_subnets = recorded.and_then(|r| r.subnet_ids.value()).map_or(&[][..], Vec::as_slice);
    let live_groups = vpc.map(|v| v.security_group_ids().to_vec()).unwrap_or_default();
    let recorded_groups = recorded.and_then(|r| r.security_group_ids.as_ref());
    let security_group_ids = match recorded_groups {
        // Declared, or not declared but present (drift, or an import): report them.
        Some(groups) => Some(Input::Value(order_like(live_groups, groups.value().map_or(&[][..], Vec::as_slice)))),
        None if live_groups.is_empty() => None,
        None => Some(Input::Value(live_groups)),
    };
    let recorded_cidrs = recorded.map_or(&[][..], |r| r.public_access_cidrs.as_slice());
    let live_cidrs = vpc.map(|v| v.public_access_cidrs().to_vec()).unwrap_or_default();
    // EKS reports 0.0.0.0/0 when no ranges were given: that is the declared "empty".
    let public_access_cidrs =
        if live_cidrs.iter().all(|c| c == EVERYWHERE) && !recorded_cidrs.contains(&EVERYWHERE.to_owned()) {
            Vec::new()
        } else {
            order_like(live_cidrs, recorded_cidrs)
        };
    let key_arn = cluster
        .encryption_config()
        .iter()
        .find(|e| e.resources().iter().any(|r| r == SECRETS))
        .and_then(|e| e.provider())
        .and_then(|p| p.key_arn());
    let live = ClusterArgs {
        name: Some(Input::Value(name.clone())),
        role_arn: Input::Value(cluster.role_arn().unwrap_or_default().to_owned()),
        subnet_ids: Input::Value(order_like(live_subnets, recorded_subnets)),
        // EKS picks a version when none is asked for; reporting it then would look like drift.
        version: recorded.and_then(|r| r.version.as_ref()).and(cluster.version()).map(str::to_owned),
        endpoint_public_access: vpc.is_none_or(|v| v.endpoint_public_access()),
        endpoint_private_access: vpc.is_some_and(|v| v.endpoint_private_access()),
        public_access_cidrs,
        enabled_cluster_log_types: enabled_log_types(
            &cluster,
            recorded.map_or(&[][..], |r| r.enabled_cluster_log_types.as_slice()),
        )?,
        encryption_kms_key_arn: key_arn.map(|k| Input::Value(k.to_owned())),
        security_group_ids,
        tags: string_map(cluster.tags()),
    };
    Ok(Some(ReadResponse {
        id: name,
        inputs: cairn_provider_sdk::live_inputs(&live, &req.inputs)?,
        outputs: outputs(&cluster)?,
    }))
}

pub(crate) async fn update(c: &Clients, req: UpdateRequest) -> Result<UpdateResponse, ProviderError> {
    let old: ClusterArgs = cairn_provider_sdk::args(&req.olds)?;
    let new: ClusterArgs = cairn_provider_sdk::args(&req.news)?;
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
    // EKS takes one kind of change per UpdateClusterConfig (endpoint access,
    // logging) and one update at a time, so each is a call of its own, awaited.
    let endpoint_changed = old.endpoint_public_access != new.endpoint_public_access
        || old.endpoint_private_access != new.endpoint_private_access
        || old.public_access_cidrs != new.public_access_cidrs;
    if endpoint_changed {
        let out = c
            .eks
            .update_cluster_config()
            .name(name)
            .resources_vpc_config(endpoint_access(&new))
            .send()
            .await
            .aws("UpdateClusterConfig", name)?;
        wait_for_update(c, name, None, out.update()).await?;
    }
    if old.enabled_cluster_log_types != new.enabled_cluster_log_types {
        let out = c
            .eks
            .update_cluster_config()
            .name(name)
            .logging(logging(&new.enabled_cluster_log_types))
            .send()
            .await
            .aws("UpdateClusterConfig", name)?;
        wait_for_update(c, name, None, out.update()).await?;
    }
    let cluster = describe(c, name).await?.ok_or_else(|| gone(name))?;
    if old.tags != new.tags {
        retag(c, cluster.arn().unwrap_or_default(), &old.tags, &new.tags).await?;
    }
    Ok(UpdateResponse { outputs: outputs(&cluster)? })
}

/// The endpoint access part of a VPC configuration, and nothing else: naming
/// subnets or security groups too would be a second kind of change.
fn endpoint_access(args: &ClusterArgs) -> VpcConfigRequest {
    // Ranges only apply to a public endpoint. Going back to no ranges means
    // saying 0.0.0.0/0: leaving them out would keep the old ones.
    let cidrs = args.endpoint_public_access.then(|| {
        if args.public_access_cidrs.is_empty() { vec![EVERYWHERE.to_owned()] } else { args.public_access_cidrs.clone() }
    });
    VpcConfigRequest::builder()
        .endpoint_public_access(args.endpoint_public_access)
        .endpoint_private_access(args.endpoint_private_access)
        .set_public_access_cidrs(cidrs)
        .build()
}

pub(crate) async fn delete(c: &Clients, req: DeleteRequest) -> Result<(), ProviderError> {
    let name = req.id.as_str();
    if optional(c.eks.delete_cluster().name(name).send().await.aws("DeleteCluster", name))?.is_none() {
        return Ok(());
    }
    let last = LastStatus::default();
    let seen = &last;
    wait_until(&format!("cluster `{name}` to be deleted"), &c.waits, move || async move {
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
    crate::changes::retag_by_arn!(c.eks, arn, old, new, |set| Ok::<_, ProviderError>(map_or_none(set))).await
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
    wait_until(&format!("update {id} of `{target}` to finish"), &c.waits, move || async move {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn setups(l: &Logging) -> Vec<(Vec<&str>, Option<bool>)> {
        l.cluster_logging().iter().map(|s| (s.types().iter().map(LogType::as_str).collect(), s.enabled())).collect()
    }

    #[test]
    fn logging_names_every_type_on_or_off() {
        let l = logging(&[ClusterLogType::Audit, ClusterLogType::Api]);
        assert_eq!(
            setups(&l),
            [
                (vec!["audit", "api"], Some(true)),
                (vec!["authenticator", "controllerManager", "scheduler"], Some(false))
            ]
        );
        let every: Vec<&str> = ClusterLogType::ALL.iter().map(|t| t.as_str()).collect();
        assert_eq!(setups(&logging(&[])), [(every, Some(false))]);
        assert_eq!(setups(&logging(ClusterLogType::ALL)).len(), 1, "no empty `off` entry");
        for t in ClusterLogType::ALL {
            assert!(LogType::values().contains(&t.as_str()), "{t}");
        }
    }

    #[test]
    fn endpoint_access_names_only_endpoint_settings() {
        let mut args = ClusterArgs::builder().role_arn("arn:role").subnet_ids(vec!["subnet-a"]).build();
        let r = endpoint_access(&args);
        assert!(r.subnet_ids().is_empty() && r.security_group_ids().is_empty());
        assert_eq!((r.endpoint_public_access(), r.endpoint_private_access()), (Some(true), Some(true)));
        assert_eq!(r.public_access_cidrs(), [EVERYWHERE], "back to everywhere, said explicitly");

        args.public_access_cidrs = vec!["203.0.113.0/24".into()];
        assert_eq!(endpoint_access(&args).public_access_cidrs(), ["203.0.113.0/24"]);

        args.public_access_cidrs.clear();
        args.endpoint_public_access = false;
        let r = endpoint_access(&args);
        assert_eq!(r.endpoint_public_access(), Some(false));
        assert!(r.public_access_cidrs().is_empty(), "no ranges for a private endpoint");
    }
}
