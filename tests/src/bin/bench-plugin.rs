//! P4 of `cargo xtask bench`, the plugin protocol's cost: the same `random`
//! provider called in process and through its plugin binary (gRPC over a
//! local socket), N rounds of Check then Create each, one call at a time.
//! Prints one JSON line with the time per operation of each and their
//! difference, the protocol's overhead.
//!
//! Usage: bench-plugin N PLUGIN_BINARY

use std::path::Path;
use std::time::Instant;

use cairn_core::{CheckRequest, CreateRequest, Provider, Urn, Value};
use cairn_provider_random::RandomProvider;

/// Inputs the size of a tagged cloud resource: eight keepers.
fn inputs(i: usize) -> Value {
    Value::from_json(&serde_json::json!({
        "byte_length": 8,
        "prefix": format!("r{i}-"),
        "keepers": {
            "team": "ml-platform", "cost-center": "cc-0042", "environment": "bench",
            "owner": "platform-team@example.com", "model": "fraud-scorer-v7",
            "dataset": format!("s3://datasets/fraud/{i:06}/part-0000.parquet"),
            "region": "us-east-1", "generation": "1"
        }
    }))
}

/// Seconds per operation of `n` rounds of Check and Create.
async fn per_operation(provider: &dyn Provider, n: usize) -> Result<f64, Box<dyn std::error::Error>> {
    let started = Instant::now();
    for i in 0..n {
        let urn = Urn::parse(&format!("urn:cairn:bench::bench::random:index:Id::id{i}"))?;
        let checked = provider.check(CheckRequest { urn: urn.clone(), olds: None, news: inputs(i) }).await?;
        provider.create(CreateRequest { urn, inputs: checked.inputs }).await?;
    }
    Ok(started.elapsed().as_secs_f64() / (2 * n) as f64)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: bench-plugin N PLUGIN_BINARY";
    let n: usize = args.get(1).and_then(|a| a.parse().ok()).ok_or(usage)?;
    let binary = args.get(2).ok_or(usage)?;

    let plugin = cairn_plugin::launch(Path::new(binary)).await?;
    plugin.configure(Value::Null).await?;
    // One round each first, so neither side pays for its first connection or allocation.
    per_operation(&RandomProvider, 1).await?;
    per_operation(&plugin, 1).await?;
    let in_process = per_operation(&RandomProvider, n).await?;
    let over_grpc = per_operation(&plugin, n).await?;
    println!(
        "{}",
        serde_json::json!({
            "operations": 2 * n,
            "in_process_ms": in_process * 1e3,
            "plugin_ms": over_grpc * 1e3,
            "overhead_ms": (over_grpc - in_process) * 1e3,
        })
    );
    Ok(())
}
