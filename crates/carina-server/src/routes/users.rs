//! User management (admins only): list, create, change role, reset a
//! password, delete. Changes need a logged-in session (not an API token);
//! the last admin cannot lose the role or be deleted (409). Every change is
//! audited.

use crate::auth::audit::{self, kind};
use crate::auth::{ClientAddr, CurrentUser, password};
use crate::error::{AppError, AppResult};
use crate::extract::{Json, Path};
use crate::routes::auth::{check_username, parse_role};
use crate::state::AppState;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use carina_store::{Role, User};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/users", get(list).post(create))
        .route("/users/{id}", axum::routing::patch(update).delete(remove))
}

#[utoipa::path(
    get,
    path = "/api/v1/users",
    operation_id = "users_list",
    tag = "users",
    summary = "All users",
    description = "Role: admin.",
    responses(
        (status = 200, description = "OK", body = UserList),
        (status = 401, response = crate::openapi::bodies::ApiError),
        (status = 403, response = crate::openapi::bodies::ApiError),
    ),
)]
async fn list(State(state): State<AppState>, user: CurrentUser) -> AppResult<Json<UserList>> {
    user.require(Role::Admin)?;
    let users = state.store.db.list_users().await?;
    Ok(Json(UserList { users }))
}

/// `GET /users`: every account.
#[derive(Serialize, ToSchema)]
pub struct UserList {
    #[schema(value_type = Vec<crate::openapi::schemas::UserSchema>)]
    users: Vec<User>,
}

/// The caller must be an admin with a session.
fn admin_session(user: &CurrentUser) -> AppResult<()> {
    user.require(Role::Admin)?;
    user.require_session()
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    username: String,
    password: String,
    #[schema(value_type = crate::openapi::schemas::RoleSchema)]
    role: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/users",
    operation_id = "users_create",
    tag = "users",
    summary = "Create an account with a role",
    description = "Role: admin, with a session (403 session_required for API tokens). Usernames are unique regardless of case (409).",
    request_body = NewUser,
    responses(
        (status = 201, description = "Created", body = crate::openapi::schemas::UserSchema),
        (status = 400, response = crate::openapi::bodies::ApiError),
        (status = 401, response = crate::openapi::bodies::ApiError),
        (status = 403, response = crate::openapi::bodies::ApiError),
        (status = 409, response = crate::openapi::bodies::ApiError),
        (status = 422, response = crate::openapi::bodies::ApiError),
    ),
)]
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
    Ok((StatusCode::CREATED, Json(created)))
}

/// A role, a password or both.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    #[schema(value_type = Option<crate::openapi::schemas::RoleSchema>)]
    role: Option<String>,
    /// A new password set by the admin (the account's sessions end).
    password: Option<String>,
}

#[utoipa::path(
    patch,
    path = "/api/v1/users/{id}",
    operation_id = "users_update",
    tag = "users",
    summary = "Change a user's role, reset their password, or both",
    description = "Role: admin, with a session. The last admin cannot lose the role (409). A new password ends the user's sessions.",
    params(
        ("id" = i64, Path),
    ),
    request_body = UserPatch,
    responses(
        (status = 200, description = "OK", body = crate::openapi::schemas::UserSchema),
        (status = 401, response = crate::openapi::bodies::ApiError),
        (status = 403, response = crate::openapi::bodies::ApiError),
        (status = 404, response = crate::openapi::bodies::ApiError),
        (status = 422, response = crate::openapi::bodies::ApiError),
        (status = 409, response = crate::openapi::bodies::ApiError),
    ),
)]
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

#[utoipa::path(
    delete,
    path = "/api/v1/users/{id}",
    operation_id = "users_remove",
    tag = "users",
    summary = "Delete an account",
    description = "Role: admin, with a session. The account can no longer log in; its sessions and tokens end; its name stays taken. The last admin cannot be deleted (409).",
    params(
        ("id" = i64, Path),
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, response = crate::openapi::bodies::ApiError),
        (status = 403, response = crate::openapi::bodies::ApiError),
        (status = 404, response = crate::openapi::bodies::ApiError),
        (status = 409, response = crate::openapi::bodies::ApiError),
    ),
)]
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
