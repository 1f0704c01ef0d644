//! The PostgreSQL backend, for several `carina serve` processes sharing one
//! database. Migrations take sqlx's advisory lock, so processes starting
//! together migrate once.

use sqlx::postgres::PgPoolOptions;

type Db = sqlx::Postgres;

/// Transactions use the default isolation; row and advisory locks do the rest.
const BEGIN_WRITE: &str = "BEGIN";
/// Two first registrations racing would both see an empty table under READ
/// COMMITTED; a transaction-scoped advisory lock orders them.
const FIRST_USER_LOCK: &str = "SELECT pg_advisory_xact_lock(727274)";
/// Concurrent claimers skip the rows another transaction is claiming.
const CLAIM_LOCK: &str = " FOR UPDATE SKIP LOCKED";
/// Two deploys at once would each clear the other's flag only after it was set.
const DEPLOY_LOCK: &str = "SELECT pg_advisory_xact_lock(727275)";

pub async fn connect(url: &str, up_to: Option<i64>) -> Result<sqlx::PgPool> {
    let pool = PgPoolOptions::new()
        .max_connections(16)
        .connect(url)
        .await?;
    let migrator = super::migrator(&[
        (
            1,
            "init",
            include_str!("../../migrations/postgres/0001_init.sql"),
        ),
        (
            2,
            "review",
            include_str!("../../migrations/postgres/0002_review.sql"),
        ),
        (
            3,
            "reports_readings",
            include_str!("../../migrations/postgres/0003_reports_readings.sql"),
        ),
        (
            4,
            "accounts",
            include_str!("../../migrations/postgres/0004_accounts.sql"),
        ),
        (
            5,
            "burned_in",
            include_str!("../../migrations/postgres/0005_burned_in.sql"),
        ),
        (
            6,
            "report_takeover",
            include_str!("../../migrations/postgres/0006_report_takeover.sql"),
        ),
        (
            7,
            "display",
            include_str!("../../migrations/postgres/0007_display.sql"),
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
