//! `import TYPE NAME ID` (or `import --file FILE`): what to adopt, and the
//! Rust code printed for it. The adoption itself is an `up` of the adopted
//! resources alone (see `cli.rs`); this module parses the requests and
//! writes the declarations the providers return as statements to paste into
//! the program.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, bail};
use cairn_core::{Declaration, ResourceType};

/// One resource to adopt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ImportSpec {
    /// Its type, e.g. `aws:s3:Bucket`.
    pub ty: ResourceType,
    /// The logical name the program will declare it under.
    pub name: String,
    /// Its provider ID (a bucket's name, a VPC's `vpc-…` ID).
    pub id: String,
    /// Where it was asked for, for messages: `the command line` or `FILE:LINE`.
    pub origin: String,
}

impl ImportSpec {
    fn parse(words: &[&str], origin: String) -> anyhow::Result<Self> {
        let [ty, name, id] = words else {
            bail!(
                "{origin}: expected TYPE NAME ID (e.g. `aws:s3:Bucket raw-data acme-raw-data`), found {} word{}",
                words.len(),
                if words.len() == 1 { "" } else { "s" }
            );
        };
        let ty = ResourceType::new(*ty)
            .with_context(|| format!("{origin}: `{ty}` is no resource type; write it as package:module:Type"))?;
        Ok(Self { ty, name: (*name).to_owned(), id: (*id).to_owned(), origin })
    }
}

/// The one resource the command line names.
pub(crate) fn from_args(words: &[String]) -> anyhow::Result<Vec<ImportSpec>> {
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    Ok(vec![ImportSpec::parse(&words, "import".to_owned())?])
}

/// The resources a file lists, one `TYPE NAME ID` per line; blank lines and
/// `#` comments are skipped.
pub(crate) fn from_file(path: &Path) -> anyhow::Result<Vec<ImportSpec>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let specs: Vec<ImportSpec> = text
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty() && !line.trim_start().starts_with('#'))
        .map(|(i, line)| {
            let words: Vec<&str> = line.split_whitespace().collect();
            ImportSpec::parse(&words, format!("{}:{}", path.display(), i + 1))
        })
        .collect::<anyhow::Result<_>>()?;
    if specs.is_empty() {
        bail!("{} lists no resource: write one `TYPE NAME ID` per line", path.display());
    }
    Ok(specs)
}

/// The statements declaring the adopted resources, to paste into the
/// program's body (where `ctx` is its `Stack`): the `use` lines, then one
/// `let` per resource with its live arguments.
pub(crate) fn code(adopted: &[(ImportSpec, Declaration)], stack: &str) -> String {
    let mut out = format!(
        "// The resources `import` adopted into stack `{stack}`, with their live arguments.\n\
         // Paste this into the program; keep the names, or preview will plan to replace them.\n"
    );
    let paths: Vec<&str> = adopted.iter().flat_map(|(_, d)| d.uses.iter().map(String::as_str)).collect();
    out.push_str(&use_lines(&paths));
    for (spec, declaration) in adopted {
        let expression = declaration.expression.replace('\n', "\n    ");
        out.push_str(&format!(
            "\nlet {} = ctx.resource(\n    {:?},\n    {expression},\n)?;\n",
            variable(&spec.name),
            spec.name
        ));
    }
    out
}

/// `use` lines for `paths`, one per module, its names grouped and sorted.
fn use_lines(paths: &[&str]) -> String {
    let mut modules: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for path in paths {
        let (module, name) = path.rsplit_once("::").unwrap_or(("", path));
        modules.entry(module).or_default().push(name);
    }
    let mut out = String::new();
    for (module, mut names) in modules {
        names.sort_unstable();
        names.dedup();
        match names.as_slice() {
            [one] if module.is_empty() => out.push_str(&format!("use {one};\n")),
            [one] => out.push_str(&format!("use {module}::{one};\n")),
            many => out.push_str(&format!("use {module}::{{{}}};\n", many.join(", "))),
        }
    }
    out
}

/// A Rust variable name for a logical name: `raw-data` → `raw_data`.
fn variable(name: &str) -> String {
    let mut v: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).collect();
    if v.is_empty() || v.starts_with(|c: char| c.is_ascii_digit()) {
        v.insert_str(0, "r_");
    }
    const KEYWORDS: &[&str] = &[
        "as", "async", "await", "box", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern", "false",
        "fn", "for", "gen", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return",
        "self", "static", "struct", "super", "trait", "true", "try", "type", "unsafe", "use", "where", "while",
        "yield",
    ];
    if KEYWORDS.contains(&v.as_str()) || v == "ctx" {
        v.push('_');
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_lists_one_resource_per_line_and_errors_name_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("imports.txt");
        std::fs::write(&path, "# adopted from the console\naws:s3:Bucket raw acme-raw\n\naws:ec2:Vpc main vpc-1\n")
            .unwrap();
        let specs = from_file(&path).unwrap();
        assert_eq!(specs.len(), 2);
        assert_eq!(
            (specs[1].ty.as_str(), specs[1].name.as_str(), specs[1].id.as_str()),
            ("aws:ec2:Vpc", "main", "vpc-1")
        );
        assert_eq!(specs[1].origin, format!("{}:4", path.display()));

        std::fs::write(&path, "aws:s3:Bucket raw\n").unwrap();
        let e = from_file(&path).unwrap_err().to_string();
        assert!(e.contains(":1: expected TYPE NAME ID") && e.contains("found 2 words"), "{e}");
        std::fs::write(&path, "bucket raw acme-raw\n").unwrap();
        let e = format!("{:#}", from_file(&path).unwrap_err());
        assert!(e.contains("`bucket` is no resource type"), "{e}");
        std::fs::write(&path, "# nothing\n").unwrap();
        assert!(from_file(&path).unwrap_err().to_string().contains("lists no resource"));
    }

    #[test]
    fn the_code_declares_each_resource_under_its_name() {
        let spec = |ty: &str, name: &str| ImportSpec {
            ty: ResourceType::new(ty).unwrap(),
            name: name.into(),
            id: "id".into(),
            origin: "import".into(),
        };
        let declaration = |uses: &[&str], expression: &str| Declaration {
            uses: uses.iter().map(|u| (*u).to_owned()).collect(),
            expression: expression.into(),
            inputs: cairn_core::Value::Null,
        };
        let code = code(
            &[
                (
                    spec("aws:ec2:Vpc", "main-vpc"),
                    declaration(
                        &["cairn::aws::ec2::VpcArgs"],
                        "VpcArgs::builder()\n    .cidr_block(\"10.0.0.0/16\")\n    .build()",
                    ),
                ),
                (
                    spec("aws:ec2:Subnet", "type"),
                    declaration(
                        &["cairn::aws::ec2::SubnetArgs", "std::collections::BTreeMap"],
                        "SubnetArgs::builder().build()",
                    ),
                ),
            ],
            "dev",
        );
        insta::assert_snapshot!(code);
    }

    #[test]
    fn variables_are_rust_identifiers() {
        assert_eq!(variable("raw-data"), "raw_data");
        assert_eq!(variable("1st"), "r_1st");
        assert_eq!(variable("type"), "type_");
        assert_eq!(variable("ctx"), "ctx_");
    }
}
