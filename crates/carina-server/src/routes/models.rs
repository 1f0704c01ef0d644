//! The model registry: list, show, upload (admin), deploy (admin) and
//! per-class review statistics. An uploaded folder is validated by loading
//! it with `carina_detect::Detector` before anything is stored.

use crate::auth::CurrentUser;
use crate::error::{AppError, AppResult};
use crate::extract::{Json, Path};
use crate::state::AppState;
use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use carina_learn::{FineTuneRequest, ModelFolder, Workbench, register_folder};
use carina_store::{ModelRecord, ModelSource, Role, StoreError};
use serde_json::{Value, json};

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

async fn list(State(state): State<AppState>, _user: CurrentUser) -> AppResult<impl IntoResponse> {
    let models = state.store.db.models().await?;
    Ok(Json(json!({"models": models})))
}

async fn load(state: &AppState, id: i64) -> AppResult<ModelRecord> {
    state
        .store
        .db
        .model(id)
        .await?
        .ok_or_else(|| AppError::not_found("model"))
}

async fn show(
    State(state): State<AppState>,
    _user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Json<ModelRecord>> {
    Ok(Json(load(&state, id).await?))
}

#[tracing::instrument(skip_all, fields(user = %user.user.username))]
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
    Ok((StatusCode::ACCEPTED, Json(json!({"job": job}))).into_response())
}

async fn stats(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<impl IntoResponse> {
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
    let classes: Vec<Value> = counts
        .iter()
        .map(|c| {
            ta += c.accepted;
            te += c.edited;
            tr += c.rejected;
            tp += c.proposed;
            json!({
                "class_id": c.class_id,
                "class_name": labels.get(c.class_id).map(|l| l.name.clone()),
                "proposed": c.proposed,
                "accepted": c.accepted,
                "edited": c.edited,
                "rejected": c.rejected,
                "acceptance_rate": rate(c.accepted, c.edited, c.rejected),
            })
        })
        .collect();
    Ok(Json(json!({
        "model_id": model.id,
        "name": model.name,
        "version": model.version,
        "synthetic": model.synthetic,
        "classes": classes,
        "total": {
            "proposed": tp, "accepted": ta, "edited": te, "rejected": tr,
            "acceptance_rate": rate(ta, te, tr),
        },
    })))
}
