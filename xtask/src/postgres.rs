//! A throwaway PostgreSQL server for the tests that need a real database.
//!
//! Each run gets a fresh cluster in its own directory under /tmp, on a free
//! port on 127.0.0.1 with trust authentication, so runs cannot interfere
//! with each other or with a system cluster, and nothing outlives the run.

use std::ffi::OsStr;
use std::fs;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::Result;
use crate::moto::{free_port, log_tail};

/// Where Debian installs the server binaries, one `<version>/bin` per version.
const DEBIAN_ROOT: &str = "/usr/lib/postgresql";

/// What to tell the user when no server binaries can be found.
const NOT_FOUND: &str = "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin; \
                         install Debian's postgresql package: apt-get install -y postgresql";

/// The system user that owns the cluster when we run as root.
const POSTGRES_USER: &str = "postgres";

/// How long the server may take to accept connections after `pg_ctl` says it started.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

/// How often to check whether the server accepts connections.
const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// Set this variable to keep the cluster's directory after the run, to look
/// at its data and log.
const KEEP_VAR: &str = "CAIRN_KEEP_PG";

/// A running PostgreSQL server. Dropping it stops the server and removes its
/// directory, so it goes away even when the task using it fails halfway.
pub(crate) struct Postgres {
    /// The cluster's directory (data, socket, log); `None` once dropped.
    dir: Option<TempDir>,
    /// Path of `dir`, kept apart so it is usable while `dir` is taken.
    path: PathBuf,
    /// The `bin` directory of the PostgreSQL version in use.
    bin_dir: PathBuf,
    /// Whether to run the tools as the `postgres` user: initdb refuses root.
    as_postgres_user: bool,
    /// The port it listens on, on 127.0.0.1.
    port: u16,
}

impl Postgres {
    /// Installs PostgreSQL if needed, creates a fresh cluster, starts it on a
    /// free port and waits until it accepts connections.
    pub(crate) fn start() -> Result<Self> {
        let bin_dir = ensure_installed()?;
        let as_postgres_user = running_as_root();

        // Under /tmp rather than $TMPDIR: the postgres user must be able to
        // reach it, and the socket path must stay short (about 100 bytes).
        let dir = tempfile::Builder::new()
            .prefix(&format!("cairn-pg-{}-", std::process::id()))
            .tempdir_in("/tmp")
            .map_err(|e| format!("could not create a directory for PostgreSQL under /tmp: {e}"))?;
        let path = dir.path().to_path_buf();
        let socket_dir = path.join("socket");
        fs::create_dir(&socket_dir).map_err(|e| format!("could not create {}: {e}", socket_dir.display()))?;
        if as_postgres_user {
            let mut chown = Command::new("chown");
            chown.arg("-R").arg(format!("{POSTGRES_USER}:{POSTGRES_USER}")).arg(&path);
            crate::run(&mut chown).map_err(|e| {
                format!("{e}: the `{POSTGRES_USER}` user must exist (Debian's postgresql package creates it)")
            })?;
        }
        let port = free_port()?;

        // From here on, dropping `server` stops it (if it got started) and
        // removes its directory.
        let server = Self { dir: Some(dir), path, bin_dir, as_postgres_user, port };
        server.init()?;
        server.start_server()?;
        server.wait_until_ready()?;
        eprintln!("==> PostgreSQL ready at {} (directory: {})", server.url(), server.path.display());
        Ok(server)
    }

    /// Creates the cluster: the `postgres` superuser, trust authentication.
    fn init(&self) -> Result {
        let mut initdb = self.tool("initdb");
        initdb
            .arg("-D")
            .arg(self.data_dir())
            .args(["--auth=trust", "-U", POSTGRES_USER])
            // The C locale exists everywhere (containers often lack the one in
            // $LANG, which makes initdb fail) and sorts the same on every machine.
            .args(["--encoding=UTF8", "--locale=C"])
            // A test cluster need not survive a crash; this makes initdb faster.
            .arg("--no-sync");
        let shown = crate::display(&initdb);
        eprintln!("==> {shown}");
        // initdb is chatty: show its output only when it fails.
        let output = initdb.output().map_err(|e| format!("could not run `{shown}`: {e}"))?;
        if output.status.success() {
            return Ok(());
        }
        Err(format!(
            "`{shown}` failed ({}):\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }

    /// Starts the server with `pg_ctl`, which waits until it is up.
    fn start_server(&self) -> Result {
        let mut pg_ctl = self.tool("pg_ctl");
        pg_ctl
            .arg("-D")
            .arg(self.data_dir())
            .arg("-l")
            .arg(self.log_path())
            .arg("-w")
            .arg("-o")
            .arg(server_options(self.port, &self.socket_dir()))
            .arg("start");
        crate::run(&mut pg_ctl)
            .map_err(|e| format!("{e}; end of {}:\n{}", self.log_path().display(), log_tail(&self.log_path())))
    }

    /// Polls the port until it accepts a connection or time runs out.
    fn wait_until_ready(&self) -> Result {
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        while TcpStream::connect_timeout(&address, Duration::from_millis(500)).is_err() {
            if Instant::now() >= deadline {
                return Err(format!(
                    "PostgreSQL did not accept connections on port {} within {}s; end of {}:\n{}",
                    self.port,
                    STARTUP_TIMEOUT.as_secs(),
                    self.log_path().display(),
                    log_tail(&self.log_path())
                ));
            }
            sleep(POLL_INTERVAL);
        }
        Ok(())
    }

    /// Connection URL of the server, `postgres://postgres@127.0.0.1:PORT/postgres`.
    pub(crate) fn url(&self) -> String {
        connection_url(self.port)
    }

    /// Points Cairn's tests at the server through `CAIRN_TEST_POSTGRES_URL`.
    pub(crate) fn configure(&self, cmd: &mut Command) {
        cmd.env("CAIRN_TEST_POSTGRES_URL", self.url());
    }

    /// A PostgreSQL tool from `bin_dir`, run as the `postgres` user when we
    /// are root, from the cluster's directory (our own working directory may
    /// be unreadable for that user).
    fn tool(&self, name: &str) -> Command {
        let program = self.bin_dir.join(name);
        let mut cmd = if self.as_postgres_user {
            let mut cmd = Command::new("runuser");
            cmd.args(["-u", POSTGRES_USER, "--"]).arg(program);
            cmd
        } else {
            Command::new(program)
        };
        cmd.current_dir(&self.path).stdin(Stdio::null());
        cmd
    }

    /// The cluster's data directory (created by initdb).
    fn data_dir(&self) -> PathBuf {
        self.path.join("data")
    }

    /// Where the server's unix socket goes, instead of the system's
    /// /var/run/postgresql, which may not exist or belong to another cluster.
    fn socket_dir(&self) -> PathBuf {
        self.path.join("socket")
    }

    /// The server's log file.
    fn log_path(&self) -> PathBuf {
        self.path.join("postgres.log")
    }

    /// Stops the server if it runs; whether the directory may be removed.
    fn stop(&self) -> bool {
        // pg_ctl removes the pid file on a clean stop: without it, nothing runs.
        if !self.data_dir().join("postmaster.pid").exists() {
            return true;
        }
        eprintln!("==> stopping PostgreSQL (port {})", self.port);
        let mut stop = self.tool("pg_ctl");
        stop.arg("-D").arg(self.data_dir()).args(["-m", "fast", "stop"]);
        let shown = crate::display(&stop);
        match stop.output() {
            Ok(output) if output.status.success() => true,
            outcome => {
                let why = match outcome {
                    Ok(output) => format!(
                        "failed ({}): {}{}",
                        output.status,
                        String::from_utf8_lossy(&output.stdout).trim(),
                        String::from_utf8_lossy(&output.stderr).trim()
                    ),
                    Err(e) => format!("could not run: {e}"),
                };
                eprintln!(
                    "warning: `{shown}` {why}\nPostgreSQL may still run on port {}; its directory {} is kept: \
                     run that command again, then delete the directory",
                    self.port,
                    self.path.display()
                );
                false
            }
        }
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let stopped = self.stop();
        let Some(dir) = self.dir.take() else { return };
        if !stopped {
            let _ = dir.keep();
        } else if std::env::var_os(KEEP_VAR).is_some() {
            let path = dir.keep();
            eprintln!(
                "==> {KEEP_VAR} is set: kept PostgreSQL's directory {} (log: {})",
                path.display(),
                self.log_path().display()
            );
        } else if let Err(e) = dir.close() {
            eprintln!("warning: could not remove {}: {e}", self.path.display());
        }
    }
}

/// Connection URL for the `postgres` superuser and database on `port`.
fn connection_url(port: u16) -> String {
    format!("postgres://{POSTGRES_USER}@127.0.0.1:{port}/postgres")
}

/// The server options given to `pg_ctl -o`: loopback only, on `port`, with
/// the unix socket in `socket_dir`.
fn server_options(port: u16, socket_dir: &Path) -> String {
    format!("-h 127.0.0.1 -p {port} -k {}", socket_dir.display())
}

/// The `bin` directory of the newest installed PostgreSQL, installing
/// Debian's package first if there is none.
fn ensure_installed() -> Result<PathBuf> {
    if let Some(bin_dir) = find_bin_dir(Path::new(DEBIAN_ROOT)) {
        return Ok(bin_dir);
    }
    eprintln!("==> PostgreSQL not found under {DEBIAN_ROOT}: installing Debian's postgresql package");
    let mut update = Command::new("apt-get");
    update.arg("update");
    crate::run(&mut update).map_err(|e| format!("{e}; {NOT_FOUND}"))?;
    let mut install = Command::new("apt-get");
    install.args(["install", "-y", "postgresql"]).env("DEBIAN_FRONTEND", "noninteractive");
    crate::run(&mut install).map_err(|e| format!("{e}; {NOT_FOUND}"))?;
    find_bin_dir(Path::new(DEBIAN_ROOT)).ok_or_else(|| NOT_FOUND.to_owned())
}

/// The `<root>/<version>/bin` directory with the highest version among those
/// that hold `initdb` (the client-only package installs a `bin` without it).
fn find_bin_dir(root: &Path) -> Option<PathBuf> {
    let entries = fs::read_dir(root).ok()?;
    let candidates: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.path().join("bin"))
        .filter(|bin_dir| bin_dir.join("initdb").is_file())
        .collect();
    highest_version(&candidates).cloned()
}

/// The `<version>/bin` path with the highest version; paths whose version is
/// not numeric are ignored.
fn highest_version(bin_dirs: &[PathBuf]) -> Option<&PathBuf> {
    bin_dirs.iter().filter_map(|dir| Some((version_of(dir)?, dir))).max_by(|a, b| a.0.cmp(&b.0)).map(|(_, dir)| dir)
}

/// The version of a `<version>/bin` path as numbers, so that 10 sorts after
/// 9.6: `/usr/lib/postgresql/9.6/bin` gives `[9, 6]`.
fn version_of(bin_dir: &Path) -> Option<Vec<u32>> {
    let version = bin_dir.parent()?.file_name().and_then(OsStr::to_str)?;
    version.split('.').map(|part| part.parse().ok()).collect()
}

/// Whether this process runs as root (then initdb must run as another user).
fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .is_ok_and(|output| output.status.success() && output.stdout.trim_ascii() == b"0")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_of_reads_the_parent_directory() {
        assert_eq!(version_of(Path::new("/usr/lib/postgresql/15/bin")), Some(vec![15]));
        assert_eq!(version_of(Path::new("/usr/lib/postgresql/9.6/bin")), Some(vec![9, 6]));
        assert_eq!(version_of(Path::new("/usr/lib/postgresql/common/bin")), None);
        assert_eq!(version_of(Path::new("/usr/lib/postgresql/15beta/bin")), None);
        assert_eq!(version_of(Path::new("bin")), None);
    }

    #[test]
    fn highest_version_compares_numbers_not_text() {
        let dirs: Vec<PathBuf> = ["9.6", "16", "common", "15", "10"]
            .iter()
            .map(|version| Path::new("/usr/lib/postgresql").join(version).join("bin"))
            .collect();
        assert_eq!(highest_version(&dirs), Some(&PathBuf::from("/usr/lib/postgresql/16/bin")));
        assert_eq!(highest_version(&dirs[..1]), Some(&PathBuf::from("/usr/lib/postgresql/9.6/bin")));
        assert_eq!(highest_version(&[PathBuf::from("/usr/lib/postgresql/common/bin")]), None);
        assert_eq!(highest_version(&[]), None);
    }

    #[test]
    fn find_bin_dir_skips_versions_without_initdb() {
        let root = tempfile::tempdir().unwrap();
        for (version, has_initdb) in [("13", true), ("15", true), ("16", false), ("common", true)] {
            let bin_dir = root.path().join(version).join("bin");
            fs::create_dir_all(&bin_dir).unwrap();
            fs::write(bin_dir.join(if has_initdb { "initdb" } else { "psql" }), "").unwrap();
        }
        assert_eq!(find_bin_dir(root.path()), Some(root.path().join("15").join("bin")));
        assert_eq!(find_bin_dir(&root.path().join("missing")), None);
    }

    #[test]
    fn url_and_server_options_name_the_port() {
        assert_eq!(connection_url(54321), "postgres://postgres@127.0.0.1:54321/postgres");
        assert_eq!(
            server_options(54321, Path::new("/tmp/cairn-pg-1-abc/socket")),
            "-h 127.0.0.1 -p 54321 -k /tmp/cairn-pg-1-abc/socket"
        );
    }
}
