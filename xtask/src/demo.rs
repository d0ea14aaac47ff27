//! `cargo xtask demo`: deploys the ai-platform example to a local AWS
//! emulator, checks that deploying is idempotent, and lists the result.
//!
//! It is the first thing a newcomer runs: no AWS account, no credentials,
//! and it exercises the whole path (program, engine, plugin, state).

use std::fs;
use std::process::Command;

use serde_json::Value;

use crate::moto::{self, Emulator};
use crate::{Result, cargo, target_dir, workspace_root};

/// Runs the demo from a fresh state against a fresh emulator.
pub(crate) fn run() -> Result {
    let emulator = Emulator::start()?;
    let root = workspace_root();

    crate::run(cargo().args(["build", "-p", "ai-platform", "-p", "cairn-provider-aws"]))?;

    // The emulator starts empty, so the state must too.
    let state_dir = crate::xtask_dir().join("demo-state");
    if state_dir.exists() {
        fs::remove_dir_all(&state_dir).map_err(|e| format!("could not remove {}: {e}", state_dir.display()))?;
    }
    fs::create_dir_all(&state_dir).map_err(|e| format!("could not create {}: {e}", state_dir.display()))?;
    let backend = format!("file://{}", state_dir.display());

    let program = target_dir().join("debug").join("ai-platform");
    let example_dir = root.join("examples").join("ai-platform");
    let example = |args: &[&str]| {
        let mut cmd = Command::new(&program);
        cmd.current_dir(&example_dir).args(args).args(["--backend", backend.as_str()]);
        emulator.configure(&mut cmd);
        cmd
    };

    crate::run(&mut example(&["preview", "--stack", "dev"]))?;
    crate::run(&mut example(&["up", "--stack", "dev", "--yes"]))?;
    // Right after `up`, the program must describe exactly what exists.
    let preview = crate::run_capture(&mut example(&["preview", "--stack", "dev", "--json"]))?;
    check_no_changes(&preview)?;
    println!("second preview: no changes");

    let mut list = Command::new(moto::venv_python());
    list.arg(root.join("xtask").join("list_emulator.py")).arg(emulator.endpoint());
    crate::run(&mut list)?;

    drop(emulator);
    Ok(())
}

/// Checks the JSON of `preview --json`: every item of `steps` must have
/// `"op": "same"`.
fn check_no_changes(stdout: &[u8]) -> Result {
    let preview: Value = serde_json::from_slice(stdout).map_err(|e| {
        let text = String::from_utf8_lossy(stdout);
        let start: String = text.chars().take(500).collect();
        format!("`preview --json` did not print JSON ({e}); it printed:\n{start}")
    })?;
    let steps = preview.get("steps").and_then(Value::as_array).ok_or("`preview --json` printed no `steps` array")?;
    let changes: Vec<String> =
        steps.iter().filter(|step| step.get("op").and_then(Value::as_str) != Some("same")).map(describe_step).collect();
    if changes.is_empty() { Ok(()) } else { Err(format!("second preview is not a no-op: {}", changes.join("; "))) }
}

/// A one-line description of a preview step: its op and what it is about.
fn describe_step(step: &Value) -> String {
    let op = step.get("op").and_then(Value::as_str).unwrap_or("(no op)");
    let subject = ["urn", "name", "id", "resource"].iter().find_map(|key| step.get(*key).and_then(Value::as_str));
    match subject {
        Some(subject) => format!("{op} {subject}"),
        None => format!("{op} {step}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_same_is_no_change() {
        let json = br#"{"steps": [{"op": "same", "urn": "a"}, {"op": "same", "urn": "b"}]}"#;
        check_no_changes(json).unwrap();
        check_no_changes(br#"{"steps": []}"#).unwrap();
    }

    #[test]
    fn changes_are_listed() {
        let json = br#"{"steps": [
            {"op": "same", "urn": "a"},
            {"op": "update", "urn": "b"},
            {"op": "create", "name": "c"},
            {"kind": "odd"}
        ]}"#;
        let error = check_no_changes(json).unwrap_err();
        assert!(error.starts_with("second preview is not a no-op: "), "{error}");
        assert!(error.contains("update b"), "{error}");
        assert!(error.contains("create c"), "{error}");
        assert!(error.contains("(no op)"), "{error}");
        assert!(!error.contains("same a"), "{error}");
    }

    #[test]
    fn malformed_output_is_an_error() {
        assert!(check_no_changes(b"not json").is_err());
        assert!(check_no_changes(br#"{"changes": []}"#).is_err());
    }
}
