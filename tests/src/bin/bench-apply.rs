//! P2 of `cargo xtask bench`, the wide apply: an `up` of N creates whose
//! dependencies form a DAG both deep and wide, through a provider whose
//! every create takes its own 20–200 ms, against the least time any
//! schedule could take: the longer of the critical path and the sum of the
//! latencies over the parallelism. Prints one JSON line.
//!
//! Usage: bench-apply N STATE_DIR

use std::time::Instant;

use cairn_core::{Config, Input, ProjectName, ResourceOptions, Stack, StackName, resource};
use cairn_engine::testing::TestProvider;
use cairn_engine::{ApplyOptions, AutoApprove, RunOptions, StackRunner, StaticProviders};

#[derive(serde::Serialize)]
struct TaskArgs {
    name: Input<String>,
    latency_ms: u64,
}

resource! {
    /// One step of the DAG.
    Task, token = "bench:index:Task", args = TaskArgs, outputs = TaskOutputs {
        /// Its ID.
        id: String,
    }
}

/// A fixed pseudo-random sequence (64-bit LCG), so every run builds the same DAG.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % below
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).and_then(|a| a.parse().ok()).ok_or("usage: bench-apply N STATE_DIR")?;
    let dir = args.get(2).ok_or("usage: bench-apply N STATE_DIR")?;
    let parallelism = ApplyOptions::default().parallelism;

    let project = ProjectName::new("bench-apply")?;
    let stack = StackName::new("dev")?;
    let ctx = Stack::new(stack.clone(), project.clone(), Config::default());
    let mut rng = Lcg(42);
    let mut urns: Vec<cairn_core::Urn> = Vec::with_capacity(n);
    let mut finish_ms = Vec::with_capacity(n); // earliest finish of each task on unbounded workers
    let mut total_ms = 0;
    for i in 0..n {
        let latency_ms = 20 + rng.next(181);
        // Up to two dependencies among the 50 tasks before: chains run deep, and many run side by side.
        let deps: Vec<usize> = if i == 0 {
            Vec::new()
        } else {
            (0..rng.next(3)).map(|_| i - 1 - rng.next(i.min(50) as u64) as usize).collect()
        };
        let start = deps.iter().map(|&d| finish_ms[d]).max().unwrap_or(0);
        finish_ms.push(start + latency_ms);
        total_ms += latency_ms;
        let depends_on = deps.iter().map(|&d| urns[d].clone()).collect();
        let task = ctx.resource_with(
            &format!("task-{i:04}"),
            TaskArgs { name: format!("task-{i:04}").into(), latency_ms },
            ResourceOptions { depends_on, ..Default::default() },
        )?;
        urns.push(task.urn);
    }
    let declared = ctx.finish();
    let critical_path_ms = finish_ms.iter().copied().max().unwrap_or(0);
    let bound_ms = (critical_path_ms as f64).max(total_ms as f64 / parallelism as f64);

    let store = cairn::backends::open(&format!("file://{dir}"), std::path::Path::new("."), &Default::default()).await?;
    let providers = StaticProviders::default().with("bench", std::sync::Arc::new(TestProvider::new()));
    let runner = StackRunner::new(project, stack, store.as_ref(), &providers);
    let started = Instant::now();
    let run = runner.up(&declared, &RunOptions::default(), &AutoApprove).await?;
    let seconds = started.elapsed().as_secs_f64();
    if run.failed() {
        return Err("a step of the benchmark failed".into());
    }
    println!(
        "{}",
        serde_json::json!({
            "creates": n,
            "parallelism": parallelism,
            "seconds": seconds,
            "critical_path_seconds": critical_path_ms as f64 / 1000.0,
            "latency_sum_seconds": total_ms as f64 / 1000.0,
            "bound_seconds": bound_ms / 1000.0,
            "ratio": seconds / (bound_ms / 1000.0),
        })
    );
    Ok(())
}
