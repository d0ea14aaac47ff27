//! Plan files: `preview --out FILE` saves the plan a reviewer approves;
//! `up --plan FILE` applies it only when planning again gives exactly that
//! plan against the same state with the same providers, and otherwise
//! refuses, naming what moved.
//!
//! The file is JSON: who made it and when, the stack, the state lineage and
//! serial it was made against, the providers' versions, and every step with
//! its inputs. Secret inputs are sealed with the stack's secrets mode, so a
//! plan file is no less safe to keep than the state.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use cairn_engine::saved::PlanRecord;
use cairn_engine::selection::Selection;
use cairn_engine::{Command, Confirm, Plan, ProviderSource, Refusal, Summary};
use cairn_secrets::Cipher;
use serde::{Deserialize, Serialize};

/// The URNs a plan was restricted to or told to replace.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SavedSelection {
    /// `--target`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<cairn_core::Urn>,
    /// `--exclude`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub excludes: Vec<cairn_core::Urn>,
    /// `--replace`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replaces: Vec<cairn_core::Urn>,
}

impl SavedSelection {
    fn is_empty(&self) -> bool {
        self.targets.is_empty() && self.excludes.is_empty() && self.replaces.is_empty()
    }

    /// The selection to plan with again.
    pub fn selection(&self) -> Selection {
        Selection { targets: self.targets.clone(), excludes: self.excludes.clone(), replaces: self.replaces.clone() }
    }
}

/// The plan file format this build writes and reads.
pub const FORMAT: u32 = 1;

/// A saved plan.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlanFile {
    /// The file format.
    pub format: u32,
    /// The project.
    pub project: String,
    /// The stack.
    pub stack: String,
    /// The lineage of the state the plan was made against.
    pub lineage: String,
    /// The serial of the state the plan was made against.
    pub serial: u64,
    /// When it was made (RFC 3339, UTC).
    pub created_at: String,
    /// Who made it (`user@host`).
    pub created_by: String,
    /// The Cairn version that made it.
    pub cairn_version: String,
    /// Whether every resource was read first (`preview --refresh --out`).
    #[serde(default)]
    pub refresh: bool,
    /// The version of each provider the plan used, by package.
    pub providers: BTreeMap<String, String>,
    /// The `--target`, `--exclude` and `--replace` it was made with; applying uses them again.
    #[serde(default, skip_serializing_if = "SavedSelection::is_empty")]
    pub targeting: SavedSelection,
    /// Counts per operation, for a reader of the file.
    pub summary: Summary,
    /// The steps (secret inputs sealed) and the drift found.
    #[serde(flatten)]
    pub plan: PlanRecord,
}

impl PlanFile {
    /// The file for `plan` of `project`/`stack`.
    pub fn new(
        plan: &Plan,
        project: &str,
        stack: &str,
        providers: BTreeMap<String, String>,
        selection: &Selection,
    ) -> Self {
        Self {
            format: FORMAT,
            project: project.to_owned(),
            stack: stack.to_owned(),
            lineage: plan.lineage.clone(),
            serial: plan.base_serial,
            created_at: cairn_state::now_rfc3339(),
            created_by: cairn_state::this_user(),
            cairn_version: env!("CARGO_PKG_VERSION").to_owned(),
            refresh: plan.refresh.is_some(),
            providers,
            targeting: SavedSelection {
                targets: selection.targets.clone(),
                excludes: selection.excludes.clone(),
                replaces: selection.replaces.clone(),
            },
            summary: plan.summary(),
            plan: PlanRecord::of(plan),
        }
    }

    /// Writes the file whole (to a temporary file, then renamed): a failed
    /// write leaves no half plan. Secret inputs are sealed with `cipher`; a
    /// plan holding secrets is refused when the stack has none.
    pub async fn write(&self, path: &Path, cipher: Option<&Cipher>) -> anyhow::Result<()> {
        let mut sealed = self.clone();
        for step in &mut sealed.plan.steps {
            let Some(inputs) = step.inputs.as_mut().filter(|i| i.contains_secret()) else { continue };
            let Some(cipher) = cipher else {
                bail!(
                    "the plan gives {} a secret value, which a plan file keeps sealed: set `secrets = \"passphrase\"` \
                     (or `secrets = \"awskms://alias/NAME\"`) in the stack's config, then `preview --out` again",
                    step.urn
                );
            };
            *inputs = cairn_secrets::seal_all(cipher, inputs)
                .await
                .with_context(|| format!("sealing the secret inputs of {}", step.urn))?;
        }
        crate::config_edit::write_whole(path, &serde_json::to_string_pretty(&sealed)?)
    }

    /// Reads a plan file for `project`/`stack`, opening its sealed secrets.
    pub async fn read(path: &Path, project: &str, stack: &str, cipher: Option<&Cipher>) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading the plan {}", path.display()))?;
        let mut file: PlanFile = serde_json::from_str(&text).with_context(|| {
            format!("{} is not a Cairn plan file (write one with `preview --out {}`)", path.display(), path.display())
        })?;
        if file.format != FORMAT {
            bail!(
                "{} is a plan file of format {}, this Cairn reads format {FORMAT}: make the plan again with `preview --out`",
                path.display(),
                file.format
            );
        }
        if file.project != project || file.stack != stack {
            bail!(
                "{} is a plan for stack `{}` of project `{}`, not stack `{stack}` of project `{project}`: pass --stack {}",
                path.display(),
                file.stack,
                file.project,
                file.stack
            );
        }
        for step in &mut file.plan.steps {
            let Some(inputs) = step.inputs.as_mut().filter(|i| cairn_secrets::holds_sealed(i)) else { continue };
            let Some(cipher) = cipher else {
                bail!(
                    "{} holds sealed secrets but stack `{stack}` has no secrets mode to open them with",
                    path.display()
                );
            };
            *inputs = cairn_secrets::open_all(cipher, inputs)
                .await
                .with_context(|| format!("{}: opening the secret inputs of {}", path.display(), step.urn))?;
        }
        Ok(file)
    }

    /// What moved since the plan was made, one line each: the state, the
    /// providers' versions, the steps. Empty when `now` is the same plan.
    pub fn staleness(&self, now: &Plan, versions: &BTreeMap<String, String>) -> Vec<String> {
        let mut out = Vec::new();
        if now.lineage != self.lineage {
            out.push(format!(
                "the state has lineage {}, the plan was made against lineage {} (another stack's history)",
                now.lineage, self.lineage
            ));
        } else if now.base_serial != self.serial {
            out.push(format!(
                "the state moved from serial {} to {} since the plan was made (another run wrote it; `state history` \
                 shows which)",
                self.serial, now.base_serial
            ));
        }
        for (package, saved) in &self.providers {
            if let Some(current) = versions.get(package).filter(|v| *v != saved) {
                out.push(format!("provider `{package}` is version {current}, the plan was made with {saved}"));
            }
        }
        out.extend(self.plan.differences(&PlanRecord::of(now), 20));
        out
    }
}

/// The gate of `up --plan FILE`: the plan made now must be the saved one.
/// A reviewed plan needs no further confirmation.
pub struct SavedPlanGate<'a> {
    /// The saved plan.
    pub file: PlanFile,
    /// Where it was read from.
    pub path: PathBuf,
    /// The providers the run uses (their versions are known once planning started them).
    pub providers: &'a dyn ProviderSource,
}

impl Confirm for SavedPlanGate<'_> {
    fn confirm(&self, _: Command, _: &Plan) -> Result<bool, Refusal> {
        Ok(true)
    }

    fn gate(&self, _: Command, plan: &Plan) -> Result<(), Refusal> {
        let moved = self.file.staleness(plan, &self.providers.versions());
        if moved.is_empty() {
            return Ok(());
        }
        Err(Refusal(format!(
            "the saved plan {} (made by {} at {}) is stale, so nothing was applied:\n  - {}\nmake the plan again with \
             `preview --out {}` and have it reviewed",
            self.path.display(),
            self.file.created_by,
            self.file.created_at,
            moved.join("\n  - "),
            self.path.display()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_core::Value;
    use cairn_engine::Op;
    use cairn_engine::saved::StepRecord;

    fn file() -> PlanFile {
        let inputs: Value =
            [("name", Value::from("db")), ("password", Value::from("hunter2").into_secret())].into_iter().collect();
        PlanFile {
            format: FORMAT,
            project: "p".into(),
            stack: "dev".into(),
            lineage: "l".into(),
            serial: 3,
            created_at: "2026-12-02T00:00:00Z".into(),
            created_by: "me@here".into(),
            cairn_version: "0.1.0".into(),
            refresh: false,
            providers: [("aws".to_owned(), "0.1.0".to_owned())].into_iter().collect(),
            targeting: SavedSelection::default(),
            summary: Summary::default(),
            plan: PlanRecord {
                steps: vec![StepRecord {
                    urn: cairn_core::Urn::parse("urn:cairn:dev::p::aws:secretsmanager:Secret::db").unwrap(),
                    op: Op::Create,
                    inputs: Some(inputs),
                    replaces: vec![],
                    delete_first: false,
                    import_id: None,
                    parent: None,
                    dependencies: vec![],
                    protect: false,
                    provider: None,
                }],
                drift: vec![],
                moves: vec![],
            },
        }
    }

    #[tokio::test]
    async fn secrets_are_sealed_in_the_file_and_opened_on_reading() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plan.json");
        let cipher = Cipher::Passphrase(cairn_secrets::Sealer::new("correct horse"));
        file().write(&path, Some(&cipher)).await.unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("hunter2") && text.contains("$cairn.sealed"), "{text}");
        let back = PlanFile::read(&path, "p", "dev", Some(&cipher)).await.unwrap();
        assert_eq!(back.plan, file().plan, "opened again, the same steps");

        let other = Cipher::Passphrase(cairn_secrets::Sealer::new("wrong"));
        assert!(PlanFile::read(&path, "p", "dev", Some(&other)).await.is_err(), "another passphrase cannot open it");
        let err = PlanFile::read(&path, "p", "prod", Some(&cipher)).await.unwrap_err().to_string();
        assert!(err.contains("is a plan for stack `dev`") && err.contains("--stack dev"), "{err}");
    }

    #[tokio::test]
    async fn a_plan_with_secrets_is_not_written_without_a_secrets_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plan.json");
        let err = file().write(&path, None).await.unwrap_err().to_string();
        assert!(err.contains("Secret::db a secret value") && err.contains("secrets = \"passphrase\""), "{err}");
        assert!(!path.exists(), "nothing half-written");
    }
}
