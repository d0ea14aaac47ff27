//! Building a plugin from the source tree the program's Cairn came from.
//!
//! A program outside Cairn's workspace depends on `cairn` by path or git;
//! either way cargo compiled this crate from a checkout of the whole Cairn
//! repository, and that checkout also holds the plugins' packages. Building
//! the plugin from it gives a plugin of exactly the program's Cairn version,
//! with nothing installed by hand. The build goes to a per-user cache, one
//! target directory per source tree, so it happens once per Cairn version
//! (and, for a path dependency, is brought up to date by cargo when the
//! source changes).

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::host::PluginError;

/// The root of the source tree this crate was compiled from (`sdk/plugin` is two levels down).
pub fn source_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("..")
}

/// Where plugins built from source are kept: `CAIRN_PLUGIN_CACHE`, else
/// `$XDG_CACHE_HOME/cairn/plugins`, else `~/.cache/cairn/plugins`.
pub fn cache_dir() -> Option<PathBuf> {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    var("CAIRN_PLUGIN_CACHE")
        .or_else(|| var("XDG_CACHE_HOME").map(|d| d.join("cairn").join("plugins")))
        .or_else(|| var("HOME").map(|d| d.join(".cache").join("cairn").join("plugins")))
}

/// The target directory of one source tree's plugins in the cache: the
/// Cairn version and a digest of the tree's path, so two checkouts (two
/// versions, two git revisions) never share binaries.
fn target_dir(cache: &Path, root: &Path) -> PathBuf {
    let mut h = DefaultHasher::new();
    root.hash(&mut h);
    cache.join(format!("{}-{:016x}", env!("CARGO_PKG_VERSION"), h.finish()))
}

/// A git dependency's checkout never changes (cargo makes a new one per
/// revision), so a binary built from it is current without asking cargo.
fn immutable(root: &Path) -> bool {
    let s = root.to_string_lossy();
    s.contains("/.cargo/git/checkouts/") || s.contains("/.cargo/registry/src/")
}

/// A cargo command without the variables cargo sets for the program it runs
/// (`CARGO_PKG_NAME`, `CARGO_MANIFEST_DIR`, ...). Some build scripts
/// (aws-lc-sys's among them) ask to rerun when those change, so a plugin built
/// once from `cargo run -p a` and once from `cargo run -p b` would recompile
/// the whole AWS SDK each time.
pub fn cargo_command(cargo: &Path) -> Command {
    let mut cmd = Command::new(cargo);
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        let of_the_running_package = name.starts_with("CARGO_PKG_")
            || name.starts_with("CARGO_BIN_")
            || matches!(
                name.as_ref(),
                "CARGO_MANIFEST_DIR"
                    | "CARGO_MANIFEST_PATH"
                    | "CARGO_MANIFEST_LINKS"
                    | "CARGO_CRATE_NAME"
                    | "CARGO_PRIMARY_PACKAGE"
            );
        if of_the_running_package {
            cmd.env_remove(name.as_ref());
        }
    }
    cmd
}

/// The cargo to build with: the one running us, else `cargo` on `PATH`.
fn cargo_program() -> PathBuf {
    std::env::var_os("CARGO").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("cargo"))
}

/// The manifest of package `binary` in the workspace at `root`, if it has one.
fn package_manifest(cargo: &Path, root: &Path, binary: &str) -> Option<PathBuf> {
    let manifest = root.join("Cargo.toml");
    if !manifest.is_file() {
        return None;
    }
    let out = cargo_command(cargo)
        .args(["metadata", "--no-deps", "--format-version", "1", "--offline", "--manifest-path"])
        .arg(&manifest)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    meta["packages"]
        .as_array()?
        .iter()
        .find(|p| p["name"] == binary)
        .and_then(|p| p["manifest_path"].as_str())
        .map(PathBuf::from)
}

/// Builds (or finds, already built) plugin `binary` from the program's
/// Cairn source. `Ok(None)` when that source has no such package, or no
/// cache directory can be named; the caller then looks elsewhere.
pub(crate) fn build_from_source(binary: &str, looked: &mut Vec<String>) -> Result<Option<PathBuf>, PluginError> {
    let root = source_root();
    let root = root.canonicalize().unwrap_or(root);
    let Some(cache) = cache_dir() else {
        looked.push("the plugin cache (set CAIRN_PLUGIN_CACHE or HOME)".into());
        return Ok(None);
    };
    let target = target_dir(&cache, &root);
    let exe = target.join("debug").join(binary);
    if exe.is_file() && immutable(&root) {
        return Ok(Some(exe));
    }
    let cargo = cargo_program();
    let Some(manifest) = package_manifest(&cargo, &root, binary) else {
        if exe.is_file() {
            // No cargo to ask, but a binary built from this very tree before.
            return Ok(Some(exe));
        }
        looked.push(format!("the Cairn source of this program ({})", root.display()));
        return Ok(None);
    };
    let command =
        format!("cargo build --manifest-path {} --bin {binary} --target-dir {}", manifest.display(), target.display());
    if !exe.is_file() {
        eprintln!(
            "Building provider plugin {binary} from {} (first use of this Cairn version; kept in {})...",
            root.display(),
            target.display()
        );
    }
    // cargo's own progress goes to our stderr; stdout (which may carry --json) stays clean.
    let status = cargo_command(&cargo)
        .args(["build", "--quiet", "--bin", binary, "--manifest-path"])
        .arg(&manifest)
        .arg("--target-dir")
        .arg(&target)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .status()
        .map_err(|e| PluginError::Build {
            binary: binary.to_owned(),
            message: format!("could not run cargo ({e}); run `{command}` yourself, or set the plugin variable"),
        })?;
    if !status.success() {
        return Err(PluginError::Build {
            binary: binary.to_owned(),
            message: format!("cargo failed ({status}); its errors are above. Run `{command}` to retry"),
        });
    }
    if exe.is_file() {
        Ok(Some(exe))
    } else {
        Err(PluginError::Build {
            binary: binary.to_owned(),
            message: format!("cargo succeeded but {} is missing; run `{command}`", exe.display()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_source_root_holds_the_plugin_packages() {
        assert!(source_root().join("Cargo.toml").is_file());
        assert!(source_root().join("sdk").join("plugin").is_dir());
    }

    #[test]
    fn each_source_tree_gets_its_own_target_dir() {
        let cache = Path::new("/cache");
        let a = target_dir(cache, Path::new("/home/u/.cargo/git/checkouts/cairn-1/abc"));
        let b = target_dir(cache, Path::new("/home/u/.cargo/git/checkouts/cairn-1/def"));
        assert_ne!(a, b);
        assert!(a.starts_with(cache) && a.to_string_lossy().contains(env!("CARGO_PKG_VERSION")));
        assert!(immutable(Path::new("/home/u/.cargo/git/checkouts/cairn-1/abc")));
        assert!(!immutable(Path::new("/work/cairn")));
    }
}
