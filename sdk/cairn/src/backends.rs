//! Opening the state store a backend URL names.

use std::path::Path;

use cairn_state::{StateError, StateStore};

/// Opens `file://PATH` (relative to `base`) or `postgres://…`.
pub fn open(url: &str, base: &Path) -> Result<Box<dyn StateStore>, StateError> {
    match url.split_once("://").map(|(scheme, _)| scheme) {
        #[cfg(feature = "postgres")]
        Some("postgres" | "postgresql") => Ok(Box::new(cairn_state_postgres::PostgresStore::new(url)?)),
        Some("file") => cairn_state::open_store(url, base),
        _ => Err(StateError::BadUrl {
            url: url.to_owned(),
            reason: "use file://PATH (the default, relative to the project) or postgres://USER@HOST:PORT/DB".into(),
        }),
    }
}
