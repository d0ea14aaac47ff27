//! The schema, created and migrated on first use.
//!
//! Migrations run in one transaction under a transaction-scoped advisory
//! lock, so concurrent first runs do not race to create the tables.

use tokio_postgres::Client;

/// Each entry brings the schema from version `i` to `i + 1`. Never edit one
/// that has shipped: append a new one.
const MIGRATIONS: &[&str] = &[r#"
CREATE TABLE cairn_stacks (
    project     text        NOT NULL,
    stack       text        NOT NULL,
    lineage     text        NOT NULL,
    serial      bigint      NOT NULL,  -- the current version, in cairn_history
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project, stack)
);
CREATE TABLE cairn_journal (
    project  text   NOT NULL,
    stack    text   NOT NULL,
    serial   bigint NOT NULL,
    entry    text   NOT NULL,
    PRIMARY KEY (project, stack, serial)
);
CREATE TABLE cairn_locks (
    project    text        NOT NULL,
    stack      text        NOT NULL,
    id         text        NOT NULL,
    who        text        NOT NULL,
    pid        bigint      NOT NULL,
    operation  text        NOT NULL,
    created    timestamptz NOT NULL DEFAULT now(),
    heartbeat  timestamptz NOT NULL DEFAULT now(),
    ttl_secs   bigint      NOT NULL,
    PRIMARY KEY (project, stack)
);
CREATE TABLE cairn_lock_log (
    at        timestamptz NOT NULL DEFAULT now(),
    project   text        NOT NULL,
    stack     text        NOT NULL,
    event     text        NOT NULL,
    lock_id   text        NOT NULL,
    who       text        NOT NULL,
    previous  text
);
-- Every version of every stack; the snapshot is stored here only.
CREATE TABLE cairn_history (
    project    text        NOT NULL,
    stack      text        NOT NULL,
    serial     bigint      NOT NULL,
    at         timestamptz NOT NULL DEFAULT now(),
    operation  text        NOT NULL,
    who        text        NOT NULL,
    changes    text        NOT NULL,
    state      text        NOT NULL,
    PRIMARY KEY (project, stack, serial)
);
"#];

/// An arbitrary constant naming Cairn's migration advisory lock.
const MIGRATION_LOCK: i64 = 0x4341_4952_4e5f_4d31; // "CAIRN_M1"

/// Brings the schema up to date.
pub(crate) async fn migrate(client: &mut Client) -> Result<(), tokio_postgres::Error> {
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).await?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS cairn_schema_version (version integer NOT NULL)").await?;
    let current: i32 = tx.query_one("SELECT coalesce(max(version), 0) FROM cairn_schema_version", &[]).await?.get(0);
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        tx.batch_execute(sql).await?;
        tx.execute("INSERT INTO cairn_schema_version (version) VALUES ($1)", &[&(i as i32 + 1)]).await?;
    }
    tx.commit().await
}
