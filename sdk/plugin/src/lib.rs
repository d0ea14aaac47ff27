//! Provider plugins over gRPC.
//!
//! A provider runs as its own process so that a user's program never links
//! the cloud SDKs. The engine side ([`host`]) finds the plugin binary, starts
//! it, reads one handshake line from its stdout and then talks gRPC to it
//! through [`client::GrpcProvider`], which implements
//! [`cairn_core::Provider`]. The plugin side ([`serve`]) wraps any
//! `Provider` in the gRPC server and prints the handshake.
//!
//! The handshake line is `CAIRN_PLUGIN|<protocol version>|tcp|127.0.0.1:<port>`.
//! A plugin exits when its stdin closes, so it never outlives the engine, even
//! when the engine is killed.

pub mod client;
pub mod data_keys;
pub mod host;
pub mod logging;
pub mod serve;
pub mod source_build;
pub mod state_client;
pub mod state_serve;

pub use client::GrpcProvider;
pub use data_keys::{GrpcDataKeys, KeyService};
pub use host::{PluginError, find_plugin, launch, launch_in, plugin_binary_name};
pub use serve::{Services, serve_main, serve_main_with};
pub use source_build::{cache_dir, source_root};
pub use state_client::GrpcStateStore;
pub use state_serve::BackendOpener;

/// The first field of the handshake line.
pub const HANDSHAKE_PREFIX: &str = "CAIRN_PLUGIN";
