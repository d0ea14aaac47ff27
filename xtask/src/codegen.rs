//! `cargo xtask codegen`: generates the gRPC code of the provider protocol.
//!
//! The generated code is checked in, so building Cairn needs neither protoc
//! nor a build script; `--check` (and the test below) keep it in sync with
//! the .proto file. protox parses the .proto in pure Rust.

use std::fs;
use std::path::Path;

use crate::{Result, workspace_root};

/// The protocol definition, relative to the workspace root.
const PROTO: &str = "sdk/proto/proto/cairn/provider/v1/provider.proto";

/// Where imports in the .proto are resolved from.
const INCLUDE_DIR: &str = "sdk/proto/proto";

/// Name of the file that tonic-prost-build writes (from the proto package).
const GENERATED_NAME: &str = "cairn.provider.v1.rs";

/// The checked-in generated code, relative to the workspace root.
const GENERATED: &str = "sdk/proto/src/generated/cairn.provider.v1.rs";

/// First line of the checked-in file, so readers know not to edit it.
const HEADER: &str = "// Generated from sdk/proto/proto/cairn/provider/v1/provider.proto \
                      by `cargo xtask codegen`: do not edit.\n";

/// What to do with the freshly generated code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// Write it to the checked-in file if it differs.
    Write,
    /// Fail if it differs from the checked-in file.
    Check,
}

/// Entry point of the `codegen` command.
pub(crate) fn run(check: bool) -> Result {
    let mode = if check { Mode::Check } else { Mode::Write };
    sync(&workspace_root(), mode)
}

/// Generates the code and compares it with (or writes it to) the checked-in
/// file under `root`.
fn sync(root: &Path, mode: Mode) -> Result {
    let generated = generate(root)?;
    let target = root.join(GENERATED);
    let current = fs::read_to_string(&target).ok();
    // Tolerate CRLF checkouts (git autocrlf on Windows).
    let up_to_date = current.is_some_and(|current| current.replace("\r\n", "\n") == generated);
    match (mode, up_to_date) {
        (_, true) => {
            eprintln!("{GENERATED} is up to date");
            Ok(())
        }
        (Mode::Check, false) => Err(format!("{GENERATED} is out of date: run `cargo xtask codegen`")),
        (Mode::Write, false) => {
            if let Some(dir) = target.parent() {
                fs::create_dir_all(dir).map_err(|e| format!("could not create {}: {e}", dir.display()))?;
            }
            fs::write(&target, generated).map_err(|e| format!("could not write {}: {e}", target.display()))?;
            eprintln!("wrote {GENERATED}");
            Ok(())
        }
    }
}

/// Compiles the .proto (without protoc) and returns the generated Rust code,
/// header included.
fn generate(root: &Path) -> Result<String> {
    let proto = root.join(PROTO);
    let include_dir = root.join(INCLUDE_DIR);
    if !proto.is_file() {
        return Err(format!("{PROTO} not found"));
    }
    let descriptors = protox::compile([&proto], [&include_dir]).map_err(|e| match e.file() {
        Some(file) => format!("could not compile {PROTO}: in {file}: {e}"),
        None => format!("could not compile {PROTO}: {e}"),
    })?;

    // tonic-prost-build writes files; let it write into a scratch directory.
    let out_dir = tempfile::tempdir().map_err(|e| format!("could not create a temporary directory: {e}"))?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .emit_rerun_if_changed(false)
        .out_dir(out_dir.path())
        .compile_fds(descriptors)
        .map_err(|e| format!("could not generate code from {PROTO}: {e}"))?;

    let out_file = out_dir.path().join(GENERATED_NAME);
    let code = fs::read_to_string(&out_file).map_err(|e| {
        format!(
            "code generation did not produce {GENERATED_NAME} ({e}); \
             is the package of {PROTO} still `cairn.provider.v1`?"
        )
    })?;
    Ok(format!("{HEADER}{code}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fails when someone edits the .proto without running `cargo xtask codegen`.
    #[test]
    fn generated_protocol_code_is_current() {
        if let Err(message) = sync(&workspace_root(), Mode::Check) {
            panic!("{message}");
        }
    }
}
