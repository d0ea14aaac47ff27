//! The plugin side of the state backend service: any [`StateStore`] a plugin
//! can open (e.g. S3 from the AWS plugin) served over gRPC.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cairn_core::{ProjectName, StackName, Value};
use cairn_proto::convert::value_from_wire;
use cairn_proto::v1;
use cairn_proto::v1::state_backend_server::StateBackend;
use cairn_state::{StackSession, StateError, StateStore};
use tonic::{Request, Response, Status};

/// Opens the state stores a plugin serves, by URL.
#[async_trait::async_trait]
pub trait BackendOpener: Send + Sync {
    /// Opens the store at `url`, configured like the plugin's provider (`config`).
    async fn open(&self, url: &str, config: Value) -> Result<Box<dyn StateStore>, StateError>;
}

pub(crate) struct StateServer {
    opener: Arc<dyn BackendOpener>,
    stores: Mutex<HashMap<u64, Arc<dyn StateStore>>>,
    sessions: Mutex<HashMap<u64, Arc<dyn StackSession>>>,
    next: AtomicU64,
}

impl StateServer {
    pub(crate) fn new(opener: Arc<dyn BackendOpener>) -> Self {
        Self { opener, stores: Mutex::default(), sessions: Mutex::default(), next: AtomicU64::new(1) }
    }

    fn store(&self, id: u64) -> Result<Arc<dyn StateStore>, Status> {
        self.stores.lock().expect("stores").get(&id).cloned().ok_or_else(|| Status::not_found(format!("no store {id}")))
    }

    fn session(&self, id: u64) -> Result<Arc<dyn StackSession>, Status> {
        self.sessions
            .lock()
            .expect("sessions")
            .get(&id)
            .cloned()
            .ok_or_else(|| Status::not_found(format!("no session {id}")))
    }
}

fn names(project: &str, stack: &str) -> Result<(ProjectName, StackName), Status> {
    Ok((
        ProjectName::new(project).map_err(|e| Status::invalid_argument(e.to_string()))?,
        StackName::new(stack).map_err(|e| Status::invalid_argument(e.to_string()))?,
    ))
}

fn fail(e: StateError) -> Status {
    Status::aborted(e.to_wire())
}

fn json<T: serde::Serialize>(v: &T) -> Result<Response<v1::JsonResponse>, Status> {
    Ok(Response::new(v1::JsonResponse { json: serde_json::to_string(v).map_err(|e| Status::internal(e.to_string()))? }))
}

fn parse<T: serde::de::DeserializeOwned>(s: &str) -> Result<T, Status> {
    serde_json::from_str(s).map_err(|e| Status::invalid_argument(e.to_string()))
}

#[tonic::async_trait]
impl StateBackend for StateServer {
    async fn open_store(&self, req: Request<v1::OpenStoreRequest>) -> Result<Response<v1::OpenStoreResponse>, Status> {
        let req = req.into_inner();
        let store = self.opener.open(&req.url, value_from_wire(req.config.as_ref())).await.map_err(fail)?;
        let shown = store.describe();
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        self.stores.lock().expect("stores").insert(id, Arc::from(store));
        Ok(Response::new(v1::OpenStoreResponse { store_id: id, shown }))
    }

    async fn read_state(&self, req: Request<v1::StackRequest>) -> Result<Response<v1::JsonResponse>, Status> {
        let r = req.into_inner();
        let (p, s) = names(&r.project, &r.stack)?;
        let replayed = self.store(r.store_id)?.read(&p, &s).await.map_err(fail)?;
        json(&crate::state_client::WireReplayed::from(replayed))
    }

    async fn try_lock(&self, req: Request<v1::TryLockRequest>) -> Result<Response<v1::TryLockResponse>, Status> {
        let r = req.into_inner();
        let (p, s) = names(&r.project, &r.stack)?;
        let session = self
            .store(r.store_id)?
            .try_lock(&p, &s, &r.operation, Duration::from_secs(r.ttl_secs))
            .await
            .map_err(fail)?;
        let lock_json = serde_json::to_string(session.lock_info()).map_err(|e| Status::internal(e.to_string()))?;
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        self.sessions.lock().expect("sessions").insert(id, Arc::from(session));
        Ok(Response::new(v1::TryLockResponse { session_id: id, lock_json }))
    }

    async fn session_read(&self, req: Request<v1::SessionRequest>) -> Result<Response<v1::JsonResponse>, Status> {
        let replayed = self.session(req.into_inner().session_id)?.read().await.map_err(fail)?;
        json(&crate::state_client::WireReplayed::from(replayed))
    }

    async fn append(&self, req: Request<v1::AppendRequest>) -> Result<Response<v1::Empty>, Status> {
        let r = req.into_inner();
        self.session(r.session_id)?.append(&parse(&r.entry_json)?).await.map_err(fail)?;
        Ok(Response::new(v1::Empty {}))
    }

    async fn compact(&self, req: Request<v1::CompactRequest>) -> Result<Response<v1::Empty>, Status> {
        let r = req.into_inner();
        self.session(r.session_id)?.compact(&parse(&r.state_json)?, &parse(&r.changes_json)?).await.map_err(fail)?;
        Ok(Response::new(v1::Empty {}))
    }

    async fn heartbeat(&self, req: Request<v1::SessionRequest>) -> Result<Response<v1::Empty>, Status> {
        self.session(req.into_inner().session_id)?.heartbeat().await.map_err(fail)?;
        Ok(Response::new(v1::Empty {}))
    }

    async fn release(&self, req: Request<v1::SessionRequest>) -> Result<Response<v1::Empty>, Status> {
        let id = req.into_inner().session_id;
        let session = self.session(id)?;
        let result = session.release().await;
        self.sessions.lock().expect("sessions").remove(&id);
        result.map_err(fail)?;
        Ok(Response::new(v1::Empty {}))
    }

    async fn current_lock(&self, req: Request<v1::StackRequest>) -> Result<Response<v1::JsonResponse>, Status> {
        let r = req.into_inner();
        let (p, s) = names(&r.project, &r.stack)?;
        json(&self.store(r.store_id)?.current_lock(&p, &s).await.map_err(fail)?)
    }

    async fn unlock(&self, req: Request<v1::UnlockRequest>) -> Result<Response<v1::JsonResponse>, Status> {
        let r = req.into_inner();
        let (p, s) = names(&r.project, &r.stack)?;
        json(&self.store(r.store_id)?.unlock(&p, &s, &r.lock_id).await.map_err(fail)?)
    }

    async fn history(&self, req: Request<v1::StackRequest>) -> Result<Response<v1::JsonResponse>, Status> {
        let r = req.into_inner();
        let (p, s) = names(&r.project, &r.stack)?;
        json(&self.store(r.store_id)?.history(&p, &s).await.map_err(fail)?)
    }

    async fn version(&self, req: Request<v1::VersionRequest>) -> Result<Response<v1::JsonResponse>, Status> {
        let r = req.into_inner();
        let (p, s) = names(&r.project, &r.stack)?;
        json(&self.store(r.store_id)?.version(&p, &s, r.serial).await.map_err(fail)?)
    }

    async fn list_stacks(&self, req: Request<v1::StackRequest>) -> Result<Response<v1::JsonResponse>, Status> {
        let r = req.into_inner();
        let (p, _) = names(&r.project, "-")?;
        json(&self.store(r.store_id)?.list_stacks(&p).await.map_err(fail)?)
    }

    async fn remove_stack(&self, req: Request<v1::SessionRequest>) -> Result<Response<v1::Empty>, Status> {
        let session = self.session(req.into_inner().session_id)?;
        session.remove_stack().await.map_err(fail)?;
        Ok(Response::new(v1::Empty {}))
    }
}
