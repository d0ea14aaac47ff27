//! Typed access to a stack's configuration values.

use std::collections::{BTreeMap, BTreeSet};
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
        /// The Rust type the program expects, without module paths (`Vec<String>`).
        expected: String,
        /// The conversion error.
        message: String,
    },
    /// The value is sealed in the file and was read as a plain one.
    #[error(
        "config value `{key}` in {file} is secret: read it with get_secret or require_secret, which keep it secret"
    )]
    Secret {
        /// The key.
        key: String,
        /// The stack's config file.
        file: String,
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
    tags: BTreeMap<String, String>,
    /// Keys whose values were sealed in the file: readable as secrets only.
    secret: BTreeSet<String>,
    /// The stack's monthly budget in USD (`[cost] budget`), if it sets one.
    budget: Option<f64>,
}

impl Config {
    /// Config values read from `file`.
    pub fn new(file: impl Into<PathBuf>, values: BTreeMap<String, serde_json::Value>) -> Self {
        Self { file: file.into(), values, tags: BTreeMap::new(), secret: BTreeSet::new(), budget: None }
    }

    /// The same config with secret values (opened from their sealed form in
    /// the file): programs read them with [`Config::get_secret`] and
    /// [`Config::require_secret`] only.
    ///
    /// ```
    /// use cairn_core::Config;
    /// let cfg = Config::default().with_secrets([("token".to_owned(), serde_json::json!("s3cr3t"))]);
    /// assert!(cfg.get::<String>("token").unwrap_err().to_string().contains("is secret"));
    /// assert!(cfg.require_secret::<String>("token").is_ok());
    /// ```
    pub fn with_secrets(mut self, secrets: impl IntoIterator<Item = (String, serde_json::Value)>) -> Self {
        for (k, v) in secrets {
            self.secret.insert(k.clone());
            self.values.insert(k, v);
        }
        self
    }

    /// The same config with the stack's tags (the `[tags]` table of its file):
    /// the cost-allocation tags components put on everything they declare.
    ///
    /// ```
    /// use cairn_core::Config;
    /// let cfg = Config::default().with_tags([("team", "ml-platform")]);
    /// assert_eq!(cfg.tags()["team"], "ml-platform");
    /// ```
    pub fn with_tags<K: Into<String>, V: Into<String>>(mut self, tags: impl IntoIterator<Item = (K, V)>) -> Self {
        self.tags = tags.into_iter().map(|(k, v)| (k.into(), v.into())).collect();
        self
    }

    /// The same config with the stack's monthly budget (`[cost] budget`).
    pub fn with_budget(mut self, budget: Option<f64>) -> Self {
        self.budget = budget;
        self
    }

    /// The stack's monthly budget in USD, if its file sets one under
    /// `[cost]`: the figure plans are checked against, so that a budget
    /// resource (an AWS Budgets budget) can use the very same one.
    ///
    /// ```
    /// use cairn_core::Config;
    /// assert_eq!(Config::default().with_budget(Some(2000.0)).budget(), Some(2000.0));
    /// ```
    pub fn budget(&self) -> Option<f64> {
        self.budget
    }

    /// The plain (not secret) values, by key: what policies see of the config.
    pub fn plain_values(&self) -> BTreeMap<String, serde_json::Value> {
        self.values.iter().filter(|(k, _)| !self.secret.contains(*k)).map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    /// The stack's tags (the `[tags]` table of its file).
    pub fn tags(&self) -> &BTreeMap<String, String> {
        &self.tags
    }

    /// The file the values came from.
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// A required value.
    pub fn require<T: DeserializeOwned>(&self, key: &str) -> Result<T, ConfigError> {
        self.get(key)?.ok_or_else(|| self.missing(key))
    }

    fn missing(&self, key: &str) -> ConfigError {
        ConfigError::Missing { key: key.to_owned(), file: self.file.display().to_string() }
    }

    /// An optional value. A secret one is refused: read it with [`Config::get_secret`].
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, ConfigError> {
        if self.secret.contains(key) {
            return Err(ConfigError::Secret { key: key.to_owned(), file: self.file.display().to_string() });
        }
        self.read(key)
    }

    fn read<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, ConfigError> {
        let Some(v) = self.values.get(key) else { return Ok(None) };
        serde_json::from_value(v.clone()).map(Some).map_err(|e| ConfigError::Invalid {
            key: key.to_owned(),
            file: self.file.display().to_string(),
            expected: short_type_name(std::any::type_name::<T>()),
            message: e.to_string(),
        })
    }

    /// A required value that is secret (a password, a token): it is hidden
    /// in every display and encrypted at rest wherever it flows.
    pub fn require_secret<T>(&self, key: &str) -> Result<crate::Output<T>, ConfigError>
    where
        T: DeserializeOwned + serde::Serialize + 'static,
    {
        Ok(crate::Output::secret(self.read(key)?.ok_or_else(|| self.missing(key))?))
    }

    /// An optional value that is secret: read once, `None` when the key is not set.
    ///
    /// ```
    /// use cairn_core::Config;
    /// let cfg = Config::new("Cairn.dev.toml", [("token".to_owned(), serde_json::json!("s3cr3t"))].into_iter().collect());
    /// assert!(cfg.get_secret::<String>("token").unwrap().is_some());
    /// assert!(cfg.get_secret::<String>("webhook").unwrap().is_none());
    /// ```
    pub fn get_secret<T>(&self, key: &str) -> Result<Option<crate::Output<T>>, ConfigError>
    where
        T: DeserializeOwned + serde::Serialize + 'static,
    {
        Ok(self.read(key)?.map(crate::Output::secret))
    }

    /// An optional value with a default; the default converts like a builder
    /// argument (`get_or("version", "1.31")` for a `String`).
    ///
    /// ```
    /// use cairn_core::Config;
    /// let version: String = Config::default().get_or("kubernetes_version", "1.31").unwrap();
    /// assert_eq!(version, "1.31");
    /// ```
    pub fn get_or<T: DeserializeOwned>(&self, key: &str, default: impl Into<T>) -> Result<T, ConfigError> {
        Ok(match self.get(key)? {
            Some(v) => v,
            None => default.into(),
        })
    }
}
/// A type's name as a program's author wrote it: `alloc::vec::Vec<alloc::string::String>`
/// reads `Vec<String>`.
fn short_type_name(full: &str) -> String {
    let mut out = String::with_capacity(full.len());
    let mut path = String::new();
    for c in full.chars().chain(std::iter::once(' ')) {
        if c.is_alphanumeric() || c == '_' || c == ':' {
            path.push(c);
        } else {
            out.push_str(path.rsplit("::").next().unwrap_or(&path));
            path.clear();
            out.push(c);
        }
    }
    out.pop();
    out
}

#[cfg(test)]
mod tests {
    use super::short_type_name;

    #[test]
    fn type_names_lose_their_module_paths() {
        assert_eq!(short_type_name("alloc::string::String"), "String");
        assert_eq!(short_type_name("alloc::vec::Vec<alloc::string::String>"), "Vec<String>");
        assert_eq!(short_type_name("core::option::Option<(u32, my_crate::Size)>"), "Option<(u32, Size)>");
        assert_eq!(short_type_name("u64"), "u64");
    }
}
