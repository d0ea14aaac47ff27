//! Typed access to a stack's configuration values.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

/// A configuration value that is missing or of the wrong type.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The key is not set.
    #[error("missing config value `{key}` in {file}: add `{key} = ...` under [config] in {file}")]
    Missing {
        /// The key.
        key: String,
        /// The stack's config file.
        file: String,
    },
    /// The value does not have the type the program reads it as.
    #[error(
        "config value `{key}` in {file} is not a valid {expected}: {message}; fix the value under [config] in {file}"
    )]
    Invalid {
        /// The key.
        key: String,
        /// The stack's config file.
        file: String,
        /// The Rust type the program expects.
        expected: &'static str,
        /// The conversion error.
        message: String,
    },
}

/// A stack's `[config]` values, read from its config file.
///
/// ```
/// use cairn_core::Config;
/// let cfg = Config::new("Cairn.dev.toml", [("gpu_max".to_owned(), serde_json::json!(4))].into_iter().collect());
/// assert_eq!(cfg.require::<u32>("gpu_max").unwrap(), 4);
/// assert!(cfg.require::<String>("region").unwrap_err().to_string().contains("add `region = ...`"));
/// ```
#[derive(Debug, Clone, Default)]
pub struct Config {
    file: PathBuf,
    values: BTreeMap<String, serde_json::Value>,
}

impl Config {
    /// Config values read from `file`.
    pub fn new(file: impl Into<PathBuf>, values: BTreeMap<String, serde_json::Value>) -> Self {
        Self { file: file.into(), values }
    }

    /// The file the values came from.
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// A required value.
    pub fn require<T: DeserializeOwned>(&self, key: &str) -> Result<T, ConfigError> {
        self.get(key)?
            .ok_or_else(|| ConfigError::Missing { key: key.to_owned(), file: self.file.display().to_string() })
    }

    /// An optional value.
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, ConfigError> {
        let Some(v) = self.values.get(key) else { return Ok(None) };
        serde_json::from_value(v.clone()).map(Some).map_err(|e| ConfigError::Invalid {
            key: key.to_owned(),
            file: self.file.display().to_string(),
            expected: std::any::type_name::<T>(),
            message: e.to_string(),
        })
    }

    /// A required value that is secret (a password, a token): it is hidden
    /// in every display and encrypted at rest wherever it flows.
    pub fn require_secret<T>(&self, key: &str) -> Result<crate::Output<T>, ConfigError>
    where
        T: DeserializeOwned + serde::Serialize + 'static,
    {
        Ok(crate::Output::secret(self.require(key)?))
    }

    /// An optional value with a default.
    pub fn get_or<T: DeserializeOwned>(&self, key: &str, default: T) -> Result<T, ConfigError> {
        Ok(self.get(key)?.unwrap_or(default))
    }
}
