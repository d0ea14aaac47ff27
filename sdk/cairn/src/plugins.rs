//! Providers as plugin processes, started and configured on first use.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use cairn_core::{Provider, Value};
use cairn_engine::{EngineError, ProviderSource};
use tokio::sync::OnceCell;

/// A provider started once and shared by every caller.
type Started = Arc<OnceCell<Arc<dyn Provider>>>;

/// Starts one plugin per package, configured from the stack config's `[provider.<package>]` table.
pub struct PluginProviders {
    config: BTreeMap<String, Value>,
    started: Mutex<HashMap<String, Started>>,
}

impl PluginProviders {
    /// Providers configured from the stack config.
    pub fn new(config: BTreeMap<String, Value>) -> Self {
        Self { config, started: Mutex::default() }
    }
}

#[async_trait::async_trait]
impl ProviderSource for PluginProviders {
    async fn provider(&self, package: &str) -> Result<Arc<dyn Provider>, EngineError> {
        let cell = self.started.lock().expect("plugins").entry(package.to_owned()).or_default().clone();
        let unavailable = |message: String| EngineError::ProviderUnavailable { package: package.to_owned(), message };
        cell.get_or_try_init(|| async {
            let pkg = package.to_owned();
            // Finding may build the plugin with cargo: keep it off the async workers.
            let path = tokio::task::spawn_blocking(move || cairn_plugin::find_plugin(&pkg))
                .await
                .map_err(|e| unavailable(e.to_string()))?
                .map_err(|e| unavailable(e.to_string()))?;
            let provider = cairn_plugin::launch(&path).await.map_err(|e| unavailable(e.to_string()))?;
            let config = self.config.get(package).cloned().unwrap_or_else(Value::map);
            provider.configure(config).await.map_err(|e| unavailable(format!("configuration was refused: {e}")))?;
            Ok(Arc::new(provider) as Arc<dyn Provider>)
        })
        .await
        .cloned()
    }

    fn versions(&self) -> BTreeMap<String, String> {
        let started = self.started.lock().expect("plugins");
        started.iter().filter_map(|(package, cell)| Some((package.clone(), cell.get()?.version()))).collect()
    }
}
