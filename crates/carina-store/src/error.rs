//! The store's errors: what went wrong in words a caller can act on.

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// The annotations were saved by someone else since `expected`.
    #[error("the annotations changed since version {expected} (now version {current})")]
    VersionConflict { expected: i64, current: i64 },
    /// A unique value (username, label name, content hash, ...) is taken.
    #[error("{0}")]
    Conflict(String),
    /// The request contradicts the stored state (unknown box id, deleting a model box, ...).
    #[error("{0}")]
    Invalid(String),
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("database error")]
    Database(#[from] sqlx::Error),
    #[error("database migration failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("object store error")]
    Object(#[from] object_store::Error),
    #[error("stored JSON is unreadable")]
    Json(#[from] serde_json::Error),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Whether a database error is a unique-constraint violation (both backends).
pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .is_some_and(|d| d.is_unique_violation())
}

/// A unique-constraint violation as [`StoreError::Conflict`] with `message`;
/// any other error as it is.
pub(crate) fn unique_as(e: sqlx::Error, message: &str) -> StoreError {
    if is_unique_violation(&e) {
        StoreError::Conflict(message.to_string())
    } else {
        e.into()
    }
}
