//! `aws:eks:Cluster` and `aws:eks:NodeGroup`: an EKS control plane and its
//! managed node groups.

use std::collections::BTreeMap;

use cairn_core::schema::{AutoName, PropertySchema, ResourceSchema};
use cairn_core::{CheckFailure, CustomResource, Input};
use serde::{Deserialize, Serialize};
use typed_builder::TypedBuilder;

use crate::{check_name, failure};

/// The longest cluster name EKS accepts.
const MAX_CLUSTER_NAME: usize = 100;
/// The longest node group name EKS accepts.
const MAX_NODE_GROUP_NAME: usize = 63;

/// The arguments of an EKS cluster.
///
/// ```
/// use cairn_aws::ClusterArgs;
/// let cluster = ClusterArgs::builder()
///     .role_arn("arn:aws:iam::123456789012:role/eks")
///     .subnet_ids(vec!["subnet-a", "subnet-b"])
///     .version("1.31")
///     .build();
/// assert_eq!(cluster.version.as_deref(), Some("1.31"));
/// ```
#[derive(Debug, Clone, Serialize, Deserialize, TypedBuilder)]
pub struct ClusterArgs {
    /// The cluster name; generated from the logical name when absent. Changing it replaces the cluster.
    #[builder(default, setter(into, strip_option))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<Input<String>>,
    /// The ARN of the role the control plane assumes. Changing it replaces the cluster.
    #[builder(setter(into))]
    pub role_arn: Input<String>,
    /// The subnets of the control plane's network interfaces (at least two availability zones).
    /// Changing them replaces the cluster.
    #[builder(setter(into))]
    pub subnet_ids: Input<Vec<String>>,
    /// The Kubernetes version, e.g. `1.31`; EKS's default when absent. Raising it upgrades in place.
    #[builder(default, setter(into, strip_option))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Tags.
    #[builder(default, setter(fn transform<K: Into<String>, V: Into<String>>(tags: impl IntoIterator<Item = (K, V)>) -> BTreeMap<String, String> {
        crate::string_map(tags)
    }))]
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

cairn_core::resource! {
    /// An EKS cluster, as declared: its URN and typed outputs.
    Cluster, token = "aws:eks:Cluster", args = ClusterArgs, outputs = ClusterOutputs {
        /// The cluster name (what a node group's `cluster_name` takes).
        name: String,
        /// The cluster ARN.
        arn: String,
        /// The Kubernetes API server endpoint.
        endpoint: String,
        /// The Kubernetes version running.
        version: String,
    }
}

/// The schema of `aws:eks:Cluster`.
pub const CLUSTER_SCHEMA: ResourceSchema = ResourceSchema {
    token: <Cluster as CustomResource>::TYPE,
    doc: "An EKS control plane. Its name, role and subnets are fixed at creation; \
          the Kubernetes version is upgraded in place and tags are updated in place.",
    properties: &[
        PropertySchema::replace("name", "The cluster name; generated from the logical name when absent."),
        PropertySchema::replace("role_arn", "The ARN of the role the control plane assumes.").required(),
        PropertySchema::replace("subnet_ids", "The control plane's subnets, in at least two availability zones.")
            .required(),
        PropertySchema::in_place("version", "The Kubernetes version; EKS's default when absent."),
        PropertySchema::in_place("tags", "Tags."),
    ],
    auto_name: Some(AutoName { property: "name", max_len: MAX_CLUSTER_NAME, lowercase: false }),
    outputs: ClusterOutputs::FIELDS,
};

impl ClusterArgs {
    /// Checks what EKS would refuse later, with the fix in each message.
    pub fn validate(&self) -> Vec<CheckFailure> {
        let mut failures = Vec::new();
        check_name(self.name.as_ref(), "name", MAX_CLUSTER_NAME, &mut failures);
        failures
    }
}

aws_enum! {
    /// How node group instances are bought.
    #[derive(Default)]
    CapacityType {
        /// On-demand instances.
        #[default]
        OnDemand = "ON_DEMAND",
        /// Spot instances: cheaper, may be reclaimed.
        Spot = "SPOT",
    }
}

aws_enum! {
    /// The machine image family of a node group.
    AmiType {
        /// Amazon Linux 2, x86-64.
        Al2X86_64 = "AL2_x86_64",
        /// Amazon Linux 2 with NVIDIA drivers, x86-64.
        Al2X86_64Gpu = "AL2_x86_64_GPU",
        /// Amazon Linux 2, Arm64.
        Al2Arm64 = "AL2_ARM_64",
        /// Amazon Linux 2023, x86-64.
        Al2023X86_64Standard = "AL2023_x86_64_STANDARD",
        /// Amazon Linux 2023 with NVIDIA drivers, x86-64.
        Al2023X86_64Nvidia = "AL2023_x86_64_NVIDIA",
        /// Bottlerocket, x86-64.
        BottlerocketX86_64 = "BOTTLEROCKET_x86_64",
        /// Bottlerocket with NVIDIA drivers, x86-64.
        BottlerocketX86_64Nvidia = "BOTTLEROCKET_x86_64_NVIDIA",
    }
}

aws_enum! {
    /// What a taint does to pods that do not tolerate it.
    TaintEffect {
        /// Not scheduled on the node.
        NoSchedule = "NO_SCHEDULE",
        /// Not scheduled, and evicted if already running.
        NoExecute = "NO_EXECUTE",
        /// Scheduled elsewhere when possible.
        PreferNoSchedule = "PREFER_NO_SCHEDULE",
    }
}

/// The size bounds of a node group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TypedBuilder)]
pub struct ScalingConfig {
    /// The fewest nodes (0 lets the group scale to zero).
    pub min_size: i32,
    /// The most nodes (at least 1).
    pub max_size: i32,
    /// The nodes wanted now, within `[min_size, max_size]`.
    pub desired_size: i32,
}

/// A Kubernetes taint put on every node of a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TypedBuilder)]
pub struct Taint {
    /// The taint key, e.g. `nvidia.com/gpu`.
    #[builder(setter(into))]
    pub key: String,
    /// The taint value.
    #[builder(default, setter(into, strip_option))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// What the taint does.
    pub effect: TaintEffect,
}

/// The arguments of an EKS managed node group.
///
/// ```
/// use cairn_aws::{AmiType, CapacityType, NodeGroupArgs, ScalingConfig, Taint, TaintEffect};
/// let gpu = NodeGroupArgs::builder()
///     .cluster_name("ai-dev")
///     .node_role_arn("arn:aws:iam::123456789012:role/nodes")
///     .subnet_ids(vec!["subnet-a", "subnet-b"])
///     .instance_types(["g5.xlarge"])
///     .capacity_type(CapacityType::Spot)
///     .ami_type(AmiType::Al2023X86_64Nvidia)
///     .scaling(ScalingConfig { min_size: 0, max_size: 4, desired_size: 1 })
///     .labels([("workload", "gpu")])
///     .taints(vec![Taint::builder().key("nvidia.com/gpu").value("true").effect(TaintEffect::NoSchedule).build()])
///     .build();
/// assert!(gpu.validate().is_empty());
/// ```
#[derive(Debug, Clone, Serialize, Deserialize, TypedBuilder)]
pub struct NodeGroupArgs {
    /// The cluster the group belongs to. Changing it replaces the group.
    #[builder(setter(into))]
    pub cluster_name: Input<String>,
    /// The node group name; generated from the logical name when absent. Changing it replaces the group.
    #[builder(default, setter(into, strip_option))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_group_name: Option<Input<String>>,
    /// The ARN of the role the nodes assume. Changing it replaces the group.
    #[builder(setter(into))]
    pub node_role_arn: Input<String>,
    /// The subnets the nodes run in. Changing them replaces the group.
    #[builder(setter(into))]
    pub subnet_ids: Input<Vec<String>>,
    /// The EC2 instance types, e.g. `["g5.xlarge"]`. Changing them replaces the group.
    #[builder(setter(fn transform(types: impl IntoIterator<Item = impl Into<String>>) -> Vec<String> {
        crate::strings(types)
    }))]
    pub instance_types: Vec<String>,
    /// On-demand (the default) or spot. Changing it replaces the group.
    #[builder(default)]
    #[serde(default)]
    pub capacity_type: CapacityType,
    /// The machine image family. Changing it replaces the group.
    pub ami_type: AmiType,
    /// The size bounds, updated in place.
    pub scaling: ScalingConfig,
    /// Kubernetes labels on every node, updated in place.
    #[builder(default, setter(fn transform<K: Into<String>, V: Into<String>>(labels: impl IntoIterator<Item = (K, V)>) -> BTreeMap<String, String> {
        crate::string_map(labels)
    }))]
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Kubernetes taints on every node, updated in place.
    #[builder(default, setter(into))]
    #[serde(default)]
    pub taints: Vec<Taint>,
    /// The root volume size in GiB; EKS's default (20) when absent. Changing it replaces the group.
    #[builder(default, setter(strip_option))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk_size: Option<i32>,
    /// The Kubernetes version; the cluster's when absent. Raising it upgrades in place.
    #[builder(default, setter(into, strip_option))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<Input<String>>,
    /// Tags.
    #[builder(default, setter(fn transform<K: Into<String>, V: Into<String>>(tags: impl IntoIterator<Item = (K, V)>) -> BTreeMap<String, String> {
        crate::string_map(tags)
    }))]
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

cairn_core::resource! {
    /// An EKS managed node group, as declared: its URN and typed outputs.
    NodeGroup, token = "aws:eks:NodeGroup", args = NodeGroupArgs, outputs = NodeGroupOutputs {
        /// The cluster the group belongs to.
        cluster_name: String,
        /// The node group name.
        node_group_name: String,
        /// The node group ARN.
        arn: String,
        /// The status EKS reports, e.g. `ACTIVE`.
        status: String,
    }
}

/// The schema of `aws:eks:NodeGroup`.
pub const NODE_GROUP_SCHEMA: ResourceSchema = ResourceSchema {
    token: <NodeGroup as CustomResource>::TYPE,
    doc: "An EKS managed node group. Scaling, labels, taints, version and tags are updated in place; \
          the instance shape, image, capacity type, disk, subnets and role are fixed at creation.",
    properties: &[
        PropertySchema::replace("cluster_name", "The cluster the group belongs to.").required(),
        PropertySchema::replace("node_group_name", "The node group name; generated from the logical name when absent."),
        PropertySchema::replace("node_role_arn", "The ARN of the role the nodes assume.").required(),
        PropertySchema::replace("subnet_ids", "The subnets the nodes run in.").required(),
        PropertySchema::replace("instance_types", "The EC2 instance types, e.g. [\"g5.xlarge\"].").required(),
        PropertySchema::replace("capacity_type", "ON_DEMAND (default) or SPOT."),
        PropertySchema::replace("ami_type", "The machine image family, e.g. AL2023_x86_64_NVIDIA.").required(),
        PropertySchema::in_place("scaling", "min_size, max_size and desired_size.").required(),
        PropertySchema::in_place("labels", "Kubernetes labels on every node."),
        PropertySchema::in_place("taints", "Kubernetes taints on every node."),
        PropertySchema::replace("disk_size", "The root volume size in GiB; EKS's default when absent."),
        PropertySchema::in_place("version", "The Kubernetes version; the cluster's when absent."),
        PropertySchema::in_place("tags", "Tags."),
    ],
    auto_name: Some(AutoName { property: "node_group_name", max_len: MAX_NODE_GROUP_NAME, lowercase: false }),
    outputs: NodeGroupOutputs::FIELDS,
};

impl NodeGroupArgs {
    /// Checks the sizes and instance types, naming the property and the fix.
    pub fn validate(&self) -> Vec<CheckFailure> {
        let mut failures = Vec::new();
        check_name(self.node_group_name.as_ref(), "node_group_name", MAX_NODE_GROUP_NAME, &mut failures);
        let ScalingConfig { min_size: min, max_size: max, desired_size: desired } = self.scaling;
        if min < 0 {
            failures.push(failure(
                "scaling.min_size",
                format!("min_size ({min}) is negative: set scaling.min_size to 0 or more"),
            ));
        }
        if max < 1 {
            failures.push(failure(
                "scaling.max_size",
                format!("max_size ({max}) must be at least 1: set scaling.max_size >= 1"),
            ));
        }
        if min > max {
            failures.push(failure(
                "scaling.min_size",
                format!("min_size ({min}) is greater than max_size ({max}): set scaling.min_size <= scaling.max_size"),
            ));
        } else if !(min..=max).contains(&desired) {
            failures.push(failure(
                "scaling.desired_size",
                format!(
                    "desired_size ({desired}) is outside [min_size, max_size] = [{min}, {max}]: \
                     set scaling.desired_size between scaling.min_size and scaling.max_size"
                ),
            ));
        }
        if self.instance_types.is_empty() {
            failures.push(failure(
                "instance_types",
                "instance_types is empty: list at least one EC2 instance type, e.g. [\"m6i.large\"]",
            ));
        }
        if let Some(size) = self.disk_size.filter(|s| *s < 1) {
            failures.push(failure(
                "disk_size",
                format!("disk_size ({size}) must be at least 1 GiB: raise it or remove it"),
            ));
        }
        failures
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_core::Value;
    use serde_json::json;

    fn node_group() -> NodeGroupArgs {
        NodeGroupArgs::builder()
            .cluster_name("ai-dev")
            .node_role_arn("arn:aws:iam::123456789012:role/nodes")
            .subnet_ids(vec!["subnet-a", "subnet-b"])
            .instance_types(["g5.xlarge"])
            .ami_type(AmiType::Al2023X86_64Nvidia)
            .scaling(ScalingConfig { min_size: 0, max_size: 2, desired_size: 1 })
            .labels([("workload", "gpu")])
            .taints(vec![Taint::builder().key("nvidia.com/gpu").effect(TaintEffect::NoSchedule).build()])
            .disk_size(100)
            .version("1.31")
            .tags([("team", "ml")])
            .build()
    }

    #[test]
    fn node_group_round_trips_with_aws_enum_strings() {
        let v = Value::from_serialize(&node_group()).unwrap();
        let j = v.to_json();
        assert_eq!(j["capacity_type"], json!("ON_DEMAND"));
        assert_eq!(j["ami_type"], json!("AL2023_x86_64_NVIDIA"));
        assert_eq!(j["taints"], json!([{"key": "nvidia.com/gpu", "effect": "NO_SCHEDULE"}]));
        assert_eq!(j["scaling"], json!({"min_size": 0, "max_size": 2, "desired_size": 1}));
        let back: NodeGroupArgs = v.deserialize_into().unwrap();
        assert_eq!(Value::from_serialize(&back).unwrap(), v);
        assert!(NODE_GROUP_SCHEMA.check_structure(&v).is_empty());
    }

    #[test]
    fn cluster_round_trips_and_accepts_unknown_inputs() {
        let args = ClusterArgs::builder().role_arn("arn:role").subnet_ids(vec!["subnet-a"]).build();
        let v = Value::from_serialize(&args).unwrap();
        assert_eq!(v.to_json(), json!({"role_arn": "arn:role", "subnet_ids": ["subnet-a"], "tags": {}}));
        let back: ClusterArgs = v.deserialize_into().unwrap();
        assert_eq!(Value::from_serialize(&back).unwrap(), v);
        assert!(CLUSTER_SCHEMA.check_structure(&v).is_empty());

        let preview =
            Value::from_json(&json!({"role_arn": {"$cairn.unknown": true}, "subnet_ids": {"$cairn.unknown": true}}));
        let seen: ClusterArgs = preview.deserialize_into().unwrap();
        assert!(matches!((seen.role_arn, seen.subnet_ids), (Input::Unknown, Input::Unknown)));
    }

    #[test]
    fn enum_strings_parse_back() {
        for t in AmiType::ALL {
            assert_eq!(AmiType::from_aws(t.as_str()), Some(*t));
            assert_eq!(serde_json::to_value(t).unwrap(), json!(t.as_str()));
        }
        for t in TaintEffect::ALL {
            assert_eq!(TaintEffect::from_aws(t.as_str()), Some(*t));
        }
        assert_eq!(CapacityType::from_aws("SPOT"), Some(CapacityType::Spot));
        assert_eq!(AmiType::Al2X86_64Gpu.as_str(), "AL2_x86_64_GPU");
        assert_eq!(AmiType::BottlerocketX86_64Nvidia.as_str(), "BOTTLEROCKET_x86_64_NVIDIA");
        assert_eq!(AmiType::from_aws("CUSTOM"), None);
    }

    fn messages(args: &NodeGroupArgs) -> Vec<String> {
        args.validate().iter().map(|f| format!("{}: {}", f.property, f.reason)).collect()
    }

    #[test]
    fn validation_names_the_property_and_the_fix() {
        assert!(node_group().validate().is_empty());

        let mut a = node_group();
        a.scaling = ScalingConfig { min_size: 3, max_size: 2, desired_size: 2 };
        assert_eq!(
            messages(&a),
            ["scaling.min_size: min_size (3) is greater than max_size (2): set scaling.min_size <= scaling.max_size"]
        );

        a.scaling = ScalingConfig { min_size: 0, max_size: 4, desired_size: 5 };
        assert_eq!(
            messages(&a),
            ["scaling.desired_size: desired_size (5) is outside [min_size, max_size] = [0, 4]: \
              set scaling.desired_size between scaling.min_size and scaling.max_size"]
        );

        a.scaling = ScalingConfig { min_size: -1, max_size: 0, desired_size: 0 };
        a.instance_types.clear();
        let text = messages(&a);
        assert_eq!(text.len(), 3, "{text:?}");
        assert!(text[0].starts_with("scaling.min_size: min_size (-1) is negative"), "{text:?}");
        assert!(text[1].starts_with("scaling.max_size: max_size (0) must be at least 1"), "{text:?}");
        assert!(text[2].starts_with("instance_types: instance_types is empty"), "{text:?}");
    }
}
