//! Carina's persistence, with no knowledge of HTTP: the database (SQLite
//! embedded by default, PostgreSQL for several server processes; the same
//! queries and behaviour on both) and the object store holding image files.
//!
//! - [`Database`]: one module per resource, each holding its values, rows
//!   and queries (`impl Database`); how one set of queries serves both
//!   databases is explained in `db/mod.rs`.
//! - [`ObjectStorage`]: local directory, S3, or memory.
//! - [`Store`]: both together, for the operations that span them (adding,
//!   replacing and deleting image files) so that a database row never points
//!   at an object that was not written and a failure leaves no orphan.
//!
//! | module | holds |
//! |---|---|
//! | `db/` | [`Database`], connecting, migrations, transactions, the statement runner (`sql.rs`) |
//! | `users` | accounts, roles, passwords, the last-admin rule |
//! | `sessions` | sessions and API tokens |
//! | `security` | login throttling, known clients, the audit log |
//! | `settings` | instance settings, user preferences |
//! | `labels` | the label set |
//! | `images/` | images: values and reads (`mod.rs`), the list (`list.rs`), writes (`write.rs`) |
//! | `annotations/` | boxes, saves with their version check, history; the save plan (`plan.rs`) |
//! | `registry` | registered models, deploys, review counts, stored predictions |
//! | `jobs` | the job queue, and completing a prediction |
//! | `reports` | report versions: draft, sign, amend |
//! | `readings` | blind reading assignments, readings, consensus |
//! | `export` | the read-only dataset export |
//! | `store`, `objects`, `sweep` | database and objects together, the object store, the orphan sweeper |
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

mod annotations;
mod db;
mod error;
mod export;
mod images;
mod jobs;
mod labels;
mod objects;
mod readings;
mod registry;
mod reports;
mod security;
mod sessions;
mod settings;
mod store;
mod sweep;
mod time;
mod users;

pub use annotations::{
    AnnotationEdit, AnnotationState, BoxEdit, HistoryEntry, ModelBox, StoredBox,
};
pub use carina_core::findings::{Label, LabelSet};
pub use db::Database;
pub use error::{Result, StoreError};
pub use export::{ExportFilter, ExportedBox, ExportedImage};
pub use images::{
    DicomIds, DicomInstance, Image, ImageMeta, ImageQuery, ImageStatus, NewImage, StudyQuery,
    StudySummary, burned_in_flagged,
};
pub use jobs::{Completion, Job, JobKind, JobQuery, JobStatus, NewJob, PredictionResult};
pub use objects::{ObjectInfo, ObjectStorage};
pub use readings::{Assignment, ConsensusBox, Reading, ReadingBox, ReadingStatus};
pub use registry::{ClassReview, ModelRecord, ModelSource, NewModel, Prediction, RawBox};
pub use reports::{NewReport, ReportEdit, ReportQuery, ReportStatus, StoredReport};
pub use security::{AuditEntry, AuditQuery, NewAudit, ThrottleCount};
pub use sessions::{ApiToken, Session, TokenOwner, TokenScope};
pub use settings::Preferences;
pub use store::Store;
pub use sweep::{REFERENCED_KEYS_SQL, Removal, SWEPT_PREFIXES, SweepReport, remove_if_stale};
pub use time::Timestamp;
pub use users::{Credentials, Role, User};
