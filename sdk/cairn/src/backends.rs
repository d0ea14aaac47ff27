//! Opening the state store a backend URL names.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use cairn_core::{ProjectName, StackName, Value};
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
            let plugin =
                aws_plugin().await.map_err(|e| bad(format!("s3:// state is served by the AWS plugin: {e}")))?;
            let config = providers.get("aws").cloned().unwrap_or_else(Value::map);
            Ok(Box::new(cairn_plugin::GrpcStateStore::open(plugin, url, &config).await?))
        }
        _ => Err(StateError::BadUrl {
            url: url.to_owned(),
            reason: "use file://PATH (the default, relative to the project), postgres://USER@HOST:PORT/DB \
                     or s3://BUCKET/PREFIX"
                .into(),
        }),
    }
}

/// Starts the AWS plugin, found the way providers are found.
async fn aws_plugin() -> Result<Arc<cairn_plugin::GrpcProvider>, String> {
    let path = tokio::task::spawn_blocking(|| cairn_plugin::find_plugin("aws"))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    Ok(Arc::new(cairn_plugin::launch(&path).await.map_err(|e| e.to_string())?))
}

/// Data keys for sealing a stack's secrets under the KMS key `key_url`
/// (`awskms://…`), served by the AWS plugin configured by the stack's
/// `[provider.aws]` table. Wrapped keys are bound to the project and stack
/// (the KMS encryption context).
pub async fn data_keys(
    key_url: &str,
    providers: &BTreeMap<String, Value>,
    project: &ProjectName,
    stack: &StackName,
) -> anyhow::Result<cairn_plugin::GrpcDataKeys> {
    let plugin =
        aws_plugin().await.map_err(|e| anyhow::anyhow!("awskms:// keys are reached through the AWS plugin: {e}"))?;
    let config = providers.get("aws").cloned().unwrap_or_else(Value::map);
    let context = BTreeMap::from([
        ("cairn-project".to_owned(), project.to_string()),
        ("cairn-stack".to_owned(), stack.to_string()),
    ]);
    Ok(cairn_plugin::GrpcDataKeys::new(plugin, key_url, config, context))
}
