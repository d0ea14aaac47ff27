//! P5 of `cargo xtask bench`: build times of an example program and of the
//! AWS plugin, each cold (an empty target directory; crates already
//! downloaded) and then incremental (one of its source files touched), as a
//! developer gets them: incremental compilation on, whatever the caller set.

use std::path::Path;
use std::time::{Instant, SystemTime};

use crate::bench::Figure;
use crate::{Result, cargo, workspace_root};

/// What is built: a name for the table, the package and binary, and the file touched.
const BUILDS: [(&str, &str, &str); 2] = [
    ("example program ai-base", "ai-base", "examples/ai-platform/base/src/main.rs"),
    ("AWS plugin", "cairn-provider-aws", "sdk/aws-provider/src/lib.rs"),
];

pub(crate) fn run() -> Result<Vec<Figure>> {
    let mut figures = Vec::new();
    for (what, package, touched) in BUILDS {
        let target = tempfile::tempdir().map_err(|e| format!("cannot create a temp dir: {e}"))?;
        let cold = build(target.path(), package)?;
        touch(&workspace_root().join(touched))?;
        let incremental = build(target.path(), package)?;
        println!("P5 {what}: cold {cold:.1} s, after touching {touched} {incremental:.1} s");
        figures.push(Figure::reported(&format!("P5 cold build, {what}"), cold, " s"));
        figures.push(Figure::reported(&format!("P5 incremental build, {what}"), incremental, " s"));
    }
    Ok(figures)
}

/// Seconds to build `package`'s binary into `target`.
fn build(target: &Path, package: &str) -> Result<f64> {
    let start = Instant::now();
    let mut cmd = cargo();
    cmd.args(["build", "--quiet", "-p", package, "--bin", package])
        .env("CARGO_TARGET_DIR", target)
        .env_remove("CARGO_INCREMENTAL");
    crate::run(&mut cmd)?;
    Ok(start.elapsed().as_secs_f64())
}

/// Marks `path` as changed now, as an editor's save does.
fn touch(path: &Path) -> Result {
    std::fs::File::options()
        .append(true)
        .open(path)
        .and_then(|f| f.set_modified(SystemTime::now()))
        .map_err(|e| format!("cannot touch {}: {e}", path.display()))
}
