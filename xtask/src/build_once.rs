//! Each crate compiled once per target dir: the builds other commands make
//! (the demo, a program's `cargo run`, a plugin built on demand) must reuse
//! what the test build compiled. A shared crate with another feature set in
//! one of them would compile it, and everything above it (the whole AWS SDK
//! for the plugin), a second time; `sdk/workspace-hack` holds the union.

use serde_json::Value;

use crate::{Result, cargo, demo};

/// Builds each selection after the test build and fails naming every crate
/// it compiled again, with the feature set it wanted.
pub(crate) fn check() -> Result {
    let demo = demo::build_args();
    let selections: [(&str, Vec<&str>); 4] = [
        ("`cargo xtask demo`", demo.iter().map(String::as_str).collect()),
        // What sdk/plugin/src/host.rs runs when a program finds no plugin binary.
        ("a plugin built on demand", vec!["-p", "cairn-provider-aws", "--bin", "cairn-provider-aws"]),
        ("the GitOps plugin built on demand", vec!["-p", "cairn-provider-gitops", "--bin", "cairn-provider-gitops"]),
        ("`cargo run` of one program", vec!["-p", "ai-base"]),
    ];
    for (what, args) in selections {
        let mut build = cargo();
        build.args(["build", "--message-format=json"]).args(&args);
        let stdout = crate::run_capture(&mut build)?;
        let again = compiled(&stdout);
        if !again.is_empty() {
            return Err(format!(
                "{what} (`cargo build {}`) compiled again what the test build had compiled: {}. \
                 A shared crate has another feature set in that build; add the union of its features to \
                 sdk/workspace-hack/Cargo.toml (docs/building.md)",
                args.join(" "),
                again.join("; ")
            ));
        }
    }
    Ok(())
}

/// The artifacts a `cargo build --message-format=json` compiled (rather than
/// found fresh), as `name@version [features]`.
fn compiled(stdout: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["fresh"] == false)
        .map(|m| {
            let id = m["package_id"].as_str().unwrap_or("?");
            let name = id.rsplit_once('#').map_or(id, |(_, n)| n);
            let features: Vec<&str> =
                m["features"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
            format!("{name} [{}]", features.join(","))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::compiled;

    #[test]
    fn names_what_was_compiled_and_skips_what_was_fresh() {
        let out = concat!(
            r#"{"reason":"compiler-artifact","package_id":"registry+https://github.com/rust-lang/crates.io-index#serde@1.0.229","features":["derive","std"],"fresh":false}"#,
            "\n",
            r#"{"reason":"compiler-artifact","package_id":"path+file:///w/sdk/core#cairn-core@0.1.0","features":[],"fresh":true}"#,
            "\n",
            r#"{"reason":"build-finished","success":true}"#,
            "\n",
        );
        assert_eq!(compiled(out.as_bytes()), ["serde@1.0.229 [derive,std]"]);
    }
}
