//! The data key service: a plugin makes and unwraps data keys with a key
//! service it can reach (AWS KMS in the AWS plugin), so that the engine can
//! seal secrets under them without linking that service's SDK.
//!
//! The plaintext data key crosses the loopback connection to the engine,
//! which the plugin process serves only to its parent.

use std::collections::BTreeMap;
use std::sync::Arc;

use cairn_core::{ProviderError, Value};
use cairn_proto::convert::{error_to_status, status_to_error, value_from_wire, wire};
use cairn_proto::v1;
use cairn_proto::v1::data_keys_client::DataKeysClient;
use cairn_proto::v1::data_keys_server::DataKeys as DataKeysService;
use tonic::{Request, Response, Status};

use crate::GrpcProvider;

/// A key service a plugin serves (the plugin side).
#[async_trait::async_trait]
pub trait KeyService: Send + Sync {
    /// A fresh 256-bit data key under `key_url`, bound to `context`: (plaintext, wrapped).
    async fn generate(
        &self,
        key_url: &str,
        config: Value,
        context: BTreeMap<String, String>,
    ) -> Result<(Vec<u8>, Vec<u8>), ProviderError>;

    /// The plaintext of a data key `generate` wrapped with the same `context`.
    async fn unwrap(
        &self,
        key_url: &str,
        config: Value,
        context: BTreeMap<String, String>,
        wrapped: Vec<u8>,
    ) -> Result<Vec<u8>, ProviderError>;
}

pub(crate) struct KeyServer(pub(crate) Arc<dyn KeyService>);

#[tonic::async_trait]
impl DataKeysService for KeyServer {
    async fn generate_data_key(
        &self,
        req: Request<v1::DataKeyRequest>,
    ) -> Result<Response<v1::DataKeyResponse>, Status> {
        let r = req.into_inner();
        let context = r.context.into_iter().collect();
        let (plaintext, wrapped) =
            self.0.generate(&r.key_url, value_from_wire(r.config.as_ref()), context).await.map_err(error_to_status)?;
        Ok(Response::new(v1::DataKeyResponse { plaintext, wrapped }))
    }

    async fn unwrap_data_key(&self, req: Request<v1::DataKeyRequest>) -> Result<Response<v1::DataKeyResponse>, Status> {
        let r = req.into_inner();
        let context = r.context.into_iter().collect();
        let plaintext = self
            .0
            .unwrap(&r.key_url, value_from_wire(r.config.as_ref()), context, r.wrapped)
            .await
            .map_err(error_to_status)?;
        Ok(Response::new(v1::DataKeyResponse { plaintext, wrapped: Vec::new() }))
    }
}

/// The engine side: data keys from a key service a plugin process reaches.
pub struct GrpcDataKeys {
    plugin: Arc<GrpcProvider>,
    key_url: String,
    config: Value,
    context: BTreeMap<String, String>,
}

impl GrpcDataKeys {
    /// Data keys under `key_url` (e.g. `awskms://alias/cairn`) from `plugin`,
    /// configured like the plugin's provider (`config`), bound to `context`
    /// (a wrapped key opens only with the same context).
    pub fn new(plugin: Arc<GrpcProvider>, key_url: &str, config: Value, context: BTreeMap<String, String>) -> Self {
        Self { plugin, key_url: key_url.to_owned(), config, context }
    }

    fn request(&self, wrapped: Vec<u8>) -> v1::DataKeyRequest {
        v1::DataKeyRequest {
            key_url: self.key_url.clone(),
            config: wire(&self.config),
            context: self.context.clone().into_iter().collect(),
            wrapped,
        }
    }
}

#[async_trait::async_trait]
impl cairn_secrets::DataKeys for GrpcDataKeys {
    fn describe(&self) -> String {
        self.key_url.clone()
    }

    async fn generate(&self) -> Result<(Vec<u8>, Vec<u8>), ProviderError> {
        let out = DataKeysClient::new(self.plugin.channel())
            .generate_data_key(self.request(Vec::new()))
            .await
            .map_err(|s| status_to_error(&s))?
            .into_inner();
        Ok((out.plaintext, out.wrapped))
    }

    async fn unwrap(&self, wrapped: &[u8]) -> Result<Vec<u8>, ProviderError> {
        let out = DataKeysClient::new(self.plugin.channel())
            .unwrap_data_key(self.request(wrapped.to_vec()))
            .await
            .map_err(|s| status_to_error(&s))?
            .into_inner();
        Ok(out.plaintext)
    }
}
