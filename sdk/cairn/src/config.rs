//! The per-stack config file, `Cairn.<stack>.toml`, beside the program.
//!
//! ```toml
//! # Where the state lives (default: file://.cairn, relative to this file).
//! backend = "file://.cairn"
//!
//! # Provider configuration, one table per provider package.
//! [provider.aws]
//! region = "us-east-1"
//!
//! # A named instance of a package (another region or account), for the
//! # resources whose `provider` option names it.
//! [provider.aws-west]
//! package = "aws"
//! region = "us-west-2"
//!
//! # The stack's tags: components put them on every resource (cost allocation).
//! [tags]
//! team = "ml-platform"
//! cost-center = "4711"
//!
//! # Values the program reads with ctx.config().require::<T>("key").
//! [config]
//! cluster_name = "ai-dev"
//!
//! # Enforce the policies (without this table they only warn); see docs/policy.md.
//! [policy.levels]
//! "ai/naming" = "mandatory"
//!
//! # Cost estimates on every plan, and a budget that refuses plans above it; see docs/cost.md.
//! [cost]
//! budget = 25000.0
//! [cost.usage]
//! nat_gateway_gb = 500.0
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use cairn_core::{Config, StackName, Value};
use serde::Deserialize;

/// The default backend, relative to the project directory.
pub const DEFAULT_BACKEND: &str = "file://.cairn";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    backend: Option<String>,
    /// The lock lease, e.g. "60s".
    lock_ttl: Option<String>,
    /// How secrets are encrypted at rest: "passphrase" or "awskms://KEY".
    secrets: Option<String>,
    #[serde(default)]
    provider: BTreeMap<String, toml::Table>,
    #[serde(default)]
    config: toml::Table,
    /// The stack's cost-allocation tags, which components put on everything.
    #[serde(default)]
    tags: BTreeMap<String, String>,
    /// Policy levels, settings and exceptions; without it, policies only warn.
    policy: Option<toml::Table>,
    /// Cost estimates: region, price overrides, usage assumptions, budget.
    #[serde(default)]
    cost: CostConfig,
}

/// The `[cost]` table of a stack's config.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CostConfig {
    /// The region priced (default: `[provider.aws] region`, else us-east-1).
    pub region: Option<String>,
    /// A price file overriding the shipped table's entries (negotiated discounts), relative to the config file.
    pub prices: Option<PathBuf>,
    /// The monthly budget in USD: a plan whose estimate exceeds it is refused.
    pub budget: Option<f64>,
    /// Usage assumptions for usage-priced items.
    #[serde(default)]
    pub usage: cairn_cost::Usage,
}

/// How a stack seals its secrets (`secrets = "…"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretsMode {
    /// `"passphrase"`: with `CAIRN_PASSPHRASE`.
    Passphrase,
    /// `"awskms://KEY"`: under data keys from AWS KMS (through the AWS plugin).
    AwsKms(String),
}

/// A stack's configuration, read and checked.
#[derive(Debug)]
pub struct StackConfig {
    /// The file it came from.
    pub path: PathBuf,
    /// The project directory (the file's directory).
    pub project_dir: PathBuf,
    /// The state backend URL.
    pub backend: String,
    /// The lock lease: a run's lock may be taken over this long after its last heartbeat.
    pub lock_ttl: std::time::Duration,
    /// How secrets are sealed at rest, if they are.
    pub secrets: Option<SecretsMode>,
    /// Provider configuration per package.
    pub providers: BTreeMap<String, Value>,
    /// The program's config values (without the sealed ones until [`StackConfig::open_secrets`]).
    pub config: Config,
    /// Sealed config values (`key = { secret = "cairn:…" }`), by key.
    pub sealed: BTreeMap<String, String>,
    /// The `[policy]` table: `None` when the file has none (every policy then only warns).
    pub policy: Option<cairn_policy::PolicyConfig>,
    /// The `[cost]` table.
    pub cost: CostConfig,
}

impl StackConfig {
    /// Opens the sealed config values with the stack's cipher and hands them to the program as secrets.
    pub async fn open_secrets(&mut self, cipher: Option<&cairn_secrets::Cipher>) -> anyhow::Result<()> {
        if self.sealed.is_empty() {
            return Ok(());
        }
        let Some(cipher) = cipher else {
            let key = self.sealed.keys().next().expect("not empty");
            bail!(
                "{}: config value `{key}` is sealed, but the stack has no `secrets = …` mode to open it with: set the \
                 mode it was sealed with",
                self.path.display()
            );
        };
        let texts: Vec<&str> = self.sealed.values().map(String::as_str).collect();
        cipher
            .ready_to_open(&texts)
            .await
            .with_context(|| format!("{}: opening sealed config values", self.path.display()))?;
        let mut opened = Vec::new();
        for (key, sealed) in &self.sealed {
            let plain = cipher
                .open(sealed)
                .with_context(|| format!("{}: config value `{key}` could not be opened", self.path.display()))?;
            let value: serde_json::Value = serde_json::from_slice(&plain).with_context(|| {
                format!("{}: config value `{key}` is not a sealed config value", self.path.display())
            })?;
            opened.push((key.clone(), value));
        }
        self.config = std::mem::take(&mut self.config).with_secrets(opened);
        Ok(())
    }
}

/// The config file name of a stack.
pub fn file_name(stack: &StackName) -> String {
    format!("Cairn.{stack}.toml")
}

/// Finds the project directory: `explicit` if given; else the current
/// directory if it has the stack's file; else the program's package directory
/// when run by cargo (`CARGO_MANIFEST_DIR`).
pub fn project_dir(explicit: Option<&Path>, stack: &StackName) -> anyhow::Result<PathBuf> {
    if let Some(dir) = explicit {
        return Ok(dir.to_owned());
    }
    let name = file_name(stack);
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    if cwd.join(&name).is_file() {
        return Ok(cwd);
    }
    if let Some(dir) = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from)
        && dir.join(&name).is_file()
    {
        return Ok(dir);
    }
    Ok(cwd)
}

/// Reads and checks `Cairn.<stack>.toml` in `dir`.
pub fn load(dir: &Path, stack: &StackName) -> anyhow::Result<StackConfig> {
    let path = dir.join(file_name(stack));
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
            "stack `{stack}` has no config file {}: create it (at least an empty file; see docs/config.md), \
             or pick another stack with --stack",
            path.display()
        ),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    load_text(dir, stack, &text)
}

/// Checks `text` as the contents of `Cairn.<stack>.toml` in `dir` (what `promote` plans with,
/// before the file is changed anywhere).
pub fn load_text(dir: &Path, stack: &StackName, text: &str) -> anyhow::Result<StackConfig> {
    let path = dir.join(file_name(stack));
    let file: File = toml::from_str(text)
        .map_err(|e| anyhow::anyhow!("{} is not a valid stack config: {}", path.display(), e.to_string().trim_end()))?;
    let to_json = |t: &toml::Table| serde_json::to_value(t).expect("TOML converts to JSON");
    // `key = { secret = "cairn:…" }` is a sealed value, opened later with the stack's cipher.
    let sealed_text = |v: &toml::Value| -> Option<String> {
        let t = v.as_table().filter(|t| t.len() == 1)?;
        t.get(crate::config_edit::SECRET_KEY)?.as_str().map(str::to_owned)
    };
    let sealed: BTreeMap<String, String> =
        file.config.iter().filter_map(|(k, v)| sealed_text(v).map(|s| (k.clone(), s))).collect();
    let config_values: BTreeMap<String, serde_json::Value> = file
        .config
        .iter()
        .filter(|(k, _)| !sealed.contains_key(*k))
        .map(|(k, v)| (k.clone(), serde_json::to_value(v).expect("TOML converts to JSON")))
        .collect();
    let display_path = path.file_name().map(PathBuf::from).unwrap_or_else(|| path.clone());
    let lock_ttl = match &file.lock_ttl {
        None => cairn_state::DEFAULT_LOCK_TTL,
        Some(t) => humantime::parse_duration(t).map_err(|e| {
            anyhow::anyhow!(
                "{}: `lock_ttl = \"{t}\"` is not a duration ({e}); write it like \"60s\" or \"5m\"",
                path.display()
            )
        })?,
    };
    let secrets = match file.secrets.as_deref() {
        None => None,
        Some("passphrase") => Some(SecretsMode::Passphrase),
        Some(url) if url.starts_with("awskms://") && url.len() > "awskms://".len() => {
            Some(SecretsMode::AwsKms(url.to_owned()))
        }
        Some(other) => bail!(
            "{}: `secrets = \"{other}\"` is not a known mode; use \"passphrase\" (with CAIRN_PASSPHRASE set) or an \
             AWS KMS key, \"awskms://alias/NAME\"",
            path.display()
        ),
    };
    let policy = match file.policy {
        None => None,
        Some(table) => Some(table.try_into::<cairn_policy::PolicyConfig>().map_err(|e| {
            anyhow::anyhow!(
                "{}: [policy] is not valid: {}; it takes `levels` (policy = \"advisory\" | \"mandatory\" | \
                 \"disabled\"), `settings` and `[[policy.exception]]` (policy, resource, reason), see docs/policy.md",
                path.display(),
                e.to_string().trim_end()
            )
        })?),
    };
    let budget = file.cost.budget;
    if let Some(b) = budget.filter(|b| !(b.is_finite() && *b > 0.0)) {
        bail!(
            "{}: [cost] budget = {b} is no budget; give the monthly amount in USD, e.g. budget = 2000.0",
            path.display()
        );
    }
    Ok(StackConfig {
        policy,
        cost: file.cost,
        secrets,
        project_dir: dir.to_owned(),
        backend: file.backend.unwrap_or_else(|| DEFAULT_BACKEND.to_owned()),
        lock_ttl,
        providers: file.provider.iter().map(|(k, t)| (k.clone(), Value::from_json(&to_json(t)))).collect(),
        config: Config::new(display_path, config_values).with_tags(file.tags).with_budget(budget),
        sealed,
        path,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, text: &str) -> anyhow::Result<StackConfig> {
        std::fs::write(dir.join("Cairn.dev.toml"), text).unwrap();
        load(dir, &StackName::new("dev").unwrap())
    }

    #[test]
    fn reads_backend_providers_and_values() {
        let d = tempfile::tempdir().unwrap();
        let c = write(
            d.path(),
            "backend = \"file:///tmp/x\"\n[provider.aws]\nregion = \"eu-west-1\"\n[config]\nmax = 3\n\
             [tags]\nteam = \"ml\"\n",
        )
        .unwrap();
        assert_eq!(c.config.tags()["team"], "ml");
        assert_eq!(c.backend, "file:///tmp/x");
        assert_eq!(c.providers["aws"].get("region").and_then(Value::as_str), Some("eu-west-1"));
        assert_eq!(c.config.require::<u32>("max").unwrap(), 3);
    }

    #[test]
    fn bad_files_name_the_file_and_the_fix() {
        let d = tempfile::tempdir().unwrap();
        let err = write(d.path(), "[config\nx = 1").unwrap_err().to_string();
        assert!(err.contains("Cairn.dev.toml is not a valid stack config") && err.contains("line 1"), "{err}");
        let err = write(d.path(), "backnd = \"x\"").unwrap_err().to_string();
        assert!(err.contains("unknown field `backnd`"), "{err}");
        std::fs::remove_file(d.path().join("Cairn.dev.toml")).unwrap();
        let err = load(d.path(), &StackName::new("dev").unwrap()).unwrap_err().to_string();
        assert!(err.contains("has no config file") && err.contains("create it"), "{err}");
    }
}
