//! Cairn: infrastructure as code in Rust for AI platforms.
//!
//! A program declares its resources with typed arguments; `cargo run --
//! preview | up | destroy --stack NAME` makes the cloud match it.
//!
//! ```no_run
//! use cairn::aws::s3::BucketArgs;
//!
//! fn main() -> std::process::ExitCode {
//!     cairn::run("demo", |ctx| {
//!         let bucket = ctx.resource("artifacts", BucketArgs::builder().build())?;
//!         ctx.export("bucket", &bucket.bucket);
//!         Ok(())
//!     })
//! }
//! ```
//!
//! Each stack has a config file `Cairn.<stack>.toml` beside the program
//! (see [`config`]). Provider plugins are separate processes found and, in a
//! cargo workspace, built on first use (see [`cairn_plugin::host`]).

pub mod backends;
mod cli;
pub mod config;
pub mod config_edit;
mod import_code;
pub mod plugins;
pub mod progress;
mod promote;
mod references;
pub mod render;
pub mod saved_plan;

pub use cairn_core::{
    ComponentArgs, Config, ConfigError, CustomResource, DeclareError, Input, InvalidArgs, Output, ProjectName,
    ResourceOptions, Scope, Stack, StackName, StackReference, Urn, Value, resource,
};
pub use cairn_engine as engine;

/// The AWS resource types.
#[cfg(feature = "aws")]
pub use cairn_aws as aws;

/// What a program returns: any error converts with `?`.
pub type Result<T = (), E = Box<dyn std::error::Error + Send + Sync + 'static>> = std::result::Result<T, E>;

/// Runs a Cairn program: parses the command line, declares the program's
/// resources for the chosen stack, and previews, applies or destroys them.
/// Returns the process exit code (0 success, 1 error).
pub fn run<F>(project: &str, program: F) -> std::process::ExitCode
where
    F: Fn(&Stack) -> Result,
{
    cli::main(project, program)
}
