//! Cairn's AWS resource types: typed arguments, outputs and schemas.
//!
//! Programs declare resources with these types; the `cairn-provider-aws`
//! plugin deserializes the same argument structs, so each type is defined
//! exactly once.
//!
//! Each module is one AWS service (`iam`, `s3`, `eks`, `ec2`, `kms`, `sqs`,
//! `logs`, `ecr`, `sagemaker`, `dynamodb`, `cloudwatch`, `amp`, `budgets`,
//! `secretsmanager`); each type is an argument struct whose schema is derived
//! (`#[derive(TypedArgs)]`) and a handle with typed outputs. [`SCHEMAS`]
//! lists every type; `docs/reference/aws.md` is generated from it.
//!
//! ```
//! use cairn_aws::{PolicyDocument, RoleArgs};
//! let args = RoleArgs::builder()
//!     .assume_role_policy(PolicyDocument::assume_role_for_service("eks.amazonaws.com"))
//!     .managed_policy_arns(["arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"])
//!     .build();
//! assert!(args.name.is_none(), "the provider fills an auto-name");
//! ```
//!
//! Every type with a physical name (role name, bucket name, ...) makes it
//! optional: when absent, the provider's Check fills `<logical name>-<7 hex>`
//! and keeps it stable across runs.

use cairn_core::schema::{ResourceSchema, TypedArgs};
use cairn_core::{CheckFailure, Input, PropertyPath};

/// Declares a closed enum whose serde form is the AWS API string, with
/// conversions both ways (the provider maps it to and from the SDK's enums).
macro_rules! aws_enum {
    (
        $(#[$meta:meta])*
        $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $aws:tt ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        pub enum $name {
            $( $(#[$vmeta])* #[serde(rename = $aws)] $variant, )+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The string the AWS API uses.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $( Self::$variant => $aws, )+
                }
            }

            /// Parses the string the AWS API uses; `None` for values Cairn does not model.
            pub fn from_aws(s: &str) -> Option<Self> {
                match s {
                    $( $aws => Some(Self::$variant), )+
                    _ => None,
                }
            }
        }

        impl cairn_core::rust_code::RustLiteral for $name {
            fn write_rust(&self, w: &mut cairn_core::rust_code::RustWriter, _: cairn_core::rust_code::Form) {
                w.path(module_path!(), stringify!($name));
                w.push(match self {
                    $( Self::$variant => concat!("::", stringify!($variant)), )+
                });
            }

            fn write_type(w: &mut cairn_core::rust_code::RustWriter) {
                w.path(module_path!(), stringify!($name));
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub mod amp;
pub mod budgets;
pub mod cloudwatch;
pub mod dynamodb;
pub mod ec2;
pub mod ecr;
pub mod eks;
pub mod iam;
pub mod iam_extras;
pub mod kms;
pub mod logs;
pub mod policy;
pub mod s3;
pub mod sagemaker;
pub mod secretsmanager;
pub mod sqs;

pub use ec2::{
    ConnectivityType, Eip, EipArgs, EipDomain, EipOutputs, InternetGateway, InternetGatewayArgs,
    InternetGatewayOutputs, NatGateway, NatGatewayArgs, NatGatewayOutputs, Route, RouteArgs, RouteOutputs, RouteTable,
    RouteTableArgs, RouteTableAssociation, RouteTableAssociationArgs, RouteTableAssociationOutputs, RouteTableOutputs,
    RuleProtocol, RuleType, SecurityGroup, SecurityGroupArgs, SecurityGroupOutputs, SecurityGroupRule,
    SecurityGroupRuleArgs, SecurityGroupRuleOutputs, Subnet, SubnetArgs, SubnetOutputs, Vpc, VpcArgs, VpcOutputs,
};
pub use eks::{
    AmiType, CapacityType, Cluster, ClusterArgs, ClusterOutputs, NodeGroup, NodeGroupArgs, NodeGroupOutputs,
    ScalingConfig, Taint, TaintEffect,
};
pub use iam::{Role, RoleArgs, RoleOutputs};
pub use policy::{Effect, PolicyDocument, Principal, Statement};
pub use s3::{Bucket, BucketArgs, BucketEncryption, BucketOutputs, PublicAccessBlock, SseAlgorithm};

pub use amp::{
    RuleGroupsNamespace, RuleGroupsNamespaceArgs, RuleGroupsNamespaceOutputs, Workspace, WorkspaceArgs,
    WorkspaceOutputs,
};
pub use budgets::{Budget, BudgetArgs, BudgetNotification, BudgetOutputs};
pub use cloudwatch::{MetricAlarm, MetricAlarmArgs, MetricAlarmOutputs};
pub use dynamodb::{KeyAttribute, Table, TableArgs, TableOutputs, TableSse};
pub use ecr::{LifecycleRule, Repository, RepositoryArgs, RepositoryOutputs};
pub use iam_extras::{
    InstanceProfile, InstanceProfileArgs, InstanceProfileOutputs, OpenIdConnectProvider, OpenIdConnectProviderArgs,
    OpenIdConnectProviderOutputs, Policy, PolicyArgs, PolicyOutputs, RolePolicy, RolePolicyArgs, RolePolicyAttachment,
    RolePolicyAttachmentArgs, RolePolicyAttachmentOutputs, RolePolicyOutputs,
};
pub use kms::{Alias, AliasArgs, AliasOutputs, Key, KeyArgs, KeyOutputs, KeySpec, KeyUsage};
pub use logs::{LogGroup, LogGroupArgs, LogGroupOutputs};
pub use sagemaker::{ModelPackageGroup, ModelPackageGroupArgs, ModelPackageGroupOutputs};
pub use secretsmanager::{Secret, SecretArgs, SecretOutputs};
pub use sqs::{Queue, QueueArgs, QueueOutputs, RedrivePolicy};

/// The schemas of every resource type in this package.
pub const SCHEMAS: &[&ResourceSchema] = &[
    iam::RoleArgs::SCHEMA,
    s3::BucketArgs::SCHEMA,
    eks::ClusterArgs::SCHEMA,
    eks::NodeGroupArgs::SCHEMA,
    ec2::VpcArgs::SCHEMA,
    ec2::SubnetArgs::SCHEMA,
    ec2::InternetGatewayArgs::SCHEMA,
    ec2::EipArgs::SCHEMA,
    ec2::NatGatewayArgs::SCHEMA,
    ec2::RouteTableArgs::SCHEMA,
    ec2::RouteArgs::SCHEMA,
    ec2::RouteTableAssociationArgs::SCHEMA,
    ec2::SecurityGroupArgs::SCHEMA,
    ec2::SecurityGroupRuleArgs::SCHEMA,
    iam_extras::PolicyArgs::SCHEMA,
    iam_extras::RolePolicyArgs::SCHEMA,
    iam_extras::RolePolicyAttachmentArgs::SCHEMA,
    iam_extras::InstanceProfileArgs::SCHEMA,
    iam_extras::OpenIdConnectProviderArgs::SCHEMA,
    kms::KeyArgs::SCHEMA,
    kms::AliasArgs::SCHEMA,
    sqs::QueueArgs::SCHEMA,
    logs::LogGroupArgs::SCHEMA,
    ecr::RepositoryArgs::SCHEMA,
    sagemaker::ModelPackageGroupArgs::SCHEMA,
    dynamodb::TableArgs::SCHEMA,
    cloudwatch::MetricAlarmArgs::SCHEMA,
    amp::WorkspaceArgs::SCHEMA,
    amp::RuleGroupsNamespaceArgs::SCHEMA,
    budgets::BudgetArgs::SCHEMA,
    secretsmanager::SecretArgs::SCHEMA,
];

/// The schema of the type `token` (e.g. `aws:eks:NodeGroup`), if this package has it.
///
/// ```
/// assert_eq!(cairn_aws::schema("aws:s3:Bucket").map(|s| s.token), Some("aws:s3:Bucket"));
/// assert!(cairn_aws::schema("aws:s3:Object").is_none());
/// ```
pub fn schema(token: &str) -> Option<&'static ResourceSchema> {
    SCHEMAS.iter().copied().find(|s| s.token == token)
}

/// Collects anything iterable of string-likes; the builders' list setters use
/// it so that `["a", "b"]` and a `Vec<String>` are both accepted. Component
/// builders use it too, so every list setter accepts the same things.
pub fn strings(items: impl IntoIterator<Item = impl Into<String>>) -> Vec<String> {
    items.into_iter().map(Into::into).collect()
}

/// Collects string pairs into a map (tags, labels): the one `tags` setter of
/// every resource and component builder.
pub fn string_map<K: Into<String>, V: Into<String>>(
    pairs: impl IntoIterator<Item = (K, V)>,
) -> std::collections::BTreeMap<String, String> {
    pairs.into_iter().map(|(k, v)| (k.into(), v.into())).collect()
}

/// Serde default for flags that are on unless turned off.
fn default_true() -> bool {
    true
}

/// A Check failure at `path` (written `a.b[0].c`).
fn failure(path: &str, reason: impl Into<String>) -> CheckFailure {
    CheckFailure { property: PropertyPath::parse(path), reason: reason.into() }
}

/// Checks a physical name the program set (unknown names are checked by AWS later).
fn check_name(name: Option<&Input<String>>, property: &str, max_len: usize, failures: &mut Vec<CheckFailure>) {
    if let Some(name) = name.and_then(Input::value)
        && (name.is_empty() || name.len() > max_len)
    {
        failures.push(failure(
            property,
            format!("`{name}` is {} characters long: use 1 to {max_len} characters", name.len()),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_schema_is_found_by_its_token_and_names_an_existing_property() {
        for s in SCHEMAS {
            assert_eq!(schema(s.token).map(|found| found.token), Some(s.token));
            if let Some(auto) = s.auto_name {
                assert!(s.property(auto.property).is_some(), "{}: auto-name property", s.token);
            }
            assert!(!s.doc.is_empty() && s.properties.iter().all(|p| !p.doc.is_empty()), "{}", s.token);
        }
    }
}
