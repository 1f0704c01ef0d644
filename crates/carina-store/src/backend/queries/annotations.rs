// Annotations, model proposals and history (included by both backends).

// ---- annotations -------------------------------------------------------------------

async fn state_in(tx: &mut Tx<'_>, image_id: i64) -> Result<AnnotationState> {
    let (version, no_finding): (i64, bool) =
        sqlx::query_as("SELECT version, no_finding FROM annotation_states WHERE image_id = $1")
            .bind(image_id)
            .fetch_optional(&mut **tx)
            .await?
            .ok_or(StoreError::NotFound)?;
    let rows: Vec<BoxRow> = sqlx::query_as(&format!(
        "SELECT {BOX_COLUMNS} FROM boxes WHERE image_id = $1 ORDER BY id"
    ))
    .bind(image_id)
    .fetch_all(&mut **tx)
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

pub async fn annotations(pool: &Pool<Db>, image_id: i64) -> Result<AnnotationState> {
    let mut tx = pool.begin_with(BEGIN_WRITE).await?;
    let state = state_in(&mut tx, image_id).await?;
    tx.commit().await?;
    Ok(state)
}

async fn append_history(
    tx: &mut Tx<'_>,
    image_id: i64,
    at: Timestamp,
    user: &str,
    action: &str,
    before: &AnnotationState,
    after: &AnnotationState,
) -> Result<()> {
    sqlx::query(
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
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Takes the next version if the current one is `expected`. This UPDATE is
/// the first statement of its transaction, so it holds PostgreSQL's row lock
/// (a concurrent save blocks, then sees the new version and matches no row)
/// or SQLite's write lock for the rest of the transaction: of two saves from
/// the same version exactly one wins.
async fn take_version(tx: &mut Tx<'_>, image_id: i64, expected: i64) -> Result<()> {
    let r = sqlx::query(
        "UPDATE annotation_states SET version = version + 1 WHERE image_id = $1 AND version = $2",
    )
    .bind(image_id)
    .bind(expected)
    .execute(&mut **tx)
    .await?;
    if r.rows_affected() == 1 {
        return Ok(());
    }
    let current: Option<i64> =
        sqlx::query_scalar("SELECT version FROM annotation_states WHERE image_id = $1")
            .bind(image_id)
            .fetch_optional(&mut **tx)
            .await?;
    match current {
        None => Err(StoreError::NotFound),
        Some(current) => Err(StoreError::VersionConflict { expected, current }),
    }
}

async fn touch_image(tx: &mut Tx<'_>, image_id: i64, at: Timestamp, user: &str) -> Result<()> {
    // The first save moves a new image into review.
    sqlx::query(
        "UPDATE images SET updated_at = $1, updated_by = $2, \
         status = CASE WHEN status = 'new' THEN 'in_review' ELSE status END WHERE id = $3",
    )
    .bind(at.millis())
    .bind(user)
    .bind(image_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn save_annotations(
    pool: &Pool<Db>,
    image_id: i64,
    expected_version: i64,
    edit: &AnnotationEdit,
    user: &str,
) -> Result<AnnotationState> {
    let now = Timestamp::now();
    let mut tx = pool.begin_with(BEGIN_WRITE).await?;
    take_version(&mut tx, image_id, expected_version).await?;
    let mut before = state_in(&mut tx, image_id).await?;
    before.version = expected_version;
    sqlx::query("UPDATE annotation_states SET no_finding = $1 WHERE image_id = $2")
        .bind(edit.no_finding)
        .bind(image_id)
        .execute(&mut *tx)
        .await?;
    let plan = crate::plan::plan_save(&before.boxes, edit, user)?;
    for id in &plan.delete {
        sqlx::query("DELETE FROM boxes WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    for u in &plan.update {
        let o = u.original_bbox;
        sqlx::query(
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
        .execute(&mut *tx)
        .await?;
    }
    for b in &plan.insert {
        insert_box(
            &mut tx, image_id, b.class_id, b.bbox, &b.source, b.score, b.status, now, user, None,
        )
        .await?;
    }
    touch_image(&mut tx, image_id, now, user).await?;
    let after = state_in(&mut tx, image_id).await?;
    append_history(&mut tx, image_id, now, user, "save", &before, &after).await?;
    tx.commit().await?;
    Ok(after)
}

#[allow(clippy::too_many_arguments)]
async fn insert_box(
    tx: &mut Tx<'_>,
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
    sqlx::query(
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
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Adds a model's proposals as `proposed` boxes (a new version, recorded in
/// the history like a save).
pub async fn add_model_boxes(
    pool: &Pool<Db>,
    image_id: i64,
    expected_version: i64,
    model: &str,
    model_version: &str,
    boxes: &[ModelBox],
    user: &str,
) -> Result<AnnotationState> {
    let now = Timestamp::now();
    let mut tx = pool.begin_with(BEGIN_WRITE).await?;
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

pub async fn history(pool: &Pool<Db>, image_id: i64) -> Result<Vec<HistoryEntry>> {
    let rows: Vec<HistoryRow> = sqlx::query_as(
        "SELECT id, at, username, action, version, before_json, after_json \
         FROM annotation_history WHERE image_id = $1 ORDER BY id",
    )
    .bind(image_id)
    .fetch_all(pool)
    .await?;
    rows.into_iter().map(HistoryEntry::try_from).collect()
}
