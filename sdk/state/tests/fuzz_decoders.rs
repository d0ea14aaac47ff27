//! Property tests (`cargo xtask fuzz` runs more cases): the file store reads
//! any bytes in its state and journal files as a state or a clear
//! "corrupt" error naming the file, never a panic; and a journal cut at any
//! byte reads as what its complete lines say.

use std::time::Duration;

use cairn_core::{ProjectName, StackName};
use cairn_state::{FileStore, JournalEntry, Mutation, ResourceState, StackState, StateError, StateStore};
use proptest::prelude::*;

fn names() -> (ProjectName, StackName) {
    (ProjectName::new("p").unwrap(), StackName::new("dev").unwrap())
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

proptest! {
    // Each case writes files: fewer by default (`cargo xtask fuzz` sets PROPTEST_CASES).
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(64),
        ..ProptestConfig::default()
    })]

    #[test]
    fn fuzz_any_state_and_journal_bytes_read_or_fail_clearly(state in prop::collection::vec(any::<u8>(), 0..256), journal in prop::collection::vec(any::<u8>(), 0..256), valid_state in any::<bool>()) {
        let dir = tempfile::tempdir().unwrap();
        let stack_dir = dir.path().join("p").join("dev");
        std::fs::create_dir_all(&stack_dir).unwrap();
        let state = if valid_state { serde_json::to_vec(&StackState::new(names().1)).unwrap() } else { state };
        std::fs::write(stack_dir.join("state.json"), &state).unwrap();
        std::fs::write(stack_dir.join("journal.jsonl"), &journal).unwrap();
        let (p, s) = names();
        match runtime().block_on(FileStore::new(dir.path()).read(&p, &s)) {
            Ok(_) => {}
            Err(StateError::Corrupt { what, .. }) => prop_assert!(what.contains("state.json") || what.contains("journal.jsonl"), "{}", what),
            Err(other) => prop_assert!(false, "not a corrupt-file error: {}", other),
        }
    }

    #[test]
    fn fuzz_a_journal_cut_anywhere_reads_as_its_complete_lines(cut_at in 0usize..4096) {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::new(dir.path());
        let (p, s) = names();
        let rt = runtime();
        let resource = |name: &str| ResourceState::custom(
            cairn_core::Urn::parse(&format!("urn:cairn:dev::p::test:index:Thing::{name}")).unwrap(),
            name,
        );
        rt.block_on(async {
            let session = store.try_lock(&p, &s, "up", Duration::from_secs(60)).await.unwrap();
            for (i, name) in ["a", "b", "c"].iter().enumerate() {
                let entry = JournalEntry::Commit { serial: i as u64 + 1, op: None, mutations: vec![Mutation::Put(resource(name))] };
                session.append(&entry).await.unwrap();
            }
        });
        let path = dir.path().join("p/dev/journal.jsonl");
        let full = std::fs::read(&path).unwrap();
        let cut = cut_at.min(full.len());
        std::fs::write(&path, &full[..cut]).unwrap();
        let complete_lines = full[..cut].iter().filter(|b| **b == b'\n').count();
        let read = rt.block_on(store.read(&p, &s)).unwrap();
        prop_assert_eq!(read.state.resources.len(), complete_lines);
        prop_assert_eq!(read.state.serial, complete_lines as u64);
    }
}
