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

/// The example's three programs, in the order they are brought up: each
/// reads the outputs of the ones before it.
const STACKS: [(&str, &str); 3] = [("ai-base", "base"), ("ai-platform", "platform"), ("ai-runtime", "runtime")];

/// What the demo builds: the example's programs and the AWS plugin, in one
/// build (`cargo xtask test` checks it compiles nothing the tests did not).
pub(crate) fn build_args() -> Vec<String> {
    let packages = STACKS.iter().map(|(package, _)| *package).chain(["cairn-provider-aws", "cairn-provider-gitops"]);
    packages.flat_map(|package| ["-p".to_owned(), package.to_owned()]).collect()
}

/// Runs the demo from a fresh state against a fresh emulator: the `dev`
/// environment's three stacks brought up in order, then each previewed again.
pub(crate) fn run() -> Result {
    let emulator = Emulator::start()?;
    let root = workspace_root();

    let mut build = cargo();
    crate::run(build.arg("build").args(build_args()))?;

    // The emulator starts empty, so the state must too. One store for the
    // three stacks: each reads the others' outputs from it.
    let state_dir = crate::xtask_dir().join("demo-state");
    if state_dir.exists() {
        fs::remove_dir_all(&state_dir).map_err(|e| format!("could not remove {}: {e}", state_dir.display()))?;
    }
    fs::create_dir_all(&state_dir).map_err(|e| format!("could not create {}: {e}", state_dir.display()))?;
    let backend = format!("file://{}", state_dir.display());
    // The GitOps repository the runtime stack commits its manifests to (Argo CD's, in a real
    // platform): a fresh one per demo, outside the source tree.
    let gitops = crate::xtask_dir().join("demo-gitops");
    if gitops.exists() {
        fs::remove_dir_all(&gitops).map_err(|e| format!("could not remove {}: {e}", gitops.display()))?;
    }
    crate::run(Command::new("git").args(["init", "--quiet", "-b", "main"]).arg(&gitops))?;

    let example = |(package, dir): (&str, &str), args: &[&str]| {
        let mut cmd = Command::new(target_dir().join("debug").join(package));
        cmd.current_dir(root.join("examples").join("ai-platform").join(dir)).args(args).args([
            "--stack",
            "dev",
            "--backend",
            backend.as_str(),
        ]);
        // The plugin built just above: finding it through cargo would build it again with the
        // feature set of the plugin alone, recompiling the AWS SDK.
        cmd.env("CAIRN_PLUGIN_AWS", target_dir().join("debug").join("cairn-provider-aws"))
            .env("CAIRN_PLUGIN_GITOPS", target_dir().join("debug").join("cairn-provider-gitops"))
            .env("CAIRN_GITOPS_REPO", &gitops);
        emulator.configure(&mut cmd);
        cmd
    };

    for stack in STACKS {
        crate::run(&mut example(stack, &["preview"]))?;
        crate::run(&mut example(stack, &["up", "--yes"]))?;
    }
    // Right after `up`, each program must describe exactly what exists.
    for stack in STACKS {
        let preview = crate::run_capture(&mut example(stack, &["preview", "--json"]))?;
        check_no_changes(&preview).map_err(|e| format!("{}: {e}", stack.0))?;
        println!("{}: second preview, no changes", stack.0);
    }

    // What Argo CD would apply: the runtime stack's manifests and the commit that wrote them.
    println!("\nThe GitOps repository ({}) after `up`:", gitops.display());
    crate::run(Command::new("git").arg("-C").arg(&gitops).args(["ls-tree", "-r", "--name-only", "HEAD"]))?;
    println!();
    crate::run(Command::new("git").arg("-C").arg(&gitops).args(["log", "-1", "--format=commit %h%n%n%B"]))?;

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
