//! The model registry (models, the deployed one, how their proposals were
//! reviewed) and the models' stored raw outputs.

use crate::db::Backend;
use crate::db::sql::On;
use crate::db::sql::sql;
use crate::db::{Database, Tx};
use crate::error::{Result, StoreError, unique_as};
use crate::time::Timestamp;
use carina_core::BBox;
use serde::{Deserialize, Serialize};

/// Where a registered model came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelSource {
    /// Embedded in the binary and registered at first start.
    Bundled,
    /// Uploaded by an admin.
    Upload,
    /// Fine-tuned from the workbench's own annotations.
    Workbench,
}

impl ModelSource {
    pub fn as_str(self) -> &'static str {
        match self {
            ModelSource::Bundled => "bundled",
            ModelSource::Upload => "upload",
            ModelSource::Workbench => "workbench",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "bundled" => Some(ModelSource::Bundled),
            "upload" => Some(ModelSource::Upload),
            "workbench" => Some(ModelSource::Workbench),
            _ => None,
        }
    }
}

/// A model of the registry, as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelRecord {
    pub id: i64,
    pub name: String,
    pub version: String,
    pub arch: String,
    pub num_classes: u32,
    pub class_names: Vec<String>,
    pub input_size: u32,
    /// Trained (even partly) on generated radiographs: shown wherever the model is.
    pub synthetic: bool,
    /// The model folder's `model.json` (carina-core's `ModelCard`, in the
    /// current format: an older card is migrated when it is registered).
    pub model_json: serde_json::Value,
    /// `MODEL_CARD.md`, when there was one.
    pub card: Option<String>,
    /// Validation metrics (from `model.json` or an evaluation).
    pub metrics: Option<serde_json::Value>,
    pub weights_sha256: String,
    pub source: ModelSource,
    pub deployed: bool,
    pub created_at: Timestamp,
    pub created_by: String,
    /// Where `model.safetensors` lives in the object store.
    #[serde(skip)]
    pub weights_key: String,
}

/// A model to register (its weights are already in the object store).
#[derive(Debug, Clone)]
pub struct NewModel {
    pub name: String,
    pub version: String,
    pub arch: String,
    pub num_classes: u32,
    pub class_names: Vec<String>,
    pub input_size: u32,
    pub synthetic: bool,
    pub model_json: serde_json::Value,
    pub card: Option<String>,
    pub metrics: Option<serde_json::Value>,
    pub weights_key: String,
    pub weights_sha256: String,
    pub source: ModelSource,
    pub created_by: String,
}

/// How a model version's proposals of one class were reviewed.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ClassReview {
    pub class_id: u32,
    pub proposed: i64,
    pub accepted: i64,
    pub edited: i64,
    pub rejected: i64,
}

/// One detection of a model's raw output, in the image's pixels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RawBox {
    pub class_id: u32,
    pub class_name: String,
    pub score: f64,
    pub bbox: BBox,
}

/// A model's raw output for one image, stored as it came.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Prediction {
    pub id: i64,
    pub image_id: i64,
    pub model_id: i64,
    pub job_id: Option<i64>,
    pub detections: Vec<RawBox>,
    pub elapsed_ms: i64,
    pub created_at: Timestamp,
}

pub(crate) const MODEL_COLUMNS: &str = "id, name, version, arch, num_classes, class_names_json, \
    input_size, synthetic, model_json, card, metrics_json, weights_key, weights_sha256, source, \
    deployed, created_at, created_by";

#[derive(sqlx::FromRow)]
pub(crate) struct ModelRow {
    pub id: i64,
    pub name: String,
    pub version: String,
    pub arch: String,
    pub num_classes: i64,
    pub class_names_json: String,
    pub input_size: i64,
    pub synthetic: bool,
    pub model_json: String,
    pub card: Option<String>,
    pub metrics_json: Option<String>,
    pub weights_key: String,
    pub weights_sha256: String,
    pub source: String,
    pub deployed: bool,
    pub created_at: i64,
    pub created_by: String,
}

impl TryFrom<ModelRow> for ModelRecord {
    type Error = StoreError;
    fn try_from(r: ModelRow) -> Result<Self> {
        Ok(ModelRecord {
            id: r.id,
            name: r.name,
            version: r.version,
            arch: r.arch,
            num_classes: r.num_classes as u32,
            class_names: serde_json::from_str(&r.class_names_json)?,
            input_size: r.input_size as u32,
            synthetic: r.synthetic,
            model_json: serde_json::from_str(&r.model_json)?,
            card: r.card,
            metrics: r
                .metrics_json
                .as_deref()
                .map(serde_json::from_str)
                .transpose()?,
            weights_sha256: r.weights_sha256,
            source: ModelSource::parse(&r.source).ok_or_else(|| {
                StoreError::Invalid(format!("unknown model source {:?}", r.source))
            })?,
            deployed: r.deployed,
            created_at: Timestamp(r.created_at),
            created_by: r.created_by,
            weights_key: r.weights_key,
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct PredictionRow {
    pub id: i64,
    pub image_id: i64,
    pub model_id: i64,
    pub job_id: Option<i64>,
    pub detections_json: String,
    pub elapsed_ms: i64,
    pub created_at: i64,
}

impl TryFrom<PredictionRow> for Prediction {
    type Error = StoreError;
    fn try_from(r: PredictionRow) -> Result<Self> {
        Ok(Prediction {
            id: r.id,
            image_id: r.image_id,
            model_id: r.model_id,
            job_id: r.job_id,
            detections: serde_json::from_str(&r.detections_json)?,
            elapsed_ms: r.elapsed_ms,
            created_at: Timestamp(r.created_at),
        })
    }
}

impl Database {
    /// Registers a model whose weights are already stored; with `deploy`,
    /// it becomes the deployed one in the same transaction.
    pub async fn register_model(&self, new: &NewModel, deploy: bool) -> Result<ModelRecord> {
        let mut tx = self.begin_write().await?;
        let id: i64 = sql(
            "INSERT INTO models (name, version, arch, num_classes, class_names_json, input_size, \
             synthetic, model_json, card, metrics_json, weights_key, weights_sha256, source, deployed, \
             created_at, created_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, FALSE, $14, $15) RETURNING id",
        )
        .bind(&new.name)
        .bind(&new.version)
        .bind(&new.arch)
        .bind(i64::from(new.num_classes))
        .bind(serde_json::to_string(&new.class_names)?)
        .bind(i64::from(new.input_size))
        .bind(new.synthetic)
        .bind(serde_json::to_string(&new.model_json)?)
        .bind(new.card.as_deref())
        .bind(new.metrics.as_ref().map(serde_json::to_string).transpose()?)
        .bind(&new.weights_key)
        .bind(&new.weights_sha256)
        .bind(new.source.as_str())
        .bind(Timestamp::now().millis())
        .bind(&new.created_by)
        .scalar_one(&mut tx)
        .await
        .map_err(|e| {
            unique_as(
                e,
                &format!("model {} version {} is already registered", new.name, new.version),
            )
        })?;
        if deploy {
            deploy_in(&mut tx, id).await?;
        }
        let model = model_in(&mut tx, id).await?.ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(model)
    }

    /// Newest first.
    pub async fn models(&self) -> Result<Vec<ModelRecord>> {
        let rows: Vec<ModelRow> = sql(&format!(
            "SELECT {MODEL_COLUMNS} FROM models ORDER BY id DESC"
        ))
        .fetch_all(self)
        .await?;
        rows.into_iter().map(ModelRecord::try_from).collect()
    }

    pub async fn model(&self, id: i64) -> Result<Option<ModelRecord>> {
        model_in(self, id).await
    }

    pub async fn deployed_model(&self) -> Result<Option<ModelRecord>> {
        let row: Option<ModelRow> = sql(&format!(
            "SELECT {MODEL_COLUMNS} FROM models WHERE deployed ORDER BY id LIMIT 1"
        ))
        .fetch_optional(self)
        .await?;
        row.map(ModelRecord::try_from).transpose()
    }

    /// Makes `id` the one deployed model (one transaction; the previous stays registered).
    pub async fn deploy_model(&self, id: i64) -> Result<ModelRecord> {
        let mut tx = self.begin_write().await?;
        deploy_in(&mut tx, id).await?;
        let m = model_in(&mut tx, id).await?.ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(m)
    }

    /// Per class as proposed: how many of this model's boxes are proposed,
    /// accepted, edited and rejected, leaving out the images `blind_reader`
    /// reads blind (pass `""` for all).
    pub async fn model_review_counts(
        &self,
        model_id: i64,
        blind_reader: &str,
    ) -> Result<Vec<ClassReview>> {
        // A blind reader's images are left out (`blind_images`' condition).
        let rows: Vec<(i64, String, i64)> = sql(
            "SELECT COALESCE(b.original_class_id, b.class_id) AS cls, b.status, COUNT(*) AS n \
             FROM boxes b JOIN predictions p ON p.id = b.prediction_id \
             WHERE p.model_id = $1 AND NOT EXISTS (SELECT 1 FROM readings r \
               WHERE r.image_id = b.image_id AND r.reader = $2 AND r.status = 'assigned') \
             GROUP BY COALESCE(b.original_class_id, b.class_id), b.status",
        )
        .bind(model_id)
        .bind(blind_reader)
        .fetch_all(self)
        .await?;
        let mut by_class: std::collections::BTreeMap<i64, ClassReview> = Default::default();
        for (cls, status, n) in rows {
            let e = by_class.entry(cls).or_insert_with(|| ClassReview {
                class_id: cls as u32,
                ..ClassReview::default()
            });
            match status.as_str() {
                "proposed" => e.proposed += n,
                "accepted" => e.accepted += n,
                "edited" => e.edited += n,
                "rejected" => e.rejected += n,
                _ => {}
            }
        }
        Ok(by_class.into_values().collect())
    }

    /// Every model's stored raw output for an image.
    pub async fn predictions(&self, image_id: i64) -> Result<Vec<Prediction>> {
        let rows: Vec<PredictionRow> = sql(
            "SELECT id, image_id, model_id, job_id, detections_json, elapsed_ms, created_at \
             FROM predictions WHERE image_id = $1 ORDER BY id",
        )
        .bind(image_id)
        .fetch_all(self)
        .await?;
        rows.into_iter().map(Prediction::try_from).collect()
    }
}

/// The model with this id, read on the pool or in a transaction.
async fn model_in(on: impl Into<On<'_>>, id: i64) -> Result<Option<ModelRecord>> {
    let row: Option<ModelRow> = sql(&format!("SELECT {MODEL_COLUMNS} FROM models WHERE id = $1"))
        .bind(id)
        .fetch_optional(on)
        .await?;
    row.map(ModelRecord::try_from).transpose()
}

/// Clears the deployed flag of every other model and sets it on `id`, in
/// the caller's transaction (the lock orders concurrent deploys).
async fn deploy_in(tx: &mut Tx, id: i64) -> Result<()> {
    // Two deploys at once would each clear the other's flag only after it
    // was set: PostgreSQL orders them with an advisory lock; SQLite's write
    // lock, held since the transaction began, already does.
    if tx.backend() == Backend::Postgres {
        sql("SELECT pg_advisory_xact_lock(727275)")
            .execute(&mut *tx)
            .await?;
    }
    sql("UPDATE models SET deployed = FALSE WHERE deployed AND id <> $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let r = sql("UPDATE models SET deployed = TRUE WHERE id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    if r == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}
