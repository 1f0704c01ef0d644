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
use carina_store::Role;
use serde::Deserialize;
use serde_json::json;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/labels", get(list).post(create))
        .route("/labels/{id}", patch(update))
}

async fn list(State(state): State<AppState>, _user: CurrentUser) -> AppResult<impl IntoResponse> {
    let labels = state.store.db.labels().await?;
    Ok(Json(json!({"labels": labels.labels()})))
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewLabel {
    name: String,
    color: String,
}

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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LabelPatch {
    name: Option<String>,
    color: Option<String>,
    retired: Option<bool>,
}

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
