//! Policies, their enforcement levels, exceptions, and evaluating a set of
//! them over a plan document.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::document::{PlanDocument, ResourceDoc, StackInfo};
use crate::rego::{RegoError, RegoPolicy, RegoSource};

/// How a policy's violations are enforced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Not evaluated.
    Disabled,
    /// Shown as a warning; the plan may be applied.
    Advisory,
    /// `up` refuses the plan; nothing is applied.
    Mandatory,
}

impl Level {
    /// The word shown.
    pub fn word(self) -> &'static str {
        match self {
            Level::Disabled => "disabled",
            Level::Advisory => "advisory",
            Level::Mandatory => "mandatory",
        }
    }
}

/// What a policy finds wrong with one resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The property path it is about (`tags.team`), or empty for the whole resource.
    pub property: String,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub fix: String,
}

impl Finding {
    /// A finding about `property`.
    pub fn new(property: impl Into<String>, message: impl Into<String>, fix: impl Into<String>) -> Self {
        Self { property: property.into(), message: message.into(), fix: fix.into() }
    }
}

/// A policy written in Rust: it reads one declared resource at a time, with
/// the stack and the pack's settings, and reports what is wrong.
///
/// ```
/// use cairn_policy::{Finding, Level, Policy, PolicyContext, ResourceDoc};
/// use cairn_aws::QueueArgs;
///
/// /// Queues keep messages at least a day.
/// struct QueueRetention;
///
/// impl Policy for QueueRetention {
///     fn id(&self) -> &'static str { "acme/queue-retention" }
///     fn description(&self) -> &'static str { "Queues keep messages at least a day." }
///     fn default_level(&self, _: &PolicyContext) -> Level { Level::Mandatory }
///     fn check(&self, resource: &ResourceDoc, _: &PolicyContext) -> Vec<Finding> {
///         match resource.args::<QueueArgs>() {
///             Some(q) if q.message_retention_seconds < 86_400 => vec![Finding::new(
///                 "message_retention_seconds",
///                 format!("keeps messages {} s", q.message_retention_seconds),
///                 "set message_retention_seconds to 86400 or more",
///             )],
///             _ => Vec::new(),
///         }
///     }
/// }
/// ```
pub trait Policy: Send + Sync {
    /// Its ID, `pack/name`, as configuration and exceptions name it.
    fn id(&self) -> &'static str;
    /// One sentence: what it requires.
    fn description(&self) -> &'static str;
    /// Its level when the stack's config names none (it may depend on the stack).
    fn default_level(&self, ctx: &PolicyContext) -> Level;
    /// What is wrong with `resource`; nothing when it complies.
    fn check(&self, resource: &ResourceDoc, ctx: &PolicyContext) -> Vec<Finding>;
}

/// What policies read beside the resource: the stack and the settings.
#[derive(Debug, Clone)]
pub struct PolicyContext {
    /// The stack.
    pub stack: StackInfo,
    /// The pack settings (`[policy.settings]`).
    pub settings: Settings,
}

/// The settings of the built-in pack, each with its default; a stack's
/// `[policy.settings]` changes them.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Tags every taggable resource carries.
    pub required_tags: Vec<String>,
    /// The GPU instance types node groups may use: exact types (`p5.48xlarge`)
    /// or whole families (`g5.*`).
    pub allowed_gpu_instance_types: Vec<String>,
    /// The most nodes one node group may grow to (its `scaling.max_size`).
    pub max_nodes_per_group: i32,
}

impl Settings {
    /// True when the allow-list has `instance_type`, or its family as `family.*`.
    pub fn gpu_allowed(&self, instance_type: &str) -> bool {
        let family = instance_type.split_once('.').map_or(instance_type, |(f, _)| f);
        self.allowed_gpu_instance_types.iter().any(|a| a == instance_type || a.strip_suffix(".*") == Some(family))
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            required_tags: ["team", "cost-center", "environment"].map(str::to_owned).to_vec(),
            // The p families (A100, H100: tens of dollars an hour per node) are raised deliberately.
            allowed_gpu_instance_types: ["g4dn.*", "g5.*", "g6.*", "g6e.*"].map(str::to_owned).to_vec(),
            max_nodes_per_group: 16,
        }
    }
}

/// An accepted violation: one policy waived for one resource, with why.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exception {
    /// The policy's ID.
    pub policy: String,
    /// The resource: its name or URN.
    pub resource: String,
    /// Why it is accepted (shown with the finding).
    pub reason: String,
}

/// A stack's policy configuration: `[policy]` in its config file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyConfig {
    /// The built-in packs that apply (default: `["ai"]`; `[]` for none).
    pub packs: Option<Vec<String>>,
    /// Policies written in Rego (`[[policy.rego]]`: `file`, `level`).
    #[serde(default)]
    pub rego: Vec<RegoSource>,
    /// Levels by policy ID, overriding the defaults.
    #[serde(default)]
    pub levels: BTreeMap<String, Level>,
    /// The built-in pack's settings.
    #[serde(default)]
    pub settings: Settings,
    /// Accepted violations.
    #[serde(default, rename = "exception")]
    pub exceptions: Vec<Exception>,
}

/// One finding of one policy on one resource, with its level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The policy's ID.
    pub policy: String,
    /// Its level for this stack.
    pub level: Level,
    /// The resource.
    pub urn: String,
    /// The finding.
    pub finding: Finding,
    /// The reason of the exception waiving it, if one does.
    pub waived: Option<String>,
}

/// What evaluating the policies found.
#[derive(Debug, Clone, Default)]
pub struct PolicyReport {
    /// Every violation, by resource then policy; waived ones included.
    pub violations: Vec<Violation>,
    /// How many policies ran (not disabled).
    pub policies: usize,
    /// How many resources they read.
    pub resources: usize,
}

impl PolicyReport {
    /// The violations that block `up`: mandatory and not waived.
    pub fn blocking(&self) -> impl Iterator<Item = &Violation> {
        self.violations.iter().filter(|v| v.level == Level::Mandatory && v.waived.is_none())
    }

    /// True when `up` may apply the plan.
    pub fn passes(&self) -> bool {
        self.blocking().next().is_none()
    }
}

/// The policies a stack runs, with its configuration.
pub struct PolicySet {
    policies: Vec<Box<dyn Policy>>,
    rego: Vec<RegoPolicy>,
    config: PolicyConfig,
    /// Every policy is advisory (a stack without `[policy]`: warnings only).
    advisory_only: bool,
}

/// A policy configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// A level or exception names no policy.
    #[error("[policy] names `{policy}`, which is no policy here; known policies: {known}")]
    UnknownPolicy {
        /// The name given.
        policy: String,
        /// The IDs known.
        known: String,
    },
    /// `packs` names no built-in pack.
    #[error("[policy] packs names `{pack}`, which is no built-in pack; the built-in packs: ai")]
    UnknownPack {
        /// The name given.
        pack: String,
    },
    /// A Rego policy cannot be read, parsed or evaluated.
    #[error(transparent)]
    Rego(#[from] RegoError),
}

impl PolicySet {
    /// `policies` as `config` sets them. With `advisory_only`, every violation is a warning.
    pub fn new(policies: Vec<Box<dyn Policy>>, config: PolicyConfig, advisory_only: bool) -> Result<Self, PolicyError> {
        let set = Self { policies, rego: Vec::new(), config, advisory_only };
        set.check_names()?;
        Ok(set)
    }

    /// A stack's policies: the built-in packs its config names (all of them by
    /// default) and its Rego files, read relative to `base` (the config's directory).
    pub fn for_stack(config: PolicyConfig, advisory_only: bool, base: &Path) -> Result<Self, PolicyError> {
        let mut policies = Vec::new();
        for pack in config.packs.clone().unwrap_or_else(|| vec!["ai".to_owned()]) {
            match pack.as_str() {
                "ai" => policies.extend(crate::ai_pack::policies()),
                _ => return Err(PolicyError::UnknownPack { pack }),
            }
        }
        let rego = config.rego.iter().map(|source| RegoPolicy::load(source, base)).collect::<Result<_, _>>()?;
        let set = Self { policies, rego, config, advisory_only };
        set.check_names()?;
        Ok(set)
    }

    /// Every policy ID a level or an exception names is one of the set's.
    fn check_names(&self) -> Result<(), PolicyError> {
        let ids: Vec<&str> =
            self.policies.iter().map(|p| p.id()).chain(self.rego.iter().map(|r| r.id.as_str())).collect();
        let named = self.config.levels.keys().chain(self.config.exceptions.iter().map(|e| &e.policy));
        for id in named {
            if !ids.contains(&id.as_str()) {
                return Err(PolicyError::UnknownPolicy { policy: id.clone(), known: ids.join(", ") });
            }
        }
        Ok(())
    }

    /// Adds a policy of the program's own.
    pub fn with(mut self, policy: Box<dyn Policy>) -> Self {
        self.policies.push(policy);
        self
    }

    /// The policies, with their levels for `stack`.
    pub fn levels(&self, stack: &StackInfo) -> Vec<(&dyn Policy, Level)> {
        let ctx = PolicyContext { stack: stack.clone(), settings: self.config.settings.clone() };
        self.policies.iter().map(|p| (p.as_ref(), self.level_of(p.as_ref(), &ctx))).collect()
    }

    fn level_of(&self, policy: &dyn Policy, ctx: &PolicyContext) -> Level {
        self.capped(self.config.levels.get(policy.id()).copied().unwrap_or_else(|| policy.default_level(ctx)))
    }

    fn capped(&self, level: Level) -> Level {
        if self.advisory_only { level.min(Level::Advisory) } else { level }
    }

    /// The reason of the exception waiving `policy` for the resource `urn`, if one does.
    fn waiver(&self, policy: &str, urn: &str) -> Option<String> {
        let name = urn.rsplit("::").next().unwrap_or(urn);
        self.config
            .exceptions
            .iter()
            .find(|e| e.policy == policy && (e.resource == name || e.resource == urn))
            .map(|e| e.reason.clone())
    }

    /// Runs every policy over every resource of `doc` (the Rego ones once
    /// over its JSON form). A Rego policy that fails to evaluate is an error:
    /// a broken policy never passes a plan.
    pub fn evaluate(&self, doc: &PlanDocument) -> Result<PolicyReport, PolicyError> {
        let ctx = PolicyContext { stack: doc.stack.clone(), settings: self.config.settings.clone() };
        let active: Vec<(&dyn Policy, Level)> = self
            .policies
            .iter()
            .map(|p| (p.as_ref(), self.level_of(p.as_ref(), &ctx)))
            .filter(|(_, level)| *level != Level::Disabled)
            .collect();
        let mut violations = Vec::new();
        for resource in &doc.resources {
            for (policy, level) in &active {
                for finding in policy.check(resource, &ctx) {
                    violations.push(Violation {
                        policy: policy.id().to_owned(),
                        level: *level,
                        urn: resource.urn.to_string(),
                        waived: self.waiver(policy.id(), resource.urn.as_str()),
                        finding,
                    });
                }
            }
        }
        let rego: Vec<(&RegoPolicy, Level)> = self
            .rego
            .iter()
            .map(|r| (r, self.capped(self.config.levels.get(&r.id).copied().unwrap_or(r.level))))
            .filter(|(_, level)| *level != Level::Disabled)
            .collect();
        if !rego.is_empty() {
            let input = doc.to_json();
            for (policy, level) in &rego {
                for (urn, finding) in policy.evaluate(&input)? {
                    violations.push(Violation {
                        policy: policy.id.clone(),
                        level: *level,
                        waived: self.waiver(&policy.id, &urn),
                        urn,
                        finding,
                    });
                }
            }
        }
        Ok(PolicyReport { violations, policies: active.len() + rego.len(), resources: doc.resources.len() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ai_pack;
    use cairn_core::{ProjectName, ResourceKind, ResourceType, StackName, Urn, Value};
    use cairn_engine::Op;

    fn doc(stack: &str) -> PlanDocument {
        let ty = ResourceType::new("aws:sqs:Queue").unwrap();
        let urn =
            Urn::new(&StackName::new(stack).unwrap(), &ProjectName::new("p").unwrap(), None, &ty, "Raw_Queue").unwrap();
        let new = Value::from_serialize(&serde_json::json!({"tags": {"team": "ml"}})).unwrap();
        let resource = ResourceDoc { urn, ty, kind: ResourceKind::Custom, op: Op::Create, old: None, new, cost: None };
        PlanDocument { stack: StackInfo { stack: stack.into(), ..StackInfo::default() }, resources: vec![resource] }
    }

    fn config(toml_text: &str) -> PolicyConfig {
        serde_json::from_value(serde_json::to_value(toml_text.parse::<toml::Table>().unwrap()).unwrap()).unwrap()
    }

    #[test]
    fn levels_come_from_the_policy_unless_the_stack_sets_them() {
        let set = PolicySet::new(ai_pack::policies(), PolicyConfig::default(), false).unwrap();
        let report = set.evaluate(&doc("dev")).unwrap();
        let by_policy: Vec<(&str, Level)> = report.violations.iter().map(|v| (v.policy.as_str(), v.level)).collect();
        assert_eq!(by_policy, [("ai/required-tags", Level::Mandatory), ("ai/naming", Level::Advisory)]);
        assert!(!report.passes());

        let relaxed = config("[levels]\n\"ai/required-tags\" = \"advisory\"\n\"ai/naming\" = \"disabled\"\n");
        let report = PolicySet::new(ai_pack::policies(), relaxed, false).unwrap().evaluate(&doc("dev")).unwrap();
        assert!(report.passes() && report.violations.len() == 1, "{report:?}");
        assert_eq!(report.policies, ai_pack::policies().len() - 2, "naming and the prod-only endpoint rule are off");
    }

    #[test]
    fn a_stack_without_policy_config_gets_warnings_only() {
        let report =
            PolicySet::new(ai_pack::policies(), PolicyConfig::default(), true).unwrap().evaluate(&doc("dev")).unwrap();
        assert!(report.passes() && report.violations.iter().all(|v| v.level == Level::Advisory));
    }

    #[test]
    fn an_exception_waives_one_policy_for_one_resource_with_its_reason() {
        let waived = config(
            "[[exception]]\npolicy = \"ai/required-tags\"\nresource = \"Raw_Queue\"\nreason = \"legacy queue, SEC-12\"\n",
        );
        let report = PolicySet::new(ai_pack::policies(), waived, false).unwrap().evaluate(&doc("dev")).unwrap();
        assert!(report.passes());
        let tags: Vec<_> = report.violations.iter().filter(|v| v.policy == "ai/required-tags").collect();
        assert!(tags.len() == 1 && tags[0].waived.as_deref() == Some("legacy queue, SEC-12"));
    }

    #[test]
    fn a_policy_no_pack_has_is_refused_naming_the_known_ones() {
        let wrong = config("[levels]\n\"ai/required-tag\" = \"advisory\"\n");
        let e = PolicySet::new(ai_pack::policies(), wrong, false).err().unwrap().to_string();
        assert!(e.contains("`ai/required-tag`, which is no policy here") && e.contains("ai/required-tags"), "{e}");
    }
}
