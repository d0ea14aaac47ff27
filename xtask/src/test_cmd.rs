//! `cargo xtask test`: the whole test suite against a local AWS emulator and
//! a throwaway PostgreSQL server.
//!
//! Plain `cargo test` skips or fails the tests that talk to AWS or need a
//! database; this task starts moto and PostgreSQL, points every test at
//! them, and runs everything.

use std::process::{Command, Stdio};

use crate::moto::Emulator;
use crate::postgres::Postgres;
use crate::{Result, cargo};

/// Builds the workspace binaries, then runs the tests and the doctests with
/// the environment of the emulator and of PostgreSQL. `extra` goes to
/// `cargo nextest run`.
pub(crate) fn run(extra: &[String]) -> Result {
    let services = Services::start()?;
    let with_services = |cmd| services.configure(cmd);

    let mut failed = Vec::new();

    let mut tests = cargo();
    if nextest_available() {
        tests.args(["nextest", "run", "--workspace", "--no-fail-fast"]);
    } else {
        eprintln!(
            "note: cargo-nextest not found, using cargo test \
             (faster: cargo install cargo-nextest --locked)"
        );
        tests.args(["test", "--workspace", "--no-fail-fast"]);
    }
    tests.args(extra);
    if let Err(e) = crate::run(&mut with_services(tests)) {
        eprintln!("error: {e}");
        failed.push("tests");
    }

    // nextest does not run doctests.
    let mut doctests = cargo();
    doctests.args(["test", "--workspace", "--doc"]);
    if let Err(e) = crate::run(&mut with_services(doctests)) {
        eprintln!("error: {e}");
        failed.push("doctests");
    }

    // Stop in the reverse order of starting, before the summary.
    drop(services);
    if failed.is_empty() {
        eprintln!("==> all tests passed");
        Ok(())
    } else {
        Err(format!("failed: {}", failed.join(", ")))
    }
}

/// The servers the tests need, started, with the workspace binaries built.
struct Services {
    emulator: Emulator,
    postgres: Postgres,
}

impl Services {
    fn start() -> Result<Self> {
        let emulator = Emulator::start()?;
        // Tests that need the database must fail, not skip, without it: so no
        // server means no test run.
        let postgres =
            Postgres::start().map_err(|e| format!("{e}\nPostgreSQL is needed by the tests, so none were run"))?;
        let services = Self { emulator, postgres };
        // Tests run the provider plugin and the examples as processes, so the
        // binaries must exist before the tests start. `--all-targets` builds
        // everything the tests use, so they reuse every crate built here; then
        // the builds of the demo, of a program and of a plugin built on demand
        // must reuse it too (docs/building.md).
        let mut build = cargo();
        build.args(["build", "--workspace", "--all-targets"]);
        crate::run(&mut services.configure(build))
            .map_err(|e| format!("{e}; the tests need the workspace binaries, so none were run"))?;
        crate::build_once::check()?;
        Ok(services)
    }

    fn configure(&self, mut cmd: Command) -> Command {
        self.emulator.configure(&mut cmd);
        self.postgres.configure(&mut cmd);
        // Tests that open s3:// state or run programs use the plugin just built,
        // never a cargo build of their own (nested builds would contend for the lock).
        cmd.env("CAIRN_PLUGIN_AWS", crate::target_dir().join("debug").join("cairn-provider-aws"));
        cmd.env("CAIRN_PLUGIN_RANDOM", crate::target_dir().join("debug").join("cairn-provider-random"));
        cmd
    }
}

/// `cargo xtask chaos` and `cargo xtask faults`: the end-to-end tests matching `filter`, one at a time,
/// with their trial settings (environment variables) and their output shown.
pub(crate) fn trials(filter: &str, settings: &[(&str, String)]) -> Result {
    let services = Services::start()?;
    let mut tests = cargo();
    tests.args(["test", "-p", "cairn-tests", "--test", "e2e", "--", filter, "--nocapture", "--test-threads", "1"]);
    let mut tests = services.configure(tests);
    tests.envs(settings.iter().map(|(k, v)| (k, v)));
    crate::run(&mut tests)
}

/// Whether `cargo nextest` is installed.
fn nextest_available() -> bool {
    cargo()
        .args(["nextest", "--version"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}
