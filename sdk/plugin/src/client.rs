//! The gRPC client that makes a plugin process look like a [`Provider`].

use cairn_core::{
    CheckRequest, CheckResponse, CreateRequest, CreateResponse, Declaration, DeclarationRequest, DeleteRequest,
    DiffRequest, DiffResponse, FinishRequest, FinishResponse, Provider, ProviderError, ReadRequest, ReadResponse,
    UpdateRequest, UpdateResponse, Value,
};
use cairn_proto::convert::{diffs_from_wire, failures_from_wire, status_to_error, value_from_wire, wire};
use cairn_proto::v1;
use cairn_proto::v1::resource_provider_client::ResourceProviderClient;
use cairn_proto::{PROTOCOL_VERSION, convert};
use tonic::transport::Channel;

/// A provider plugin process, reached over gRPC. Dropping it ends the process.
pub struct GrpcProvider {
    client: ResourceProviderClient<Channel>,
    channel: Channel,
    /// The version the plugin reported when configured.
    version: std::sync::OnceLock<String>,
    // Held so the process lives as long as this value (killed on drop; it also
    // exits by itself when its stdin, held here, closes).
    _child: tokio::process::Child,
}

impl GrpcProvider {
    pub(crate) async fn connect(addr: &str, child: tokio::process::Child) -> Result<Self, String> {
        let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
            .map_err(|e| format!("announced a bad address {addr}: {e}"))?
            .connect()
            .await
            .map_err(|e| format!("could not be reached at {addr}: {e}"))?;
        Ok(Self {
            client: ResourceProviderClient::new(channel.clone()),
            channel,
            version: std::sync::OnceLock::new(),
            _child: child,
        })
    }

    /// The connection to the plugin, for its other services (state backends).
    pub fn channel(&self) -> Channel {
        self.channel.clone()
    }

    fn client(&self) -> ResourceProviderClient<Channel> {
        self.client.clone()
    }
}

fn err(s: tonic::Status) -> ProviderError {
    status_to_error(&s)
}

#[async_trait::async_trait]
impl Provider for GrpcProvider {
    fn version(&self) -> String {
        self.version.get().cloned().unwrap_or_default()
    }

    async fn configure(&self, config: Value) -> Result<(), ProviderError> {
        let r = self
            .client()
            .configure(v1::ConfigureRequest { config: wire(&config), protocol_version: PROTOCOL_VERSION })
            .await
            .map_err(err)?
            .into_inner();
        let _ = self.version.set(r.provider_version);
        Ok(())
    }

    async fn check(&self, req: CheckRequest) -> Result<CheckResponse, ProviderError> {
        let r = self
            .client()
            .check(v1::CheckRequest {
                urn: req.urn.to_string(),
                olds: req.olds.as_ref().map(convert::value_to_wire),
                news: wire(&req.news),
            })
            .await
            .map_err(err)?
            .into_inner();
        Ok(CheckResponse {
            inputs: value_from_wire(r.inputs.as_ref()),
            failures: failures_from_wire(&r.failures),
            warnings: failures_from_wire(&r.warnings),
        })
    }

    async fn diff(&self, req: DiffRequest) -> Result<DiffResponse, ProviderError> {
        let r = self
            .client()
            .diff(v1::DiffRequest {
                urn: req.urn.to_string(),
                id: req.id,
                olds: wire(&req.olds),
                old_outputs: wire(&req.old_outputs),
                news: wire(&req.news),
            })
            .await
            .map_err(err)?
            .into_inner();
        Ok(DiffResponse {
            changes: diffs_from_wire(&r.changes),
            replaces: r.replaces.iter().map(|p| cairn_core::PropertyPath::parse(p)).collect(),
            delete_before_replace: r.delete_before_replace,
        })
    }

    async fn create(&self, req: CreateRequest) -> Result<CreateResponse, ProviderError> {
        let r = self
            .client()
            .create(v1::CreateRequest { urn: req.urn.to_string(), inputs: wire(&req.inputs) })
            .await
            .map_err(err)?
            .into_inner();
        Ok(CreateResponse { id: r.id, outputs: value_from_wire(r.outputs.as_ref()) })
    }

    async fn read(&self, req: ReadRequest) -> Result<Option<ReadResponse>, ProviderError> {
        let r = self
            .client()
            .read(v1::ReadRequest {
                urn: req.urn.to_string(),
                id: req.id,
                inputs: wire(&req.inputs),
                outputs: req.outputs.as_ref().map(convert::value_to_wire),
            })
            .await
            .map_err(err)?
            .into_inner();
        Ok(r.found.then(|| ReadResponse {
            id: r.id,
            inputs: value_from_wire(r.inputs.as_ref()),
            outputs: value_from_wire(r.outputs.as_ref()),
        }))
    }

    async fn update(&self, req: UpdateRequest) -> Result<UpdateResponse, ProviderError> {
        let r = self
            .client()
            .update(v1::UpdateRequest {
                urn: req.urn.to_string(),
                id: req.id,
                olds: wire(&req.olds),
                old_outputs: wire(&req.old_outputs),
                news: wire(&req.news),
            })
            .await
            .map_err(err)?
            .into_inner();
        Ok(UpdateResponse { outputs: value_from_wire(r.outputs.as_ref()) })
    }

    async fn delete(&self, req: DeleteRequest) -> Result<(), ProviderError> {
        self.client()
            .delete(v1::DeleteRequest {
                urn: req.urn.to_string(),
                id: req.id,
                inputs: wire(&req.inputs),
                outputs: wire(&req.outputs),
            })
            .await
            .map_err(err)?;
        Ok(())
    }

    async fn declaration(&self, req: DeclarationRequest) -> Result<Declaration, ProviderError> {
        let r = self
            .client()
            .declare(v1::DeclareRequest { urn: req.urn.to_string(), inputs: wire(&req.inputs) })
            .await
            .map_err(err)?
            .into_inner();
        Ok(Declaration { uses: r.uses, expression: r.expression, inputs: value_from_wire(r.inputs.as_ref()) })
    }

    async fn finish(&self, req: FinishRequest) -> Result<FinishResponse, ProviderError> {
        let r = self
            .client()
            .finish(v1::FinishRequest {
                project: req.project,
                stack: req.stack,
                serial: req.serial,
                command: req.command,
            })
            .await
            .map_err(err)?
            .into_inner();
        Ok(FinishResponse { notes: r.notes })
    }
}
