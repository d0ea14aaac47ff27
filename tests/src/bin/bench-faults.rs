//! R3 of `cargo xtask bench`: the example platform's `up` (its three stacks,
//! in order) against the AWS emulator without faults, then through the fault
//! proxy with RATE of calls failing, with the standard and the adaptive retry
//! policies. Each run is a fresh stack, destroyed after (not timed). Prints
//! one JSON line per run: its retry mode, fault rate, `up` wall time and the
//! requests forwarded and faulted.
//!
//! Usage: bench-faults RATE (the emulator in CAIRN_TEST_AWS_ENDPOINT)

use std::time::Instant;

use cairn_tests::aws_endpoint;
use cairn_tests::example::{Example, STACKS};
use cairn_tests::faults::FaultProxy;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rate: f64 = std::env::args().nth(1).ok_or("usage: bench-faults RATE")?.parse()?;
    for (mode, rate) in [("standard", 0.0), ("standard", rate), ("adaptive", rate)] {
        // A fixed seed: each policy meets the same draw of faults.
        let proxy = FaultProxy::start(&aws_endpoint(), rate, Some(2026));
        let example = Example::with_provider("bench", &format!("retry_mode = \"{mode}\"\n"));
        let start = Instant::now();
        for stack in STACKS {
            let up = example.run(stack, &proxy.endpoint(), &["up", "--yes"]);
            if up.code != 0 {
                return Err(format!("up of {} ({mode}, {rate}) failed:\n{}", stack.0, up.stderr).into());
            }
        }
        let seconds = start.elapsed().as_secs_f64();
        let counts = proxy.counts();
        for stack in STACKS.iter().rev() {
            let destroy = example.run(*stack, &aws_endpoint(), &["destroy", "--yes"]);
            if destroy.code != 0 {
                return Err(format!("destroy of {} failed:\n{}", stack.0, destroy.stderr).into());
            }
        }
        println!(
            "{}",
            serde_json::json!({
                "retry_mode": mode, "rate": rate, "up_seconds": seconds,
                "forwarded": counts.forwarded, "faulted": counts.faulted(),
            })
        );
    }
    Ok(())
}
