//! An EKS cluster with its own least-privilege IAM role.

use std::collections::BTreeMap;

use cairn_aws::{Cluster, ClusterArgs, PolicyDocument, Role, RoleArgs};
use cairn_core::{Input, Stack, Urn};
use typed_builder::TypedBuilder;

use crate::ComponentError;
use crate::tags::cost_tags;

/// Arguments of [`EksCluster`].
#[derive(Debug, Clone, TypedBuilder)]
pub struct EksClusterArgs {
    /// The subnets the control plane attaches to (at least two AZs on AWS).
    #[builder(setter(into))]
    pub subnet_ids: Input<Vec<String>>,
    /// The Kubernetes version.
    #[builder(default = "1.31".to_owned(), setter(into))]
    pub version: String,
    /// Extra tags, added to the cost tags.
    #[builder(default)]
    pub tags: BTreeMap<String, String>,
}

/// An EKS cluster and the IAM role its control plane assumes.
#[derive(Debug, Clone)]
pub struct EksCluster {
    /// The component's URN.
    pub urn: Urn,
    /// The control plane's role (only `AmazonEKSClusterPolicy`).
    pub role: Role,
    /// The cluster.
    pub cluster: Cluster,
}

impl EksCluster {
    /// Declares the component `name` into `ctx`.
    pub fn new(ctx: &Stack, name: &str, args: EksClusterArgs) -> Result<Self, ComponentError> {
        let scope = ctx.component("cairn:ai:EksCluster", name)?;
        let urn = scope.parent().cloned().expect("a component scope has a parent");
        let tags = cost_tags(ctx, name, &args.tags);
        let role = scope.resource(
            &format!("{name}-cluster-role"),
            RoleArgs::builder()
                .assume_role_policy(PolicyDocument::assume_role_for_service("eks.amazonaws.com"))
                .managed_policy_arns(["arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"])
                .description(format!("EKS control plane of {name}"))
                .tags(tags.clone())
                .build(),
        )?;
        let cluster = scope.resource(
            name,
            ClusterArgs::builder()
                .role_arn(role.arn.clone())
                .subnet_ids(args.subnet_ids)
                .version(args.version)
                .tags(tags)
                .build(),
        )?;
        Ok(Self { urn, role, cluster })
    }
}
