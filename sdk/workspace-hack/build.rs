//! Empty: cargo builds a crate's `[build-dependencies]` only for a build
//! script, and those dependencies set the features of the crates built for
//! proc-macros and build scripts.

fn main() {}
