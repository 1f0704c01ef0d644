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
use carina_store::{AnnotationState, Job, JobKind, JobQuery, JobStatus, Prediction, Role};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use utoipa::ToSchema;

/// How long `?wait=true` waits for the job before answering 202 anyway.
const WAIT_LIMIT: Duration = Duration::from_secs(120);

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/images/{id}/predictions", get(list).post(run))
        .route("/jobs", get(jobs))
        .route("/jobs/{id}", get(job))
}

/// A queued (or still running) job: `202 Accepted`.
#[derive(Serialize, ToSchema)]
pub struct JobQueued {
    #[schema(value_type = crate::openapi::schemas_review::JobSchema)]
    pub job: Job,
}

/// `POST /images/{id}/predictions?wait=true` when the job is done: the job
/// and the annotations with the new proposals.
#[derive(Serialize, ToSchema)]
pub struct Predicted {
    #[schema(value_type = crate::openapi::schemas_review::JobSchema)]
    job: Job,
    #[schema(value_type = crate::openapi::schemas::AnnotationsSchema)]
    annotations: AnnotationState,
}

/// `GET /images/{id}/predictions`: the stored raw outputs.
#[derive(Serialize, ToSchema)]
pub struct PredictionList {
    #[schema(value_type = Vec<crate::openapi::schemas_review::PredictionSchema>)]
    predictions: Vec<Prediction>,
}

/// `GET /jobs`: the newest jobs first.
#[derive(Serialize, ToSchema)]
pub struct JobList {
    #[schema(value_type = Vec<crate::openapi::schemas_review::JobSchema>)]
    jobs: Vec<Job>,
}

#[derive(Deserialize)]
struct RunParams {
    #[serde(default)]
    wait: bool,
}

#[tracing::instrument(skip_all, fields(image_id = id, user = %user.user.username))]
#[utoipa::path(
    post,
    path = "/api/v1/images/{id}/predictions",
    operation_id = "predictions_run",
    tag = "predictions",
    summary = "Run the deployed model on this image (a background job)",
    description = "Role: radiologist. Answers 202 {job}; a job already queued or running for this image and model is returned instead of a new one. Re-running a model whose output is stored adds no proposals. With wait=true the call waits (up to 2 minutes) and answers 200 {job, annotations}, or 422 job_failed. A blind reader of the image (assigned, not submitted) gets 403 blind_reading.",
    params(
        ("id" = i64, Path),
        ("wait" = Option<bool>, Query),
    ),
    responses(
        (status = 200, description = "Done (wait=true)", body = Predicted),
        (status = 202, description = "Queued", body = JobQueued),
        (status = 401, response = crate::openapi::bodies::ApiError),
        (status = 403, response = crate::openapi::bodies::ApiError),
        (status = 404, response = crate::openapi::bodies::ApiError),
        (status = 409, response = crate::openapi::bodies::ApiError),
        (status = 422, response = crate::openapi::bodies::ApiError),
    ),
)]
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
        return Ok((StatusCode::ACCEPTED, Json(JobQueued { job })).into_response());
    }
    let job = wait_for(&state, job).await?;
    match job.status {
        JobStatus::Done => {
            let annotations = state.store.db.annotations(id).await?;
            Ok(Json(Predicted { job, annotations }).into_response())
        }
        JobStatus::Failed => Err(AppError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "job_failed",
            format!(
                "the prediction failed: {}",
                job.last_error.as_deref().unwrap_or("unknown error")
            ),
        )),
        _ => Ok((StatusCode::ACCEPTED, Json(JobQueued { job })).into_response()),
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

#[utoipa::path(
    get,
    path = "/api/v1/images/{id}/predictions",
    operation_id = "predictions_list",
    tag = "predictions",
    summary = "Every model's stored raw output for this image",
    description = "Role: viewer. A blind reader of the image (assigned, not submitted) gets 403 blind_reading.",
    params(
        ("id" = i64, Path),
    ),
    responses(
        (status = 200, description = "OK", body = PredictionList),
        (status = 401, response = crate::openapi::bodies::ApiError),
        (status = 403, response = crate::openapi::bodies::ApiError),
        (status = 404, response = crate::openapi::bodies::ApiError),
    ),
)]
async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Json<PredictionList>> {
    blind::guard(&state, &user, id).await?;
    let predictions = state.store.db.predictions(id).await?;
    Ok(Json(PredictionList { predictions }))
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
#[utoipa::path(
    get,
    path = "/api/v1/jobs",
    operation_id = "predictions_jobs",
    tag = "predictions",
    summary = "Jobs, newest first",
    description = "Role: viewer. Jobs on images the caller reads blind are left out.",
    params(
        ("image_id" = Option<i64>, Query),
        ("status" = Option<crate::openapi::schemas_review::JobStatusSchema>, Query),
        ("kind" = Option<String>, Query),
        ("limit" = Option<i64>, Query),
    ),
    responses(
        (status = 200, description = "OK", body = JobList),
        (status = 400, response = crate::openapi::bodies::ApiError),
        (status = 401, response = crate::openapi::bodies::ApiError),
    ),
)]
async fn jobs(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(p): Query<JobParams>,
) -> AppResult<Json<JobList>> {
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
                .ok_or_else(|| AppError::bad_request("kind must be predict, train or send"))?,
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
    Ok(Json(JobList { jobs }))
}

/// A job on an image the caller reads blind is a 404, as if it did not exist.
#[utoipa::path(
    get,
    path = "/api/v1/jobs/{id}",
    operation_id = "predictions_job",
    tag = "predictions",
    summary = "One job (poll it until done or failed)",
    description = "Role: viewer. A job on an image the caller reads blind is a 404, as if it did not exist.",
    params(
        ("id" = i64, Path),
    ),
    responses(
        (status = 200, description = "OK", body = crate::openapi::schemas_review::JobSchema),
        (status = 401, response = crate::openapi::bodies::ApiError),
        (status = 404, response = crate::openapi::bodies::ApiError),
    ),
)]
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
