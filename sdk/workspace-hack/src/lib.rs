//! No code. This crate's manifest turns on one union of features of shared
//! third-party crates for every build of the workspace; see its Cargo.toml
//! and `docs/building.md`.
