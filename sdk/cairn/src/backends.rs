//! Opening the state store a backend URL names.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use cairn_core::Value;
use cairn_state::{StateError, StateStore};

/// Opens `file://PATH` (relative to `base`), `postgres://…`, or a backend a
/// plugin serves: `s3://BUCKET/PREFIX` runs in the AWS plugin, configured by
/// the stack's `[provider.aws]` table (`providers`), so the program links no
/// AWS SDK.
pub async fn open(
    url: &str,
    base: &Path,
    providers: &BTreeMap<String, Value>,
) -> Result<Box<dyn StateStore>, StateError> {
    match url.split_once("://").map(|(scheme, _)| scheme) {
        #[cfg(feature = "postgres")]
        Some("postgres" | "postgresql") => Ok(Box::new(cairn_state_postgres::PostgresStore::new(url)?)),
        Some("file") => cairn_state::open_store(url, base),
        Some("s3") => {
            let bad = |reason: String| StateError::BadUrl { url: url.to_owned(), reason };
            let path = tokio::task::spawn_blocking(|| cairn_plugin::find_plugin("aws"))
                .await
                .map_err(|e| bad(e.to_string()))?
                .map_err(|e| bad(format!("s3:// state is served by the AWS plugin: {e}")))?;
            let plugin = cairn_plugin::launch(&path).await.map_err(|e| bad(e.to_string()))?;
            let config = providers.get("aws").cloned().unwrap_or_else(Value::map);
            Ok(Box::new(cairn_plugin::GrpcStateStore::open(Arc::new(plugin), url, &config).await?))
        }
        _ => Err(StateError::BadUrl {
            url: url.to_owned(),
            reason: "use file://PATH (the default, relative to the project), postgres://USER@HOST:PORT/DB \
                     or s3://BUCKET/PREFIX"
                .into(),
        }),
    }
}
