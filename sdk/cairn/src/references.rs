//! Stack references read from the state store: another stack's outputs, as
//! its last `up` recorded them, in the same backend as this stack.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use cairn_core::reference::OutputsError;
use cairn_core::{ProjectName, StackName, StackOutputs, Value};
use cairn_state::StateStore;

/// A stack's outputs, `None` when it was never brought up.
type Outputs = Option<BTreeMap<String, Value>>;

/// Reads other stacks' outputs from `store`, once per stack per run.
pub(crate) struct StoreOutputs {
    store: Arc<dyn StateStore>,
    runtime: tokio::runtime::Handle,
    read: Mutex<HashMap<(ProjectName, StackName), Outputs>>,
}

impl StoreOutputs {
    /// Reads through `store` on the current tokio runtime.
    pub(crate) fn new(store: Arc<dyn StateStore>) -> Self {
        Self { store, runtime: tokio::runtime::Handle::current(), read: Mutex::default() }
    }
}

impl StackOutputs for StoreOutputs {
    fn outputs(&self, project: &ProjectName, stack: &StackName) -> Result<Outputs, OutputsError> {
        let key = (project.clone(), stack.clone());
        if let Some(known) = self.read.lock().expect("references").get(&key) {
            return Ok(known.clone());
        }
        // The program runs synchronously inside the CLI's runtime: read on it without
        // blocking its other workers.
        let replayed = tokio::task::block_in_place(|| self.runtime.block_on(self.store.read(project, stack)))
            .map_err(|e| OutputsError(Box::new(e)))?;
        let state = replayed.state;
        let brought_up = state.serial > 0 || !state.resources.is_empty();
        let outputs = brought_up.then_some(state.outputs);
        self.read.lock().expect("references").insert(key, outputs.clone());
        Ok(outputs)
    }

    fn describe(&self) -> String {
        self.store.describe()
    }
}
