//! Personal API tokens for scripts (`Authorization: Bearer …`): a scope
//! (`read`: GET and HEAD only, or `write`) and an expiry (default
//! `token_default_days`; `"expires_in_days": null` for none). Tokens are
//! made with a logged-in session only: a token cannot mint tokens.

use crate::auth::audit::{self, kind};
use crate::auth::{self, ClientAddr, CurrentUser};
use crate::error::{AppError, AppResult};
use crate::extract::{Json, Path};
use crate::state::AppState;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{delete, get};
use carina_store::{ApiToken, Timestamp, TokenScope};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::json;
use std::time::Duration;
use utoipa::ToSchema;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/tokens", get(list).post(create))
        .route("/tokens/{id}", delete(remove))
}

pub const MAX_DAYS: u64 = 3650;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// 1 to 100 characters
    name: String,
    /// `read` or `write` (default).
    #[schema(value_type = Option<crate::openapi::schemas::TokenScopeSchema>)]
    scope: Option<String>,
    /// Absent: the default lifetime; `null`: no expiry.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<u64>, minimum = 1, maximum = 3650)]
    expires_in_days: Option<Option<u64>>,
}

/// `POST /tokens`: the new token, with its secret (shown this once).
#[derive(Serialize, ToSchema)]
pub struct CreatedToken {
    id: i64,
    name: String,
    #[schema(value_type = crate::openapi::schemas::TokenScopeSchema)]
    scope: TokenScope,
    #[schema(value_type = String, format = DateTime)]
    created_at: Timestamp,
    /// null: never expires.
    #[schema(value_type = Option<String>, format = DateTime)]
    expires_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    last_used_at: Option<Timestamp>,
    /// The secret, for `Authorization: Bearer`; never shown again
    token: String,
}

/// `GET /tokens`: the caller's tokens, without their secrets.
#[derive(Serialize, ToSchema)]
pub struct TokenList {
    #[schema(value_type = Vec<crate::openapi::schemas::ApiTokenSchema>)]
    tokens: Vec<ApiToken>,
}

/// A field that is present (maybe `null`) becomes `Some(..)`.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<u64>>, D::Error> {
    Option::<u64>::deserialize(d).map(Some)
}

#[utoipa::path(
    post,
    path = "/api/v1/tokens",
    operation_id = "tokens_create",
    tag = "auth",
    summary = "Create an API token (the secret is shown once)",
    description = "Role: any logged-in user, with a session: a request authenticated by an API token gets 403 session_required (a token cannot mint tokens).",
    request_body = NewToken,
    responses(
        (status = 201, description = "Created", body = CreatedToken),
        (status = 401, response = crate::openapi::bodies::ApiError),
        (status = 403, response = crate::openapi::bodies::ApiError),
        (status = 422, response = crate::openapi::bodies::ApiError),
    ),
)]
async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    client: ClientAddr,
    Json(body): Json<NewToken>,
) -> AppResult<impl IntoResponse> {
    user.require_session()?;
    let name = body.name.trim();
    if name.is_empty() || name.len() > 100 {
        return Err(AppError::unprocessable(
            "token name must be 1 to 100 characters",
        ));
    }
    let scope = match body.scope.as_deref() {
        None => TokenScope::Write,
        Some(s) => TokenScope::parse(s)
            .ok_or_else(|| AppError::unprocessable("scope must be read or write"))?,
    };
    let days = match body.expires_in_days {
        None => Some(state.config.token_default_days),
        Some(d) => d,
    };
    if let Some(d) = days
        && !(1..=MAX_DAYS).contains(&d)
    {
        return Err(AppError::unprocessable(format!(
            "expires_in_days must be 1 to {MAX_DAYS}, or null for no expiry"
        )));
    }
    let expires_at = days.map(|d| Timestamp::now().plus(Duration::from_secs(d * 86_400)));
    let token = format!("carina_{}", auth::random_token());
    let t = state
        .store
        .db
        .create_api_token(
            user.user.id,
            name,
            &auth::sha256_hex(&token),
            scope,
            expires_at,
        )
        .await?;
    audit::record(
        &state,
        user.audit(kind::TOKEN_CREATED)
            .subject(&user.user)
            .client(client.label())
            .detail(json!({"token_id": t.id, "name": t.name, "scope": t.scope,
                "expires_at": t.expires_at})),
    )
    .await?;
    let ApiToken {
        id,
        name,
        scope,
        created_at,
        expires_at,
        last_used_at,
    } = t;
    let created = CreatedToken {
        id,
        name,
        scope,
        created_at,
        expires_at,
        last_used_at,
        token,
    };
    Ok((StatusCode::CREATED, Json(created)))
}

#[utoipa::path(
    get,
    path = "/api/v1/tokens",
    operation_id = "tokens_list",
    tag = "auth",
    summary = "The caller's API tokens",
    description = "Role: any logged-in user.",
    responses(
        (status = 200, description = "OK", body = TokenList),
        (status = 401, response = crate::openapi::bodies::ApiError),
    ),
)]
async fn list(State(state): State<AppState>, user: CurrentUser) -> AppResult<Json<TokenList>> {
    let tokens = state.store.db.list_api_tokens(user.user.id).await?;
    Ok(Json(TokenList { tokens }))
}

#[utoipa::path(
    delete,
    path = "/api/v1/tokens/{id}",
    operation_id = "tokens_remove",
    tag = "auth",
    summary = "Revoke one of the caller's API tokens",
    description = "Role: any logged-in user.",
    params(
        ("id" = i64, Path),
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, response = crate::openapi::bodies::ApiError),
        (status = 403, response = crate::openapi::bodies::ApiError),
        (status = 404, response = crate::openapi::bodies::ApiError),
    ),
)]
async fn remove(
    State(state): State<AppState>,
    user: CurrentUser,
    client: ClientAddr,
    Path(id): Path<i64>,
) -> AppResult<StatusCode> {
    let Some(t) = state.store.db.delete_api_token(user.user.id, id).await? else {
        return Err(AppError::not_found("token"));
    };
    audit::record(
        &state,
        user.audit(kind::TOKEN_REVOKED)
            .subject(&user.user)
            .client(client.label())
            .detail(json!({"token_id": t.id, "name": t.name})),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
