//! The `aws:eks:*` types' EKS calls: clusters, and the node groups that run
//! on them (which share the cluster's tag and update-wait helpers).

pub(crate) mod cluster;
pub(crate) mod node_group;
