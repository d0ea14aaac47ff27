//! A secret stack output with `secrets = "passphrase"`: no stored byte, log
//! line or `--json` document holds it; a wrong passphrase is refused.

use cairn_tests::{Project, platform_config, postgres_url, unique};

const WEBHOOK: &str = "https://hooks.example.invalid/T0KEN-s3cr3t-9f8e7d";

fn contains(hay: &[u8]) -> bool {
    hay.windows(WEBHOOK.len()).any(|w| w == WEBHOOK.as_bytes())
}

fn bytes_under(dir: &std::path::Path) -> Vec<u8> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries {
            let p = e.unwrap().path();
            if p.is_dir() { out.extend(bytes_under(&p)) } else { out.extend(std::fs::read(&p).unwrap()) }
        }
    }
    out
}

fn run_checked(p: &Project, stack: &str, pass: &str, args: &[&str]) -> cairn_tests::Run {
    let mut a: Vec<&str> = args.to_vec();
    a.extend(["--stack", stack]);
    let run: cairn_tests::Run = p.command(&a).env("CAIRN_PASSPHRASE", pass).output().unwrap().into();
    assert!(!contains(run.stdout.as_bytes()) && !contains(run.stderr.as_bytes()), "printed in plain text: {run:?}");
    run
}

fn scenario(backend: Option<String>) {
    let stack = unique("sec");
    let p = Project::new("ai-platform");
    let line = backend.clone().map(|b| format!("backend = \"{b}\"\n")).unwrap_or_default();
    let extra = format!("alerts_webhook = \"{WEBHOOK}\"\n");
    p.write_config(&stack, &format!("{line}secrets = \"passphrase\"\n{}", platform_config(&unique("sec"), &extra)));

    let up = run_checked(&p, &stack, "correct horse", &["up", "--yes", "--json"]).ok();
    assert_eq!(up.json()["outputs"]["alerts_webhook"], "[secret]");
    let again = run_checked(&p, &stack, "correct horse", &["preview", "--json"]).ok();
    assert!(again.ops().iter().all(|(_, op)| op == "same"), "{:?}", again.ops());
    if backend.is_none() {
        let stored = bytes_under(&p.dir.path().join(".cairn"));
        assert!(!stored.is_empty() && !contains(&stored), "state, journal or history holds the secret");
    }

    let wrong = run_checked(&p, &stack, "wrong horse", &["up", "--yes"]);
    assert_eq!(wrong.code, 1);
    assert!(wrong.stderr.contains("passphrase") && wrong.stderr.contains(&format!("`{stack}`")), "{}", wrong.stderr);
    let history = run_checked(&p, &stack, "correct horse", &["state", "history", "--json"]).ok().json();
    assert_eq!(history["versions"].as_array().unwrap().len(), 1, "the refused run wrote nothing");

    run_checked(&p, &stack, "correct horse", &["destroy", "--yes"]).ok();
}

#[test]
fn secrets_are_sealed_in_the_file_store() {
    scenario(None);
}

#[test]
fn secrets_are_sealed_in_postgres() {
    scenario(Some(postgres_url()));
}
