//! `aws:ecr:Repository`: an ECR container image repository with immutable
//! tags, scanning on push and an optional typed lifecycle policy.

use std::collections::BTreeMap;

use cairn_core::schema::TypedArgs;
use cairn_core::{CheckFailure, Input};
use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};
use typed_builder::TypedBuilder;

use crate::failure;

/// The longest repository name ECR accepts.
const MAX_REPOSITORY_NAME: usize = 256;

aws_enum! {
    /// Whether an image tag can be pushed again over another image.
    #[derive(Default)]
    ImageTagMutability {
        /// A tag can move to another image.
        Mutable = "MUTABLE",
        /// A tag, once pushed, always names the same image.
        #[default]
        Immutable = "IMMUTABLE",
    }
}

aws_enum! {
    /// How the repository's images are encrypted at rest.
    #[derive(Default)]
    RepositoryEncryption {
        /// Keys managed by ECR (SSE-S3).
        #[default]
        Aes256 = "AES256",
        /// A KMS key (`kms_key`, or the AWS managed key for ECR when absent).
        Kms = "KMS",
    }
}

aws_enum! {
    /// Which images a lifecycle rule looks at.
    LifecycleTagStatus {
        /// Images with a tag starting with one of `tag_prefixes`.
        Tagged = "tagged",
        /// Images without tags.
        Untagged = "untagged",
        /// Every image (allowed only in the rule with the highest priority number).
        Any = "any",
    }
}

aws_enum! {
    /// What a lifecycle rule counts.
    LifecycleCountType {
        /// Keep the newest `count_number` images; expire the rest.
        ImageCountMoreThan = "imageCountMoreThan",
        /// Expire images pushed more than `count_number` days ago.
        SinceImagePushed = "sinceImagePushed",
    }
}

/// One rule of a repository's lifecycle policy: which images expire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TypedBuilder, cairn_core::rust_code::RustLiteral)]
pub struct LifecycleRule {
    /// The order rules are applied in, lowest first (unique, 1 or more).
    pub priority: i32,
    /// What the rule is for.
    #[builder(default, setter(into, strip_option))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Which images the rule looks at.
    pub tag_status: LifecycleTagStatus,
    /// Tag prefixes selecting images (only, and required, with `tagged`).
    #[builder(default, setter(fn transform(prefixes: impl IntoIterator<Item = impl Into<String>>) -> Vec<String> {
        crate::strings(prefixes)
    }))]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tag_prefixes: Vec<String>,
    /// What the rule counts.
    pub count_type: LifecycleCountType,
    /// Images to keep (`imageCountMoreThan`) or days since the push (`sinceImagePushed`).
    pub count_number: i32,
}

/// The lifecycle policy document ECR takes for `rules` (`PutLifecyclePolicy`).
///
/// ```
/// use cairn_aws::ecr::{LifecycleCountType, LifecycleRule, LifecycleTagStatus, lifecycle_policy_json};
/// let rule = LifecycleRule::builder()
///     .priority(1)
///     .tag_status(LifecycleTagStatus::Untagged)
///     .count_type(LifecycleCountType::SinceImagePushed)
///     .count_number(14)
///     .build();
/// let doc = lifecycle_policy_json(&[rule]);
/// assert_eq!(doc["rules"][0]["selection"]["countUnit"], "days");
/// ```
pub fn lifecycle_policy_json(rules: &[LifecycleRule]) -> Json {
    let rules: Vec<Json> = rules
        .iter()
        .map(|r| {
            let mut selection = json!({
                "tagStatus": r.tag_status.as_str(),
                "countType": r.count_type.as_str(),
                "countNumber": r.count_number,
            });
            if !r.tag_prefixes.is_empty() {
                selection["tagPrefixList"] = json!(r.tag_prefixes);
            }
            if r.count_type == LifecycleCountType::SinceImagePushed {
                selection["countUnit"] = json!("days");
            }
            let mut rule = json!({"rulePriority": r.priority, "selection": selection, "action": {"type": "expire"}});
            if let Some(d) = &r.description {
                rule["description"] = json!(d);
            }
            rule
        })
        .collect();
    json!({ "rules": rules })
}

/// The typed rules of a lifecycle policy document as ECR returns it, in priority order.
pub fn parse_lifecycle_policy(text: &str) -> Result<Vec<LifecycleRule>, String> {
    let doc: Json = serde_json::from_str(text).map_err(|e| format!("the lifecycle policy is not JSON: {e}"))?;
    let rules = doc.get("rules").and_then(Json::as_array).ok_or("the lifecycle policy has no `rules` list")?;
    let mut parsed = Vec::with_capacity(rules.len());
    for (i, r) in rules.iter().enumerate() {
        let int = |v: Option<&Json>, what: &str| {
            v.and_then(Json::as_i64)
                .and_then(|n| i32::try_from(n).ok())
                .ok_or_else(|| format!("rule {i} has no valid {what}"))
        };
        let sel = r.get("selection").ok_or_else(|| format!("rule {i} has no selection"))?;
        let text_of = |key: &str| sel.get(key).and_then(Json::as_str).unwrap_or_default();
        let tag_status = LifecycleTagStatus::from_aws(text_of("tagStatus"))
            .ok_or_else(|| format!("rule {i} has tagStatus `{}`, which Cairn does not model", text_of("tagStatus")))?;
        let count_type = LifecycleCountType::from_aws(text_of("countType"))
            .ok_or_else(|| format!("rule {i} has countType `{}`, which Cairn does not model", text_of("countType")))?;
        let tag_prefixes = sel
            .get("tagPrefixList")
            .and_then(Json::as_array)
            .map(|l| l.iter().filter_map(Json::as_str).map(str::to_owned).collect())
            .unwrap_or_default();
        parsed.push(LifecycleRule {
            priority: int(r.get("rulePriority"), "rulePriority")?,
            description: r.get("description").and_then(Json::as_str).filter(|d| !d.is_empty()).map(str::to_owned),
            tag_status,
            tag_prefixes,
            count_type,
            count_number: int(sel.get("countNumber"), "countNumber")?,
        });
    }
    parsed.sort_by_key(|r| r.priority);
    Ok(parsed)
}

/// The arguments of an ECR repository. The defaults are the safe ones:
/// immutable tags, scanning on push, no forced deletion.
///
/// ```
/// use cairn_aws::ecr::{ImageTagMutability, RepositoryArgs};
/// let images = RepositoryArgs::builder().build();
/// assert_eq!(images.image_tag_mutability, ImageTagMutability::Immutable);
/// assert!(images.scan_on_push && !images.force_delete && images.validate().is_empty());
/// ```
#[derive(Debug, Clone, Serialize, Deserialize, TypedBuilder, TypedArgs)]
#[args(
    doc = "An ECR container image repository (provider ID: its name). Tag mutability, scanning, the lifecycle \
          policy and tags change in place; the name and the encryption are fixed.",
    outputs = RepositoryOutputs,
    auto_name(property = "name", max_len = MAX_REPOSITORY_NAME, lowercase)
)]
pub struct RepositoryArgs {
    /// The repository name; generated (lowercase) from the logical name when absent. Changing it replaces the
    /// repository.
    #[builder(default, setter(into, strip_option))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[args(replace)]
    pub name: Option<Input<String>>,
    /// Whether tags can be pushed over (`IMMUTABLE` unless set), changed in place.
    #[builder(default)]
    #[serde(default)]
    pub image_tag_mutability: ImageTagMutability,
    /// Scan every pushed image for vulnerabilities (on unless turned off), changed in place.
    #[builder(default = true)]
    #[serde(default = "crate::default_true")]
    pub scan_on_push: bool,
    /// Encryption at rest (`AES256` unless set). Changing it replaces the repository.
    #[builder(default)]
    #[serde(default)]
    #[args(replace)]
    pub encryption: RepositoryEncryption,
    /// The KMS key (ARN, ID or alias) with `KMS` encryption; the AWS managed key when absent. Changing it
    /// replaces the repository.
    #[builder(default, setter(into, strip_option))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[args(replace)]
    pub kms_key: Option<Input<String>>,
    /// The lifecycle policy's rules; no policy when empty. Changed in place.
    #[builder(default)]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lifecycle_policy: Vec<LifecycleRule>,
    /// Let deletion remove the images too; otherwise deleting a repository that holds images fails.
    #[builder(default)]
    #[serde(default)]
    pub force_delete: bool,
    /// Tags.
    #[builder(default, setter(fn transform<K: Into<String>, V: Into<String>>(tags: impl IntoIterator<Item = (K, V)>) -> BTreeMap<String, String> {
        crate::string_map(tags)
    }))]
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

cairn_core::resource! {
    /// An ECR repository, as declared: its URN and typed outputs.
    Repository, token = "aws:ecr:Repository", args = RepositoryArgs, outputs = RepositoryOutputs {
        /// The repository ARN (what IAM policies take).
        arn: String,
        /// The repository name (the provider ID).
        name: String,
        /// The URL images are pushed to and pulled from, `ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME`.
        repository_url: String,
    }
}

impl RepositoryArgs {
    /// Checks what ECR would refuse later, with the fix in each message.
    pub fn validate(&self) -> Vec<CheckFailure> {
        let mut failures = Vec::new();
        if let Some(name) = self.name.as_ref().and_then(Input::value) {
            let chars_ok = name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-' | '/'));
            let edges_ok = name.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
                && name.chars().last().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
            if !(2..=MAX_REPOSITORY_NAME).contains(&name.len()) || !chars_ok || !edges_ok {
                failures.push(failure(
                    "name",
                    format!(
                        "`{name}` is not a valid repository name: use 2 to {MAX_REPOSITORY_NAME} lowercase letters, \
                         digits, `.`, `_`, `-` or `/`, starting and ending with a letter or digit"
                    ),
                ));
            }
        }
        if self.kms_key.is_some() && self.encryption != RepositoryEncryption::Kms {
            failures.push(failure(
                "kms_key",
                "kms_key is set but encryption is AES256: set encryption to KMS, or remove kms_key",
            ));
        }
        let mut priorities = std::collections::BTreeSet::new();
        let highest = self.lifecycle_policy.iter().map(|r| r.priority).max();
        for (i, rule) in self.lifecycle_policy.iter().enumerate() {
            let at = |field: &str| format!("lifecycle_policy[{i}].{field}");
            if rule.priority < 1 {
                failures.push(failure(&at("priority"), format!("{} is below 1: use 1 or more", rule.priority)));
            } else if !priorities.insert(rule.priority) {
                failures.push(failure(
                    &at("priority"),
                    format!("priority {} is used by another rule: give every rule its own priority", rule.priority),
                ));
            }
            if rule.count_number < 1 {
                failures.push(failure(&at("count_number"), format!("{} is below 1: use 1 or more", rule.count_number)));
            }
            match rule.tag_status {
                LifecycleTagStatus::Tagged if rule.tag_prefixes.is_empty() => failures.push(failure(
                    &at("tag_prefixes"),
                    "a `tagged` rule needs tag prefixes: set tag_prefixes, or use tag_status `any`",
                )),
                LifecycleTagStatus::Untagged | LifecycleTagStatus::Any if !rule.tag_prefixes.is_empty() => {
                    failures.push(failure(
                        &at("tag_prefixes"),
                        format!("tag prefixes apply only to `tagged` rules, not `{}`: remove them", rule.tag_status),
                    ));
                }
                LifecycleTagStatus::Any if Some(rule.priority) != highest => failures.push(failure(
                    &at("priority"),
                    "ECR applies an `any` rule last: give it the highest priority number of the policy",
                )),
                _ => {}
            }
        }
        failures
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_core::Value;

    fn messages(args: &RepositoryArgs) -> Vec<String> {
        args.validate().iter().map(|f| format!("{}: {}", f.property, f.reason)).collect()
    }

    fn rule(priority: i32, status: LifecycleTagStatus, count: LifecycleCountType, n: i32) -> LifecycleRule {
        LifecycleRule::builder().priority(priority).tag_status(status).count_type(count).count_number(n).build()
    }

    #[test]
    fn defaults_are_safe_and_round_trip() {
        let v = Value::from_serialize(&RepositoryArgs::builder().build()).unwrap();
        assert_eq!(
            v.to_json(),
            json!({
                "image_tag_mutability": "IMMUTABLE", "scan_on_push": true, "encryption": "AES256",
                "force_delete": false, "tags": {}
            })
        );
        let back: RepositoryArgs = v.deserialize_into().unwrap();
        assert_eq!(Value::from_serialize(&back).unwrap(), v);
        assert!(cairn_provider_sdk::check_structure(<RepositoryArgs as TypedArgs>::SCHEMA, &v).is_empty());
    }

    #[test]
    fn lifecycle_rules_round_trip_through_the_policy_document() {
        let rules = vec![
            LifecycleRule::builder()
                .priority(1)
                .description("keep releases")
                .tag_status(LifecycleTagStatus::Tagged)
                .tag_prefixes(["v"])
                .count_type(LifecycleCountType::ImageCountMoreThan)
                .count_number(50)
                .build(),
            rule(2, LifecycleTagStatus::Untagged, LifecycleCountType::SinceImagePushed, 14),
        ];
        let doc = lifecycle_policy_json(&rules);
        assert_eq!(doc["rules"][0]["selection"]["tagPrefixList"], json!(["v"]));
        assert_eq!(doc["rules"][1]["action"], json!({"type": "expire"}));
        assert_eq!(parse_lifecycle_policy(&doc.to_string()).unwrap(), rules);
        assert!(parse_lifecycle_policy("{}").unwrap_err().contains("rules"));
    }

    #[test]
    fn validation_names_the_property_and_the_fix() {
        let args = RepositoryArgs::builder()
            .name("Images")
            .kms_key("alias/ecr")
            .lifecycle_policy(vec![
                rule(2, LifecycleTagStatus::Any, LifecycleCountType::ImageCountMoreThan, 0),
                rule(3, LifecycleTagStatus::Tagged, LifecycleCountType::ImageCountMoreThan, 5),
            ])
            .build();
        let text = messages(&args);
        assert_eq!(text.len(), 5, "{text:?}");
        assert!(text[0].starts_with("name: `Images` is not a valid repository name"), "{text:?}");
        assert!(text[1].starts_with("kms_key: kms_key is set but encryption is AES256"), "{text:?}");
        assert!(text[2].starts_with("lifecycle_policy[0].count_number: 0 is below 1"), "{text:?}");
        assert!(text[3].starts_with("lifecycle_policy[0].priority: ECR applies an `any` rule last"), "{text:?}");
        assert!(text[4].starts_with("lifecycle_policy[1].tag_prefixes: a `tagged` rule needs"), "{text:?}");
        let ok = RepositoryArgs::builder()
            .name("team/images")
            .encryption(RepositoryEncryption::Kms)
            .kms_key("alias/ecr")
            .lifecycle_policy(vec![rule(1, LifecycleTagStatus::Any, LifecycleCountType::ImageCountMoreThan, 10)])
            .build();
        assert!(messages(&ok).is_empty(), "{:?}", messages(&ok));
    }
}
