//! `promote KEY=VALUE`: one `[config]` value (a model version) changed as a reviewed change.
//!
//! The new value is planned first (the program runs with the changed file, in memory), then
//! written as one commit on a new branch of the project's Git repository, made from `HEAD`
//! without touching the working tree or the checked-out branch, and a pull-request body is
//! written: the line changed, each manifest's diff, the plan. Nothing is applied and nothing is
//! merged: a person reviews the branch, and `up` after the merge applies it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, bail};
use cairn_engine::{Op, Plan};

use crate::config::StackConfig;
use crate::config_edit;

/// The type of the manifests whose diffs a pull request shows.
const MANIFEST_TYPE: &str = "gitops:index:Manifest";

/// A value to promote: the stack file as it is and as it will be.
#[derive(Debug, Clone)]
pub(crate) struct Promotion {
    /// The `[config]` key.
    pub key: String,
    /// Its value as written now.
    pub old: String,
    /// Its value as it will be written.
    pub new: String,
    /// The stack file.
    pub path: PathBuf,
    /// The stack file's text now.
    pub old_text: String,
    /// The stack file's text with the new value.
    pub new_text: String,
}

/// Reads `KEY=VALUE` against the stack file: the key must be a plain value the file already has.
pub(crate) fn prepare(config: &StackConfig, assignment: &str) -> anyhow::Result<Promotion> {
    let Some((key, value)) = assignment.split_once('=') else {
        bail!("`{assignment}` is not KEY=VALUE: write the config key and its new value, e.g. model_version=v42");
    };
    let (key, value) = (key.trim(), value.trim());
    let path = config.path.clone();
    let old_text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let Some(old) = config_edit::get_text(&path, &old_text, key)? else {
        bail!(
            "{} has no `{key}` under [config]: promote changes a value the stack already has (add it with \
             `config set {key} VALUE` and commit that first)",
            path.display()
        );
    };
    if old.starts_with('{') {
        bail!(
            "`{key}` in {} is a table or a sealed secret: promote changes one plain value, shown in a diff; change \
             secrets with `config set --secret`",
            path.display()
        );
    }
    let parsed = config_edit::parse_value(value);
    let new = parsed.to_string().trim().to_owned();
    let new_text = config_edit::set_text(&path, &old_text, key, parsed)?;
    if new_text == old_text {
        bail!("`{key}` in {} is already {new}: there is nothing to promote", path.display());
    }
    Ok(Promotion { key: key.to_owned(), old, new, path, old_text, new_text })
}

/// The lines that differ, as `(old, new)`: the value's line (its comments and layout kept).
fn changed_lines(old: &str, new: &str) -> Vec<(String, String)> {
    old.lines().zip(new.lines()).filter(|(a, b)| a != b).map(|(a, b)| (a.to_owned(), b.to_owned())).collect()
}

fn git(dir: &Path, args: &[&str]) -> anyhow::Result<String> {
    git_with(dir, args, &[])
}

/// `git ARGS` in `dir` with the variables `env` set; its output, trimmed, or an error naming the
/// command and what git said.
fn git_with(dir: &Path, args: &[&str], env: &[(&str, &std::ffi::OsStr)]) -> anyhow::Result<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .envs(env.iter().copied())
        .output()
        .context("cannot run `git`: install Git; promote writes a branch of the project's repository")?;
    if !out.status.success() {
        bail!("`git {}` in {} failed: {}", args.join(" "), dir.display(), String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn git_ok(dir: &Path, args: &[&str]) -> bool {
    Command::new("git").arg("-C").arg(dir).args(args).output().is_ok_and(|o| o.status.success())
}

/// The project's repository, checked for a promotion of `file`.
#[derive(Debug, Clone)]
pub(crate) struct ProjectRepo {
    top: PathBuf,
    /// The stack file's path in the repository.
    file: String,
    /// The branch to create.
    branch: String,
}

impl ProjectRepo {
    /// Checks that `path` is a committed, unchanged file of a Git repository and that `branch`
    /// (or the default `promote/<stack>/<key>-<value>`) is a new branch name.
    pub(crate) fn check(promotion: &Promotion, stack: &str, branch: Option<&str>) -> anyhow::Result<Self> {
        let path = &promotion.path;
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let shown = path.display();
        if !git_ok(dir, &["rev-parse", "--is-inside-work-tree"]) {
            bail!(
                "promote writes the change on a branch of the project's Git repository, and {} is not in one: \
                 commit the project to Git first",
                dir.display()
            );
        }
        let top = PathBuf::from(git(dir, &["rev-parse", "--show-toplevel"])?);
        let name = path.file_name().expect("a stack file").to_string_lossy().into_owned();
        let file = git(dir, &["ls-files", "--full-name", "--", &name])?;
        if file.is_empty() {
            bail!("{shown} is not committed: commit it first, so the promotion is a change of one line");
        }
        if !git_ok(&top, &["diff", "--quiet", "HEAD", "--", &file]) {
            bail!(
                "{shown} has changes not committed: commit or stash them first (the branch is made from HEAD, and its \
                 one change must be the promotion)"
            );
        }
        let branch = match branch {
            Some(b) => b.to_owned(),
            None => {
                let value: String = promotion
                    .new
                    .chars()
                    .map(|c| if c.is_ascii_alphanumeric() || "._-".contains(c) { c } else { '-' })
                    .collect();
                format!("promote/{stack}/{}-{}", promotion.key, value.trim_matches('-'))
            }
        };
        if !git_ok(&top, &["check-ref-format", "--branch", &branch]) {
            bail!("`{branch}` is not a branch name Git accepts: pass another with --branch");
        }
        if git_ok(&top, &["rev-parse", "--verify", "--quiet", &format!("refs/heads/{branch}")]) {
            bail!(
                "branch `{branch}` already exists in {}: review or delete it (`git branch -D {branch}`), or pass another \
                 name with --branch",
                top.display()
            );
        }
        Ok(Self { top, file, branch })
    }

    /// The branch.
    pub(crate) fn branch(&self) -> &str {
        &self.branch
    }

    /// Writes `text` as the stack file in one commit on the new branch, made from HEAD through a
    /// temporary index: the working tree, the index and the checked-out branch stay as they are.
    pub(crate) fn commit(&self, text: &str, message: &str) -> anyhow::Result<String> {
        let mut hash = Command::new("git")
            .arg("-C")
            .arg(&self.top)
            .args(["hash-object", "-w", "--stdin"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .context("cannot run `git hash-object`")?;
        hash.stdin.take().expect("piped").write_all(text.as_bytes())?;
        let out = hash.wait_with_output()?;
        if !out.status.success() {
            bail!("`git hash-object` could not store the new stack file in {}", self.top.display());
        }
        let blob = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        // A scratch index in the repository's own Git directory, removed whatever happens.
        let index = PathBuf::from(git(&self.top, &["rev-parse", "--absolute-git-dir"])?)
            .join(format!("cairn-promote-{}.index", std::process::id()));
        let _scratch = RemoveOnDrop(index.clone());
        let with_index = |args: &[&str]| git_with(&self.top, args, &[("GIT_INDEX_FILE", index.as_os_str())]);
        with_index(&["read-tree", "HEAD"])?;
        with_index(&["update-index", "--cacheinfo", &format!("100644,{blob},{}", self.file)])?;
        let tree = with_index(&["write-tree"])?;
        // Git's identity when it has one; Cairn's otherwise, so a fresh CI machine can promote.
        let cairn = std::ffi::OsStr::new("Cairn");
        let email = std::ffi::OsStr::new("cairn@localhost");
        let identity: &[(&str, &std::ffi::OsStr)] = if git_ok(&self.top, &["config", "user.email"]) {
            &[]
        } else {
            &[
                ("GIT_AUTHOR_NAME", cairn),
                ("GIT_AUTHOR_EMAIL", email),
                ("GIT_COMMITTER_NAME", cairn),
                ("GIT_COMMITTER_EMAIL", email),
            ]
        };
        let id = git_with(&self.top, &["commit-tree", &tree, "-p", "HEAD", "-m", message], identity)?;
        git(&self.top, &["branch", &self.branch, &id])?;
        Ok(id)
    }
}

/// Removes a file when dropped.
struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// One manifest the promotion changes.
struct ManifestChange {
    file: String,
    op: Op,
    diff: Option<String>,
}

fn manifest_changes(plan: &Plan) -> Vec<ManifestChange> {
    plan.steps
        .iter()
        .filter(|s| s.ty.as_str() == MANIFEST_TYPE && s.op() != Op::Same)
        .map(|s| {
            let recorded = s.recorded().and_then(|r| r.outputs.get("path")).and_then(|p| p.as_str());
            let declared = s.desired().and_then(|d| d.inputs.get("file")).and_then(|p| p.as_str());
            let file = recorded.or(declared).unwrap_or(s.urn.name()).to_owned();
            let diff = s.diffs.iter().find_map(|d| d.detail.clone());
            ManifestChange { file, op: s.op(), diff }
        })
        .collect()
}

/// The pull request's body, in markdown.
pub(crate) fn pull_request_body(
    p: &Promotion,
    repo: &ProjectRepo,
    commit: &str,
    stack: &str,
    plan_markdown: &str,
    plan: &Plan,
) -> String {
    let mut out = format!(
        "## Promote `{}` on stack `{stack}`: `{}` → `{}`\n\nOne line of `{}` changes (branch `{}`, commit `{}`). \
         Nothing has been applied: after the merge, `up --stack {stack}` applies it, and its commit to the GitOps \
         repository hands the manifests below to Argo CD.\n\n```diff\n",
        p.key,
        p.old,
        p.new,
        repo.file,
        repo.branch,
        &commit[..commit.len().min(12)],
    );
    for (old, new) in changed_lines(&p.old_text, &p.new_text) {
        out.push_str(&format!("-{old}\n+{new}\n"));
    }
    out.push_str("```\n\n");
    let manifests = manifest_changes(plan);
    out.push_str(&format!("### Manifest changes ({})\n\n", manifests.len()));
    if manifests.is_empty() {
        out.push_str("None: no Kubernetes object depends on this value.\n\n");
    }
    for m in &manifests {
        out.push_str(&format!("- `{}`: {}\n", m.file, m.op.word()));
    }
    for m in manifests.iter().filter(|m| m.diff.is_some()) {
        out.push_str(&format!("\n`{}`:\n\n```diff\n{}```\n", m.file, m.diff.as_deref().unwrap_or_default()));
    }
    out.push_str("\n### Plan\n\n");
    out.push_str(plan_markdown);
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_changed_line_is_shown() {
        let old = "# c\n[config]\n# the model\nv = \"1\" # pinned\nn = 2\n";
        let new = "# c\n[config]\n# the model\nv = \"2\" # pinned\nn = 2\n";
        assert_eq!(changed_lines(old, new), [("v = \"1\" # pinned".to_owned(), "v = \"2\" # pinned".to_owned())]);
    }
}
