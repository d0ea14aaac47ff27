//! Cairn's AWS provider: the 31 `aws:*` resource types of `cairn-aws`
//! (`docs/reference/aws.md`), through aws-sdk-rust.
//!
//! The `cairn-provider-aws` binary serves [`AwsProvider`] to the engine; tests
//! can use it in-process through [`cairn_core::Provider`].
//!
//! What the schemas decide (structural checks, auto-names, diffs) comes from
//! the provider SDK (`cairn-provider-sdk`); each type's module holds only its
//! AWS calls. Modules mirror the AWS services: `ec2/`, `eks/`, `iam/`,
//! `kms/`, `s3/`, and one file per single-type service (`sqs`, `logs`,
//! `ecr`, `sagemaker`, `dynamodb`, `cloudwatch`, `amp`, `budgets`,
//! `secretsmanager`); `canned/` holds the tests with canned SDK responses.
//!
//! Configuration (the stack's `aws` provider settings), all optional:
//! `region` (else `AWS_REGION` / the profile), `endpoint` (else
//! `AWS_ENDPOINT_URL`, e.g. a local moto server) and `profile`.

use async_trait::async_trait;
use cairn_aws::{
    AliasArgs, BucketArgs, ClusterArgs, EipArgs, InstanceProfileArgs, InternetGatewayArgs, KeyArgs, LogGroupArgs,
    NatGatewayArgs, NodeGroupArgs, OpenIdConnectProviderArgs, PolicyArgs, QueueArgs, RoleArgs, RolePolicyArgs,
    RolePolicyAttachmentArgs, RouteArgs, RouteTableArgs, RouteTableAssociationArgs, SecurityGroupArgs,
    SecurityGroupRuleArgs, SubnetArgs, VpcArgs,
};
use cairn_aws::{
    BudgetArgs, MetricAlarmArgs, ModelPackageGroupArgs, RepositoryArgs, RuleGroupsNamespaceArgs, SecretArgs, TableArgs,
    WorkspaceArgs,
};
use cairn_core::{
    CheckRequest, CheckResponse, CreateRequest, CreateResponse, Declaration, DeclarationRequest, DeleteRequest,
    DiffRequest, DiffResponse, Provider, ProviderError, ReadRequest, ReadResponse, UpdateRequest, UpdateResponse, Urn,
    Value,
};
use cairn_provider_sdk::{ResourceHandler, find_handler};
use tokio::sync::OnceCell;

use crate::ec2::{
    eip, internet_gateway, nat_gateway, route, route_table, route_table_association, security_group,
    security_group_rule, subnet, vpc,
};
// `resource_handlers!` takes a module name: nested modules get one each.
use crate::amp::rule_groups as amp_rule_groups;
use crate::eks::{cluster as eks_cluster, node_group as eks_node_group};
use crate::iam::{
    attachment as iam_attachment, instance_profile as iam_instance_profile, oidc as iam_oidc, policy as iam_policy,
    role as iam_role, role_policy as iam_role_policy,
};
pub use crate::kms::KmsKeys;
use crate::kms::{alias as kms_alias, key as kms_key};
use crate::s3::bucket as s3_bucket;

mod amp;
mod budgets;
#[cfg(test)]
mod canned;
mod changes;
mod cloudwatch;
mod dynamodb;
mod ec2;
mod ecr;
mod eks;
mod iam;
mod kms;
mod logs;
mod s3;
mod sagemaker;
mod sdk;
mod secretsmanager;
mod settings;
mod sqs;
#[cfg(test)]
mod typed_checks;

/// The AWS clients, built once by `configure`.
#[derive(Debug)]
pub(crate) struct Clients {
    pub(crate) iam: aws_sdk_iam::Client,
    pub(crate) s3: aws_sdk_s3::Client,
    pub(crate) eks: aws_sdk_eks::Client,
    pub(crate) ec2: aws_sdk_ec2::Client,
    pub(crate) kms: aws_sdk_kms::Client,
    pub(crate) sqs: aws_sdk_sqs::Client,
    pub(crate) logs: aws_sdk_cloudwatchlogs::Client,
    pub(crate) ecr: aws_sdk_ecr::Client,
    pub(crate) sagemaker: aws_sdk_sagemaker::Client,
    pub(crate) dynamodb: aws_sdk_dynamodb::Client,
    pub(crate) cloudwatch: aws_sdk_cloudwatch::Client,
    pub(crate) amp: aws_sdk_amp::Client,
    pub(crate) budgets: aws_sdk_budgets::Client,
    pub(crate) secrets: aws_sdk_secretsmanager::Client,
    /// The caller's account (a budget's default `account_id`).
    pub(crate) sts: aws_sdk_sts::Client,
    /// The region the clients talk to (S3 needs it to place buckets).
    pub(crate) region: String,
    /// Tags every taggable resource gets (`default_tags`).
    default_tags: std::collections::BTreeMap<String, String>,
    /// Calls in flight per service (`concurrency`).
    limits: settings::Limits,
    /// How long create and delete wait for a resource, and how often they look.
    pub(crate) waits: sdk::Waits,
}

impl Clients {
    async fn connect(config: &Value) -> Result<Self, ProviderError> {
        let settings = settings::Settings::parse(config)?;
        let (sdk_config, region) = settings.sdk_config().await?;
        let mut s3 = aws_sdk_s3::config::Builder::from(&sdk_config);
        // Emulators such as moto serve every bucket on one host: `bucket.host` names would not resolve.
        if sdk_config.endpoint_url().is_some() || std::env::var_os("AWS_ENDPOINT_URL").is_some() {
            s3 = s3.force_path_style(true);
        }
        tracing::debug!(region = %region, endpoint = ?sdk_config.endpoint_url(), "aws provider configured");
        Ok(Self {
            iam: aws_sdk_iam::Client::new(&sdk_config),
            s3: aws_sdk_s3::Client::from_conf(s3.build()),
            eks: aws_sdk_eks::Client::new(&sdk_config),
            ec2: aws_sdk_ec2::Client::new(&sdk_config),
            kms: aws_sdk_kms::Client::new(&sdk_config),
            sqs: aws_sdk_sqs::Client::new(&sdk_config),
            logs: aws_sdk_cloudwatchlogs::Client::new(&sdk_config),
            ecr: aws_sdk_ecr::Client::new(&sdk_config),
            sagemaker: aws_sdk_sagemaker::Client::new(&sdk_config),
            dynamodb: aws_sdk_dynamodb::Client::new(&sdk_config),
            cloudwatch: aws_sdk_cloudwatch::Client::new(&sdk_config),
            amp: aws_sdk_amp::Client::new(&sdk_config),
            budgets: aws_sdk_budgets::Client::new(&sdk_config),
            secrets: aws_sdk_secretsmanager::Client::new(&sdk_config),
            sts: aws_sdk_sts::Client::new(&sdk_config),
            region,
            default_tags: settings.default_tags,
            limits: settings::Limits::new(settings.concurrency),
            waits: sdk::Waits::from_env(),
        })
    }
}

// One resource type: its schema and typed arguments (which drive Check and
// Diff) and its module's AWS calls.
cairn_provider_sdk::resource_handlers! {
    context = Clients;
    RoleType => iam_role, RoleArgs;
    BucketType => s3_bucket, BucketArgs;
    ClusterType => eks_cluster, ClusterArgs;
    NodeGroupType => eks_node_group, NodeGroupArgs;
    VpcType => vpc, VpcArgs;
    SubnetType => subnet, SubnetArgs;
    InternetGatewayType => internet_gateway, InternetGatewayArgs;
    EipType => eip, EipArgs;
    NatGatewayType => nat_gateway, NatGatewayArgs;
    RouteTableType => route_table, RouteTableArgs;
    RouteType => route, RouteArgs;
    RouteTableAssociationType => route_table_association, RouteTableAssociationArgs;
    SecurityGroupType => security_group, SecurityGroupArgs;
    SecurityGroupRuleType => security_group_rule, SecurityGroupRuleArgs;
    PolicyType => iam_policy, PolicyArgs;
    RolePolicyType => iam_role_policy, RolePolicyArgs;
    RolePolicyAttachmentType => iam_attachment, RolePolicyAttachmentArgs;
    InstanceProfileType => iam_instance_profile, InstanceProfileArgs;
    OpenIdConnectProviderType => iam_oidc, OpenIdConnectProviderArgs;
    KmsKeyType => kms_key, KeyArgs;
    KmsAliasType => kms_alias, AliasArgs;
    QueueType => sqs, QueueArgs;
    LogGroupType => logs, LogGroupArgs;
    RepositoryType => ecr, RepositoryArgs;
    ModelPackageGroupType => sagemaker, ModelPackageGroupArgs;
    TableType => dynamodb, TableArgs;
    MetricAlarmType => cloudwatch, MetricAlarmArgs;
    WorkspaceType => amp, WorkspaceArgs;
    RuleGroupsNamespaceType => amp_rule_groups, RuleGroupsNamespaceArgs;
    BudgetType => budgets, BudgetArgs;
    SecretType => secretsmanager, SecretArgs;
}

/// The resource type of `urn`.
/// The handler of the type `urn` names.
fn type_of(urn: &Urn) -> Result<&'static dyn ResourceHandler<Clients>, ProviderError> {
    find_handler("aws", HANDLERS, urn)
}

/// The AWS provider. Call [`Provider::configure`] before anything else.
#[derive(Debug, Default)]
pub struct AwsProvider {
    clients: OnceCell<Clients>,
}

impl AwsProvider {
    /// An unconfigured provider.
    pub fn new() -> Self {
        Self::default()
    }

    fn clients(&self) -> Result<&Clients, ProviderError> {
        self.clients
            .get()
            .ok_or_else(|| ProviderError::internal("the aws provider was used before `configure` was called"))
    }
}

#[async_trait]
impl Provider for AwsProvider {
    fn version(&self) -> String {
        env!("CARGO_PKG_VERSION").to_owned()
    }

    async fn configure(&self, config: Value) -> Result<(), ProviderError> {
        let clients = Clients::connect(&config).await?;
        if self.clients.set(clients).is_err() {
            tracing::warn!("the aws provider was configured twice; keeping the first configuration");
        }
        Ok(())
    }

    async fn check(&self, mut req: CheckRequest) -> Result<CheckResponse, ProviderError> {
        let ty = type_of(&req.urn)?;
        if let Some(c) = self.clients.get()
            && ty.schema().property("tags").is_some()
        {
            settings::merge_default_tags(&mut req.news, &c.default_tags);
        }
        Ok(ty.check(req))
    }

    async fn diff(&self, req: DiffRequest) -> Result<DiffResponse, ProviderError> {
        Ok(type_of(&req.urn)?.diff(&req))
    }

    async fn create(&self, req: CreateRequest) -> Result<CreateResponse, ProviderError> {
        let (ty, c) = (type_of(&req.urn)?, self.clients()?);
        let _slot = c.limits.permit(&service_of(&req.urn)).await;
        ty.create(c, req).await
    }

    async fn read(&self, req: ReadRequest) -> Result<Option<ReadResponse>, ProviderError> {
        let (ty, c) = (type_of(&req.urn)?, self.clients()?);
        let _slot = c.limits.permit(&service_of(&req.urn)).await;
        ty.read(c, req).await
    }

    async fn update(&self, req: UpdateRequest) -> Result<UpdateResponse, ProviderError> {
        let (ty, c) = (type_of(&req.urn)?, self.clients()?);
        let _slot = c.limits.permit(&service_of(&req.urn)).await;
        ty.update(c, req).await
    }

    async fn delete(&self, req: DeleteRequest) -> Result<(), ProviderError> {
        let (ty, c) = (type_of(&req.urn)?, self.clients()?);
        let _slot = c.limits.permit(&service_of(&req.urn)).await;
        ty.delete(c, req).await
    }

    /// The code names the types as a program reaches them: through `cairn::aws`.
    async fn declaration(&self, req: DeclarationRequest) -> Result<Declaration, ProviderError> {
        let mut declaration = type_of(&req.urn)?.declaration(&req.inputs)?;
        for path in &mut declaration.uses {
            if let Some(rest) = path.strip_prefix("cairn_aws::") {
                *path = format!("cairn::aws::{rest}");
            }
        }
        Ok(declaration)
    }
}

/// The AWS service of a resource type: `iam` for `aws:iam:Role`.
fn service_of(urn: &Urn) -> String {
    urn.resource_type().as_str().split(':').nth(1).unwrap_or("default").to_owned()
}

/// Opens `s3://BUCKET/PREFIX` state stores for the engine, configured like
/// the provider (region, endpoint, profile, assumed role), so programs keep
/// state in S3 without linking the AWS SDK.
pub struct S3Backends;

#[async_trait::async_trait]
impl cairn_plugin::BackendOpener for S3Backends {
    async fn open(
        &self,
        url: &str,
        config: Value,
    ) -> Result<Box<dyn cairn_state::StateStore>, cairn_state::StateError> {
        let bad = |e: ProviderError| cairn_state::StateError::BadUrl { url: url.to_owned(), reason: e.message };
        let (sdk_config, _) = settings::Settings::parse(&config).map_err(bad)?.sdk_config().await.map_err(bad)?;
        let store = cairn_state_s3::S3Store::from_sdk_config(url, &sdk_config)?;
        Ok(Box::new(store))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_core::{ErrorCode, ProjectName, ResourceType, StackName};

    fn urn(ty: &str) -> Urn {
        let (s, p) = (StackName::new("dev").unwrap(), ProjectName::new("ai").unwrap());
        Urn::new(&s, &p, None, &ResourceType::new(ty).unwrap(), "x").unwrap()
    }

    #[test]
    fn every_schema_has_a_kind_and_unknown_types_are_named() {
        for s in cairn_aws::SCHEMAS {
            assert_eq!(type_of(&urn(s.token)).unwrap().schema().token, s.token);
        }
        assert_eq!(HANDLERS.len(), cairn_aws::SCHEMAS.len(), "every schema has a type and the other way round");
        let err = type_of(&urn("aws:sns:Topic")).err().unwrap();
        assert_eq!(err.code, ErrorCode::InvalidArgument);
        assert!(err.message.contains("`aws:sns:Topic`") && err.message.contains("aws:eks:NodeGroup"), "{err}");
    }

    #[tokio::test]
    async fn a_wildcard_action_is_allowed_but_warned_about_naming_the_statement() {
        use cairn_aws::policy::{PolicyDocument, Statement};
        let policy = PolicyDocument::builder()
            .statement(vec![
                Statement::allow(["s3:GetObject"], ["arn:aws:s3:::models/*"]),
                Statement::allow(["s3:*"], ["*"]),
            ])
            .build();
        for (ty, args) in [
            (
                "aws:iam:Role",
                Value::from_serialize(
                    &RoleArgs::builder()
                        .assume_role_policy(PolicyDocument::assume_role_for_service("ec2.amazonaws.com"))
                        .inline_policies([("models", policy.clone())])
                        .build(),
                )
                .unwrap(),
            ),
            ("aws:iam:Policy", Value::from_serialize(&PolicyArgs::builder().policy(policy.clone()).build()).unwrap()),
        ] {
            let checked =
                AwsProvider::new().check(CheckRequest { urn: urn(ty), olds: None, news: args }).await.unwrap();
            assert!(checked.failures.is_empty(), "representable: {:?}", checked.failures);
            assert_eq!(checked.warnings.len(), 1, "{ty}: {:?}", checked.warnings);
            let w = &checked.warnings[0];
            assert!(w.property.to_string().ends_with("statement[1]"), "{ty}: names the statement: {w:?}");
            assert!(w.reason.contains("s3:*"), "{ty}: {w:?}");
        }
    }

    #[test]
    fn calls_are_limited_per_service() {
        assert_eq!(service_of(&urn("aws:eks:NodeGroup")), "eks");
        assert_eq!(service_of(&urn("aws:iam:Role")), "iam");
    }
}
