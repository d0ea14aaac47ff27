//! The built-in AI platform pack: the rules AI infrastructure most often
//! breaks (untagged GPU spend, unbounded node groups, on-demand training,
//! public buckets, wildcard IAM, public clusters in production).

use cairn_aws::policy::{Effect, PolicyDocument, PolicyDocuments, Principal};
use cairn_aws::{BucketArgs, ClusterArgs, KeyArgs, NodeGroupArgs, PolicyArgs, RoleArgs, RolePolicyArgs};
use cairn_core::PropertyPath;
use cairn_engine::Op;

use crate::document::ResourceDoc;
use crate::policy::{Finding, Level, Policy, PolicyContext};

/// Every policy of the pack, each once.
pub fn policies() -> Vec<Box<dyn Policy>> {
    vec![
        Box::new(RequiredTags),
        Box::new(GpuInstanceTypes),
        Box::new(NodeGroupCap),
        Box::new(TrainingOnSpot),
        Box::new(InferenceScalesToZero),
        Box::new(BucketPublicAccessBlock),
        Box::new(BucketEncryption),
        Box::new(KmsOnDataStores),
        Box::new(NoWildcardAction),
        Box::new(NoWildcardPrincipal),
        Box::new(EksPrivateEndpoint),
        Box::new(EksSecretsEncryption),
        Box::new(Naming),
    ]
}

/// The instance families with NVIDIA GPUs (or other accelerators) that the allow-list governs.
const GPU_FAMILIES: &[&str] =
    &["g4dn", "g4ad", "g5", "g5g", "g6", "g6e", "gr6", "p3", "p3dn", "p4d", "p4de", "p5", "p5e", "p5en"];

/// True for a GPU instance type (`g5.xlarge`).
pub fn is_gpu_instance(instance_type: &str) -> bool {
    instance_type.split_once('.').is_some_and(|(family, _)| GPU_FAMILIES.contains(&family))
}

/// Every taggable resource carries the required tags.
struct RequiredTags;

impl Policy for RequiredTags {
    fn id(&self) -> &'static str {
        "ai/required-tags"
    }
    fn description(&self) -> &'static str {
        "Every taggable resource carries the tags cost reports group by (team, cost-center, environment)."
    }
    fn default_level(&self, _: &PolicyContext) -> Level {
        Level::Mandatory
    }
    fn check(&self, r: &ResourceDoc, ctx: &PolicyContext) -> Vec<Finding> {
        let taggable = cairn_aws::schema(r.type_token()).is_some_and(|s| s.property("tags").is_some());
        if !taggable {
            return Vec::new();
        }
        let tags = r.new.get("tags");
        let missing: Vec<&str> = ctx
            .settings
            .required_tags
            .iter()
            .map(String::as_str)
            .filter(|tag| tags.and_then(|t| t.get(tag)).is_none_or(|v| v.as_str() == Some("")))
            .collect();
        if missing.is_empty() {
            return Vec::new();
        }
        let list = missing.iter().map(|t| format!("`{t}`")).collect::<Vec<_>>().join(", ");
        vec![Finding::new(
            "tags",
            format!("has no {list} tag{}", if missing.len() == 1 { "" } else { "s" }),
            format!(
                "set {list} under [tags] in the stack's config (components put the stack's tags on everything), or in \
                 the resource's tags"
            ),
        )]
    }
}

/// Node groups use GPU instance types from the allow-list only.
struct GpuInstanceTypes;

impl Policy for GpuInstanceTypes {
    fn id(&self) -> &'static str {
        "ai/gpu-instance-types"
    }
    fn description(&self) -> &'static str {
        "Node groups use GPU instance types from the allow-list only (settings.allowed_gpu_instance_types)."
    }
    fn default_level(&self, _: &PolicyContext) -> Level {
        Level::Mandatory
    }
    fn check(&self, r: &ResourceDoc, ctx: &PolicyContext) -> Vec<Finding> {
        let Some(ng) = r.args::<NodeGroupArgs>() else { return Vec::new() };
        let allowed = &ctx.settings.allowed_gpu_instance_types;
        ng.instance_types
            .iter()
            .enumerate()
            .filter(|(_, t)| is_gpu_instance(t) && !ctx.settings.gpu_allowed(t))
            .map(|(i, t)| {
                Finding::new(
                    format!("instance_types[{i}]"),
                    format!("GPU instance type `{t}` is not allowed"),
                    format!(
                        "use one of {}, or add it to [policy.settings] allowed_gpu_instance_types",
                        allowed.join(", ")
                    ),
                )
            })
            .collect()
    }
}

/// Node groups grow to a bounded size.
struct NodeGroupCap;

impl Policy for NodeGroupCap {
    fn id(&self) -> &'static str {
        "ai/node-group-cap"
    }
    fn description(&self) -> &'static str {
        "A node group's scaling.max_size stays within settings.max_nodes_per_group."
    }
    fn default_level(&self, _: &PolicyContext) -> Level {
        Level::Mandatory
    }
    fn check(&self, r: &ResourceDoc, ctx: &PolicyContext) -> Vec<Finding> {
        let Some(ng) = r.args::<NodeGroupArgs>() else { return Vec::new() };
        let cap = ctx.settings.max_nodes_per_group;
        if ng.scaling.max_size <= cap {
            return Vec::new();
        }
        let gpu = if ng.instance_types.iter().any(|t| is_gpu_instance(t)) { "GPU " } else { "" };
        vec![Finding::new(
            "scaling.max_size",
            format!("may grow to {} {gpu}nodes; the cap is {cap}", ng.scaling.max_size),
            format!(
                "lower scaling.max_size to {cap} or less, or raise [policy.settings] max_nodes_per_group deliberately"
            ),
        )]
    }
}

/// The workload label a node group carries (`cairn.dev/workload`), or the
/// component it is part of says.
fn workload(r: &ResourceDoc, ng: &NodeGroupArgs) -> Option<&'static str> {
    let components = r.component_types();
    let labelled = ng.labels.get("cairn.dev/workload").map(String::as_str);
    if labelled == Some("training") || components.contains(&"cairn:ai:TrainingPipeline") {
        Some("training")
    } else if labelled == Some("inference") || components.contains(&"cairn:ai:InferenceService") {
        Some("inference")
    } else {
        None
    }
}

/// Training nodes are spot instances.
struct TrainingOnSpot;

impl Policy for TrainingOnSpot {
    fn id(&self) -> &'static str {
        "ai/training-on-spot"
    }
    fn description(&self) -> &'static str {
        "Training node groups run on spot capacity (checkpointed work survives reclaims, at a fraction of the price)."
    }
    fn default_level(&self, _: &PolicyContext) -> Level {
        Level::Mandatory
    }
    fn check(&self, r: &ResourceDoc, _: &PolicyContext) -> Vec<Finding> {
        let Some(ng) = r.args::<NodeGroupArgs>() else { return Vec::new() };
        if workload(r, &ng) != Some("training") || ng.capacity_type == cairn_aws::CapacityType::Spot {
            return Vec::new();
        }
        vec![Finding::new(
            "capacity_type",
            "training nodes are on-demand",
            "set capacity_type to CapacityType::Spot (the training pipeline's default)",
        )]
    }
}

/// Inference node pools scale to zero outside production.
struct InferenceScalesToZero;

impl Policy for InferenceScalesToZero {
    fn id(&self) -> &'static str {
        "ai/inference-scale-to-zero"
    }
    fn description(&self) -> &'static str {
        "Outside production, inference node pools scale to zero when idle (scaling.min_size = 0)."
    }
    fn default_level(&self, ctx: &PolicyContext) -> Level {
        if ctx.stack.is_prod() { Level::Disabled } else { Level::Mandatory }
    }
    fn check(&self, r: &ResourceDoc, _: &PolicyContext) -> Vec<Finding> {
        let Some(ng) = r.args::<NodeGroupArgs>() else { return Vec::new() };
        if workload(r, &ng) != Some("inference") || ng.scaling.min_size == 0 {
            return Vec::new();
        }
        vec![Finding::new(
            "scaling.min_size",
            format!("keeps {} idle inference node(s) outside production", ng.scaling.min_size),
            "set min_replicas (and the pool's min_size) to 0 outside prod",
        )]
    }
}

/// Buckets block public access.
struct BucketPublicAccessBlock;

impl Policy for BucketPublicAccessBlock {
    fn id(&self) -> &'static str {
        "ai/s3-public-access-block"
    }
    fn description(&self) -> &'static str {
        "Buckets block every kind of public access (models and training data are never public)."
    }
    fn default_level(&self, _: &PolicyContext) -> Level {
        Level::Mandatory
    }
    fn check(&self, r: &ResourceDoc, _: &PolicyContext) -> Vec<Finding> {
        let Some(b) = r.args::<BucketArgs>() else { return Vec::new() };
        let block = &b.public_access_block;
        [
            ("block_public_acls", block.block_public_acls),
            ("ignore_public_acls", block.ignore_public_acls),
            ("block_public_policy", block.block_public_policy),
            ("restrict_public_buckets", block.restrict_public_buckets),
        ]
        .into_iter()
        .filter(|(_, on)| !on)
        .map(|(field, _)| {
            Finding::new(
                format!("public_access_block.{field}"),
                format!("`{field}` is off: the bucket can be made public"),
                format!("set public_access_block.{field} to true (the default)"),
            )
        })
        .collect()
    }
}

/// Buckets are encrypted at rest.
struct BucketEncryption;

impl Policy for BucketEncryption {
    fn id(&self) -> &'static str {
        "ai/s3-encryption"
    }
    fn description(&self) -> &'static str {
        "Buckets encrypt objects at rest (SSE-S3 or SSE-KMS)."
    }
    fn default_level(&self, _: &PolicyContext) -> Level {
        Level::Mandatory
    }
    fn check(&self, r: &ResourceDoc, _: &PolicyContext) -> Vec<Finding> {
        // Cairn's bucket arguments always carry encryption; inputs from elsewhere may not.
        let encrypted = r
            .new
            .get("encryption")
            .and_then(|e| e.get("algorithm"))
            .is_some_and(|a| !matches!(a, cairn_core::Value::Null));
        if r.type_token() != "aws:s3:Bucket" || encrypted {
            return Vec::new();
        }
        vec![Finding::new(
            "encryption",
            "objects are not encrypted at rest",
            "set encryption (BucketEncryption::builder().algorithm(SseAlgorithm::AwsKms)...), or keep the default",
        )]
    }
}

/// Tables, image repositories and secrets are encrypted with KMS.
struct KmsOnDataStores;

impl Policy for KmsOnDataStores {
    fn id(&self) -> &'static str {
        "ai/kms-encryption"
    }
    fn description(&self) -> &'static str {
        "DynamoDB tables, ECR repositories and secrets are encrypted with KMS keys."
    }
    fn default_level(&self, _: &PolicyContext) -> Level {
        Level::Mandatory
    }
    fn check(&self, r: &ResourceDoc, _: &PolicyContext) -> Vec<Finding> {
        let finding = |property: &str, what: &str, fix: &str| vec![Finding::new(property, what, fix)];
        if let Some(t) = r.args::<cairn_aws::TableArgs>() {
            if t.sse.is_none() {
                return finding(
                    "sse",
                    "the table is not encrypted with KMS",
                    "set sse (TableSse::builder().kms_key_arn(KEY).build())",
                );
            }
        } else if let Some(repo) = r.args::<cairn_aws::RepositoryArgs>() {
            if repo.encryption != cairn_aws::ecr::RepositoryEncryption::Kms {
                return finding(
                    "encryption",
                    "images are not encrypted with KMS",
                    "set encryption to RepositoryEncryption::Kms (with kms_key for your own key)",
                );
            }
        } else if let Some(secret) = r.args::<cairn_aws::SecretArgs>()
            && secret.kms_key_id.is_none()
        {
            return finding(
                "kms_key_id",
                "the secret is encrypted with the account's default key",
                "set kms_key_id to a customer managed key, so access to the secret is granted through the key's policy too",
            );
        }
        Vec::new()
    }
}

/// The policy documents of a resource with their property paths, for the
/// types that hold some; `identity` only the IAM permission policies (a KMS
/// key policy grants `kms:*` to its account by design).
fn documents(r: &ResourceDoc, identity: bool) -> Vec<(PropertyPath, PolicyDocument)> {
    fn owned<A: PolicyDocuments>(a: &A) -> Vec<(PropertyPath, PolicyDocument)> {
        a.policy_documents().into_iter().map(|(p, d)| (p, d.clone())).collect()
    }
    let mut docs = Vec::new();
    if let Some(a) = r.args::<RoleArgs>() {
        docs = owned(&a);
        if identity {
            docs.retain(|(p, _)| p.to_string() != "assume_role_policy");
        }
    } else if let Some(a) = r.args::<RolePolicyArgs>() {
        docs = owned(&a);
    } else if let Some(a) = r.args::<PolicyArgs>() {
        docs = owned(&a);
    } else if !identity {
        if let Some(a) = r.args::<BucketArgs>() {
            docs = owned(&a);
        } else if let Some(a) = r.args::<KeyArgs>() {
            docs = owned(&a);
        }
    }
    docs
}

/// IAM policies name their actions.
struct NoWildcardAction;

impl Policy for NoWildcardAction {
    fn id(&self) -> &'static str {
        "ai/iam-no-wildcard-action"
    }
    fn description(&self) -> &'static str {
        "IAM policies allow named actions, never `*` or `service:*` (least privilege)."
    }
    fn default_level(&self, _: &PolicyContext) -> Level {
        Level::Mandatory
    }
    fn check(&self, r: &ResourceDoc, _: &PolicyContext) -> Vec<Finding> {
        let mut findings = Vec::new();
        for (path, doc) in documents(r, true) {
            for (i, s) in doc.statement.iter().enumerate() {
                for (j, action) in s.action.iter().enumerate() {
                    let wildcard = action == "*" || action.split_once(':').is_some_and(|(_, op)| op == "*");
                    if s.effect == Effect::Allow && wildcard {
                        findings.push(Finding::new(
                            format!("{path}.statement[{i}].action[{j}]"),
                            format!("allows the wildcard action `{action}`"),
                            "list the actions the workload calls (e.g. s3:GetObject, s3:ListBucket)",
                        ));
                    }
                }
            }
        }
        findings
    }
}

/// No policy trusts or grants to everyone.
struct NoWildcardPrincipal;

impl Policy for NoWildcardPrincipal {
    fn id(&self) -> &'static str {
        "ai/iam-no-wildcard-principal"
    }
    fn description(&self) -> &'static str {
        "No trust, bucket or key policy allows the principal `*` (anyone)."
    }
    fn default_level(&self, _: &PolicyContext) -> Level {
        Level::Mandatory
    }
    fn check(&self, r: &ResourceDoc, _: &PolicyContext) -> Vec<Finding> {
        let mut findings = Vec::new();
        for (path, doc) in documents(r, false) {
            for (i, s) in doc.statement.iter().enumerate() {
                let anyone = matches!(&s.principal, Some(Principal::Aws(v)) if v.iter().any(|p| p == "*"));
                if s.effect == Effect::Allow && anyone {
                    findings.push(Finding::new(
                        format!("{path}.statement[{i}].principal"),
                        "allows the principal `*` (anyone)",
                        "name the accounts, roles or services (Principal::aws(ARN), Principal::service(NAME))",
                    ));
                }
            }
        }
        findings
    }
}

/// Production clusters have no public API endpoint.
struct EksPrivateEndpoint;

impl Policy for EksPrivateEndpoint {
    fn id(&self) -> &'static str {
        "ai/eks-private-endpoint"
    }
    fn description(&self) -> &'static str {
        "In production, an EKS cluster's API endpoint is reachable from inside the VPC only."
    }
    fn default_level(&self, ctx: &PolicyContext) -> Level {
        if ctx.stack.is_prod() { Level::Mandatory } else { Level::Disabled }
    }
    fn check(&self, r: &ResourceDoc, _: &PolicyContext) -> Vec<Finding> {
        match r.args::<ClusterArgs>() {
            Some(c) if c.endpoint_public_access => vec![Finding::new(
                "endpoint_public_access",
                "the Kubernetes API endpoint is public",
                "set endpoint_public_access to false (reach the cluster through the VPC)",
            )],
            _ => Vec::new(),
        }
    }
}

/// Clusters envelope-encrypt Kubernetes secrets with KMS.
struct EksSecretsEncryption;

impl Policy for EksSecretsEncryption {
    fn id(&self) -> &'static str {
        "ai/eks-secrets-encryption"
    }
    fn description(&self) -> &'static str {
        "An EKS cluster envelope-encrypts Kubernetes secrets with a KMS key."
    }
    fn default_level(&self, _: &PolicyContext) -> Level {
        Level::Mandatory
    }
    fn check(&self, r: &ResourceDoc, _: &PolicyContext) -> Vec<Finding> {
        match r.args::<ClusterArgs>() {
            Some(c) if c.encryption_kms_key_arn.is_none() => vec![Finding::new(
                "encryption_kms_key_arn",
                "Kubernetes secrets are not envelope-encrypted",
                "set encryption_kms_key_arn to a KMS key's ARN (the EKS cluster component makes one)",
            )],
            _ => Vec::new(),
        }
    }
}

/// Logical names are lowercase words joined by `-`.
struct Naming;

impl Policy for Naming {
    fn id(&self) -> &'static str {
        "ai/naming"
    }
    fn description(&self) -> &'static str {
        "Resource names are lowercase letters, digits and `-` (they become cloud names and tags)."
    }
    fn default_level(&self, _: &PolicyContext) -> Level {
        Level::Advisory
    }
    fn check(&self, r: &ResourceDoc, _: &PolicyContext) -> Vec<Finding> {
        if r.op == Op::Delete {
            return Vec::new();
        }
        let name = r.urn.name();
        let ok = !name.is_empty()
            && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !name.starts_with('-')
            && !name.ends_with('-');
        if ok {
            return Vec::new();
        }
        let suggestion: String =
            name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }).collect();
        vec![Finding::new(
            "",
            format!("the name `{name}` is not lowercase words joined by `-`"),
            format!("rename it, e.g. `{}` (an alias keeps the resource)", suggestion.trim_matches('-')),
        )]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::StackInfo;
    use crate::policy::Settings;
    use cairn_aws::policy::Statement;
    use cairn_aws::{CapacityType, PublicAccessBlock, ScalingConfig};
    use cairn_core::{ProjectName, ResourceKind, ResourceType, StackName, Urn, Value};

    fn urn(ty: &str, name: &str, parent: Option<&str>) -> Urn {
        let (stack, project) = (StackName::new("dev").unwrap(), ProjectName::new("p").unwrap());
        let parent = parent.map(|p| Urn::new(&stack, &project, None, &ResourceType::new(p).unwrap(), "c").unwrap());
        Urn::new(&stack, &project, parent.as_ref(), &ResourceType::new(ty).unwrap(), name).unwrap()
    }

    fn resource<A: serde::Serialize>(ty: &str, name: &str, parent: Option<&str>, args: &A) -> ResourceDoc {
        ResourceDoc {
            urn: urn(ty, name, parent),
            ty: ResourceType::new(ty).unwrap(),
            kind: ResourceKind::Custom,
            op: Op::Create,
            old: None,
            new: Value::from_serialize(args).unwrap(),
            cost: None,
        }
    }

    fn ctx(stack: &str) -> PolicyContext {
        PolicyContext {
            stack: StackInfo { stack: stack.into(), ..StackInfo::default() },
            settings: Settings::default(),
        }
    }

    /// The properties `policy` finds wrong with `r` in the stack `stack`.
    fn findings(policy: &str, r: &ResourceDoc, stack: &str) -> Vec<String> {
        let all = policies();
        let p = all.iter().find(|p| p.id() == policy).expect("a policy of the pack");
        p.check(r, &ctx(stack)).into_iter().map(|f| f.property).collect()
    }

    fn tags(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    fn node_group(
        types: &[&str],
        max: i32,
        min: i32,
        capacity: CapacityType,
        labels: &[(&str, &str)],
    ) -> NodeGroupArgs {
        NodeGroupArgs::builder()
            .cluster_name("c")
            .node_role_arn("arn:aws:iam::1:role/n")
            .subnet_ids(vec!["subnet-a"])
            .instance_types(types.iter().copied())
            .capacity_type(capacity)
            .ami_type(cairn_aws::AmiType::Al2023X86_64Nvidia)
            .scaling(ScalingConfig { min_size: min, max_size: max, desired_size: min })
            .labels(tags(labels))
            .build()
    }

    fn role(actions: &[&str], trust_principal: Principal) -> RoleArgs {
        let trust = PolicyDocument::builder()
            .statement(vec![Statement::builder().principal(trust_principal).action(["sts:AssumeRole"]).build()])
            .build();
        RoleArgs::builder()
            .assume_role_policy(trust)
            .inline_policies([(
                "work",
                PolicyDocument::builder().statement(vec![Statement::allow(actions.iter().copied(), ["*"])]).build(),
            )])
            .build()
    }

    #[test]
    fn every_policy_has_an_id_of_the_pack_and_a_sentence() {
        let all = policies();
        let mut ids: Vec<&str> = all.iter().map(|p| p.id()).collect();
        assert!(ids.iter().all(|id| id.starts_with("ai/")) && all.iter().all(|p| p.description().ends_with('.')));
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), all.len(), "IDs are unique");
    }

    #[test]
    fn required_tags() {
        let full = tags(&[("team", "ml"), ("cost-center", "4711"), ("environment", "dev")]);
        let ok = resource("aws:sqs:Queue", "q", None, &cairn_aws::QueueArgs::builder().tags(full).build());
        assert!(findings("ai/required-tags", &ok, "dev").is_empty());
        let bare = resource(
            "aws:sqs:Queue",
            "q",
            None,
            &cairn_aws::QueueArgs::builder().tags(tags(&[("team", "ml")])).build(),
        );
        assert_eq!(findings("ai/required-tags", &bare, "dev"), ["tags"]);
        let all = policies();
        let p = all.iter().find(|p| p.id() == "ai/required-tags").unwrap();
        assert_eq!(p.check(&bare, &ctx("dev"))[0].message, "has no `cost-center`, `environment` tags");
        // A type without tags is not asked for them.
        let untaggable = resource("aws:iam:RolePolicyAttachment", "a", None, &serde_json::json!({}));
        assert!(findings("ai/required-tags", &untaggable, "dev").is_empty());
    }

    #[test]
    fn gpu_instance_types() {
        let ok = resource(
            "aws:eks:NodeGroup",
            "n",
            None,
            &node_group(&["g5.xlarge", "m5.large"], 2, 0, CapacityType::Spot, &[]),
        );
        assert!(findings("ai/gpu-instance-types", &ok, "dev").is_empty());
        let bad = resource(
            "aws:eks:NodeGroup",
            "n",
            None,
            &node_group(&["m5.large", "p5.4xlarge"], 2, 0, CapacityType::Spot, &[]),
        );
        assert_eq!(findings("ai/gpu-instance-types", &bad, "dev"), ["instance_types[1]"]);
    }

    #[test]
    fn node_group_cap() {
        let ok = resource("aws:eks:NodeGroup", "n", None, &node_group(&["g5.xlarge"], 16, 0, CapacityType::Spot, &[]));
        assert!(findings("ai/node-group-cap", &ok, "dev").is_empty());
        let big = node_group(&["g5.xlarge"], 40, 0, CapacityType::Spot, &[]);
        let r = resource("aws:eks:NodeGroup", "n", None, &big);
        assert_eq!(findings("ai/node-group-cap", &r, "dev"), ["scaling.max_size"]);
        let all = policies();
        let message = &all.iter().find(|p| p.id() == "ai/node-group-cap").unwrap().check(&r, &ctx("dev"))[0].message;
        assert_eq!(message, "may grow to 40 GPU nodes; the cap is 16");
    }

    #[test]
    fn training_on_spot() {
        let labelled = [("cairn.dev/workload", "training")];
        let spot =
            resource("aws:eks:NodeGroup", "n", None, &node_group(&["g5.xlarge"], 2, 0, CapacityType::Spot, &labelled));
        assert!(findings("ai/training-on-spot", &spot, "prod").is_empty());
        let on_demand = node_group(&["g5.xlarge"], 2, 0, CapacityType::OnDemand, &labelled);
        let r = resource("aws:eks:NodeGroup", "n", None, &on_demand);
        assert_eq!(findings("ai/training-on-spot", &r, "prod"), ["capacity_type"]);
        // Inside a training pipeline, whatever its labels.
        let inside = node_group(&["g5.xlarge"], 2, 0, CapacityType::OnDemand, &[]);
        let r = resource("aws:eks:NodeGroup", "n", Some("cairn:ai:TrainingPipeline"), &inside);
        assert_eq!(findings("ai/training-on-spot", &r, "prod"), ["capacity_type"]);
        // Other node groups may be on-demand.
        let r = resource("aws:eks:NodeGroup", "n", None, &inside);
        assert!(findings("ai/training-on-spot", &r, "prod").is_empty());
    }

    #[test]
    fn inference_scales_to_zero_outside_prod() {
        let labelled = [("cairn.dev/workload", "inference")];
        let warm = resource(
            "aws:eks:NodeGroup",
            "n",
            None,
            &node_group(&["g5.xlarge"], 2, 1, CapacityType::OnDemand, &labelled),
        );
        assert_eq!(findings("ai/inference-scale-to-zero", &warm, "dev"), ["scaling.min_size"]);
        let cold = resource(
            "aws:eks:NodeGroup",
            "n",
            None,
            &node_group(&["g5.xlarge"], 2, 0, CapacityType::OnDemand, &labelled),
        );
        assert!(findings("ai/inference-scale-to-zero", &cold, "dev").is_empty());
        let p = policies().into_iter().find(|p| p.id() == "ai/inference-scale-to-zero").unwrap();
        assert_eq!(p.default_level(&ctx("prod")), Level::Disabled, "prod keeps warm replicas");
    }

    #[test]
    fn bucket_public_access_block() {
        let ok = resource("aws:s3:Bucket", "b", None, &BucketArgs::builder().build());
        assert!(findings("ai/s3-public-access-block", &ok, "dev").is_empty());
        let open = BucketArgs::builder()
            .public_access_block(
                PublicAccessBlock::builder().block_public_policy(false).restrict_public_buckets(false).build(),
            )
            .build();
        let r = resource("aws:s3:Bucket", "b", None, &open);
        assert_eq!(
            findings("ai/s3-public-access-block", &r, "dev"),
            ["public_access_block.block_public_policy", "public_access_block.restrict_public_buckets"]
        );
    }

    #[test]
    fn bucket_encryption() {
        let ok = resource("aws:s3:Bucket", "b", None, &BucketArgs::builder().build());
        assert!(findings("ai/s3-encryption", &ok, "dev").is_empty());
        let plain = resource("aws:s3:Bucket", "b", None, &serde_json::json!({"bucket": "b"}));
        assert_eq!(findings("ai/s3-encryption", &plain, "dev"), ["encryption"]);
    }

    #[test]
    fn kms_on_data_stores() {
        let key_attribute =
            cairn_aws::KeyAttribute::builder().name("id").attribute_type(cairn_aws::dynamodb::AttributeType::S).build();
        let table = |sse: bool| {
            let mut t = cairn_aws::TableArgs::builder().hash_key(key_attribute.clone()).build();
            t.sse = sse.then(|| cairn_aws::TableSse::builder().build());
            resource("aws:dynamodb:Table", "t", None, &t)
        };
        assert!(findings("ai/kms-encryption", &table(true), "dev").is_empty());
        assert_eq!(findings("ai/kms-encryption", &table(false), "dev"), ["sse"]);
        let repo =
            |e| resource("aws:ecr:Repository", "r", None, &cairn_aws::RepositoryArgs::builder().encryption(e).build());
        assert!(findings("ai/kms-encryption", &repo(cairn_aws::ecr::RepositoryEncryption::Kms), "dev").is_empty());
        assert_eq!(
            findings("ai/kms-encryption", &repo(cairn_aws::ecr::RepositoryEncryption::Aes256), "dev"),
            ["encryption"]
        );
    }

    #[test]
    fn no_wildcard_action() {
        let ok = resource("aws:iam:Role", "r", None, &role(&["s3:GetObject"], Principal::service("eks.amazonaws.com")));
        assert!(findings("ai/iam-no-wildcard-action", &ok, "dev").is_empty());
        let bad = resource(
            "aws:iam:Role",
            "r",
            None,
            &role(&["s3:GetObject", "s3:*", "*"], Principal::service("eks.amazonaws.com")),
        );
        assert_eq!(
            findings("ai/iam-no-wildcard-action", &bad, "dev"),
            ["inline_policies.work.statement[0].action[1]", "inline_policies.work.statement[0].action[2]"]
        );
        // A KMS key policy's `kms:*` for its account is how AWS writes them.
        let key = cairn_aws::KeyArgs::builder().build();
        assert!(findings("ai/iam-no-wildcard-action", &resource("aws:kms:Key", "k", None, &key), "dev").is_empty());
    }

    #[test]
    fn no_wildcard_principal() {
        let ok = resource("aws:iam:Role", "r", None, &role(&["s3:GetObject"], Principal::aws("arn:aws:iam::1:root")));
        assert!(findings("ai/iam-no-wildcard-principal", &ok, "dev").is_empty());
        let anyone = resource("aws:iam:Role", "r", None, &role(&["s3:GetObject"], Principal::aws("*")));
        assert_eq!(
            findings("ai/iam-no-wildcard-principal", &anyone, "dev"),
            ["assume_role_policy.statement[0].principal"]
        );
    }

    fn cluster(public: bool, key: Option<&str>) -> ClusterArgs {
        let mut c = ClusterArgs::builder()
            .role_arn("arn:aws:iam::1:role/eks")
            .subnet_ids(vec!["a", "b"])
            .endpoint_public_access(public)
            .build();
        c.encryption_kms_key_arn = key.map(Into::into);
        c
    }

    #[test]
    fn eks_private_endpoint_in_prod() {
        let public = resource("aws:eks:Cluster", "c", None, &cluster(true, Some("arn:key")));
        assert_eq!(findings("ai/eks-private-endpoint", &public, "prod"), ["endpoint_public_access"]);
        let private = resource("aws:eks:Cluster", "c", None, &cluster(false, Some("arn:key")));
        assert!(findings("ai/eks-private-endpoint", &private, "prod").is_empty());
        let p = policies().into_iter().find(|p| p.id() == "ai/eks-private-endpoint").unwrap();
        assert_eq!((p.default_level(&ctx("dev")), p.default_level(&ctx("prod"))), (Level::Disabled, Level::Mandatory));
    }

    #[test]
    fn eks_secrets_encryption() {
        let plain = resource("aws:eks:Cluster", "c", None, &cluster(false, None));
        assert_eq!(findings("ai/eks-secrets-encryption", &plain, "dev"), ["encryption_kms_key_arn"]);
        let sealed = resource("aws:eks:Cluster", "c", None, &cluster(false, Some("arn:key")));
        assert!(findings("ai/eks-secrets-encryption", &sealed, "dev").is_empty());
    }

    #[test]
    fn naming() {
        let ok = resource("aws:sqs:Queue", "ingest-queue-2", None, &serde_json::json!({}));
        assert!(findings("ai/naming", &ok, "dev").is_empty());
        let bad = resource("aws:sqs:Queue", "Ingest_Queue", None, &serde_json::json!({}));
        assert_eq!(findings("ai/naming", &bad, "dev"), [""]);
    }

    #[test]
    fn gpu_families() {
        assert!(is_gpu_instance("g6e.2xlarge") && is_gpu_instance("p4d.24xlarge"));
        assert!(!is_gpu_instance("m5.large") && !is_gpu_instance("garbage"));
    }
}
