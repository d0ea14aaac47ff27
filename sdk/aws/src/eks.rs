//! `aws:eks:Cluster` and `aws:eks:NodeGroup`: an EKS control plane and its
//! managed node groups.

use std::collections::BTreeMap;

use cairn_core::schema::TypedArgs;
use cairn_core::{CheckFailure, Input};
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
/// use cairn_aws::eks::ClusterLogType;
/// let cluster = ClusterArgs::builder()
///     .role_arn("arn:aws:iam::123456789012:role/eks")
///     .subnet_ids(vec!["subnet-a", "subnet-b"])
///     .version("1.31")
///     .public_access_cidrs(["203.0.113.0/24"])
///     .enabled_cluster_log_types(vec![ClusterLogType::Api, ClusterLogType::Audit])
///     .encryption_kms_key_arn("arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab")
///     .build();
/// assert_eq!(cluster.version.as_deref(), Some("1.31"));
/// assert!(cluster.endpoint_public_access && cluster.endpoint_private_access);
/// assert!(cluster.validate().is_empty());
/// ```
#[derive(Debug, Clone, Serialize, Deserialize, TypedBuilder, TypedArgs)]
#[args(
    doc = "An EKS control plane. Its name, role, subnets, security groups and secrets encryption key are fixed \
          at creation; the Kubernetes version is upgraded in place, and endpoint access, control plane logging \
          and tags are updated in place (one EKS update at a time, each awaited).",
    outputs = ClusterOutputs,
    auto_name(property = "name", max_len = MAX_CLUSTER_NAME)
)]
pub struct ClusterArgs {
    /// The cluster name; generated from the logical name when absent. Changing it replaces the cluster.
    #[builder(default, setter(into, strip_option))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[args(replace)]
    pub name: Option<Input<String>>,
    /// The ARN of the role the control plane assumes. Changing it replaces the cluster.
    #[builder(setter(into))]
    #[args(replace)]
    pub role_arn: Input<String>,
    /// The subnets of the control plane's network interfaces (at least two availability zones).
    /// Changing them replaces the cluster.
    #[builder(setter(into))]
    #[args(replace)]
    pub subnet_ids: Input<Vec<String>>,
    /// The Kubernetes version, e.g. `1.31`; EKS's default when absent. Raising it upgrades in place.
    #[builder(default, setter(into, strip_option))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Whether the Kubernetes API server endpoint is reachable from the internet (default true),
    /// from `public_access_cidrs` only when those are set. Updated in place.
    #[builder(default = true)]
    #[serde(default = "crate::default_true")]
    pub endpoint_public_access: bool,
    /// Whether the API server endpoint is reachable from inside the VPC, so that nodes talk to it
    /// without leaving the VPC (default true; EKS's own default is false). Updated in place.
    #[builder(default = true)]
    #[serde(default = "crate::default_true")]
    pub endpoint_private_access: bool,
    /// The IPv4 ranges allowed to reach the public endpoint; everywhere (`0.0.0.0/0`) when empty.
    /// Updated in place.
    #[builder(default, setter(fn transform(cidrs: impl IntoIterator<Item = impl Into<String>>) -> Vec<String> {
        crate::strings(cidrs)
    }))]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub public_access_cidrs: Vec<String>,
    /// The control plane logs exported to CloudWatch Logs; none when empty. Updated in place.
    #[builder(default, setter(into))]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub enabled_cluster_log_types: Vec<ClusterLogType>,
    /// The ARN of the KMS key that envelope-encrypts Kubernetes secrets; no envelope encryption
    /// when absent. EKS cannot change or remove it afterwards: changing it replaces the cluster.
    #[builder(default, setter(into, strip_option))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[args(replace)]
    pub encryption_kms_key_arn: Option<Input<String>>,
    /// Extra security groups for the control plane's network interfaces (EKS always adds its own
    /// cluster security group). Changing them replaces the cluster.
    #[builder(default, setter(into, strip_option))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[args(replace)]
    pub security_group_ids: Option<Input<Vec<String>>>,
    /// Tags.
    #[builder(default, setter(fn transform<K: Into<String>, V: Into<String>>(tags: impl IntoIterator<Item = (K, V)>) -> BTreeMap<String, String> {
        crate::string_map(tags)
    }))]
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

aws_enum! {
    /// A control plane log type EKS can export to CloudWatch Logs.
    ClusterLogType {
        /// The Kubernetes API server.
        Api = "api",
        /// The Kubernetes audit log.
        Audit = "audit",
        /// The AWS IAM authenticator.
        Authenticator = "authenticator",
        /// The controller manager.
        ControllerManager = "controllerManager",
        /// The scheduler.
        Scheduler = "scheduler",
    }
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
        /// The OpenID Connect issuer URL of the cluster's service account tokens (for IAM roles
        /// for service accounts: an `aws:iam:OpenIdConnectProvider`'s `url`).
        oidc_issuer_url: String,
        /// The security group EKS creates for the control plane and managed nodes; empty when
        /// EKS reports none.
        cluster_security_group_id: String,
    }
}

impl ClusterArgs {
    /// Checks what EKS would refuse later, with the fix in each message.
    pub fn validate(&self) -> Vec<CheckFailure> {
        let mut failures = Vec::new();
        check_name(self.name.as_ref(), "name", MAX_CLUSTER_NAME, &mut failures);
        if let Some(version) = &self.version {
            check_version(version, "version", &mut failures);
        }
        if !self.endpoint_public_access && !self.endpoint_private_access {
            failures.push(failure(
                "endpoint_private_access",
                "endpoint_public_access and endpoint_private_access are both false, so nothing could reach the \
                 Kubernetes API: set at least one of them to true",
            ));
        }
        if !self.public_access_cidrs.is_empty() && !self.endpoint_public_access {
            failures.push(failure(
                "public_access_cidrs",
                "public_access_cidrs is set but endpoint_public_access is false: set endpoint_public_access to true, \
                 or remove public_access_cidrs",
            ));
        }
        for (i, cidr) in self.public_access_cidrs.iter().enumerate() {
            if !is_ipv4_cidr(cidr) {
                failures.push(failure(
                    &format!("public_access_cidrs[{i}]"),
                    format!("`{cidr}` is not an IPv4 range: write it as ADDRESS/PREFIX, e.g. 203.0.113.0/24"),
                ));
            }
        }
        for (i, log) in self.enabled_cluster_log_types.iter().enumerate() {
            if self.enabled_cluster_log_types[..i].contains(log) {
                failures.push(failure(
                    &format!("enabled_cluster_log_types[{i}]"),
                    format!("`{log}` is listed twice: list each log type once"),
                ));
            }
        }
        if let Some(arn) = self.encryption_kms_key_arn.as_ref().and_then(Input::value)
            && !(arn.starts_with("arn:") && arn.contains(":kms:"))
        {
            failures.push(failure(
                "encryption_kms_key_arn",
                format!(
                    "`{arn}` is not a KMS key ARN: EKS takes arn:aws:kms:REGION:ACCOUNT:key/ID (a key's `arn` output), \
                     not a key ID"
                ),
            ));
        }
        if let Some(groups) = self.security_group_ids.as_ref().and_then(Input::value)
            && groups.len() > MAX_CLUSTER_SECURITY_GROUPS
        {
            failures.push(failure(
                "security_group_ids",
                format!("{} security groups are listed: EKS takes at most {MAX_CLUSTER_SECURITY_GROUPS}", groups.len()),
            ));
        }
        failures
    }
}

/// The most security groups EKS attaches to the control plane's interfaces.
const MAX_CLUSTER_SECURITY_GROUPS: usize = 5;

/// A Kubernetes version is `MAJOR.MINOR`, e.g. `1.31`.
fn check_version(version: &str, property: &str, failures: &mut Vec<CheckFailure>) {
    let numbers = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !version.split_once('.').is_some_and(|(major, minor)| numbers(major) && numbers(minor)) {
        failures
            .push(failure(property, format!("`{version}` is not a Kubernetes version: write MAJOR.MINOR, e.g. 1.31")));
    }
}

/// `a.b.c.d/n` with n at most 32.
fn is_ipv4_cidr(cidr: &str) -> bool {
    cidr.split_once('/').is_some_and(|(address, prefix)| {
        address.parse::<std::net::Ipv4Addr>().is_ok()
            && !prefix.is_empty()
            && prefix.bytes().all(|b| b.is_ascii_digit())
            && prefix.parse::<u8>().is_ok_and(|p| p <= 32)
    })
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
        /// Amazon Linux 2023 with NVIDIA drivers, Arm64 (Graviton GPU instances such as g5g).
        Al2023Arm64Nvidia = "AL2023_ARM_64_NVIDIA",
        /// Bottlerocket with NVIDIA drivers, Arm64.
        BottlerocketArm64Nvidia = "BOTTLEROCKET_ARM_64_NVIDIA",
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
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TypedBuilder, cairn_core::rust_code::RustLiteral,
)]
pub struct ScalingConfig {
    /// The fewest nodes (0 lets the group scale to zero).
    pub min_size: i32,
    /// The most nodes (at least 1).
    pub max_size: i32,
    /// The nodes wanted now, within `[min_size, max_size]`.
    pub desired_size: i32,
}

/// How many nodes an in-place node group update (a new version, new labels, ...) may take
/// out of service at once. EKS's default is one node.
///
/// In a program's arguments it is written `{"max_unavailable": 2}` or
/// `{"max_unavailable_percentage": 25}`, as in EKS's `updateConfig`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, cairn_core::rust_code::RustLiteral)]
#[serde(rename_all = "snake_case")]
pub enum NodeGroupUpdateConfig {
    /// At most this many nodes (1 to 100).
    MaxUnavailable(i32),
    /// At most this percentage of the nodes (1 to 100).
    MaxUnavailablePercentage(i32),
}

/// The most nodes (or percent of them) an update may take out at once.
const MAX_UNAVAILABLE: i32 = 100;

/// A Kubernetes taint put on every node of a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TypedBuilder, cairn_core::rust_code::RustLiteral)]
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
/// Pin `version` to the cluster's `version` output, as Terraform and Pulumi programs pin
/// theirs: when it is absent EKS starts the nodes on the cluster's version, but Cairn then
/// neither reports nor changes the nodes' version, so upgrading the cluster leaves them behind.
///
/// ```
/// use cairn_aws::{AmiType, CapacityType, NodeGroupArgs, ScalingConfig, Taint, TaintEffect};
/// use cairn_aws::eks::NodeGroupUpdateConfig;
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
///     .update_config(NodeGroupUpdateConfig::MaxUnavailablePercentage(25))
///     .version("1.31")
///     .build();
/// assert!(gpu.validate().is_empty());
/// ```
#[derive(Debug, Clone, Serialize, Deserialize, TypedBuilder, TypedArgs)]
#[args(
    doc = "An EKS managed node group. Scaling, labels, taints, the update budget, version and tags are updated \
          in place; the instance shape, image, capacity type, disk, subnets and role are fixed at creation. \
          Pin version to the cluster's version output (as Terraform and Pulumi programs do): when it is absent \
          EKS starts the nodes on the cluster's version, but Cairn then neither reports nor changes it, so \
          upgrading the cluster leaves the nodes behind. EKS only upgrades: lowering version fails.",
    outputs = NodeGroupOutputs,
    auto_name(property = "node_group_name", max_len = MAX_NODE_GROUP_NAME)
)]
pub struct NodeGroupArgs {
    /// The cluster the group belongs to. Changing it replaces the group.
    #[builder(setter(into))]
    #[args(replace)]
    pub cluster_name: Input<String>,
    /// The node group name; generated from the logical name when absent. Changing it replaces the group.
    #[builder(default, setter(into, strip_option))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[args(replace)]
    pub node_group_name: Option<Input<String>>,
    /// The ARN of the role the nodes assume. Changing it replaces the group.
    #[builder(setter(into))]
    #[args(replace)]
    pub node_role_arn: Input<String>,
    /// The subnets the nodes run in. Changing them replaces the group.
    #[builder(setter(into))]
    #[args(replace)]
    pub subnet_ids: Input<Vec<String>>,
    /// The EC2 instance types, e.g. `["g5.xlarge"]`. Changing them replaces the group.
    #[builder(setter(fn transform(types: impl IntoIterator<Item = impl Into<String>>) -> Vec<String> {
        crate::strings(types)
    }))]
    #[args(replace)]
    pub instance_types: Vec<String>,
    /// On-demand (the default) or spot. Changing it replaces the group.
    #[builder(default)]
    #[serde(default)]
    #[args(replace)]
    pub capacity_type: CapacityType,
    /// The machine image family. Changing it replaces the group.
    #[args(replace)]
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
    /// The root volume size in GiB; EKS's default (20) when absent, and then not reported.
    /// GPU images and model caches usually need more (e.g. 100). Changing it replaces the group.
    #[builder(default, setter(strip_option))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[args(replace)]
    pub disk_size: Option<i32>,
    /// How many nodes an update may take out at once; EKS's default (one node) when absent, and
    /// then not reported. Updated in place; removing it leaves the current setting.
    #[builder(default, setter(strip_option))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_config: Option<NodeGroupUpdateConfig>,
    /// The Kubernetes version: pin it to the cluster's `version` output. When absent, EKS starts
    /// the nodes on the cluster's version and Cairn does not track it afterwards. Raising it
    /// upgrades the nodes in place (after the cluster, when it is the cluster's output).
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
        let (property, value) = match self.update_config {
            Some(NodeGroupUpdateConfig::MaxUnavailable(n)) => ("update_config.max_unavailable", n),
            Some(NodeGroupUpdateConfig::MaxUnavailablePercentage(p)) => ("update_config.max_unavailable_percentage", p),
            None => ("", 1),
        };
        if !(1..=MAX_UNAVAILABLE).contains(&value) {
            failures.push(failure(
                property,
                format!(
                    "{property} ({value}) is outside 1 to {MAX_UNAVAILABLE}: set it between 1 and {MAX_UNAVAILABLE}"
                ),
            ));
        }
        if let Some(version) = self.version.as_ref().and_then(Input::value) {
            check_version(version, "version", &mut failures);
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
        assert!(cairn_provider_sdk::check_structure(<NodeGroupArgs as TypedArgs>::SCHEMA, &v).is_empty());
    }

    #[test]
    fn cluster_round_trips_and_accepts_unknown_inputs() {
        let args = ClusterArgs::builder().role_arn("arn:role").subnet_ids(vec!["subnet-a"]).build();
        let v = Value::from_serialize(&args).unwrap();
        assert_eq!(
            v.to_json(),
            json!({
                "role_arn": "arn:role", "subnet_ids": ["subnet-a"], "tags": {},
                "endpoint_public_access": true, "endpoint_private_access": true
            })
        );
        let back: ClusterArgs = v.deserialize_into().unwrap();
        assert_eq!(Value::from_serialize(&back).unwrap(), v);
        assert!(cairn_provider_sdk::check_structure(<ClusterArgs as TypedArgs>::SCHEMA, &v).is_empty());

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
    fn cluster_messages(args: &ClusterArgs) -> Vec<String> {
        args.validate().iter().map(|f| format!("{}: {}", f.property, f.reason)).collect()
    }

    fn cluster() -> ClusterArgs {
        ClusterArgs::builder().role_arn("arn:role").subnet_ids(vec!["subnet-a", "subnet-b"]).build()
    }

    #[test]
    fn cluster_extras_round_trip_in_their_declared_shape() {
        let args = ClusterArgs::builder()
            .role_arn("arn:role")
            .subnet_ids(vec!["subnet-a"])
            .endpoint_private_access(false)
            .public_access_cidrs(["203.0.113.0/24"])
            .enabled_cluster_log_types(vec![ClusterLogType::ControllerManager, ClusterLogType::Api])
            .encryption_kms_key_arn("arn:aws:kms:us-east-1:123456789012:key/k")
            .security_group_ids(vec!["sg-1"])
            .build();
        let v = Value::from_serialize(&args).unwrap();
        let j = v.to_json();
        assert_eq!(j["endpoint_private_access"], json!(false));
        assert_eq!(j["public_access_cidrs"], json!(["203.0.113.0/24"]));
        assert_eq!(j["enabled_cluster_log_types"], json!(["controllerManager", "api"]));
        assert_eq!(j["encryption_kms_key_arn"], json!("arn:aws:kms:us-east-1:123456789012:key/k"));
        assert_eq!(j["security_group_ids"], json!(["sg-1"]));
        let back: ClusterArgs = v.deserialize_into().unwrap();
        assert_eq!(Value::from_serialize(&back).unwrap(), v);
        assert!(cairn_provider_sdk::check_structure(<ClusterArgs as TypedArgs>::SCHEMA, &v).is_empty());
        assert!(args.validate().is_empty(), "{:?}", cluster_messages(&args));
        for t in ClusterLogType::ALL {
            assert_eq!(ClusterLogType::from_aws(t.as_str()), Some(*t));
        }

        // Inputs recorded before these properties existed read with the defaults.
        let old: ClusterArgs =
            Value::from_json(&json!({"role_arn": "arn:role", "subnet_ids": ["subnet-a"]})).deserialize_into().unwrap();
        assert!(old.endpoint_public_access && old.endpoint_private_access);
        assert!(old.public_access_cidrs.is_empty() && old.security_group_ids.is_none());
    }

    #[test]
    fn cluster_validation_names_the_property_and_the_fix() {
        assert!(cluster().validate().is_empty());

        let mut a = cluster();
        a.endpoint_public_access = false;
        a.endpoint_private_access = false;
        assert_eq!(
            cluster_messages(&a),
            ["endpoint_private_access: endpoint_public_access and endpoint_private_access are both false, so nothing \
              could reach the Kubernetes API: set at least one of them to true"]
        );

        let mut a = cluster();
        a.endpoint_public_access = false;
        a.public_access_cidrs = vec!["10.0.0.0/8".into()];
        let text = cluster_messages(&a);
        assert_eq!(text.len(), 1, "{text:?}");
        assert!(
            text[0].starts_with("public_access_cidrs: public_access_cidrs is set but endpoint_public_access is false")
        );

        let mut a = cluster();
        a.public_access_cidrs = vec!["10.0.0.0/8".into(), "10.0.0.0".into(), "10.0.0.0/33".into(), "::/0".into()];
        let text = cluster_messages(&a);
        assert_eq!(text.len(), 3, "{text:?}");
        assert!(text[0].starts_with("public_access_cidrs[1]: `10.0.0.0` is not an IPv4 range"), "{text:?}");
        assert!(text[1].starts_with("public_access_cidrs[2]: "), "{text:?}");
        assert!(text[2].starts_with("public_access_cidrs[3]: "), "{text:?}");

        let mut a = cluster();
        a.enabled_cluster_log_types = vec![ClusterLogType::Api, ClusterLogType::Audit, ClusterLogType::Api];
        a.encryption_kms_key_arn = Some(Input::Value("1234abcd-12ab".into()));
        a.security_group_ids = Some(Input::Value((1..=6).map(|i| format!("sg-{i}")).collect()));
        a.version = Some("latest".into());
        let text = cluster_messages(&a);
        assert_eq!(text.len(), 4, "{text:?}");
        assert_eq!(text[0], "version: `latest` is not a Kubernetes version: write MAJOR.MINOR, e.g. 1.31");
        assert_eq!(text[1], "enabled_cluster_log_types[2]: `api` is listed twice: list each log type once");
        assert!(text[2].starts_with("encryption_kms_key_arn: `1234abcd-12ab` is not a KMS key ARN"), "{text:?}");
        assert!(text[3].starts_with("security_group_ids: 6 security groups are listed: EKS takes at most 5"));

        // Unknown inputs (preview) are not judged.
        a = cluster();
        a.encryption_kms_key_arn = Some(Input::Unknown);
        a.security_group_ids = Some(Input::Unknown);
        assert!(a.validate().is_empty());
    }

    #[test]
    fn node_group_update_config_is_one_of_two_shapes_and_bounded() {
        let mut a = node_group();
        a.update_config = Some(NodeGroupUpdateConfig::MaxUnavailablePercentage(25));
        let v = Value::from_serialize(&a).unwrap();
        assert_eq!(v.to_json()["update_config"], json!({"max_unavailable_percentage": 25}));
        let back: NodeGroupArgs = v.deserialize_into().unwrap();
        assert_eq!(back.update_config, a.update_config);
        assert!(cairn_provider_sdk::check_structure(<NodeGroupArgs as TypedArgs>::SCHEMA, &v).is_empty());
        assert!(a.validate().is_empty());
        let count: NodeGroupUpdateConfig = Value::from_json(&json!({"max_unavailable": 2})).deserialize_into().unwrap();
        assert_eq!(count, NodeGroupUpdateConfig::MaxUnavailable(2));
        let both: Result<NodeGroupUpdateConfig, _> =
            Value::from_json(&json!({"max_unavailable": 2, "max_unavailable_percentage": 5})).deserialize_into();
        assert!(both.is_err(), "one or the other, as EKS requires");

        a.update_config = Some(NodeGroupUpdateConfig::MaxUnavailable(0));
        assert_eq!(
            messages(&a),
            ["update_config.max_unavailable: update_config.max_unavailable (0) is outside 1 to 100: \
              set it between 1 and 100"]
        );
        a.update_config = Some(NodeGroupUpdateConfig::MaxUnavailablePercentage(101));
        let text = messages(&a);
        assert!(text[0].starts_with("update_config.max_unavailable_percentage: "), "{text:?}");
    }

    #[test]
    fn node_group_version_is_optional_but_must_look_like_one() {
        let mut a = node_group();
        a.version = None;
        assert!(a.validate().is_empty(), "absent: EKS starts the nodes on the cluster's version");
        a.version = Some(Input::Unknown);
        assert!(a.validate().is_empty(), "the cluster's version output, not known in preview");
        a.version = Some(Input::Value("v1.31".into()));
        assert_eq!(messages(&a), ["version: `v1.31` is not a Kubernetes version: write MAJOR.MINOR, e.g. 1.31"]);
        a.version = Some(Input::Value("1.".into()));
        assert_eq!(messages(&a).len(), 1);
    }
}
