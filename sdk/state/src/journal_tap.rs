//! A store wrapper for tests that keeps every journal entry a run writes and
//! checks, after the run, that every prefix of its journal replays to a valid
//! state: the state a crash at that point would leave for the next run.
//! For tests. Not behind a feature: a feature only tests turn on would make
//! the test build compile this crate, and everything above it, a second time.

#![allow(clippy::missing_panics_doc)]

use std::collections::{BTreeSet, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cairn_core::{ProjectName, StackName, Urn};

use crate::journal::{JournalEntry, Replayed};
use crate::model::StackState;
use crate::store::{ChangeSummary, HistoryEntry, LockInfo, StackSession, StateError, StateStore};

/// What one locked session wrote.
#[derive(Debug, Default, Clone)]
struct Tape {
    /// The state (and pending operations) the session read first.
    start: Option<Replayed>,
    /// Every entry appended, in order.
    entries: Vec<JournalEntry>,
    /// Each compaction: how many entries preceded it, and the snapshot written.
    compactions: Vec<(usize, StackState)>,
}

/// Wraps a store and records the journal of every session taken through it.
pub struct JournalTap<S> {
    inner: S,
    tapes: Arc<Mutex<Vec<Arc<Mutex<Tape>>>>>,
}

impl<S: StateStore> JournalTap<S> {
    /// Records what runs through `inner` write.
    pub fn new(inner: S) -> Self {
        Self { inner, tapes: Arc::default() }
    }

    /// The wrapped store.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// Checks every prefix of every journal recorded since the last call
    /// (see [`check_prefixes`]); returns how many prefixes were checked.
    pub fn check_every_prefix(&self) -> Result<usize, String> {
        let tapes: Vec<Tape> =
            self.tapes.lock().expect("tapes").drain(..).map(|t| t.lock().expect("tape").clone()).collect();
        let mut checked = 0;
        for (n, tape) in tapes.iter().enumerate() {
            let Some(start) = &tape.start else { continue };
            checked += check_prefixes(start, &tape.entries, &tape.compactions)
                .map_err(|e| format!("session {n} (of {}): {e}", tapes.len()))?;
        }
        Ok(checked)
    }
}

/// Replays `start` plus each prefix of `entries` and checks the state each
/// gives: serials only grow; a commit or abort names an operation that began
/// and has no outcome yet; no resource is recorded live twice; every parent
/// and dependency is recorded, or is a resource being replaced that the run
/// ends with (a delete-before-replace); each compaction wrote exactly what
/// the journal before it replays to. Returns how many prefixes were checked.
pub fn check_prefixes(
    start: &Replayed,
    entries: &[JournalEntry],
    compactions: &[(usize, StackState)],
) -> Result<usize, String> {
    let mut replayed = start.clone();
    // The records a later prefix ends with may be missing for a moment (a
    // delete-before-replace), so dangling references to them are allowed.
    let end = start.clone().resume(entries.iter().cloned()).state;
    let ends_with: HashSet<&Urn> = end.resources.iter().map(|r| &r.urn).collect();
    valid(&replayed, &ends_with).map_err(|e| format!("before the first entry: {e}"))?;
    let mut compactions = compactions.iter().peekable();
    for (i, e) in entries.iter().enumerate() {
        while let Some((at, snapshot)) = compactions.next_if(|(at, _)| *at == i) {
            same_records(&replayed.state, snapshot)
                .map_err(|why| format!("the compaction after {at} entries wrote another state: {why}"))?;
            replayed.state.serial = snapshot.serial;
        }
        if e.serial() <= replayed.state.serial {
            return Err(format!("entry {i} has serial {} after serial {}", e.serial(), replayed.state.serial));
        }
        if let JournalEntry::Commit { op: Some(op), .. } | JournalEntry::Abort { op, .. } = e {
            let op = *op;
            if !replayed.pending.iter().any(|p| p.op == op) {
                return Err(format!("entry {i} ends operation {op}, which has not begun or has ended: {e:?}"));
            }
        }
        replayed = replayed.resume([e.clone()]);
        valid(&replayed, &ends_with).map_err(|why| format!("after entry {i} ({e:?}): {why}"))?;
    }
    for (at, snapshot) in compactions {
        if *at != entries.len() {
            return Err(format!("a compaction after {at} entries of {}", entries.len()));
        }
        same_records(&replayed.state, snapshot)
            .map_err(|why| format!("the final compaction wrote another state than the journal replays to: {why}"))?;
    }
    Ok(entries.len() + 1)
}

fn valid(replayed: &Replayed, ends_with: &HashSet<&Urn>) -> Result<(), String> {
    let state = &replayed.state;
    let mut live = BTreeSet::new();
    let mut copies = BTreeSet::new();
    for r in &state.resources {
        if !r.pending_delete && !live.insert(&r.urn) {
            return Err(format!("{} is recorded live twice", r.urn));
        }
        if !copies.insert((&r.urn, &r.id)) {
            return Err(format!("{} (ID {:?}) is recorded twice", r.urn, r.id));
        }
    }
    let recorded: HashSet<&Urn> = state.resources.iter().map(|r| &r.urn).collect();
    for r in state.resources.iter().filter(|r| !r.pending_delete) {
        let refs = r.parent.iter().map(|p| ("parent", p)).chain(r.dependencies.iter().map(|d| ("dependency", d)));
        for (what, urn) in refs {
            if !recorded.contains(urn) && !ends_with.contains(urn) {
                return Err(format!("{} has {what} {urn}, which is not recorded", r.urn));
            }
        }
    }
    Ok(())
}

fn same_records(replayed: &StackState, snapshot: &StackState) -> Result<(), String> {
    if replayed.lineage != snapshot.lineage {
        return Err(format!("lineage {} instead of {}", snapshot.lineage, replayed.lineage));
    }
    if snapshot.serial <= replayed.serial {
        return Err(format!("serial {} does not follow {}", snapshot.serial, replayed.serial));
    }
    if replayed.resources != snapshot.resources {
        let names = |s: &StackState| s.resources.iter().map(|r| r.urn.to_string()).collect::<Vec<_>>();
        return Err(format!("resources {:?} instead of {:?}", names(snapshot), names(replayed)));
    }
    if replayed.outputs != snapshot.outputs {
        return Err("other stack outputs".into());
    }
    Ok(())
}

#[async_trait::async_trait]
impl<S: StateStore> StateStore for JournalTap<S> {
    fn describe(&self) -> String {
        self.inner.describe()
    }

    async fn read(&self, project: &ProjectName, stack: &StackName) -> Result<Replayed, StateError> {
        self.inner.read(project, stack).await
    }

    async fn try_lock(
        &self,
        project: &ProjectName,
        stack: &StackName,
        operation: &str,
        ttl: Duration,
    ) -> Result<Box<dyn StackSession>, StateError> {
        let inner = self.inner.try_lock(project, stack, operation, ttl).await?;
        let tape = Arc::new(Mutex::new(Tape::default()));
        self.tapes.lock().expect("tapes").push(tape.clone());
        Ok(Box::new(TappedSession { inner, tape }))
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
        self.inner.version(project, stack, serial).await
    }

    async fn list_stacks(&self, project: &ProjectName) -> Result<Vec<StackName>, StateError> {
        self.inner.list_stacks(project).await
    }
}

struct TappedSession {
    inner: Box<dyn StackSession>,
    tape: Arc<Mutex<Tape>>,
}

#[async_trait::async_trait]
impl StackSession for TappedSession {
    fn lock_info(&self) -> &LockInfo {
        self.inner.lock_info()
    }

    async fn read(&self) -> Result<Replayed, StateError> {
        let r = self.inner.read().await?;
        let mut tape = self.tape.lock().expect("tape");
        if tape.start.is_none() && tape.entries.is_empty() {
            tape.start = Some(r.clone());
        }
        Ok(r)
    }

    async fn append(&self, entry: &JournalEntry) -> Result<(), StateError> {
        self.inner.append(entry).await?;
        self.tape.lock().expect("tape").entries.push(entry.clone());
        Ok(())
    }

    async fn compact(&self, state: &StackState, changes: &ChangeSummary) -> Result<(), StateError> {
        self.inner.compact(state, changes).await?;
        let mut tape = self.tape.lock().expect("tape");
        let at = tape.entries.len();
        tape.compactions.push((at, state.clone()));
        Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::{Intent, OpKind, replay};
    use crate::model::{Mutation, ResourceState};
    use cairn_core::{ResourceKind, Value};

    fn urn(name: &str) -> Urn {
        Urn::parse(&format!("urn:cairn:dev::p::aws:s3:Bucket::{name}")).unwrap()
    }

    fn begin(serial: u64, op: u64, name: &str, deps: &[&str]) -> JournalEntry {
        JournalEntry::Begin {
            serial,
            op,
            intent: Intent {
                kind: OpKind::Create,
                urn: urn(name),
                id: None,
                inputs: Value::map(),
                resource_kind: ResourceKind::Custom,
                parent: None,
                dependencies: deps.iter().map(|d| urn(d)).collect(),
                protect: false,
                retain_on_delete: false,
                provider: None,
            },
        }
    }

    fn done(serial: u64, op: u64, id: &str) -> JournalEntry {
        JournalEntry::Commit {
            serial,
            op: Some(op),
            mutations: vec![Mutation::Completed { id: Some(id.into()), outputs: Value::map() }],
        }
    }

    fn start() -> Replayed {
        replay(StackState::new(StackName::new("dev").unwrap()), [])
    }

    #[test]
    fn a_journal_in_dependency_order_is_valid_at_every_prefix() {
        let entries = [begin(1, 0, "a", &[]), done(2, 0, "a-1"), begin(3, 1, "b", &["a"]), done(4, 1, "b-1")];
        assert_eq!(check_prefixes(&start(), &entries, &[]), Ok(5));
    }

    #[test]
    fn a_record_whose_dependency_is_never_recorded_is_found() {
        let entries = [begin(1, 0, "b", &["a"]), done(2, 0, "b-1")];
        let err = check_prefixes(&start(), &entries, &[]).unwrap_err();
        assert!(err.contains("after entry 1") && err.contains("dependency") && err.contains("::a"), "{err}");
    }

    #[test]
    fn a_commit_of_an_operation_that_never_began_is_found() {
        let err = check_prefixes(&start(), &[done(1, 7, "a-1")], &[]).unwrap_err();
        assert!(err.contains("operation 7"), "{err}");
    }

    #[test]
    fn serials_that_go_back_are_found() {
        let err = check_prefixes(&start(), &[begin(2, 0, "a", &[]), done(2, 0, "a-1")], &[]).unwrap_err();
        assert!(err.contains("serial 2 after serial 2"), "{err}");
    }

    #[test]
    fn a_compaction_that_loses_a_record_is_found() {
        let entries = [begin(1, 0, "a", &[]), done(2, 0, "a-1")];
        let start = start();
        let mut snapshot = start.state.clone();
        snapshot.serial = 3;
        let err = check_prefixes(&start, &entries, &[(2, snapshot.clone())]).unwrap_err();
        assert!(err.contains("final compaction"), "{err}");
        snapshot.resources.push(ResourceState::custom(urn("a"), "a-1"));
        assert_eq!(check_prefixes(&start, &entries, &[(2, snapshot)]), Ok(3));
    }
}
