//! The plan document policies read: each resource the program declares,
//! with its step's operation, its old and new inputs, and its components;
//! the stack, its config and its tags. Rust policies read it through typed
//! arguments ([`ResourceDoc::args`]); its JSON form ([`PlanDocument::to_json`])
//! is versioned ([`DOCUMENT_VERSION`]) for policies written in other languages.

use std::collections::BTreeMap;

use cairn_core::schema::TypedArgs;
use cairn_core::{ResourceKind, ResourceType, Urn, Value};
use cairn_engine::Plan;
use cairn_engine::{Change, Op};

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
                let (old, new) = match &step.change {
                    Change::Create { new } | Change::Import { new, .. } => (None, new),
                    Change::Update { old, new, .. } | Change::Replace { old, new, .. } | Change::Same { old, new } => {
                        (Some(old.inputs.clone()), new)
                    }
                    Change::Delete { .. } => return None,
                };
                Some(ResourceDoc {
                    urn: step.urn.clone(),
                    ty: step.ty.clone(),
                    kind: step.kind,
                    op: step.op(),
                    old,
                    new: new.inputs.clone(),
                })
            })
            .collect();
        Self { stack, resources }
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
