//! An in-process provider for engine tests: each test fills in failures and
//! delays; it keeps what it "created" in memory so tests can see the effect.
//! Cloud behaviour is tested against the AWS emulator, never with this.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use cairn_core::{
    CheckRequest, CheckResponse, CreateRequest, CreateResponse, DeleteRequest, DiffRequest, DiffResponse, PropertyPath,
    Provider, ProviderError, ReadRequest, ReadResponse, UpdateRequest, UpdateResponse, Urn, Value,
};

type FailFn = dyn Fn(&str, &Urn) -> Option<ProviderError> + Send + Sync;

/// A provider whose resources live in memory.
pub struct TestProvider {
    replace_on: Vec<String>,
    delete_before_replace: bool,
    delay: Duration,
    check_delay: Duration,
    read_delay: Duration,
    reads_in_flight: AtomicUsize,
    max_reads_in_flight: AtomicUsize,
    checks_in_flight: AtomicUsize,
    max_checks_in_flight: AtomicUsize,
    fail: Mutex<Option<Box<FailFn>>>,
    /// What exists: ID → inputs.
    pub cloud: Mutex<BTreeMap<String, Value>>,
    /// Every call, as `"create NAME"`, in the order they started.
    pub calls: Mutex<Vec<String>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    next_id: AtomicUsize,
}

impl Default for TestProvider {
    fn default() -> Self {
        Self::new()
    }
}

impl TestProvider {
    /// A provider whose properties all update in place.
    pub fn new() -> Self {
        Self {
            replace_on: Vec::new(),
            delete_before_replace: false,
            delay: Duration::ZERO,
            check_delay: Duration::ZERO,
            read_delay: Duration::ZERO,
            reads_in_flight: AtomicUsize::new(0),
            max_reads_in_flight: AtomicUsize::new(0),
            checks_in_flight: AtomicUsize::new(0),
            max_checks_in_flight: AtomicUsize::new(0),
            fail: Mutex::new(None),
            cloud: Mutex::default(),
            calls: Mutex::default(),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
            next_id: AtomicUsize::new(0),
        }
    }

    /// Changing these properties forces a replacement.
    pub fn replace_on(mut self, props: &[&str]) -> Self {
        self.replace_on = props.iter().map(|s| s.to_string()).collect();
        self
    }

    /// Each Check takes this long (to see how many a preview runs at once).
    pub fn check_delay(mut self, d: Duration) -> Self {
        self.check_delay = d;
        self
    }

    /// The most Check calls that were in flight at once.
    pub fn max_checks_in_flight(&self) -> usize {
        self.max_checks_in_flight.load(Ordering::SeqCst)
    }

    /// Each Read takes this long (to see how many a refresh runs at once).
    pub fn read_delay(mut self, d: Duration) -> Self {
        self.read_delay = d;
        self
    }

    /// The most Read calls that were in flight at once.
    pub fn max_reads_in_flight(&self) -> usize {
        self.max_reads_in_flight.load(Ordering::SeqCst)
    }

    /// Replacements delete first.
    pub fn delete_before_replace(mut self) -> Self {
        self.delete_before_replace = true;
        self
    }

    /// Each mutating call takes this long.
    pub fn delay(mut self, d: Duration) -> Self {
        self.delay = d;
        self
    }

    /// Makes calls fail: `f(call, urn)` returns the error for the calls that should fail.
    pub fn fail_when(&self, f: impl Fn(&str, &Urn) -> Option<ProviderError> + Send + Sync + 'static) {
        *self.fail.lock().unwrap() = Some(Box::new(f));
    }

    /// Stops failing.
    pub fn heal(&self) {
        *self.fail.lock().unwrap() = None;
    }

    /// The most calls that were in flight at once.
    pub fn max_in_flight(&self) -> usize {
        self.max_in_flight.load(Ordering::SeqCst)
    }

    /// The logged calls.
    pub fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }

    async fn call(&self, what: &str, urn: &Urn) -> Result<(), ProviderError> {
        self.call_taking(what, urn, self.delay).await
    }

    /// A call lasting `delay`.
    async fn call_taking(&self, what: &str, urn: &Urn, delay: Duration) -> Result<(), ProviderError> {
        self.calls.lock().unwrap().push(format!("{what} {}", urn.name()));
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(delay).await;
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        match &*self.fail.lock().unwrap() {
            Some(f) => f(what, urn).map_or(Ok(()), Err),
            None => Ok(()),
        }
    }

    fn outputs(id: &str, inputs: &Value) -> Value {
        let mut m = inputs.as_map().cloned().unwrap_or_default();
        m.insert("id".into(), Value::from(id));
        Value::Map(m)
    }
}

#[async_trait::async_trait]
impl Provider for TestProvider {
    async fn configure(&self, _config: Value) -> Result<(), ProviderError> {
        Ok(())
    }

    async fn check(&self, req: CheckRequest) -> Result<CheckResponse, ProviderError> {
        if !self.check_delay.is_zero() {
            let now = self.checks_in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            self.max_checks_in_flight.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(self.check_delay).await;
            self.checks_in_flight.fetch_sub(1, Ordering::SeqCst);
        }
        Ok(CheckResponse { inputs: req.news, ..Default::default() })
    }

    async fn diff(&self, req: DiffRequest) -> Result<DiffResponse, ProviderError> {
        let changes = req.olds.diff(&req.news);
        let replaces: Vec<PropertyPath> = changes
            .iter()
            .filter(|d| d.path.top().is_some_and(|t| self.replace_on.iter().any(|r| r == t)))
            .map(|d| d.path.clone())
            .collect();
        let delete_before_replace = self.delete_before_replace && !replaces.is_empty();
        Ok(DiffResponse { changes, replaces, delete_before_replace })
    }

    /// Takes the provider's delay, or the `latency_ms` input when the
    /// resource has one (a cloud whose operations each take their own time).
    async fn create(&self, req: CreateRequest) -> Result<CreateResponse, ProviderError> {
        let latency = req.inputs.get("latency_ms").and_then(Value::as_i64).and_then(|ms| u64::try_from(ms).ok());
        self.call_taking("create", &req.urn, latency.map_or(self.delay, Duration::from_millis)).await?;
        let id = format!("{}-{}", req.urn.name(), self.next_id.fetch_add(1, Ordering::SeqCst));
        self.cloud.lock().unwrap().insert(id.clone(), req.inputs.clone());
        Ok(CreateResponse { outputs: Self::outputs(&id, &req.inputs), id })
    }

    async fn read(&self, req: ReadRequest) -> Result<Option<ReadResponse>, ProviderError> {
        if !self.read_delay.is_zero() {
            let now = self.reads_in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            self.max_reads_in_flight.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(self.read_delay).await;
            self.reads_in_flight.fetch_sub(1, Ordering::SeqCst);
        }
        let cloud = self.cloud.lock().unwrap();
        let found = match &req.id {
            Some(id) => cloud.get(id).map(|v| (id.clone(), v.clone())),
            None => cloud.iter().find(|(_, v)| **v == req.inputs).map(|(k, v)| (k.clone(), v.clone())),
        };
        Ok(found.map(|(id, inputs)| ReadResponse { outputs: Self::outputs(&id, &inputs), id, inputs }))
    }

    async fn update(&self, req: UpdateRequest) -> Result<UpdateResponse, ProviderError> {
        self.call("update", &req.urn).await?;
        self.cloud.lock().unwrap().insert(req.id.clone(), req.news.clone());
        Ok(UpdateResponse { outputs: Self::outputs(&req.id, &req.news) })
    }

    async fn delete(&self, req: DeleteRequest) -> Result<(), ProviderError> {
        self.call("delete", &req.urn).await?;
        self.cloud.lock().unwrap().remove(&req.id);
        Ok(())
    }
}
