//! Declarative descriptions of resource types.
//!
//! One [`ResourceSchema`] per type says, for each property, whether a change
//! is applied in place or forces a replacement. Generic code derives Check's
//! structural checks, Diff and the reference docs from it, so a provider's
//! per-type code is only the cloud calls.

use std::collections::BTreeSet;

use crate::provider::{CheckFailure, DiffResponse};
use crate::urn::Urn;
use crate::value::{DEFAULTS_KEY, PropertyPath, Value};

/// What changing a property does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Applied to the existing resource.
    InPlace,
    /// Forces the resource to be replaced.
    Replace,
}

/// One input property of a resource type.
#[derive(Debug, Clone, Copy)]
pub struct PropertySchema {
    /// The property name, as in the typed arguments (snake_case).
    pub name: &'static str,
    /// What changing it does.
    pub change: Change,
    /// Must be set.
    pub required: bool,
    /// One line of documentation.
    pub doc: &'static str,
}

impl PropertySchema {
    /// A property updated in place.
    pub const fn in_place(name: &'static str, doc: &'static str) -> Self {
        Self { name, change: Change::InPlace, required: false, doc }
    }

    /// A property whose change replaces the resource.
    pub const fn replace(name: &'static str, doc: &'static str) -> Self {
        Self { name, change: Change::Replace, required: false, doc }
    }

    /// The same property, required.
    pub const fn required(mut self) -> Self {
        self.required = true;
        self
    }
}

/// How a type names its physical resource when the program gives no name.
#[derive(Debug, Clone, Copy)]
pub struct AutoName {
    /// The input property holding the physical name.
    pub property: &'static str,
    /// The longest name the cloud accepts.
    pub max_len: usize,
    /// The cloud accepts lowercase names only (S3 buckets).
    pub lowercase: bool,
    /// A prefix the cloud keeps for its own IDs (`sg-` for security
    /// groups), ending in `-`. A generated name that would start with it
    /// gets `_` for that `-` instead (`sg_web-1a2b3c4`), so a logical name
    /// such as `sg` still gets a name the cloud accepts.
    pub reserved_prefix: Option<&'static str>,
}

/// A resource type's description.
#[derive(Debug, Clone, Copy)]
pub struct ResourceSchema {
    /// The type token, e.g. `aws:eks:NodeGroup`.
    pub token: &'static str,
    /// One paragraph of documentation.
    pub doc: &'static str,
    /// The input properties.
    pub properties: &'static [PropertySchema],
    /// Auto-naming, for types with a physical name.
    pub auto_name: Option<AutoName>,
    /// The outputs, computed by the cloud: name and description (the
    /// `FIELDS` of the type's outputs struct, made by [`resource!`](crate::resource)).
    pub outputs: &'static [(&'static str, &'static str)],
}

impl ResourceSchema {
    /// The property called `name`.
    pub fn property(&self, name: &str) -> Option<&PropertySchema> {
        self.properties.iter().find(|p| p.name == name)
    }

    /// Structural checks: unknown properties and missing required ones.
    pub fn check_structure(&self, news: &Value) -> Vec<CheckFailure> {
        let mut failures = Vec::new();
        let Some(map) = news.as_map() else {
            return vec![CheckFailure { property: PropertyPath::root(), reason: "inputs must be a map".into() }];
        };
        for key in map.keys().filter(|k| !k.starts_with("$cairn.")) {
            if self.property(key).is_none() {
                let known: Vec<&str> = self.properties.iter().map(|p| p.name).collect();
                failures.push(CheckFailure {
                    property: PropertyPath::root().key(key),
                    reason: format!("`{}` has no property `{key}`; known properties: {}", self.token, known.join(", ")),
                });
            }
        }
        for p in self.properties.iter().filter(|p| p.required) {
            if matches!(map.get(p.name), None | Some(Value::Null)) {
                failures.push(CheckFailure {
                    property: PropertyPath::root().key(p.name),
                    reason: format!("`{}` is required: set it in the resource's arguments", p.name),
                });
            }
        }
        failures
    }

    /// Fills the auto-name when the program gave none: the recorded one is
    /// kept if there is one (`olds`), otherwise `<logical name>-<7 hex>`.
    /// The filled property is listed under `$cairn.defaults`.
    pub fn fill_auto_name(&self, urn: &Urn, olds: Option<&Value>, news: &mut Value) {
        let (Some(auto), Value::Map(map)) = (self.auto_name, &mut *news) else { return };
        if !matches!(map.get(auto.property), None | Some(Value::Null)) {
            return;
        }
        let previous = olds.filter(|o| defaults_of(o).contains(auto.property)).and_then(|o| o.get(auto.property));
        let name = match previous {
            Some(v) => v.clone(),
            None => Value::String(auto_name(urn.name(), auto)),
        };
        map.insert(auto.property.to_owned(), name);
        let mut defaults = defaults_of(news);
        defaults.insert(auto.property.to_owned());
        if let Value::Map(map) = news {
            map.insert(DEFAULTS_KEY.to_owned(), Value::List(defaults.into_iter().map(Value::String).collect()));
        }
    }

    /// Compares recorded and new inputs property by property.
    ///
    /// A replacement deletes first when the physical name is fixed by the
    /// program and unchanged (two resources cannot share it); auto-named
    /// resources are replaced create-first under a fresh name.
    pub fn diff(&self, olds: &Value, news: &Value) -> DiffResponse {
        let strip = |v: &Value| match v {
            Value::Map(m) => Value::Map(
                m.iter().filter(|(k, _)| !k.starts_with("$cairn.")).map(|(k, v)| (k.clone(), v.clone())).collect(),
            ),
            other => other.clone(),
        };
        let changes = strip(olds).diff(&strip(news));
        let replaces: Vec<PropertyPath> = changes
            .iter()
            .filter(|d| d.path.top().and_then(|t| self.property(t)).is_some_and(|p| p.change == Change::Replace))
            .map(|d| d.path.clone())
            .collect();
        let delete_before_replace = !replaces.is_empty()
            && self.auto_name.is_some_and(|a| {
                !defaults_of(news).contains(a.property) && olds.get(a.property) == news.get(a.property)
            });
        DiffResponse { changes, replaces, delete_before_replace }
    }
}

/// A reference page in Markdown for a package's resource types: per type its
/// description, auto-naming, and a table of properties with what a change
/// does. `docs/reference/` is generated from it, and a test keeps it current.
pub fn reference_markdown(package: &str, schemas: &[&ResourceSchema]) -> String {
    use std::fmt::Write;
    let mut out = format!(
        "# `{package}` resource types\n\n<!-- Generated from the resource schemas; edit those, then run \
         `cargo xtask docs`. -->\n\n"
    );
    let cell = |s: &str| s.replace('|', "\\|").replace('\n', " ");
    for schema in schemas {
        let _ = writeln!(out, "- [`{}`](#{})", schema.token, anchor(schema.token));
    }
    for schema in schemas {
        let _ = write!(out, "\n## {}\n\n{}\n\n", schema.token, schema.doc);
        if let Some(auto) = schema.auto_name {
            let _ = write!(
                out,
                "Auto-named: when `{}` is not set, Check fills `<logical name>-<7 hex>` (at most {} characters{}), \
                 kept across runs.\n\n",
                auto.property,
                auto.max_len,
                if auto.lowercase { ", lowercase" } else { "" }
            );
        }
        out.push_str("| Property | Required | On change | Description |\n|---|---|---|---|\n");
        for p in schema.properties {
            let change = match p.change {
                Change::InPlace => "updated in place",
                Change::Replace => "**replaces**",
            };
            let _ = writeln!(
                out,
                "| `{}` | {} | {change} | {} |",
                p.name,
                if p.required { "yes" } else { "" },
                cell(p.doc)
            );
        }
        if !schema.outputs.is_empty() {
            out.push_str("\nOutputs (computed by the cloud, never reported as changes):\n\n| Output | Description |\n|---|---|\n");
            for (name, doc) in schema.outputs {
                let _ = writeln!(out, "| `{name}` | {} |", cell(doc.trim()));
            }
        }
    }
    out
}

/// The Markdown heading anchor of a type token (`aws:s3:Bucket` → `awss3bucket`).
fn anchor(token: &str) -> String {
    token.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_lowercase()).collect()
}

/// The properties listed under `$cairn.defaults`.
pub fn defaults_of(inputs: &Value) -> BTreeSet<String> {
    match inputs.get(DEFAULTS_KEY) {
        Some(Value::List(l)) => l.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect(),
        _ => BTreeSet::new(),
    }
}

fn auto_name(logical: &str, auto: AutoName) -> String {
    let suffix = &uuid::Uuid::new_v4().simple().to_string()[..7];
    let mut base: String =
        logical.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '-' }).collect();
    if auto.lowercase {
        base = base.to_ascii_lowercase();
    }
    base.truncate(auto.max_len.saturating_sub(8));
    let name = format!("{base}-{suffix}");
    match auto.reserved_prefix {
        Some(reserved) if name.get(..reserved.len()).is_some_and(|p| p.eq_ignore_ascii_case(reserved)) => {
            let cut = reserved.len() - 1;
            format!("{}_{}", &name[..cut], &name[reserved.len()..])
        }
        _ => name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ProjectName, ResourceType, StackName};
    use serde_json::json;

    const SCHEMA: ResourceSchema = ResourceSchema {
        token: "aws:s3:Bucket",
        doc: "",
        properties: &[
            PropertySchema::replace("bucket", "name"),
            PropertySchema::in_place("tags", "tags"),
            PropertySchema::replace("region", "region").required(),
        ],
        auto_name: Some(AutoName { property: "bucket", max_len: 63, lowercase: true, reserved_prefix: None }),
        outputs: &[],
    };

    fn urn() -> Urn {
        let (s, p) = (StackName::new("dev").unwrap(), ProjectName::new("p").unwrap());
        Urn::new(&s, &p, None, &ResourceType::new("aws:s3:Bucket").unwrap(), "Artifacts_1").unwrap()
    }

    #[test]
    fn an_auto_name_never_starts_with_a_reserved_prefix() {
        let auto = AutoName { property: "name", max_len: 255, lowercase: false, reserved_prefix: Some("sg-") };
        let sg = auto_name("sg", auto);
        assert!(sg.starts_with("sg_") && sg.len() == "sg_".len() + 7, "{sg}");
        let web = auto_name("SG-web", auto);
        assert!(web.starts_with("SG_web-"), "{web}");
        assert!(auto_name("web", auto).starts_with("web-"));
        assert!(auto_name("sgx", auto).starts_with("sgx-"), "only the whole prefix counts");
    }

    #[test]
    fn auto_name_is_generated_once_and_kept() {
        let mut news = Value::from_json(&json!({"region": "us-east-1"}));
        SCHEMA.fill_auto_name(&urn(), None, &mut news);
        let name = news.get("bucket").and_then(Value::as_str).unwrap().to_owned();
        assert!(name.starts_with("artifacts-1-") && name.len() == "artifacts-1-".len() + 7, "{name}");
        let mut again = Value::from_json(&json!({"region": "us-east-1"}));
        SCHEMA.fill_auto_name(&urn(), Some(&news), &mut again);
        assert_eq!(again.get("bucket").and_then(Value::as_str), Some(name.as_str()));
    }

    #[test]
    fn diff_marks_replacements_and_delete_first_for_fixed_names() {
        let olds = Value::from_json(&json!({"bucket": "b", "region": "a", "tags": {"x": "1"}}));
        let news = Value::from_json(&json!({"bucket": "b", "region": "b", "tags": {"x": "2"}}));
        let d = SCHEMA.diff(&olds, &news);
        assert_eq!(d.changes.len(), 2);
        assert_eq!(d.replaces, vec![PropertyPath::parse("region")]);
        assert!(d.delete_before_replace, "fixed name `b` cannot exist twice");

        let tags_only = SCHEMA.diff(&olds, &Value::from_json(&json!({"bucket": "b", "region": "a", "tags": {}})));
        assert!(tags_only.replaces.is_empty() && !tags_only.delete_before_replace);
    }

    #[test]
    fn structure_check_names_unknown_and_missing_properties() {
        let f = SCHEMA.check_structure(&Value::from_json(&json!({"colour": "red"})));
        let text: Vec<String> = f.iter().map(|f| format!("{}: {}", f.property, f.reason)).collect();
        assert!(text[0].starts_with("colour: ") && text[0].contains("known properties"), "{text:?}");
        assert!(text[1].starts_with("region: ") && text[1].contains("required"), "{text:?}");
    }
}
