//! Log output, the same for the engine and its plugins: to stderr (stdout is
//! the handshake in a plugin, and the plan or `--json` document in the
//! program), filtered by `CAIRN_LOG` (e.g. `debug`, `cairn_state=debug`;
//! default `warn`). A plugin inherits the variable from the engine.

/// Installs the subscriber; a second call does nothing.
pub fn init() {
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("CAIRN_LOG").unwrap_or_else(|_| "warn".into()))
        .try_init();
}
