//! The two database backends. Their queries are the same text
//! (`queries.rs`, included by both), so they cannot drift apart; only the
//! connection setup, the migrations and one locking statement differ.

pub mod postgres;
pub mod sqlite;

use sqlx::migrate::{Migration, MigrationType, Migrator};
use std::borrow::Cow;

/// A migrator over the embedded schema (no files are read at run time):
/// `(version, description, sql)` in order.
fn migrator(steps: &[(i64, &'static str, &'static str)]) -> Migrator {
    let migrations = steps
        .iter()
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

/// `migrator` without the steps after version `up_to` (all: None), for
/// tests of the migrations.
fn up_to(mut migrator: Migrator, up_to: Option<i64>) -> Migrator {
    if let Some(v) = up_to {
        migrator.migrations = Cow::Owned(
            migrator
                .migrations
                .iter()
                .filter(|m| m.version <= v)
                .cloned()
                .collect(),
        );
    }
    migrator
}
