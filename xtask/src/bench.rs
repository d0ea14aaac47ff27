//! `cargo xtask bench`: measured targets, reported as ratios from one run
//! (the machines are shared and noisy, so seconds are shown but never judged).
//!
//! - Write amplification: bytes written to the state store during an `up`
//!   of 1,000 and of 10,000 creates, over the final state's size; the target is ≤ 3×, on
//!   every backend.
//! - Policy evaluation and cost estimation: the built-in pack, the example's Rego policy and the price table over
//!   a plan of 1,000, 10,000 and 20,000 resources (optimised build); the
//!   target is under 1 s at 10,000, and the yardstick is serialising the
//!   plan document once in the same run.
//! - The wide apply: an `up` of 1,000 creates of 20–200 ms in a DAG, within
//!   1.15x of max(critical path, Σ latency / parallelism).
//! - The plugin protocol: the `random` provider through its plugin binary
//!   against in process, at most 1 ms more per operation.
//! - The large preview (`bench_preview`): a no-op preview of 10,000
//!   resources within 1 s, 3x `state export` of the same state and 300 MB,
//!   and linear from 100 to 20,000 resources.

use std::process::Stdio;

use crate::postgres::Postgres;
use crate::{Result, cargo, target_dir};

/// The most bytes written per byte of final state.
const MAX_WRITE_AMPLIFICATION: f64 = 3.0;

/// How much a per-resource cost may grow over the scaling curve and still count as linear.
pub(crate) const MAX_GROWTH: f64 = 1.5;

/// The benchmarks, by the name `--only` takes, in the order they run (the
/// builds last: they compile from scratch twice, many minutes).
pub(crate) const PARTS: [&str; 7] = ["p3", "p2", "p4", "policy", "p1", "r3", "p5"];

/// Runs the benchmarks named in `only` (all when empty) and prints the closing table.
pub(crate) fn run(only: &[String]) -> Result {
    if let Some(unknown) = only.iter().find(|name| !PARTS.contains(&name.as_str())) {
        return Err(format!("no benchmark `{unknown}`; known: {}", PARTS.join(", ")));
    }
    let postgres = Postgres::start()?;
    let emulator = crate::moto::Emulator::start()?;
    let mut build = cargo();
    build.args([
        "build",
        "-p",
        "cairn-tests",
        "--bin",
        "bench-state",
        "--bin",
        "bench-apply",
        "--bin",
        "bench-plugin",
        "--bin",
        "bench-faults",
        // The example's programs, for R3.
        "-p",
        "ai-base",
        "--bin",
        "ai-base",
        "-p",
        "ai-platform",
        "--bin",
        "ai-platform",
        "-p",
        "ai-runtime",
        "--bin",
        "ai-runtime",
        // `--bin` selects among every package named, so the plugins' binaries are named too.
        "-p",
        "cairn-provider-aws",
        "--bin",
        "cairn-provider-aws",
        "-p",
        "cairn-provider-random",
        "--bin",
        "cairn-provider-random",
        "-p",
        "cairn-provider-gitops",
        "--bin",
        "cairn-provider-gitops",
    ]);
    crate::run(&mut build)?;

    let mut figures = Vec::new();
    let mut failures = Vec::new();
    for part in PARTS.into_iter().filter(|part| only.is_empty() || only.iter().any(|o| o == part)) {
        let measured = match part {
            "p3" => write_amplification(&emulator, &postgres),
            "p2" => wide_apply(),
            "p4" => plugin_overhead(),
            "policy" => policy_evaluation(),
            "p1" => crate::bench_preview::run(),
            "r3" => under_faults(&emulator),
            _ => crate::bench_builds::run(),
        };
        match measured {
            Ok(more) => figures.extend(more),
            Err(e) => failures.push(e),
        }
    }
    println!("\n{}", table(&figures, &machine()));
    failures.extend(
        figures.iter().filter(|f| !f.pass).map(|f| format!("{}: {} (target {})", f.name, f.measured, f.target)),
    );
    if failures.is_empty() { Ok(()) } else { Err(failures.join("; ")) }
}

/// P3: bytes written to each state store during an `up` of N creates, over the final state's size.
fn write_amplification(emulator: &crate::moto::Emulator, postgres: &Postgres) -> Result<Vec<Figure>> {
    let state_dir = tempfile::tempdir().map_err(|e| format!("cannot create a temp dir: {e}"))?;
    let file_url = format!("file://{}", state_dir.path().display());
    let exe = target_dir().join("debug").join("bench-state");
    let mut figures = Vec::new();
    println!(
        "{:<12} {:>8} {:>14} {:>14} {:>7} {:>8}",
        "backend", "creates", "final bytes", "written", "ratio", "seconds"
    );
    // The curve from 100 to 20,000 creates: the ratio must stay flat as the stack grows. At
    // 20,000 on the two local backends only: the S3 ones take half an hour more and journal alike.
    let postgres_url = postgres.url();
    let every_backend = [file_url.as_str(), postgres_url.as_str(), "s3", "s3+dynamodb"];
    let sizes: [(&str, &[&str]); 4] =
        [("100", &every_backend), ("1000", &every_backend), ("10000", &every_backend), ("20000", &every_backend[..2])];
    let mut curve = Vec::new();
    for (creates, backends) in sizes {
        let mut worst: f64 = 0.0;
        let mut bench = std::process::Command::new(&exe);
        emulator.configure(&mut bench);
        bench.env("CAIRN_PLUGIN_AWS", target_dir().join("debug").join("cairn-provider-aws"));
        for j in json_lines(bench.arg(creates).args(backends))? {
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
            worst = worst.max(ratio);
        }
        figures.push(Figure::at_most(
            &format!("P3 write amplification, {creates} creates (worst backend)"),
            worst,
            MAX_WRITE_AMPLIFICATION,
            "x",
        ));
        curve.push(worst);
    }
    if let (Some(first), Some(last)) = (curve.first(), curve.last()) {
        figures.push(Figure::at_most("P3 write amplification, 20,000 over 100 (flat)", last / first, MAX_GROWTH, "x"));
    }
    Ok(figures)
}

/// Runs a bench binary (its stderr shown) and reads each line it printed as JSON.
fn json_lines(cmd: &mut std::process::Command) -> Result<Vec<serde_json::Value>> {
    let exe = cmd.get_program().to_string_lossy().into_owned();
    let out = cmd.stderr(Stdio::inherit()).output().map_err(|e| format!("cannot run {exe}: {e}"))?;
    if !out.status.success() {
        return Err(format!("{exe} failed"));
    }
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).map_err(|e| format!("bad bench output `{line}`: {e}")))
        .collect()
}

/// [`json_lines`] of a binary that prints one line.
fn json_line(cmd: &mut std::process::Command) -> Result<serde_json::Value> {
    let exe = cmd.get_program().to_string_lossy().into_owned();
    let mut lines = json_lines(cmd)?;
    match (lines.pop(), lines.is_empty()) {
        (Some(line), true) => Ok(line),
        _ => Err(format!("{exe} printed no single line of output")),
    }
}

/// One figure of the closing table.
pub(crate) struct Figure {
    name: String,
    measured: String,
    target: String,
    pass: bool,
}

impl Figure {
    /// A figure whose target is an upper bound.
    pub(crate) fn at_most(name: &str, measured: f64, target: f64, unit: &str) -> Self {
        Self {
            name: name.to_owned(),
            measured: format!("{measured:.3}{unit}"),
            target: format!("≤ {target}{unit}"),
            pass: measured <= target,
        }
    }

    /// A figure reported without a target.
    pub(crate) fn reported(name: &str, measured: f64, unit: &str) -> Self {
        Self { name: name.to_owned(), measured: format!("{measured:.3}{unit}"), target: "reported".into(), pass: true }
    }
}

/// The closing table: each figure, its target and pass or fail, and the machine.
fn table(figures: &[Figure], machine: &str) -> String {
    let width = figures.iter().map(|f| f.name.chars().count()).max().unwrap_or(0).max("figure".len());
    let mut out = format!("{:<width$}  {:>12}  {:>10}  result\n", "figure", "measured", "target");
    for f in figures {
        let result = if f.pass { "pass" } else { "FAIL" };
        out.push_str(&format!("{:<width$}  {:>12}  {:>10}  {result}\n", f.name, f.measured, f.target));
    }
    out.push_str(&format!("machine: {machine}"));
    out
}

/// The machine the figures were measured on: cores, CPU model, memory.
fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    let field = |file: &str, key: &str| {
        std::fs::read_to_string(file)
            .ok()
            .and_then(|t| {
                t.lines().find(|l| l.starts_with(key)).and_then(|l| l.split(':').nth(1)).map(|v| v.trim().to_owned())
            })
            .unwrap_or_else(|| "?".into())
    };
    format!("{cores} cores, {}, {} memory", field("/proc/cpuinfo", "model name"), field("/proc/meminfo", "MemTotal"))
}

/// The most an `up` of the wide DAG may take over the least any schedule could.
const MAX_APPLY_OVER_BOUND: f64 = 1.15;

/// P2, the wide apply (`tests/src/bin/bench-apply.rs`): 1,000 creates of
/// 20–200 ms each in a DAG, against max(critical path, Σ latency /
/// parallelism).
/// R3's target: the example's `up` with a fifth of AWS calls failing, at most
/// this many times its fault-free wall time.
const MAX_SLOWDOWN_UNDER_FAULTS: f64 = 5.0;

/// R3: the example's `up` with 20% of AWS calls failing, against the same
/// without faults, under each retry policy.
fn under_faults(emulator: &crate::moto::Emulator) -> Result<Vec<Figure>> {
    let mut bench = std::process::Command::new(target_dir().join("debug").join("bench-faults"));
    emulator.configure(&mut bench);
    bench.env("CAIRN_TEST_AWS_ENDPOINT", emulator.endpoint());
    let runs = json_lines(bench.arg("0.2"))?;
    let seconds = |mode: &str, faulty: bool| {
        runs.iter()
            .find(|j| j["retry_mode"] == mode && (j["rate"].as_f64().unwrap_or(0.0) > 0.0) == faulty)
            .and_then(|j| j["up_seconds"].as_f64())
            .ok_or_else(|| format!("bench-faults printed no {mode} run (faults: {faulty})"))
    };
    let clean = seconds("standard", false)?;
    for j in &runs {
        println!(
            "R3 {:<9} faults {:>4.0}%: up {:>7.2} s, {} requests forwarded, {} faulted",
            j["retry_mode"].as_str().unwrap_or("?"),
            j["rate"].as_f64().unwrap_or(0.0) * 100.0,
            j["up_seconds"].as_f64().unwrap_or(0.0),
            j["forwarded"],
            j["faulted"]
        );
    }
    Ok(vec![
        Figure::at_most(
            "R3 example's up, 20% of AWS calls failing, over fault-free (standard retries)",
            seconds("standard", true)? / clean,
            MAX_SLOWDOWN_UNDER_FAULTS,
            "x",
        ),
        Figure::reported("R3 same, adaptive retries", seconds("adaptive", true)? / clean, "x"),
    ])
}

fn wide_apply() -> Result<Vec<Figure>> {
    let dir = tempfile::tempdir().map_err(|e| format!("cannot create a temp dir: {e}"))?;
    let exe = target_dir().join("debug").join("bench-apply");
    let j = json_line(std::process::Command::new(&exe).arg("1000").arg(dir.path()))?;
    let secs = |k: &str| j[k].as_f64().unwrap_or(f64::MAX);
    let ratio = secs("ratio");
    println!(
        "\n{:<8} {:>12} {:>14} {:>14} {:>12} {:>10} {:>8}",
        "creates", "parallelism", "critical path", "sum / workers", "up", "ratio", "target"
    );
    println!(
        "{:<8} {:>12} {:>13.2}s {:>13.2}s {:>11.2}s {:>9.3}x {:>7}x",
        j["creates"],
        j["parallelism"],
        secs("critical_path_seconds"),
        secs("latency_sum_seconds") / j["parallelism"].as_f64().unwrap_or(1.0),
        secs("seconds"),
        ratio,
        MAX_APPLY_OVER_BOUND
    );
    Ok(vec![Figure::at_most(
        "P2 wide apply over max(critical path, sum/parallelism)",
        ratio,
        MAX_APPLY_OVER_BOUND,
        "x",
    )])
}

/// The most milliseconds the plugin protocol may add to one operation.
const MAX_PLUGIN_OVERHEAD_MS: f64 = 1.0;

/// P4, the plugin protocol's cost (`tests/src/bin/bench-plugin.rs`): the
/// `random` provider in process and through its plugin binary, 2,000 rounds
/// of Check and Create each.
fn plugin_overhead() -> Result<Vec<Figure>> {
    let exe = target_dir().join("debug").join("bench-plugin");
    let plugin = target_dir().join("debug").join("cairn-provider-random");
    let j = json_line(std::process::Command::new(&exe).arg("2000").arg(&plugin))?;
    let ms = |k: &str| j[k].as_f64().unwrap_or(f64::MAX);
    println!("\n{:<11} {:>14} {:>14} {:>14} {:>8}", "operations", "in process", "plugin", "overhead", "target");
    println!(
        "{:<11} {:>11.3} ms {:>11.3} ms {:>11.3} ms {:>5} ms",
        j["operations"],
        ms("in_process_ms"),
        ms("plugin_ms"),
        ms("overhead_ms"),
        MAX_PLUGIN_OVERHEAD_MS
    );
    Ok(vec![Figure::at_most(
        "P4 plugin protocol overhead per operation",
        ms("overhead_ms"),
        MAX_PLUGIN_OVERHEAD_MS,
        " ms",
    )])
}

/// The most seconds policy evaluation of a 10,000-resource plan may take.
const MAX_POLICY_SECONDS_AT_10K: f64 = 1.0;

/// Policy evaluation at 1,000, 10,000 and 20,000 resources, optimised.
fn policy_evaluation() -> Result<Vec<Figure>> {
    let mut build = cargo();
    build.args(["build", "--release", "-p", "cairn-policy", "--example", "bench_policy"]);
    crate::run(&mut build)?;
    let exe = target_dir().join("release").join("examples").join("bench_policy");
    let rego = crate::workspace_root().join("examples/ai-platform/policies/gpu_spot_outside_prod.rego");
    println!(
        "\n{:<10} {:>10} {:>10} {:>10} {:>10} {:>10} {:>12} {:>8}",
        "resources", "document", "rust pack", "rego", "cost", "total", "serialise", "ratio"
    );
    let mut at_10k = None;
    for n in [1_000, 10_000, 20_000] {
        let j = json_line(std::process::Command::new(&exe).args([n.to_string(), rego.display().to_string()]))?;
        let secs = |k: &str| j[k].as_f64().unwrap_or(f64::MAX);
        let total = secs("document_seconds") + secs("rust_seconds") + secs("rego_seconds") + secs("cost_seconds");
        println!(
            "{n:<10} {:>9.3}s {:>9.3}s {:>9.3}s {:>9.3}s {:>9.3}s {:>11.3}s {:>7.2}x",
            secs("document_seconds"),
            secs("rust_seconds"),
            secs("rego_seconds"),
            secs("cost_seconds"),
            total,
            secs("serialise_seconds"),
            total / secs("serialise_seconds")
        );
        if n == 10_000 {
            at_10k = Some(total);
        }
    }
    let at_10k = at_10k.ok_or("policy evaluation measured no 10,000-resource plan")?;
    Ok(vec![Figure::at_most(
        "policy evaluation and cost estimation, 10,000 resources",
        at_10k,
        MAX_POLICY_SECONDS_AT_10K,
        " s",
    )])
}

#[cfg(test)]
mod tests {
    use super::{Figure, table};

    #[test]
    fn the_table_shows_each_figure_its_target_and_whether_it_passed() {
        let figures =
            [Figure::at_most("P2 wide apply", 1.131, 1.15, "x"), Figure::at_most("P4 overhead", 1.5, 1.0, " ms")];
        let t = table(&figures, "2 cores");
        assert!(
            t.contains("P2 wide apply") && t.contains("1.131x") && t.contains("≤ 1.15x") && t.contains("pass"),
            "{t}"
        );
        assert!(t.contains("1.500 ms") && t.contains("FAIL"), "{t}");
        assert!(t.ends_with("machine: 2 cores"), "{t}");
    }
}
