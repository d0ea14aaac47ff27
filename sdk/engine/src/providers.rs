//! Where the engine gets a provider for a resource type.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use cairn_core::{Provider, ResourceType};

use crate::error::EngineError;

/// Hands out providers by package (`aws` for `aws:s3:Bucket`), started and
/// configured on first use.
#[async_trait::async_trait]
pub trait ProviderSource: Send + Sync {
    /// The provider for a package.
    async fn provider(&self, package: &str) -> Result<Arc<dyn Provider>, EngineError>;

    /// The named provider instance `name` (`[provider.NAME]` with `package =
    /// "..."` in the stack file), which must be of `package`.
    async fn instance(&self, package: &str, name: &str) -> Result<Arc<dyn Provider>, EngineError> {
        Err(EngineError::ProviderUnavailable {
            package: package.to_owned(),
            message: format!("no provider instance `{name}` can be had here; use the package's default provider"),
        })
    }

    /// The version of each provider started so far, by package (what a
    /// saved plan records).
    fn versions(&self) -> BTreeMap<String, String> {
        BTreeMap::new()
    }

    /// The providers started so far, by package or instance name: a run that recorded
    /// changes tells each of them it is over ([`Provider::finish`]).
    fn started(&self) -> Vec<(String, Arc<dyn Provider>)> {
        Vec::new()
    }
}

/// A fixed set of in-process providers (tests, embedded use).
#[derive(Default, Clone)]
pub struct StaticProviders(HashMap<String, Arc<dyn Provider>>);

impl StaticProviders {
    /// Registers a provider for a package.
    pub fn with(mut self, package: &str, provider: Arc<dyn Provider>) -> Self {
        self.0.insert(package.to_owned(), provider);
        self
    }
}

#[async_trait::async_trait]
impl ProviderSource for StaticProviders {
    async fn provider(&self, package: &str) -> Result<Arc<dyn Provider>, EngineError> {
        self.0.get(package).cloned().ok_or_else(|| EngineError::ProviderUnavailable {
            package: package.to_owned(),
            message: "no provider is registered for this package".into(),
        })
    }

    /// An instance registered with [`with`](Self::with) under its name.
    async fn instance(&self, package: &str, name: &str) -> Result<Arc<dyn Provider>, EngineError> {
        self.0.get(name).cloned().ok_or_else(|| EngineError::ProviderUnavailable {
            package: package.to_owned(),
            message: format!("no provider instance `{name}` is registered"),
        })
    }

    fn versions(&self) -> BTreeMap<String, String> {
        self.0.iter().map(|(package, p)| (package.clone(), p.version())).collect()
    }

    fn started(&self) -> Vec<(String, Arc<dyn Provider>)> {
        let mut all: Vec<_> = self.0.iter().map(|(k, p)| (k.clone(), p.clone())).collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }
}

/// The provider of a resource of type `ty`: the named `instance`, or the package's default.
pub(crate) async fn for_resource(
    source: &dyn ProviderSource,
    ty: &ResourceType,
    instance: Option<&str>,
) -> Result<Arc<dyn Provider>, EngineError> {
    match instance {
        Some(name) => source.instance(ty.package(), name).await,
        None => source.provider(ty.package()).await,
    }
}
