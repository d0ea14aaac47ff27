//! The plugin side: serve a [`Provider`] over gRPC.

use std::process::ExitCode;
use std::sync::Arc;

use cairn_core::{
    CheckRequest, CreateRequest, DeclarationRequest, DeleteRequest, DiffRequest, FinishRequest, Provider, ReadRequest,
    UpdateRequest, Urn,
};
use cairn_proto::PROTOCOL_VERSION;
use cairn_proto::convert::{diffs_to_wire, error_to_status, failures_to_wire, value_from_wire, wire};
use cairn_proto::v1;
use cairn_proto::v1::resource_provider_server::{ResourceProvider, ResourceProviderServer};
use tokio::io::AsyncReadExt;
use tonic::{Request, Response, Status};

use crate::HANDSHAKE_PREFIX;
use crate::data_keys::{KeyServer, KeyService};
use crate::state_serve::{BackendOpener, StateServer};
use cairn_proto::v1::data_keys_server::DataKeysServer;
use cairn_proto::v1::state_backend_server::StateBackendServer;

/// Runs a provider as a plugin process: binds a loopback port, prints the
/// handshake line, serves until stdin closes. Call it from the plugin's `main`.
///
/// ```no_run
/// # struct MyProvider;
/// # #[async_trait::async_trait]
/// # impl cairn_core::Provider for MyProvider {
/// #   async fn configure(&self, _: cairn_core::Value) -> Result<(), cairn_core::ProviderError> { Ok(()) }
/// #   async fn check(&self, r: cairn_core::CheckRequest) -> Result<cairn_core::CheckResponse, cairn_core::ProviderError> { unimplemented!() }
/// #   async fn diff(&self, r: cairn_core::DiffRequest) -> Result<cairn_core::DiffResponse, cairn_core::ProviderError> { unimplemented!() }
/// #   async fn create(&self, r: cairn_core::CreateRequest) -> Result<cairn_core::CreateResponse, cairn_core::ProviderError> { unimplemented!() }
/// #   async fn read(&self, r: cairn_core::ReadRequest) -> Result<Option<cairn_core::ReadResponse>, cairn_core::ProviderError> { unimplemented!() }
/// #   async fn update(&self, r: cairn_core::UpdateRequest) -> Result<cairn_core::UpdateResponse, cairn_core::ProviderError> { unimplemented!() }
/// #   async fn delete(&self, r: cairn_core::DeleteRequest) -> Result<(), cairn_core::ProviderError> { unimplemented!() }
/// # }
/// fn main() -> std::process::ExitCode {
///     cairn_plugin::serve_main(MyProvider)
/// }
/// ```
pub fn serve_main(provider: impl Provider + 'static) -> ExitCode {
    serve_plugin(Arc::new(provider), Services::default())
}

/// What a plugin serves besides its provider.
#[derive(Default)]
pub struct Services {
    backends: Option<Arc<dyn BackendOpener>>,
    keys: Option<Arc<dyn KeyService>>,
}

impl Services {
    /// Also serve the state backends `opener` opens (e.g. `s3://` URLs).
    pub fn backends(mut self, opener: impl BackendOpener + 'static) -> Self {
        self.backends = Some(Arc::new(opener));
        self
    }

    /// Also serve data keys from a key service (e.g. `awskms://` keys).
    pub fn data_keys(mut self, keys: impl KeyService + 'static) -> Self {
        self.keys = Some(Arc::new(keys));
        self
    }
}

/// Like [`serve_main`], also serving `services`.
pub fn serve_main_with(provider: impl Provider + 'static, services: Services) -> ExitCode {
    serve_plugin(Arc::new(provider), services)
}

fn serve_plugin(provider: Arc<dyn Provider>, services: Services) -> ExitCode {
    crate::logging::init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the plugin's runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(provider, services)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(provider: Arc<dyn Provider>, services: Services) -> Result<(), Box<dyn std::error::Error>> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    // The handshake is the only thing a plugin ever writes to stdout.
    println!("{HANDSHAKE_PREFIX}|{PROTOCOL_VERSION}|tcp|{addr}");
    use std::io::Write;
    std::io::stdout().flush()?;

    let stdin_closed = async {
        let mut stdin = tokio::io::stdin();
        let mut buf = [0u8; 256];
        while matches!(stdin.read(&mut buf).await, Ok(n) if n > 0) {}
    };
    tonic::transport::Server::builder()
        .add_service(ResourceProviderServer::new(Adapter(provider)))
        .add_optional_service(services.backends.map(|o| StateBackendServer::new(StateServer::new(o))))
        .add_optional_service(services.keys.map(|k| DataKeysServer::new(KeyServer(k))))
        .serve_with_incoming_shutdown(without_delay(listener), stdin_closed)
        .await?;
    Ok(())
}

/// The connections `listener` accepts, with TCP_NODELAY set: without it each
/// small response frame waits for the host's delayed ACK, 22 ms per call
/// instead of 0.7 (docs/benchmarks.md, P4). The server's own `tcp_nodelay`
/// setting reaches only sockets it accepts itself.
fn without_delay(
    listener: tokio::net::TcpListener,
) -> impl tokio_stream::Stream<Item = std::io::Result<tokio::net::TcpStream>> {
    tokio_stream::StreamExt::map(tokio_stream::wrappers::TcpListenerStream::new(listener), |socket| {
        socket.and_then(|s| s.set_nodelay(true).map(|()| s))
    })
}

struct Adapter(Arc<dyn Provider>);

fn urn(s: &str) -> Result<Urn, Status> {
    Urn::parse(s).map_err(|e| Status::invalid_argument(e.to_string()))
}

#[tonic::async_trait]
impl ResourceProvider for Adapter {
    async fn configure(&self, req: Request<v1::ConfigureRequest>) -> Result<Response<v1::ConfigureResponse>, Status> {
        let req = req.into_inner();
        if req.protocol_version != PROTOCOL_VERSION {
            return Err(Status::failed_precondition(format!(
                "the engine speaks provider protocol {} but this plugin speaks {PROTOCOL_VERSION}: use matching versions of Cairn and the plugin",
                req.protocol_version
            )));
        }
        self.0.configure(value_from_wire(req.config.as_ref())).await.map_err(error_to_status)?;
        Ok(Response::new(v1::ConfigureResponse { provider_version: self.0.version() }))
    }

    async fn check(&self, req: Request<v1::CheckRequest>) -> Result<Response<v1::CheckResponse>, Status> {
        let req = req.into_inner();
        let resp = self
            .0
            .check(CheckRequest {
                urn: urn(&req.urn)?,
                olds: req.olds.as_ref().map(|o| value_from_wire(Some(o))),
                news: value_from_wire(req.news.as_ref()),
            })
            .await
            .map_err(error_to_status)?;
        Ok(Response::new(v1::CheckResponse {
            inputs: wire(&resp.inputs),
            failures: failures_to_wire(&resp.failures),
            warnings: failures_to_wire(&resp.warnings),
        }))
    }

    async fn diff(&self, req: Request<v1::DiffRequest>) -> Result<Response<v1::DiffResponse>, Status> {
        let req = req.into_inner();
        let resp = self
            .0
            .diff(DiffRequest {
                urn: urn(&req.urn)?,
                id: req.id,
                olds: value_from_wire(req.olds.as_ref()),
                old_outputs: value_from_wire(req.old_outputs.as_ref()),
                news: value_from_wire(req.news.as_ref()),
            })
            .await
            .map_err(error_to_status)?;
        Ok(Response::new(v1::DiffResponse {
            changes: diffs_to_wire(&resp.changes),
            replaces: resp.replaces.iter().map(ToString::to_string).collect(),
            delete_before_replace: resp.delete_before_replace,
        }))
    }

    async fn create(&self, req: Request<v1::CreateRequest>) -> Result<Response<v1::CreateResponse>, Status> {
        let req = req.into_inner();
        let resp = self
            .0
            .create(CreateRequest { urn: urn(&req.urn)?, inputs: value_from_wire(req.inputs.as_ref()) })
            .await
            .map_err(error_to_status)?;
        Ok(Response::new(v1::CreateResponse { id: resp.id, outputs: wire(&resp.outputs) }))
    }

    async fn read(&self, req: Request<v1::ReadRequest>) -> Result<Response<v1::ReadResponse>, Status> {
        let req = req.into_inner();
        let resp = self
            .0
            .read(ReadRequest {
                urn: urn(&req.urn)?,
                id: req.id,
                inputs: value_from_wire(req.inputs.as_ref()),
                outputs: req.outputs.as_ref().map(|v| value_from_wire(Some(v))),
            })
            .await
            .map_err(error_to_status)?;
        Ok(Response::new(match resp {
            Some(r) => v1::ReadResponse { found: true, id: r.id, inputs: wire(&r.inputs), outputs: wire(&r.outputs) },
            None => v1::ReadResponse { found: false, ..Default::default() },
        }))
    }

    async fn update(&self, req: Request<v1::UpdateRequest>) -> Result<Response<v1::UpdateResponse>, Status> {
        let req = req.into_inner();
        let resp = self
            .0
            .update(UpdateRequest {
                urn: urn(&req.urn)?,
                id: req.id,
                olds: value_from_wire(req.olds.as_ref()),
                old_outputs: value_from_wire(req.old_outputs.as_ref()),
                news: value_from_wire(req.news.as_ref()),
            })
            .await
            .map_err(error_to_status)?;
        Ok(Response::new(v1::UpdateResponse { outputs: wire(&resp.outputs) }))
    }

    async fn delete(&self, req: Request<v1::DeleteRequest>) -> Result<Response<v1::DeleteResponse>, Status> {
        let req = req.into_inner();
        self.0
            .delete(DeleteRequest {
                urn: urn(&req.urn)?,
                id: req.id,
                inputs: value_from_wire(req.inputs.as_ref()),
                outputs: value_from_wire(req.outputs.as_ref()),
            })
            .await
            .map_err(error_to_status)?;
        Ok(Response::new(v1::DeleteResponse {}))
    }

    async fn declare(&self, req: Request<v1::DeclareRequest>) -> Result<Response<v1::DeclareResponse>, Status> {
        let req = req.into_inner();
        let d = self
            .0
            .declaration(DeclarationRequest { urn: urn(&req.urn)?, inputs: value_from_wire(req.inputs.as_ref()) })
            .await
            .map_err(error_to_status)?;
        Ok(Response::new(v1::DeclareResponse { uses: d.uses, expression: d.expression, inputs: wire(&d.inputs) }))
    }

    async fn finish(&self, req: Request<v1::FinishRequest>) -> Result<Response<v1::FinishResponse>, Status> {
        let req = req.into_inner();
        let done = self
            .0
            .finish(FinishRequest { project: req.project, stack: req.stack, serial: req.serial, command: req.command })
            .await
            .map_err(error_to_status)?;
        Ok(Response::new(v1::FinishResponse { notes: done.notes }))
    }
}

#[cfg(test)]
mod tests {
    use super::without_delay;

    #[tokio::test]
    async fn accepted_connections_send_without_delay() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut incoming = Box::pin(without_delay(listener));
        let _client = tokio::net::TcpStream::connect(addr).await.unwrap();
        let accepted = tokio_stream::StreamExt::next(&mut incoming).await.unwrap().unwrap();
        assert!(accepted.nodelay().unwrap(), "a plugin's connections must set TCP_NODELAY");
    }
}
