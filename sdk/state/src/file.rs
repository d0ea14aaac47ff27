//! The file store, Cairn's embedded default: `file://DIR`.
//!
//! Layout: `DIR/PROJECT/STACK/state.json` (the snapshot),
//! `journal.jsonl` (one entry per line, appended and fsynced) and `lock`.
//! Snapshots are written to a temporary file, fsynced and renamed, so a crash
//! leaves either the old or the new snapshot. The lock is an OS file lock
//! (`flock`), which the kernel releases when the holder dies: a killed run
//! never leaves a stale lock. The lock file holds the holder's record so a
//! refused run can say who holds it.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use cairn_core::{ProjectName, StackName};

use crate::journal::{JournalEntry, Replayed, replay};
use crate::model::StackState;
use crate::store::{ChangeSummary, HistoryEntry, LockInfo, StackSession, StateError, StateStore};

/// A state store in a local directory.
#[derive(Debug, Clone)]
pub struct FileStore {
    root: PathBuf,
}

impl FileStore {
    /// A store rooted at `root` (created on first write).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    fn dir(&self, project: &ProjectName, stack: &StackName) -> PathBuf {
        self.root.join(project.as_str()).join(stack.as_str())
    }
}

struct Ctx<'a> {
    backend: String,
    stack: &'a StackName,
}

impl Ctx<'_> {
    fn io(&self, action: impl Into<String>) -> impl FnOnce(std::io::Error) -> StateError + '_ {
        let action = action.into();
        move |source| StateError::Io { backend: self.backend.clone(), stack: self.stack.clone(), action, source }
    }

    fn corrupt(&self, what: &str, message: impl ToString) -> StateError {
        StateError::Corrupt {
            backend: self.backend.clone(),
            stack: self.stack.clone(),
            what: what.to_owned(),
            message: message.to_string(),
        }
    }
}

fn read_dir_state(dir: &Path, ctx: &Ctx<'_>) -> Result<Replayed, StateError> {
    let snapshot_path = dir.join("state.json");
    let snapshot = match fs::read(&snapshot_path) {
        Ok(bytes) => serde_json::from_slice::<StackState>(&bytes)
            .map_err(|e| ctx.corrupt(&snapshot_path.display().to_string(), e))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => StackState::new(ctx.stack.clone()),
        Err(e) => return Err(ctx.io(format!("read {}", snapshot_path.display()))(e)),
    };
    let journal_path = dir.join("journal.jsonl");
    let bytes = match fs::read(&journal_path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(ctx.io(format!("read {}", journal_path.display()))(e)),
    };
    // A line without its newline was torn by a crash mid-append (perhaps inside
    // a character): it never took effect. Bytes before it that are no text are damage.
    let complete = bytes.iter().rposition(|b| *b == b'\n').map_or(&bytes[..0], |end| &bytes[..=end]);
    let complete = std::str::from_utf8(complete).map_err(|e| ctx.corrupt(&journal_path.display().to_string(), e))?;
    let mut entries = Vec::new();
    for (i, line) in complete.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let e: JournalEntry = serde_json::from_str(line)
            .map_err(|e| ctx.corrupt(&format!("{} line {}", journal_path.display(), i + 1), e))?;
        entries.push(e);
    }
    Ok(replay(snapshot, entries))
}

/// Runs file IO on tokio's blocking pool, so a slow disk never stalls the
/// async workers (the engine runs many provider calls on them at once).
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StateError> + Send + 'static,
) -> Result<T, StateError> {
    match tokio::task::spawn_blocking(f).await {
        Ok(result) => result,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => panic!("a file store task was cancelled (the runtime is shutting down): {e}"),
    }
}

#[async_trait::async_trait]
impl StateStore for FileStore {
    fn describe(&self) -> String {
        format!("file://{}", self.root.display())
    }

    async fn read(&self, project: &ProjectName, stack: &StackName) -> Result<Replayed, StateError> {
        let (store, project, stack) = (self.clone(), project.clone(), stack.clone());
        blocking(move || store.read_blocking(&project, &stack)).await
    }

    async fn try_lock(
        &self,
        project: &ProjectName,
        stack: &StackName,
        operation: &str,
        ttl: Duration,
    ) -> Result<Box<dyn StackSession>, StateError> {
        let (store, project, stack, operation) = (self.clone(), project.clone(), stack.clone(), operation.to_owned());
        blocking(move || store.try_lock_blocking(&project, &stack, &operation, ttl)).await
    }

    async fn current_lock(&self, project: &ProjectName, stack: &StackName) -> Result<Option<LockInfo>, StateError> {
        let (store, project, stack) = (self.clone(), project.clone(), stack.clone());
        blocking(move || store.current_lock_blocking(&project, &stack)).await
    }

    async fn unlock(&self, project: &ProjectName, stack: &StackName, lock_id: &str) -> Result<LockInfo, StateError> {
        let (store, project, stack, lock_id) = (self.clone(), project.clone(), stack.clone(), lock_id.to_owned());
        blocking(move || store.unlock_blocking(&project, &stack, &lock_id)).await
    }

    async fn history(&self, project: &ProjectName, stack: &StackName) -> Result<Vec<HistoryEntry>, StateError> {
        let (store, project, stack) = (self.clone(), project.clone(), stack.clone());
        blocking(move || store.history_blocking(&project, &stack)).await
    }

    async fn list_stacks(&self, project: &ProjectName) -> Result<Vec<StackName>, StateError> {
        let dir = self.root.join(project.as_str());
        let backend = self.describe();
        blocking(move || {
            let entries = match fs::read_dir(&dir) {
                Ok(e) => e,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
                Err(e) => {
                    return Err(StateError::Refused {
                        backend,
                        stack: StackName::new("-").expect("a stack name"),
                        message: format!("cannot list the stacks in {}: {e}", dir.display()),
                    });
                }
            };
            let mut stacks: Vec<StackName> = entries
                .filter_map(Result::ok)
                .filter(|e| e.path().join("state.json").exists() || e.path().join("journal.jsonl").exists())
                .filter_map(|e| StackName::new(e.file_name().to_string_lossy()).ok())
                .collect();
            stacks.sort();
            Ok(stacks)
        })
        .await
    }

    async fn version(
        &self,
        project: &ProjectName,
        stack: &StackName,
        serial: u64,
    ) -> Result<Option<StackState>, StateError> {
        let (store, project, stack) = (self.clone(), project.clone(), stack.clone());
        blocking(move || store.version_blocking(&project, &stack, serial)).await
    }
}

/// The store's operations as plain blocking calls; the trait impl runs them
/// on tokio's blocking pool.
impl FileStore {
    fn read_blocking(&self, project: &ProjectName, stack: &StackName) -> Result<Replayed, StateError> {
        let ctx = Ctx { backend: self.describe(), stack };
        read_dir_state(&self.dir(project, stack), &ctx)
    }

    fn try_lock_blocking(
        &self,
        project: &ProjectName,
        stack: &StackName,
        operation: &str,
        ttl: Duration,
    ) -> Result<Box<dyn StackSession>, StateError> {
        let ctx = Ctx { backend: self.describe(), stack };
        let dir = self.dir(project, stack);
        fs::create_dir_all(&dir).map_err(ctx.io(format!("create {}", dir.display())))?;
        let lock_path = dir.join("lock");
        let mut lock_file = open_lock_file(&lock_path, &ctx)?;
        match lock_file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                // The holder writes its record right after taking the lock: give it a moment.
                let mut record = read_record(&mut lock_file);
                for _ in 0..50 {
                    if record.is_some() {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(10));
                    record = read_record(&mut lock_file);
                }
                let holder = record
                    .map(|i| i.to_string())
                    .unwrap_or_else(|| format!("another process (lock file {})", lock_path.display()));
                return Err(StateError::Locked { stack: stack.clone(), holder });
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(ctx.io(format!("lock {}", lock_path.display()))(e));
            }
        }
        let info = LockInfo::for_this_process(operation, ttl);
        write_record(&mut lock_file, &info).map_err(ctx.io("write the lock record"))?;

        let journal_path = dir.join("journal.jsonl");
        drop_torn_tail(&journal_path).map_err(ctx.io(format!("repair {}", journal_path.display())))?;
        let journal = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&journal_path)
            .map_err(ctx.io(format!("open {}", journal_path.display())))?;
        Ok(Box::new(FileSession(std::sync::Arc::new(SessionFiles {
            backend: self.describe(),
            stack: stack.clone(),
            dir,
            info,
            journal: Mutex::new(journal),
            lock: Mutex::new(lock_file),
        }))))
    }

    fn current_lock_blocking(&self, project: &ProjectName, stack: &StackName) -> Result<Option<LockInfo>, StateError> {
        let ctx = Ctx { backend: self.describe(), stack };
        let lock_path = self.dir(project, stack).join("lock");
        if !lock_path.exists() {
            return Ok(None);
        }
        let mut f = open_lock_file(&lock_path, &ctx)?;
        match f.try_lock() {
            // Nobody holds it: whatever the file says is history.
            Ok(()) => Ok(None),
            Err(std::fs::TryLockError::WouldBlock) => Ok(read_record(&mut f)),
            Err(std::fs::TryLockError::Error(e)) => Err(ctx.io(format!("probe {}", lock_path.display()))(e)),
        }
    }

    fn history_blocking(&self, project: &ProjectName, stack: &StackName) -> Result<Vec<HistoryEntry>, StateError> {
        let ctx = Ctx { backend: self.describe(), stack };
        let path = self.dir(project, stack).join("history").join("index.jsonl");
        let text = match fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(ctx.io(format!("read {}", path.display()))(e)),
        };
        // A torn last line is a version whose index entry never finished; skip it.
        Ok(text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect())
    }

    fn version_blocking(
        &self,
        project: &ProjectName,
        stack: &StackName,
        serial: u64,
    ) -> Result<Option<StackState>, StateError> {
        let ctx = Ctx { backend: self.describe(), stack };
        let path = self.dir(project, stack).join("history").join(version_file(serial));
        match fs::read(&path) {
            Ok(b) => serde_json::from_slice(&b).map(Some).map_err(|e| ctx.corrupt(&path.display().to_string(), e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(ctx.io(format!("read {}", path.display()))(e)),
        }
    }

    fn unlock_blocking(&self, project: &ProjectName, stack: &StackName, lock_id: &str) -> Result<LockInfo, StateError> {
        let unlock = |message: String| StateError::Unlock { stack: stack.clone(), message };
        match self.current_lock_blocking(project, stack)? {
            None => Err(unlock(format!("is not locked (no lock {lock_id} to remove)"))),
            Some(held) => Err(unlock(format!(
                "the file store's lock is an OS lock held by the live process {} (pid {}), and the kernel releases it \
                 the moment that process exits; stop the process (kill {}) instead of removing its lock",
                held.who, held.pid, held.pid
            ))),
        }
    }
}

fn version_file(serial: u64) -> String {
    format!("{serial:020}.json")
}

fn open_lock_file(path: &Path, ctx: &Ctx<'_>) -> Result<File, StateError> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(ctx.io(format!("open {}", path.display())))
}

fn read_record(f: &mut File) -> Option<LockInfo> {
    let mut text = String::new();
    f.seek(SeekFrom::Start(0)).ok()?;
    f.read_to_string(&mut text).ok()?;
    serde_json::from_str(&text).ok()
}

fn write_record(f: &mut File, info: &LockInfo) -> std::io::Result<()> {
    let record = serde_json::to_vec_pretty(info).expect("lock info serializes");
    f.set_len(0)?;
    f.seek(SeekFrom::Start(0))?;
    f.write_all(&record)?;
    f.sync_data()
}

/// Cuts a torn last line (a crash mid-append) so the next append starts on a fresh line.
fn drop_torn_tail(path: &Path) -> std::io::Result<()> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    if bytes.is_empty() || bytes.ends_with(b"\n") {
        return Ok(());
    }
    let keep = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    let f = OpenOptions::new().write(true).open(path)?;
    f.set_len(keep as u64)?;
    f.sync_all()
}

/// A locked stack's open files; shared with the blocking tasks that write them.
struct FileSession(std::sync::Arc<SessionFiles>);

struct SessionFiles {
    backend: String,
    stack: StackName,
    dir: PathBuf,
    info: LockInfo,
    journal: Mutex<File>,
    // The OS lock lives as long as this handle; it also holds the lock record.
    lock: Mutex<File>,
}

impl SessionFiles {
    fn ctx(&self) -> Ctx<'_> {
        Ctx { backend: self.backend.clone(), stack: &self.stack }
    }
}

impl SessionFiles {
    fn read(&self) -> Result<Replayed, StateError> {
        read_dir_state(&self.dir, &self.ctx())
    }

    fn append(&self, line: &[u8]) -> Result<(), StateError> {
        let mut f = self.journal.lock().expect("journal lock");
        let ctx = self.ctx();
        let before = f.metadata().map_err(ctx.io("read the journal's length"))?.len();
        if let Err(e) = f.write_all(line) {
            // A line cut short (a full disk) would sit before the next one: cut it off.
            let _ = f.set_len(before);
            return Err(ctx.io("append to the journal")(e));
        }
        f.sync_data().map_err(ctx.io("sync the journal"))
    }

    fn compact(&self, serial: u64, bytes: &[u8], changes: &ChangeSummary) -> Result<(), StateError> {
        let ctx = self.ctx();
        let tmp = self.dir.join("state.json.tmp");
        let written = File::create(&tmp).and_then(|mut f| f.write_all(bytes).and_then(|()| f.sync_all()));
        if let Err(e) = written {
            // Nothing half-written is left behind (a full disk); the journal still holds every entry.
            let _ = fs::remove_file(&tmp);
            return Err(ctx.io(format!("write {}", tmp.display()))(e));
        }
        // The history version is a second name for the same file: no bytes written twice.
        let history = self.dir.join("history");
        fs::create_dir_all(&history).map_err(ctx.io(format!("create {}", history.display())))?;
        match fs::hard_link(&tmp, history.join(version_file(serial))) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(ctx.io("keep the history version")(e)),
        }
        fs::rename(&tmp, self.dir.join("state.json")).map_err(ctx.io("replace state.json"))?;
        File::open(&self.dir).and_then(|d| d.sync_all()).map_err(ctx.io("sync the state directory"))?;
        let entry = HistoryEntry {
            serial,
            time: crate::store::now_rfc3339(),
            operation: self.info.operation.clone(),
            who: self.info.who.clone(),
            changes: changes.clone(),
        };
        let mut line = serde_json::to_vec(&entry).expect("history entries serialize");
        line.push(b'\n');
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(history.join("index.jsonl"))
            .and_then(|mut f| f.write_all(&line).and_then(|()| f.sync_data()))
            .map_err(ctx.io("index the history version"))?;
        // The snapshot now holds every entry; entries at or below its serial
        // would be skipped anyway, so a crash here loses nothing.
        let f = self.journal.lock().expect("journal lock");
        f.set_len(0).map_err(ctx.io("truncate the journal"))?;
        f.sync_all().map_err(ctx.io("sync the journal"))
    }

    fn heartbeat(&self) -> Result<(), StateError> {
        // The OS lock cannot expire; the heartbeat only keeps the record's "last seen" honest.
        let mut info = self.info.clone();
        info.heartbeat = crate::store::now_rfc3339();
        let mut f = self.lock.lock().expect("lock file");
        write_record(&mut f, &info).map_err(self.ctx().io("write the lock record"))
    }

    fn release(&self) -> Result<(), StateError> {
        let f = self.lock.lock().expect("lock file");
        f.unlock().map_err(self.ctx().io("release the lock"))
    }

    /// Deletes the snapshot, the journal and the history; the lock file stays until released.
    fn remove_stack(&self) -> Result<(), StateError> {
        let _journal = self.journal.lock().expect("journal");
        for name in ["state.json", "journal.jsonl"] {
            match fs::remove_file(self.dir.join(name)) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(self.ctx().io(format!("remove {name}"))(e)),
            }
        }
        match fs::remove_dir_all(self.dir.join("history")) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(self.ctx().io("remove the history")(e)),
        }
    }
}

#[async_trait::async_trait]
impl StackSession for FileSession {
    fn lock_info(&self) -> &LockInfo {
        &self.0.info
    }

    async fn read(&self) -> Result<Replayed, StateError> {
        let files = self.0.clone();
        blocking(move || files.read()).await
    }

    async fn append(&self, entry: &JournalEntry) -> Result<(), StateError> {
        let mut line = serde_json::to_vec(entry).expect("journal entries serialize");
        line.push(b'\n');
        let files = self.0.clone();
        blocking(move || files.append(&line)).await
    }

    async fn compact(&self, state: &StackState, changes: &ChangeSummary) -> Result<(), StateError> {
        // Compact JSON: pretty-printing would only inflate every byte written (`state export` pretty-prints).
        let bytes = serde_json::to_vec(state).expect("state serializes");
        let (files, serial, changes) = (self.0.clone(), state.serial, changes.clone());
        blocking(move || files.compact(serial, &bytes, &changes)).await
    }

    async fn heartbeat(&self) -> Result<(), StateError> {
        let files = self.0.clone();
        blocking(move || files.heartbeat()).await
    }

    async fn release(&self) -> Result<(), StateError> {
        let files = self.0.clone();
        blocking(move || files.release()).await
    }

    async fn remove_stack(&self) -> Result<(), StateError> {
        let files = self.0.clone();
        blocking(move || files.remove_stack()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn stacks_are_listed_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        crate::conformance::stacks_are_listed_and_removed(&FileStore::new(dir.path())).await;
    }
    use crate::journal::{Intent, OpKind};
    use crate::model::{Mutation, ResourceState};
    use cairn_core::{ResourceKind, Urn, Value};

    fn names() -> (ProjectName, StackName) {
        (ProjectName::new("p").unwrap(), StackName::new("dev").unwrap())
    }

    fn res(name: &str) -> ResourceState {
        ResourceState::custom(Urn::parse(&format!("urn:cairn:dev::p::aws:s3:Bucket::{name}")).unwrap(), name)
    }

    fn intent(r: &ResourceState) -> Intent {
        Intent {
            kind: OpKind::Create,
            urn: r.urn.clone(),
            id: None,
            inputs: Value::map(),
            resource_kind: ResourceKind::Custom,
            parent: None,
            dependencies: vec![],
            protect: false,
            retain_on_delete: false,
            provider: None,
        }
    }

    #[tokio::test]
    async fn journal_replays_commits_and_reports_pending_ops() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::new(dir.path());
        let (p, s) = names();
        let session = store.try_lock(&p, &s, "up", Duration::from_secs(60)).await.unwrap();
        let (a, b) = (res("a"), res("b"));
        session.append(&JournalEntry::Begin { serial: 1, op: 0, intent: intent(&a) }).await.unwrap();
        session.append(&JournalEntry::Begin { serial: 2, op: 1, intent: intent(&b) }).await.unwrap();
        session
            .append(&JournalEntry::Commit { serial: 3, op: Some(0), mutations: vec![Mutation::Put(a.clone())] })
            .await
            .unwrap();
        drop(session);

        let r = store.read(&p, &s).await.unwrap();
        assert_eq!(r.state.resources, vec![a.clone()]);
        assert_eq!(r.state.serial, 3);
        assert_eq!(r.pending.len(), 1);
        assert_eq!(r.pending[0].intent.urn, b.urn);
        assert_eq!(r.next_op, 2);

        let session = store.try_lock(&p, &s, "up", Duration::from_secs(60)).await.unwrap();
        session.compact(&r.state, &ChangeSummary::default()).await.unwrap();
        let again = store.read(&p, &s).await.unwrap();
        assert_eq!(again.state, r.state);
        assert!(again.pending.is_empty(), "compaction is the caller's decision; here the pending op was dropped");
    }

    #[tokio::test]
    async fn a_torn_last_line_is_ignored_and_repaired() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::new(dir.path());
        let (p, s) = names();
        let session = store.try_lock(&p, &s, "up", Duration::from_secs(60)).await.unwrap();
        session
            .append(&JournalEntry::Commit { serial: 1, op: None, mutations: vec![Mutation::Put(res("a"))] })
            .await
            .unwrap();
        drop(session);
        let path = dir.path().join("p/dev/journal.jsonl");
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"{\"entry\":\"commit\",\"ser").unwrap();
        assert_eq!(store.read(&p, &s).await.unwrap().state.resources.len(), 1);
        let session = store.try_lock(&p, &s, "up", Duration::from_secs(60)).await.unwrap();
        session
            .append(&JournalEntry::Commit { serial: 2, op: None, mutations: vec![Mutation::Put(res("b"))] })
            .await
            .unwrap();
        assert_eq!(store.read(&p, &s).await.unwrap().state.resources.len(), 2);
    }

    #[tokio::test]
    async fn a_second_lock_is_refused_naming_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::new(dir.path());
        let (p, s) = names();
        let ttl = Duration::from_secs(60);
        let held = store.try_lock(&p, &s, "up", ttl).await.unwrap();
        let err = store.try_lock(&p, &s, "destroy", ttl).await.err().expect("second lock must fail").to_string();
        assert!(err.contains(&held.lock_info().who) && err.contains("`up`") && err.contains("pid"), "{err}");
        assert_eq!(store.current_lock(&p, &s).await.unwrap().map(|l| l.id), Some(held.lock_info().id.clone()));
        let refusal = store.unlock(&p, &s, &held.lock_info().id).await.unwrap_err().to_string();
        assert!(refusal.contains("kill"), "{refusal}");
        drop(held);
        assert_eq!(store.current_lock(&p, &s).await.unwrap(), None);
        store.try_lock(&p, &s, "destroy", ttl).await.expect("released on drop");
    }

    #[tokio::test]
    async fn lock_timeout_waits_for_the_holder_with_backoff() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::new(dir.path());
        let (p, s) = names();
        let ttl = Duration::from_secs(60);
        let held = store.try_lock(&p, &s, "up", ttl).await.unwrap();
        let waiter = {
            let store = store.clone();
            let (p, s) = (p.clone(), s.clone());
            tokio::spawn(async move {
                let opts = crate::LockOptions { wait: Duration::from_secs(20), ttl };
                crate::lock(&store, &p, &s, "up", &opts).await.map(|l| l.lock_info().clone())
            })
        };
        tokio::time::sleep(Duration::from_millis(600)).await;
        held.release().await.unwrap();
        drop(held);
        let got = waiter.await.unwrap().expect("the waiter gets the lock once it is released");
        assert_eq!(got.operation, "up");
        let fail_fast = crate::lock(&store, &p, &s, "up", &crate::LockOptions::default()).await;
        assert!(fail_fast.is_ok(), "the waiter's session was dropped, so the lock is free");
    }
}
