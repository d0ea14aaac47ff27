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
    let emulator = Emulator::start()?;
    // Tests that need the database must fail, not skip, without it: so no
    // server means no test run.
    let postgres =
        Postgres::start().map_err(|e| format!("{e}\nPostgreSQL is needed by the tests, so none were run"))?;
    let with_services = |mut cmd: Command| {
        emulator.configure(&mut cmd);
        postgres.configure(&mut cmd);
        cmd
    };

    // Tests run the provider plugin and the examples as processes, so the
    // binaries must exist before the tests start.
    let mut build = cargo();
    build.args(["build", "--workspace", "--bins"]);
    crate::run(&mut with_services(build))
        .map_err(|e| format!("{e}; the tests need the workspace binaries, so none were run"))?;

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
    drop(postgres);
    drop(emulator);
    if failed.is_empty() {
        eprintln!("==> all tests passed");
        Ok(())
    } else {
        Err(format!("failed: {}", failed.join(", ")))
    }
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
