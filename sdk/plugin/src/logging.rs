//! Log output, the same for the engine and its plugins: to stderr (stdout is
//! the handshake in a plugin, and the plan or `--json` document in the
//! program), filtered by `CAIRN_LOG` (e.g. `debug`, `cairn_state=debug`;
//! default: warnings). A plugin inherits the variable from the engine.

/// Warnings and errors; not the AWS credential chain's warning for each source it
/// tries in turn (the AWS provider says once, plainly, when none has credentials).
const DEFAULT_FILTER: &str = "warn,aws_config::meta::credentials::chain=error";

/// Installs the subscriber; a second call does nothing.
pub fn init() {
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CAIRN_LOG").unwrap_or_else(|_| DEFAULT_FILTER.into()),
        )
        .try_init();
}
