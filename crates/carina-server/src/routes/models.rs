//! The model registry: list, show, upload (admin), deploy (admin) and
//! per-class review statistics. An uploaded folder is validated by loading
//! it with `carina_detect::Detector` before anything is stored.

use crate::auth::CurrentUser;
use crate::error::{AppError, AppResult};
use crate::extract::{Json, Path};
use crate::routes::predictions::JobQueued;
use crate::state::AppState;
use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use carina_learn::{FineTuneRequest, ModelFolder, Workbench, register_folder};
use carina_store::{ModelRecord, ModelSource, Role, StoreError};
use serde::Serialize;
use utoipa::ToSchema;

pub fn routes(max_upload_bytes: usize) -> Router<AppState> {
    Router::new()
        .route(
            "/models",
            get(list)
                .post(upload)
                .layer(DefaultBodyLimit::max(max_upload_bytes)),
        )
        .route("/models/train", post(train))
        .route("/models/{id}", get(show))
        .route("/models/{id}/deploy", post(deploy))
        .route("/models/{id}/stats", get(stats))
}

/// `GET /models`: the registry.
#[derive(Serialize, ToSchema)]
pub struct ModelList {
    #[schema(value_type = Vec<crate::openapi::schemas_review::ModelSchema>)]
    models: Vec<ModelRecord>,
}

#[utoipa::path(
    get,
    path = "/api/v1/models",
    operation_id = "models_list",
    tag = "models",
    summary = "The model registry, newest first",
    description = "Role: viewer.",
    responses(
        (status = 200, description = "OK", body = ModelList),
        (status = 401, response = crate::openapi::bodies::ApiError),
    ),
)]
async fn list(State(state): State<AppState>, _user: CurrentUser) -> AppResult<Json<ModelList>> {
    let models = state.store.db.models().await?;
    Ok(Json(ModelList { models }))
}

async fn load(state: &AppState, id: i64) -> AppResult<ModelRecord> {
    state
        .store
        .db
        .model(id)
        .await?
        .ok_or_else(|| AppError::not_found("model"))
}

#[utoipa::path(
    get,
    path = "/api/v1/models/{id}",
    operation_id = "models_show",
    tag = "models",
    summary = "One model",
    description = "Role: viewer.",
    params(
        ("id" = i64, Path),
    ),
    responses(
        (status = 200, description = "OK", body = crate::openapi::schemas_review::ModelSchema),
        (status = 401, response = crate::openapi::bodies::ApiError),
        (status = 404, response = crate::openapi::bodies::ApiError),
    ),
)]
async fn show(
    State(state): State<AppState>,
    _user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Json<ModelRecord>> {
    Ok(Json(load(&state, id).await?))
}

#[tracing::instrument(skip_all, fields(user = %user.user.username))]
#[utoipa::path(
    post,
    path = "/api/v1/models",
    operation_id = "models_upload",
    tag = "models",
    summary = "Register a model folder",
    description = "Role: admin. Multipart parts (matched by file name, or by part name weights / model_json / card): model.safetensors, model.json and optionally MODEL_CARD.md; optional text parts name and version override model.json's. The folder is loaded with the detector first: a file that does not load is a 422 with the reason. Not deployed.",
    request_body(content = crate::openapi::bodies::ModelUpload, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "Registered", body = crate::openapi::schemas_review::ModelSchema),
        (status = 400, response = crate::openapi::bodies::ApiError),
        (status = 401, response = crate::openapi::bodies::ApiError),
        (status = 403, response = crate::openapi::bodies::ApiError),
        (status = 409, response = crate::openapi::bodies::ApiError),
        (status = 413, response = crate::openapi::bodies::ApiError),
        (status = 422, response = crate::openapi::bodies::ApiError),
    ),
)]
async fn upload(
    State(state): State<AppState>,
    user: CurrentUser,
    req: Request,
) -> AppResult<Response> {
    user.require(Role::Admin)?;
    let mut multipart = Multipart::from_request(req, &state).await.map_err(|e| {
        AppError::bad_request(format!(
            "expected a multipart/form-data body: {}",
            e.body_text()
        ))
    })?;
    let (mut weights, mut model_json, mut card, mut name, mut version) =
        (None, None, None, None, None);
    let mut refusal: Option<AppError> = None;
    while let Some(field) = multipart.next_field().await? {
        let field_name = field.name().unwrap_or("").to_string();
        let file_name = field.file_name().unwrap_or("").to_string();
        let base = file_name
            .rsplit(['/', '\\'])
            .next()
            .unwrap_or("")
            .to_string();
        let bytes = field.bytes().await?;
        match (field_name.as_str(), base.as_str()) {
            ("name", "") => name = Some(String::from_utf8_lossy(&bytes).trim().to_string()),
            ("version", "") => version = Some(String::from_utf8_lossy(&bytes).trim().to_string()),
            (_, "model.safetensors") | ("weights", _) => weights = Some(bytes),
            (_, "model.json") | ("model_json", _) => model_json = Some(bytes.to_vec()),
            (_, "MODEL_CARD.md") | ("card", _) => match String::from_utf8(bytes.to_vec()) {
                Ok(text) => card = Some(text),
                Err(_) => {
                    refusal.get_or_insert_with(|| {
                        AppError::unprocessable("MODEL_CARD.md is not UTF-8 text")
                    });
                }
            },
            _ => {
                refusal.get_or_insert_with(|| AppError::unprocessable(format!(
                    "unexpected part {field_name:?} ({base:?}): send model.safetensors, model.json and optionally MODEL_CARD.md"
                )));
            }
        }
    }
    // Refused only once the whole body is read, so the client is not cut off
    // mid-upload (a broken pipe instead of the message).
    if let Some(e) = refusal {
        return Err(e);
    }
    let weights = weights.ok_or_else(|| {
        AppError::unprocessable("the upload has no model.safetensors (part \"weights\")")
    })?;
    let model_json = model_json.ok_or_else(|| {
        AppError::unprocessable("the upload has no model.json (part \"model_json\")")
    })?;
    let folder = ModelFolder {
        weights,
        model_json,
        card,
        name: name.filter(|s| !s.is_empty()),
        version: version.filter(|s| !s.is_empty()),
    };
    let tmp = crate::sweep::temp_dir(&state.config);
    let model = register_folder(
        &Workbench::new(&state.store, &tmp),
        folder,
        ModelSource::Upload,
        &user.user.username,
        false,
        true,
    )
    .await?;
    tracing::info!(model = model.id, name = %model.name, version = %model.version, "model registered");
    Ok((StatusCode::CREATED, Json(model)).into_response())
}

#[utoipa::path(
    post,
    path = "/api/v1/models/{id}/deploy",
    operation_id = "models_deploy",
    tag = "models",
    summary = "Deploy this model (the previous one stays registered)",
    description = "Role: admin. Exactly one model is deployed; the change is one transaction.",
    params(
        ("id" = i64, Path),
    ),
    responses(
        (status = 200, description = "OK", body = crate::openapi::schemas_review::ModelSchema),
        (status = 401, response = crate::openapi::bodies::ApiError),
        (status = 403, response = crate::openapi::bodies::ApiError),
        (status = 404, response = crate::openapi::bodies::ApiError),
    ),
)]
async fn deploy(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Json<ModelRecord>> {
    user.require(Role::Admin)?;
    let model = state.store.db.deploy_model(id).await.map_err(|e| match e {
        StoreError::NotFound => AppError::not_found("model"),
        other => other.into(),
    })?;
    tracing::info!(model = model.id, by = %user.user.username, "model deployed");
    Ok(Json(model))
}

/// Queues a fine-tuning of the deployed (or a chosen) model on the
/// workbench's reviewed boxes; the new model is registered, not deployed.
#[tracing::instrument(skip_all, fields(user = %user.user.username))]
#[utoipa::path(
    post,
    path = "/api/v1/models/train",
    operation_id = "models_train",
    tag = "models",
    summary = "Fine-tune a model on the workbench's reviewed boxes (learning from corrections)",
    description = "Role: admin. Queues a `train` job: the accepted, edited and manual boxes (consensus where signed) become a training set, the deployed model (or `base_model_id`) is fine-tuned, it and the new model are evaluated on the held-out part (`held_out`), and the new model is registered with source `workbench`, not deployed. The job's result has `model_id` and `held_out: {base, new}` metrics. 422 for invalid settings or too few reviewed images, 409 while another fine-tuning is queued or running, 404 for an unknown base model.",
    request_body = crate::openapi::schemas_review::FineTuneRequestSchema,
    responses(
        (status = 202, description = "Queued", body = JobQueued),
        (status = 401, response = crate::openapi::bodies::ApiError),
        (status = 403, response = crate::openapi::bodies::ApiError),
        (status = 404, response = crate::openapi::bodies::ApiError),
        (status = 409, response = crate::openapi::bodies::ApiError),
        (status = 422, response = crate::openapi::bodies::ApiError),
    ),
)]
async fn train(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(req): Json<FineTuneRequest>,
) -> AppResult<Response> {
    user.require(Role::Admin)?;
    carina_learn::validate_request(&req).map_err(AppError::unprocessable)?;
    if let Some(open) = crate::worker::train::open_train_job(&state).await? {
        return Err(AppError::conflict(format!(
            "a fine-tuning is already {} (job {})",
            open.status.as_str(),
            open.id
        )));
    }
    if let Some(id) = req.base_model_id {
        load(&state, id).await?;
    }
    carina_learn::check_ready(&state.store, &req)
        .await
        .map_err(|e| AppError::unprocessable(format!("{e:#}")))?;
    let job = crate::worker::enqueue_train(&state, &req, &user.user.username).await?;
    tracing::info!(job = job.id, "fine-tuning queued");
    Ok((StatusCode::ACCEPTED, Json(JobQueued { job })).into_response())
}

#[utoipa::path(
    get,
    path = "/api/v1/models/{id}/stats",
    operation_id = "models_stats",
    tag = "models",
    summary = "How radiologists reviewed this model's proposals, per class",
    description = "Role: viewer. Classes as the model proposed them.",
    params(
        ("id" = i64, Path),
    ),
    responses(
        (status = 200, description = "OK", body = ModelStats),
        (status = 401, response = crate::openapi::bodies::ApiError),
        (status = 404, response = crate::openapi::bodies::ApiError),
    ),
)]
async fn stats(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Json<ModelStats>> {
    let model = load(&state, id).await?;
    // Images the caller reads blind are left out: their counts would move as
    // others review the model's proposals on them.
    let counts = state
        .store
        .db
        .model_review_counts(id, &user.user.username)
        .await?;
    let labels = state.store.db.labels().await?;
    let rate = |a: i64, e: i64, r: i64| {
        let reviewed = a + e + r;
        (reviewed > 0).then(|| (a + e) as f64 / reviewed as f64)
    };
    let (mut ta, mut te, mut tr, mut tp) = (0, 0, 0, 0);
    let classes: Vec<ClassStats> = counts
        .iter()
        .map(|c| {
            ta += c.accepted;
            te += c.edited;
            tr += c.rejected;
            tp += c.proposed;
            ClassStats {
                class_id: c.class_id,
                class_name: labels.get(c.class_id).map(|l| l.name.clone()),
                proposed: c.proposed,
                accepted: c.accepted,
                edited: c.edited,
                rejected: c.rejected,
                acceptance_rate: rate(c.accepted, c.edited, c.rejected),
            }
        })
        .collect();
    Ok(Json(ModelStats {
        model_id: model.id,
        name: model.name,
        version: model.version,
        synthetic: model.synthetic,
        classes,
        total: ReviewTotals {
            proposed: tp,
            accepted: ta,
            edited: te,
            rejected: tr,
            acceptance_rate: rate(ta, te, tr),
        },
    }))
}

/// `GET /models/{id}/stats`: how its proposals were reviewed, per class.
#[derive(Serialize, ToSchema)]
pub struct ModelStats {
    model_id: i64,
    name: String,
    version: String,
    synthetic: bool,
    classes: Vec<ClassStats>,
    total: ReviewTotals,
}

#[derive(Serialize, ToSchema)]
pub struct ClassStats {
    class_id: u32,
    class_name: Option<String>,
    proposed: i64,
    accepted: i64,
    edited: i64,
    rejected: i64,
    /// (accepted + edited) / (accepted + edited + rejected); null before any review
    acceptance_rate: Option<f64>,
}

#[derive(Serialize, ToSchema)]
pub struct ReviewTotals {
    proposed: i64,
    accepted: i64,
    edited: i64,
    rejected: i64,
    /// (accepted + edited) / (accepted + edited + rejected); null before any review
    acceptance_rate: Option<f64>,
}
