//! The `[provider.gitops]` table of a stack's config.

use std::path::{Path, PathBuf};

use cairn_core::{ProviderError, Value};
use serde::Deserialize;

/// The branch files are committed to unless set.
pub(crate) const DEFAULT_BRANCH: &str = "main";

/// The settings as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    repo: Option<String>,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    branch: Option<String>,
    #[serde(default)]
    push: Option<String>,
    #[serde(default)]
    author: Option<String>,
}

/// The checked settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The working tree, as written (relative to the stack file's directory, where the plugin runs).
    pub repo: PathBuf,
    /// The stack's directory in the repository, `{stack}` standing for the stack's name.
    pub path: String,
    /// The branch that must be checked out, and is committed to.
    pub branch: String,
    /// The remote pushed to after each commit; nothing is pushed when absent.
    pub push: Option<String>,
    /// `Name <email>` for commits when git has no identity configured.
    pub author: Option<(String, String)>,
}

const KEYS: &str = "repo (the working tree, required), path (default \"clusters/{stack}\"), branch (default \
                    \"main\"), push (a remote to push to after each commit) and author (\"Name <email>\")";

impl Settings {
    /// Reads the table, refusing unknown keys and paths that leave the repository. `repo_override`
    /// (the `CAIRN_GITOPS_REPO` variable) replaces `repo`: CI and tests point a stack at a
    /// repository of their own without editing its file.
    pub fn parse(config: &Value, repo_override: Option<String>) -> Result<Self, ProviderError> {
        let raw: Raw = match config {
            Value::Null => Raw { repo: None, path: None, branch: None, push: None, author: None },
            other => other
                .deserialize_into()
                .map_err(|e| ProviderError::invalid(format!("{e}; [provider.gitops] takes {KEYS} (docs/gitops.md)")))?,
        };
        let repo = repo_override.or(raw.repo).filter(|r| !r.is_empty()).ok_or_else(|| {
            ProviderError::invalid(format!(
                "`repo` is missing: set the Git working tree the manifests are written to, such as \
                 repo = \"../platform-gitops\" (relative to the stack file); [provider.gitops] takes {KEYS}"
            ))
        })?;
        let path = raw.path.unwrap_or_else(|| cairn_gitops::DEFAULT_PATH.to_owned());
        if !cairn_gitops::inside_repo(&path) {
            return Err(ProviderError::invalid(format!(
                "`path = \"{path}\"` must be a directory inside the repository, such as \"clusters/{{stack}}\" \
                 (relative, no `..`)"
            )));
        }
        let branch = raw.branch.unwrap_or_else(|| DEFAULT_BRANCH.to_owned());
        if branch.is_empty() || branch.starts_with('-') || branch.contains(char::is_whitespace) {
            return Err(ProviderError::invalid(format!("`branch = \"{branch}\"` is not a branch name")));
        }
        let author = match raw.author {
            None => None,
            Some(a) => Some(parse_author(&a).ok_or_else(|| {
                ProviderError::invalid(format!("`author = \"{a}\"` must look like \"Platform Bot <bot@example.com>\""))
            })?),
        };
        Ok(Self { repo: PathBuf::from(repo), path, branch, push: raw.push.filter(|p| !p.is_empty()), author })
    }

    /// The stack's directory in the repository.
    pub fn stack_dir(&self, stack: &str) -> String {
        cairn_gitops::stack_dir(&self.path, stack)
    }
}

fn parse_author(a: &str) -> Option<(String, String)> {
    let (name, rest) = a.split_once('<')?;
    let email = rest.strip_suffix('>')?;
    let name = name.trim();
    (!name.is_empty() && email.contains('@')).then(|| (name.to_owned(), email.to_owned()))
}

/// `path` made absolute against the plugin's directory (the stack file's).
pub(crate) fn absolute(path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_owned()
    } else {
        std::env::current_dir().map(|d| d.join(path)).unwrap_or_else(|_| path.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(j: serde_json::Value) -> Result<Settings, String> {
        Settings::parse(&Value::from_json(&j), None).map_err(|e| e.message)
    }

    #[test]
    fn defaults_and_refusals() {
        let s = parse(serde_json::json!({"repo": "../gitops"})).unwrap();
        assert_eq!((s.stack_dir("dev").as_str(), s.branch.as_str(), s.push.as_deref()), ("clusters/dev", "main", None));
        assert!(parse(serde_json::json!({})).unwrap_err().contains("`repo` is missing"));
        let s =
            Settings::parse(&Value::from_json(&serde_json::json!({"repo": "x"})), Some("/ci/gitops".into())).unwrap();
        assert_eq!(s.repo, PathBuf::from("/ci/gitops"));
        assert!(parse(serde_json::json!({"repo": "x", "brnach": "main"})).unwrap_err().contains("unknown field"));
        assert!(
            parse(serde_json::json!({"repo": "x", "path": "../up"})).unwrap_err().contains("inside the repository")
        );
        let s = parse(serde_json::json!({"repo": "x", "author": "Bot <bot@example.com>"})).unwrap();
        assert_eq!(s.author, Some(("Bot".into(), "bot@example.com".into())));
        assert!(parse(serde_json::json!({"repo": "x", "author": "bot"})).is_err());
    }
}
