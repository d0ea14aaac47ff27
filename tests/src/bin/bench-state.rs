//! Write amplification of the state stores: bytes written to the store during
//! an `up` of N creates, over the size of the final state. Run by
//! `cargo xtask bench`; prints one JSON line per backend.
//!
//! Usage: bench-state N BACKEND_URL... (`s3` for a fresh bucket in the emulator, `s3+dynamodb` with a lock table)

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use cairn_core::{Config, Input, ProjectName, Stack, StackName, resource};
use cairn_engine::testing::TestProvider;
use cairn_engine::{AutoApprove, RunOptions, StackRunner, StaticProviders};
use cairn_state::{
    ChangeSummary, HistoryEntry, JournalEntry, LockInfo, Replayed, StackSession, StackState, StateError, StateStore,
};

#[derive(serde::Serialize)]
struct ThingArgs {
    name: Input<String>,
    size: i64,
    tags: std::collections::BTreeMap<String, String>,
}

resource! {
    /// A resource with a realistic amount of input.
    Thing, token = "bench:index:Thing", args = ThingArgs, outputs = ThingOutputs {
        /// Its ID.
        id: String,
    }
}

/// Counts the bytes a store is asked to write.
struct Counting {
    inner: Box<dyn StateStore>,
    bytes: Arc<AtomicU64>,
}

struct CountingSession {
    inner: Box<dyn StackSession>,
    bytes: Arc<AtomicU64>,
}

#[async_trait::async_trait]
impl StateStore for Counting {
    fn describe(&self) -> String {
        self.inner.describe()
    }
    async fn read(&self, p: &ProjectName, s: &StackName) -> Result<Replayed, StateError> {
        self.inner.read(p, s).await
    }
    async fn try_lock(
        &self,
        p: &ProjectName,
        s: &StackName,
        op: &str,
        ttl: Duration,
    ) -> Result<Box<dyn StackSession>, StateError> {
        let inner = self.inner.try_lock(p, s, op, ttl).await?;
        self.bytes.fetch_add(serde_json::to_vec(inner.lock_info()).unwrap().len() as u64, Ordering::Relaxed);
        Ok(Box::new(CountingSession { inner, bytes: self.bytes.clone() }))
    }
    async fn current_lock(&self, p: &ProjectName, s: &StackName) -> Result<Option<LockInfo>, StateError> {
        self.inner.current_lock(p, s).await
    }
    async fn unlock(&self, p: &ProjectName, s: &StackName, id: &str) -> Result<LockInfo, StateError> {
        self.inner.unlock(p, s, id).await
    }
    async fn history(&self, p: &ProjectName, s: &StackName) -> Result<Vec<HistoryEntry>, StateError> {
        self.inner.history(p, s).await
    }
    async fn version(&self, p: &ProjectName, s: &StackName, n: u64) -> Result<Option<StackState>, StateError> {
        self.inner.version(p, s, n).await
    }
    async fn list_stacks(&self, p: &ProjectName) -> Result<Vec<StackName>, StateError> {
        self.inner.list_stacks(p).await
    }
}

#[async_trait::async_trait]
impl StackSession for CountingSession {
    fn lock_info(&self) -> &LockInfo {
        self.inner.lock_info()
    }
    async fn read(&self) -> Result<Replayed, StateError> {
        self.inner.read().await
    }
    async fn append(&self, entry: &JournalEntry) -> Result<(), StateError> {
        self.bytes.fetch_add(serde_json::to_vec(entry).unwrap().len() as u64 + 1, Ordering::Relaxed);
        self.inner.append(entry).await
    }
    async fn compact(&self, state: &StackState, changes: &ChangeSummary) -> Result<(), StateError> {
        let written = serde_json::to_vec(state).unwrap().len() + serde_json::to_vec(changes).unwrap().len();
        self.bytes.fetch_add(written as u64, Ordering::Relaxed);
        self.inner.compact(state, changes).await
    }
    async fn heartbeat(&self) -> Result<(), StateError> {
        self.inner.heartbeat().await
    }
    async fn release(&self) -> Result<(), StateError> {
        self.inner.release().await
    }
    async fn remove_stack(&self) -> Result<(), StateError> {
        self.inner.remove_stack().await
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).and_then(|a| a.parse().ok()).ok_or("usage: bench-state N BACKEND_URL...")?;
    let mut urls = Vec::new();
    for a in &args[2..] {
        // `s3` means: a fresh versioned bucket in the emulator; `s3+dynamodb`, with a lock table too.
        urls.push(match a.as_str() {
            "s3" => cairn_tests::s3_state_url().await,
            "s3+dynamodb" => cairn_tests::s3_dynamodb_state_url().await,
            _ => a.clone(),
        });
    }
    for url in &urls {
        let bytes = Arc::new(AtomicU64::new(0));
        let store = Counting {
            inner: cairn::backends::open(url, std::path::Path::new("."), &Default::default()).await?,
            bytes: bytes.clone(),
        };
        let project = ProjectName::new(format!("bench-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]))?;
        let stack = StackName::new("dev")?;
        let ctx = Stack::new(stack.clone(), project.clone(), Config::default());
        for i in 0..n {
            let tags = [("team", "ml-platform"), ("cost-center", "4711"), ("env", "dev")]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
            ctx.resource(
                &format!("thing-{i:05}"),
                ThingArgs { name: format!("thing-{i:05}").into(), size: i as i64, tags },
            )?;
        }
        let declared = ctx.finish();
        let provider = Arc::new(TestProvider::new());
        let providers = StaticProviders::default().with("bench", provider);

        let started = Instant::now();
        let runner = StackRunner::new(project.clone(), stack.clone(), &store, &providers);
        let run = runner.up(&declared, &RunOptions::default(), &AutoApprove).await?;
        if run.failed() {
            return Err("a step of the benchmark failed".into());
        }
        let state = run.state().ok_or("the benchmark's run was cancelled")?.clone();
        let elapsed = started.elapsed();

        let final_size = serde_json::to_vec(&state)?.len() as u64;
        let written = bytes.load(Ordering::Relaxed);
        println!(
            "{}",
            serde_json::json!({
                "backend": if url.contains("lock_table=") {
                    "s3+dynamodb"
                } else {
                    url.split("://").next().unwrap_or(url)
                },
                "creates": n,
                "final_state_bytes": final_size,
                "bytes_written": written,
                "ratio": (written as f64 / final_size as f64 * 100.0).round() / 100.0,
                "seconds": (elapsed.as_secs_f64() * 100.0).round() / 100.0,
            })
        );
    }
    Ok(())
}
