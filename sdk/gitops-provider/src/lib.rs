//! Cairn's `gitops` provider: each `gitops:index:Manifest` is one file of canonical YAML under
//! the stack's directory of a Git working tree, which Argo CD reconciles into the cluster.
//!
//! - **Create/Update** write the file (atomically: a temporary file renamed); **Delete** removes
//!   it and the directories it leaves empty. Nothing is committed yet.
//! - **Finish** (once per run that recorded changes, under the stack's lock) commits every
//!   changed file of Cairn's under the stack's directory in one commit, its message listing
//!   them and the stack's serial, then pushes when `push` is set. A run that changes nothing
//!   makes no commit; files a crashed run left are committed by the next run that changes
//!   something. Files without Cairn's header line are never touched.
//! - **Diff** (asked on every preview: the type compares the live file) reads the file: one
//!   edited or removed by hand since Cairn wrote it is a change, and every change to a manifest
//!   carries a line diff of the file.
//! - **Read** parses the file back, so `refresh`/`drift` show a hand edit property by property.
//! - **Check** reads the object through its kind's type (cairn-k8s) and checks a custom
//!   resource against its published schema (cairn-k8s-schemas), naming the field.

mod git;
mod settings;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use async_trait::async_trait;
use cairn_core::{
    CheckFailure, CheckRequest, CheckResponse, CreateRequest, CreateResponse, DeleteRequest, DiffKind, DiffRequest,
    DiffResponse, FinishRequest, FinishResponse, PropertyDiff, PropertyPath, Provider, ProviderError, ReadRequest,
    ReadResponse, UpdateRequest, UpdateResponse, Urn, Value,
};
use cairn_gitops::{HEADER, ManifestArgs, ManifestOutputs};
use sha1::{Digest, Sha1};

pub use settings::Settings;

use crate::git::Git;

/// The variable that replaces `[provider.gitops] repo` (CI, tests, the demo).
pub const REPO_VARIABLE: &str = "CAIRN_GITOPS_REPO";

/// The `gitops` provider.
#[derive(Debug, Default)]
pub struct GitOpsProvider {
    configured: OnceLock<Configured>,
}

#[derive(Debug)]
struct Configured {
    settings: Settings,
    git: Git,
}

/// The file's text: Cairn's header, then the object's canonical YAML.
pub fn render(object: &serde_json::Value) -> String {
    format!("{HEADER}\n{}", cairn_k8s::canonical_yaml(object))
}

/// Git's blob ID of `bytes` (what `git hash-object` prints).
pub fn blob_id(bytes: &[u8]) -> String {
    let mut h = Sha1::new();
    h.update(format!("blob {}\0", bytes.len()).as_bytes());
    h.update(bytes);
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// A unified line diff from `old` to `new` (three lines of context), or `None` when equal.
pub fn line_diff(old: &str, new: &str, old_name: &str, new_name: &str) -> Option<String> {
    if old == new {
        return None;
    }
    let diff = similar::TextDiff::from_lines(old, new);
    let mut text = diff.unified_diff().context_radius(3).header(old_name, new_name).to_string();
    if !text.ends_with('\n') {
        text.push('\n');
    }
    Some(text)
}

/// An object path from a JSON pointer (`/spec/groups/0/name` → `spec.groups[0].name`).
fn property_of_pointer(pointer: &str) -> String {
    let mut out = String::from("object");
    for part in pointer.split('/').filter(|p| !p.is_empty()) {
        let part = part.replace("~1", "/").replace("~0", "~");
        if part.chars().all(|c| c.is_ascii_digit()) {
            out.push_str(&format!("[{part}]"));
        } else {
            out.push('.');
            out.push_str(&part);
        }
    }
    out
}

fn known_object(inputs: &Value) -> Option<serde_json::Value> {
    inputs.get("object").filter(|o| !o.contains_unknown()).map(|o| o.strip_secrets().to_json())
}

impl GitOpsProvider {
    fn configured(&self) -> Result<&Configured, ProviderError> {
        self.configured.get().ok_or_else(|| ProviderError::internal("the gitops provider was used before Configure"))
    }

    /// The manifest's path in the repository and on disk.
    fn locate(&self, urn: &Urn, file: &str) -> Result<(String, PathBuf), ProviderError> {
        let c = self.configured()?;
        let rel = format!("{}/{file}", c.settings.stack_dir(urn.stack()));
        let abs = c.git.tree().join(&rel);
        Ok((rel, abs))
    }

    fn on_disk(&self, rel: &str) -> Result<PathBuf, ProviderError> {
        Ok(self.configured()?.git.tree().join(rel))
    }

    async fn write(&self, urn: &Urn, inputs: &Value) -> Result<(String, Value), ProviderError> {
        let args: ManifestArgs = cairn_provider_sdk::args(inputs)?;
        let object = cairn_provider_sdk::known(&args.object, "object")?;
        let (rel, abs) = self.locate(urn, &args.file)?;
        let text = render(object);
        write_atomically(&abs, &text)
            .map_err(|e| ProviderError::invalid(format!("{urn}: cannot write {}: {e}", abs.display())))?;
        let outputs =
            cairn_provider_sdk::to_value(&ManifestOutputs { path: rel.clone(), blob: blob_id(text.as_bytes()) })?;
        Ok((rel, outputs))
    }
}

fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let dir = path.parent().expect("a manifest's path has a directory");
    std::fs::create_dir_all(dir)?;
    let name = path.file_name().expect("a manifest's path names a file").to_string_lossy();
    let tmp = dir.join(format!(".{name}.cairn-tmp"));
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

fn read_text(path: &Path) -> Result<Option<String>, ProviderError> {
    match std::fs::read_to_string(path) {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(ProviderError::invalid(format!("cannot read {}: {e}", path.display()))),
    }
}

/// Removes `dir` and its parents while empty, up to (not including) `root`.
fn prune_empty(mut dir: &Path, root: &Path) {
    while dir.starts_with(root) && dir != root {
        if std::fs::remove_dir(dir).is_err() {
            break;
        }
        match dir.parent() {
            Some(p) => dir = p,
            None => break,
        }
    }
}

#[async_trait]
impl Provider for GitOpsProvider {
    fn version(&self) -> String {
        env!("CARGO_PKG_VERSION").to_owned()
    }

    async fn configure(&self, config: Value) -> Result<(), ProviderError> {
        let settings = Settings::parse(&config, std::env::var(REPO_VARIABLE).ok())?;
        let repo = settings::absolute(&settings.repo);
        let shown = settings.repo.display().to_string();
        if !repo.is_dir() {
            return Err(ProviderError::invalid(format!(
                "`repo = \"{shown}\"`: {} does not exist; clone the GitOps repository there, or create it with \
                 `git init -b {} {}`",
                repo.display(),
                settings.branch,
                repo.display()
            )));
        }
        let probe = Git::new(repo.clone());
        let top = probe.ask(&["rev-parse", "--show-toplevel"]).await?.ok_or_else(|| {
            ProviderError::invalid(format!(
                "`repo = \"{shown}\"`: {} is not a Git working tree; clone the GitOps repository there, or run \
                 `git init -b {} {}`",
                repo.display(),
                settings.branch,
                repo.display()
            ))
        })?;
        let git = Git::new(PathBuf::from(top));
        match git.ask(&["symbolic-ref", "--quiet", "--short", "HEAD"]).await? {
            Some(b) if b == settings.branch => {}
            Some(b) => {
                return Err(ProviderError::invalid(format!(
                    "the working tree {} is on branch `{b}`, and [provider.gitops] says branch = \"{}\": check \
                     out {1} there (`git -C {0} switch {1}`), or change the setting",
                    git.tree().display(),
                    settings.branch
                )));
            }
            None => {
                return Err(ProviderError::invalid(format!(
                    "the working tree {} has no branch checked out (a detached HEAD): check out {} there",
                    git.tree().display(),
                    settings.branch
                )));
            }
        }
        // An explicit author wins; otherwise git's own identity, and Cairn's when there is none.
        let has_identity = git.ask(&["config", "user.email"]).await?.is_some_and(|e| !e.is_empty());
        let identity = match (&settings.author, has_identity) {
            (Some(a), _) => Some(a.clone()),
            (None, true) => None,
            (None, false) => Some(("Cairn".to_owned(), "cairn@localhost".to_owned())),
        };
        let git = git.with_identity(identity);
        self.configured
            .set(Configured { settings, git })
            .map_err(|_| ProviderError::internal("the gitops provider was configured twice"))
    }

    async fn check(&self, req: CheckRequest) -> Result<CheckResponse, ProviderError> {
        let mut checked = cairn_provider_sdk::check::<ManifestArgs>(req);
        if checked.failures.is_empty()
            && let Some(object) = known_object(&checked.inputs)
            && let Err(errors) = cairn_k8s_schemas::check(&object)
        {
            let source = cairn_k8s_schemas::schema_for(
                object["apiVersion"].as_str().unwrap_or_default(),
                object["kind"].as_str().unwrap_or_default(),
            )
            .map_or("", |s| s.source);
            checked.failures.extend(errors.into_iter().map(|e| CheckFailure {
                property: PropertyPath::parse(&property_of_pointer(&e.path)),
                reason: format!("{} (the CRD schema of {source})", e.reason),
            }));
        }
        Ok(checked)
    }

    async fn diff(&self, req: DiffRequest) -> Result<DiffResponse, ProviderError> {
        let mut diff = cairn_provider_sdk::diff::<ManifestArgs>(&req.olds, &req.news);
        let rel = req.old_outputs.get("path").and_then(Value::as_str).unwrap_or(&req.id).to_owned();
        let live = read_text(&self.on_disk(&rel)?)?;
        let recorded = req.old_outputs.get("blob").and_then(Value::as_str);
        let edited = live.as_deref().map(|t| blob_id(t.as_bytes())).as_deref() != recorded;
        let object = PropertyPath::parse("object");
        let touches_object = |d: &PropertyDiff| d.path.top() == Some("object");
        if !edited && !diff.changes.iter().any(touches_object) {
            return Ok(diff);
        }
        // One change for the object, shown as the file's line diff (what the commit will hold).
        if let Some(new) = known_object(&req.news) {
            let old_text = live.unwrap_or_default();
            let old_name =
                if edited { format!("{rel} (in the working tree, changed outside Cairn)") } else { rel.clone() };
            let detail = line_diff(&old_text, &render(&new), &old_name, &format!("{rel} (after up)"));
            diff.changes.retain(|d| !touches_object(d));
            diff.changes.push(PropertyDiff { path: object, kind: DiffKind::Update, detail });
        } else if !diff.changes.iter().any(touches_object) {
            diff.changes.push(PropertyDiff { path: object, kind: DiffKind::Update, detail: None });
        }
        Ok(diff)
    }

    async fn create(&self, req: CreateRequest) -> Result<CreateResponse, ProviderError> {
        let (id, outputs) = self.write(&req.urn, &req.inputs).await?;
        Ok(CreateResponse { id, outputs })
    }

    async fn read(&self, req: ReadRequest) -> Result<Option<ReadResponse>, ProviderError> {
        let recorded: Option<ManifestArgs> = cairn_provider_sdk::recorded(&req.inputs);
        let rel = match (&req.id, &recorded) {
            (Some(id), _) => id.clone(),
            (None, Some(args)) => self.locate(&req.urn, &args.file)?.0,
            (None, None) => return Ok(None),
        };
        let Some(text) = read_text(&self.on_disk(&rel)?)? else { return Ok(None) };
        let outputs =
            cairn_provider_sdk::to_value(&ManifestOutputs { path: rel.clone(), blob: blob_id(text.as_bytes()) })?;
        let file = match &recorded {
            Some(args) => args.file.clone(),
            None => {
                let prefix = format!("{}/", self.configured()?.settings.stack_dir(req.urn.stack()));
                rel.strip_prefix(&prefix).unwrap_or(&rel).to_owned()
            }
        };
        // The file as the object it now says; a file that is no longer YAML reads as its text, so
        // the difference still shows.
        let object: serde_json::Value = serde_saphyr::from_str(&text).unwrap_or(serde_json::Value::String(text));
        let live = ManifestArgs { object: object.into(), file };
        let inputs = cairn_provider_sdk::live_inputs(&live, &req.inputs)?;
        Ok(Some(ReadResponse { id: rel, inputs, outputs }))
    }

    async fn update(&self, req: UpdateRequest) -> Result<UpdateResponse, ProviderError> {
        let (_, outputs) = self.write(&req.urn, &req.news).await?;
        Ok(UpdateResponse { outputs })
    }

    async fn delete(&self, req: DeleteRequest) -> Result<(), ProviderError> {
        let c = self.configured()?;
        let abs = self.on_disk(&req.id)?;
        match std::fs::remove_file(&abs) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(ProviderError::invalid(format!("{}: cannot remove {}: {e}", req.urn, abs.display()))),
        }
        if let Some(dir) = abs.parent() {
            prune_empty(dir, c.git.tree());
        }
        Ok(())
    }

    async fn finish(&self, req: FinishRequest) -> Result<FinishResponse, ProviderError> {
        let Some(c) = self.configured.get() else { return Ok(FinishResponse::default()) };
        let dir = c.settings.stack_dir(&req.stack);
        let changes = changed_files(&c.git, &dir).await?;
        if changes.is_empty() {
            return Ok(FinishResponse::default());
        }
        let paths: Vec<&str> = changes.iter().map(|(_, p)| p.as_str()).collect();
        let mut add = vec!["add", "--all", "--"];
        add.extend(&paths);
        c.git.run(&add).await?;
        let message = commit_message(&req, &changes);
        let mut commit = vec!["commit", "--quiet", "--no-verify", "-m", &message, "--"];
        commit.extend(&paths);
        c.git.run(&commit).await?;
        let head = c.git.run(&["rev-parse", "--short", "HEAD"]).await?;
        let mut note = format!(
            "gitops: committed {} on {} in {} ({})",
            head.trim(),
            c.settings.branch,
            c.settings.repo.display(),
            counts(&changes)
        );
        if let Some(remote) = &c.settings.push {
            push(&c.git, remote, &c.settings.branch).await?;
            note.push_str(&format!(", pushed to {remote}"));
        }
        Ok(FinishResponse { notes: vec![note] })
    }
}

/// Pushes the branch. When the remote moved on (another stack's run pushed first), the commit is
/// replayed on top of it and pushed again: each run commits only its own stack's directory, so
/// the replay does not conflict.
async fn push(git: &Git, remote: &str, branch: &str) -> Result<(), ProviderError> {
    let target = format!("HEAD:refs/heads/{branch}");
    let mut tries = 0;
    loop {
        match git.run(&["push", "--quiet", remote, &target]).await {
            Ok(_) => return Ok(()),
            Err(e) if tries < 3 && (e.message.contains("fetch first") || e.message.contains("non-fast-forward")) => {
                tries += 1;
                git.run(&["pull", "--quiet", "--rebase", "--autostash", remote, branch]).await?;
            }
            Err(e) => return Err(e),
        }
    }
}

/// What happened to a file, as the commit message says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum FileChange {
    Created,
    Updated,
    Deleted,
}

impl FileChange {
    fn word(self) -> &'static str {
        match self {
            FileChange::Created => "created",
            FileChange::Updated => "updated",
            FileChange::Deleted => "deleted",
        }
    }
}

/// Cairn's files under `dir` that differ from the last commit: written by Cairn (its header
/// line), in the working tree or, for a removed file, in the commit.
async fn changed_files(git: &Git, dir: &str) -> Result<Vec<(FileChange, String)>, ProviderError> {
    let status =
        git.run(&["status", "--porcelain=v1", "-z", "--no-renames", "--untracked-files=all", "--", dir]).await?;
    let mut out = Vec::new();
    for entry in status.split('\0').filter(|e| e.len() > 3) {
        let (code, path) = entry.split_at(3);
        let path = path.to_owned();
        let on_disk = std::fs::read_to_string(git.tree().join(&path)).ok();
        let change = match (code.trim(), on_disk) {
            (_, Some(text)) => {
                if !text.starts_with(HEADER) {
                    continue;
                }
                if code.contains('?') || code.starts_with('A') { FileChange::Created } else { FileChange::Updated }
            }
            (_, None) => {
                let committed = git.ask(&["show", &format!("HEAD:{path}")]).await?;
                if !committed.is_some_and(|t| t.starts_with(HEADER)) {
                    continue;
                }
                FileChange::Deleted
            }
        };
        out.push((change, path));
    }
    out.sort();
    Ok(out)
}

fn counts(changes: &[(FileChange, String)]) -> String {
    let n = |k: FileChange| changes.iter().filter(|(c, _)| *c == k).count();
    let parts: Vec<String> = [FileChange::Created, FileChange::Updated, FileChange::Deleted]
        .into_iter()
        .filter(|k| n(*k) > 0)
        .map(|k| format!("{} {}", n(k), k.word()))
        .collect();
    parts.join(", ")
}

/// `cairn up: PROJECT/STACK, serial N`, then one line per file.
fn commit_message(req: &FinishRequest, changes: &[(FileChange, String)]) -> String {
    let mut m = format!("cairn {}: {}/{}, serial {}\n\n", req.command, req.project, req.stack, req.serial);
    for (change, path) in changes {
        m.push_str(&format!("{:<8} {path}\n", change.word()));
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_ids_are_gits() {
        // `printf 'hello\n' | git hash-object --stdin`
        assert_eq!(blob_id(b"hello\n"), "ce013625030ba8dba906f756967f9e9ca394464a");
    }

    #[test]
    fn pointers_become_property_paths() {
        assert_eq!(property_of_pointer("/spec/groups/0/rules/1"), "object.spec.groups[0].rules[1]");
        assert_eq!(property_of_pointer(""), "object");
    }

    #[test]
    fn line_diffs_show_only_changed_lines_with_context() {
        let old = "a: 1\nb: 2\nc: 3\n";
        let new = "a: 1\nb: 5\nc: 3\n";
        let d = line_diff(old, new, "x.yaml", "x.yaml (after up)").unwrap();
        assert!(d.contains("-b: 2\n+b: 5\n"), "{d}");
        assert!(line_diff(old, old, "x", "y").is_none());
    }

    #[test]
    fn the_type_is_the_gitops_manifest() {
        use cairn_provider_sdk::TypedArgs;
        assert_eq!(ManifestArgs::SCHEMA.token, "gitops:index:Manifest");
    }
}
