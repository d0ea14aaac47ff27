//! A GPU node group: spot by default, tainted, scaled to zero when idle,
//! capped, on an NVIDIA node image matched to the instances' architecture.

use std::collections::BTreeMap;

use cairn_aws::{
    AmiType, CapacityType, NodeGroup, NodeGroupArgs, PolicyDocument, Role, RoleArgs, ScalingConfig, Taint, TaintEffect,
};
use cairn_core::{ComponentArgs, DeclareError, Input, InvalidArgs, Output, Scope, Stack, Urn};
use typed_builder::TypedBuilder;

use crate::checks;
use crate::gpu::{Arch, gpu_ami_arch, gpu_instance};
use crate::tags::{check_cost_tags, cost_tags};

/// The most nodes a pool may scale to unless the program raises the cap:
/// a runaway autoscaler on GPU instances is the costliest mistake there is.
pub const MAX_GPU_NODES: i32 = 16;

/// The managed policies a worker node needs, and nothing else.
pub(crate) const NODE_POLICIES: [&str; 3] = [
    "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
    "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
    "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
];

/// Declares the role of a pool's nodes, `<component>-node-role`: EC2 may
/// assume it, with [`NODE_POLICIES`] and nothing else.
pub(crate) fn node_role(scope: &Scope, kind: &str, tags: &BTreeMap<String, String>) -> Result<Role, DeclareError> {
    scope.resource(
        &scope.child_name("node-role"),
        RoleArgs::builder()
            .assume_role_policy(PolicyDocument::assume_role_for_service("ec2.amazonaws.com"))
            .managed_policy_arns(NODE_POLICIES)
            .description(format!("{kind} nodes of {}", scope.name()))
            .tags(tags.clone())
            .build(),
    )
}

/// Arguments of [`GpuNodePool`].
///
/// ```
/// use cairn_ai::GpuNodePoolArgs;
/// let args = GpuNodePoolArgs::builder()
///     .cluster_name("ai-dev")
///     .cluster_version("1.31")
///     .subnet_ids(vec!["subnet-a", "subnet-b"])
///     .instance_types(["g6.xlarge", "g5.xlarge"])
///     .max_size(4)
///     .build();
/// assert_eq!(args.max_nodes_cap, cairn_ai::MAX_GPU_NODES);
/// ```
#[derive(Debug, Clone, TypedBuilder)]
pub struct GpuNodePoolArgs {
    /// The cluster's name.
    #[builder(setter(into))]
    pub cluster_name: Input<String>,
    /// The cluster's Kubernetes version: nodes run the same.
    #[builder(setter(into))]
    pub cluster_version: Input<String>,
    /// The subnets the nodes run in (zonal placement: give one zone's subnets to keep a pool in it).
    #[builder(setter(into))]
    pub subnet_ids: Input<Vec<String>>,
    /// GPU instance types, most preferred first; each must have an NVIDIA GPU, all on one architecture.
    #[builder(default = vec!["g5.2xlarge".to_owned()], setter(transform = |types: impl IntoIterator<Item = impl Into<String>>| cairn_aws::strings(types)))]
    pub instance_types: Vec<String>,
    /// The node image: an NVIDIA one for the instances' architecture (Amazon Linux 2023 NVIDIA unless set).
    #[builder(default, setter(strip_option))]
    pub ami_type: Option<AmiType>,
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
    /// The cap `max_size` is checked against; raise it deliberately.
    #[builder(default = MAX_GPU_NODES)]
    pub max_nodes_cap: i32,
    /// Root disk size in GiB (model weights and images are large).
    #[builder(default = 100)]
    pub disk_size: i32,
    /// Extra node labels.
    #[builder(default, setter(fn transform<K: Into<String>, V: Into<String>>(labels: impl IntoIterator<Item = (K, V)>) -> BTreeMap<String, String> {
        cairn_aws::string_map(labels)
    }))]
    pub labels: BTreeMap<String, String>,
    /// Extra taints, beside the GPU taint every pool has.
    #[builder(default)]
    pub taints: Vec<Taint>,
    /// Extra tags, added to the cost tags.
    #[builder(default, setter(fn transform<K: Into<String>, V: Into<String>>(tags: impl IntoIterator<Item = (K, V)>) -> BTreeMap<String, String> {
        cairn_aws::string_map(tags)
    }))]
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
    /// The node label value that selects this pool (`cairn.dev/pool`).
    pub pool_label: String,
}

/// The taint that keeps non-GPU pods off GPU nodes.
pub fn gpu_taint() -> Taint {
    Taint { key: "nvidia.com/gpu".into(), value: Some("true".into()), effect: TaintEffect::NoSchedule }
}

impl GpuNodePoolArgs {
    /// The instances' architecture, once the types are checked.
    fn arch(&self) -> Result<Arch, InvalidArgs> {
        let first = self.instance_types.first().ok_or_else(|| {
            InvalidArgs::new("instance_types", "is empty", "list at least one GPU instance type, e.g. g5.2xlarge")
        })?;
        let arch = gpu_instance(first).map_err(|e| InvalidArgs::new("instance_types[0]", e, "pick another type"))?;
        for (i, t) in self.instance_types.iter().enumerate().skip(1) {
            let g = gpu_instance(t)
                .map_err(|e| InvalidArgs::new(format!("instance_types[{i}]"), e, "pick another type"))?;
            if g.family.arch != arch.family.arch {
                return Err(InvalidArgs::new(
                    format!("instance_types[{i}]"),
                    format!("`{t}` is {} but `{first}` is {}", g.family.arch.as_str(), arch.family.arch.as_str()),
                    "keep one architecture per pool: declare a second pool for the other",
                ));
            }
        }
        Ok(arch.family.arch)
    }
}

impl ComponentArgs for GpuNodePoolArgs {
    type Component = GpuNodePool;
    const TYPE: &'static str = "cairn:ai:GpuNodePool";

    fn validate(&self, ctx: &Stack) -> Result<(), InvalidArgs> {
        let arch = self.arch()?;
        if let Some(ami) = self.ami_type {
            match gpu_ami_arch(ami) {
                None => {
                    return Err(InvalidArgs::new(
                        "ami_type",
                        format!("{ami} has no NVIDIA driver, so the GPUs of {} would be idle", self.instance_types[0]),
                        format!("use {} (or leave ami_type unset)", arch.default_gpu_ami()),
                    ));
                }
                Some(a) if a != arch => {
                    return Err(InvalidArgs::new(
                        "ami_type",
                        format!("{ami} runs on {} but the instance types are {}", a.as_str(), arch.as_str()),
                        format!("use {} (or leave ami_type unset)", arch.default_gpu_ami()),
                    ));
                }
                Some(_) => {}
            }
        }
        checks::sizes(
            ("min_size", self.min_size),
            ("desired_size", Some(self.desired_size)),
            ("max_size", self.max_size),
            ("max_nodes_cap", self.max_nodes_cap),
            "GPU nodes",
        )?;
        if self.disk_size < 20 {
            return Err(InvalidArgs::new(
                "disk_size",
                format!("is {} GiB, too small for a GPU node image", self.disk_size),
                "give 20 GiB or more (the default is 100)",
            ));
        }
        check_cost_tags(ctx, &self.tags)
    }

    fn expand(self, scope: &Scope) -> Result<GpuNodePool, DeclareError> {
        let arch = self.arch().expect("validated");
        let tags = cost_tags(scope, &self.tags);
        let role = node_role(scope, "GPU", &tags)?;
        let pool_label = scope.name().to_owned();
        let mut labels: BTreeMap<String, String> = [
            ("cairn.dev/pool".to_owned(), pool_label.clone()),
            ("cairn.dev/accelerator".to_owned(), "nvidia".to_owned()),
        ]
        .into_iter()
        .collect();
        labels.extend(self.labels);
        let mut taints = vec![gpu_taint()];
        taints.extend(self.taints);
        let node_group = scope.resource(
            &scope.child_name("nodes"),
            NodeGroupArgs::builder()
                .cluster_name(self.cluster_name)
                .node_role_arn(role.arn.clone())
                .subnet_ids(self.subnet_ids)
                .instance_types(self.instance_types)
                .capacity_type(self.capacity_type)
                .ami_type(self.ami_type.unwrap_or(arch.default_gpu_ami()))
                .scaling(ScalingConfig {
                    min_size: self.min_size,
                    max_size: self.max_size,
                    desired_size: self.desired_size,
                })
                .disk_size(self.disk_size)
                .labels(labels)
                .taints(taints)
                .version(self.cluster_version)
                .tags(tags)
                .build(),
        )?;
        scope.output("node_group_name", &node_group.node_group_name);
        scope.output("node_role_arn", &role.arn);
        Ok(GpuNodePool { urn: scope.urn().clone(), role, node_group, pool_label })
    }
}

impl GpuNodePool {
    /// The node group's name.
    pub fn name(&self) -> &Output<String> {
        &self.node_group.node_group_name
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::ctx;

    fn args() -> GpuNodePoolArgs {
        GpuNodePoolArgs::builder().cluster_name("c").cluster_version("1.31").subnet_ids(vec!["s"]).build()
    }

    #[test]
    fn expands_to_a_tainted_spot_gpu_group_with_cost_tags() {
        let ctx = ctx("dev");
        let pool = ctx.component("gpu", args()).unwrap();
        let declared = ctx.finish();
        let types: Vec<&str> = declared.resources.iter().map(|r| r.urn.type_chain()).collect();
        assert_eq!(
            types,
            ["cairn:ai:GpuNodePool", "cairn:ai:GpuNodePool$aws:iam:Role", "cairn:ai:GpuNodePool$aws:eks:NodeGroup"]
        );
        let ng = &declared.resources[2];
        assert_eq!(ng.urn, pool.node_group.urn);
        let j = ng.inputs.to_json();
        assert_eq!(j["capacity_type"], "SPOT");
        assert_eq!(j["ami_type"], "AL2023_x86_64_NVIDIA");
        assert_eq!(j["taints"][0]["key"], "nvidia.com/gpu");
        assert_eq!(j["tags"]["team"], "ml-platform");
        assert_eq!(j["tags"]["environment"], "dev");
        assert!(ng.dependencies.contains(&pool.role.urn), "the group waits for its role");
    }

    #[test]
    fn invalid_arguments_name_the_field_and_the_fix() {
        let refused = |change: &dyn Fn(&mut GpuNodePoolArgs)| {
            let mut a = args();
            change(&mut a);
            ctx("dev").component("gpu", a).expect_err("refused").to_string()
        };
        let err = refused(&|a| a.max_size = MAX_GPU_NODES + 1);
        assert!(err.contains("component gpu (cairn:ai:GpuNodePool)") && err.contains("raise max_nodes_cap"), "{err}");
        let err = refused(&|a| a.instance_types = vec!["g5.xlarge".into(), "m5.large".into()]);
        assert!(err.contains("`instance_types[1]`") && err.contains("no NVIDIA GPU"), "{err}");
        let err = refused(&|a| a.ami_type = Some(AmiType::Al2023X86_64Standard));
        assert!(err.contains("`ami_type`") && err.contains("no NVIDIA driver"), "{err}");
        let err = refused(&|a| {
            a.instance_types = vec!["g5g.xlarge".into()];
            a.ami_type = Some(AmiType::Al2023X86_64Nvidia);
        });
        assert!(err.contains("runs on x86_64 but the instance types are arm64"), "{err}");
        let err = refused(&|a| a.instance_types = vec!["g5.xlarge".into(), "g5g.xlarge".into()]);
        assert!(err.contains("keep one architecture per pool"), "{err}");
        let err = refused(&|a| a.disk_size = 8);
        assert!(err.contains("`disk_size`"), "{err}");
    }

    #[test]
    fn arm_gpus_get_the_arm_nvidia_image() {
        let ctx = ctx("dev");
        let mut a = args();
        a.instance_types = vec!["g5g.2xlarge".into()];
        ctx.component("arm", a).unwrap();
        let d = ctx.finish();
        assert_eq!(d.resources[2].inputs.to_json()["ami_type"], "AL2023_ARM_64_NVIDIA");
    }
}
