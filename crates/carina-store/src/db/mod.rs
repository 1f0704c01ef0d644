//! The database: SQLite embedded by default, PostgreSQL for several
//! processes sharing one database.
//!
//! # How the two backends share their queries
//!
//! Every statement is written once, beside the resource it serves (`users.rs`,
//! `images/`, `jobs.rs`, …: each an `impl Database` block with the values,
//! rows and SQL of that resource). Both schemas use only BIGINT, DOUBLE
//! PRECISION, BOOLEAN and TEXT, and every statement uses `$N` placeholders,
//! `RETURNING`, `ON CONFLICT` and plain SQL, which SQLite and PostgreSQL read
//! alike. A statement is a [`sql::Query`]: its text and bound values, run on
//! either backend by `sql.rs`, the only file that matches on the backend to
//! run a statement.
//!
//! Where the backends do differ, the resource says so with a
//! `match db.backend()` next to its SQL: the advisory locks that order
//! first-account creation (`users.rs`) and deploys (`registry.rs`), the
//! `FOR UPDATE SKIP LOCKED` of a job claim (`jobs.rs`). How a write
//! transaction begins ([`Database::begin_write`]), the connection setup and
//! the migrations (`migrate.rs`, one folder per backend) are here.
//!
//! Why not the alternatives: functions generic over `sqlx::Database` need a
//! bound for every bound value's type and for the executors (higher-ranked
//! lifetimes) on every function, and sqlx has no common trait for
//! `rows_affected`; sqlx's `Any` driver adds a run-time driver registry and
//! carries every value and row through its own reduced set of types, for no
//! gain here since both databases already take the same SQL text; one trait
//! implemented once per backend (the layout of Atuin's server database
//! crates) would write each of the ~100 statements twice, though all but
//! three are the same text. `sql.rs` keeps the native drivers and types, and
//! its four-way `match` is the only dispatch.

mod migrate;
pub(crate) mod sql;

use crate::error::{Result, StoreError};

/// The database: SQLite or PostgreSQL behind one interface.
#[derive(Clone, Debug)]
pub enum Database {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

/// Which database a [`Database`] or a [`Tx`] talks to, for the few
/// statements that differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backend {
    Sqlite,
    Postgres,
}

/// An open write transaction (see [`Database::begin_write`]); dropped
/// without [`Tx::commit`], it rolls back.
pub(crate) enum Tx {
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

impl Tx {
    pub(crate) fn backend(&self) -> Backend {
        match self {
            Tx::Sqlite(_) => Backend::Sqlite,
            Tx::Postgres(_) => Backend::Postgres,
        }
    }

    pub(crate) async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Tx::Sqlite(t) => t.commit().await,
            Tx::Postgres(t) => t.commit().await,
        }
    }
}

impl Database {
    /// Connects and migrates. `postgres://…` / `postgresql://…` selects
    /// PostgreSQL, `sqlite:…` SQLite (the file is created if missing).
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_migrated_to(url, None).await
    }

    /// [`Database::connect`], migrating only up to schema `version` (tests of
    /// the migrations make old data with it; None: all).
    #[doc(hidden)]
    pub async fn connect_migrated_to(url: &str, version: Option<i64>) -> Result<Self> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Database::Postgres(migrate::postgres(url, version).await?))
        } else if url.starts_with("sqlite:") {
            Ok(Database::Sqlite(migrate::sqlite(url, version).await?))
        } else {
            Err(StoreError::Config(
                "database URL must start with sqlite:, postgres:// or postgresql://".into(),
            ))
        }
    }

    pub fn backend_name(&self) -> &'static str {
        match self {
            Database::Sqlite(_) => "sqlite",
            Database::Postgres(_) => "postgres",
        }
    }

    pub(crate) fn backend(&self) -> Backend {
        match self {
            Database::Sqlite(_) => Backend::Sqlite,
            Database::Postgres(_) => Backend::Postgres,
        }
    }

    pub async fn close(&self) {
        match self {
            Database::Sqlite(p) => p.close().await,
            Database::Postgres(p) => p.close().await,
        }
    }

    /// Begins a transaction that will write. On SQLite it takes the write
    /// lock at once (`BEGIN IMMEDIATE`): a deferred transaction that reads
    /// first and writes later cannot wait for the lock, and if another writer
    /// committed in between SQLite answers SQLITE_BUSY whatever the busy
    /// timeout (its snapshot is stale); IMMEDIATE queues it instead. On
    /// PostgreSQL it is a plain `BEGIN` (the default isolation); row and
    /// advisory locks do the rest.
    pub(crate) async fn begin_write(&self) -> Result<Tx, sqlx::Error> {
        Ok(match self {
            Database::Sqlite(p) => Tx::Sqlite(p.begin_with("BEGIN IMMEDIATE").await?),
            Database::Postgres(p) => Tx::Postgres(p.begin_with("BEGIN").await?),
        })
    }
}
