//! Cairn's provider protocol.
//!
//! `proto/cairn/provider/v1/provider.proto` is the source of truth. The Rust
//! code generated from it is checked in under `src/generated/` so that
//! protocol changes show in review and no build needs `protoc`; `cargo xtask
//! codegen` regenerates it and a test in `xtask` fails when it is stale.
//!
//! [`convert`] maps between the wire messages and `cairn-core`'s types.

/// Protocol version carried in `Configure` and in the plugin handshake.
pub const PROTOCOL_VERSION: u32 = 1;

/// The generated messages, client and server.
#[allow(missing_docs, unreachable_pub, clippy::all)]
#[rustfmt::skip]
pub mod v1 {
    include!("generated/cairn.provider.v1.rs");
}

pub mod convert;
