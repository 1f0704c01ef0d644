//! The two database backends. Their queries are the same text
//! (`queries.rs`, included by both), so they cannot drift apart; only the
//! connection setup, the migrations and one locking statement differ.

pub mod postgres;
pub mod sqlite;

use sqlx::migrate::{Migration, MigrationType, Migrator};
use std::borrow::Cow;

/// A migrator over the embedded schema (no files are read at run time).
fn migrator(sql: &'static str) -> Migrator {
    Migrator {
        migrations: Cow::Owned(vec![Migration::new(
            1,
            Cow::Borrowed("init"),
            MigrationType::Simple,
            Cow::Borrowed(sql),
            false,
        )]),
        ..Migrator::DEFAULT
    }
}
