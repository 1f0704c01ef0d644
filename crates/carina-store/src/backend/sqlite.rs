//! The SQLite backend: one file under the data directory, WAL journal,
//! foreign keys on, and a busy timeout so concurrent writers queue instead
//! of failing.

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use std::str::FromStr;
use std::time::Duration;

type Db = sqlx::Sqlite;

/// Every write transaction takes SQLite's write lock when it begins. A deferred
/// transaction that reads first and writes later cannot wait for the lock: if
/// another writer committed in between, SQLite answers SQLITE_BUSY at once,
/// whatever the busy timeout (its snapshot is stale). IMMEDIATE queues it instead.
const BEGIN_WRITE: &str = "BEGIN IMMEDIATE";
/// SQLite serialises writers itself; nothing more is needed for the first account.
const FIRST_USER_LOCK: &str = "SELECT 1";
/// A claim's UPDATE runs under SQLite's write lock: no row lock is needed.
const CLAIM_LOCK: &str = "";
/// Deploys are serialised by the write lock too.
const DEPLOY_LOCK: &str = "SELECT 1";

pub async fn connect(url: &str, up_to: Option<i64>) -> Result<sqlx::SqlitePool> {
    let options = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(30));
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(options)
        .await?;
    let migrator = super::migrator(&[
        (
            1,
            "init",
            include_str!("../../migrations/sqlite/0001_init.sql"),
        ),
        (
            2,
            "review",
            include_str!("../../migrations/sqlite/0002_review.sql"),
        ),
        (
            3,
            "reports_readings",
            include_str!("../../migrations/sqlite/0003_reports_readings.sql"),
        ),
        (
            4,
            "accounts",
            include_str!("../../migrations/sqlite/0004_accounts.sql"),
        ),
        (
            5,
            "burned_in",
            include_str!("../../migrations/sqlite/0005_burned_in.sql"),
        ),
        (
            6,
            "report_takeover",
            include_str!("../../migrations/sqlite/0006_report_takeover.sql"),
        ),
        (
            7,
            "display",
            include_str!("../../migrations/sqlite/0007_display.sql"),
        ),
    ]);
    super::up_to(migrator, up_to).run(&pool).await?;
    Ok(pool)
}

include!("queries/common.rs");
include!("queries/accounts.rs");
include!("queries/security.rs");
include!("queries/images.rs");
include!("queries/annotations.rs");
include!("queries/export.rs");
include!("queries/registry.rs");
include!("queries/jobs.rs");
include!("queries/reports.rs");
include!("queries/readings.rs");
