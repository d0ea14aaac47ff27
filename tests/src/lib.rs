//! Harness for end-to-end tests.
//!
//! The tests run real binaries — an example program and the AWS provider
//! plugin — against the AWS emulator that `cargo xtask test` starts. A test
//! that needs the emulator fails loudly when it is missing: it never skips.

pub mod example;
pub mod faults;
pub mod inprocess;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The emulator's endpoint, or a panic that says how to get one.
pub fn aws_endpoint() -> String {
    std::env::var("CAIRN_TEST_AWS_ENDPOINT").unwrap_or_else(|_| {
        panic!(
            "CAIRN_TEST_AWS_ENDPOINT is not set: this test needs the AWS emulator (moto). \
             Run the suite with `cargo xtask test`, which installs and starts it."
        )
    })
}

/// The directory cargo put the workspace binaries in.
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // target/debug/deps/<test> → target/debug; a bench binary is in target/debug itself.
    let dir = exe.parent().expect("the executable's directory");
    if dir.ends_with("deps") { dir.parent().expect("target dir").to_owned() } else { dir.to_owned() }
}

/// A workspace binary, or a panic that says how to build it.
pub fn bin(name: &str) -> PathBuf {
    let p = bin_dir().join(name);
    assert!(
        p.is_file(),
        "{} is missing: build the workspace binaries first (`cargo build --workspace --bins`; `cargo xtask test` does it)",
        p.display()
    );
    p
}

/// SDK configuration pointing at the emulator.
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(aws_endpoint())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_s3::config::Credentials::new("testing", "testing", None, None, "cairn-tests"))
        .load()
        .await
}

/// S3 client (path-style, as the emulator needs).
pub async fn s3() -> aws_sdk_s3::Client {
    let conf = aws_sdk_s3::config::Builder::from(&sdk_config().await).force_path_style(true).build();
    aws_sdk_s3::Client::from_conf(conf)
}

/// IAM client.
pub async fn iam() -> aws_sdk_iam::Client {
    aws_sdk_iam::Client::new(&sdk_config().await)
}

/// EKS client.
pub async fn eks() -> aws_sdk_eks::Client {
    aws_sdk_eks::Client::new(&sdk_config().await)
}

/// Points a program's (or cargo's) AWS SDK at the emulator with dummy
/// credentials, away from any real profile; plain, uncoloured output.
pub fn with_emulator(c: &mut Command) -> &mut Command {
    c.env("AWS_ENDPOINT_URL", aws_endpoint())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("NO_COLOR", "1")
        .env_remove("AWS_PROFILE")
}

/// A fresh GitOps repository (`git init -b main`) at `dir`: what the example's runtime stack
/// commits its manifests to in a test, instead of the one its stack file names.
pub fn gitops_repo(dir: &Path) -> PathBuf {
    let out = Command::new("git").args(["init", "--quiet", "-b", "main"]).arg(dir).output().expect("git runs");
    assert!(out.status.success(), "git init {}: {}", dir.display(), String::from_utf8_lossy(&out.stderr));
    dir.to_owned()
}

/// Runs `git ARGS` in `repo`; its output, trimmed.
pub fn git(repo: &Path, args: &[&str]) -> String {
    let out = Command::new("git").arg("-C").arg(repo).args(args).output().expect("git runs");
    assert!(out.status.success(), "git {args:?} in {}: {}", repo.display(), String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Points a program at the workspace's plugins (the AWS and GitOps ones) and at the GitOps
/// repository `repo`.
pub fn with_plugins<'a>(c: &'a mut Command, repo: &Path) -> &'a mut Command {
    c.env("CAIRN_PLUGIN_AWS", bin("cairn-provider-aws"))
        .env("CAIRN_PLUGIN_GITOPS", bin("cairn-provider-gitops"))
        .env(cairn_provider_gitops::REPO_VARIABLE, repo)
}

/// A short random suffix so tests sharing one emulator never collide.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", &uuid::Uuid::new_v4().simple().to_string()[..8])
}

/// A program run in its own project directory with its own state.
pub struct Project {
    /// The project directory (holds `Cairn.<stack>.toml` and `.cairn/`).
    pub dir: tempfile::TempDir,
    /// The program binary.
    pub program: PathBuf,
}

/// What a program run printed and returned.
#[derive(Debug)]
pub struct Run {
    /// Exit code.
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    /// The stdout parsed as JSON, or a panic showing both streams.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}\nstderr:\n{}", self.stdout, self.stderr))
    }

    /// Asserts success, showing the output otherwise.
    pub fn ok(self) -> Self {
        assert_eq!(self.code, 0, "expected success\nstdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        self
    }

    /// `(name, op)` of each step in a `--json` document.
    pub fn ops(&self) -> Vec<(String, String)> {
        self.json()["steps"]
            .as_array()
            .expect("steps")
            .iter()
            .map(|s| {
                let urn = s["urn"].as_str().unwrap();
                (urn.rsplit("::").next().unwrap().to_owned(), s["op"].as_str().unwrap().to_owned())
            })
            .collect()
    }
}

impl From<Output> for Run {
    fn from(o: Output) -> Self {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Project {
    /// A fresh project for `program` (a workspace binary name).
    pub fn new(program: &str) -> Self {
        Self { dir: tempfile::tempdir().expect("temp dir"), program: bin(program) }
    }

    /// Writes `Cairn.<stack>.toml`.
    pub fn write_config(&self, stack: &str, text: &str) {
        std::fs::write(self.dir.path().join(format!("Cairn.{stack}.toml")), text).expect("write config");
    }

    /// The command for a program run, with the emulator's environment.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.program);
        c.args(args)
            .current_dir(self.dir.path())
            .env("CAIRN_PROJECT_DIR", self.dir.path())
            .env("CAIRN_PLUGIN_AWS", bin("cairn-provider-aws"))
            .env("CAIRN_PLUGIN_RANDOM", bin("cairn-provider-random"))
            .env_remove("CARGO");
        with_emulator(&mut c);
        c
    }

    /// Runs the program to completion.
    pub fn run(&self, args: &[&str]) -> Run {
        self.command(args).output().expect("program runs").into()
    }

    /// The state directory of a stack.
    pub fn state_dir(&self, project: &str, stack: &str) -> PathBuf {
        self.dir.path().join(".cairn").join(project).join(stack)
    }
}

/// The example program's config for one test: the stack tag `team` tags everything it creates.
/// `extra` is added under `[config]`.
pub fn platform_config(team: &str, extra: &str) -> String {
    format!(
        "[provider.aws]\nregion = \"us-east-1\"\n[tags]\nteam = \"{team}\"\ncost-center = \"4711\"\n\
         [config]\nsubnet_ids = [\"subnet-0aaa\", \"subnet-0bbb\"]\nkubernetes_version = \"1.30\"\n{extra}"
    )
}

/// Buckets carrying the tag `team`.
pub async fn team_buckets(team: &str) -> Vec<String> {
    let s3 = s3().await;
    let mut out = Vec::new();
    for b in s3.list_buckets().send().await.expect("list buckets").buckets() {
        let name = b.name().unwrap_or_default();
        if let Ok(t) = s3.get_bucket_tagging().bucket(name).send().await
            && t.tag_set().iter().any(|t| t.key() == "team" && t.value() == team)
        {
            out.push(name.to_owned());
        }
    }
    out
}

/// IAM roles carrying the tag `team`.
pub async fn team_roles(team: &str) -> Vec<String> {
    let iam = iam().await;
    let mut out = Vec::new();
    for r in iam.list_roles().max_items(1000).send().await.expect("list roles").roles() {
        // Other tests delete their roles meanwhile: a role gone since the listing is not ours.
        let Ok(tags) = iam.list_role_tags().role_name(r.role_name()).send().await else { continue };
        if tags.tags().iter().any(|t| t.key() == "team" && t.value() == team) {
            out.push(r.role_name().to_owned());
        }
    }
    out
}

/// EKS clusters carrying the tag `team`, each with its node groups.
pub async fn team_clusters(team: &str) -> Vec<(String, Vec<String>)> {
    let eks = eks().await;
    let mut out = Vec::new();
    for name in eks.list_clusters().send().await.expect("list clusters").clusters() {
        // Other tests delete their clusters meanwhile: one gone since the listing is not ours.
        let Ok(c) = eks.describe_cluster().name(name).send().await else { continue };
        if c.cluster().and_then(|c| c.tags()).and_then(|t| t.get("team")).map(String::as_str) == Some(team) {
            let groups = eks.list_nodegroups().cluster_name(name).send().await.expect("list node groups");
            out.push((name.clone(), groups.nodegroups().to_vec()));
        }
    }
    out
}

impl Project {
    /// Starts `up --yes` in the background with each provider call followed by
    /// a pause of `delay_ms` before its result is journaled (so another process
    /// can observe or kill the run mid-step).
    pub fn spawn_slow_up(&self, delay_ms: u64) -> std::process::Child {
        self.command(&["up", "--yes"])
            .env("CAIRN_TEST_STEP_DELAY_MS", delay_ms.to_string())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("program starts")
    }
}

/// Polls `ready` every 20 ms until it holds; panics naming `what` after `timeout`.
pub fn wait_for(what: &str, timeout: std::time::Duration, mut ready: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while !ready() {
        assert!(start.elapsed() < timeout, "timed out after {timeout:?} waiting for {what}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// The PostgreSQL server's URL, or a panic that says how to get one.
pub fn postgres_url() -> String {
    std::env::var("CAIRN_TEST_POSTGRES_URL").unwrap_or_else(|_| {
        panic!(
            "CAIRN_TEST_POSTGRES_URL is not set: this test needs a PostgreSQL server. \
             Run the suite with `cargo xtask test`, which installs and starts one."
        )
    })
}

/// A fresh versioned bucket in the emulator, as a state backend URL `s3://BUCKET/state`.
pub async fn s3_state_url() -> String {
    let bucket = unique("cairn-state");
    let s3 = s3().await;
    s3.create_bucket().bucket(&bucket).send().await.expect("create the state bucket");
    s3.put_bucket_versioning()
        .bucket(&bucket)
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .expect("enable versioning on the state bucket");
    format!("s3://{bucket}/state")
}

/// A fresh versioned bucket plus a fresh DynamoDB lock table (partition key
/// `LockID`) in the emulator: `s3://BUCKET/state?lock_table=TABLE`.
pub async fn s3_dynamodb_state_url() -> String {
    let url = s3_state_url().await;
    let table = unique("cairn-locks");
    let client = aws_sdk_dynamodb::Client::new(&sdk_config().await);
    cairn_state_s3::create_lock_table(&client, &table).await.expect("create the lock table");
    format!("{url}?lock_table={table}")
}

/// A fresh KMS key in the emulator, with a fresh alias: `alias/NAME`.
pub async fn kms_alias() -> String {
    let kms = aws_sdk_kms::Client::new(&sdk_config().await);
    let key = kms.create_key().description("cairn test key").send().await.expect("create a KMS key");
    let id = key.key_metadata().expect("the new key's metadata").key_id().to_owned();
    let alias = format!("alias/{}", unique("cairn-secrets"));
    kms.create_alias().alias_name(&alias).target_key_id(id).send().await.expect("create the key's alias");
    alias
}

/// Every stored byte of every object version in the bucket of an
/// `s3://BUCKET/...` URL (state, journal, history, locks, lock log).
pub async fn s3_stored_bytes(url: &str) -> Vec<u8> {
    let bucket = url.trim_start_matches("s3://").split(['/', '?']).next().expect("a bucket in the URL").to_owned();
    let s3 = s3().await;
    let versions = s3.list_object_versions().bucket(&bucket).send().await.expect("list the bucket's versions");
    assert_ne!(versions.is_truncated(), Some(true), "a test bucket holds under 1,000 versions");
    let mut out = Vec::new();
    for v in versions.versions() {
        let got = s3
            .get_object()
            .bucket(&bucket)
            .key(v.key().expect("a version's key"))
            .set_version_id(v.version_id().map(str::to_owned))
            .send()
            .await
            .expect("read an object version");
        out.extend(got.body.collect().await.expect("read the body").to_vec());
    }
    out
}

/// Asserts the example platform tagged `team` exists exactly once in the
/// emulator: two roles (cluster, nodes), one bucket, one cluster with one
/// node group — nothing duplicated, nothing missing. `context` prefixes the
/// messages (e.g. the chaos trial).
pub async fn assert_platform_exists_once(team: &str, context: &str) {
    assert_eq!(team_roles(team).await.len(), 2, "{context}: cluster role and node role, once each");
    assert_eq!(team_buckets(team).await.len(), 1, "{context}: one artifact bucket");
    let clusters = team_clusters(team).await;
    assert_eq!(clusters.len(), 1, "{context}: one cluster: {clusters:?}");
    assert_eq!(clusters[0].1.len(), 1, "{context}: one node group: {clusters:?}");
}

/// Asserts that an SDK call failed because what it asked for does not exist
/// (any other error, or an answer, fails the test): the check that a
/// deleted resource is gone, not merely unreadable.
#[track_caller]
pub fn assert_gone<T: std::fmt::Debug, E: aws_sdk_s3::error::ProvideErrorMetadata + std::fmt::Debug>(
    result: Result<T, E>,
    what: &str,
) {
    const NOT_FOUND: &[&str] =
        &["NoSuchEntity", "NoSuchBucket", "NoSuchKey", "AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"];
    match result {
        Err(e) => assert!(
            e.code()
                .is_some_and(|c| c.ends_with("NotFound") || c.ends_with("NotFoundException") || NOT_FOUND.contains(&c)),
            "{what}: expected a not-found error, got {e:?}"
        ),
        Ok(found) => panic!("{what} still exists: {found:?}"),
    }
}

/// Getters of required members return `&T` in some SDK releases and
/// `Option<&T>` in others (per service and version): `.some()` reads either
/// as `Option<&T>`.
pub trait Present<'a, T: ?Sized> {
    /// The member, if present.
    fn some(self) -> Option<&'a T>;
}

impl<'a, T: ?Sized> Present<'a, T> for &'a T {
    fn some(self) -> Option<&'a T> {
        Some(self)
    }
}

impl<'a, T: ?Sized> Present<'a, T> for Option<&'a T> {
    fn some(self) -> Option<&'a T> {
        self
    }
}

/// Tags as a sorted map, from any `(key, value)` pairs.
pub fn sorted<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> std::collections::BTreeMap<String, String> {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect()
}

/// Tags as a sorted map, from a service that returns them as a map.
pub fn hash_tags(
    map: Option<&std::collections::HashMap<String, String>>,
) -> std::collections::BTreeMap<String, String> {
    map.cloned().unwrap_or_default().into_iter().collect()
}

/// The string output `key` of a resource's outputs; panics naming what is there.
pub fn output(outputs: &cairn_core::Value, key: &str) -> String {
    outputs
        .get(key)
        .and_then(cairn_core::Value::as_str)
        .unwrap_or_else(|| panic!("no output `{key}` in {outputs:?}"))
        .to_owned()
}

/// Tags as a sorted map, from `(key, value)` literals.
pub fn tags(pairs: &[(&str, &str)]) -> std::collections::BTreeMap<String, String> {
    sorted(pairs.iter().copied())
}
