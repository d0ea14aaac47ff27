//! Moving a state between backends: `state export` and `state import`.

use cairn_core::{ProjectName, StackName};

use crate::model::StackState;
use crate::store::{ChangeSummary, LockOptions, StackSession, StateError, StateStore, lock};

/// Imports `incoming` as stack `stack`'s state in `store`, under its lock.
///
/// Refused, writing nothing, when: it belongs to another stack; the target
/// already has a state of another lineage (a different stack's history); its
/// serial is older than the target's; or the target has operations a crashed
/// run left pending. The written state's serial is above both.
pub async fn import(
    store: &dyn StateStore,
    project: &ProjectName,
    stack: &StackName,
    incoming: StackState,
    options: &LockOptions,
) -> Result<StackState, StateError> {
    let refuse = |message: String| StateError::Refused { backend: store.describe(), stack: stack.clone(), message };
    if &incoming.stack != stack {
        return Err(refuse(format!(
            "the file holds the state of stack `{}`; import it into that stack (--stack {})",
            incoming.stack, incoming.stack
        )));
    }
    let session = lock(store, project, stack, "import", options).await?;
    let result = import_locked(&*session, store, stack, incoming).await;
    // Give the lock back whatever happened: a lease left behind would block the stack for its TTL.
    let released = session.release().await;
    let state = result?;
    released?;
    Ok(state)
}

async fn import_locked(
    session: &dyn StackSession,
    store: &dyn StateStore,
    stack: &StackName,
    incoming: StackState,
) -> Result<StackState, StateError> {
    let refuse = |message: String| StateError::Refused { backend: store.describe(), stack: stack.clone(), message };
    let current = session.read().await?;
    if !current.pending.is_empty() {
        return Err(refuse(format!(
            "{} operation(s) of an interrupted run are pending; run `up` to settle them before importing",
            current.pending.len()
        )));
    }
    let cur = &current.state;
    let target_is_empty = cur.serial == 0 && cur.resources.is_empty();
    if !target_is_empty && cur.lineage != incoming.lineage {
        return Err(refuse(format!(
            "the file's lineage {} is not the stored state's {}: it is another stack's history; \
             nothing was written",
            incoming.lineage, cur.lineage
        )));
    }
    if incoming.serial < cur.serial {
        return Err(refuse(format!(
            "the file's serial {} is older than the stored serial {}: importing it would lose newer changes; \
             export the current state instead",
            incoming.serial, cur.serial
        )));
    }
    let changes = ChangeSummary::between(cur, &incoming);
    let mut state = incoming;
    state.serial = state.serial.max(cur.serial) + 1;
    session.compact(&state, &changes).await?;
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FileStore;

    fn names() -> (ProjectName, StackName) {
        (ProjectName::new("p").unwrap(), StackName::new("dev").unwrap())
    }

    async fn write(store: &FileStore, state: &StackState) {
        let (p, s) = names();
        let session = store.try_lock(&p, &s, "up", std::time::Duration::from_secs(60)).await.unwrap();
        session.read().await.unwrap();
        session.compact(state, &ChangeSummary::default()).await.unwrap();
    }

    #[tokio::test]
    async fn moves_a_state_and_refuses_foreign_lineage_or_older_serials() {
        let (p, s) = names();
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let (from, to) = (FileStore::new(a.path()), FileStore::new(b.path()));
        let mut original = StackState::new(s.clone());
        original.serial = 7;
        write(&from, &original).await;

        let exported = from.read(&p, &s).await.unwrap().state;
        let imported = import(&to, &p, &s, exported.clone(), &LockOptions::default()).await.unwrap();
        assert_eq!((imported.lineage.as_str(), imported.serial), (original.lineage.as_str(), 8));
        assert_eq!(to.read(&p, &s).await.unwrap().state, imported);

        let older = import(&to, &p, &s, exported, &LockOptions::default()).await.unwrap_err().to_string();
        assert!(older.contains("serial 7 is older than the stored serial 8") && older.contains("`dev`"), "{older}");

        let mut foreign = StackState::new(s.clone());
        foreign.serial = 99;
        let err = import(&to, &p, &s, foreign, &LockOptions::default()).await.unwrap_err().to_string();
        assert!(err.contains("lineage") && err.contains("nothing was written"), "{err}");
        assert_eq!(to.read(&p, &s).await.unwrap().state, imported, "refusals write nothing");

        let other = StackState::new(StackName::new("prod").unwrap());
        let err = import(&to, &p, &s, other, &LockOptions::default()).await.unwrap_err().to_string();
        assert!(err.contains("--stack prod"), "{err}");
        assert_eq!(to.history(&p, &s).await.unwrap().len(), 1, "one version per successful write");
    }
}
