//! Personal API tokens for scripts (`Authorization: Bearer …`).

use crate::auth::{self, CurrentUser};
use crate::error::{AppError, AppResult};
use crate::extract::{Json, Path};
use crate::state::AppState;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{delete, get};
use serde::Deserialize;
use serde_json::json;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/tokens", get(list).post(create))
        .route("/tokens/{id}", delete(remove))
}

#[derive(Deserialize)]
struct NewToken {
    name: String,
}

async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(body): Json<NewToken>,
) -> AppResult<impl IntoResponse> {
    let name = body.name.trim();
    if name.is_empty() || name.len() > 100 {
        return Err(AppError::unprocessable(
            "token name must be 1 to 100 characters",
        ));
    }
    let token = format!("carina_{}", auth::random_token());
    let t = state
        .store
        .db
        .create_api_token(user.user.id, name, &auth::sha256_hex(&token))
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"id": t.id, "name": t.name, "token": token, "created_at": t.created_at})),
    ))
}

async fn list(State(state): State<AppState>, user: CurrentUser) -> AppResult<impl IntoResponse> {
    let tokens = state.store.db.list_api_tokens(user.user.id).await?;
    Ok(Json(json!({"tokens": tokens})))
}

async fn remove(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<StatusCode> {
    if state.store.db.delete_api_token(user.user.id, id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(AppError::not_found("token"))
    }
}
