//! The local AWS emulator ([moto](https://github.com/getmoto/moto)) that
//! tests and the demo run against, so nobody needs an AWS account.
//!
//! moto lives in a private Python virtualenv under `target/xtask`, so it
//! never touches the system Python, and each run gets its own server on a
//! free port, so parallel runs (and stale servers) cannot interfere.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::Result;

/// The moto release the project is tested against, pinned exactly: moto 5.2
/// serializes S3 responses under an `<OperationResponse>` root that boto3
/// tolerates but the Rust SDK (rightly) rejects, e.g. for GetBucketVersioning.
const MOTO_REQUIREMENT: &str = "moto[server]==5.1.22";

/// How long the emulator may take to answer after it starts.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

/// How often to check whether the emulator answers.
const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// The virtualenv that holds moto and boto3.
pub(crate) fn venv_dir() -> PathBuf {
    crate::xtask_dir().join("moto-venv")
}

/// The virtualenv's Python (it can import boto3).
pub(crate) fn venv_python() -> PathBuf {
    venv_dir().join("bin").join("python")
}

/// The `moto_server` script inside the virtualenv.
fn moto_server() -> PathBuf {
    venv_dir().join("bin").join("moto_server")
}

/// Installs moto and boto3 into the virtualenv unless they are already there.
pub(crate) fn ensure_installed() -> Result {
    let stamp = venv_dir().join(".cairn-moto-requirement");
    let installed = fs::read_to_string(&stamp).ok();
    if moto_server().is_file() && installed.as_deref() == Some(MOTO_REQUIREMENT) {
        return Ok(());
    }
    let venv = venv_dir();
    eprintln!("==> installing the AWS emulator (moto) into {} (first run only)", venv.display());
    fs::create_dir_all(crate::xtask_dir())
        .map_err(|e| format!("could not create {}: {e}", crate::xtask_dir().display()))?;

    let mut create = Command::new("python3");
    create.arg("-m").arg("venv").arg(&venv);
    install_step(&mut create, |error| match error {
        StepError::NotFound => "python3 not found: install python3 (apt-get install -y python3 python3-venv)".into(),
        StepError::Failed(shown) => format!(
            "`{shown}` failed: install the venv module (apt-get install -y python3-venv), \
             then run again"
        ),
    })?;

    let mut install = Command::new(venv.join("bin").join("pip"));
    install.args(["install", "--quiet", MOTO_REQUIREMENT, "boto3"]);
    install_step(&mut install, |error| {
        let shown = match error {
            StepError::NotFound => "pip install".to_owned(),
            StepError::Failed(shown) => format!("`{shown}`"),
        };
        format!(
            "{shown} failed: check that PyPI is reachable (or set PIP_INDEX_URL), \
             or delete {} and run again",
            venv.display()
        )
    })?;

    if moto_server().is_file() {
        fs::write(&stamp, MOTO_REQUIREMENT).map_err(|e| format!("could not write {}: {e}", stamp.display()))
    } else {
        Err(format!(
            "moto was installed but {} is missing: delete {} and run again",
            moto_server().display(),
            venv.display()
        ))
    }
}

/// Why an installation step failed.
enum StepError {
    /// The program does not exist.
    NotFound,
    /// It ran and failed; the command line as shown to the user.
    Failed(String),
}

/// Runs one installation step; `explain` turns a failure into advice.
fn install_step(cmd: &mut Command, explain: impl FnOnce(StepError) -> String) -> Result {
    let shown = crate::display(cmd);
    eprintln!("==> {shown}");
    match cmd.status() {
        Ok(status) if status.success() => Ok(()),
        Ok(_) => Err(explain(StepError::Failed(shown))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(explain(StepError::NotFound)),
        Err(e) => Err(format!("could not run `{shown}`: {e}")),
    }
}

/// A running emulator. Dropping it stops the server, so it goes away even
/// when the task using it fails halfway.
pub(crate) struct Emulator {
    /// The `moto_server` process.
    child: Child,
    /// The port it listens on, on 127.0.0.1.
    port: u16,
    /// Base URL of the server, `http://127.0.0.1:PORT`.
    endpoint: String,
}

impl Emulator {
    /// Installs moto if needed, starts a server on a free port and waits
    /// until it answers.
    pub(crate) fn start() -> Result<Self> {
        ensure_installed()?;
        let port = free_port()?;
        let log_path = crate::xtask_dir().join(format!("moto-{port}.log"));
        let log = File::create(&log_path).map_err(|e| format!("could not create {}: {e}", log_path.display()))?;
        let log_for_stderr = log.try_clone().map_err(|e| format!("could not open {}: {e}", log_path.display()))?;

        // moto's server through our launcher, which closes two gaps in its fidelity (see the script).
        let mut cmd = Command::new(venv_python());
        cmd.arg(crate::workspace_root().join("xtask").join("moto_server.py"))
            .args(["-H", "127.0.0.1", "-p", port.to_string().as_str()])
            // Lets roles attach AWS managed policies (arn:aws:iam::aws:policy/...).
            .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_for_stderr);
        eprintln!("==> {} (log: {})", crate::display(&cmd), log_path.display());
        let child = cmd.spawn().map_err(|e| format!("could not start {}: {e}", moto_server().display()))?;

        // From here on, dropping `emulator` stops the server.
        let mut emulator = Self { child, port, endpoint: format!("http://127.0.0.1:{port}") };
        emulator.wait_until_ready(&log_path)?;
        eprintln!("==> AWS emulator ready at {}", emulator.endpoint);
        Ok(emulator)
    }

    /// Polls the server until it answers HTTP, it exits, or time runs out.
    fn wait_until_ready(&mut self, log_path: &Path) -> Result {
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!(
                    "the AWS emulator exited during startup ({status}); end of {}:\n{}",
                    log_path.display(),
                    log_tail(log_path)
                ));
            }
            if answers_http(address) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "the AWS emulator did not answer on port {} within {}s; end of {}:\n{}",
                    self.port,
                    STARTUP_TIMEOUT.as_secs(),
                    log_path.display(),
                    log_tail(log_path)
                ));
            }
            sleep(POLL_INTERVAL);
        }
    }

    /// Base URL of the emulator, `http://127.0.0.1:PORT`.
    pub(crate) fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Environment that points AWS SDKs (and Cairn's tests) at the emulator,
    /// with dummy credentials so nothing can reach a real account.
    pub(crate) fn aws_env(&self) -> Vec<(String, String)> {
        [
            ("AWS_ENDPOINT_URL", self.endpoint.as_str()),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_REGION", "us-east-1"),
            ("AWS_DEFAULT_REGION", "us-east-1"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
            ("CAIRN_TEST_AWS_ENDPOINT", self.endpoint.as_str()),
        ]
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect()
    }

    /// Sets [`Self::aws_env`] on `cmd`, and removes the variables that could
    /// make an SDK pick up the developer's real AWS profile or session.
    pub(crate) fn configure(&self, cmd: &mut Command) {
        for name in ["AWS_PROFILE", "AWS_SESSION_TOKEN"] {
            cmd.env_remove(name);
        }
        cmd.envs(self.aws_env());
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            eprintln!("==> stopping the AWS emulator (port {})", self.port);
            // It may exit on its own between the check and the kill: fine.
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// A port that is free right now: the OS picks it for a listener we close
/// at once. (Another process could grab it before our server does; unlikely.)
pub(crate) fn free_port() -> Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(|e| format!("could not find a free port on 127.0.0.1: {e}"))?;
    let port = listener.local_addr().map_err(|e| format!("could not find a free port on 127.0.0.1: {e}"))?.port();
    Ok(port)
}

/// Whether an HTTP server answers on `address`: a listening socket alone is
/// not enough, since the server may accept connections before it is ready.
fn answers_http(address: SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&address, Duration::from_millis(500)) else {
        return false;
    };
    let timeout = Some(Duration::from_secs(2));
    if stream.set_read_timeout(timeout).is_err() || stream.set_write_timeout(timeout).is_err() {
        return false;
    }
    if stream.write_all(b"GET /moto-api/ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").is_err() {
        return false;
    }
    // Any HTTP status line will do: the server is up.
    let mut head = [0_u8; 5];
    let mut filled = 0;
    while filled < head.len() {
        match stream.read(&mut head[filled..]) {
            Ok(0) | Err(_) => return false,
            Ok(n) => filled += n,
        }
    }
    &head == b"HTTP/"
}

/// The last lines of a server's log, to show why it did not start.
pub(crate) fn log_tail(log_path: &Path) -> String {
    const LINES: usize = 30;
    match fs::read(log_path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let lines: Vec<&str> = text.lines().collect();
            let tail = lines[lines.len().saturating_sub(LINES)..].join("\n");
            if tail.is_empty() { "(the log is empty)".to_owned() } else { tail }
        }
        Err(e) => format!("(could not read the log: {e})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_port_is_bindable() {
        let port = free_port().unwrap();
        assert_ne!(port, 0);
        TcpListener::bind((Ipv4Addr::LOCALHOST, port)).unwrap();
    }

    #[test]
    fn http_probe_accepts_an_http_answer_and_rejects_silence() {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let address = listener.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut request = [0_u8; 64];
            assert!(stream.read(&mut request).unwrap() > 0);
            stream.write_all(b"HTTP/1.0 200 OK\r\n\r\n").unwrap();
        });
        assert!(answers_http(address));
        server.join().unwrap();

        let closed = {
            let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
            listener.local_addr().unwrap()
        };
        assert!(!answers_http(closed));
    }

    #[test]
    fn log_tail_keeps_the_last_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("moto.log");
        let text: String = (1..=40).map(|i| format!("line {i}\n")).collect();
        fs::write(&path, text).unwrap();
        let tail = log_tail(&path);
        assert!(tail.starts_with("line 11\n"));
        assert!(tail.ends_with("line 40"));
        assert!(log_tail(&dir.path().join("missing")).starts_with("(could not read"));
        fs::write(dir.path().join("empty"), "").unwrap();
        assert_eq!(log_tail(&dir.path().join("empty")), "(the log is empty)");
    }
}
