//! `cargo xtask`: Cairn's project automation.
//!
//! Runs the test suite against a local AWS emulator and PostgreSQL, the
//! end-to-end demo, and the protocol code generation. It is a plain Rust
//! binary so that a newcomer needs nothing but cargo (and python3 for the
//! emulator; PostgreSQL is installed with apt-get when missing).

mod bench;
mod bench_builds;
mod bench_preview;
mod build_once;
mod codegen;
mod demo;
mod moto;
mod postgres;
mod test_cmd;

use std::ffi::OsStr;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use clap::{Parser, Subcommand};

/// Result of an xtask step: the error is a message meant for the user.
type Result<T = ()> = std::result::Result<T, String>;

/// Cairn project tasks.
#[derive(Parser)]
#[command(name = "cargo xtask", about = "Cairn project tasks")]
struct Cli {
    /// The task to run.
    #[command(subcommand)]
    command: Task,
}

/// The tasks `cargo xtask` knows.
#[derive(Subcommand)]
enum Task {
    /// Build everything and run all tests against a local AWS emulator (moto) and PostgreSQL.
    Test {
        /// Extra arguments for `cargo nextest run` (write them after `--`).
        #[arg(last = true)]
        extra: Vec<String>,
    },
    /// Kill `up` with SIGKILL at random moments, N trials per state backend,
    /// checking that the next `up` leaves nothing duplicated or orphaned.
    Chaos {
        /// Trials per backend.
        #[arg(long, default_value_t = 20)]
        trials: usize,
    },
    /// Bring the example platform up, preview it and destroy it through a
    /// proxy that fails RATE of AWS calls (throttling, 500, 503), N times,
    /// checking that nothing fails or exists twice.
    Faults {
        /// Trials.
        #[arg(long, default_value_t = 5)]
        trials: usize,
        /// The share of AWS calls that fail, 0 to 1.
        #[arg(long, default_value_t = 0.3)]
        rate: f64,
    },
    /// Measure every benchmark (docs/benchmarks.md) and print each figure beside its target.
    Bench {
        /// Only these benchmarks, comma-separated: p1, p2, p3, p4, p5, r3, policy.
        #[arg(long, value_delimiter = ',')]
        only: Vec<String>,
    },
    /// Run the property tests (`fuzz_*`: the stack config parser, the state
    /// and journal decoders, the value's JSON and wire forms) with many cases.
    Fuzz {
        /// Cases per property (the test suite runs 256, or 64 for the file store's).
        #[arg(long, default_value_t = 10_000)]
        cases: u32,
    },
    /// Deploy the ai-platform example to a local AWS emulator and show the result.
    Demo,
    /// Regenerate the resource reference pages (docs/reference/) from the schemas.
    Docs,
    /// Generate the gRPC code of the provider protocol from its .proto file.
    Codegen {
        /// Only check that the checked-in code is current; change nothing.
        #[arg(long)]
        check: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Task::Test { extra } => test_cmd::run(&extra),
        Task::Chaos { trials } => test_cmd::trials("chaos::", &[("CAIRN_CHAOS_TRIALS", trials.to_string())]),
        Task::Faults { trials, rate } => test_cmd::trials(
            "faults::the_example",
            &[("CAIRN_FAULT_TRIALS", trials.to_string()), ("CAIRN_FAULT_RATE", rate.to_string())],
        ),
        Task::Bench { only } => bench::run(&only),
        Task::Fuzz { cases } => {
            let mut cmd = cargo();
            cmd.args(["test", "-p", "cairn", "-p", "cairn-core", "-p", "cairn-proto", "-p", "cairn-state", "fuzz_"])
                .env("PROPTEST_CASES", cases.to_string());
            run(&mut cmd)
        }
        Task::Demo => demo::run(),
        Task::Codegen { check } => codegen::run(check),
        Task::Docs => {
            // The test that checks the pages also writes them when asked to.
            let mut cmd = cargo();
            cmd.args(["test", "-p", "cairn-aws", "-p", "cairn-random", "-p", "cairn-gitops", "--test", "reference"])
                .env("CAIRN_UPDATE_DOCS", "1");
            run(&mut cmd)
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Root of the workspace: the parent of this crate's directory.
fn workspace_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().unwrap_or(manifest_dir).to_path_buf()
}

/// Scratch space of xtask (emulator virtualenv, logs, demo state).
fn xtask_dir() -> PathBuf {
    workspace_root().join("target").join("xtask")
}

/// Cargo's target directory, where `cargo build` puts the binaries.
fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() {
                dir
            } else {
                // Cargo resolves a relative CARGO_TARGET_DIR against its own
                // working directory, which is ours too.
                match std::env::current_dir() {
                    Ok(cwd) => cwd.join(dir),
                    Err(_) => dir,
                }
            }
        }
        _ => workspace_root().join("target"),
    }
}

/// A `cargo` command run in the workspace root, using the same cargo (and
/// so the same toolchain) that is running xtask.
///
/// Without the variables cargo set for xtask itself (`CARGO_PKG_NAME`,
/// `CARGO_MANIFEST_DIR`, ...): some build scripts (aws-lc-sys's among them)
/// rerun when those change, and everything above them (the whole AWS SDK) is
/// then compiled again, once for builds run from a shell, once for ours.
fn cargo() -> Command {
    let mut cmd = Command::new(cargo_program());
    cmd.current_dir(workspace_root());
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        let of_xtask = name.starts_with("CARGO_PKG_")
            || name.starts_with("CARGO_BIN_")
            || matches!(
                name.as_ref(),
                "CARGO_MANIFEST_DIR"
                    | "CARGO_MANIFEST_PATH"
                    | "CARGO_MANIFEST_LINKS"
                    | "CARGO_CRATE_NAME"
                    | "CARGO_PRIMARY_PACKAGE"
            );
        if of_xtask {
            cmd.env_remove(name.as_ref());
        }
    }
    cmd
}

/// The cargo binary: `$CARGO` when run through cargo, else `cargo` from PATH.
fn cargo_program() -> std::ffi::OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

/// Prints `cmd`, runs it with the terminal as stdin/stdout/stderr, and fails
/// unless it exits successfully.
fn run(cmd: &mut Command) -> Result {
    let shown = display(cmd);
    eprintln!("==> {shown}");
    let status = cmd.status().map_err(|e| spawn_error(cmd, &shown, &e))?;
    if status.success() { Ok(()) } else { Err(format!("`{shown}` failed ({status})")) }
}

/// Like [`run`], but returns what the command wrote to stdout (its stderr
/// still goes to the terminal, so progress and errors stay visible).
fn run_capture(cmd: &mut Command) -> Result<Vec<u8>> {
    let shown = display(cmd);
    eprintln!("==> {shown}");
    let output =
        cmd.stdin(Stdio::null()).stderr(Stdio::inherit()).output().map_err(|e| spawn_error(cmd, &shown, &e))?;
    if output.status.success() { Ok(output.stdout) } else { Err(format!("`{shown}` failed ({})", output.status)) }
}

/// Error message for a command that could not even be started.
fn spawn_error(cmd: &Command, shown: &str, error: &io::Error) -> String {
    if error.kind() == io::ErrorKind::NotFound {
        format!("could not run `{shown}`: {} not found", cmd.get_program().to_string_lossy())
    } else {
        format!("could not run `{shown}`: {error}")
    }
}

/// Renders a command the way one would type it in a shell: the cargo
/// binary is shown as `cargo`, paths inside the workspace are made relative.
fn display(cmd: &Command) -> String {
    let program = cmd.get_program();
    let mut parts = Vec::new();
    if program == cargo_program().as_os_str() {
        parts.push("cargo".to_owned());
    } else {
        let root = workspace_root();
        let program = Path::new(program);
        parts.push(quote(program.strip_prefix(&root).unwrap_or(program).as_os_str()));
    }
    parts.extend(cmd.get_args().map(quote));
    parts.join(" ")
}

/// Quotes a shell word if it needs it.
fn quote(word: &OsStr) -> String {
    let word = word.to_string_lossy();
    let plain = !word.is_empty() && word.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:=@,+%".contains(c));
    if plain { word.into_owned() } else { format!("'{}'", word.replace('\'', r"'\''")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_quotes_only_what_needs_it() {
        let mut cmd = Command::new("pip");
        cmd.args(["install", "moto[server]>=5.1,<6", "it's"]);
        assert_eq!(display(&cmd), r"pip install 'moto[server]>=5.1,<6' 'it'\''s'");
    }

    #[test]
    fn workspace_root_holds_the_workspace_manifest() {
        assert!(workspace_root().join("Cargo.toml").is_file());
        assert!(workspace_root().join("xtask").is_dir());
    }
}
