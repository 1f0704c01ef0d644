//! The two database backends. Their queries are the same text
//! (`queries.rs`, included by both), so they cannot drift apart; only the
//! connection setup, the migrations and one locking statement differ.

pub mod postgres;
pub mod sqlite;

use sqlx::migrate::{Migration, MigrationType, Migrator};
use std::borrow::Cow;

/// A migrator over the embedded schema (no files are read at run time):
/// `(version, description, sql)` in order, up to version `up_to` (all: None).
fn migrator(up_to: Option<i64>, steps: &[(i64, &'static str, &'static str)]) -> Migrator {
    let migrations = steps
        .iter()
        .filter(|&&(version, _, _)| up_to.is_none_or(|v| version <= v))
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
