//! User management (admins only): list, create, change role, reset a
//! password, delete. Changes need a logged-in session (not an API token);
//! the last admin cannot lose the role or be deleted (409). Every change is
//! audited.

use crate::auth::audit::{self, kind};
use crate::auth::{ClientAddr, CurrentUser, password};
use crate::error::{AppError, AppResult};
use crate::extract::{Json, Path};
use crate::routes::auth::{check_username, parse_role, user_json};
use crate::state::AppState;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use carina_store::Role;
use serde::Deserialize;
use serde_json::json;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/users", get(list).post(create))
        .route("/users/{id}", axum::routing::patch(update).delete(remove))
}

async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
) -> AppResult<Json<serde_json::Value>> {
    user.require(Role::Admin)?;
    let users = state.store.db.list_users().await?;
    Ok(Json(json!({"users": users})))
}

/// The caller must be an admin with a session.
fn admin_session(user: &CurrentUser) -> AppResult<()> {
    user.require(Role::Admin)?;
    user.require_session()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewUser {
    username: String,
    password: String,
    role: String,
}

async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    client: ClientAddr,
    Json(body): Json<NewUser>,
) -> AppResult<impl IntoResponse> {
    admin_session(&user)?;
    check_username(&body.username)?;
    let role = parse_role(&body.role)?;
    password::check(&body.password, &body.username)?;
    let hash = password::hash(body.password).await?;
    let created = state
        .store
        .db
        .create_user_with_role(&body.username, &hash, role)
        .await?;
    audit::record(
        &state,
        user.audit(kind::USER_CREATED)
            .subject(&created)
            .client(client.label())
            .detail(json!({"role": created.role})),
    )
    .await?;
    tracing::info!(
        user_id = created.id,
        role = role.as_str(),
        by = user.user.id,
        "account created"
    );
    Ok((StatusCode::CREATED, Json(user_json(&created))))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserPatch {
    role: Option<String>,
    /// A new password set by the admin (the account's sessions end).
    password: Option<String>,
}

async fn update(
    State(state): State<AppState>,
    user: CurrentUser,
    client: ClientAddr,
    Path(id): Path<i64>,
    Json(body): Json<UserPatch>,
) -> AppResult<Json<carina_store::User>> {
    admin_session(&user)?;
    if body.role.is_none() && body.password.is_none() {
        return Err(AppError::unprocessable("give a role, a password or both"));
    }
    let role = body.role.as_deref().map(parse_role).transpose()?;
    let target = state
        .store
        .db
        .user(id)
        .await?
        .ok_or_else(|| AppError::not_found("user"))?;
    // Check everything before changing anything.
    let hash = match body.password {
        Some(pw) => {
            password::check(&pw, &target.username)?;
            Some(password::hash(pw).await?)
        }
        None => None,
    };
    let mut current = target;
    if let Some(role) = role {
        let (before, after) = state.store.db.set_role(id, role).await?;
        if before.role != after.role {
            audit::record(
                &state,
                user.audit(kind::ROLE_CHANGED)
                    .subject(&after)
                    .client(client.label())
                    .detail(json!({"from": before.role, "to": after.role})),
            )
            .await?;
        }
        current = after;
    }
    if let Some(hash) = hash {
        current = state.store.db.set_password(id, &hash).await?;
        audit::record(
            &state,
            user.audit(kind::PASSWORD_RESET)
                .subject(&current)
                .client(client.label()),
        )
        .await?;
    }
    Ok(Json(current))
}

async fn remove(
    State(state): State<AppState>,
    user: CurrentUser,
    client: ClientAddr,
    Path(id): Path<i64>,
) -> AppResult<StatusCode> {
    admin_session(&user)?;
    let deleted = state.store.db.delete_user(id).await?;
    audit::record(
        &state,
        user.audit(kind::USER_DELETED)
            .subject(&deleted)
            .client(client.label())
            .detail(json!({"role": deleted.role})),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
