//! The plan document policies read: each resource the program declares,
//! with its step's operation, its old and new inputs, and its components;
//! the stack, its config and its tags. Rust policies read it through typed
//! arguments ([`ResourceDoc::args`]); its JSON form ([`PlanDocument::to_json`])
//! is versioned ([`DOCUMENT_VERSION`]) for policies written in other languages.

use std::collections::BTreeMap;

use cairn_core::schema::TypedArgs;
use cairn_core::{ResourceKind, ResourceType, Urn, Value};
use cairn_engine::Op;
use cairn_engine::Plan;

/// The version of the document's JSON form; it changes only when a field
/// changes meaning or goes away.
pub const DOCUMENT_VERSION: u32 = 1;

/// What the stack a plan is for says about itself.
#[derive(Debug, Clone, Default)]
pub struct StackInfo {
    /// The project.
    pub project: String,
    /// The stack (`dev`, `staging`, `prod`).
    pub stack: String,
    /// The stack's `[config]` values (sealed ones left out).
    pub config: BTreeMap<String, serde_json::Value>,
    /// The stack's `[tags]`.
    pub tags: BTreeMap<String, String>,
}

impl StackInfo {
    /// True for a production stack: its name is `prod` or starts with `prod-`/`production`.
    pub fn is_prod(&self) -> bool {
        self.stack == "prod" || self.stack.starts_with("prod-") || self.stack.starts_with("production")
    }
}

/// One declared resource, as a policy sees it.
#[derive(Debug, Clone)]
pub struct ResourceDoc {
    /// Its URN.
    pub urn: Urn,
    /// Its type.
    pub ty: ResourceType,
    /// Custom or component.
    pub kind: ResourceKind,
    /// What the plan does to it.
    pub op: Op,
    /// Its recorded inputs, when the state has it.
    pub old: Option<Value>,
    /// The inputs it will have (unknowns where they come from resources not made yet).
    pub new: Value,
    /// Its monthly cost estimate after the plan, when it is priced.
    pub cost: Option<MonthlyCost>,
}

/// A resource's monthly cost estimate, in USD.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MonthlyCost {
    /// At the size asked for.
    pub desired: f64,
    /// At the most it may scale to.
    pub max: f64,
}

impl ResourceDoc {
    /// Its type token, e.g. `aws:eks:NodeGroup`.
    pub fn type_token(&self) -> &str {
        self.ty.as_str()
    }

    /// Its new inputs as the argument struct `A` of its type, when it is of
    /// that type and they parse (unknown inputs read as `Input::Unknown`).
    pub fn args<A: TypedArgs>(&self) -> Option<A> {
        if self.type_token() != A::SCHEMA.token {
            return None;
        }
        self.new.deserialize_into().ok()
    }

    /// The types of the components it is declared in, outermost first.
    pub fn component_types(&self) -> Vec<&str> {
        let chain: Vec<&str> = self.urn.type_chain().split('$').collect();
        chain[..chain.len().saturating_sub(1)].to_vec()
    }
}

/// Everything a policy reads.
#[derive(Debug, Clone)]
pub struct PlanDocument {
    /// The stack.
    pub stack: StackInfo,
    /// Every resource the program declares (deleted ones are not: nothing of them stays).
    pub resources: Vec<ResourceDoc>,
}

impl PlanDocument {
    /// The document of `plan`, for `stack`.
    pub fn new(plan: &Plan, stack: StackInfo) -> Self {
        let resources = plan
            .steps
            .iter()
            .filter_map(|step| {
                // Resources being deleted are left out: nothing of them stays.
                let new = step.desired()?;
                Some(ResourceDoc {
                    urn: step.urn.clone(),
                    ty: step.ty.clone(),
                    kind: step.kind,
                    op: step.op(),
                    old: step.recorded().map(|o| o.inputs.clone()),
                    new: new.inputs.clone(),
                    cost: None,
                })
            })
            .collect();
        Self { stack, resources }
    }

    /// The document with each resource's cost estimate, from `cost_of` its URN.
    pub fn with_costs(mut self, cost_of: impl Fn(&Urn) -> Option<MonthlyCost>) -> Self {
        for r in &mut self.resources {
            r.cost = cost_of(&r.urn);
        }
        self
    }

    /// The JSON form (documented in docs/policy.md). Secrets are masked.
    pub fn to_json(&self) -> serde_json::Value {
        let resources: Vec<serde_json::Value> = self
            .resources
            .iter()
            .map(|r| {
                serde_json::json!({
                    "urn": r.urn.as_str(),
                    "type": r.type_token(),
                    "name": r.urn.name(),
                    "kind": match r.kind { ResourceKind::Custom => "custom", ResourceKind::Component => "component" },
                    "operation": r.op.word(),
                    "components": r.component_types(),
                    "old": r.old.as_ref().map(masked),
                    "new": masked(&r.new),
                    "cost": r.cost.map(|c| serde_json::json!({"desired": c.desired, "max": c.max})),
                })
            })
            .collect();
        serde_json::json!({
            "version": DOCUMENT_VERSION,
            "project": self.stack.project,
            "stack": self.stack.stack,
            "config": self.stack.config,
            "tags": self.stack.tags,
            "resources": resources,
        })
    }
}

/// A plan document that cannot be read back.
#[derive(Debug, thiserror::Error)]
#[error("not a plan document (version {DOCUMENT_VERSION}): {0}; write one with `preview --policy-input FILE`")]
pub struct DocumentError(String);

/// The expectations a saved document may carry for `policy test`: the
/// `(policy, urn)` of each violation it should produce, waived ones aside.
pub fn expectations(doc: &serde_json::Value) -> Option<Vec<(String, String)>> {
    let expect = doc.get("expect")?.as_array()?;
    Some(
        expect
            .iter()
            .map(|e| {
                let text = |k: &str| e.get(k).and_then(|v| v.as_str()).unwrap_or_default().to_owned();
                (text("policy"), text("urn"))
            })
            .collect(),
    )
}

impl PlanDocument {
    /// Reads back the JSON form (for `policy test` over saved documents);
    /// masked secrets and unknowns stay the strings they were written as.
    pub fn from_json(doc: &serde_json::Value) -> Result<Self, DocumentError> {
        let err = |m: String| DocumentError(m);
        let version = doc.get("version").and_then(serde_json::Value::as_u64);
        if version != Some(u64::from(DOCUMENT_VERSION)) {
            return Err(err(format!("`version` is {version:?}")));
        }
        let text = |v: &serde_json::Value, k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_owned);
        let stack = StackInfo {
            project: text(doc, "project").unwrap_or_default(),
            stack: text(doc, "stack").ok_or_else(|| err("`stack` is missing".into()))?,
            config: serde_json::from_value(doc.get("config").cloned().unwrap_or_default()).unwrap_or_default(),
            tags: serde_json::from_value(doc.get("tags").cloned().unwrap_or_default()).unwrap_or_default(),
        };
        let resources = doc
            .get("resources")
            .and_then(|r| r.as_array())
            .ok_or_else(|| err("`resources` is missing".into()))?
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let at = |m: &str| err(format!("resources[{i}]: {m}"));
                let urn = text(r, "urn").ok_or_else(|| at("`urn` is missing"))?;
                let urn = Urn::parse(&urn).map_err(|e| at(&e.to_string()))?;
                let op: Op = serde_json::from_value(r.get("operation").cloned().unwrap_or_default())
                    .map_err(|e| at(&format!("`operation`: {e}")))?;
                let kind = match text(r, "kind").as_deref() {
                    Some("component") => ResourceKind::Component,
                    _ => ResourceKind::Custom,
                };
                let old = r.get("old").filter(|o| !o.is_null()).map(Value::from_json);
                let new = Value::from_json(r.get("new").unwrap_or(&serde_json::Value::Null));
                let cost = r.get("cost").and_then(|c| {
                    Some(MonthlyCost { desired: c.get("desired")?.as_f64()?, max: c.get("max")?.as_f64()? })
                });
                Ok(ResourceDoc { ty: urn.resource_type(), urn, kind, op, old, new, cost })
            })
            .collect::<Result<_, DocumentError>>()?;
        Ok(Self { stack, resources })
    }
}

/// JSON with secrets shown as `"[secret]"` and unknowns as `"[unknown]"`.
fn masked(v: &Value) -> serde_json::Value {
    match v {
        Value::Secret(_) => serde_json::Value::String("[secret]".into()),
        Value::Unknown => serde_json::Value::String("[unknown]".into()),
        Value::List(l) => serde_json::Value::Array(l.iter().map(masked).collect()),
        Value::Map(m) => serde_json::Value::Object(m.iter().map(|(k, v)| (k.clone(), masked(v))).collect()),
        other => other.to_json(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_json_form_reads_back() {
        let doc = serde_json::json!({
            "version": 1, "project": "p", "stack": "dev", "config": {"n": 2}, "tags": {"team": "ml"},
            "resources": [{
                "urn": "urn:cairn:dev::p::cairn:ai:TrainingPipeline$aws:eks:NodeGroup::nodes",
                "type": "aws:eks:NodeGroup", "name": "nodes", "kind": "custom", "operation": "create",
                "components": ["cairn:ai:TrainingPipeline"], "old": null, "new": {"capacity_type": "SPOT"},
                "cost": {"desired": 315.8, "max": 631.6}
            }],
            "expect": [{"policy": "ai/required-tags", "urn": "urn:x"}]
        });
        let read = PlanDocument::from_json(&doc).unwrap();
        assert_eq!(read.stack.stack, "dev");
        assert_eq!(read.resources[0].component_types(), ["cairn:ai:TrainingPipeline"]);
        assert_eq!(read.resources[0].op, Op::Create);
        let mut again = read.to_json();
        again["expect"] = doc["expect"].clone();
        assert_eq!(again, doc, "written back the same");
        assert_eq!(expectations(&doc).unwrap(), [("ai/required-tags".to_owned(), "urn:x".to_owned())]);

        let e = PlanDocument::from_json(&serde_json::json!({"version": 2})).unwrap_err().to_string();
        assert!(e.contains("`version` is Some(2)") && e.contains("preview --policy-input"), "{e}");
        let bad = serde_json::json!({"version": 1, "stack": "dev", "resources": [{"urn": "u"}]});
        assert!(PlanDocument::from_json(&bad).unwrap_err().to_string().contains("resources[0]"));
    }
}
