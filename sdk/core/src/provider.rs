//! The provider interface: what the engine asks of whoever manages a resource type.
//!
//! The engine speaks only this trait. The gRPC client in `cairn-plugin`
//! implements it by calling a plugin process; the plugin side adapts a
//! provider's implementation of it to the gRPC server; engine tests implement
//! it in-process with closures.

use serde::{Deserialize, Serialize};

use crate::urn::Urn;
use crate::value::{PropertyDiff, PropertyPath, Value};

/// Why a provider call failed. The engine decides what to do by the code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderError {
    /// The kind of failure.
    pub code: ErrorCode,
    /// What happened, with the cloud's own error code where there is one.
    pub message: String,
}

impl ProviderError {
    /// Builds an error.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }

    /// An invalid-argument error.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidArgument, message)
    }

    /// An internal error.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Internal, message)
    }
}

impl std::fmt::Display for ProviderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ProviderError {}

/// The kind of a provider failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The inputs are wrong; retrying will not help.
    InvalidArgument,
    /// The resource does not exist.
    NotFound,
    /// The caller lacks permission.
    PermissionDenied,
    /// The provider or the cloud could not be reached.
    Unavailable,
    /// A waiter ran out of time.
    DeadlineExceeded,
    /// Anything else.
    Internal,
}

/// One reason a resource's inputs were refused by Check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckFailure {
    /// The property at fault (empty for the resource as a whole).
    pub property: PropertyPath,
    /// What is wrong and how to fix it.
    pub reason: String,
}

/// Ask the provider to validate inputs and fill defaults (e.g. auto-names).
#[derive(Debug, Clone)]
pub struct CheckRequest {
    /// The resource.
    pub urn: Urn,
    /// The inputs recorded in state, if the resource exists (so defaults such
    /// as auto-names are kept stable); `None` for a new resource.
    pub olds: Option<Value>,
    /// The inputs the program declares now (may contain unknowns).
    pub news: Value,
}

/// The checked inputs.
#[derive(Debug, Clone, Default)]
pub struct CheckResponse {
    /// The inputs with defaults filled in.
    pub inputs: Value,
    /// Reasons the inputs are refused; empty when they are valid.
    pub failures: Vec<CheckFailure>,
    /// Reasons the inputs are questionable but allowed.
    pub warnings: Vec<CheckFailure>,
}

/// Ask the provider what changing a resource's inputs would mean.
#[derive(Debug, Clone)]
pub struct DiffRequest {
    /// The resource.
    pub urn: Urn,
    /// Its provider ID.
    pub id: String,
    /// The inputs recorded in state.
    pub olds: Value,
    /// The outputs recorded in state.
    pub old_outputs: Value,
    /// The checked new inputs.
    pub news: Value,
}

/// The provider's answer to a diff.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DiffResponse {
    /// Every changed property path.
    pub changes: Vec<PropertyDiff>,
    /// The changed paths that cannot be updated in place and force a replacement.
    pub replaces: Vec<PropertyPath>,
    /// The replacement must delete the old resource before creating the new one
    /// (e.g. its fixed physical name cannot exist twice).
    pub delete_before_replace: bool,
}

impl DiffResponse {
    /// True when nothing changed.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }
}

/// Create a resource.
#[derive(Debug, Clone)]
pub struct CreateRequest {
    /// The resource.
    pub urn: Urn,
    /// The checked inputs, all known.
    pub inputs: Value,
}

/// A created resource.
#[derive(Debug, Clone)]
pub struct CreateResponse {
    /// The provider ID (e.g. the bucket name).
    pub id: String,
    /// The outputs as a map value.
    pub outputs: Value,
}

/// Read a resource's live state.
#[derive(Debug, Clone)]
pub struct ReadRequest {
    /// The resource.
    pub urn: Urn,
    /// Its provider ID, or `None` when a create was interrupted before its ID
    /// was recorded: the provider then finds it from the inputs if it can.
    pub id: Option<String>,
    /// The inputs it was created or last updated with.
    pub inputs: Value,
    /// The outputs the state recorded for it, when the engine has them (not
    /// when finding a resource again after a crash, nor for an import): the
    /// live state of a resource that exists only in the state, such as a
    /// random password.
    pub outputs: Option<Value>,
}

/// A resource's live state, in the same shape as its inputs.
#[derive(Debug, Clone)]
pub struct ReadResponse {
    /// The provider ID.
    pub id: String,
    /// The live inputs, shaped like the declared ones so they compare like with like.
    pub inputs: Value,
    /// The live outputs.
    pub outputs: Value,
}

/// Update a resource in place.
#[derive(Debug, Clone)]
pub struct UpdateRequest {
    /// The resource.
    pub urn: Urn,
    /// Its provider ID.
    pub id: String,
    /// The inputs recorded in state.
    pub olds: Value,
    /// The outputs recorded in state.
    pub old_outputs: Value,
    /// The new inputs, all known.
    pub news: Value,
}

/// An updated resource.
#[derive(Debug, Clone)]
pub struct UpdateResponse {
    /// The outputs after the update.
    pub outputs: Value,
}

/// Delete a resource.
#[derive(Debug, Clone)]
pub struct DeleteRequest {
    /// The resource.
    pub urn: Urn,
    /// Its provider ID.
    pub id: String,
    /// The inputs recorded in state.
    pub inputs: Value,
    /// The outputs recorded in state.
    pub outputs: Value,
}

/// Write the Rust code declaring a resource with these inputs (what `import` prints).
#[derive(Debug, Clone)]
pub struct DeclarationRequest {
    /// The resource (its type picks the argument struct).
    pub urn: Urn,
    /// Its inputs, e.g. the live ones a Read returned.
    pub inputs: Value,
}

/// The arguments of a resource as Rust code.
#[derive(Debug, Clone)]
pub struct Declaration {
    /// Paths the expression names, to import (`cairn::aws::eks::NodeGroupArgs`).
    pub uses: Vec<String>,
    /// The argument struct's builder expression.
    pub expression: String,
    /// The inputs that expression declares: the request's, as the argument
    /// struct holds them (what a program pasting the code will declare).
    pub inputs: Value,
}

/// The end of a run that recorded changes, told to each provider the run started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinishRequest {
    /// The project.
    pub project: String,
    /// The stack.
    pub stack: String,
    /// The stack's serial after the run.
    pub serial: u64,
    /// The command (`up`, `destroy`, `refresh`, …).
    pub command: String,
}

/// A provider's last word on a run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FinishResponse {
    /// Lines to show the person running the command, such as the commit a GitOps provider made.
    pub notes: Vec<String>,
}

/// A provider of resource types. Every method must be safe to call concurrently.
///
/// Deleting a resource that is already gone succeeds. `read` returns
/// `Ok(None)` when the resource does not exist.
#[async_trait::async_trait]
pub trait Provider: Send + Sync {
    /// Receives the stack's provider configuration (region, endpoint, ...) before any other call.
    async fn configure(&self, config: Value) -> Result<(), ProviderError>;
    /// The provider's version (e.g. its crate's `CARGO_PKG_VERSION`); saved
    /// plans record it and refuse to apply under another. Empty when unknown.
    fn version(&self) -> String {
        String::new()
    }
    /// Validates inputs and fills defaults.
    async fn check(&self, req: CheckRequest) -> Result<CheckResponse, ProviderError>;
    /// Compares recorded and new inputs.
    async fn diff(&self, req: DiffRequest) -> Result<DiffResponse, ProviderError>;
    /// Creates a resource and waits until it is usable.
    async fn create(&self, req: CreateRequest) -> Result<CreateResponse, ProviderError>;
    /// Reads a resource's live state.
    async fn read(&self, req: ReadRequest) -> Result<Option<ReadResponse>, ProviderError>;
    /// Updates a resource in place.
    async fn update(&self, req: UpdateRequest) -> Result<UpdateResponse, ProviderError>;
    /// Deletes a resource and waits until it is gone.
    async fn delete(&self, req: DeleteRequest) -> Result<(), ProviderError>;
    /// Called once after a run that recorded changes (its state is written): a provider whose
    /// changes are batched finishes them here, such as a GitOps provider committing the files
    /// the run wrote. Most providers have nothing to do.
    async fn finish(&self, _req: FinishRequest) -> Result<FinishResponse, ProviderError> {
        Ok(FinishResponse::default())
    }
    /// Writes the Rust code that declares a resource with these inputs.
    /// Providers built on `cairn-provider-sdk` derive it from the argument
    /// structs; others cannot write code.
    async fn declaration(&self, req: DeclarationRequest) -> Result<Declaration, ProviderError> {
        Err(ProviderError::invalid(format!(
            "this provider cannot write Rust code for `{}`; declare the resource by hand, then adopt it with \
             `up --import NAME=ID`",
            req.urn.resource_type()
        )))
    }
}
