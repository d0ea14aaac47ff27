//! A minimal state writer for the concurrency tests: takes a stack's lock
//! (waiting up to `WAIT_SECS`), reads the state, records one resource of its
//! own through the journal, compacts, releases, and prints one JSON line with
//! the serial it wrote and when it held the lock (µs since the epoch).
//!
//! Usage: state-writer BACKEND_URL PROJECT STACK NAME WAIT_SECS

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cairn_core::{ProjectName, StackName, Urn};
use cairn_state::{LockOptions, Mutation, Recorder, ResourceState};

fn micros() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_micros()
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let [_, url, project, stack, name, wait] = args.as_slice() else {
        eprintln!("usage: state-writer BACKEND_URL PROJECT STACK NAME WAIT_SECS");
        return std::process::ExitCode::from(2);
    };
    let (project, stack) = (ProjectName::new(project.as_str()).unwrap(), StackName::new(stack.as_str()).unwrap());
    let store = cairn::backends::open(url, std::path::Path::new("."), &Default::default()).await.unwrap();
    let options = LockOptions { wait: Duration::from_secs(wait.parse().unwrap()), ..Default::default() };
    let session = match cairn_state::lock(&*store, &project, &stack, "up", &options).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let held_from = micros();
    let replayed = session.read().await.unwrap();
    let recorder = Recorder::new(session, replayed.state, replayed.next_op);
    let urn = Urn::parse(&format!("urn:cairn:{stack}::{project}::test:index:Thing::{name}")).unwrap();
    let record = ResourceState::custom(urn, name.as_str());
    recorder.commit(None, vec![Mutation::Put(record)]).await.unwrap();
    let state = recorder.compact().await.unwrap();
    let held_until = micros();
    recorder.release().await.unwrap();
    println!("{}", serde_json::json!({"name": name, "serial": state.serial, "from": held_from, "until": held_until}));
    std::process::ExitCode::SUCCESS
}
