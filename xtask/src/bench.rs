//! `cargo xtask bench`: measured targets, reported as ratios from one run
//! (the machines are shared and noisy, so seconds are shown but never judged).
//!
//! - Write amplification: bytes written to the state store during an `up`
//!   of 1,000 creates, over the final state's size; the target is ≤ 3×, on
//!   every backend.

use std::process::Stdio;

use crate::postgres::Postgres;
use crate::{Result, cargo, target_dir};

/// The most bytes written per byte of final state.
const MAX_WRITE_AMPLIFICATION: f64 = 3.0;

pub(crate) fn run() -> Result {
    let postgres = Postgres::start()?;
    let emulator = crate::moto::Emulator::start()?;
    let mut build = cargo();
    build.args(["build", "-p", "cairn-tests", "--bin", "bench-state", "-p", "cairn-provider-aws"]);
    crate::run(&mut build)?;

    let state_dir = tempfile::tempdir().map_err(|e| format!("cannot create a temp dir: {e}"))?;
    let file_url = format!("file://{}", state_dir.path().display());
    let exe = target_dir().join("debug").join("bench-state");
    let mut bench = std::process::Command::new(&exe);
    emulator.configure(&mut bench);
    bench.env("CAIRN_PLUGIN_AWS", target_dir().join("debug").join("cairn-provider-aws"));
    let out = bench
        .args(["1000", &file_url, &postgres.url(), "s3", "s3+dynamodb"])
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", exe.display()))?;
    if !out.status.success() {
        return Err(format!("{} failed", exe.display()));
    }
    let mut over = Vec::new();
    println!(
        "{:<12} {:>8} {:>14} {:>14} {:>7} {:>8}",
        "backend", "creates", "final bytes", "written", "ratio", "seconds"
    );
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let j: serde_json::Value = serde_json::from_str(line).map_err(|e| format!("bad bench output `{line}`: {e}"))?;
        let ratio = j["ratio"].as_f64().unwrap_or(f64::MAX);
        println!(
            "{:<12} {:>8} {:>14} {:>14} {:>6.2}x {:>8}",
            j["backend"].as_str().unwrap_or("?"),
            j["creates"].as_u64().unwrap_or_default(),
            j["final_state_bytes"].as_u64().unwrap_or_default(),
            j["bytes_written"].as_u64().unwrap_or_default(),
            ratio,
            format!("{:.2}", j["seconds"].as_f64().unwrap_or_default())
        );
        if ratio > MAX_WRITE_AMPLIFICATION {
            over.push(format!("{} ({ratio:.2}x)", j["backend"]));
        }
    }
    if over.is_empty() {
        println!("write amplification within {MAX_WRITE_AMPLIFICATION}x on every backend");
        Ok(())
    } else {
        Err(format!("write amplification above {MAX_WRITE_AMPLIFICATION}x: {}", over.join(", ")))
    }
}
