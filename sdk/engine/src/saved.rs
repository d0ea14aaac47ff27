//! Saved plans: what a reviewer approved, in a form that can be written to a
//! file and compared with the plan `up` makes from the same program later.
//!
//! `up --plan FILE` applies a saved plan only when planning again gives the
//! same steps (same resources, operations, inputs, replacements, imports and
//! options) and the same drift: then what is applied is exactly what was
//! reviewed. Anything else is named, so the reviewer knows what moved.

use cairn_core::{Urn, Value};
use serde::{Deserialize, Serialize};

use crate::plan::{Op, Plan, Step};
use crate::refresh::DriftKind;

/// One step as a saved plan records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    /// The resource.
    pub urn: Urn,
    /// What happens to it.
    pub op: Op,
    /// The inputs it is given (absent for a delete). Unknowns stay unknown;
    /// secrets are secret values, which a plan file must seal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inputs: Option<Value>,
    /// The properties that force a replacement.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replaces: Vec<String>,
    /// Whether a replacement deletes first.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub delete_first: bool,
    /// The ID an import adopts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub import_id: Option<String>,
    /// Its parent component.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<Urn>,
    /// Its dependencies.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dependencies: Vec<Urn>,
    /// The protect option.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub protect: bool,
    /// The named provider instance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
}

impl StepRecord {
    fn of(s: &Step) -> Self {
        let desired = s.desired();
        Self {
            urn: s.urn.clone(),
            op: s.op(),
            inputs: desired.map(|d| d.inputs.clone()),
            replaces: s.replaces.iter().map(ToString::to_string).collect(),
            delete_first: s.delete_before_replace(),
            import_id: s.import_id().map(str::to_owned),
            parent: desired.and_then(|d| d.parent.clone()),
            dependencies: desired.map(|d| d.dependencies.clone()).unwrap_or_default(),
            protect: desired.is_some_and(|d| d.protect),
            provider: desired.and_then(|d| d.provider.clone()),
        }
    }
}

/// What a plan does, as a saved plan records it: its steps and, when it was
/// made after a refresh, one line per drifted resource.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PlanRecord {
    /// Every step, unchanged resources included (their inputs feed others).
    pub steps: Vec<StepRecord>,
    /// `URN: missing` or `URN: changed PATH, PATH` for each drifted resource.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drift: Vec<String>,
    /// `OLD -> NEW` for each record an alias takes over.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub moves: Vec<String>,
}

impl PlanRecord {
    /// The record of `plan`.
    pub fn of(plan: &Plan) -> Self {
        let drift = plan
            .refresh
            .iter()
            .flat_map(|r| &r.drifted)
            .map(|d| match &d.kind {
                DriftKind::Missing => format!("{}: missing", d.urn),
                DriftKind::Changed(props) => format!(
                    "{}: changed {}",
                    d.urn,
                    props.iter().map(|p| p.path.to_string()).collect::<Vec<_>>().join(", ")
                ),
            })
            .collect();
        let moves = plan.moves.iter().map(|m| format!("{} -> {}", m.from, m.to)).collect();
        Self { steps: plan.steps.iter().map(StepRecord::of).collect(), drift, moves }
    }

    /// How `now` differs from this record, one line each (at most `limit`,
    /// then a count of the rest); empty when they are the same. Secret
    /// values are compared but never shown.
    pub fn differences(&self, now: &PlanRecord, limit: usize) -> Vec<String> {
        let mut out = Vec::new();
        for s in &self.steps {
            match now.steps.iter().find(|n| n.urn == s.urn) {
                None => out.push(format!("{} ({}) is no longer in the plan", s.urn, op_name(s.op))),
                Some(n) => step_differences(s, n, &mut out),
            }
        }
        for n in now.steps.iter().filter(|n| !self.steps.iter().any(|s| s.urn == n.urn)) {
            out.push(format!("{} ({}) is new in the plan", n.urn, op_name(n.op)));
        }
        if self.drift != now.drift {
            out.push(format!(
                "the drift found differs: saved [{}], now [{}]",
                self.drift.join("; "),
                now.drift.join("; ")
            ));
        }
        if self.moves != now.moves {
            out.push(format!("the renames differ: saved [{}], now [{}]", self.moves.join("; "), now.moves.join("; ")));
        }
        if out.len() > limit {
            let rest = out.len() - limit;
            out.truncate(limit);
            out.push(format!("... and {rest} more"));
        }
        out
    }
}

fn op_name(op: Op) -> &'static str {
    match op {
        Op::Same => "unchanged",
        other => other.word(),
    }
}

fn step_differences(saved: &StepRecord, now: &StepRecord, out: &mut Vec<String>) {
    let urn = &saved.urn;
    if saved.op != now.op {
        out.push(format!("{urn}: was to {}, now {}", op_name(saved.op), op_name(now.op)));
    }
    match (&saved.inputs, &now.inputs) {
        // Equality is the test (an unknown equals an unknown; a secret only
        // a secret); the diff only names where.
        (Some(a), Some(b)) if a != b => {
            let before = out.len();
            for d in a.diff(b).into_iter().chain(secret_differences(a, b)) {
                let (was, is) = (a.at(&d.path), b.at(&d.path));
                if was == is {
                    continue;
                }
                let show = |v: Option<&Value>| v.map_or_else(|| "(absent)".to_owned(), ToString::to_string);
                out.push(format!("{urn}: input `{}` was {}, now {}", d.path, show(was), show(is)));
            }
            if out.len() == before {
                out.push(format!("{urn}: its inputs changed"));
            }
        }
        (Some(_), Some(_)) => {}
        (None, None) => {}
        _ => out.push(format!("{urn}: its inputs changed")),
    }
    if saved.replaces != now.replaces || saved.delete_first != now.delete_first {
        out.push(format!(
            "{urn}: replaced because of [{}], now [{}]",
            saved.replaces.join(", "),
            now.replaces.join(", ")
        ));
    }
    if saved.import_id != now.import_id {
        out.push(format!("{urn}: the import ID changed"));
    }
    if saved.parent != now.parent
        || saved.dependencies != now.dependencies
        || saved.protect != now.protect
        || saved.provider != now.provider
    {
        out.push(format!("{urn}: its parent, dependencies or protect option changed"));
    }
}

/// Paths where a value became secret or stopped being one (`Value::diff`
/// compares what is inside a secret, not whether it is one).
fn secret_differences(a: &Value, b: &Value) -> Vec<cairn_core::PropertyDiff> {
    let mut out = Vec::new();
    fn walk(path: cairn_core::PropertyPath, a: &Value, b: &Value, out: &mut Vec<cairn_core::PropertyDiff>) {
        match (a, b) {
            (Value::Secret(_), Value::Secret(_)) => {}
            (Value::Secret(_), _) | (_, Value::Secret(_)) => {
                out.push(cairn_core::PropertyDiff { path, kind: cairn_core::DiffKind::Update, detail: None })
            }
            (Value::Map(x), Value::Map(y)) => {
                for (k, v) in x {
                    if let Some(w) = y.get(k) {
                        walk(path.key(k), v, w, out);
                    }
                }
            }
            (Value::List(x), Value::List(y)) => {
                for (i, (v, w)) in x.iter().zip(y).enumerate() {
                    walk(path.index(i), v, w, out);
                }
            }
            _ => {}
        }
    }
    walk(cairn_core::PropertyPath::root(), a, b, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(op: Op, inputs: serde_json::Value) -> StepRecord {
        StepRecord {
            urn: Urn::parse("urn:cairn:dev::p::aws:s3:Bucket::models").unwrap(),
            op,
            inputs: Some(Value::from_json(&inputs)),
            replaces: vec![],
            delete_first: false,
            import_id: None,
            parent: None,
            dependencies: vec![],
            protect: false,
            provider: None,
        }
    }

    fn plan(steps: Vec<StepRecord>) -> PlanRecord {
        PlanRecord { steps, drift: vec![], moves: vec![] }
    }

    #[test]
    fn the_same_plan_has_no_differences_and_survives_json() {
        let a = plan(vec![record(
            Op::Create,
            serde_json::json!({"tags": {"team": "ml"}, "arn": {"$cairn.unknown": true}}),
        )]);
        let back: PlanRecord = serde_json::from_str(&serde_json::to_string(&a).unwrap()).unwrap();
        assert_eq!(back, a);
        assert!(a.differences(&back, 10).is_empty());
    }

    #[test]
    fn a_changed_input_and_operation_are_named() {
        let a = plan(vec![record(Op::Create, serde_json::json!({"tags": {"team": "ml"}}))]);
        let b = plan(vec![record(Op::Update, serde_json::json!({"tags": {"team": "ops"}}))]);
        let d = a.differences(&b, 10);
        assert_eq!(d.len(), 2, "{d:?}");
        assert!(d[0].ends_with("::models: was to create, now update"), "{d:?}");
        assert!(d[1].contains("input `tags.team` was \"ml\", now \"ops\""), "{d:?}");
    }

    #[test]
    fn secrets_are_compared_but_never_shown() {
        let secret = |s: &str| Value::from(s).into_secret();
        let mut a = record(Op::Create, serde_json::json!({}));
        let mut b = a.clone();
        a.inputs = Some([("password", secret("hunter2"))].into_iter().collect());
        b.inputs = Some([("password", secret("hunter3"))].into_iter().collect());
        let d = plan(vec![a.clone()]).differences(&plan(vec![b]), 10);
        assert_eq!(d.len(), 1, "{d:?}");
        assert!(d[0].contains("[secret]") && !d[0].contains("hunter"), "{d:?}");
        let mut plain = a.clone();
        plain.inputs = Some([("password", Value::from("hunter2"))].into_iter().collect());
        assert_eq!(plan(vec![a]).differences(&plan(vec![plain]), 10).len(), 1, "no longer secret is a difference");
    }

    #[test]
    fn added_and_removed_steps_are_named_and_long_lists_cut() {
        let mut other = record(Op::Create, serde_json::json!({}));
        other.urn = Urn::parse("urn:cairn:dev::p::aws:s3:Bucket::logs").unwrap();
        let d = plan(vec![record(Op::Create, serde_json::json!({}))]).differences(&plan(vec![other]), 1);
        assert_eq!(d.len(), 2);
        assert!(d[0].contains("::models (create) is no longer in the plan"), "{d:?}");
        assert_eq!(d[1], "... and 1 more");
    }
}
