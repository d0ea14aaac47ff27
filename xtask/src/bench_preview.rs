//! P1, the large preview: the synthetic stack of `tests/src/bin/bench-program.rs`
//! (N `random` IDs in components, a tree of dependencies, state equal to the
//! program), through the real CLI and plugin as a user runs them (debug build,
//! as `cargo run` makes it). For each N: the no-op `preview --json` and the
//! human preview, their wall time and peak RSS, against `state export` of
//! the same state (reading and serialising it once) in the same run; at
//! 10,000 also a preview with 1% of the resources changed.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::bench::{Figure, MAX_GROWTH};
use crate::{Result, cargo, target_dir};

/// Resource counts of the scaling curve.
const SIZES: [usize; 4] = [100, 1_000, 10_000, 20_000];
/// Targets at 10,000 resources.
const MAX_SECONDS: f64 = 1.0;
const MAX_RATIO: f64 = 3.0;
const MAX_RSS_MB: f64 = 300.0;

/// One process's wall time and peak resident memory.
#[derive(Clone, Copy)]
struct Run {
    seconds: f64,
    rss_mb: f64,
}

/// Measures the preview at every size, prints the table and returns the
/// figures judged.
pub(crate) fn run() -> Result<Vec<Figure>> {
    let mut build = cargo();
    // `--bin` selects among every package named, so the plugin's binary is named too.
    build.args([
        "build",
        "-p",
        "cairn-tests",
        "--bin",
        "bench-program",
        "-p",
        "cairn-provider-random",
        "--bin",
        "cairn-provider-random",
    ]);
    crate::run(&mut build)?;
    let program = target_dir().join("debug").join("bench-program");
    let plugin = target_dir().join("debug").join("cairn-provider-random");

    println!(
        "\n{:<10} {:>12} {:>9} {:>12} {:>12} {:>8} {:>14}",
        "resources", "preview", "RSS", "text", "state export", "ratio", "1% changed"
    );
    let mut figures = Vec::new();
    let mut per_resource = Vec::new();
    for n in SIZES {
        let dir = tempfile::tempdir().map_err(|e| format!("cannot create a temp dir: {e}"))?;
        let stack = Stack { program: &program, plugin: &plugin, dir: dir.path().to_owned() };
        stack.configure(n, 0)?;
        stack.run(&["up", "--yes"], true)?;
        let preview = best_of(|| stack.run(&["preview", "--json"], false))?;
        let text = best_of(|| stack.run(&["preview"], false))?;
        let export = best_of(|| stack.run(&["state", "export"], false))?;
        let changed = if n == 10_000 {
            stack.configure(n, 100)?;
            Some(best_of(|| stack.run(&["preview", "--json"], false))?)
        } else {
            None
        };
        let ratio = preview.seconds / export.seconds;
        println!(
            "{n:<10} {:>11.3}s {:>6.0} MB {:>11.3}s {:>11.3}s {:>7.2}x {:>14}",
            preview.seconds,
            preview.rss_mb,
            text.seconds,
            export.seconds,
            ratio,
            changed.map_or("-".to_owned(), |c| format!("{:.3}s", c.seconds))
        );
        per_resource.push((n, preview.seconds / n as f64));
        if n == 10_000 {
            figures.push(Figure::at_most("P1 no-op preview, 10,000 resources", preview.seconds, MAX_SECONDS, " s"));
            figures.push(Figure::at_most("P1 no-op preview over state export", ratio, MAX_RATIO, "x"));
            figures.push(Figure::at_most("P1 no-op preview peak RSS", preview.rss_mb, MAX_RSS_MB, " MB"));
        }
    }
    let at = |size| per_resource.iter().find(|(n, _)| *n == size).map(|(_, s)| *s);
    if let (Some(small), Some(large)) = (at(1_000), at(20_000)) {
        let growth = large / small;
        figures.push(Figure::at_most("P1 time per resource, 20,000 over 1,000 (linear)", growth, MAX_GROWTH, "x"));
    }
    Ok(figures)
}

/// A project directory holding the bench stack's config and its file state.
struct Stack<'a> {
    program: &'a Path,
    plugin: &'a Path,
    dir: PathBuf,
}

impl Stack<'_> {
    /// Writes `Cairn.bench.toml`: `count` resources, every `changed_every`-th changed.
    fn configure(&self, count: usize, changed_every: usize) -> Result {
        let config = format!(
            "backend = \"file://{}\"\n\n[config]\ncount = {count}\nchanged_every = {changed_every}\n",
            self.dir.join("state").display()
        );
        let path = self.dir.join("Cairn.bench.toml");
        fs::write(&path, config).map_err(|e| format!("cannot write {}: {e}", path.display()))
    }

    /// Runs the program with `args` and measures it; `show` lets its output
    /// through (for `up`, whose progress tells what the bench is doing).
    fn run(&self, args: &[&str], show: bool) -> Result<Run> {
        let mut cmd = Command::new(self.program);
        cmd.args(args)
            .args(["--stack", "bench", "--cwd"])
            .arg(&self.dir)
            .env("CAIRN_PLUGIN_RANDOM", self.plugin)
            .stdin(Stdio::null())
            .stdout(if show { Stdio::inherit() } else { Stdio::null() });
        let log = self.dir.join("stderr.log");
        if !show {
            let file = fs::File::create(&log).map_err(|e| format!("cannot create {}: {e}", log.display()))?;
            cmd.stderr(file);
        }
        measure(&mut cmd).map_err(|e| {
            let stderr = fs::read_to_string(&log).unwrap_or_default();
            format!("bench-program {}: {e}: {}", args.join(" "), stderr.trim())
        })
    }
}

/// Runs of each command; the fastest counts, as the others met a busier machine.
const RUNS: usize = 3;

/// The fastest of [`RUNS`] runs, with the highest peak memory of them.
fn best_of(mut run: impl FnMut() -> Result<Run>) -> Result<Run> {
    let mut best = run()?;
    for _ in 1..RUNS {
        let next = run()?;
        best = Run { seconds: best.seconds.min(next.seconds), rss_mb: best.rss_mb.max(next.rss_mb) };
    }
    Ok(best)
}

/// Runs `cmd` to its end, polling its peak resident memory (`VmHWM`) meanwhile.
fn measure(cmd: &mut Command) -> Result<Run> {
    let start = Instant::now();
    let mut child = cmd.spawn().map_err(|e| format!("cannot start: {e}"))?;
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak_kb = 0u64;
    let status = loop {
        if let Ok(status) = fs::read_to_string(&status_file) {
            let hwm = status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok());
            peak_kb = peak_kb.max(hwm.unwrap_or(0));
        }
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let seconds = start.elapsed().as_secs_f64();
    // A no-op preview exits 0; a preview with changes is no failure either.
    if !status.success() && status.code() != Some(2) {
        return Err(format!("failed ({status})"));
    }
    Ok(Run { seconds, rss_mb: peak_kb as f64 / 1024.0 })
}
