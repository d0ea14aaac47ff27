//! Cairn's `random` provider: random passwords and IDs, generated once from
//! the operating system's randomness (through `rand`'s thread generator, a
//! CSPRNG seeded by the OS) and then kept in the state.
//!
//! Nothing lives outside the state, so Read reports the recorded outputs
//! when it is given them, and otherwise says the value is gone: an
//! interrupted create is simply made again. Every property replaces (see the
//! schemas in `cairn-random`), so there is no update. Check and Diff come
//! from the provider SDK, as they do for the AWS provider.

use async_trait::async_trait;
use cairn_core::{
    CheckRequest, CheckResponse, CreateRequest, CreateResponse, DeleteRequest, DiffRequest, DiffResponse, Provider,
    ProviderError, ReadRequest, ReadResponse, UpdateRequest, UpdateResponse, Value,
};
use cairn_provider_sdk::find_handler;
use cairn_random::{IdArgs, PasswordArgs};

mod id;
mod password;

cairn_provider_sdk::resource_handlers! {
    context = ();
    PasswordType => password, PasswordArgs;
    IdType => id, IdArgs;
}

/// The `random` provider. It needs no configuration.
#[derive(Debug, Default, Clone, Copy)]
pub struct RandomProvider;

/// Every type changes by replacement only, so an update is a bug in the caller.
fn no_update(req: &UpdateRequest) -> ProviderError {
    ProviderError::invalid(format!(
        "{}: random values are never updated in place; every change replaces them (a Diff said otherwise?)",
        req.urn
    ))
}

/// Recorded outputs, when Read was given them: the live state of a value
/// that lives only in the state.
fn recorded(req: ReadRequest) -> Option<ReadResponse> {
    match (req.id, req.outputs) {
        (Some(id), Some(outputs)) => Some(ReadResponse { id, inputs: req.inputs, outputs }),
        _ => None,
    }
}

#[async_trait]
impl Provider for RandomProvider {
    fn version(&self) -> String {
        env!("CARGO_PKG_VERSION").to_owned()
    }

    /// The provider has no settings, so any key is a mistake (a typo, or a
    /// setting meant for another provider) and is refused.
    async fn configure(&self, config: Value) -> Result<(), ProviderError> {
        match config.as_map().and_then(|m| m.keys().next()) {
            Some(key) => Err(ProviderError::invalid(format!(
                "unknown setting `{key}`: the random provider takes no settings; remove it"
            ))),
            None => Ok(()),
        }
    }

    async fn check(&self, req: CheckRequest) -> Result<CheckResponse, ProviderError> {
        Ok(find_handler("random", HANDLERS, &req.urn)?.check(req))
    }

    async fn diff(&self, req: DiffRequest) -> Result<DiffResponse, ProviderError> {
        Ok(find_handler("random", HANDLERS, &req.urn)?.diff(&req))
    }

    async fn create(&self, req: CreateRequest) -> Result<CreateResponse, ProviderError> {
        find_handler("random", HANDLERS, &req.urn)?.create(&(), req).await
    }

    async fn read(&self, req: ReadRequest) -> Result<Option<ReadResponse>, ProviderError> {
        find_handler("random", HANDLERS, &req.urn)?.read(&(), req).await
    }

    async fn update(&self, req: UpdateRequest) -> Result<UpdateResponse, ProviderError> {
        find_handler("random", HANDLERS, &req.urn)?.update(&(), req).await
    }

    async fn delete(&self, req: DeleteRequest) -> Result<(), ProviderError> {
        find_handler("random", HANDLERS, &req.urn)?.delete(&(), req).await
    }
}
