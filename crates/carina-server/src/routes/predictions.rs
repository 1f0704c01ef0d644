//! Running the deployed model on an image (a background job), the stored
//! raw outputs, and the job queue's status.

use crate::auth::CurrentUser;
use crate::blind::{self, Blindness};
use crate::error::{AppError, AppResult};
use crate::extract::{Json, Path, Query};
use crate::state::AppState;
use crate::worker::enqueue_predict;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use carina_store::{Job, JobKind, JobQuery, JobStatus, Role};
use serde::Deserialize;
use serde_json::json;
use std::time::Duration;

/// How long `?wait=true` waits for the job before answering 202 anyway.
const WAIT_LIMIT: Duration = Duration::from_secs(120);

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/images/{id}/predictions", get(list).post(run))
        .route("/jobs", get(jobs))
        .route("/jobs/{id}", get(job))
}

#[derive(Deserialize)]
struct RunParams {
    #[serde(default)]
    wait: bool,
}

#[tracing::instrument(skip_all, fields(image_id = id, user = %user.user.username))]
async fn run(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Query(p): Query<RunParams>,
) -> AppResult<Response> {
    user.require(Role::Radiologist)?;
    // Its boxes would land in the annotations a blind reader may not see.
    blind::guard(&state, &user, id).await?;
    let model = state.store.db.deployed_model().await?.ok_or_else(|| {
        AppError::conflict("no model is deployed; an admin deploys one on the Models page")
    })?;
    let job = enqueue_predict(&state, id, &model, &user.user.username).await?;
    if !p.wait {
        return Ok((StatusCode::ACCEPTED, Json(json!({"job": job}))).into_response());
    }
    let job = wait_for(&state, job).await?;
    match job.status {
        JobStatus::Done => {
            let annotations = state.store.db.annotations(id).await?;
            Ok(Json(json!({"job": job, "annotations": annotations})).into_response())
        }
        JobStatus::Failed => Err(AppError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "job_failed",
            format!(
                "the prediction failed: {}",
                job.last_error.as_deref().unwrap_or("unknown error")
            ),
        )),
        _ => Ok((StatusCode::ACCEPTED, Json(json!({"job": job}))).into_response()),
    }
}

async fn wait_for(state: &AppState, job: Job) -> AppResult<Job> {
    let deadline = tokio::time::Instant::now() + WAIT_LIMIT;
    let mut job = job;
    while matches!(job.status, JobStatus::Queued | JobStatus::Running)
        && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(25)).await;
        job = state
            .store
            .db
            .job(job.id)
            .await?
            .ok_or_else(|| AppError::not_found("job"))?;
    }
    Ok(job)
}

async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<impl IntoResponse> {
    blind::guard(&state, &user, id).await?;
    let predictions = state.store.db.predictions(id).await?;
    Ok(Json(json!({"predictions": predictions})))
}

#[derive(Deserialize)]
struct JobParams {
    image_id: Option<i64>,
    status: Option<String>,
    kind: Option<String>,
    limit: Option<u32>,
}

/// Jobs on images the caller reads blind are left out (their results hold
/// the model's raw output).
async fn jobs(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(p): Query<JobParams>,
) -> AppResult<impl IntoResponse> {
    let status = match p.status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(JobStatus::parse(s).ok_or_else(|| {
            AppError::bad_request("status must be queued, running, done or failed")
        })?),
    };
    let kind = match p.kind.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(
            JobKind::parse(s)
                .ok_or_else(|| AppError::bad_request("kind must be predict or train"))?,
        ),
    };
    let q = JobQuery {
        image_id: p.image_id,
        status,
        kind,
        limit: p.limit.unwrap_or(100),
    };
    let blindness = Blindness::of(&state, &user).await?;
    let jobs: Vec<Job> = state
        .store
        .db
        .list_jobs(&q)
        .await?
        .into_iter()
        .filter(|j| !j.image_id.is_some_and(|id| blindness.hides(id)))
        .collect();
    Ok(Json(json!({"jobs": jobs})))
}

/// A job on an image the caller reads blind is a 404, as if it did not exist.
async fn job(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Json<Job>> {
    let job = state
        .store
        .db
        .job(id)
        .await?
        .ok_or_else(|| AppError::not_found("job"))?;
    if let Some(image_id) = job.image_id
        && Blindness::of(&state, &user).await?.hides(image_id)
    {
        return Err(AppError::not_found("job"));
    }
    Ok(Json(job))
}
