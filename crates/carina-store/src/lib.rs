//! Carina's persistence, with no knowledge of HTTP: the database (SQLite
//! embedded by default, PostgreSQL for several server processes; the same
//! queries and behaviour on both) and the object store holding image files.
//!
//! - [`Database`]: users, sessions, API tokens, login throttling, the audit log, labels,
//!   images, annotations with optimistic concurrency, append-only history.
//! - [`ObjectStorage`]: local directory, S3, or memory.
//! - [`Store`]: both together, for the operations that span them (adding,
//!   replacing and deleting image files) so that a database row never points
//!   at an object that was not written and a failure leaves no orphan.
//!
//! ```no_run
//! # async fn demo() -> carina_store::Result<()> {
//! use carina_store::{Database, ObjectStorage, Role, Store};
//! let db = Database::connect("sqlite:///tmp/carina/carina.db").await?;
//! let store = Store::new(db, ObjectStorage::local("/tmp/carina/objects".as_ref())?);
//! let admin = store.db.create_user("ann", "$argon2id$...", Role::Radiologist, false).await?;
//! assert_eq!(admin.role, Role::Admin); // the first account
//! # Ok(()) }
//! ```

mod accounts;
mod backend;
mod error;
mod export;
mod images;
mod models;
mod objects;
mod plan;
mod reading;
mod review;
mod review_db;
mod review_rows;
mod rows;
mod sweep;
mod time;

pub use accounts::*;
pub use carina_core::findings::{Label, LabelSet};
pub use error::{Result, StoreError};
pub use export::{ExportFilter, ExportedBox, ExportedImage};
pub use images::Store;
pub use models::*;
pub use objects::{ObjectInfo, ObjectStorage};
pub use reading::*;
pub use review::*;
pub use sweep::{REFERENCED_KEYS_SQL, Removal, SWEPT_PREFIXES, SweepReport, remove_if_stale};

/// Runs the same backend function on whichever database is configured.
macro_rules! dispatch {
    ($self:ident, $f:ident($($arg:expr),* $(,)?)) => {
        match $self {
            Database::Sqlite(p) => backend::sqlite::$f(p, $($arg),*).await,
            Database::Postgres(p) => backend::postgres::$f(p, $($arg),*).await,
        }
    };
}

// Reports, blind reading and consensus: `impl Database` in its own file.
mod reading_db;
// Accounts, sessions, tokens, login throttling and the audit log: likewise.
mod accounts_db;

/// The database: SQLite or PostgreSQL behind one interface.
#[derive(Clone, Debug)]
pub enum Database {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
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
            Ok(Database::Postgres(
                backend::postgres::connect(url, version).await?,
            ))
        } else if url.starts_with("sqlite:") {
            Ok(Database::Sqlite(
                backend::sqlite::connect(url, version).await?,
            ))
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

    pub async fn close(&self) {
        match self {
            Database::Sqlite(p) => p.close().await,
            Database::Postgres(p) => p.close().await,
        }
    }

    pub async fn labels(&self) -> Result<LabelSet> {
        dispatch!(self, labels())
    }
    pub async fn create_label(&self, name: &str, color: &str) -> Result<Label> {
        dispatch!(self, create_label(name, color))
    }
    pub async fn update_label(
        &self,
        id: u32,
        name: Option<&str>,
        color: Option<&str>,
        retired: Option<bool>,
    ) -> Result<Label> {
        dispatch!(self, update_label(id, name, color, retired))
    }

    /// Inserts the row for objects already written (see [`Store::add_image`]).
    pub async fn insert_image(
        &self,
        new: &NewImage,
        object_key: &str,
        thumbnail_key: &str,
    ) -> Result<Image> {
        dispatch!(self, insert_image(new, object_key, thumbnail_key))
    }
    pub async fn image(&self, id: i64) -> Result<Option<Image>> {
        dispatch!(self, image(id))
    }
    pub async fn image_by_sha256(&self, sha256: &str) -> Result<Option<Image>> {
        dispatch!(self, image_by_sha256(sha256))
    }
    pub async fn object_key_in_use(&self, key: &str) -> Result<bool> {
        dispatch!(self, object_key_in_use(key))
    }
    /// A page of images (newest first) and the number matching the filter.
    pub async fn list_images(&self, query: &ImageQuery) -> Result<(Vec<Image>, i64)> {
        dispatch!(self, list_images(query))
    }
    /// [`Database::list_images`] and, with `counts`, how many images of each
    /// status match the filter without its status.
    pub async fn list_images_counted(
        &self,
        query: &ImageQuery,
        counts: bool,
    ) -> Result<(Vec<Image>, i64, Vec<(String, i64)>)> {
        dispatch!(self, list_images_counted(query, counts))
    }
    /// How many proposals of each image (`(image_id, count)`, images with
    /// none left out) score at or above `threshold`.
    pub async fn proposals_at_or_above(
        &self,
        image_ids: &[i64],
        threshold: f64,
    ) -> Result<Vec<(i64, i64)>> {
        dispatch!(self, proposals_at_or_above(image_ids, threshold))
    }
    /// Sets (or with `None` clears) the admin's display label of an image.
    pub async fn set_display_label(&self, id: i64, label: Option<&str>, by: &str) -> Result<Image> {
        dispatch!(self, set_display_label(id, label, by))
    }
    pub async fn set_image_status(&self, id: i64, status: ImageStatus, by: &str) -> Result<Image> {
        dispatch!(self, set_image_status(id, status, by))
    }
    /// An admin confirms a flagged image (burned-in text) for export.
    pub async fn confirm_burned_in(&self, id: i64, by: &str) -> Result<Image> {
        dispatch!(self, confirm_burned_in(id, by))
    }
    async fn replace_image(
        &self,
        id: i64,
        new: &NewImage,
        object_key: &str,
        thumbnail_key: &str,
        force: bool,
    ) -> Result<(Image, Image)> {
        dispatch!(
            self,
            replace_image(id, new, object_key, thumbnail_key, force)
        )
    }
    async fn delete_image(&self, id: i64) -> Result<Image> {
        dispatch!(self, delete_image(id))
    }

    /// The current annotations of an image.
    pub async fn annotations(&self, image_id: i64) -> Result<AnnotationState> {
        dispatch!(self, annotations(image_id))
    }
    /// Saves if the stored version is still `expected_version` (else
    /// [`StoreError::VersionConflict`]); records before/after in the history.
    #[tracing::instrument(skip(self, edit))]
    pub async fn save_annotations(
        &self,
        image_id: i64,
        expected_version: i64,
        edit: &AnnotationEdit,
        user: &str,
    ) -> Result<AnnotationState> {
        dispatch!(
            self,
            save_annotations(image_id, expected_version, edit, user)
        )
    }
    /// Adds a model's proposals, with the same version check as a save.
    pub async fn add_model_boxes(
        &self,
        image_id: i64,
        expected_version: i64,
        model: &str,
        model_version: &str,
        boxes: &[ModelBox],
        user: &str,
    ) -> Result<AnnotationState> {
        dispatch!(
            self,
            add_model_boxes(
                image_id,
                expected_version,
                model,
                model_version,
                boxes,
                user
            )
        )
    }
    /// An instance-wide setting, initialised to `initial` by whoever asks first.
    pub async fn setting_or_init(&self, name: &str, initial: &str) -> Result<String> {
        dispatch!(self, setting_or_init(name, initial))
    }
    pub async fn history(&self, image_id: i64) -> Result<Vec<HistoryEntry>> {
        dispatch!(self, history(image_id))
    }
}
