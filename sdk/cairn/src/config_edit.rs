//! `config get | set | rm`: one value of a stack's `[config]` table, changed
//! in `Cairn.<stack>.toml` with its comments and layout kept (toml_edit), so
//! CI and people change one value (a model version) without hand-editing.
//!
//! A secret is stored sealed, as `key = { secret = "cairn:…" }`, with the
//! stack's own secrets mode (`secrets = "passphrase"` or an AWS KMS key); the
//! program reads it with `get_secret` / `require_secret` only.

use std::path::Path;

use anyhow::{Context, anyhow, bail};
use toml_edit::{DocumentMut, InlineTable, Item, Table, Value};

/// The key of the inline table a sealed value is stored in.
pub const SECRET_KEY: &str = "secret";

fn read(path: &Path) -> anyhow::Result<DocumentMut> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    parse(path, &text)
}

fn parse(path: &Path, text: &str) -> anyhow::Result<DocumentMut> {
    text.parse::<DocumentMut>()
        .map_err(|e| anyhow!("{} is not a valid stack config: {}", path.display(), e.to_string().trim_end()))
}

fn write(path: &Path, doc: &DocumentMut) -> anyhow::Result<()> {
    write_whole(path, &doc.to_string())
}

/// Writes through a temporary file beside `path` and a rename: the file is
/// never half-written, and a failed write leaves the old one.
pub(crate) fn write_whole(path: &Path, contents: &str) -> anyhow::Result<()> {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    let tmp = path.with_file_name(name);
    std::fs::write(&tmp, contents).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot replace {}", path.display()))
}

fn check_key(key: &str) -> anyhow::Result<()> {
    let ok = !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok { Ok(()) } else { bail!("`{key}` is not a config key: use letters, digits, `_` and `-`") }
}

/// What a command-line value means: a TOML value when it is one (`4`, `true`,
/// `["a", "b"]`, `"quoted"`), else the text itself as a string.
pub fn parse_value(text: &str) -> Value {
    let mut v = text.parse::<Value>().unwrap_or_else(|_| Value::from(text));
    // No decoration of its own: toml_edit writes `key = value` with its default spacing.
    v.decor_mut().clear();
    v
}

/// The value of `key` under `[config]`, as written in the file (a sealed one stays sealed).
pub fn get(path: &Path, key: &str) -> anyhow::Result<Option<String>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    get_text(path, &text, key)
}

/// [`get`] on the file's text, already read from `path`.
pub fn get_text(path: &Path, text: &str, key: &str) -> anyhow::Result<Option<String>> {
    check_key(key)?;
    let doc = parse(path, text)?;
    Ok(doc.get("config").and_then(|c| c.get(key)).map(|item| {
        // The value alone, without the comment that may follow it on its line.
        let mut item = item.clone();
        if let Some(v) = item.as_value_mut() {
            v.decor_mut().clear();
        }
        item.to_string().trim().to_owned()
    }))
}

/// Sets `key` under `[config]` to `value` (or, `sealed`, to `{ secret = "…" }`),
/// creating the table if needed; every other line stays as it was.
pub fn set(path: &Path, key: &str, value: Value) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    write_whole(path, &set_text(path, &text, key, value)?)
}

/// [`set`] on the file's text (`path` names it in errors): the new text.
pub fn set_text(path: &Path, text: &str, key: &str, value: Value) -> anyhow::Result<String> {
    check_key(key)?;
    let mut doc = parse(path, text)?;
    let config = doc.entry("config").or_insert_with(|| Item::Table(Table::new()));
    let Some(table) = config.as_table_like_mut() else {
        bail!("{}: `config` is not a table; make it `[config]`", path.display());
    };
    match table.get_mut(key) {
        // Keep the comment before and after the old value.
        Some(Item::Value(old)) => {
            let decor = old.decor().clone();
            *old = value;
            *old.decor_mut() = decor;
        }
        _ => {
            table.insert(key, Item::Value(value));
        }
    }
    Ok(doc.to_string())
}

/// A sealed value as stored: `{ secret = "cairn:…" }`.
pub fn sealed(text: String) -> Value {
    let mut t = InlineTable::new();
    t.insert(SECRET_KEY, Value::from(text));
    Value::InlineTable(t)
}

/// Removes `key` from `[config]`; `false` when it was not there.
pub fn rm(path: &Path, key: &str) -> anyhow::Result<bool> {
    check_key(key)?;
    let mut doc = read(path)?;
    let removed = doc.get_mut("config").and_then(Item::as_table_like_mut).and_then(|t| t.remove(key)).is_some();
    if removed {
        write(path, &doc)?;
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "# The dev stack.\nbackend = \"file://.cairn\"\n\n[config]\n# Served model.\nmodel_version = \"v1\" # pinned\nreplicas = 2\n";

    fn file() -> (tempfile::TempDir, std::path::PathBuf) {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("Cairn.dev.toml");
        std::fs::write(&p, FILE).unwrap();
        (d, p)
    }

    #[test]
    fn set_changes_one_value_and_keeps_comments_and_layout() {
        let (_d, p) = file();
        set(&p, "model_version", parse_value("v2")).unwrap();
        set(&p, "zones", parse_value("[\"a\", \"b\"]")).unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert_eq!(
            text,
            "# The dev stack.\nbackend = \"file://.cairn\"\n\n[config]\n# Served model.\nmodel_version = \"v2\" # pinned\nreplicas = 2\nzones = [\"a\", \"b\"]\n"
        );
        assert_eq!(get(&p, "replicas").unwrap().as_deref(), Some("2"));
        assert!(rm(&p, "replicas").unwrap() && !rm(&p, "replicas").unwrap());
        assert_eq!(get(&p, "replicas").unwrap(), None);
    }

    #[test]
    fn a_file_without_config_gets_the_table_and_bad_keys_are_refused() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("Cairn.dev.toml");
        std::fs::write(&p, "backend = \"file://.cairn\"\n").unwrap();
        set(&p, "token", sealed("cairn:pp1:abc".into())).unwrap();
        assert_eq!(get(&p, "token").unwrap().as_deref(), Some("{ secret = \"cairn:pp1:abc\" }"));
        assert!(set(&p, "a.b", parse_value("1")).unwrap_err().to_string().contains("not a config key"));
        assert!(parse_value("4").is_integer() && parse_value("plain words").is_str());
    }
}
