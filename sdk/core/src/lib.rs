//! Cairn's core model, shared by programs, the engine and providers.
//!
//! - [`urn`]: typed IDs — [`StackName`], [`ProjectName`], [`ResourceType`], [`Urn`].
//! - [`value`]: [`Value`], the property value model with unknown and secret markers.
//! - [`output`]: [`Output<T>`] and [`Input<T>`], typed values that carry dependencies.
//! - [`resource`] and [`context`]: how a program declares resources into a [`Stack`].
//! - [`component`]: typed components ([`ComponentArgs`]) declared like resources, with their [`Scope`].
//! - [`provider`]: the [`Provider`] interface the engine calls.
//! - [`schema`]: declarative resource type descriptions that drive Check, Diff and docs.
//!
//! This crate has no gRPC, no AWS and no async runtime dependency.

// Lets `resource!` name this crate as `cairn_core` inside it too.
extern crate self as cairn_core;

pub mod component;
pub mod config;
pub mod context;
pub mod output;
pub mod provider;
pub mod reference;
pub mod resource;
pub mod rust_code;
pub mod schema;
pub mod urn;
pub mod value;

pub use component::{ComponentArgs, InvalidArgs, Scope};
pub use config::{Config, ConfigError};
pub use context::{DeclareError, DeclaredStack, Stack};
pub use output::{Input, Output, OutputError, OutputSource};
pub use provider::{
    CheckFailure, CheckRequest, CheckResponse, CreateRequest, CreateResponse, Declaration, DeclarationRequest,
    DeleteRequest, DiffRequest, DiffResponse, ErrorCode, FinishRequest, FinishResponse, Provider, ProviderError,
    ReadRequest, ReadResponse, UpdateRequest, UpdateResponse,
};
pub use reference::{StackOutputs, StackReference};
pub use resource::{
    CustomResource, CustomTimeouts, DeclaredResource, Lifecycle, ResourceArgs, ResourceKind, ResourceOptions,
};
pub use urn::{InvalidId, ProjectName, ResourceType, StackName, Urn};
pub use value::{DiffKind, PropertyDiff, PropertyPath, Value};

/// Re-exported for the [`resource!`] macro.
pub use serde;
/// Re-exported so argument structs can derive builders without another dependency.
pub use typed_builder;
