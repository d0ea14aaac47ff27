//! A conformance suite every lease-locking state backend passes (PostgreSQL,
//! S3): each backend's tests call these with a store of their own.
//! For tests. Not behind a feature: a feature only tests turn on would make
//! the test build compile this crate, and everything above it, a second time.

#![allow(missing_docs, clippy::missing_panics_doc)]

use std::time::Duration;

use cairn_core::{ProjectName, StackName, Urn, Value};

use crate::{ChangeSummary, JournalEntry, Mutation, ResourceState, StackState, StateError, StateStore};

/// The lease of the locks the suite takes.
pub const TTL: Duration = Duration::from_secs(60);

/// A project of its own for each test, so tests share a server safely.
pub fn names() -> (ProjectName, StackName) {
    let p = format!("conf-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    (ProjectName::new(p).unwrap(), StackName::new("dev").unwrap())
}

/// A journal commit recording one resource.
pub fn put(p: &ProjectName, name: &str, serial: u64) -> JournalEntry {
    let urn = Urn::parse(&format!("urn:cairn:dev::{p}::aws:s3:Bucket::{name}")).unwrap();
    let r = ResourceState::custom(urn, name);
    JournalEntry::Commit { serial, op: None, mutations: vec![Mutation::Put(r)] }
}

pub async fn journal_and_snapshot_round_trip(store: &dyn StateStore) {
    let (p, s) = names();
    let session = store.try_lock(&p, &s, "up", TTL).await.unwrap();
    let start = session.read().await.unwrap();
    assert_eq!(start.state.serial, 0);
    session.append(&put(&p, "a", 1)).await.unwrap();
    session.append(&put(&p, "b", 2)).await.unwrap();
    let mid = store.read(&p, &s).await.unwrap();
    assert_eq!((mid.state.serial, mid.state.resources.len()), (2, 2), "readers see committed journal entries");

    let mut state = mid.state.clone();
    state.serial = 3;
    session.compact(&state, &ChangeSummary::default()).await.unwrap();
    let after = store.read(&p, &s).await.unwrap();
    assert_eq!(after.state, state);
    assert_eq!(after.journal_entries, 0, "the journal was folded into the snapshot");
    session.release().await.unwrap();
    assert_eq!(store.current_lock(&p, &s).await.unwrap(), None);
}

pub async fn a_live_lock_is_refused_naming_its_holder(store: &dyn StateStore) {
    let (p, s) = names();
    let held = store.try_lock(&p, &s, "up", TTL).await.unwrap();
    let err = store.try_lock(&p, &s, "destroy", TTL).await.err().expect("refused").to_string();
    let info = held.lock_info();
    for needle in [info.who.as_str(), "`up`", &format!("pid {}", info.pid), &info.id] {
        assert!(err.contains(needle), "`{needle}` missing from: {err}");
    }
    let current = store.current_lock(&p, &s).await.unwrap().expect("locked");
    assert_eq!(current.id, info.id);
    assert!(current.heartbeat.ends_with('Z'), "the heartbeat is the server's time: {}", current.heartbeat);
    held.release().await.unwrap();
    store.try_lock(&p, &s, "destroy", TTL).await.expect("free after release");
}

pub async fn an_expired_lock_is_taken_over_and_its_old_holder_can_write_nothing(store: &dyn StateStore) {
    let (p, s) = names();
    // A holds a 1 s lease and stops renewing it (as a killed or frozen run would).
    let a = store.try_lock(&p, &s, "up", Duration::from_secs(1)).await.unwrap();
    a.read().await.unwrap();
    a.append(&put(&p, "from-a", 1)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;

    let b = store.try_lock(&p, &s, "up", TTL).await.expect("the expired lease is taken over");
    let seen = b.read().await.unwrap();
    assert_eq!(seen.state.serial, 1, "B sees A's committed step");
    b.append(&put(&p, "from-b", 2)).await.unwrap();

    // A wakes up: every write is refused, and the newer state stays.
    let lost = a.append(&put(&p, "late", 2)).await.unwrap_err();
    assert!(matches!(lost, StateError::LockLost { .. }), "{lost}");
    assert!(lost.to_string().contains(&b.lock_info().id), "names the new holder: {lost}");
    let mut stale = StackState::new(s.clone());
    stale.serial = 9;
    assert!(matches!(a.compact(&stale, &ChangeSummary::default()).await.unwrap_err(), StateError::LockLost { .. }));
    assert!(matches!(a.heartbeat().await.unwrap_err(), StateError::LockLost { .. }));
    // Releasing gives back nothing of B's.
    a.release().await.unwrap();
    assert_eq!(store.current_lock(&p, &s).await.unwrap().map(|l| l.id), Some(b.lock_info().id.clone()));

    let state = store.read(&p, &s).await.unwrap().state;
    let names: Vec<&str> = state.resources.iter().map(|r| r.urn.name()).collect();
    assert_eq!(names, ["from-a", "from-b"]);
    assert_eq!(state.serial, 2);
    b.heartbeat().await.expect("B still holds the lock");
}

pub async fn compaction_is_compare_and_swap_on_the_serial_read(store: &dyn StateStore) {
    let (p, s) = names();
    let a = store.try_lock(&p, &s, "up", TTL).await.unwrap();
    let mut state = a.read().await.unwrap().state;
    state.serial = 1;
    a.compact(&state, &ChangeSummary::default()).await.unwrap();
    a.release().await.unwrap();

    // B reads serial 1, then someone else's run moves the stack on.
    let b = store.try_lock(&p, &s, "up", TTL).await.unwrap();
    let mut b_state = b.read().await.unwrap().state;
    b.release().await.unwrap();
    let c = store.try_lock(&p, &s, "up", TTL).await.unwrap();
    let mut c_state = c.read().await.unwrap().state;
    c_state.serial = 2;
    c.compact(&c_state, &ChangeSummary::default()).await.unwrap();
    c.release().await.unwrap();

    // A session whose view of the snapshot is not the stored one (it holds
    // B's stale state from serial 1, and has not read the object C wrote) is
    // refused even though it holds the lock: the lock alone is not trusted.
    let b2 = store.try_lock(&p, &s, "up", TTL).await.unwrap();
    b_state.serial = 2;
    // ... and differs from what C stored (an identical write would be a harmless retry).
    b_state.outputs.insert("written_by".into(), Value::from("b"));
    let err = b2.compact(&b_state, &ChangeSummary::default()).await.unwrap_err();
    assert!(matches!(err, StateError::Conflict { found: 2, .. }), "{err}");
    assert_eq!(store.read(&p, &s).await.unwrap().state.serial, 2, "nothing was overwritten");
}

pub async fn unlock_removes_only_the_named_lock(store: &dyn StateStore) {
    let (p, s) = names();
    let held = store.try_lock(&p, &s, "up", TTL).await.unwrap();
    let id = held.lock_info().id.clone();
    let wrong = store.unlock(&p, &s, "not-the-id").await.unwrap_err().to_string();
    assert!(wrong.contains(&id) && wrong.contains("nothing was removed"), "{wrong}");
    let removed = store.unlock(&p, &s, &id).await.unwrap();
    assert_eq!(removed.id, id);
    assert!(matches!(held.append(&put(&p, "x", 1)).await.unwrap_err(), StateError::LockLost { .. }));
    let again = store.unlock(&p, &s, &id).await.unwrap_err().to_string();
    assert!(again.contains("is not locked"), "{again}");
}

pub async fn history_lists_each_compaction_with_its_changes(store: &dyn StateStore) {
    let (p, s) = names();
    let session = store.try_lock(&p, &s, "up", TTL).await.unwrap();
    session.read().await.unwrap();
    assert!(store.history(&p, &s).await.unwrap().is_empty(), "no versions before the first compaction");

    session.append(&put(&p, "a", 1)).await.unwrap();
    session.append(&put(&p, "b", 2)).await.unwrap();
    let first = session.read().await.unwrap().state;
    let created = ChangeSummary { created: 2, updated: 0, deleted: 0, resources: 2 };
    session.compact(&first, &created).await.unwrap();

    let mut second = first.clone();
    second.resources.pop();
    second.serial = 3;
    let deleted = ChangeSummary { created: 0, updated: 0, deleted: 1, resources: 1 };
    session.compact(&second, &deleted).await.unwrap();
    session.release().await.unwrap();

    let history = store.history(&p, &s).await.unwrap();
    let serials: Vec<u64> = history.iter().map(|h| h.serial).collect();
    assert_eq!(serials, [2, 3], "oldest first: {history:?}");
    assert_eq!(history[0].changes, created);
    assert_eq!(history[1].changes, deleted);
    for h in &history {
        assert_eq!(h.operation, "up");
        assert_eq!(h.who, session.lock_info().who);
        assert!(h.time.ends_with('Z'), "RFC 3339, UTC: {}", h.time);
    }
    assert_eq!(store.version(&p, &s, 2).await.unwrap(), Some(first));
    assert_eq!(store.version(&p, &s, 3).await.unwrap(), Some(second));
    assert_eq!(store.version(&p, &s, 1).await.unwrap(), None, "serial 1 was never a snapshot");
}

/// `list_stacks` lists the stacks with a state or a journal; `remove_stack`
/// under the lock removes one, which then reads as new and can be brought up again.
pub async fn stacks_are_listed_and_removed(store: &dyn StateStore) {
    let (p, dev) = names();
    let prod = StackName::new("prod").unwrap();
    assert!(store.list_stacks(&p).await.unwrap().is_empty(), "a new project has no stacks");
    for (s, compact) in [(&dev, true), (&prod, false)] {
        let session = store.try_lock(&p, s, "up", TTL).await.unwrap();
        session.read().await.unwrap();
        session.append(&put(&p, "a", 1)).await.unwrap();
        if compact {
            let mut state = session.read().await.unwrap().state;
            state.serial = 2;
            session.compact(&state, &ChangeSummary::default()).await.unwrap();
        }
        session.release().await.unwrap();
    }
    assert_eq!(
        store.list_stacks(&p).await.unwrap(),
        [dev.clone(), prod.clone()],
        "a snapshot or a journal makes a stack"
    );

    let session = store.try_lock(&p, &dev, "stack rm", TTL).await.unwrap();
    session.read().await.unwrap();
    session.remove_stack().await.unwrap();
    session.release().await.unwrap();
    assert_eq!(store.list_stacks(&p).await.unwrap(), [prod]);
    assert_eq!(store.current_lock(&p, &dev).await.unwrap(), None, "no lock is left behind");
    let gone = store.read(&p, &dev).await.unwrap();
    assert_eq!((gone.state.serial, gone.state.resources.len()), (0, 0), "it reads as a new stack");

    // Brought up again from nothing.
    let session = store.try_lock(&p, &dev, "up", TTL).await.unwrap();
    session.read().await.unwrap();
    session.append(&put(&p, "b", 1)).await.unwrap();
    session.release().await.unwrap();
    assert_eq!(store.read(&p, &dev).await.unwrap().state.resources.len(), 1);
}
