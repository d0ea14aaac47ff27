//! No byte any backend stores holds a secret in plain text; the right
//! passphrase gets it back, a wrong one is refused, and a plaintext state is
//! refused until migrated.

use std::sync::Arc;
use std::time::Duration;

use cairn_core::{Config, Input, Output, ProjectName, Stack, StackName, Value, resource};
use cairn_engine::testing::TestProvider;
use cairn_engine::{ApplyOptions, AutoApprove, RunOptions, StackRunner, StaticProviders, apply, preview};
use cairn_secrets::{Cipher, EncryptingStore, Sealer};
use cairn_state::{FileStore, Recorder, StateStore};
use cairn_state_postgres::PostgresStore;

const SECRET: &str = "hunter2-d0-not-st0re";

#[derive(serde::Serialize)]
struct DbArgs {
    password: Input<String>,
    size: i64,
}

resource! {
    /// A resource with a secret input.
    Db, token = "test:index:Db", args = DbArgs, outputs = DbOutputs {
        /// Its ID.
        id: String,
    }
}

/// A sealer with cheap key derivation: the tests are about where bytes go, not KDF cost.
fn sealer(p: &str) -> Cipher {
    Cipher::Passphrase(Sealer::with_params(p, argon2::Params::new(64, 1, 1, Some(32)).unwrap()))
}

fn names() -> (ProjectName, StackName) {
    let p = format!("sec-{:08x}", rand::random::<u32>());
    (ProjectName::new(p).unwrap(), StackName::new("dev").unwrap())
}

/// One `up` of a program with a secret, stopping before compaction when `compact` is false.
async fn up(store: &dyn StateStore, p: &ProjectName, s: &StackName, compact: bool) {
    let ctx = Stack::new(s.clone(), p.clone(), Config::default());
    ctx.resource("db", DbArgs { password: Output::secret(SECRET.to_owned()).into(), size: 1 }).unwrap();
    let declared = ctx.finish();
    let providers = StaticProviders::default().with("test", Arc::new(TestProvider::new()));
    if compact {
        let runner = StackRunner::new(p.clone(), s.clone(), store, &providers);
        let run = runner.up(&declared, &RunOptions::default(), &AutoApprove).await.unwrap();
        assert!(!run.failed());
        return;
    }
    // A run that ends before compaction (as a crash would), leaving its
    // secrets in the journal: the lifecycle's steps by hand, without the last.
    let session = store.try_lock(p, s, "up", Duration::from_secs(60)).await.unwrap();
    let replayed = session.read().await.unwrap();
    let plan = preview(&declared, &replayed.state, &providers).await.unwrap();
    let recorder = Recorder::new(session, replayed.state, replayed.next_op);
    let report = apply(&plan, Some(&declared), &recorder, &providers, &ApplyOptions::default(), &()).await.unwrap();
    assert!(!report.failed());
    recorder.release().await.unwrap();
}

fn all_bytes_under(dir: &std::path::Path) -> Vec<u8> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(all_bytes_under(&path));
        } else {
            out.extend(std::fs::read(&path).unwrap());
        }
    }
    out
}

fn assert_no_secret(bytes: &[u8], where_: &str) {
    assert!(!bytes.is_empty(), "{where_}: nothing was stored at all");
    let found = bytes.windows(SECRET.len()).any(|w| w == SECRET.as_bytes());
    assert!(!found, "{where_}: the secret is stored in plain text");
}

async fn the_secret_comes_back(store: &dyn StateStore, p: &ProjectName, s: &StackName) {
    let state = store.read(p, s).await.unwrap().state;
    let db = &state.resources[0];
    assert_eq!(db.inputs.get("password"), Some(&Value::Secret(Box::new(SECRET.into()))));
    assert_eq!(db.outputs.get("password").and_then(Value::as_str), Some(SECRET), "outputs too");
}

#[tokio::test]
async fn the_file_store_holds_no_plaintext_secret_in_journal_snapshot_or_history() {
    let dir = tempfile::tempdir().unwrap();
    let (p, s) = names();
    let store = EncryptingStore::new(Box::new(FileStore::new(dir.path())), sealer("pass"));
    up(&store, &p, &s, false).await;
    assert_no_secret(&all_bytes_under(dir.path()), "journal before compaction");
    the_secret_comes_back(&store, &p, &s).await;
    up(&store, &p, &s, true).await;
    assert_no_secret(&all_bytes_under(dir.path()), "snapshot, history and journal");
    the_secret_comes_back(&store, &p, &s).await;

    let wrong = EncryptingStore::new(Box::new(FileStore::new(dir.path())), sealer("not it"));
    let err = wrong.read(&p, &s).await.unwrap_err().to_string();
    assert!(err.contains("passphrase") && err.contains("`dev`") && err.contains("file://"), "{err}");
}

#[tokio::test]
async fn a_plaintext_state_is_refused_until_migrated() {
    let dir = tempfile::tempdir().unwrap();
    let (p, s) = names();
    up(&FileStore::new(dir.path()), &p, &s, true).await;
    let bytes = all_bytes_under(dir.path());
    assert!(bytes.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()), "precondition: stored in plain text");

    let encrypted = EncryptingStore::new(Box::new(FileStore::new(dir.path())), sealer("pass"));
    let err = encrypted.read(&p, &s).await.unwrap_err().to_string();
    assert!(err.contains("plain text") && err.contains("state encrypt"), "{err}");

    let migrating = EncryptingStore::migrating(Box::new(FileStore::new(dir.path())), sealer("pass"));
    let session = migrating.try_lock(&p, &s, "encrypt", Duration::from_secs(60)).await.unwrap();
    let mut state = session.read().await.unwrap().state;
    state.serial += 1;
    session.compact(&state, &Default::default()).await.unwrap();
    session.release().await.unwrap();
    // The old plaintext versions stay in history/ by design of the file store;
    // the current snapshot and the journal are sealed.
    let current = std::fs::read(dir.path().join(p.as_str()).join("dev").join("state.json")).unwrap();
    assert_no_secret(&current, "the migrated snapshot");
    the_secret_comes_back(&encrypted, &p, &s).await;
}

#[tokio::test]
async fn postgres_holds_no_plaintext_secret() {
    let url = std::env::var("CAIRN_TEST_POSTGRES_URL").unwrap_or_else(|_| {
        panic!("CAIRN_TEST_POSTGRES_URL is not set: this test needs PostgreSQL; run it with `cargo xtask test`")
    });
    let (p, s) = names();
    let store = EncryptingStore::new(Box::new(PostgresStore::new(&url).unwrap()), sealer("pass"));
    let dump = || async {
        let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(conn);
        let mut all = Vec::new();
        for sql in [
            "SELECT entry FROM cairn_journal WHERE project = $1",
            "SELECT state FROM cairn_history WHERE project = $1",
            "SELECT changes FROM cairn_history WHERE project = $1",
        ] {
            for row in client.query(sql, &[&p.as_str()]).await.unwrap() {
                all.extend(row.get::<_, String>(0).into_bytes());
            }
        }
        all
    };
    up(&store, &p, &s, false).await;
    assert_no_secret(&dump().await, "journal rows");
    up(&store, &p, &s, true).await;
    assert_no_secret(&dump().await, "history rows");
    the_secret_comes_back(&store, &p, &s).await;
}
