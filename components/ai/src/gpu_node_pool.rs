//! A GPU node group: spot by default, tainted, scaled to zero when idle.

use std::collections::BTreeMap;

use cairn_aws::{
    AmiType, CapacityType, NodeGroup, NodeGroupArgs, PolicyDocument, Role, RoleArgs, ScalingConfig, Taint, TaintEffect,
};
use cairn_core::{Input, Output, Stack, Urn};
use typed_builder::TypedBuilder;

use crate::ComponentError;
use crate::tags::cost_tags;

/// The most nodes a pool may scale to unless the program raises the cap:
/// a runaway autoscaler on GPU instances is the costliest mistake there is.
pub const MAX_GPU_NODES: i32 = 16;

/// Arguments of [`GpuNodePool`].
#[derive(Debug, Clone, TypedBuilder)]
pub struct GpuNodePoolArgs {
    /// The cluster's name.
    #[builder(setter(into))]
    pub cluster_name: Output<String>,
    /// The cluster's Kubernetes version: nodes run the same.
    #[builder(setter(into))]
    pub cluster_version: Output<String>,
    /// The subnets the nodes run in.
    #[builder(setter(into))]
    pub subnet_ids: Input<Vec<String>>,
    /// GPU instance types, most preferred first.
    #[builder(default = vec!["g5.2xlarge".to_owned()])]
    pub instance_types: Vec<String>,
    /// Spot (default) or on-demand capacity.
    #[builder(default = CapacityType::Spot)]
    pub capacity_type: CapacityType,
    /// Fewest nodes (0: scale to zero when idle).
    #[builder(default = 0)]
    pub min_size: i32,
    /// Most nodes; at most `max_nodes_cap`.
    #[builder(default = 2)]
    pub max_size: i32,
    /// Nodes to start with.
    #[builder(default = 0)]
    pub desired_size: i32,
    /// The replica cap `max_size` is checked against.
    #[builder(default = MAX_GPU_NODES)]
    pub max_nodes_cap: i32,
    /// Extra node labels.
    #[builder(default)]
    pub labels: BTreeMap<String, String>,
    /// Extra tags, added to the cost tags.
    #[builder(default)]
    pub tags: BTreeMap<String, String>,
}

/// A GPU node group and the IAM role its nodes assume.
#[derive(Debug, Clone)]
pub struct GpuNodePool {
    /// The component's URN.
    pub urn: Urn,
    /// The nodes' role (worker, CNI and read-only registry policies only).
    pub role: Role,
    /// The node group.
    pub node_group: NodeGroup,
}

/// The taint that keeps non-GPU pods off GPU nodes.
pub fn gpu_taint() -> Taint {
    Taint { key: "nvidia.com/gpu".into(), value: Some("true".into()), effect: TaintEffect::NoSchedule }
}

impl GpuNodePool {
    /// Declares the component `name` into `ctx`.
    pub fn new(ctx: &Stack, name: &str, args: GpuNodePoolArgs) -> Result<Self, ComponentError> {
        if args.max_size > args.max_nodes_cap {
            return Err(ComponentError::Invalid {
                component: name.to_owned(),
                message: format!(
                    "max_size {} is above the replica cap of {} GPU nodes; lower max_size or raise max_nodes_cap deliberately",
                    args.max_size, args.max_nodes_cap
                ),
            });
        }
        let scope = ctx.component("cairn:ai:GpuNodePool", name)?;
        let urn = scope.parent().cloned().expect("a component scope has a parent");
        let tags = cost_tags(ctx, name, &args.tags);
        let role = scope.resource(
            &format!("{name}-node-role"),
            RoleArgs::builder()
                .assume_role_policy(PolicyDocument::assume_role_for_service("ec2.amazonaws.com"))
                .managed_policy_arns([
                    "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
                    "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
                    "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
                ])
                .description(format!("GPU nodes of {name}"))
                .tags(tags.clone())
                .build(),
        )?;
        let mut labels: BTreeMap<String, String> =
            [("cairn.dev/pool".to_owned(), name.to_owned()), ("cairn.dev/accelerator".to_owned(), "nvidia".to_owned())]
                .into_iter()
                .collect();
        labels.extend(args.labels);
        let node_group = scope.resource(
            &format!("{name}-nodes"),
            NodeGroupArgs::builder()
                .cluster_name(args.cluster_name)
                .node_role_arn(role.arn.clone())
                .subnet_ids(args.subnet_ids)
                .instance_types(args.instance_types)
                .capacity_type(args.capacity_type)
                .ami_type(AmiType::Al2X86_64Gpu)
                .scaling(ScalingConfig {
                    min_size: args.min_size,
                    max_size: args.max_size,
                    desired_size: args.desired_size,
                })
                .labels(labels)
                .taints(vec![gpu_taint()])
                .version(args.cluster_version)
                .tags(tags)
                .build(),
        )?;
        Ok(Self { urn, role, node_group })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_core::{Config, ProjectName, StackName};

    fn ctx() -> Stack {
        Stack::new(StackName::new("dev").unwrap(), ProjectName::new("p").unwrap(), Config::default())
    }

    fn args(max: i32) -> GpuNodePoolArgs {
        GpuNodePoolArgs::builder()
            .cluster_name(Output::new("c".to_owned()))
            .cluster_version(Output::new("1.31".to_owned()))
            .subnet_ids(vec!["s".to_owned()])
            .max_size(max)
            .build()
    }

    #[test]
    fn expands_to_a_tainted_spot_gpu_group_with_cost_tags() {
        let ctx = ctx();
        let pool = GpuNodePool::new(&ctx, "gpu", args(2)).unwrap();
        let declared = ctx.finish();
        let types: Vec<String> = declared.resources.iter().map(|r| r.urn.type_chain().to_owned()).collect();
        assert_eq!(
            types,
            ["cairn:ai:GpuNodePool", "cairn:ai:GpuNodePool$aws:iam:Role", "cairn:ai:GpuNodePool$aws:eks:NodeGroup"]
        );
        let ng = &declared.resources[2];
        assert_eq!(ng.urn, pool.node_group.urn);
        let j = ng.inputs.to_json();
        assert_eq!(j["capacity_type"], "SPOT");
        assert_eq!(j["ami_type"], "AL2_x86_64_GPU");
        assert_eq!(j["taints"][0]["key"], "nvidia.com/gpu");
        assert_eq!(j["tags"]["cairn:stack"], "dev");
        assert!(ng.dependencies.contains(&pool.role.urn), "the group waits for its role");
    }

    #[test]
    fn max_size_above_the_replica_cap_is_refused() {
        let err = GpuNodePool::new(&ctx(), "gpu", args(MAX_GPU_NODES + 1)).unwrap_err().to_string();
        assert!(err.contains("replica cap") && err.contains("raise max_nodes_cap"), "{err}");
    }
}
