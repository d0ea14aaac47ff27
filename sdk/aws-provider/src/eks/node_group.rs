//! `aws:eks:NodeGroup`: the EKS calls. The provider ID is `CLUSTER:NODEGROUP`
//! (EKS names cannot contain `:`).

use aws_sdk_eks::types::{
    AmiTypes, CapacityTypes, Nodegroup, NodegroupScalingConfig, NodegroupStatus, NodegroupUpdateConfig,
    UpdateLabelsPayload, UpdateTaintsPayload,
};
use aws_sdk_eks::types::{Taint as EksTaint, TaintEffect as EksTaintEffect};
use cairn_aws::eks::{
    AmiType, CapacityType, NodeGroupArgs, NodeGroupOutputs, NodeGroupUpdateConfig, ScalingConfig, Taint, TaintEffect,
};
use cairn_core::{
    CreateRequest, CreateResponse, DeleteRequest, ErrorCode, Input, ProviderError, ReadRequest, ReadResponse,
    UpdateRequest, UpdateResponse, Value,
};

use crate::Clients;
use crate::changes::{order_like, tag_changes, taint_changes};
use crate::eks::cluster::{retag, string_map, wait_for_update};
use crate::sdk::{AwsResultExt, LastStatus, map_or_none, optional, wait_until};
use cairn_provider_sdk::known;

/// The provider ID of a node group.
fn node_group_id(cluster: &str, node_group: &str) -> String {
    format!("{cluster}:{node_group}")
}

/// Splits a provider ID into cluster and node group names.
fn split_id(id: &str) -> Result<(&str, &str), ProviderError> {
    id.split_once(':')
        .filter(|(c, n)| !c.is_empty() && !n.is_empty())
        .ok_or_else(|| ProviderError::invalid(format!("node group ID `{id}` is not of the form CLUSTER:NODEGROUP")))
}

fn eks_scaling(s: &ScalingConfig) -> NodegroupScalingConfig {
    NodegroupScalingConfig::builder().min_size(s.min_size).max_size(s.max_size).desired_size(s.desired_size).build()
}

fn eks_taint(t: &Taint) -> EksTaint {
    EksTaint::builder().key(&t.key).set_value(t.value.clone()).effect(EksTaintEffect::from(t.effect.as_str())).build()
}

fn eks_update_config(u: NodeGroupUpdateConfig) -> NodegroupUpdateConfig {
    match u {
        NodeGroupUpdateConfig::MaxUnavailable(n) => NodegroupUpdateConfig::builder().max_unavailable(n).build(),
        NodeGroupUpdateConfig::MaxUnavailablePercentage(p) => {
            NodegroupUpdateConfig::builder().max_unavailable_percentage(p).build()
        }
    }
}

/// The update budget EKS reports, if it is one Cairn models.
fn update_config_of(n: &Nodegroup) -> Option<NodeGroupUpdateConfig> {
    let u = n.update_config()?;
    match (u.max_unavailable(), u.max_unavailable_percentage()) {
        (Some(count), _) => Some(NodeGroupUpdateConfig::MaxUnavailable(count)),
        (None, Some(percent)) => Some(NodeGroupUpdateConfig::MaxUnavailablePercentage(percent)),
        (None, None) => None,
    }
}

/// `None` for an empty list, which EKS would refuse or take as "no change" anyway.
fn non_empty<T>(items: Vec<T>) -> Option<Vec<T>> {
    (!items.is_empty()).then_some(items)
}

pub(crate) async fn create(c: &Clients, req: CreateRequest) -> Result<CreateResponse, ProviderError> {
    let args: NodeGroupArgs = cairn_provider_sdk::args(&req.inputs)?;
    let cluster = known(&args.cluster_name, "cluster_name")?;
    let name = cairn_provider_sdk::physical_name(&args.node_group_name, "node_group_name")?;
    let id = node_group_id(cluster, &name);
    let version = args.version.as_ref().map(|v| known(v, "version").cloned()).transpose()?;
    c.eks
        .create_nodegroup()
        .cluster_name(cluster)
        .nodegroup_name(&name)
        .node_role(known(&args.node_role_arn, "node_role_arn")?)
        .set_subnets(Some(known(&args.subnet_ids, "subnet_ids")?.clone()))
        .set_instance_types(Some(args.instance_types.clone()))
        .capacity_type(CapacityTypes::from(args.capacity_type.as_str()))
        .ami_type(AmiTypes::from(args.ami_type.as_str()))
        .scaling_config(eks_scaling(&args.scaling))
        .set_labels(map_or_none(&args.labels))
        .set_taints(non_empty(args.taints.iter().map(eks_taint).collect()))
        .set_disk_size(args.disk_size)
        .set_update_config(args.update_config.map(eks_update_config))
        .set_version(version)
        .set_tags(map_or_none(&args.tags))
        .send()
        .await
        .aws("CreateNodegroup", &id)?;
    // No rollback on a slow or failed start: the group exists and Read finds it by name.
    let node_group = wait_active(c, cluster, &name).await?;
    Ok(CreateResponse { id, outputs: outputs(&node_group)? })
}

fn outputs(n: &Nodegroup) -> Result<Value, ProviderError> {
    cairn_provider_sdk::to_value(&NodeGroupOutputs {
        cluster_name: n.cluster_name().unwrap_or_default().to_owned(),
        node_group_name: n.nodegroup_name().unwrap_or_default().to_owned(),
        arn: n.nodegroup_arn().unwrap_or_default().to_owned(),
        status: status_of(n).to_owned(),
    })
}

fn status_of(n: &Nodegroup) -> &str {
    n.status().map_or("unknown", |s| s.as_str())
}

/// The node group, or `None` if it (or its cluster) does not exist.
async fn describe(c: &Clients, cluster: &str, name: &str) -> Result<Option<Nodegroup>, ProviderError> {
    let id = node_group_id(cluster, name);
    let out = c.eks.describe_nodegroup().cluster_name(cluster).nodegroup_name(name).send().await;
    Ok(optional(out.aws("DescribeNodegroup", &id))?.and_then(|o| o.nodegroup().cloned()))
}

/// The health issues EKS reports, for error messages.
fn issues(n: &Nodegroup) -> String {
    let issues: Vec<String> = n
        .health()
        .map(|h| h.issues())
        .unwrap_or_default()
        .iter()
        .map(|i| format!("{}: {}", i.code().map_or("unknown", |c| c.as_str()), i.message().unwrap_or("no message")))
        .collect();
    if issues.is_empty() { "no health issues reported".to_owned() } else { issues.join("; ") }
}

/// Waits for the node group to be ACTIVE and returns it.
async fn wait_active(c: &Clients, cluster: &str, name: &str) -> Result<Nodegroup, ProviderError> {
    let id = node_group_id(cluster, name);
    let id = id.as_str();
    let last = LastStatus::default();
    let seen = &last;
    wait_until(&format!("node group `{id}` to become ACTIVE"), &c.waits, move || async move {
        let n = describe(c, cluster, name).await?.ok_or_else(|| {
            ProviderError::new(ErrorCode::NotFound, format!("node group `{id}` disappeared while starting"))
        })?;
        seen.set(status_of(&n));
        match n.status() {
            Some(NodegroupStatus::Active) => Ok(true),
            Some(
                NodegroupStatus::CreateFailed
                | NodegroupStatus::Degraded
                | NodegroupStatus::DeleteFailed
                | NodegroupStatus::Deleting,
            ) => Err(ProviderError::internal(format!("node group `{id}` is {}: {}", status_of(&n), issues(&n)))),
            _ => Ok(false),
        }
    })
    .await
    .map_err(|e| last.explain(e))?;
    describe(c, cluster, name).await?.ok_or_else(|| gone(id))
}

fn gone(id: &str) -> ProviderError {
    ProviderError::new(ErrorCode::NotFound, format!("node group `{id}` does not exist"))
}

pub(crate) async fn read(c: &Clients, req: ReadRequest) -> Result<Option<ReadResponse>, ProviderError> {
    let (cluster, name) = match &req.id {
        Some(id) => split_id(id).map(|(cluster, name)| (cluster.to_owned(), name.to_owned()))?,
        None => (
            cairn_provider_sdk::input_str(&req.inputs, "cluster_name")?,
            cairn_provider_sdk::input_str(&req.inputs, "node_group_name")?,
        ),
    };
    let Some(n) = describe(c, &cluster, &name).await? else { return Ok(None) };
    let id = node_group_id(&cluster, &name);
    let recorded: Option<NodeGroupArgs> = cairn_provider_sdk::recorded(&req.inputs);
    let recorded = recorded.as_ref();
    let unmodelled = |what: &str, value: &str| {
        ProviderError::internal(format!("node group `{id}` has {what} `{value}`, which Cairn does not model"))
    };

    let capacity_type = match n.capacity_type() {
        None => CapacityType::default(),
        Some(t) => CapacityType::from_aws(t.as_str()).ok_or_else(|| unmodelled("capacity type", t.as_str()))?,
    };
    let ami_type = match (n.ami_type(), recorded) {
        (Some(t), _) => AmiType::from_aws(t.as_str()).ok_or_else(|| unmodelled("AMI type", t.as_str()))?,
        (None, Some(r)) => r.ami_type,
        (None, None) => return Err(unmodelled("AMI type", "none")),
    };
    let live_taints = n
        .taints()
        .iter()
        .map(|t| {
            let effect = t.effect().map_or("none", |e| e.as_str());
            Ok(Taint {
                key: t.key().unwrap_or_default().to_owned(),
                value: t.value().map(str::to_owned),
                effect: TaintEffect::from_aws(effect).ok_or_else(|| unmodelled("a taint effect", effect))?,
            })
        })
        .collect::<Result<Vec<_>, ProviderError>>()?;
    let scaling =
        n.scaling_config().map_or(ScalingConfig { min_size: 0, max_size: 0, desired_size: 0 }, |s| ScalingConfig {
            min_size: s.min_size().unwrap_or(0),
            max_size: s.max_size().unwrap_or(0),
            desired_size: s.desired_size().unwrap_or(0),
        });
    let recorded_subnets = recorded.and_then(|r| r.subnet_ids.value()).map_or(&[][..], Vec::as_slice);

    let live = NodeGroupArgs {
        cluster_name: Input::Value(cluster.clone()),
        node_group_name: Some(Input::Value(name.clone())),
        node_role_arn: Input::Value(n.node_role().unwrap_or_default().to_owned()),
        subnet_ids: Input::Value(order_like(n.subnets().to_vec(), recorded_subnets)),
        instance_types: order_like(
            n.instance_types().to_vec(),
            recorded.map_or(&[][..], |r| r.instance_types.as_slice()),
        ),
        capacity_type,
        ami_type,
        scaling,
        labels: string_map(n.labels()),
        taints: order_like(live_taints, recorded.map_or(&[][..], |r| r.taints.as_slice())),
        // EKS fills a disk size and a version when none is asked for (emulators
        // too: moto reports version 1.19); reporting them then would look like
        // drift, and a disk size change replaces the group.
        disk_size: recorded.and_then(|r| r.disk_size).and(n.disk_size()),
        // EKS reports its default budget (one node) when none was asked for.
        update_config: recorded.and_then(|r| r.update_config).and(update_config_of(&n)),
        version: recorded.and_then(|r| r.version.as_ref()).and(n.version()).map(|v| Input::Value(v.to_owned())),
        tags: string_map(n.tags()),
    };
    Ok(Some(ReadResponse { id, inputs: cairn_provider_sdk::live_inputs(&live, &req.inputs)?, outputs: outputs(&n)? }))
}

pub(crate) async fn update(c: &Clients, req: UpdateRequest) -> Result<UpdateResponse, ProviderError> {
    let old: NodeGroupArgs = cairn_provider_sdk::args(&req.olds)?;
    let new: NodeGroupArgs = cairn_provider_sdk::args(&req.news)?;
    let (cluster, name) = split_id(&req.id)?;

    // Scaling, labels and taints go in one UpdateNodegroupConfig: EKS runs
    // one update per node group at a time.
    let (set_labels, remove_labels) = tag_changes(&old.labels, &new.labels);
    let (add_taints, remove_taints) = taint_changes(&old.taints, &new.taints);
    let scaling_changed = old.scaling != new.scaling;
    let labels_changed = !set_labels.is_empty() || !remove_labels.is_empty();
    let taints_changed = !add_taints.is_empty() || !remove_taints.is_empty();
    // Removing the budget from the program leaves EKS's current one in place.
    let budget = new.update_config.filter(|u| old.update_config != Some(*u));
    if scaling_changed || labels_changed || taints_changed || budget.is_some() {
        let mut call = c.eks.update_nodegroup_config().cluster_name(cluster).nodegroup_name(name);
        if scaling_changed {
            call = call.scaling_config(eks_scaling(&new.scaling));
        }
        if let Some(budget) = budget {
            call = call.update_config(eks_update_config(budget));
        }
        if labels_changed {
            call = call.labels(
                UpdateLabelsPayload::builder()
                    .set_add_or_update_labels(map_or_none(&set_labels))
                    .set_remove_labels(non_empty(remove_labels))
                    .build(),
            );
        }
        if taints_changed {
            call = call.taints(
                UpdateTaintsPayload::builder()
                    .set_add_or_update_taints(non_empty(add_taints.iter().map(eks_taint).collect()))
                    .set_remove_taints(non_empty(remove_taints.iter().map(eks_taint).collect()))
                    .build(),
            );
        }
        let out = call.send().await.aws("UpdateNodegroupConfig", &req.id)?;
        wait_for_update(c, cluster, Some(name), out.update()).await?;
    }

    let new_version = new.version.as_ref().map(|v| known(v, "version")).transpose()?;
    let old_version = old.version.as_ref().and_then(Input::value);
    // Dropping the version pin changes nothing in AWS: EKS cannot downgrade.
    if let Some(version) = new_version.filter(|v| old_version != Some(*v)) {
        let out = c
            .eks
            .update_nodegroup_version()
            .cluster_name(cluster)
            .nodegroup_name(name)
            .version(version)
            .send()
            .await
            .aws("UpdateNodegroupVersion", &req.id)?;
        wait_for_update(c, cluster, Some(name), out.update()).await?;
    }

    let n = describe(c, cluster, name).await?.ok_or_else(|| gone(&req.id))?;
    if old.tags != new.tags {
        retag(c, n.nodegroup_arn().unwrap_or_default(), &old.tags, &new.tags).await?;
    }
    Ok(UpdateResponse { outputs: outputs(&n)? })
}

pub(crate) async fn delete(c: &Clients, req: DeleteRequest) -> Result<(), ProviderError> {
    let (cluster, name) = split_id(&req.id)?;
    let id = req.id.as_str();
    let deleted = c.eks.delete_nodegroup().cluster_name(cluster).nodegroup_name(name).send().await;
    if optional(deleted.aws("DeleteNodegroup", id))?.is_none() {
        return Ok(());
    }
    let last = LastStatus::default();
    let seen = &last;
    wait_until(&format!("node group `{id}` to be deleted"), &c.waits, move || async move {
        let Some(n) = describe(c, cluster, name).await? else { return Ok(true) };
        seen.set(status_of(&n));
        match n.status() {
            Some(NodegroupStatus::DeleteFailed) => {
                Err(ProviderError::internal(format!("node group `{id}` failed to delete: {}", issues(&n))))
            }
            _ => Ok(false),
        }
    })
    .await
    .map_err(|e| last.explain(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_join_and_split() {
        let id = node_group_id("ai-dev", "gpu-1a2b3c4");
        assert_eq!(id, "ai-dev:gpu-1a2b3c4");
        assert_eq!(split_id(&id).unwrap(), ("ai-dev", "gpu-1a2b3c4"));
        for bad in ["ai-dev", ":gpu", "ai-dev:"] {
            let err = split_id(bad).unwrap_err();
            assert_eq!(err.code, ErrorCode::InvalidArgument, "{bad}");
            assert!(err.message.contains("CLUSTER:NODEGROUP"), "{err}");
        }
    }

    #[test]
    fn taints_map_to_eks_strings() {
        let t = Taint { key: "nvidia.com/gpu".into(), value: None, effect: TaintEffect::PreferNoSchedule };
        let e = eks_taint(&t);
        assert_eq!(
            (e.key(), e.value(), e.effect()),
            (Some("nvidia.com/gpu"), None, Some(&EksTaintEffect::PreferNoSchedule))
        );
        for effect in TaintEffect::ALL {
            assert_eq!(EksTaintEffect::from(effect.as_str()).as_str(), effect.as_str());
        }
        for ami in AmiType::ALL {
            assert!(AmiTypes::values().contains(&ami.as_str()), "{ami}");
        }
        for capacity in CapacityType::ALL {
            assert!(CapacityTypes::values().contains(&capacity.as_str()), "{capacity}");
        }
    }

    #[test]
    fn update_budgets_map_both_ways() {
        for u in [NodeGroupUpdateConfig::MaxUnavailable(3), NodeGroupUpdateConfig::MaxUnavailablePercentage(25)] {
            let n = Nodegroup::builder().update_config(eks_update_config(u)).build();
            assert_eq!(update_config_of(&n), Some(u));
        }
        let sent = eks_update_config(NodeGroupUpdateConfig::MaxUnavailablePercentage(25));
        assert_eq!((sent.max_unavailable(), sent.max_unavailable_percentage()), (None, Some(25)));
        assert_eq!(update_config_of(&Nodegroup::builder().build()), None);
    }

    #[test]
    fn empty_lists_are_not_sent() {
        assert_eq!(non_empty(Vec::<u8>::new()), None);
        assert_eq!(non_empty(vec![1]), Some(vec![1]));
    }
}
