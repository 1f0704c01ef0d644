//! The project's label set: everyone reads it, admins change it. Labels are
//! retired, never deleted, so old boxes keep resolving.

use crate::auth::CurrentUser;
use crate::error::{AppError, AppResult};
use crate::extract::{Json, Path};
use crate::state::AppState;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, patch};
use carina_store::Label;
use carina_store::Role;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/labels", get(list).post(create))
        .route("/labels/{id}", patch(update))
}

/// `GET /labels`: the label set, retired labels included.
#[derive(Serialize, ToSchema)]
pub struct LabelList {
    #[schema(value_type = Vec<crate::openapi::schemas::LabelSchema>)]
    labels: Vec<Label>,
}

#[utoipa::path(
    get,
    path = "/api/v1/labels",
    operation_id = "labels_list",
    tag = "labels",
    summary = "The label set",
    description = "Role: viewer.",
    responses(
        (status = 200, description = "OK", body = LabelList),
        (status = 401, response = crate::openapi::bodies::ApiError),
    ),
)]
async fn list(State(state): State<AppState>, _user: CurrentUser) -> AppResult<Json<LabelList>> {
    let labels = state.store.db.labels().await?;
    Ok(Json(LabelList {
        labels: labels.labels().to_vec(),
    }))
}

fn check_name(name: &str) -> AppResult<&str> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 64 {
        return Err(AppError::unprocessable(
            "label name must be 1 to 64 characters",
        ));
    }
    Ok(name)
}

fn check_color(color: &str) -> AppResult<&str> {
    let ok = color.len() == 7
        && color.starts_with('#')
        && color[1..].chars().all(|c| c.is_ascii_hexdigit());
    if ok {
        Ok(color)
    } else {
        Err(AppError::unprocessable("color must look like #1a2b3c"))
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLabel {
    /// 1 to 64 characters
    name: String,
    /// `#rrggbb`
    color: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/labels",
    operation_id = "labels_create",
    tag = "labels",
    summary = "Add a label (id = max + 1)",
    description = "Role: admin.",
    request_body = NewLabel,
    responses(
        (status = 201, description = "Created", body = crate::openapi::schemas::LabelSchema),
        (status = 401, response = crate::openapi::bodies::ApiError),
        (status = 403, response = crate::openapi::bodies::ApiError),
        (status = 409, response = crate::openapi::bodies::ApiError),
        (status = 422, response = crate::openapi::bodies::ApiError),
    ),
)]
async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(body): Json<NewLabel>,
) -> AppResult<impl IntoResponse> {
    user.require(Role::Admin)?;
    let label = state
        .store
        .db
        .create_label(check_name(&body.name)?, check_color(&body.color)?)
        .await?;
    Ok((StatusCode::CREATED, Json(label)))
}

/// The fields to change; absent ones are kept.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LabelPatch {
    name: Option<String>,
    color: Option<String>,
    retired: Option<bool>,
}

#[utoipa::path(
    patch,
    path = "/api/v1/labels/{id}",
    operation_id = "labels_update",
    tag = "labels",
    summary = "Rename, recolour or retire a label",
    description = "Role: admin.",
    params(
        ("id" = u32, Path),
    ),
    request_body = LabelPatch,
    responses(
        (status = 200, description = "OK", body = crate::openapi::schemas::LabelSchema),
        (status = 401, response = crate::openapi::bodies::ApiError),
        (status = 403, response = crate::openapi::bodies::ApiError),
        (status = 404, response = crate::openapi::bodies::ApiError),
        (status = 409, response = crate::openapi::bodies::ApiError),
        (status = 422, response = crate::openapi::bodies::ApiError),
    ),
)]
async fn update(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<u32>,
    Json(body): Json<LabelPatch>,
) -> AppResult<impl IntoResponse> {
    user.require(Role::Admin)?;
    let name = body.name.as_deref().map(check_name).transpose()?;
    let color = body.color.as_deref().map(check_color).transpose()?;
    let label = state
        .store
        .db
        .update_label(id, name, color, body.retired)
        .await
        .map_err(|e| match e {
            carina_store::StoreError::NotFound => AppError::not_found("label"),
            other => other.into(),
        })?;
    Ok(Json(label))
}
