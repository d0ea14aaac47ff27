//! The model registry as infrastructure: where model artifacts and serving
//! images live, and who may promote a model from one stage to the next.
//!
//! Layout: the model bucket holds `models/<stage>/<model>/<version>/`; the
//! promotion role of a stage reads the previous stage's prefix and writes only
//! its own, so promoting to prod is an act of the prod role alone, and no
//! role can overwrite another stage's models.

use std::collections::BTreeMap;

use cairn_aws::ecr::{ImageTagMutability, RepositoryEncryption};
use cairn_aws::sagemaker::ModelPackageGroupArgs;
use cairn_aws::{
    Key, KeyArgs, ModelPackageGroup, PolicyDocument, Principal, Repository, RepositoryArgs, Role, Statement,
};
use cairn_core::{ComponentArgs, DeclareError, Input, InvalidArgs, Scope, Stack, Urn};
use typed_builder::TypedBuilder;

use crate::access::{self, Grant};
use crate::artifact_bucket::{ArtifactBucket, ArtifactBucketArgs, Encryption};
use crate::checks;
use crate::tags::{check_cost_tags, cost_tags};

/// The stages a model moves through unless the registry lists others.
pub const DEFAULT_STAGES: [&str; 3] = ["dev", "staging", "prod"];

/// The key prefix of a stage's models in the model bucket: `models/<stage>/`.
pub fn stage_prefix(stage: &str) -> String {
    format!("models/{stage}/")
}

/// Arguments of [`ModelRegistry`].
///
/// ```
/// use cairn_ai::ModelRegistryArgs;
/// let args = ModelRegistryArgs::builder().promoters(["arn:aws:iam::123456789012:role/ci"]).build();
/// assert_eq!(args.stages, ["dev", "staging", "prod"]);
/// ```
#[derive(Debug, Clone, TypedBuilder)]
pub struct ModelRegistryArgs {
    /// The stages, in promotion order; each gets a promotion role.
    #[builder(default = DEFAULT_STAGES.map(str::to_owned).to_vec(), setter(transform = |stages: impl IntoIterator<Item = impl Into<String>>| cairn_aws::strings(stages)))]
    pub stages: Vec<String>,
    /// Who may assume the promotion roles: IAM role or user ARNs (your CI's role, say). Never `*`.
    #[builder(setter(transform = |arns: impl IntoIterator<Item = impl Into<String>>| cairn_aws::strings(arns)))]
    pub promoters: Vec<String>,
    /// Keep replaced model files this many days (a bad upload can be rolled back within it).
    #[builder(default = 90)]
    pub version_retention_days: i32,
    /// Keep this many untagged serving images; older ones expire.
    #[builder(default = 10)]
    pub untagged_images_kept: i32,
    /// Extra tags, added to the cost tags.
    #[builder(default, setter(fn transform<K: Into<String>, V: Into<String>>(tags: impl IntoIterator<Item = (K, V)>) -> BTreeMap<String, String> {
        cairn_aws::string_map(tags)
    }))]
    pub tags: BTreeMap<String, String>,
}

/// A model bucket and image repository encrypted with the registry's key, a
/// SageMaker model package group, and one promotion role per stage.
#[derive(Debug, Clone)]
pub struct ModelRegistry {
    /// The component's URN.
    pub urn: Urn,
    /// The key the bucket and the repository are encrypted with.
    pub key: Key,
    /// The model bucket (`models/<stage>/<model>/<version>/`).
    pub models: ArtifactBucket,
    /// Serving images: scanned on push, tags immutable.
    pub images: Repository,
    /// The SageMaker model package group (model versions and their approval).
    pub package_group: ModelPackageGroup,
    /// The promotion role of each stage.
    pub promotion_roles: BTreeMap<String, Role>,
}

impl ModelRegistry {
    /// The model bucket's name.
    pub fn bucket(&self) -> Input<String> {
        self.models.name()
    }

    /// The registry key's ARN (readers of the models need `kms:Decrypt` on it).
    pub fn key_arn(&self) -> Input<String> {
        self.key.arn.clone().into()
    }
}

const ECR_PULL: &[&str] =
    &["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability", "ecr:DescribeImages"];
const ECR_PUSH: &[&str] =
    &["ecr:PutImage", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload"];

impl ComponentArgs for ModelRegistryArgs {
    type Component = ModelRegistry;
    const TYPE: &'static str = "cairn:ai:ModelRegistry";

    fn validate(&self, ctx: &Stack) -> Result<(), InvalidArgs> {
        if self.stages.is_empty() {
            return Err(InvalidArgs::new(
                "stages",
                "is empty",
                "list the stages in promotion order, e.g. dev, staging, prod",
            ));
        }
        for (i, s) in self.stages.iter().enumerate() {
            checks::dns_label(&format!("stages[{i}]"), s)?;
            if self.stages[..i].contains(s) {
                return Err(InvalidArgs::new(
                    format!("stages[{i}]"),
                    format!("`{s}` is listed twice"),
                    "list each stage once",
                ));
            }
        }
        if self.promoters.is_empty() {
            return Err(InvalidArgs::new(
                "promoters",
                "is empty, so nobody could promote a model",
                "list the IAM role ARNs that promote models (your CI's deploy role)",
            ));
        }
        for (i, p) in self.promoters.iter().enumerate() {
            if !p.starts_with("arn:aws:iam::") || p.contains('*') {
                return Err(InvalidArgs::new(
                    format!("promoters[{i}]"),
                    format!("`{p}` is not an IAM role or user ARN"),
                    "give an ARN like arn:aws:iam::123456789012:role/ci (never a wildcard)",
                ));
            }
        }
        if self.version_retention_days < 1 {
            return Err(InvalidArgs::new(
                "version_retention_days",
                format!("is {}", self.version_retention_days),
                "keep replaced models at least 1 day",
            ));
        }
        if self.untagged_images_kept < 1 {
            return Err(InvalidArgs::new(
                "untagged_images_kept",
                format!("is {}", self.untagged_images_kept),
                "keep at least 1",
            ));
        }
        check_cost_tags(ctx, &self.tags)
    }

    fn expand(self, scope: &Scope) -> Result<ModelRegistry, DeclareError> {
        let tags = cost_tags(scope, &self.tags);
        let key = scope.resource(
            &scope.child_name("key"),
            KeyArgs::builder().description(format!("model registry {}", scope.name())).tags(tags.clone()).build(),
        )?;
        let key_arn: Input<String> = key.arn.clone().into();
        let models = scope.component(
            &scope.child_name("models"),
            ArtifactBucketArgs::builder()
                .encryption(Encryption::Kms(key_arn.clone()))
                // Models are read at any time by serving: no archive tier.
                .archive_after_days(None)
                .noncurrent_version_retention_days(self.version_retention_days)
                .tags(self.tags.clone())
                .build(),
        )?;
        let images = scope.resource(
            &scope.child_name("images"),
            RepositoryArgs::builder()
                .image_tag_mutability(ImageTagMutability::Immutable)
                .scan_on_push(true)
                .encryption(RepositoryEncryption::Kms)
                .kms_key(key.arn.clone())
                .lifecycle_policy(vec![
                    cairn_aws::LifecycleRule::builder()
                        .priority(1)
                        .description("expire old untagged images")
                        .tag_status(cairn_aws::ecr::LifecycleTagStatus::Untagged)
                        .count_type(cairn_aws::ecr::LifecycleCountType::ImageCountMoreThan)
                        .count_number(self.untagged_images_kept)
                        .build(),
                ])
                .tags(tags.clone())
                .build(),
        )?;
        let package_group = scope.resource(
            &scope.child_name("packages"),
            ModelPackageGroupArgs::builder()
                .description(format!("models of registry {}", scope.name()))
                .tags(tags.clone())
                .build(),
        )?;

        let trust = PolicyDocument::builder()
            .statement(vec![
                Statement::builder()
                    .principal(Principal::Aws(self.promoters.clone()))
                    .action(["sts:AssumeRole"])
                    .build(),
            ])
            .build();
        let bucket = models.name();
        let mut promotion_roles = BTreeMap::new();
        for (i, stage) in self.stages.iter().enumerate() {
            let first = i == 0;
            let mut grants = access::s3_read_write(&bucket, &stage_prefix(stage));
            if let Some(previous) = i.checked_sub(1).map(|p| &self.stages[p]) {
                grants.extend(access::s3_read(&bucket, &stage_prefix(previous)));
            }
            grants.push(access::kms_use(&key_arn, true));
            let ecr: Vec<&str> = if first { [ECR_PULL, ECR_PUSH].concat() } else { ECR_PULL.to_vec() };
            grants.push(Grant::on(&ecr, &images.arn, |arn| vec![arn]));
            // AWS requires `*` here: the token is for the registry, not a repository.
            grants.push(Grant::fixed(&["ecr:GetAuthorizationToken"], &["*"]));
            let packages =
                |group_arn: String| vec![group_arn.replacen(":model-package-group/", ":model-package/", 1) + "/*"];
            grants.push(if first {
                Grant::on(
                    &["sagemaker:CreateModelPackage", "sagemaker:DescribeModelPackage"],
                    &package_group.arn,
                    move |arn| {
                        let mut r = packages(arn.clone());
                        r.push(arn);
                        r
                    },
                )
            } else {
                Grant::on(
                    &["sagemaker:DescribeModelPackage", "sagemaker:UpdateModelPackage"],
                    &package_group.arn,
                    packages,
                )
            });
            let role = access::role_with_grants(
                scope,
                &format!("promote-{stage}"),
                trust.clone(),
                &grants,
                &tags,
                &format!("promotes models of registry {} into stage {stage}", scope.name()),
            )?;
            scope.output(&format!("promotion_role_{stage}"), &role.arn);
            promotion_roles.insert(stage.clone(), role);
        }
        scope.output("model_bucket", &models.bucket.bucket);
        scope.output("image_repository", &images.repository_url);
        scope.output("package_group", &package_group.name);
        scope.output("key_arn", &key.arn);
        Ok(ModelRegistry { urn: scope.urn().clone(), key, models, images, package_group, promotion_roles })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::ctx;

    fn args() -> ModelRegistryArgs {
        ModelRegistryArgs::builder().promoters(["arn:aws:iam::123456789012:role/ci"]).build()
    }

    #[test]
    fn each_stage_reads_the_previous_and_writes_its_own() {
        let ctx = ctx("dev");
        let reg = ctx.component("registry", args()).unwrap();
        assert_eq!(reg.promotion_roles.keys().collect::<Vec<_>>(), ["dev", "prod", "staging"]);
        let d = ctx.finish();
        let policy = |stage: &str| {
            d.resources.iter().find(|r| r.urn.name() == format!("registry-promote-{stage}-access")).unwrap().clone()
        };
        // The documents are outputs (bucket ARNs are known once created); the grants are plain.
        assert!(policy("prod").inputs.to_json()["policy"].is_object());
        let repo = d.resources.iter().find(|r| r.urn.resource_type().as_str() == "aws:ecr:Repository").unwrap();
        let j = repo.inputs.to_json();
        assert_eq!((j["image_tag_mutability"].as_str(), j["scan_on_push"].as_bool()), (Some("IMMUTABLE"), Some(true)));
        assert_eq!(j["encryption"], "KMS");
    }

    #[test]
    fn promoters_must_be_named_and_never_wildcards() {
        let refused = |a: ModelRegistryArgs| ctx("dev").component("registry", a).err().unwrap().to_string();
        let mut a = args();
        a.promoters = vec!["*".into()];
        let err = refused(a);
        assert!(err.contains("`promoters[0]`") && err.contains("never a wildcard"), "{err}");
        let mut a = args();
        a.stages = vec!["dev".into(), "dev".into()];
        assert!(refused(a).contains("listed twice"));
    }
}
