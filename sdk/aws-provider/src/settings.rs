//! The stack's `[provider.aws]` settings, checked, and what they make: the
//! SDK configuration (region, profile, endpoint, an assumed role), the
//! default tags, and the per-service limits on calls in flight.
//!
//! ```toml
//! [provider.aws]
//! region = "eu-west-1"
//! profile = "ml-prod"                 # a named profile (else the usual chain)
//! endpoint = "http://127.0.0.1:5000"  # an emulator (else AWS_ENDPOINT_URL)
//! assume_role_arn = "arn:aws:iam::210987654321:role/cairn-deployer"
//! assume_role_session_name = "cairn"  # default "cairn"
//! assume_role_external_id = "…"
//! default_tags = { team = "ml-platform", cost-center = "4711" }
//! concurrency = { default = 8, eks = 2 }
//! retry_mode = "standard"             # or "adaptive"
//! max_attempts = 10                   # per AWS call, the first included
//! ```

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use aws_config::retry::RetryConfig;
use aws_config::sts::AssumeRoleProvider;
use aws_config::{BehaviorVersion, Region};
use cairn_core::{ProviderError, Value};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The keys the provider configuration accepts.
const KEYS: [&str; 10] = [
    "region",
    "endpoint",
    "profile",
    "assume_role_arn",
    "assume_role_session_name",
    "assume_role_external_id",
    "default_tags",
    "concurrency",
    "retry_mode",
    "max_attempts",
];

/// Calls in flight per AWS service when `concurrency` does not say.
pub(crate) const DEFAULT_CONCURRENCY: usize = 8;

/// The checked `[provider.aws]` settings.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Settings {
    pub(crate) region: Option<String>,
    pub(crate) endpoint: Option<String>,
    pub(crate) profile: Option<String>,
    pub(crate) assume_role_arn: Option<String>,
    pub(crate) assume_role_session_name: Option<String>,
    pub(crate) assume_role_external_id: Option<String>,
    /// Tags every taggable resource gets; tags the program declares win.
    pub(crate) default_tags: BTreeMap<String, String>,
    /// Calls in flight per service (`iam`, `s3`, `eks`, ...); `default` for the others.
    pub(crate) concurrency: BTreeMap<String, usize>,
    /// How failed AWS calls are retried.
    pub(crate) retry: Retry,
}

/// How throttled and failed AWS calls are retried.
///
/// Both modes retry throttling, 5xx and connection failures with jittered
/// exponential backoff (up to 1 s, then doubling, at most 20 s between
/// attempts). `adaptive` also slows the client's own request rate each time
/// it is throttled, which spares an account whose API limits are shared,
/// but under sparse faults it paces every later call too: with 20% of calls
/// failing, the example's `up` took 24 times its fault-free time in adaptive
/// mode, and 3 times in standard mode (R3 in docs/benchmarks.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Retry {
    /// Whether the client also paces itself under throttling.
    pub(crate) adaptive: bool,
    /// Attempts per call, the first included.
    pub(crate) max_attempts: u32,
}

/// Attempts per AWS call by default: at 20% of calls failing, one call in
/// ten million fails all ten.
pub(crate) const DEFAULT_MAX_ATTEMPTS: u32 = 10;

/// More attempts than this would hold a step for many minutes (20 s apart).
const MAX_MAX_ATTEMPTS: u32 = 30;

impl Default for Retry {
    fn default() -> Self {
        Self { adaptive: false, max_attempts: DEFAULT_MAX_ATTEMPTS }
    }
}

impl Retry {
    fn parse(config: &Value) -> Result<Self, ProviderError> {
        let adaptive = match text(config, "retry_mode")?.as_deref() {
            None | Some("standard") => false,
            Some("adaptive") => true,
            Some(other) => {
                return Err(invalid(format!("`retry_mode` must be \"standard\" or \"adaptive\", not \"{other}\"")));
            }
        };
        let max_attempts = match config.get("max_attempts") {
            None | Some(Value::Null) => DEFAULT_MAX_ATTEMPTS,
            Some(v) => v
                .as_i64()
                .and_then(|n| u32::try_from(n).ok())
                .filter(|n| (1..=MAX_MAX_ATTEMPTS).contains(n))
                .ok_or_else(|| {
                    invalid(format!("`max_attempts` must be a whole number from 1 to {MAX_MAX_ATTEMPTS}, not {v}"))
                })?,
        };
        Ok(Self { adaptive, max_attempts })
    }

    /// The SDK's retry configuration.
    pub(crate) fn config(self) -> RetryConfig {
        let config = if self.adaptive { RetryConfig::adaptive() } else { RetryConfig::standard() };
        config.with_max_attempts(self.max_attempts)
    }
}

fn invalid(message: String) -> ProviderError {
    ProviderError::invalid(format!("[provider.aws]: {message}"))
}

/// A string setting; empty counts as unset.
fn text(config: &Value, key: &str) -> Result<Option<String>, ProviderError> {
    match config.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_str() {
            Some(s) => Ok(Some(s.to_owned()).filter(|s| !s.is_empty())),
            None => Err(invalid(format!("`{key}` must be a string, not {v}"))),
        },
    }
}

/// A table of settings, each checked by `item`.
fn table<T>(
    config: &Value,
    key: &str,
    what: &str,
    item: impl Fn(&Value) -> Option<T>,
) -> Result<BTreeMap<String, T>, ProviderError> {
    match config.get(key) {
        None | Some(Value::Null) => Ok(BTreeMap::new()),
        Some(Value::Map(m)) => m
            .iter()
            .map(|(k, v)| {
                item(v).map(|t| (k.clone(), t)).ok_or_else(|| invalid(format!("`{key}.{k}` must be {what}, not {v}")))
            })
            .collect(),
        Some(v) => Err(invalid(format!("`{key}` must be a table of {what}s, like {key} = {{ … }}, not {v}"))),
    }
}

impl Settings {
    /// Reads and checks the settings; an unknown key is refused (a typo would otherwise go unnoticed).
    pub(crate) fn parse(config: &Value) -> Result<Self, ProviderError> {
        match config {
            Value::Null => return Ok(Self::default()),
            Value::Map(map) => {
                if let Some(key) = map.keys().find(|k| !KEYS.contains(&k.as_str())) {
                    return Err(invalid(format!("unknown setting `{key}`; known: {}", KEYS.join(", "))));
                }
            }
            other => return Err(invalid(format!("the configuration must be a table, not {other}"))),
        }
        let concurrency = table(config, "concurrency", "a positive whole number", |v| {
            v.as_i64().and_then(|n| usize::try_from(n).ok()).filter(|n| *n > 0)
        })?;
        let default_tags = table(config, "default_tags", "a string", |v| v.as_str().map(str::to_owned))?;
        Ok(Self {
            region: text(config, "region")?,
            endpoint: text(config, "endpoint")?,
            profile: text(config, "profile")?,
            assume_role_arn: text(config, "assume_role_arn")?,
            assume_role_session_name: text(config, "assume_role_session_name")?,
            assume_role_external_id: text(config, "assume_role_external_id")?,
            default_tags,
            concurrency,
            retry: Retry::parse(config)?,
        })
    }

    /// The SDK configuration, with its retry policy, and its region.
    pub(crate) async fn sdk_config(&self) -> Result<(aws_config::SdkConfig, String), ProviderError> {
        let base = self.loader().load().await;
        let region = base
            .region()
            .map(ToString::to_string)
            .ok_or_else(|| invalid("no AWS region: set `region`, or AWS_REGION in the environment".into()))?;
        let Some(arn) = &self.assume_role_arn else {
            check_credentials(&base).await?;
            return Ok((base, region));
        };
        // The base credentials assume the role; every call then runs as the role.
        let mut role = AssumeRoleProvider::builder(arn)
            .session_name(self.assume_role_session_name.clone().unwrap_or_else(|| "cairn".into()))
            .configure(&base);
        if let Some(id) = &self.assume_role_external_id {
            role = role.external_id(id);
        }
        let assumed = self.loader().credentials_provider(role.build().await).load().await;
        check_credentials(&assumed).await?;
        Ok((assumed, region))
    }

    fn loader(&self) -> aws_config::ConfigLoader {
        let mut loader = aws_config::defaults(BehaviorVersion::latest()).retry_config(self.retry.config());
        if let Some(profile) = &self.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(region) = &self.region {
            loader = loader.region(Region::new(region.clone()));
        }
        // Without an explicit endpoint, aws-config already honours AWS_ENDPOINT_URL.
        if let Some(endpoint) = &self.endpoint {
            loader = loader.endpoint_url(endpoint);
        }
        loader
    }
}

/// How to give the provider credentials.
pub(crate) const CREDENTIALS_FIX: &str = "Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, name a profile \
     (`profile` in [provider.aws], or AWS_PROFILE), log in with `aws sso login`, or run where an instance or \
     pod role provides them";

/// Resolves the credentials once, so that a run without any is refused
/// before it changes anything, naming the fix, instead of failing at each call.
async fn check_credentials(config: &aws_config::SdkConfig) -> Result<(), ProviderError> {
    use aws_credential_types::provider::ProvideCredentials;
    let Some(provider) = config.credentials_provider() else { return Ok(()) };
    match provider.provide_credentials().await {
        Ok(_) => Ok(()),
        Err(e) => Err(ProviderError::new(
            cairn_core::ErrorCode::PermissionDenied,
            format!("[provider.aws]: no AWS credentials ({e}). {CREDENTIALS_FIX}"),
        )),
    }
}

/// Bounded calls in flight per AWS service, so that many parallel steps do
/// not run into the service's throttling (the retry policy handles
/// what remains).
#[derive(Debug)]
pub(crate) struct Limits {
    configured: BTreeMap<String, usize>,
    semaphores: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl Limits {
    pub(crate) fn new(configured: BTreeMap<String, usize>) -> Self {
        Self { configured, semaphores: Mutex::default() }
    }

    /// The most calls in flight to `service`.
    pub(crate) fn limit(&self, service: &str) -> usize {
        self.configured.get(service).or_else(|| self.configured.get("default")).copied().unwrap_or(DEFAULT_CONCURRENCY)
    }

    /// Waits for a free slot for a call to `service`.
    pub(crate) async fn permit(&self, service: &str) -> OwnedSemaphorePermit {
        let semaphore = self
            .semaphores
            .lock()
            .expect("semaphores")
            .entry(service.to_owned())
            .or_insert_with(|| Arc::new(Semaphore::new(self.limit(service))))
            .clone();
        semaphore.acquire_owned().await.expect("the semaphores are never closed")
    }
}

/// Adds `defaults` to the `tags` of `inputs` (a map), keeping every tag the
/// program declared. Unknown tags (preview) are left alone.
pub(crate) fn merge_default_tags(inputs: &mut Value, defaults: &BTreeMap<String, String>) {
    if defaults.is_empty() {
        return;
    }
    let Value::Map(map) = inputs else { return };
    let tags = map.entry("tags".to_owned()).or_insert_with(Value::map);
    if matches!(tags, Value::Null) {
        *tags = Value::map();
    }
    if let Value::Map(tags) = tags {
        for (k, v) in defaults {
            tags.entry(k.clone()).or_insert_with(|| Value::String(v.clone()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(j: serde_json::Value) -> Result<Settings, ProviderError> {
        Settings::parse(&Value::from_json(&j))
    }

    #[test]
    fn settings_are_checked_and_unknown_keys_refused() {
        let s = parse(json!({
            "region": "eu-west-1", "endpoint": "", "default_tags": {"team": "ml"},
            "concurrency": {"default": 4, "eks": 2}, "assume_role_arn": "arn:aws:iam::1:role/x"
        }))
        .unwrap();
        assert_eq!(s.region.as_deref(), Some("eu-west-1"));
        assert_eq!(s.endpoint, None, "empty counts as unset");
        assert_eq!(s.default_tags["team"], "ml");
        let limits = Limits::new(s.concurrency);
        assert_eq!((limits.limit("eks"), limits.limit("iam")), (2, 4));
        assert_eq!(Limits::new(BTreeMap::new()).limit("s3"), DEFAULT_CONCURRENCY);

        let err = |j| parse(j).unwrap_err().message;
        assert!(err(json!({"regoin": "x"})).contains("unknown setting `regoin`"));
        assert!(err(json!({"profile": 3})).contains("`profile` must be a string"));
        assert!(err(json!({"default_tags": {"team": 1}})).contains("`default_tags.team` must be a string"));
        assert!(err(json!({"concurrency": {"eks": 0}})).contains("`concurrency.eks` must be a positive whole number"));
        assert!(err(json!({"default_tags": "team"})).contains("must be a table"));
        assert_eq!(s.retry, Retry { adaptive: false, max_attempts: DEFAULT_MAX_ATTEMPTS }, "standard by default");
        let r = parse(json!({"retry_mode": "adaptive", "max_attempts": 3})).unwrap().retry;
        assert_eq!(r, Retry { adaptive: true, max_attempts: 3 });
        assert!(err(json!({"retry_mode": "fast"})).contains("`retry_mode` must be \"standard\" or \"adaptive\""));
        assert!(err(json!({"max_attempts": 0})).contains("`max_attempts` must be a whole number from 1 to 30"));
    }

    #[test]
    fn default_tags_fill_in_and_declared_tags_win() {
        let defaults = BTreeMap::from([("team".to_owned(), "ml".to_owned()), ("env".to_owned(), "dev".to_owned())]);
        let mut inputs = Value::from_json(&json!({"tags": {"team": "research"}}));
        merge_default_tags(&mut inputs, &defaults);
        assert_eq!(inputs.get("tags").unwrap().to_json(), json!({"team": "research", "env": "dev"}));
        let mut bare = Value::from_json(&json!({"name": "x"}));
        merge_default_tags(&mut bare, &defaults);
        assert_eq!(bare.get("tags").unwrap().to_json(), json!({"team": "ml", "env": "dev"}));
    }

    #[tokio::test]
    async fn a_service_gets_no_more_calls_than_its_limit() {
        let limits = Limits::new(BTreeMap::from([("eks".to_owned(), 1)]));
        let first = limits.permit("eks").await;
        let second = tokio::time::timeout(std::time::Duration::from_millis(50), limits.permit("eks")).await;
        assert!(second.is_err(), "the second eks call waits");
        assert!(tokio::time::timeout(std::time::Duration::from_millis(50), limits.permit("iam")).await.is_ok());
        drop(first);
        assert!(tokio::time::timeout(std::time::Duration::from_millis(50), limits.permit("eks")).await.is_ok());
    }
}
