//! The PostgreSQL backend against a real server (`cargo xtask test` starts one
//! and sets `CAIRN_TEST_POSTGRES_URL`). Each test uses its own project name.

use cairn_state::conformance;
use cairn_state_postgres::PostgresStore;

fn store() -> PostgresStore {
    let url = std::env::var("CAIRN_TEST_POSTGRES_URL").unwrap_or_else(|_| {
        panic!(
            "CAIRN_TEST_POSTGRES_URL is not set: this test needs a PostgreSQL server. \
             Run the suite with `cargo xtask test`, which installs and starts one."
        )
    });
    PostgresStore::new(&url).unwrap()
}

// The conformance suite every lease-locking backend passes.

#[tokio::test]
async fn journal_and_snapshot_round_trip() {
    conformance::journal_and_snapshot_round_trip(&store()).await;
}

#[tokio::test]
async fn a_live_lock_is_refused_naming_its_holder() {
    conformance::a_live_lock_is_refused_naming_its_holder(&store()).await;
}

#[tokio::test]
async fn an_expired_lock_is_taken_over_and_its_old_holder_can_write_nothing() {
    conformance::an_expired_lock_is_taken_over_and_its_old_holder_can_write_nothing(&store()).await;
}

#[tokio::test]
async fn compaction_is_compare_and_swap_on_the_serial_read() {
    conformance::compaction_is_compare_and_swap_on_the_serial_read(&store()).await;
}

#[tokio::test]
async fn unlock_removes_only_the_named_lock() {
    conformance::unlock_removes_only_the_named_lock(&store()).await;
}

#[tokio::test]
async fn history_lists_each_compaction_with_its_changes() {
    conformance::history_lists_each_compaction_with_its_changes(&store()).await;
}

#[tokio::test]
async fn stacks_are_listed_and_removed() {
    conformance::stacks_are_listed_and_removed(&store()).await;
}
