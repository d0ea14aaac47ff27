//! AI platform components.
//!
//! Each component is a component resource (it groups its children under its
//! URN) that expands to AWS resources with opinionated defaults: cost tags on
//! everything, least-privilege roles with only the AWS-managed policies the
//! service needs, GPU taints and labels, replica caps.
//!
//! - [`BaseNetwork`]: a VPC with public and private subnets per zone, an
//!   internet gateway and a NAT gateway.
//! - [`EksCluster`]: the cluster's IAM role and an EKS cluster.
//! - [`GpuNodePool`]: a node IAM role and a GPU node group (spot by default,
//!   tainted so only GPU workloads land on it, scaled to zero when idle).

mod eks_cluster;
mod gpu_node_pool;
mod network;
mod tags;

pub use eks_cluster::{EksCluster, EksClusterArgs};
pub use gpu_node_pool::{GpuNodePool, GpuNodePoolArgs, MAX_GPU_NODES, gpu_taint};
pub use network::{BaseNetwork, BaseNetworkArgs};
pub use tags::cost_tags;

/// A component that could not be declared.
#[derive(Debug, thiserror::Error)]
pub enum ComponentError {
    /// A child resource was refused.
    #[error(transparent)]
    Declare(#[from] cairn_core::DeclareError),
    /// The component's arguments are invalid.
    #[error("component {component}: {message}")]
    Invalid {
        /// The component's name.
        component: String,
        /// What is wrong and how to fix it.
        message: String,
    },
}
