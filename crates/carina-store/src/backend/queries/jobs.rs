// The job queue (included by both backends). Claiming is one UPDATE whose
// subquery picks the oldest runnable job: PostgreSQL locks that row with
// `FOR UPDATE SKIP LOCKED` (`CLAIM_LOCK`), so concurrent claimers take
// different jobs; SQLite runs the whole statement under its write lock,
// which gives the same semantics. A running job whose lease has passed is
// runnable again: its worker is presumed dead.

pub async fn enqueue_job(pool: &Pool<Db>, new: &NewJob) -> Result<Job> {
    let now = Timestamp::now().millis();
    let row: JobRow = sqlx::query_as(&format!(
        "INSERT INTO jobs (kind, payload_json, image_id, model_id, status, attempts, max_attempts, \
         run_at, created_at, created_by) VALUES ($1, $2, $3, $4, 'queued', 0, $5, $6, $6, $7) \
         RETURNING {JOB_COLUMNS}"
    ))
    .bind(new.kind.as_str())
    .bind(serde_json::to_string(&new.payload)?)
    .bind(new.image_id)
    .bind(new.model_id)
    .bind(new.max_attempts.max(1))
    .bind(now)
    .bind(&new.created_by)
    .fetch_one(pool)
    .await?;
    Job::try_from(row)
}

pub async fn job(pool: &Pool<Db>, id: i64) -> Result<Option<Job>> {
    let row: Option<JobRow> =
        sqlx::query_as(&format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1"))
            .bind(id)
            .fetch_optional(pool)
            .await?;
    row.map(Job::try_from).transpose()
}

/// Newest first.
pub async fn list_jobs(pool: &Pool<Db>, q: &JobQuery) -> Result<Vec<Job>> {
    let rows: Vec<JobRow> = sqlx::query_as(&format!(
        "SELECT {JOB_COLUMNS} FROM jobs WHERE ($1 IS NULL OR image_id = $1) \
         AND ($2 IS NULL OR status = $2) AND ($3 IS NULL OR kind = $3) ORDER BY id DESC LIMIT $4"
    ))
    .bind(q.image_id)
    .bind(q.status.map(|s| s.as_str()))
    .bind(q.kind.map(JobKind::as_str))
    .bind(i64::from(q.limit.clamp(1, 1000)))
    .fetch_all(pool)
    .await?;
    rows.into_iter().map(Job::try_from).collect()
}

/// The queued or running predict job of this image and model, if any.
pub async fn open_predict_job(pool: &Pool<Db>, image_id: i64, model_id: i64) -> Result<Option<Job>> {
    let row: Option<JobRow> = sqlx::query_as(&format!(
        "SELECT {JOB_COLUMNS} FROM jobs WHERE kind = 'predict' AND image_id = $1 AND model_id = $2 \
         AND status IN ('queued', 'running') ORDER BY id DESC LIMIT 1"
    ))
    .bind(image_id)
    .bind(model_id)
    .fetch_optional(pool)
    .await?;
    row.map(Job::try_from).transpose()
}

/// Takes the oldest runnable job (of `kind`, or of any kind) for `worker`
/// until `lease_until`. Jobs whose lease ran out with no attempts left are
/// marked failed first.
pub async fn claim_job(
    pool: &Pool<Db>,
    worker: &str,
    lease_until: Timestamp,
    kind: Option<JobKind>,
) -> Result<Option<Job>> {
    let now = Timestamp::now().millis();
    sqlx::query(
        "UPDATE jobs SET status = 'failed', finished_at = $1, locked_by = NULL, locked_until = NULL, \
         last_error = 'its worker stopped before finishing (lease expired) and no attempts are left' \
         WHERE status = 'running' AND locked_until < $1 AND attempts >= max_attempts",
    )
    .bind(now)
    .execute(pool)
    .await?;
    let row: Option<JobRow> = sqlx::query_as(&format!(
        "UPDATE jobs SET status = 'running', attempts = attempts + 1, locked_by = $1, \
         locked_until = $2, started_at = $3, \
         last_error = CASE WHEN status = 'running' \
             THEN 'its worker stopped before finishing (lease expired); retried' \
             ELSE last_error END \
         WHERE id = (SELECT id FROM jobs WHERE ((status = 'queued' AND run_at <= $3) \
             OR (status = 'running' AND locked_until < $3)) AND ($4 IS NULL OR kind = $4) \
             ORDER BY run_at, id LIMIT 1{CLAIM_LOCK}) \
         RETURNING {JOB_COLUMNS}"
    ))
    .bind(worker)
    .bind(lease_until.millis())
    .bind(now)
    .bind(kind.map(JobKind::as_str))
    .fetch_optional(pool)
    .await?;
    row.map(Job::try_from).transpose()
}

/// Extends the lease of a job `worker` still holds; false if it lost it.
pub async fn extend_lease(pool: &Pool<Db>, id: i64, worker: &str, until: Timestamp) -> Result<bool> {
    let r = sqlx::query(
        "UPDATE jobs SET locked_until = $1 WHERE id = $2 AND status = 'running' AND locked_by = $3",
    )
    .bind(until.millis())
    .bind(id)
    .bind(worker)
    .execute(pool)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Records a failed attempt: queued again at `retry_at`, or failed for good
/// when `retry_at` is `None` or no attempts are left. `None` if `worker`
/// no longer holds the job.
pub async fn fail_job(
    pool: &Pool<Db>,
    id: i64,
    worker: &str,
    error: &str,
    retry_at: Option<Timestamp>,
) -> Result<Option<Job>> {
    let now = Timestamp::now().millis();
    let retry = retry_at.map(|t| t.millis());
    let row: Option<JobRow> = sqlx::query_as(&format!(
        "UPDATE jobs SET \
         status = CASE WHEN $1 IS NULL OR attempts >= max_attempts THEN 'failed' ELSE 'queued' END, \
         run_at = CASE WHEN $1 IS NULL OR attempts >= max_attempts THEN run_at ELSE $1 END, \
         finished_at = CASE WHEN $1 IS NULL OR attempts >= max_attempts THEN $2 ELSE NULL END, \
         last_error = $3, locked_by = NULL, locked_until = NULL \
         WHERE id = $4 AND status = 'running' AND locked_by = $5 RETURNING {JOB_COLUMNS}"
    ))
    .bind(retry)
    .bind(now)
    .bind(error)
    .bind(id)
    .bind(worker)
    .fetch_optional(pool)
    .await?;
    row.map(Job::try_from).transpose()
}

/// Finishes a job with a JSON result (no side effects beyond the job row).
pub async fn finish_job(
    pool: &Pool<Db>,
    id: i64,
    worker: &str,
    result: &serde_json::Value,
) -> Result<bool> {
    let r = sqlx::query(
        "UPDATE jobs SET status = 'done', finished_at = $1, result_json = $2, locked_by = NULL, \
         locked_until = NULL WHERE id = $3 AND status = 'running' AND locked_by = $4",
    )
    .bind(Timestamp::now().millis())
    .bind(serde_json::to_string(result)?)
    .bind(id)
    .bind(worker)
    .execute(pool)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Stores a predict job's raw output and adds its proposals to the image's
/// boxes (a new annotation version, history action `predict`), then marks
/// the job done, all in one transaction. Idempotent: if this model's output
/// for the image is already stored, nothing is added a second time.
pub async fn complete_prediction(
    pool: &Pool<Db>,
    job_id: i64,
    worker: &str,
    p: &PredictionResult,
) -> Result<Completion> {
    let now = Timestamp::now();
    let mut tx = pool.begin_with(BEGIN_WRITE).await?;
    // First statement: holds the job row (PostgreSQL) or the write lock (SQLite).
    let owner: Option<String> = sqlx::query_scalar(
        "UPDATE jobs SET locked_until = locked_until WHERE id = $1 AND status = 'running' \
         AND locked_by = $2 RETURNING created_by",
    )
    .bind(job_id)
    .bind(worker)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(user) = owner else {
        return Ok(Completion::LostLease);
    };
    let inserted: Option<i64> = sqlx::query_scalar(
        "INSERT INTO predictions (image_id, model_id, job_id, detections_json, elapsed_ms, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (image_id, model_id) DO NOTHING RETURNING id",
    )
    .bind(p.image_id)
    .bind(p.model_id)
    .bind(job_id)
    .bind(serde_json::to_string(&p.detections)?)
    .bind(p.elapsed_ms)
    .bind(now.millis())
    .fetch_optional(&mut *tx)
    .await?;
    let (prediction_id, added) = match inserted {
        Some(id) => {
            let version: i64 = sqlx::query_scalar(
                "UPDATE annotation_states SET version = version + 1 WHERE image_id = $1 RETURNING version",
            )
            .bind(p.image_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
            let mut before = state_in(&mut tx, p.image_id).await?;
            before.version = version - 1;
            let source = Provenance::Model {
                model: p.model_name.clone(),
                version: p.model_version.clone(),
            };
            for b in &p.proposals {
                insert_box(
                    &mut tx,
                    p.image_id,
                    b.class_id,
                    b.bbox,
                    &source,
                    Some(b.score),
                    BoxStatus::Proposed,
                    now,
                    &user,
                    Some(id),
                )
                .await?;
            }
            let after = state_in(&mut tx, p.image_id).await?;
            append_history(&mut tx, p.image_id, now, &user, "predict", &before, &after).await?;
            (id, p.proposals.len())
        }
        None => {
            let id: i64 = sqlx::query_scalar(
                "SELECT id FROM predictions WHERE image_id = $1 AND model_id = $2",
            )
            .bind(p.image_id)
            .bind(p.model_id)
            .fetch_one(&mut *tx)
            .await?;
            (id, 0)
        }
    };
    let result = serde_json::json!({"prediction_id": prediction_id, "added": added});
    sqlx::query(
        "UPDATE jobs SET status = 'done', finished_at = $1, result_json = $2, locked_by = NULL, \
         locked_until = NULL WHERE id = $3",
    )
    .bind(now.millis())
    .bind(serde_json::to_string(&result)?)
    .bind(job_id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Completion::Done {
        prediction_id,
        added,
    })
}
