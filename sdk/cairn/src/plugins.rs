//! Providers as plugin processes, started and configured on first use.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use cairn_core::{Provider, Value};
use cairn_engine::{EngineError, ProviderSource};
use tokio::sync::OnceCell;

/// A provider started once and shared by every caller.
type Started = Arc<OnceCell<Arc<dyn Provider>>>;

/// Starts one plugin per package, configured from the stack config's `[provider.<package>]` table.
pub struct PluginProviders {
    config: BTreeMap<String, Value>,
    dir: Option<PathBuf>,
    started: Mutex<HashMap<String, Started>>,
}

impl PluginProviders {
    /// Providers configured from the stack config. Each plugin runs in `dir` (the stack file's
    /// directory), so relative paths in its settings are relative to the stack file.
    pub fn new(config: BTreeMap<String, Value>, dir: Option<PathBuf>) -> Self {
        Self { config, dir, started: Mutex::default() }
    }

    /// Starts (once per `key`: a package, or a named instance) the plugin of
    /// `package` and configures it with `config`.
    async fn start(&self, key: &str, package: &str, config: Value) -> Result<Arc<dyn Provider>, EngineError> {
        let cell = self.started.lock().expect("plugins").entry(key.to_owned()).or_default().clone();
        let unavailable = |message: String| EngineError::ProviderUnavailable { package: package.to_owned(), message };
        cell.get_or_try_init(|| async {
            let pkg = package.to_owned();
            // Finding may build the plugin with cargo: keep it off the async workers.
            let path = tokio::task::spawn_blocking(move || cairn_plugin::find_plugin(&pkg))
                .await
                .map_err(|e| unavailable(e.to_string()))?
                .map_err(|e| unavailable(e.to_string()))?;
            let provider =
                cairn_plugin::launch_in(&path, self.dir.as_deref()).await.map_err(|e| unavailable(e.to_string()))?;
            provider.configure(config).await.map_err(|e| {
                unavailable(format!("its settings ([provider.{key}] in the stack config) were refused: {e}"))
            })?;
            Ok(Arc::new(provider) as Arc<dyn Provider>)
        })
        .await
        .cloned()
    }
}

/// The settings of the provider instance `name` (its `[provider.NAME]`
/// table without `package`), which must be of `package`.
fn instance_settings(config: &BTreeMap<String, Value>, package: &str, name: &str) -> Result<Value, String> {
    let Some(table) = config.get(name) else {
        return Err(format!(
            "a resource asks for provider instance `{name}`, which the stack file does not configure: add \
             [provider.{name}] with package = \"{package}\" and its settings (region, ...)"
        ));
    };
    match table.get("package").and_then(Value::as_str) {
        Some(p) if p == package => {}
        Some(other) => {
            return Err(format!(
                "provider instance `{name}` is of package `{other}` (its `package` in the stack file), not `{package}`"
            ));
        }
        None => {
            return Err(format!("[provider.{name}] in the stack file names no package: add package = \"{package}\""));
        }
    }
    Ok(match table {
        Value::Map(m) => {
            Value::Map(m.iter().filter(|(k, _)| *k != "package").map(|(k, v)| (k.clone(), v.clone())).collect())
        }
        other => other.clone(),
    })
}

#[async_trait::async_trait]
impl ProviderSource for PluginProviders {
    async fn provider(&self, package: &str) -> Result<Arc<dyn Provider>, EngineError> {
        let config = self.config.get(package).cloned().unwrap_or_else(Value::map);
        self.start(package, package, config).await
    }

    /// `[provider.NAME]` with `package = "PACKAGE"`: its own plugin process,
    /// configured with the rest of the table.
    async fn instance(&self, package: &str, name: &str) -> Result<Arc<dyn Provider>, EngineError> {
        let unavailable = |message: String| EngineError::ProviderUnavailable { package: package.to_owned(), message };
        let table = instance_settings(&self.config, package, name).map_err(unavailable)?;
        self.start(name, package, table).await
    }

    fn versions(&self) -> BTreeMap<String, String> {
        let started = self.started.lock().expect("plugins");
        started.iter().filter_map(|(package, cell)| Some((package.clone(), cell.get()?.version()))).collect()
    }

    fn started(&self) -> Vec<(String, Arc<dyn Provider>)> {
        let started = self.started.lock().expect("plugins");
        let mut all: Vec<_> =
            started.iter().filter_map(|(key, cell)| Some((key.clone(), cell.get()?.clone()))).collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_instance_is_found_by_name_and_checked_against_its_package() {
        let table = |j: serde_json::Value| Value::from_json(&j);
        let config: BTreeMap<String, Value> = [
            ("aws".to_owned(), table(serde_json::json!({"region": "us-east-1"}))),
            ("aws-west".to_owned(), table(serde_json::json!({"package": "aws", "region": "us-west-2"}))),
            ("nameless".to_owned(), table(serde_json::json!({"region": "eu-west-1"}))),
        ]
        .into_iter()
        .collect();
        let west = instance_settings(&config, "aws", "aws-west").unwrap();
        assert_eq!(west, table(serde_json::json!({"region": "us-west-2"})), "without `package`");
        let err = instance_settings(&config, "random", "aws-west").unwrap_err();
        assert!(err.contains("is of package `aws`") && err.ends_with("not `random`"), "{err}");
        let err = instance_settings(&config, "aws", "aws-east").unwrap_err();
        assert!(err.contains("add [provider.aws-east] with package = \"aws\""), "{err}");
        assert!(instance_settings(&config, "aws", "nameless").unwrap_err().contains("names no package"));
    }
}
