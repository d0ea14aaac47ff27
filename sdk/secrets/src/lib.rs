//! Secrets at rest.
//!
//! [`EncryptingStore`] wraps any [`StateStore`]: every secret value (a
//! [`Value::Secret`], from `Output::secret` or a secret config value) is
//! sealed before the inner backend sees it — in journal entries, snapshots
//! and so history — and opened again on the way out. The backends store only
//! `{"$cairn.secret": {"$cairn.sealed": "cairn:pp1:…"}}` (a passphrase,
//! [`Sealer`]) or `"cairn:kms1:…"` (a key service such as AWS KMS,
//! [`EnvelopeSealer`]).
//!
//! With encryption configured, a stored *plaintext* secret is refused unless
//! the store was opened for migration ([`EncryptingStore::migrating`]).

mod envelope;
mod sealer;

use std::sync::Arc;
use std::time::Duration;

use cairn_core::{ProjectName, StackName, Value};
use cairn_state::{
    ChangeSummary, HistoryEntry, Intent, JournalEntry, LockInfo, Mutation, PendingOp, Replayed, ResourceState,
    StackSession, StackState, StateError, StateStore,
};

pub use envelope::{DataKeys, ENVELOPE_PREFIX, EnvelopeSealer};
pub use sealer::{PREFIX, SealError, Sealer};

/// How a stack's secrets are sealed.
pub enum Cipher {
    /// With a passphrase (`secrets = "passphrase"`).
    Passphrase(Sealer),
    /// Under data keys from a key service (`secrets = "awskms://…"`).
    Envelope(EnvelopeSealer),
}

impl Cipher {
    /// What seals, for messages: "the passphrase (CAIRN_PASSPHRASE)" or the key.
    pub fn describe(&self) -> String {
        match self {
            Cipher::Passphrase(_) => "the passphrase in CAIRN_PASSPHRASE".into(),
            Cipher::Envelope(e) => format!("the key {}", e.describe()),
        }
    }

    /// Gets what [`Self::seal`] needs (a data key from the key service).
    pub async fn ready_to_seal(&self) -> Result<(), SealError> {
        match self {
            Cipher::Passphrase(_) => Ok(()),
            Cipher::Envelope(e) => e.ready_to_seal().await,
        }
    }

    /// Gets what [`Self::open`] needs for these sealed texts (their data keys, unwrapped).
    pub async fn ready_to_open(&self, sealed: &[&str]) -> Result<(), SealError> {
        match self {
            Cipher::Passphrase(_) => Ok(()),
            Cipher::Envelope(e) => e.ready_to_open(sealed).await,
        }
    }

    /// Seals `plain`.
    pub fn seal(&self, plain: &[u8]) -> Result<String, SealError> {
        match self {
            Cipher::Passphrase(p) => Ok(p.seal(plain)),
            Cipher::Envelope(e) => e.seal(plain),
        }
    }

    /// Opens a sealed text.
    pub fn open(&self, sealed: &str) -> Result<Vec<u8>, SealError> {
        match self {
            Cipher::Passphrase(_) if sealed.starts_with(ENVELOPE_PREFIX) => {
                Err(SealError::OtherMode("a key service (secrets = \"awskms://…\")".into()))
            }
            Cipher::Envelope(_) if sealed.starts_with(PREFIX) => {
                Err(SealError::OtherMode("a passphrase (secrets = \"passphrase\")".into()))
            }
            Cipher::Passphrase(p) => p.open(sealed),
            Cipher::Envelope(e) => e.open(sealed),
        }
    }
}

/// The key under a secret wrapper that holds its sealed text.
pub const SEALED_KEY: &str = "$cairn.sealed";

/// Seals every secret in `v` ([`Cipher::ready_to_seal`] first).
pub fn seal_value(cipher: &Cipher, v: &Value) -> Result<Value, SealError> {
    Ok(match v {
        Value::Secret(inner) if sealed_text(inner).is_some() => v.clone(),
        Value::Secret(inner) => {
            let plain = serde_json::to_vec(&inner.to_json()).expect("values serialize");
            let sealed: Value = [(SEALED_KEY, Value::String(cipher.seal(&plain)?))].into_iter().collect();
            Value::Secret(Box::new(sealed))
        }
        Value::List(l) => Value::List(l.iter().map(|x| seal_value(cipher, x)).collect::<Result<_, _>>()?),
        Value::Map(m) => {
            Value::Map(m.iter().map(|(k, x)| Ok((k.clone(), seal_value(cipher, x)?))).collect::<Result<_, _>>()?)
        }
        other => other.clone(),
    })
}

/// Seals every secret in `v`, getting a data key first when the cipher needs one.
pub async fn seal_all(cipher: &Cipher, v: &Value) -> Result<Value, SealError> {
    if v.contains_secret() {
        cipher.ready_to_seal().await?;
    }
    seal_value(cipher, v)
}

/// Opens every sealed secret in `v` (secrets not sealed stay as they are).
pub async fn open_all(cipher: &Cipher, v: &Value) -> Result<Value, SealError> {
    let mut sealed = Vec::new();
    collect_sealed(v, &mut sealed);
    cipher.ready_to_open(&sealed).await?;
    open_value(cipher, v, true).map_err(|e| match e {
        OpenError::Seal(e) => e,
        OpenError::Plaintext => unreachable!("plaintext secrets are allowed here"),
    })
}

/// True when `v` holds a sealed secret.
pub fn holds_sealed(v: &Value) -> bool {
    let mut sealed = Vec::new();
    collect_sealed(v, &mut sealed);
    !sealed.is_empty()
}

/// Adds the sealed texts in `v` to `out`.
fn collect_sealed<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::Secret(inner) => match sealed_text(inner) {
            Some(text) => out.push(text),
            None => collect_sealed(inner, out),
        },
        Value::List(l) => l.iter().for_each(|x| collect_sealed(x, out)),
        Value::Map(m) => m.values().for_each(|x| collect_sealed(x, out)),
        _ => {}
    }
}

/// Every sealed text a replayed state carries.
fn sealed_in(r: &Replayed) -> Vec<&str> {
    let mut out = Vec::new();
    for res in &r.state.resources {
        collect_sealed(&res.inputs, &mut out);
        collect_sealed(&res.outputs, &mut out);
    }
    r.state.outputs.values().for_each(|v| collect_sealed(v, &mut out));
    r.pending.iter().for_each(|p| collect_sealed(&p.intent.inputs, &mut out));
    out.sort_unstable();
    out.dedup();
    out
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
fn open_value(sealer: &Cipher, v: &Value, allow_plaintext: bool) -> Result<Value, OpenError> {
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
    cipher: Arc<Cipher>,
    allow_plaintext: bool,
}

impl EncryptingStore {
    /// Wraps `inner`; stored plaintext secrets are refused.
    pub fn new(inner: Box<dyn StateStore>, cipher: Cipher) -> Self {
        Self { inner, cipher: Arc::new(cipher), allow_plaintext: false }
    }

    /// Wraps `inner` to migrate a plaintext state: plaintext secrets are
    /// read, and sealed when written back.
    pub fn migrating(inner: Box<dyn StateStore>, cipher: Cipher) -> Self {
        Self { inner, cipher: Arc::new(cipher), allow_plaintext: true }
    }
}

/// Why secrets could not be sealed or opened, as a refusal naming the stack and backend.
fn refused(cipher: &Cipher, backend: &str, stack: &StackName, e: OpenError) -> StateError {
    let by = cipher.describe();
    StateError::Refused {
        backend: backend.to_owned(),
        stack: stack.clone(),
        message: match e {
            OpenError::Seal(SealError::WrongPassphrase) => {
                "its secrets do not open with this passphrase: set CAIRN_PASSPHRASE to the stack's passphrase; \
                 nothing was written"
                    .into()
            }
            OpenError::Seal(SealError::KeyService(m)) => format!(
                "{by} did not give a data key for its secrets ({m}): check that the key exists, is enabled, and \
                 that this run may use it (kms:GenerateDataKey, kms:Decrypt); nothing was written"
            ),
            OpenError::Seal(SealError::OtherMode(m)) => format!(
                "its secrets were sealed with {m}, but the stack config now seals them with {by}: set `secrets` \
                 back to the mode that sealed them; nothing was written"
            ),
            OpenError::Seal(e @ (SealError::Malformed(_) | SealError::Altered)) => {
                format!("a sealed secret is damaged ({e}); nothing was written")
            }
            OpenError::Plaintext => "its state holds secrets in plain text, but this stack encrypts secrets: \
                 run `state encrypt` once to seal them; nothing was written"
                .into(),
        },
    }
}

/// Opens the secrets of a state read from the inner backend.
async fn open_replayed(
    cipher: &Cipher,
    allow_plaintext: bool,
    backend: &str,
    stack: &StackName,
    r: Replayed,
) -> Result<Replayed, StateError> {
    cipher.ready_to_open(&sealed_in(&r)).await.map_err(|e| refused(cipher, backend, stack, OpenError::Seal(e)))?;
    let f = |v: &Value| open_value(cipher, v, allow_plaintext);
    let opened = (|| -> Result<Replayed, OpenError> {
        let state = map_state(&r.state, &f)?;
        let pending = r
            .pending
            .iter()
            .map(|p| Ok(PendingOp { op: p.op, intent: map_intent(&p.intent, &f)? }))
            .collect::<Result<_, OpenError>>()?;
        Ok(Replayed { state, pending, ..r })
    })();
    opened.map_err(|e| refused(cipher, backend, stack, e))
}

#[async_trait::async_trait]
impl StateStore for EncryptingStore {
    fn describe(&self) -> String {
        self.inner.describe()
    }

    async fn read(&self, project: &ProjectName, stack: &StackName) -> Result<Replayed, StateError> {
        let r = self.inner.read(project, stack).await?;
        open_replayed(&self.cipher, self.allow_plaintext, &self.describe(), stack, r).await
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
            cipher: self.cipher.clone(),
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

    async fn list_stacks(&self, project: &ProjectName) -> Result<Vec<StackName>, StateError> {
        self.inner.list_stacks(project).await
    }
}

impl EncryptingSession {
    /// Runs `seal` once the cipher is ready to seal; its failures become refusals.
    async fn sealing<T>(&self, seal: impl FnOnce(&Cipher) -> Result<T, SealError>) -> Result<T, StateError> {
        let fail = |e| refused(&self.cipher, &self.backend, &self.stack, OpenError::Seal(e));
        self.cipher.ready_to_seal().await.map_err(fail)?;
        seal(&self.cipher).map_err(fail)
    }
}

struct EncryptingSession {
    inner: Box<dyn StackSession>,
    cipher: Arc<Cipher>,
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
        open_replayed(&self.cipher, self.allow_plaintext, &self.backend, &self.stack, r).await
    }

    async fn append(&self, entry: &JournalEntry) -> Result<(), StateError> {
        let sealed = self.sealing(|cipher| map_entry(entry, &|v| seal_value(cipher, v))).await?;
        self.inner.append(&sealed).await
    }

    async fn compact(&self, state: &StackState, changes: &ChangeSummary) -> Result<(), StateError> {
        let sealed = self.sealing(|cipher| map_state(state, &|v| seal_value(cipher, v))).await?;
        self.inner.compact(&sealed, changes).await
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
