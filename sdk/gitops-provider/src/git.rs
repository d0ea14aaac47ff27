//! The `git` command, run in the working tree.

use std::path::{Path, PathBuf};

use cairn_core::ProviderError;
use tokio::process::Command;

/// Tries of a command that meets another process's lock (about 20 s in all).
const LOCK_ATTEMPTS: u64 = 45;

/// `git -C <tree>` with the identity to commit as, when git has none configured.
#[derive(Debug, Clone)]
pub(crate) struct Git {
    tree: PathBuf,
    identity: Option<(String, String)>,
}

impl Git {
    /// Git in `tree`.
    pub(crate) fn new(tree: PathBuf) -> Self {
        Self { tree, identity: None }
    }

    /// The working tree.
    pub(crate) fn tree(&self) -> &Path {
        &self.tree
    }

    /// Commits as this identity (used when the repository and user have none).
    pub(crate) fn with_identity(mut self, identity: Option<(String, String)>) -> Self {
        self.identity = identity;
        self
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("git");
        cmd.arg("-C").arg(&self.tree);
        if let Some((name, email)) = &self.identity {
            cmd.arg("-c").arg(format!("user.name={name}")).arg("-c").arg(format!("user.email={email}"));
        }
        cmd.args(args)
            // The repository is the one `-C` names, whatever a calling hook set.
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE")
            .env_remove("GIT_INDEX_FILE")
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("LC_ALL", "C")
            .kill_on_drop(true);
        cmd
    }

    /// Runs `git ARGS`; its standard output, or an error naming the command and what git said.
    /// Another run (another stack's) holding the repository's index lock is waited for.
    pub(crate) async fn run(&self, args: &[&str]) -> Result<String, ProviderError> {
        let mut attempt = 0u64;
        loop {
            let out = self.command(args).output().await.map_err(|e| {
                ProviderError::invalid(format!(
                    "cannot run `git` ({e}): install Git and make sure `git` is on the PATH of the program"
                ))
            })?;
            if out.status.success() {
                return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
            }
            let said = String::from_utf8_lossy(&out.stderr).trim().to_owned();
            attempt += 1;
            if said.contains(".lock") && said.contains("exists") && attempt < LOCK_ATTEMPTS {
                tokio::time::sleep(std::time::Duration::from_millis(50 * attempt.min(10))).await;
                continue;
            }
            return Err(ProviderError::invalid(format!(
                "`git {}` in {} failed: {said}",
                args.join(" "),
                self.tree.display()
            )));
        }
    }

    /// Runs `git ARGS`, `None` when it exits non-zero (a question answered "no").
    pub(crate) async fn ask(&self, args: &[&str]) -> Result<Option<String>, ProviderError> {
        let out = self
            .command(args)
            .output()
            .await
            .map_err(|e| ProviderError::invalid(format!("cannot run `git` ({e}): install Git")))?;
        Ok(out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned()))
    }
}
