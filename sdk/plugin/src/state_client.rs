//! The engine side of the state backend service: a state store served by a
//! plugin process, used like any other [`StateStore`].

use std::sync::Arc;
use std::time::Duration;

use cairn_core::{ProjectName, StackName, Value};
use cairn_proto::convert::wire;
use cairn_proto::v1;
use cairn_proto::v1::state_backend_client::StateBackendClient;
use cairn_state::{
    ChangeSummary, HistoryEntry, Intent, JournalEntry, LockInfo, PendingOp, Replayed, StackSession, StackState,
    StateError, StateStore,
};
use serde::{Deserialize, Serialize};
use tonic::transport::Channel;

use crate::GrpcProvider;

/// [`Replayed`] on the wire.
#[derive(Serialize, Deserialize)]
pub(crate) struct WireReplayed {
    state: StackState,
    pending: Vec<(u64, Intent)>,
    next_op: u64,
    journal_entries: usize,
}

impl From<Replayed> for WireReplayed {
    fn from(r: Replayed) -> Self {
        Self {
            state: r.state,
            pending: r.pending.into_iter().map(|p| (p.op, p.intent)).collect(),
            next_op: r.next_op,
            journal_entries: r.journal_entries,
        }
    }
}

impl From<WireReplayed> for Replayed {
    fn from(w: WireReplayed) -> Self {
        Replayed {
            state: w.state,
            pending: w.pending.into_iter().map(|(op, intent)| PendingOp { op, intent }).collect(),
            next_op: w.next_op,
            journal_entries: w.journal_entries,
        }
    }
}

/// A state store served by a plugin process (e.g. `s3://` by the AWS plugin).
pub struct GrpcStateStore {
    client: StateBackendClient<Channel>,
    store_id: u64,
    shown: String,
    // Keeps the plugin process alive as long as the store.
    _plugin: Arc<GrpcProvider>,
}

fn status_to_state(s: tonic::Status, stack: &StackName, shown: &str, action: &str) -> StateError {
    if s.code() == tonic::Code::Aborted {
        StateError::from_wire(s.message(), stack, shown)
    } else {
        StateError::Backend {
            backend: shown.to_owned(),
            stack: stack.clone(),
            action: action.to_owned(),
            message: format!("the state backend plugin failed: {}", s.message()),
        }
    }
}

fn from_json<T: serde::de::DeserializeOwned>(json: &str, stack: &StackName, shown: &str) -> Result<T, StateError> {
    serde_json::from_str(json).map_err(|e| StateError::Corrupt {
        backend: shown.to_owned(),
        stack: stack.clone(),
        what: "a reply of the state backend plugin".into(),
        message: e.to_string(),
    })
}

impl GrpcStateStore {
    /// Opens the store at `url` in `plugin`, configured with `config` (the
    /// stack's `[provider.<package>]` table).
    pub async fn open(plugin: Arc<GrpcProvider>, url: &str, config: &Value) -> Result<Self, StateError> {
        let mut client = StateBackendClient::new(plugin.channel());
        let placeholder = StackName::new("-").expect("valid");
        let r = client
            .open_store(v1::OpenStoreRequest { url: url.to_owned(), config: wire(config) })
            .await
            .map_err(|s| match s.code() {
                tonic::Code::Aborted => StateError::from_wire(s.message(), &placeholder, url),
                tonic::Code::Unimplemented => StateError::BadUrl {
                    url: url.to_owned(),
                    reason: "the plugin for this scheme serves no state backends".into(),
                },
                _ => StateError::BadUrl { url: url.to_owned(), reason: s.message().to_owned() },
            })?
            .into_inner();
        Ok(Self { client, store_id: r.store_id, shown: r.shown, _plugin: plugin })
    }

    fn req(&self, project: &ProjectName, stack: &StackName) -> v1::StackRequest {
        v1::StackRequest { store_id: self.store_id, project: project.to_string(), stack: stack.to_string() }
    }
}

#[async_trait::async_trait]
impl StateStore for GrpcStateStore {
    fn describe(&self) -> String {
        self.shown.clone()
    }

    async fn read(&self, project: &ProjectName, stack: &StackName) -> Result<Replayed, StateError> {
        let r = self
            .client
            .clone()
            .read_state(self.req(project, stack))
            .await
            .map_err(|s| status_to_state(s, stack, &self.shown, "read the state"))?;
        Ok(from_json::<WireReplayed>(&r.into_inner().json, stack, &self.shown)?.into())
    }

    async fn try_lock(
        &self,
        project: &ProjectName,
        stack: &StackName,
        operation: &str,
        ttl: Duration,
    ) -> Result<Box<dyn StackSession>, StateError> {
        let r = self
            .client
            .clone()
            .try_lock(v1::TryLockRequest {
                store_id: self.store_id,
                project: project.to_string(),
                stack: stack.to_string(),
                operation: operation.to_owned(),
                ttl_secs: ttl.as_secs(),
            })
            .await
            .map_err(|s| status_to_state(s, stack, &self.shown, "lock"))?
            .into_inner();
        let info: LockInfo = from_json(&r.lock_json, stack, &self.shown)?;
        Ok(Box::new(GrpcSession {
            client: self.client.clone(),
            session_id: r.session_id,
            info,
            stack: stack.clone(),
            shown: self.shown.clone(),
        }))
    }

    async fn current_lock(&self, project: &ProjectName, stack: &StackName) -> Result<Option<LockInfo>, StateError> {
        let r = self
            .client
            .clone()
            .current_lock(self.req(project, stack))
            .await
            .map_err(|s| status_to_state(s, stack, &self.shown, "read the lock"))?;
        from_json(&r.into_inner().json, stack, &self.shown)
    }

    async fn unlock(&self, project: &ProjectName, stack: &StackName, lock_id: &str) -> Result<LockInfo, StateError> {
        let r = self
            .client
            .clone()
            .unlock(v1::UnlockRequest {
                store_id: self.store_id,
                project: project.to_string(),
                stack: stack.to_string(),
                lock_id: lock_id.to_owned(),
            })
            .await
            .map_err(|s| status_to_state(s, stack, &self.shown, "remove the lock"))?;
        from_json(&r.into_inner().json, stack, &self.shown)
    }

    async fn history(&self, project: &ProjectName, stack: &StackName) -> Result<Vec<HistoryEntry>, StateError> {
        let r = self
            .client
            .clone()
            .history(self.req(project, stack))
            .await
            .map_err(|s| status_to_state(s, stack, &self.shown, "read the history"))?;
        from_json(&r.into_inner().json, stack, &self.shown)
    }

    async fn list_stacks(&self, project: &ProjectName) -> Result<Vec<StackName>, StateError> {
        let any = StackName::new("-").expect("a stack name");
        let r = self
            .client
            .clone()
            .list_stacks(self.req(project, &any))
            .await
            .map_err(|s| status_to_state(s, &any, &self.shown, "list the stacks"))?;
        from_json(&r.into_inner().json, &any, &self.shown)
    }

    async fn version(
        &self,
        project: &ProjectName,
        stack: &StackName,
        serial: u64,
    ) -> Result<Option<StackState>, StateError> {
        let r = self
            .client
            .clone()
            .version(v1::VersionRequest {
                store_id: self.store_id,
                project: project.to_string(),
                stack: stack.to_string(),
                serial,
            })
            .await
            .map_err(|s| status_to_state(s, stack, &self.shown, "read a history version"))?;
        from_json(&r.into_inner().json, stack, &self.shown)
    }
}

struct GrpcSession {
    client: StateBackendClient<Channel>,
    session_id: u64,
    info: LockInfo,
    stack: StackName,
    shown: String,
}

impl GrpcSession {
    fn sreq(&self) -> v1::SessionRequest {
        v1::SessionRequest { session_id: self.session_id }
    }

    fn err(&self, action: &'static str) -> impl Fn(tonic::Status) -> StateError + '_ {
        move |s| status_to_state(s, &self.stack, &self.shown, action)
    }
}

#[async_trait::async_trait]
impl StackSession for GrpcSession {
    fn lock_info(&self) -> &LockInfo {
        &self.info
    }

    async fn read(&self) -> Result<Replayed, StateError> {
        let r = self.client.clone().session_read(self.sreq()).await.map_err(self.err("read the state"))?;
        Ok(from_json::<WireReplayed>(&r.into_inner().json, &self.stack, &self.shown)?.into())
    }

    async fn append(&self, entry: &JournalEntry) -> Result<(), StateError> {
        let entry_json = serde_json::to_string(entry).expect("journal entries serialize");
        self.client
            .clone()
            .append(v1::AppendRequest { session_id: self.session_id, entry_json })
            .await
            .map_err(self.err("append to the journal"))?;
        Ok(())
    }

    async fn compact(&self, state: &StackState, changes: &ChangeSummary) -> Result<(), StateError> {
        self.client
            .clone()
            .compact(v1::CompactRequest {
                session_id: self.session_id,
                state_json: serde_json::to_string(state).expect("states serialize"),
                changes_json: serde_json::to_string(changes).expect("summaries serialize"),
            })
            .await
            .map_err(self.err("write the state"))?;
        Ok(())
    }

    async fn heartbeat(&self) -> Result<(), StateError> {
        self.client.clone().heartbeat(self.sreq()).await.map_err(self.err("renew the lock"))?;
        Ok(())
    }

    async fn release(&self) -> Result<(), StateError> {
        self.client.clone().release(self.sreq()).await.map_err(self.err("release the lock"))?;
        Ok(())
    }

    async fn remove_stack(&self) -> Result<(), StateError> {
        self.client.clone().remove_stack(self.sreq()).await.map_err(self.err("remove the stack"))?;
        Ok(())
    }
}
