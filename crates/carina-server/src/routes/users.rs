//! User management (admins only).

use crate::auth::CurrentUser;
use crate::error::AppResult;
use crate::extract::{Json, Path};
use crate::routes::auth::parse_role;
use crate::state::AppState;
use axum::Router;
use axum::extract::State;
use axum::routing::{get, patch};
use carina_store::Role;
use serde::Deserialize;
use serde_json::json;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/users", get(list))
        .route("/users/{id}", patch(update))
}

async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
) -> AppResult<Json<serde_json::Value>> {
    user.require(Role::Admin)?;
    let users = state.store.db.list_users().await?;
    Ok(Json(json!({"users": users})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserPatch {
    role: String,
}

async fn update(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Json(body): Json<UserPatch>,
) -> AppResult<Json<carina_store::User>> {
    user.require(Role::Admin)?;
    let role = parse_role(&body.role)?;
    Ok(Json(state.store.db.set_role(id, role).await?))
}
