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
use carina_store::{Timestamp, TokenScope};
use serde::{Deserialize, Deserializer};
use serde_json::json;
use std::time::Duration;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/tokens", get(list).post(create))
        .route("/tokens/{id}", delete(remove))
}

pub const MAX_DAYS: u64 = 3650;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewToken {
    name: String,
    /// `read` or `write` (default).
    scope: Option<String>,
    /// Absent: the default lifetime; `null`: no expiry.
    #[serde(default, deserialize_with = "present")]
    expires_in_days: Option<Option<u64>>,
}

/// A field that is present (maybe `null`) becomes `Some(..)`.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<u64>>, D::Error> {
    Option::<u64>::deserialize(d).map(Some)
}

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
    let mut v = serde_json::to_value(&t).map_err(AppError::internal)?;
    v["token"] = json!(token);
    Ok((StatusCode::CREATED, Json(v)))
}

async fn list(State(state): State<AppState>, user: CurrentUser) -> AppResult<impl IntoResponse> {
    let tokens = state.store.db.list_api_tokens(user.user.id).await?;
    Ok(Json(json!({"tokens": tokens})))
}

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
