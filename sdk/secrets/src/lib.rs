//! Secrets at rest.
//!
//! [`EncryptingStore`] wraps any [`StateStore`]: every secret value (a
//! [`Value::Secret`], from `Output::secret` or a secret config value) is
//! sealed before the inner backend sees it — in journal entries, snapshots
//! and so history — and opened again on the way out. The backends store only
//! `{"$cairn.secret": {"$cairn.sealed": "cairn:pp1:…"}}`.
//!
//! With encryption configured, a stored *plaintext* secret is refused unless
//! the store was opened for migration ([`EncryptingStore::migrating`]).

mod sealer;

use std::sync::Arc;
use std::time::Duration;

use cairn_core::{ProjectName, StackName, Value};
use cairn_state::{
    ChangeSummary, HistoryEntry, Intent, JournalEntry, LockInfo, Mutation, PendingOp, Replayed, ResourceState,
    StackSession, StackState, StateError, StateStore,
};

pub use sealer::{PREFIX, SealError, Sealer};

/// The key under a secret wrapper that holds its sealed text.
pub const SEALED_KEY: &str = "$cairn.sealed";

/// Seals every secret in `v`.
pub fn seal_value(sealer: &Sealer, v: &Value) -> Value {
    match v {
        Value::Secret(inner) if sealed_text(inner).is_some() => v.clone(),
        Value::Secret(inner) => {
            let plain = serde_json::to_vec(&inner.to_json()).expect("values serialize");
            let sealed: Value = [(SEALED_KEY, Value::String(sealer.seal(&plain)))].into_iter().collect();
            Value::Secret(Box::new(sealed))
        }
        Value::List(l) => Value::List(l.iter().map(|x| seal_value(sealer, x)).collect()),
        Value::Map(m) => Value::Map(m.iter().map(|(k, x)| (k.clone(), seal_value(sealer, x))).collect()),
        other => other.clone(),
    }
}

fn sealed_text(v: &Value) -> Option<&str> {
    match v.as_map() {
        Some(m) if m.len() == 1 => m.get(SEALED_KEY).and_then(Value::as_str),
        _ => None,
    }
}

/// Why a stored value could not be opened.
#[derive(Debug)]
enum OpenError {
    Seal(SealError),
    Plaintext,
}

/// Opens every sealed secret in `v`; a plaintext secret is an error unless `allow_plaintext`.
fn open_value(sealer: &Sealer, v: &Value, allow_plaintext: bool) -> Result<Value, OpenError> {
    Ok(match v {
        Value::Secret(inner) => match sealed_text(inner) {
            Some(text) => {
                let plain = sealer.open(text).map_err(OpenError::Seal)?;
                let json: serde_json::Value =
                    serde_json::from_slice(&plain).map_err(|e| OpenError::Seal(SealError::Malformed(e.to_string())))?;
                Value::Secret(Box::new(Value::from_json(&json)))
            }
            None if allow_plaintext => v.clone(),
            None => return Err(OpenError::Plaintext),
        },
        Value::List(l) => {
            Value::List(l.iter().map(|x| open_value(sealer, x, allow_plaintext)).collect::<Result<_, _>>()?)
        }
        Value::Map(m) => Value::Map(
            m.iter()
                .map(|(k, x)| Ok((k.clone(), open_value(sealer, x, allow_plaintext)?)))
                .collect::<Result<_, _>>()?,
        ),
        other => other.clone(),
    })
}

/// Applies `f` to every value a state carries.
fn map_state<E>(s: &StackState, f: &impl Fn(&Value) -> Result<Value, E>) -> Result<StackState, E> {
    let mut out = s.clone();
    for r in &mut out.resources {
        map_record(r, f)?;
    }
    for v in out.outputs.values_mut() {
        *v = f(v)?;
    }
    Ok(out)
}

fn map_record<E>(r: &mut ResourceState, f: &impl Fn(&Value) -> Result<Value, E>) -> Result<(), E> {
    r.inputs = f(&r.inputs)?;
    r.outputs = f(&r.outputs)?;
    Ok(())
}

fn map_intent<E>(i: &Intent, f: &impl Fn(&Value) -> Result<Value, E>) -> Result<Intent, E> {
    Ok(Intent { inputs: f(&i.inputs)?, ..i.clone() })
}

/// Applies `f` to every value a journal entry carries.
fn map_entry<E>(e: &JournalEntry, f: &impl Fn(&Value) -> Result<Value, E>) -> Result<JournalEntry, E> {
    Ok(match e {
        JournalEntry::Begin { serial, op, intent } => {
            JournalEntry::Begin { serial: *serial, op: *op, intent: map_intent(intent, f)? }
        }
        JournalEntry::Commit { serial, op, mutations } => {
            let mut ms = Vec::with_capacity(mutations.len());
            for m in mutations {
                ms.push(match m {
                    Mutation::Put(r) => {
                        let mut r = r.clone();
                        map_record(&mut r, f)?;
                        Mutation::Put(r)
                    }
                    Mutation::Completed { id, outputs } => Mutation::Completed { id: id.clone(), outputs: f(outputs)? },
                    Mutation::SetOutputs(o) => {
                        Mutation::SetOutputs(o.iter().map(|(k, v)| Ok((k.clone(), f(v)?))).collect::<Result<_, E>>()?)
                    }
                    other => other.clone(),
                });
            }
            JournalEntry::Commit { serial: *serial, op: *op, mutations: ms }
        }
        abort @ JournalEntry::Abort { .. } => abort.clone(),
    })
}

/// A state store that seals secrets before the inner backend stores them.
pub struct EncryptingStore {
    inner: Box<dyn StateStore>,
    sealer: Arc<Sealer>,
    allow_plaintext: bool,
}

impl EncryptingStore {
    /// Wraps `inner`; stored plaintext secrets are refused.
    pub fn new(inner: Box<dyn StateStore>, sealer: Sealer) -> Self {
        Self { inner, sealer: Arc::new(sealer), allow_plaintext: false }
    }

    /// Wraps `inner` to migrate a plaintext state: plaintext secrets are
    /// read, and sealed when written back.
    pub fn migrating(inner: Box<dyn StateStore>, sealer: Sealer) -> Self {
        Self { inner, sealer: Arc::new(sealer), allow_plaintext: true }
    }
}

fn open_replayed(
    sealer: &Sealer,
    allow_plaintext: bool,
    backend: &str,
    stack: &StackName,
    r: Replayed,
) -> Result<Replayed, StateError> {
    let f = |v: &Value| open_value(sealer, v, allow_plaintext);
    let opened = (|| -> Result<Replayed, OpenError> {
        let state = map_state(&r.state, &f)?;
        let pending = r
            .pending
            .iter()
            .map(|p| Ok(PendingOp { op: p.op, intent: map_intent(&p.intent, &f)? }))
            .collect::<Result<_, OpenError>>()?;
        Ok(Replayed { state, pending, ..r })
    })();
    opened.map_err(|e| StateError::Refused {
        backend: backend.to_owned(),
        stack: stack.clone(),
        message: match e {
            OpenError::Seal(SealError::WrongPassphrase) => {
                "its secrets do not open with this passphrase: set CAIRN_PASSPHRASE to the stack's passphrase; \
                 nothing was written"
                    .into()
            }
            OpenError::Seal(SealError::Malformed(m)) => {
                format!("a sealed secret is damaged ({m}); nothing was written")
            }
            OpenError::Plaintext => "its state holds secrets in plain text, but this stack encrypts secrets: \
                 run `state encrypt` once to seal them; nothing was written"
                .into(),
        },
    })
}

#[async_trait::async_trait]
impl StateStore for EncryptingStore {
    fn describe(&self) -> String {
        self.inner.describe()
    }

    async fn read(&self, project: &ProjectName, stack: &StackName) -> Result<Replayed, StateError> {
        let r = self.inner.read(project, stack).await?;
        open_replayed(&self.sealer, self.allow_plaintext, &self.describe(), stack, r)
    }

    async fn try_lock(
        &self,
        project: &ProjectName,
        stack: &StackName,
        operation: &str,
        ttl: Duration,
    ) -> Result<Box<dyn StackSession>, StateError> {
        let inner = self.inner.try_lock(project, stack, operation, ttl).await?;
        Ok(Box::new(EncryptingSession {
            inner,
            sealer: self.sealer.clone(),
            allow_plaintext: self.allow_plaintext,
            backend: self.describe(),
            stack: stack.clone(),
        }))
    }

    async fn current_lock(&self, project: &ProjectName, stack: &StackName) -> Result<Option<LockInfo>, StateError> {
        self.inner.current_lock(project, stack).await
    }

    async fn unlock(&self, project: &ProjectName, stack: &StackName, lock_id: &str) -> Result<LockInfo, StateError> {
        self.inner.unlock(project, stack, lock_id).await
    }

    async fn history(&self, project: &ProjectName, stack: &StackName) -> Result<Vec<HistoryEntry>, StateError> {
        self.inner.history(project, stack).await
    }

    async fn version(
        &self,
        project: &ProjectName,
        stack: &StackName,
        serial: u64,
    ) -> Result<Option<StackState>, StateError> {
        // Exported versions stay sealed: an export is a stored copy too.
        self.inner.version(project, stack, serial).await
    }
}

struct EncryptingSession {
    inner: Box<dyn StackSession>,
    sealer: Arc<Sealer>,
    allow_plaintext: bool,
    backend: String,
    stack: StackName,
}

#[async_trait::async_trait]
impl StackSession for EncryptingSession {
    fn lock_info(&self) -> &LockInfo {
        self.inner.lock_info()
    }

    async fn read(&self) -> Result<Replayed, StateError> {
        let r = self.inner.read().await?;
        open_replayed(&self.sealer, self.allow_plaintext, &self.backend, &self.stack, r)
    }

    async fn append(&self, entry: &JournalEntry) -> Result<(), StateError> {
        let sealed = map_entry(entry, &|v| Ok::<_, ()>(seal_value(&self.sealer, v))).expect("sealing cannot fail");
        self.inner.append(&sealed).await
    }

    async fn compact(&self, state: &StackState, changes: &ChangeSummary) -> Result<(), StateError> {
        let sealed = map_state(state, &|v| Ok::<_, ()>(seal_value(&self.sealer, v))).expect("sealing cannot fail");
        self.inner.compact(&sealed, changes).await
    }

    async fn heartbeat(&self) -> Result<(), StateError> {
        self.inner.heartbeat().await
    }

    async fn release(&self) -> Result<(), StateError> {
        self.inner.release().await
    }
}
