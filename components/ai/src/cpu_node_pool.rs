//! A CPU node group for batch work (data preprocessing, feature jobs): spot
//! by default, scaled to zero when idle, capped.

use std::collections::BTreeMap;

use cairn_aws::{AmiType, CapacityType, NodeGroup, NodeGroupArgs, Role, ScalingConfig};
use cairn_core::{ComponentArgs, DeclareError, Input, InvalidArgs, Scope, Stack, Urn};
use typed_builder::TypedBuilder;

use crate::checks;
use crate::gpu::gpu_instance;
use crate::gpu_node_pool::node_role;
use crate::tags::{check_cost_tags, cost_tags};

/// The most nodes a CPU pool may scale to unless the program raises the cap.
pub const MAX_CPU_NODES: i32 = 32;

/// Arguments of [`CpuNodePool`].
///
/// ```
/// use cairn_ai::CpuNodePoolArgs;
/// let args = CpuNodePoolArgs::builder().cluster_name("ai").cluster_version("1.31").subnet_ids(vec!["s"]).build();
/// assert_eq!(args.min_size, 0);
/// ```
#[derive(Debug, Clone, TypedBuilder)]
pub struct CpuNodePoolArgs {
    /// The cluster's name.
    #[builder(setter(into))]
    pub cluster_name: Input<String>,
    /// The cluster's Kubernetes version: nodes run the same.
    #[builder(setter(into))]
    pub cluster_version: Input<String>,
    /// The subnets the nodes run in.
    #[builder(setter(into))]
    pub subnet_ids: Input<Vec<String>>,
    /// Instance types, most preferred first (several make spot capacity easier to find).
    #[builder(default = vec!["m6i.2xlarge".to_owned(), "m5.2xlarge".to_owned()], setter(transform = |types: impl IntoIterator<Item = impl Into<String>>| cairn_aws::strings(types)))]
    pub instance_types: Vec<String>,
    /// Spot (default) or on-demand capacity.
    #[builder(default = CapacityType::Spot)]
    pub capacity_type: CapacityType,
    /// Fewest nodes (0: scale to zero when idle).
    #[builder(default = 0)]
    pub min_size: i32,
    /// Most nodes; at most `max_nodes_cap`.
    #[builder(default = 4)]
    pub max_size: i32,
    /// Nodes to start with.
    #[builder(default = 0)]
    pub desired_size: i32,
    /// The cap `max_size` is checked against; raise it deliberately.
    #[builder(default = MAX_CPU_NODES)]
    pub max_nodes_cap: i32,
    /// Extra node labels.
    #[builder(default, setter(fn transform<K: Into<String>, V: Into<String>>(labels: impl IntoIterator<Item = (K, V)>) -> BTreeMap<String, String> {
        cairn_aws::string_map(labels)
    }))]
    pub labels: BTreeMap<String, String>,
    /// Extra tags, added to the cost tags.
    #[builder(default, setter(fn transform<K: Into<String>, V: Into<String>>(tags: impl IntoIterator<Item = (K, V)>) -> BTreeMap<String, String> {
        cairn_aws::string_map(tags)
    }))]
    pub tags: BTreeMap<String, String>,
}

/// A CPU node group and its nodes' role.
#[derive(Debug, Clone)]
pub struct CpuNodePool {
    /// The component's URN.
    pub urn: Urn,
    /// The nodes' role (worker, CNI and read-only registry policies only).
    pub role: Role,
    /// The node group.
    pub node_group: NodeGroup,
}

impl ComponentArgs for CpuNodePoolArgs {
    type Component = CpuNodePool;
    const TYPE: &'static str = "cairn:ai:CpuNodePool";

    fn validate(&self, ctx: &Stack) -> Result<(), InvalidArgs> {
        if self.instance_types.is_empty() {
            return Err(InvalidArgs::new(
                "instance_types",
                "is empty",
                "list at least one instance type, e.g. m6i.2xlarge",
            ));
        }
        for (i, t) in self.instance_types.iter().enumerate() {
            if gpu_instance(t).is_ok() {
                return Err(InvalidArgs::new(
                    format!("instance_types[{i}]"),
                    format!("`{t}` is a GPU instance, billed as one while doing CPU work"),
                    "use a CPU type (m6i, c6i, r6i, ...), or a GpuNodePool for GPU work",
                ));
            }
            if !t.contains('.') {
                return Err(InvalidArgs::new(
                    format!("instance_types[{i}]"),
                    format!("`{t}` is not an instance type"),
                    "write it like m6i.2xlarge",
                ));
            }
        }
        checks::sizes(
            ("min_size", self.min_size),
            ("desired_size", Some(self.desired_size)),
            ("max_size", self.max_size),
            ("max_nodes_cap", self.max_nodes_cap),
            "CPU nodes",
        )?;
        check_cost_tags(ctx, &self.tags)
    }

    fn expand(self, scope: &Scope) -> Result<CpuNodePool, DeclareError> {
        let tags = cost_tags(scope, &self.tags);
        let role = node_role(scope, "CPU", &tags)?;
        let mut labels: BTreeMap<String, String> =
            [("cairn.dev/pool".to_owned(), scope.name().to_owned())].into_iter().collect();
        labels.extend(self.labels);
        let node_group = scope.resource(
            &scope.child_name("nodes"),
            NodeGroupArgs::builder()
                .cluster_name(self.cluster_name)
                .node_role_arn(role.arn.clone())
                .subnet_ids(self.subnet_ids)
                .instance_types(self.instance_types)
                .capacity_type(self.capacity_type)
                .ami_type(AmiType::Al2023X86_64Standard)
                .scaling(ScalingConfig {
                    min_size: self.min_size,
                    max_size: self.max_size,
                    desired_size: self.desired_size,
                })
                .labels(labels)
                .version(self.cluster_version)
                .tags(tags)
                .build(),
        )?;
        scope.output("node_group_name", &node_group.node_group_name);
        Ok(CpuNodePool { urn: scope.urn().clone(), role, node_group })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::ctx;

    #[test]
    fn gpu_types_are_refused_in_a_cpu_pool() {
        let args = CpuNodePoolArgs::builder()
            .cluster_name("c")
            .cluster_version("1.31")
            .subnet_ids(vec!["s"])
            .instance_types(["m6i.large", "g5.xlarge"])
            .build();
        let err = ctx("dev").component("cpu", args).err().unwrap().to_string();
        assert!(err.contains("`instance_types[1]`") && err.contains("GpuNodePool"), "{err}");
    }
}
