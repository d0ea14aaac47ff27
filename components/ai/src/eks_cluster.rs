//! An EKS cluster with its own least-privilege role, secrets encrypted with
//! its own KMS key, control-plane logging, a private API endpoint unless the
//! stack opens it, and the OIDC provider that IAM roles for service accounts need.

use std::collections::BTreeMap;

use cairn_aws::eks::ClusterLogType;
use cairn_aws::{
    Cluster, ClusterArgs, Key, KeyArgs, OpenIdConnectProvider, OpenIdConnectProviderArgs, PolicyDocument, Role,
    RoleArgs,
};
use cairn_core::{ComponentArgs, DeclareError, Input, InvalidArgs, Scope, Stack, Urn};
use typed_builder::TypedBuilder;

use crate::tags::{check_cost_tags, cost_tags};

/// Arguments of [`EksCluster`].
///
/// ```
/// use cairn_ai::EksClusterArgs;
/// let args = EksClusterArgs::builder().subnet_ids(vec!["subnet-a", "subnet-b"]).build();
/// assert!(!args.endpoint_public_access, "private unless opened");
/// ```
#[derive(Debug, Clone, TypedBuilder)]
pub struct EksClusterArgs {
    /// The subnets the control plane attaches to (at least two AZs on AWS).
    #[builder(setter(into))]
    pub subnet_ids: Input<Vec<String>>,
    /// The Kubernetes version.
    #[builder(default = "1.31".to_owned(), setter(into))]
    pub version: String,
    /// Open the API endpoint to the internet (only from `public_access_cidrs`). Off: the
    /// endpoint is reachable from inside the VPC only.
    #[builder(default = false)]
    pub endpoint_public_access: bool,
    /// Where the public endpoint may be reached from; required when it is open.
    #[builder(default, setter(transform = |cidrs: impl IntoIterator<Item = impl Into<String>>| cairn_aws::strings(cidrs)))]
    pub public_access_cidrs: Vec<String>,
    /// Control-plane logs sent to CloudWatch Logs (API, audit and authenticator unless set).
    #[builder(default = vec![ClusterLogType::Api, ClusterLogType::Audit, ClusterLogType::Authenticator])]
    pub log_types: Vec<ClusterLogType>,
    /// Extra tags, added to the cost tags.
    #[builder(default, setter(fn transform<K: Into<String>, V: Into<String>>(tags: impl IntoIterator<Item = (K, V)>) -> BTreeMap<String, String> {
        cairn_aws::string_map(tags)
    }))]
    pub tags: BTreeMap<String, String>,
}

/// An EKS cluster, the IAM role its control plane assumes, the KMS key its
/// secrets are encrypted with, and its IAM OIDC provider.
#[derive(Debug, Clone)]
pub struct EksCluster {
    /// The component's URN.
    pub urn: Urn,
    /// The control plane's role (only `AmazonEKSClusterPolicy`).
    pub role: Role,
    /// The key Kubernetes secrets are encrypted with (rotated yearly).
    pub secrets_key: Key,
    /// The cluster.
    pub cluster: Cluster,
    /// The IAM OIDC provider of the cluster's service account tokens.
    pub oidc_provider: OpenIdConnectProvider,
}

/// What components running on a cluster need to know of it. From an
/// [`EksCluster`] in the same program ([`EksCluster::info`]) or from another
/// stack's outputs (plain values).
#[derive(Debug, Clone)]
pub struct ClusterInfo {
    /// The cluster's name.
    pub name: Input<String>,
    /// Its Kubernetes version.
    pub version: Input<String>,
    /// The ARN of its IAM OIDC provider (the federated principal of IRSA trust policies).
    pub oidc_provider_arn: Input<String>,
    /// Its OIDC issuer without `https://` (the prefix of IRSA condition keys).
    pub oidc_issuer: Input<String>,
}

/// The stack outputs [`EksCluster::export`] writes and [`ClusterInfo::from_reference`] reads.
const CLUSTER_EXPORTS: [&str; 4] = ["cluster_name", "cluster_version", "oidc_provider_arn", "oidc_issuer"];

impl EksCluster {
    /// What other components need to know of the cluster.
    pub fn info(&self) -> ClusterInfo {
        ClusterInfo {
            name: self.cluster.name.clone().into(),
            version: self.cluster.version.clone().into(),
            oidc_provider_arn: self.oidc_provider.arn.clone().into(),
            oidc_issuer: self.oidc_provider.issuer.clone().into(),
        }
    }

    /// Exports what stacks running on the cluster read with [`ClusterInfo::from_reference`]:
    /// `cluster_name`, `cluster_version`, `oidc_provider_arn` and `oidc_issuer`.
    pub fn export(&self, ctx: &Stack) {
        let [name, version, arn, issuer] = CLUSTER_EXPORTS;
        ctx.export(name, &self.cluster.name);
        ctx.export(version, &self.cluster.version);
        ctx.export(arn, &self.oidc_provider.arn);
        ctx.export(issuer, &self.oidc_provider.issuer);
    }
}

impl ClusterInfo {
    /// The cluster another stack exported with [`EksCluster::export`].
    ///
    /// ```
    /// # use std::{collections::BTreeMap, sync::Arc};
    /// # use cairn_core::{Config, ProjectName, Stack, StackName, StackOutputs, Value};
    /// # struct Base;
    /// # impl StackOutputs for Base {
    /// #     fn outputs(&self, _: &ProjectName, _: &StackName) -> Result<Option<BTreeMap<String, Value>>, cairn_core::reference::OutputsError> {
    /// #         Ok(Some(["cluster_name", "cluster_version", "oidc_provider_arn", "oidc_issuer"]
    /// #             .map(|k| (k.to_owned(), Value::from(format!("the {k}")))).into_iter().collect()))
    /// #     }
    /// #     fn describe(&self) -> String { "memory".into() }
    /// # }
    /// # let ctx = Stack::new(StackName::new("dev").unwrap(), ProjectName::new("rt").unwrap(), Config::default())
    /// #     .with_stack_outputs(Arc::new(Base));
    /// let cluster = cairn_ai::ClusterInfo::from_reference(&ctx.stack_reference("ai-base")?)?;
    /// assert_eq!(cluster.name.value().map(String::as_str), Some("the cluster_name"));
    /// # Ok::<(), cairn_core::DeclareError>(())
    /// ```
    pub fn from_reference(base: &cairn_core::StackReference) -> Result<Self, DeclareError> {
        let [name, version, arn, issuer] = CLUSTER_EXPORTS;
        Ok(Self {
            name: base.require::<String>(name)?.into(),
            version: base.require::<String>(version)?.into(),
            oidc_provider_arn: base.require::<String>(arn)?.into(),
            oidc_issuer: base.require::<String>(issuer)?.into(),
        })
    }
}

impl ComponentArgs for EksClusterArgs {
    type Component = EksCluster;
    const TYPE: &'static str = "cairn:ai:EksCluster";

    fn validate(&self, ctx: &Stack) -> Result<(), InvalidArgs> {
        if self.endpoint_public_access && self.public_access_cidrs.is_empty() {
            return Err(InvalidArgs::new(
                "public_access_cidrs",
                "is empty while endpoint_public_access is on, which would open the API to the whole internet",
                "list the networks that may reach it (your VPN's CIDR), or [\"0.0.0.0/0\"] if you mean everyone",
            ));
        }
        if !self.endpoint_public_access && !self.public_access_cidrs.is_empty() {
            return Err(InvalidArgs::new(
                "public_access_cidrs",
                "is set but the endpoint is private",
                "set endpoint_public_access = true to open it, or drop public_access_cidrs",
            ));
        }
        if !self.log_types.contains(&ClusterLogType::Audit) {
            return Err(InvalidArgs::new(
                "log_types",
                "lacks the audit log",
                "keep ClusterLogType::Audit: who did what to the cluster must be on record",
            ));
        }
        check_cost_tags(ctx, &self.tags)
    }

    fn expand(self, scope: &Scope) -> Result<EksCluster, DeclareError> {
        let name = scope.name().to_owned();
        let tags = cost_tags(scope, &self.tags);
        let role = scope.resource(
            &scope.child_name("cluster-role"),
            RoleArgs::builder()
                .assume_role_policy(PolicyDocument::assume_role_for_service("eks.amazonaws.com"))
                .managed_policy_arns(["arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"])
                .description(format!("EKS control plane of {name}"))
                .tags(tags.clone())
                .build(),
        )?;
        let secrets_key = scope.resource(
            &scope.child_name("secrets-key"),
            KeyArgs::builder()
                .description(format!("Kubernetes secrets of EKS cluster {name}"))
                .tags(tags.clone())
                .build(),
        )?;
        let cluster = scope.resource(
            &name,
            ClusterArgs::builder()
                .role_arn(role.arn.clone())
                .subnet_ids(self.subnet_ids)
                .version(self.version)
                .endpoint_public_access(self.endpoint_public_access)
                .endpoint_private_access(true)
                .public_access_cidrs(self.public_access_cidrs)
                .enabled_cluster_log_types(self.log_types)
                .encryption_kms_key_arn(secrets_key.arn.clone())
                .tags(tags.clone())
                .build(),
        )?;
        let oidc_provider = scope.resource(
            &scope.child_name("oidc"),
            OpenIdConnectProviderArgs::builder()
                .url(cluster.oidc_issuer_url.clone())
                .client_ids(["sts.amazonaws.com"])
                .tags(tags)
                .build(),
        )?;
        scope.output("cluster_name", &cluster.name);
        scope.output("endpoint", &cluster.endpoint);
        scope.output("oidc_provider_arn", &oidc_provider.arn);
        Ok(EksCluster { urn: scope.urn().clone(), role, secrets_key, cluster, oidc_provider })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::ctx;

    #[test]
    fn a_private_encrypted_logged_cluster_with_its_oidc_provider() {
        let ctx = ctx("dev");
        ctx.component("ai", EksClusterArgs::builder().subnet_ids(vec!["a", "b"]).build()).unwrap();
        let d = ctx.finish();
        let cluster = d.resources.iter().find(|r| r.urn.resource_type().as_str() == "aws:eks:Cluster").unwrap();
        let j = cluster.inputs.to_json();
        assert_eq!(j["endpoint_public_access"], false);
        assert_eq!(j["enabled_cluster_log_types"], serde_json::json!(["api", "audit", "authenticator"]));
        assert!(j["encryption_kms_key_arn"].is_object(), "the key's ARN, an output: {j}");
        assert!(d.resources.iter().any(|r| r.urn.resource_type().as_str() == "aws:iam:OpenIdConnectProvider"));
    }

    #[test]
    fn an_open_endpoint_must_say_from_where() {
        let args = EksClusterArgs::builder().subnet_ids(vec!["a"]).endpoint_public_access(true).build();
        let err = ctx("dev").component("ai", args).err().unwrap().to_string();
        assert!(err.contains("`public_access_cidrs`") && err.contains("0.0.0.0/0"), "{err}");
    }
}
