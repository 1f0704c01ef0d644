//! An image's annotations: boxes with their provenance, saved with
//! optimistic concurrency (a version per image), and the append-only
//! history of every change. What a save does to the boxes is decided in
//! `plan.rs` without touching the database.

use crate::db::sql::sql;
use crate::db::{Database, Tx};
use crate::error::{Result, StoreError};
use crate::time::Timestamp;
use carina_core::{BBox, BoxStatus, Provenance};
use serde::{Deserialize, Serialize};

mod plan;

use plan::plan_save;

/// A box as stored, with its provenance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredBox {
    pub id: i64,
    pub class_id: u32,
    pub bbox: BBox,
    pub source: Provenance,
    pub score: Option<f64>,
    pub status: BoxStatus,
    /// The model's box before a radiologist edited it.
    pub original_bbox: Option<BBox>,
    pub original_class_id: Option<u32>,
    /// The stored raw model output a model box came from (`GET .../predictions`).
    #[serde(default)]
    pub prediction_id: Option<i64>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub updated_by: String,
}

/// The annotations of one image at one version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnnotationState {
    pub version: i64,
    pub no_finding: bool,
    pub boxes: Vec<StoredBox>,
}

/// One box of a save: `id` names an existing box, `None` adds a manual box.
#[derive(Debug, Clone, PartialEq)]
pub struct BoxEdit {
    pub id: Option<i64>,
    pub class_id: u32,
    pub bbox: BBox,
    pub status: BoxStatus,
}

/// A whole save: the new list of boxes replaces the old one.
#[derive(Debug, Clone, PartialEq)]
pub struct AnnotationEdit {
    pub no_finding: bool,
    pub boxes: Vec<BoxEdit>,
}

/// One entry of an image's append-only annotation history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryEntry {
    pub id: i64,
    pub at: Timestamp,
    pub user: String,
    pub action: String,
    pub version: i64,
    pub before: serde_json::Value,
    pub after: serde_json::Value,
}

/// A box proposed by a model.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelBox {
    pub class_id: u32,
    pub bbox: BBox,
    pub score: f64,
}

const BOX_COLUMNS: &str = "id, class_id, x_min, y_min, x_max, y_max, source_kind, source_user, \
    model_name, model_version, score, status, original_class_id, original_x_min, original_y_min, \
    original_x_max, original_y_max, prediction_id, created_at, updated_at, updated_by, consensus_readers";

#[derive(sqlx::FromRow)]
pub(crate) struct BoxRow {
    pub id: i64,
    pub class_id: i64,
    pub x_min: f64,
    pub y_min: f64,
    pub x_max: f64,
    pub y_max: f64,
    pub source_kind: String,
    pub source_user: Option<String>,
    pub model_name: Option<String>,
    pub model_version: Option<String>,
    pub score: Option<f64>,
    pub status: String,
    pub original_class_id: Option<i64>,
    pub original_x_min: Option<f64>,
    pub original_y_min: Option<f64>,
    pub original_x_max: Option<f64>,
    pub original_y_max: Option<f64>,
    pub prediction_id: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub updated_by: String,
    pub consensus_readers: Option<String>,
}

impl TryFrom<BoxRow> for StoredBox {
    type Error = StoreError;
    fn try_from(r: BoxRow) -> Result<Self> {
        let source = match (r.source_kind.as_str(), &r.consensus_readers) {
            ("model", _) => Provenance::Model {
                model: r.model_name.unwrap_or_default(),
                version: r.model_version.unwrap_or_default(),
            },
            (_, Some(readers)) => Provenance::Consensus {
                user: r.source_user.unwrap_or_default(),
                readers: serde_json::from_str(readers)
                    .map_err(|_| bad("an unreadable consensus reader list"))?,
            },
            _ => Provenance::Radiologist {
                user: r.source_user.unwrap_or_default(),
            },
        };
        let original_bbox = match (
            r.original_x_min,
            r.original_y_min,
            r.original_x_max,
            r.original_y_max,
        ) {
            (Some(a), Some(b), Some(c), Some(d)) => {
                Some(BBox::new(a, b, c, d).map_err(|_| bad("an invalid original box"))?)
            }
            _ => None,
        };
        Ok(StoredBox {
            id: r.id,
            class_id: r.class_id as u32,
            bbox: BBox::new(r.x_min, r.y_min, r.x_max, r.y_max)
                .map_err(|_| bad("invalid coordinates"))?,
            source,
            score: r.score,
            status: BoxStatus::parse(&r.status).ok_or_else(|| bad("an unknown status"))?,
            original_bbox,
            original_class_id: r.original_class_id.map(|c| c as u32),
            prediction_id: r.prediction_id,
            created_at: Timestamp(r.created_at),
            updated_at: Timestamp(r.updated_at),
            updated_by: r.updated_by,
        })
    }
}

fn bad(what: &str) -> StoreError {
    StoreError::Invalid(format!("stored box has {what}"))
}

#[derive(sqlx::FromRow)]
pub(crate) struct HistoryRow {
    pub id: i64,
    pub at: i64,
    pub username: String,
    pub action: String,
    pub version: i64,
    pub before_json: String,
    pub after_json: String,
}

impl TryFrom<HistoryRow> for HistoryEntry {
    type Error = StoreError;
    fn try_from(r: HistoryRow) -> Result<Self> {
        Ok(HistoryEntry {
            id: r.id,
            at: Timestamp(r.at),
            user: r.username,
            action: r.action,
            version: r.version,
            before: serde_json::from_str(&r.before_json)?,
            after: serde_json::from_str(&r.after_json)?,
        })
    }
}

impl Database {
    /// The current annotations of an image.
    pub async fn annotations(&self, image_id: i64) -> Result<AnnotationState> {
        let mut tx = self.begin_write().await?;
        let state = state_in(&mut tx, image_id).await?;
        tx.commit().await?;
        Ok(state)
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
        let now = Timestamp::now();
        let mut tx = self.begin_write().await?;
        take_version(&mut tx, image_id, expected_version).await?;
        let mut before = state_in(&mut tx, image_id).await?;
        before.version = expected_version;
        sql("UPDATE annotation_states SET no_finding = $1 WHERE image_id = $2")
            .bind(edit.no_finding)
            .bind(image_id)
            .execute(&mut tx)
            .await?;
        let plan = plan_save(&before.boxes, edit, user)?;
        for id in &plan.delete {
            sql("DELETE FROM boxes WHERE id = $1")
                .bind(id)
                .execute(&mut tx)
                .await?;
        }
        for u in &plan.update {
            let o = u.original_bbox;
            sql(
                "UPDATE boxes SET class_id = $1, x_min = $2, y_min = $3, x_max = $4, y_max = $5, \
                 status = $6, original_class_id = $7, original_x_min = $8, original_y_min = $9, \
                 original_x_max = $10, original_y_max = $11, updated_at = $12, updated_by = $13 \
                 WHERE id = $14",
            )
            .bind(i64::from(u.class_id))
            .bind(u.bbox.x_min())
            .bind(u.bbox.y_min())
            .bind(u.bbox.x_max())
            .bind(u.bbox.y_max())
            .bind(u.status.as_str())
            .bind(u.original_class_id.map(i64::from))
            .bind(o.map(|b| b.x_min()))
            .bind(o.map(|b| b.y_min()))
            .bind(o.map(|b| b.x_max()))
            .bind(o.map(|b| b.y_max()))
            .bind(now.millis())
            .bind(user)
            .bind(u.id)
            .execute(&mut tx)
            .await?;
        }
        for b in &plan.insert {
            insert_box(
                &mut tx, image_id, b.class_id, b.bbox, &b.source, b.score, b.status, now, user,
                None,
            )
            .await?;
        }
        touch_image(&mut tx, image_id, now, user).await?;
        let after = state_in(&mut tx, image_id).await?;
        append_history(&mut tx, image_id, now, user, "save", &before, &after).await?;
        tx.commit().await?;
        Ok(after)
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
        // Adds a model's proposals as `proposed` boxes (a new version, recorded in
        // the history like a save).
        let now = Timestamp::now();
        let mut tx = self.begin_write().await?;
        take_version(&mut tx, image_id, expected_version).await?;
        let mut before = state_in(&mut tx, image_id).await?;
        before.version = expected_version;
        let source = Provenance::Model {
            model: model.to_string(),
            version: model_version.to_string(),
        };
        for b in boxes {
            insert_box(
                &mut tx,
                image_id,
                b.class_id,
                b.bbox,
                &source,
                Some(b.score),
                BoxStatus::Proposed,
                now,
                user,
                None,
            )
            .await?;
        }
        touch_image(&mut tx, image_id, now, user).await?;
        let after = state_in(&mut tx, image_id).await?;
        append_history(&mut tx, image_id, now, user, "predict", &before, &after).await?;
        tx.commit().await?;
        Ok(after)
    }

    pub async fn history(&self, image_id: i64) -> Result<Vec<HistoryEntry>> {
        let rows: Vec<HistoryRow> = sql(
            "SELECT id, at, username, action, version, before_json, after_json \
             FROM annotation_history WHERE image_id = $1 ORDER BY id",
        )
        .bind(image_id)
        .fetch_all(self)
        .await?;
        rows.into_iter().map(HistoryEntry::try_from).collect()
    }
}

pub(crate) async fn state_in(tx: &mut Tx, image_id: i64) -> Result<AnnotationState> {
    let (version, no_finding): (i64, bool) =
        sql("SELECT version, no_finding FROM annotation_states WHERE image_id = $1")
            .bind(image_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
    let rows: Vec<BoxRow> = sql(&format!(
        "SELECT {BOX_COLUMNS} FROM boxes WHERE image_id = $1 ORDER BY id"
    ))
    .bind(image_id)
    .fetch_all(&mut *tx)
    .await?;
    let boxes = rows
        .into_iter()
        .map(StoredBox::try_from)
        .collect::<Result<_>>()?;
    Ok(AnnotationState {
        version,
        no_finding,
        boxes,
    })
}

pub(crate) async fn append_history(
    tx: &mut Tx,
    image_id: i64,
    at: Timestamp,
    user: &str,
    action: &str,
    before: &AnnotationState,
    after: &AnnotationState,
) -> Result<()> {
    sql(
        "INSERT INTO annotation_history (image_id, at, username, action, version, before_json, \
         after_json) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(image_id)
    .bind(at.millis())
    .bind(user)
    .bind(action)
    .bind(after.version)
    .bind(serde_json::to_string(before)?)
    .bind(serde_json::to_string(after)?)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Takes the next version if the current one is `expected`. This UPDATE is
/// the first statement of its transaction, so it holds PostgreSQL's row lock
/// (a concurrent save blocks, then sees the new version and matches no row)
/// or SQLite's write lock for the rest of the transaction: of two saves from
/// the same version exactly one wins.
pub(crate) async fn take_version(tx: &mut Tx, image_id: i64, expected: i64) -> Result<()> {
    let r = sql(
        "UPDATE annotation_states SET version = version + 1 WHERE image_id = $1 AND version = $2",
    )
    .bind(image_id)
    .bind(expected)
    .execute(&mut *tx)
    .await?;
    if r == 1 {
        return Ok(());
    }
    let current: Option<i64> = sql("SELECT version FROM annotation_states WHERE image_id = $1")
        .bind(image_id)
        .scalar_optional(&mut *tx)
        .await?;
    match current {
        None => Err(StoreError::NotFound),
        Some(current) => Err(StoreError::VersionConflict { expected, current }),
    }
}

pub(crate) async fn touch_image(
    tx: &mut Tx,
    image_id: i64,
    at: Timestamp,
    user: &str,
) -> Result<()> {
    // The first save moves a new image into review.
    sql("UPDATE images SET updated_at = $1, updated_by = $2, \
         status = CASE WHEN status = 'new' THEN 'in_review' ELSE status END WHERE id = $3")
    .bind(at.millis())
    .bind(user)
    .bind(image_id)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
pub(crate) async fn insert_box(
    tx: &mut Tx,
    image_id: i64,
    class_id: u32,
    bbox: BBox,
    source: &Provenance,
    score: Option<f64>,
    status: BoxStatus,
    now: Timestamp,
    user: &str,
    prediction_id: Option<i64>,
) -> Result<()> {
    let (kind, source_user, model, version) = match source {
        Provenance::Radiologist { user } | Provenance::Consensus { user, .. } => {
            ("radiologist", Some(user.as_str()), None, None)
        }
        Provenance::Model { model, version } => {
            ("model", None, Some(model.as_str()), Some(version.as_str()))
        }
    };
    let consensus_readers = match source {
        Provenance::Consensus { readers, .. } => Some(serde_json::to_string(readers)?),
        _ => None,
    };
    sql(
        "INSERT INTO boxes (image_id, class_id, x_min, y_min, x_max, y_max, source_kind, \
         source_user, model_name, model_version, score, status, created_at, updated_at, updated_by, \
         prediction_id, consensus_readers) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13, $14, $15, $16)",
    )
    .bind(image_id)
    .bind(i64::from(class_id))
    .bind(bbox.x_min())
    .bind(bbox.y_min())
    .bind(bbox.x_max())
    .bind(bbox.y_max())
    .bind(kind)
    .bind(source_user)
    .bind(model)
    .bind(version)
    .bind(score)
    .bind(status.as_str())
    .bind(now.millis())
    .bind(user)
    .bind(prediction_id)
    .bind(consensus_readers)
    .execute(&mut *tx)
    .await?;
    Ok(())
}
