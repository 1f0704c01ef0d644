//! Blind reading and consensus: each reader's own boxes on an image, kept
//! apart from its annotations, and the fused boxes a reviewer writes back.

use crate::annotations::{
    AnnotationState, append_history, insert_box, state_in, take_version, touch_image,
};
use crate::db::sql::sql;
use crate::db::{Database, Tx};
use crate::error::{Result, StoreError};
use crate::time::Timestamp;
use carina_core::{BBox, BoxStatus, Provenance};
use serde::{Deserialize, Serialize};

/// One box of a reader's own reading.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ReadingBox {
    pub class_id: u32,
    pub bbox: BBox,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadingStatus {
    Assigned,
    Submitted,
}

impl ReadingStatus {
    pub fn parse(s: &str) -> Option<ReadingStatus> {
        match s {
            "assigned" => Some(ReadingStatus::Assigned),
            "submitted" => Some(ReadingStatus::Submitted),
            _ => None,
        }
    }
}

/// One reader's blind reading of one image.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reading {
    pub image_id: i64,
    pub reader: String,
    pub status: ReadingStatus,
    pub version: i64,
    pub no_finding: bool,
    pub boxes: Vec<ReadingBox>,
    pub assigned_at: Timestamp,
    pub updated_at: Timestamp,
    pub submitted_at: Option<Timestamp>,
}

/// An image's blind-reading assignment: its reviewer and readers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assignment {
    pub image_id: i64,
    pub reviewer: String,
    pub assigned_by: String,
    pub created_at: Timestamp,
    pub readings: Vec<Reading>,
    /// The last fusion (parameters, readers, fused boxes), if any.
    pub consensus: Option<serde_json::Value>,
    pub consensus_at: Option<Timestamp>,
    pub consensus_by: Option<String>,
}

/// A fused box to write into an image's annotations.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ConsensusBox {
    pub class_id: u32,
    pub bbox: BBox,
    /// The fusion's score (the share of readers who drew the box).
    pub score: f64,
}

#[derive(sqlx::FromRow)]
pub(crate) struct ReadingRow {
    pub image_id: i64,
    pub reader: String,
    pub status: String,
    pub version: i64,
    pub no_finding: bool,
    pub boxes_json: String,
    pub assigned_at: i64,
    pub updated_at: i64,
    pub submitted_at: Option<i64>,
}

impl TryFrom<ReadingRow> for Reading {
    type Error = StoreError;
    fn try_from(r: ReadingRow) -> Result<Self> {
        Ok(Reading {
            image_id: r.image_id,
            reader: r.reader,
            status: ReadingStatus::parse(&r.status).ok_or_else(|| {
                StoreError::Invalid(format!("unknown reading status {:?}", r.status))
            })?,
            version: r.version,
            no_finding: r.no_finding,
            boxes: serde_json::from_str(&r.boxes_json)?,
            assigned_at: Timestamp(r.assigned_at),
            updated_at: Timestamp(r.updated_at),
            submitted_at: r.submitted_at.map(Timestamp),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct AssignmentRow {
    pub image_id: i64,
    pub reviewer: String,
    pub assigned_by: String,
    pub created_at: i64,
    pub consensus_json: Option<String>,
    pub consensus_at: Option<i64>,
    pub consensus_by: Option<String>,
}

impl AssignmentRow {
    pub fn into_assignment(self, readings: Vec<Reading>) -> Result<Assignment> {
        Ok(Assignment {
            image_id: self.image_id,
            reviewer: self.reviewer,
            assigned_by: self.assigned_by,
            created_at: Timestamp(self.created_at),
            readings,
            consensus: self
                .consensus_json
                .as_deref()
                .map(serde_json::from_str)
                .transpose()?,
            consensus_at: self.consensus_at.map(Timestamp),
            consensus_by: self.consensus_by,
        })
    }
}

impl Database {
    pub async fn assignment(&self, image_id: i64) -> Result<Option<Assignment>> {
        let mut tx = self.begin_write().await?;
        let a = assignment_in(&mut tx, image_id).await?;
        tx.commit().await?;
        Ok(a)
    }

    /// Adds readers to an image's blind reading and sets its reviewer.
    #[tracing::instrument(skip(self))]
    pub async fn assign_readers(
        &self,
        image_id: i64,
        readers: &[String],
        reviewer: &str,
        by: &str,
    ) -> Result<Assignment> {
        let now = Timestamp::now().millis();
        let mut tx = self.begin_write().await?;
        sql(
            "INSERT INTO reading_assignments (image_id, reviewer, assigned_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $4) ON CONFLICT (image_id) DO UPDATE \
             SET reviewer = excluded.reviewer, updated_at = excluded.updated_at",
        )
        .bind(image_id)
        .bind(reviewer)
        .bind(by)
        .bind(now)
        .execute(&mut tx)
        .await?;
        for reader in readers {
            sql(
                "INSERT INTO readings (image_id, reader, assigned_at, updated_at) \
                 VALUES ($1, $2, $3, $3) ON CONFLICT (image_id, reader) DO NOTHING",
            )
            .bind(image_id)
            .bind(reader)
            .bind(now)
            .execute(&mut tx)
            .await?;
        }
        let a = assignment_in(&mut tx, image_id)
            .await?
            .ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(a)
    }

    /// `user`'s readings, and the images `user` reviews.
    pub async fn assignments_of(&self, user: &str) -> Result<(Vec<Reading>, Vec<i64>)> {
        let rows: Vec<ReadingRow> = sql(&format!(
            "SELECT {READING_COLUMNS} FROM readings WHERE reader = $1 ORDER BY assigned_at DESC, image_id"
        ))
        .bind(user)
        .fetch_all(self)
        .await?;
        let readings = rows
            .into_iter()
            .map(Reading::try_from)
            .collect::<Result<_>>()?;
        let reviews: Vec<i64> = sql(
            "SELECT image_id FROM reading_assignments WHERE reviewer = $1 ORDER BY updated_at DESC, image_id",
        )
        .bind(user)
        .scalar_all(self)
        .await?;
        Ok((readings, reviews))
    }

    /// The images `reader` is a blind reader of and has not submitted yet:
    /// the one fact blind reading is enforced from.
    pub async fn blind_images(&self, reader: &str) -> Result<Vec<i64>> {
        Ok(sql(
            "SELECT image_id FROM readings WHERE reader = $1 AND status = 'assigned' ORDER BY image_id",
        )
        .bind(reader)
        .scalar_all(self)
        .await?)
    }

    pub async fn reading(&self, image_id: i64, reader: &str) -> Result<Option<Reading>> {
        let row: Option<ReadingRow> = sql(&format!(
            "SELECT {READING_COLUMNS} FROM readings WHERE image_id = $1 AND reader = $2"
        ))
        .bind(image_id)
        .bind(reader)
        .fetch_optional(self)
        .await?;
        row.map(Reading::try_from).transpose()
    }

    /// Why a guarded statement on a reading matched no row.
    async fn reading_refusal(&self, image_id: i64, reader: &str, expected: i64) -> StoreError {
        match self.reading(image_id, reader).await {
            Ok(None) => StoreError::NotFound,
            Ok(Some(r)) if r.status == ReadingStatus::Submitted => {
                StoreError::Conflict("this reading was submitted and can no longer change".into())
            }
            Ok(Some(r)) => StoreError::VersionConflict {
                expected,
                current: r.version,
            },
            Err(e) => e,
        }
    }

    /// Saves a reader's boxes if the reading is still at `expected_version`
    /// and not submitted.
    pub async fn save_reading(
        &self,
        image_id: i64,
        reader: &str,
        expected_version: i64,
        no_finding: bool,
        boxes: &[ReadingBox],
    ) -> Result<Reading> {
        let r = sql(
            "UPDATE readings SET version = version + 1, no_finding = $1, boxes_json = $2, \
             updated_at = $3 WHERE image_id = $4 AND reader = $5 AND version = $6 \
             AND status = 'assigned'",
        )
        .bind(no_finding)
        .bind(serde_json::to_string(boxes)?)
        .bind(Timestamp::now().millis())
        .bind(image_id)
        .bind(reader)
        .bind(expected_version)
        .execute(self)
        .await?;
        if r != 1 {
            return Err(self
                .reading_refusal(image_id, reader, expected_version)
                .await);
        }
        self.reading(image_id, reader)
            .await?
            .ok_or(StoreError::NotFound)
    }

    pub async fn submit_reading(&self, image_id: i64, reader: &str) -> Result<Reading> {
        let now = Timestamp::now().millis();
        let r = sql(
            "UPDATE readings SET status = 'submitted', submitted_at = $1, updated_at = $1 \
             WHERE image_id = $2 AND reader = $3 AND status = 'assigned'",
        )
        .bind(now)
        .bind(image_id)
        .bind(reader)
        .execute(self)
        .await?;
        if r != 1 {
            return Err(self.reading_refusal(image_id, reader, -1).await);
        }
        self.reading(image_id, reader)
            .await?
            .ok_or(StoreError::NotFound)
    }

    /// All submitted readings of the project, for the agreement figures.
    pub async fn submitted_readings(&self) -> Result<Vec<Reading>> {
        let rows: Vec<ReadingRow> = sql(&format!(
            "SELECT {READING_COLUMNS} FROM readings WHERE status = 'submitted' ORDER BY image_id, reader"
        ))
        .fetch_all(self)
        .await?;
        rows.into_iter().map(Reading::try_from).collect()
    }

    /// Replaces the image's consensus boxes by `boxes` (a new annotations
    /// version, recorded in the history as `consensus`).
    #[tracing::instrument(skip(self, boxes, summary))]
    pub async fn save_consensus(
        &self,
        image_id: i64,
        expected_version: i64,
        boxes: &[ConsensusBox],
        reviewer: &str,
        readers: &[String],
        summary: &serde_json::Value,
    ) -> Result<AnnotationState> {
        // Writes a fusion into the image's annotations, through the same version
        // check and history as a save: earlier consensus boxes are replaced, every
        // other box (model proposals, manual boxes) is kept. `summary` (parameters,
        // readers, fused boxes) is kept on the assignment.
        let now = Timestamp::now();
        let mut tx = self.begin_write().await?;
        take_version(&mut tx, image_id, expected_version).await?;
        let mut before = state_in(&mut tx, image_id).await?;
        before.version = expected_version;
        sql("DELETE FROM boxes WHERE image_id = $1 AND consensus_readers IS NOT NULL")
            .bind(image_id)
            .execute(&mut tx)
            .await?;
        let source = Provenance::Consensus {
            user: reviewer.to_string(),
            readers: readers.to_vec(),
        };
        for b in boxes {
            insert_box(
                &mut tx,
                image_id,
                b.class_id,
                b.bbox,
                &source,
                Some(b.score),
                BoxStatus::Manual,
                now,
                reviewer,
                None,
            )
            .await?;
        }
        let r = sql(
            "UPDATE reading_assignments SET consensus_json = $1, consensus_at = $2, consensus_by = $3, \
             updated_at = $2 WHERE image_id = $4",
        )
        .bind(serde_json::to_string(summary)?)
        .bind(now.millis())
        .bind(reviewer)
        .bind(image_id)
        .execute(&mut tx)
        .await?;
        if r != 1 {
            return Err(StoreError::NotFound);
        }
        touch_image(&mut tx, image_id, now, reviewer).await?;
        let after = state_in(&mut tx, image_id).await?;
        append_history(
            &mut tx,
            image_id,
            now,
            reviewer,
            "consensus",
            &before,
            &after,
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }
}

const READING_COLUMNS: &str = "image_id, reader, status, version, no_finding, boxes_json, \
    assigned_at, updated_at, submitted_at";

async fn readings_in(tx: &mut Tx, image_id: i64) -> Result<Vec<Reading>> {
    let rows: Vec<ReadingRow> = sql(&format!(
        "SELECT {READING_COLUMNS} FROM readings WHERE image_id = $1 ORDER BY assigned_at, reader"
    ))
    .bind(image_id)
    .fetch_all(&mut *tx)
    .await?;
    rows.into_iter().map(Reading::try_from).collect()
}

async fn assignment_in(tx: &mut Tx, image_id: i64) -> Result<Option<Assignment>> {
    let row: Option<AssignmentRow> = sql(
        "SELECT image_id, reviewer, assigned_by, created_at, consensus_json, consensus_at, \
         consensus_by FROM reading_assignments WHERE image_id = $1",
    )
    .bind(image_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let readings = readings_in(tx, image_id).await?;
    row.into_assignment(readings).map(Some)
}
