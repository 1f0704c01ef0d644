//! Connection setup and the embedded migrations of each backend (the SQL
//! files under `migrations/sqlite` and `migrations/postgres`, one pair per
//! schema version; no files are read at run time).

use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::postgres::PgPoolOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use std::borrow::Cow;
use std::str::FromStr;
use std::time::Duration;

/// `(version, description)` of every schema version, in order; the SQL of
/// version `v` is `migrations/<backend>/000v_<description>.sql`.
macro_rules! steps {
    ($backend:literal) => {
        [
            (
                1,
                "init",
                include_str!(concat!("../../migrations/", $backend, "/0001_init.sql")),
            ),
            (
                2,
                "review",
                include_str!(concat!("../../migrations/", $backend, "/0002_review.sql")),
            ),
            (
                3,
                "reports_readings",
                include_str!(concat!(
                    "../../migrations/",
                    $backend,
                    "/0003_reports_readings.sql"
                )),
            ),
            (
                4,
                "accounts",
                include_str!(concat!("../../migrations/", $backend, "/0004_accounts.sql")),
            ),
            (
                5,
                "burned_in",
                include_str!(concat!(
                    "../../migrations/",
                    $backend,
                    "/0005_burned_in.sql"
                )),
            ),
            (
                6,
                "report_takeover",
                include_str!(concat!(
                    "../../migrations/",
                    $backend,
                    "/0006_report_takeover.sql"
                )),
            ),
            (
                7,
                "display",
                include_str!(concat!("../../migrations/", $backend, "/0007_display.sql")),
            ),
            (
                8,
                "dicom_send",
                include_str!(concat!(
                    "../../migrations/",
                    $backend,
                    "/0008_dicom_send.sql"
                )),
            ),
            (
                9,
                "dicom_ids",
                include_str!(concat!(
                    "../../migrations/",
                    $backend,
                    "/0009_dicom_ids.sql"
                )),
            ),
        ]
    };
}

/// The SQLite database: one file under the data directory, WAL journal,
/// foreign keys on, and a busy timeout so concurrent writers queue instead
/// of failing.
pub(super) async fn sqlite(
    url: &str,
    up_to: Option<i64>,
) -> Result<sqlx::SqlitePool, crate::StoreError> {
    let options = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(30));
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(options)
        .await?;
    migrator(&steps!("sqlite"), up_to).run(&pool).await?;
    Ok(pool)
}

/// The PostgreSQL database, for several `carina serve` processes sharing it.
/// Migrations take sqlx's advisory lock, so processes starting together
/// migrate once.
pub(super) async fn postgres(
    url: &str,
    up_to: Option<i64>,
) -> Result<sqlx::PgPool, crate::StoreError> {
    let pool = PgPoolOptions::new()
        .max_connections(16)
        .connect(url)
        .await?;
    migrator(&steps!("postgres"), up_to).run(&pool).await?;
    Ok(pool)
}

/// A migrator over `steps` up to version `up_to` (all: None; tests of the
/// migrations stop earlier).
fn migrator(steps: &[(i64, &'static str, &'static str)], up_to: Option<i64>) -> Migrator {
    let migrations = steps
        .iter()
        .filter(|(version, ..)| up_to.is_none_or(|v| *version <= v))
        .map(|&(version, name, sql)| {
            Migration::new(
                version,
                Cow::Borrowed(name),
                MigrationType::Simple,
                Cow::Borrowed(sql),
                false,
            )
        })
        .collect();
    Migrator {
        migrations: Cow::Owned(migrations),
        ..Migrator::DEFAULT
    }
}
