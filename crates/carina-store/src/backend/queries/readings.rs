// Blind reading and consensus (included by both backends).

const READING_COLUMNS: &str = "image_id, reader, status, version, no_finding, boxes_json, \
    assigned_at, updated_at, submitted_at";

async fn readings_in(tx: &mut Tx<'_>, image_id: i64) -> Result<Vec<Reading>> {
    let rows: Vec<ReadingRow> = sqlx::query_as(&format!(
        "SELECT {READING_COLUMNS} FROM readings WHERE image_id = $1 ORDER BY assigned_at, reader"
    ))
    .bind(image_id)
    .fetch_all(&mut **tx)
    .await?;
    rows.into_iter().map(Reading::try_from).collect()
}

async fn assignment_in(tx: &mut Tx<'_>, image_id: i64) -> Result<Option<Assignment>> {
    let row: Option<AssignmentRow> = sqlx::query_as(
        "SELECT image_id, reviewer, assigned_by, created_at, consensus_json, consensus_at, \
         consensus_by FROM reading_assignments WHERE image_id = $1",
    )
    .bind(image_id)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let readings = readings_in(tx, image_id).await?;
    row.into_assignment(readings).map(Some)
}

pub async fn assignment(pool: &Pool<Db>, image_id: i64) -> Result<Option<Assignment>> {
    let mut tx = pool.begin_with(BEGIN_WRITE).await?;
    let a = assignment_in(&mut tx, image_id).await?;
    tx.commit().await?;
    Ok(a)
}

/// Assigns `readers` (added to any already assigned) and sets the reviewer.
pub async fn assign_readers(
    pool: &Pool<Db>,
    image_id: i64,
    readers: &[String],
    reviewer: &str,
    by: &str,
) -> Result<Assignment> {
    let now = Timestamp::now().millis();
    let mut tx = pool.begin_with(BEGIN_WRITE).await?;
    sqlx::query(
        "INSERT INTO reading_assignments (image_id, reviewer, assigned_by, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $4) ON CONFLICT (image_id) DO UPDATE \
         SET reviewer = excluded.reviewer, updated_at = excluded.updated_at",
    )
    .bind(image_id)
    .bind(reviewer)
    .bind(by)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    for reader in readers {
        sqlx::query(
            "INSERT INTO readings (image_id, reader, assigned_at, updated_at) \
             VALUES ($1, $2, $3, $3) ON CONFLICT (image_id, reader) DO NOTHING",
        )
        .bind(image_id)
        .bind(reader)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    let a = assignment_in(&mut tx, image_id).await?.ok_or(StoreError::NotFound)?;
    tx.commit().await?;
    Ok(a)
}

/// The images `user` reads (their readings) and the images they review.
pub async fn assignments_of(pool: &Pool<Db>, user: &str) -> Result<(Vec<Reading>, Vec<i64>)> {
    let rows: Vec<ReadingRow> = sqlx::query_as(&format!(
        "SELECT {READING_COLUMNS} FROM readings WHERE reader = $1 ORDER BY assigned_at DESC, image_id"
    ))
    .bind(user)
    .fetch_all(pool)
    .await?;
    let readings = rows
        .into_iter()
        .map(Reading::try_from)
        .collect::<Result<_>>()?;
    let reviews: Vec<i64> = sqlx::query_scalar(
        "SELECT image_id FROM reading_assignments WHERE reviewer = $1 ORDER BY updated_at DESC, image_id",
    )
    .bind(user)
    .fetch_all(pool)
    .await?;
    Ok((readings, reviews))
}

/// The images `reader` is a blind reader of and has not submitted yet.
pub async fn blind_images(pool: &Pool<Db>, reader: &str) -> Result<Vec<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT image_id FROM readings WHERE reader = $1 AND status = 'assigned' ORDER BY image_id",
    )
    .bind(reader)
    .fetch_all(pool)
    .await?)
}

pub async fn reading(pool: &Pool<Db>, image_id: i64, reader: &str) -> Result<Option<Reading>> {
    let row: Option<ReadingRow> = sqlx::query_as(&format!(
        "SELECT {READING_COLUMNS} FROM readings WHERE image_id = $1 AND reader = $2"
    ))
    .bind(image_id)
    .bind(reader)
    .fetch_optional(pool)
    .await?;
    row.map(Reading::try_from).transpose()
}

/// Why a guarded statement on a reading matched no row.
async fn reading_refusal(pool: &Pool<Db>, image_id: i64, reader: &str, expected: i64) -> StoreError {
    match reading(pool, image_id, reader).await {
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

pub async fn save_reading(
    pool: &Pool<Db>,
    image_id: i64,
    reader: &str,
    expected_version: i64,
    no_finding: bool,
    boxes: &[ReadingBox],
) -> Result<Reading> {
    let r = sqlx::query(
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
    .execute(pool)
    .await?;
    if r.rows_affected() != 1 {
        return Err(reading_refusal(pool, image_id, reader, expected_version).await);
    }
    reading(pool, image_id, reader)
        .await?
        .ok_or(StoreError::NotFound)
}

pub async fn submit_reading(pool: &Pool<Db>, image_id: i64, reader: &str) -> Result<Reading> {
    let now = Timestamp::now().millis();
    let r = sqlx::query(
        "UPDATE readings SET status = 'submitted', submitted_at = $1, updated_at = $1 \
         WHERE image_id = $2 AND reader = $3 AND status = 'assigned'",
    )
    .bind(now)
    .bind(image_id)
    .bind(reader)
    .execute(pool)
    .await?;
    if r.rows_affected() != 1 {
        return Err(reading_refusal(pool, image_id, reader, -1).await);
    }
    reading(pool, image_id, reader)
        .await?
        .ok_or(StoreError::NotFound)
}

/// All submitted readings of the project, for the agreement figures.
pub async fn submitted_readings(pool: &Pool<Db>) -> Result<Vec<Reading>> {
    let rows: Vec<ReadingRow> = sqlx::query_as(&format!(
        "SELECT {READING_COLUMNS} FROM readings WHERE status = 'submitted' ORDER BY image_id, reader"
    ))
    .fetch_all(pool)
    .await?;
    rows.into_iter().map(Reading::try_from).collect()
}

/// Writes a fusion into the image's annotations, through the same version
/// check and history as a save: earlier consensus boxes are replaced, every
/// other box (model proposals, manual boxes) is kept. `summary` (parameters,
/// readers, fused boxes) is kept on the assignment.
#[allow(clippy::too_many_arguments)]
pub async fn save_consensus(
    pool: &Pool<Db>,
    image_id: i64,
    expected_version: i64,
    boxes: &[ConsensusBox],
    reviewer: &str,
    readers: &[String],
    summary: &serde_json::Value,
) -> Result<AnnotationState> {
    let now = Timestamp::now();
    let mut tx = pool.begin_with(BEGIN_WRITE).await?;
    take_version(&mut tx, image_id, expected_version).await?;
    let mut before = state_in(&mut tx, image_id).await?;
    before.version = expected_version;
    sqlx::query("DELETE FROM boxes WHERE image_id = $1 AND consensus_readers IS NOT NULL")
        .bind(image_id)
        .execute(&mut *tx)
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
    let r = sqlx::query(
        "UPDATE reading_assignments SET consensus_json = $1, consensus_at = $2, consensus_by = $3, \
         updated_at = $2 WHERE image_id = $4",
    )
    .bind(serde_json::to_string(summary)?)
    .bind(now.millis())
    .bind(reviewer)
    .bind(image_id)
    .execute(&mut *tx)
    .await?;
    if r.rows_affected() != 1 {
        return Err(StoreError::NotFound);
    }
    touch_image(&mut tx, image_id, now, reviewer).await?;
    let after = state_in(&mut tx, image_id).await?;
    append_history(&mut tx, image_id, now, reviewer, "consensus", &before, &after).await?;
    tx.commit().await?;
    Ok(after)
}
