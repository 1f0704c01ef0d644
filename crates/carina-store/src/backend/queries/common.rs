// The queries, written once for both databases. `sqlite.rs` and `postgres.rs`
// `include!` the files of this folder after defining `Db` (the sqlx database type) and
// `FIRST_USER_LOCK` (a statement that serialises first-account creation).
// Every statement uses `$N` placeholders, `RETURNING` and plain SQL types,
// which SQLite and PostgreSQL read alike.

use crate::accounts::*;
use crate::error::{Result, StoreError, is_unique_violation};
use crate::models::*;
use crate::reading::*;
use crate::rows::*;
use carina_core::findings::{Label, LabelSet};
use carina_core::{BBox, BoxStatus, Provenance};
use sqlx::Pool;

type Tx<'a> = sqlx::Transaction<'a, Db>;

const USER_COLUMNS: &str = "id, username, role, created_at, password_hash";
const BOX_COLUMNS: &str = "id, class_id, x_min, y_min, x_max, y_max, source_kind, source_user, \
    model_name, model_version, score, status, original_class_id, original_x_min, original_y_min, \
    original_x_max, original_y_max, prediction_id, created_at, updated_at, updated_by, consensus_readers";

fn unique_as(e: sqlx::Error, message: &str) -> StoreError {
    if is_unique_violation(&e) {
        StoreError::Conflict(message.to_string())
    } else {
        e.into()
    }
}
