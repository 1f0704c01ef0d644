// The model registry, stored predictions, review statistics and user
// preferences (included by both backends).

use crate::review::*;
use crate::review_rows::*;

// ---- models ------------------------------------------------------------------------

async fn model_in(tx: &mut Tx<'_>, id: i64) -> Result<Option<ModelRecord>> {
    let row: Option<ModelRow> =
        sqlx::query_as(&format!("SELECT {MODEL_COLUMNS} FROM models WHERE id = $1"))
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?;
    row.map(ModelRecord::try_from).transpose()
}

/// Clears the deployed flag of every other model and sets it on `id`, in
/// the caller's transaction (the lock orders concurrent deploys).
async fn deploy_in(tx: &mut Tx<'_>, id: i64) -> Result<()> {
    sqlx::query(DEPLOY_LOCK).execute(&mut **tx).await?;
    sqlx::query("UPDATE models SET deployed = FALSE WHERE deployed AND id <> $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    let r = sqlx::query("UPDATE models SET deployed = TRUE WHERE id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    if r.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

pub async fn register_model(pool: &Pool<Db>, new: &NewModel, deploy: bool) -> Result<ModelRecord> {
    let mut tx = pool.begin_with(BEGIN_WRITE).await?;
    let id: i64 = sqlx::query_scalar(
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
    .fetch_one(&mut *tx)
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

pub async fn models(pool: &Pool<Db>) -> Result<Vec<ModelRecord>> {
    let rows: Vec<ModelRow> =
        sqlx::query_as(&format!("SELECT {MODEL_COLUMNS} FROM models ORDER BY id DESC"))
            .fetch_all(pool)
            .await?;
    rows.into_iter().map(ModelRecord::try_from).collect()
}

pub async fn model(pool: &Pool<Db>, id: i64) -> Result<Option<ModelRecord>> {
    let mut tx = pool.begin_with(BEGIN_WRITE).await?;
    let m = model_in(&mut tx, id).await?;
    tx.commit().await?;
    Ok(m)
}

pub async fn deployed_model(pool: &Pool<Db>) -> Result<Option<ModelRecord>> {
    let row: Option<ModelRow> = sqlx::query_as(&format!(
        "SELECT {MODEL_COLUMNS} FROM models WHERE deployed ORDER BY id LIMIT 1"
    ))
    .fetch_optional(pool)
    .await?;
    row.map(ModelRecord::try_from).transpose()
}

pub async fn deploy_model(pool: &Pool<Db>, id: i64) -> Result<ModelRecord> {
    let mut tx = pool.begin_with(BEGIN_WRITE).await?;
    deploy_in(&mut tx, id).await?;
    let m = model_in(&mut tx, id).await?.ok_or(StoreError::NotFound)?;
    tx.commit().await?;
    Ok(m)
}

/// Per class (as the model proposed it) and status, how many of this model's boxes there are.
pub async fn model_review_counts(
    pool: &Pool<Db>,
    model_id: i64,
    blind_reader: &str,
) -> Result<Vec<ClassReview>> {
    // A blind reader's images are left out (`blind_images`' condition).
    let rows: Vec<(i64, String, i64)> = sqlx::query_as(
        "SELECT COALESCE(b.original_class_id, b.class_id) AS cls, b.status, COUNT(*) AS n \
         FROM boxes b JOIN predictions p ON p.id = b.prediction_id \
         WHERE p.model_id = $1 AND NOT EXISTS (SELECT 1 FROM readings r \
           WHERE r.image_id = b.image_id AND r.reader = $2 AND r.status = 'assigned') \
         GROUP BY COALESCE(b.original_class_id, b.class_id), b.status",
    )
    .bind(model_id)
    .bind(blind_reader)
    .fetch_all(pool)
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

// ---- predictions -------------------------------------------------------------------

pub async fn predictions(pool: &Pool<Db>, image_id: i64) -> Result<Vec<Prediction>> {
    let rows: Vec<PredictionRow> = sqlx::query_as(
        "SELECT id, image_id, model_id, job_id, detections_json, elapsed_ms, created_at \
         FROM predictions WHERE image_id = $1 ORDER BY id",
    )
    .bind(image_id)
    .fetch_all(pool)
    .await?;
    rows.into_iter().map(Prediction::try_from).collect()
}

// ---- preferences -------------------------------------------------------------------

pub async fn preferences(pool: &Pool<Db>, user_id: i64) -> Result<Preferences> {
    let t: Option<f64> =
        sqlx::query_scalar("SELECT proposal_threshold FROM user_preferences WHERE user_id = $1")
            .bind(user_id)
            .fetch_optional(pool)
            .await?;
    Ok(t.map_or_else(Preferences::default, |proposal_threshold| Preferences {
        proposal_threshold,
    }))
}

pub async fn set_preferences(pool: &Pool<Db>, user_id: i64, p: &Preferences) -> Result<Preferences> {
    sqlx::query(
        "INSERT INTO user_preferences (user_id, proposal_threshold) VALUES ($1, $2) \
         ON CONFLICT (user_id) DO UPDATE SET proposal_threshold = excluded.proposal_threshold",
    )
    .bind(user_id)
    .bind(p.proposal_threshold)
    .execute(pool)
    .await?;
    Ok(*p)
}
