//! A secret stack output, sealed with a passphrase or under an AWS KMS key:
//! no stored byte (state, journal, history), log line or `--json` document
//! holds it; a wrong passphrase or another key is refused, writing nothing.

use cairn_tests::{Project, platform_config, postgres_url, unique};

const WEBHOOK: &str = "https://hooks.example.invalid/T0KEN-s3cr3t-9f8e7d";

/// How the stack seals its secrets.
enum Mode {
    Passphrase,
    /// `alias/NAME` of a key in the emulator.
    Kms(String),
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
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
    // Debug logs of the program and its plugins are searched too.
    let run: cairn_tests::Run =
        p.command(&a).env("CAIRN_PASSPHRASE", pass).env("CAIRN_LOG", "debug").output().unwrap().into();
    assert!(
        !contains(run.stdout.as_bytes(), WEBHOOK) && !contains(run.stderr.as_bytes(), WEBHOOK),
        "printed or logged in plain text: {run:?}"
    );
    run
}

async fn scenario(backend: Option<String>, mode: Mode) {
    let stack = unique("sec");
    let p = Project::new("test-platform");
    let line = backend.clone().map(|b| format!("backend = \"{b}\"\n")).unwrap_or_default();
    let secrets = match &mode {
        Mode::Passphrase => "passphrase".to_owned(),
        Mode::Kms(alias) => format!("awskms://{alias}"),
    };
    let extra = format!("alerts_webhook = \"{WEBHOOK}\"\n");
    let rest = platform_config(&unique("sec"), &extra);
    p.write_config(&stack, &format!("{line}secrets = \"{secrets}\"\n{rest}"));

    let up = run_checked(&p, &stack, "correct horse", &["up", "--yes", "--json"]).ok();
    assert_eq!(up.json()["outputs"]["alerts_webhook"], "[secret]");
    // The value reached Secrets Manager (and nothing else: see the searches below).
    let arn = up.json()["outputs"]["alerts_webhook_secret"].as_str().expect("the secret's ARN").to_owned();
    let sm = aws_sdk_secretsmanager::Client::new(&cairn_tests::sdk_config().await);
    let stored = sm.get_secret_value().secret_id(&arn).send().await.unwrap();
    assert_eq!(stored.secret_string(), Some(WEBHOOK));
    let again = run_checked(&p, &stack, "correct horse", &["preview", "--json"]).ok();
    assert!(again.ops().iter().all(|(_, op)| op == "same"), "{:?}", again.ops());

    // Every stored byte: state, journal, history (and on S3 every object version).
    let stored = match &backend {
        None => Some(bytes_under(&p.dir.path().join(".cairn"))),
        Some(url) if url.starts_with("s3://") => Some(cairn_tests::s3_stored_bytes(url).await),
        Some(_) => None, // PostgreSQL's rows are searched in sdk/secrets/tests
    };
    if let Some(stored) = stored {
        assert!(!stored.is_empty() && !contains(&stored, WEBHOOK), "state, journal or history holds the secret");
        let sealed_as = match &mode {
            Mode::Passphrase => cairn_secrets::PREFIX,
            Mode::Kms(_) => cairn_secrets::ENVELOPE_PREFIX,
        };
        assert!(contains(&stored, sealed_as), "the secret is stored sealed, as {sealed_as}…");
    }

    // The wrong passphrase, or a config naming another key: refused, nothing written.
    let wrong = match &mode {
        Mode::Passphrase => run_checked(&p, &stack, "wrong horse", &["up", "--yes"]),
        Mode::Kms(_) => {
            let other = cairn_tests::kms_alias().await;
            p.write_config(&stack, &format!("{line}secrets = \"awskms://{other}\"\n{rest}"));
            let run = run_checked(&p, &stack, "", &["up", "--yes"]);
            p.write_config(&stack, &format!("{line}secrets = \"{secrets}\"\n{rest}"));
            assert!(run.stderr.contains(&other) && run.stderr.contains("wrapped by KMS key"), "{}", run.stderr);
            run
        }
    };
    assert_eq!(wrong.code, 1);
    assert!(
        wrong.stderr.contains(&format!("`{stack}`")) && wrong.stderr.contains("nothing was written"),
        "{}",
        wrong.stderr
    );
    if let Some(url) = &backend {
        assert!(wrong.stderr.contains(url.split('?').next().unwrap()), "names the backend: {}", wrong.stderr);
    }
    let history = run_checked(&p, &stack, "correct horse", &["state", "history", "--json"]).ok().json();
    assert_eq!(history["versions"].as_array().unwrap().len(), 1, "the refused run wrote nothing");

    run_checked(&p, &stack, "correct horse", &["destroy", "--yes"]).ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn secrets_are_sealed_in_the_file_store() {
    scenario(None, Mode::Passphrase).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn secrets_are_sealed_in_postgres() {
    scenario(Some(postgres_url()), Mode::Passphrase).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn secrets_are_sealed_in_s3() {
    scenario(Some(cairn_tests::s3_state_url().await), Mode::Passphrase).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn secrets_are_sealed_under_a_kms_key_in_s3() {
    scenario(Some(cairn_tests::s3_state_url().await), Mode::Kms(cairn_tests::kms_alias().await)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn secrets_are_sealed_under_a_kms_key_in_the_file_store() {
    scenario(None, Mode::Kms(cairn_tests::kms_alias().await)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_kms_key_is_refused_before_anything_is_written() {
    let (stack, team) = (unique("sec"), unique("sec"));
    let p = Project::new("test-platform");
    let extra = format!("alerts_webhook = \"{WEBHOOK}\"\n");
    p.write_config(&stack, &format!("secrets = \"awskms://alias/no-such-key\"\n{}", platform_config(&team, &extra)));
    let run = run_checked(&p, &stack, "", &["up", "--yes"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("alias/no-such-key") && run.stderr.contains("NotFoundException"), "{}", run.stderr);
    let history = run_checked(&p, &stack, "", &["state", "history", "--json"]).ok().json();
    assert_eq!(history["versions"].as_array().unwrap().len(), 0, "no state was written");
    assert!(cairn_tests::team_roles(&team).await.is_empty(), "no resource was created");
    assert!(cairn_tests::team_buckets(&team).await.is_empty(), "no resource was created");
}
