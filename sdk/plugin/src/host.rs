//! The engine side: find a provider plugin's binary and start it.
//!
//! A plugin for package `pkg` (the first part of a type token such as
//! `aws:eks:NodeGroup`) is a binary named `cairn-provider-pkg`. It is looked
//! for, in order:
//!
//! 1. the path in the environment variable `CAIRN_PLUGIN_PKG` (upper case);
//! 2. when the program runs under `cargo run` (cargo sets `CARGO`), a package
//!    of that name in the current cargo workspace, built on demand with
//!    `cargo build -p cairn-provider-pkg` (a no-op when it is up to date), so a
//!    fresh clone needs no step by hand;
//! 3. the package of that name in the source tree the program's Cairn came
//!    from (a path or git dependency's checkout), built once into a per-user
//!    cache ([`crate::source_build`]): how a platform repository outside
//!    Cairn's workspace gets a plugin of its own Cairn version with cargo alone;
//! 4. the directory of the running program (where cargo puts workspace binaries);
//! 5. every directory on `PATH` (how third-party plugins are installed, e.g.
//!    by `cargo install`).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use crate::HANDSHAKE_PREFIX;
use crate::client::GrpcProvider;

/// A plugin that could not be found or started.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// No binary was found.
    #[error(
        "provider plugin `{binary}` for `{package}:*` resources was not found (looked in: {looked}); \
         build it with `cargo build -p {binary}` in a checkout of its source, install it with `cargo install`, \
         put it on PATH, or set {env_var}=/path/to/{binary}"
    )]
    NotFound {
        /// The package.
        package: String,
        /// The binary name.
        binary: String,
        /// Where it looked.
        looked: String,
        /// The override variable.
        env_var: String,
    },
    /// Building the plugin with cargo failed.
    #[error("building provider plugin `{binary}` failed: {message}")]
    Build {
        /// The binary name.
        binary: String,
        /// What cargo said.
        message: String,
    },
    /// The process could not be started or broke the handshake.
    #[error("provider plugin {path} {message}")]
    Start {
        /// The binary.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
}

/// The binary name of the plugin for a package: `aws` → `cairn-provider-aws`.
pub fn plugin_binary_name(package: &str) -> String {
    format!("cairn-provider-{package}")
}

fn env_var_name(package: &str) -> String {
    format!("CAIRN_PLUGIN_{}", package.to_ascii_uppercase().replace('-', "_"))
}

/// Finds the plugin binary for `package` (see the module docs for the order).
pub fn find_plugin(package: &str) -> Result<PathBuf, PluginError> {
    let binary = plugin_binary_name(package);
    let env_var = env_var_name(package);
    let mut looked = Vec::new();
    if let Some(p) = std::env::var_os(&env_var) {
        let p = PathBuf::from(p);
        if p.is_file() {
            return Ok(p);
        }
        looked.push(format!("{env_var}={}", p.display()));
    }
    if let Some(cargo) = std::env::var_os("CARGO") {
        match build_with_cargo(Path::new(&cargo), &binary)? {
            Some(p) => return Ok(p),
            None => looked.push("the current cargo workspace".into()),
        }
    }
    if let Some(p) = crate::source_build::build_from_source(&binary, &mut looked)? {
        return Ok(p);
    }
    if let Some(dir) = std::env::current_exe().ok().and_then(|e| e.parent().map(Path::to_path_buf)) {
        let p = dir.join(&binary);
        if p.is_file() {
            return Ok(p);
        }
        looked.push(dir.display().to_string());
    }
    for dir in std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()) {
        let p = dir.join(&binary);
        if p.is_file() {
            return Ok(p);
        }
    }
    looked.push("PATH".into());
    Err(PluginError::NotFound { package: package.to_owned(), binary, looked: looked.join(", "), env_var })
}

/// Builds the plugin package in the current cargo workspace. `Ok(None)` when
/// the workspace has no such package.
fn build_with_cargo(cargo: &Path, binary: &str) -> Result<Option<PathBuf>, PluginError> {
    let out = crate::source_build::cargo_command(cargo)
        .args(["build", "--quiet", "--message-format=json-render-diagnostics", "-p", binary, "--bin", binary])
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| PluginError::Build { binary: binary.to_owned(), message: e.to_string() })?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        if stderr.contains("did not match any packages") {
            return Ok(None);
        }
        return Err(PluginError::Build {
            binary: binary.to_owned(),
            message: format!("`cargo build -p {binary}` said: {}", stderr.trim()),
        });
    }
    // Keep the user informed of the compile without polluting stdout (which may carry --json).
    if !stderr.trim().is_empty() {
        eprintln!("{}", stderr.trim());
    }
    let exe = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|m| m["reason"] == "compiler-artifact")
        .find_map(|m| m["executable"].as_str().map(PathBuf::from));
    Ok(exe)
}

/// Starts the plugin binary at `path` and connects to it.
pub async fn launch(path: &Path) -> Result<GrpcProvider, PluginError> {
    launch_in(path, None).await
}

/// [`launch`] with the plugin running in `dir` (the stack file's directory, so that relative
/// paths in its settings mean the same as in the stack file), or in ours when `None`.
pub async fn launch_in(path: &Path, dir: Option<&Path>) -> Result<GrpcProvider, PluginError> {
    let start = |message: String| PluginError::Start { path: path.to_owned(), message };
    // The binary's path is ours: absolute before the plugin's directory changes.
    let binary = std::path::absolute(path).map_err(|e| start(format!("has no absolute path: {e}")))?;
    let mut command = Command::new(&binary);
    if let Some(dir) = dir.filter(|d| !d.as_os_str().is_empty()) {
        command.current_dir(dir);
    }
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| start(format!("could not be started: {e}")))?;
    let stdout = child.stdout.take().ok_or_else(|| start("has no stdout".into()))?;
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
        .await
        .map_err(|_| start("printed no handshake within 60 s".into()))?
        .map_err(|e| start(format!("handshake could not be read: {e}")))?
        .ok_or_else(|| start("exited before its handshake".into()))?;
    let addr = parse_handshake(&line).map_err(start)?;
    // Anything else a plugin prints to stdout is forwarded to stderr, never to ours.
    tokio::spawn(async move {
        while let Ok(Some(l)) = lines.next_line().await {
            eprintln!("{l}");
        }
    });
    GrpcProvider::connect(&addr, child).await.map_err(start)
}

fn parse_handshake(line: &str) -> Result<String, String> {
    let parts: Vec<&str> = line.trim().split('|').collect();
    match parts.as_slice() {
        [HANDSHAKE_PREFIX, version, "tcp", addr] => {
            let want = cairn_proto::PROTOCOL_VERSION.to_string();
            if *version != want {
                return Err(format!("speaks protocol {version} but this engine speaks {want}: use matching versions"));
            }
            Ok((*addr).to_owned())
        }
        _ => Err(format!("sent a malformed handshake `{line}`; expected `{HANDSHAKE_PREFIX}|1|tcp|HOST:PORT`")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handshake_is_parsed_and_versions_checked() {
        assert_eq!(parse_handshake("CAIRN_PLUGIN|1|tcp|127.0.0.1:4000\n").unwrap(), "127.0.0.1:4000");
        assert!(parse_handshake("CAIRN_PLUGIN|9|tcp|127.0.0.1:4000").unwrap_err().contains("protocol 9"));
        assert!(parse_handshake("hello").unwrap_err().contains("malformed"));
    }

    #[test]
    fn missing_plugin_error_says_how_to_get_it() {
        let err = find_plugin("nonexistent-pkg-xyz").unwrap_err().to_string();
        assert!(
            err.contains("cairn-provider-nonexistent-pkg-xyz") && err.contains("CAIRN_PLUGIN_NONEXISTENT_PKG_XYZ"),
            "{err}"
        );
    }
}
