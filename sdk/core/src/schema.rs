//! Declarative descriptions of resource types.
//!
//! One [`ResourceSchema`] per type says, for each property, whether a change
//! is applied in place or forces a replacement; [`TypedArgs`] ties it to the
//! type's argument struct and validation. The provider SDK
//! (`cairn-provider-sdk`) derives Check, Diff and auto-naming from them, and
//! [`reference_markdown`] the reference docs, so a provider's per-type code is
//! only the cloud calls.

use std::collections::BTreeSet;

pub use cairn_derive::TypedArgs;

use crate::provider::CheckFailure;
use crate::value::{DEFAULTS_KEY, Value};

/// What changing a property does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Applied to the existing resource.
    InPlace,
    /// Forces the resource to be replaced.
    Replace,
}

/// One input property of a resource type, as `#[derive(TypedArgs)]` reads it
/// from the argument struct's field.
#[derive(Debug, Clone, Copy)]
pub struct PropertySchema {
    /// The property name, as in the inputs (the field's serde name).
    pub name: &'static str,
    /// What changing it does (`#[args(replace)]` on the field forces a replacement).
    pub change: Change,
    /// The program must set it: neither an `Option` nor defaulted by serde or the builder.
    pub required: bool,
    /// Its value is meant to be a secret output (`#[args(secret)]`).
    pub secret: bool,
    /// The field's doc comment, as one paragraph.
    pub doc: &'static str,
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

/// A resource type's typed arguments as providers and tools need them: the
/// type's schema and what the arguments themselves can tell. Derived on the
/// argument struct, in the crate programs link:
///
/// ```
/// use cairn_core::schema::{Change, TypedArgs};
/// use cairn_core::{CheckFailure, Input};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize, TypedArgs)]
/// #[args(
///     doc = "A message queue.",
///     outputs = QueueOutputs,
///     auto_name(property = "name", max_len = 80),
///     no_validate
/// )]
/// pub struct QueueArgs {
///     /// The queue name; generated when absent.
///     #[args(replace)]
///     #[serde(default, skip_serializing_if = "Option::is_none")]
///     pub name: Option<Input<String>>,
///     /// Seconds a message stays hidden once received.
///     pub visibility_timeout: i32,
/// }
///
/// cairn_core::resource! {
///     /// A queue.
///     Queue, token = "example:mq:Queue", args = QueueArgs, outputs = QueueOutputs {
///         /// Its URL.
///         url: String,
///     }
/// }
///
/// let schema = QueueArgs::SCHEMA;
/// assert_eq!(schema.token, "example:mq:Queue");
/// assert_eq!(schema.property("name").unwrap().change, Change::Replace);
/// assert!(schema.property("visibility_timeout").unwrap().required);
/// assert_eq!(schema.property("visibility_timeout").unwrap().doc, "Seconds a message stays hidden once received.");
/// assert_eq!(schema.outputs[0].0, "url");
/// ```
///
/// Container attributes, `#[args(...)]`: `doc = "..."` (the type's paragraph
/// in the reference), `outputs = T` (the outputs struct `resource!` made),
/// `auto_name(property = "...", max_len = EXPR, lowercase, reserved_prefix = EXPR)`,
/// `validate = PATH` (called as `PATH(&args)`; by default the struct's own
/// `validate()` method) or `no_validate`, `warnings = PATH`, `raw_failures = PATH`
/// and `deletes_first = PATH` (the trait's methods below). Field attributes:
/// `#[args(replace)]` (a change replaces the resource) and `#[args(secret)]`.
///
/// The derive also implements [`RustLiteral`](crate::rust_code::RustLiteral),
/// writing the arguments as their builder chain (what `import` prints); the
/// types of the fields must implement it too (`#[derive(RustLiteral)]`).
pub trait TypedArgs: serde::Serialize + serde::de::DeserializeOwned + crate::rust_code::RustLiteral {
    /// The type's schema.
    const SCHEMA: &'static ResourceSchema;

    /// Refusals beyond the schema's structure (sizes, combinations), each naming its property.
    fn failures(&self) -> Vec<CheckFailure>;

    /// Refusals that need the raw inputs, which still carry the secret
    /// markers the typed arguments drop.
    fn raw_failures(_inputs: &Value) -> Vec<CheckFailure> {
        Vec::new()
    }

    /// Warnings: accepted, but shown in the plan (a wildcard IAM action).
    fn warnings(&self) -> Vec<CheckFailure> {
        Vec::new()
    }

    /// True when replacing a resource with these recorded (`olds`) and new
    /// inputs must delete the old one first, because both could not exist
    /// at once (beyond the fixed-name case the schema already knows).
    fn replace_deletes_first(_olds: &Value, _news: &Value) -> bool {
        false
    }
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
                if p.secret {
                    format!("Secret: sealed in the state, masked in plans. {}", cell(p.doc))
                } else {
                    cell(p.doc)
                }
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

/// The test every provider package runs on its page under `docs/reference/`:
/// the page must be exactly [`reference_markdown`] of its schemas, and every
/// property must have a description. With `CAIRN_UPDATE_DOCS` set (as
/// `cargo xtask docs` runs it), the page is rewritten first.
///
/// The error names the page and the fix.
pub fn check_reference_page(page: &std::path::Path, package: &str, schemas: &[&ResourceSchema]) -> Result<(), String> {
    let generated = reference_markdown(package, schemas);
    if std::env::var_os("CAIRN_UPDATE_DOCS").is_some() {
        std::fs::write(page, &generated).map_err(|e| format!("cannot write {}: {e}", page.display()))?;
    }
    let current = std::fs::read_to_string(page).unwrap_or_default();
    if current != generated {
        return Err(format!(
            "{} is not what the `{package}` schemas say: run `cargo xtask docs` and commit the result",
            page.display()
        ));
    }
    match schemas.iter().flat_map(|s| s.properties.iter().map(move |p| (s, p))).find(|(_, p)| p.doc.is_empty()) {
        Some((schema, p)) => Err(format!("{}.{} has no description: write its doc comment", schema.token, p.name)),
        None => Ok(()),
    }
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
