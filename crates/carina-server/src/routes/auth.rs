//! Accounts and sessions: register, log in, log out, who am I.

use crate::auth::{self, AuthVia, CurrentUser, SESSION_COOKIE, password, throttle};
use crate::error::{AppError, AppResult};
use crate::extract::Json;
use crate::state::AppState;
use axum::Router;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use carina_store::{Role, StoreError, Timestamp, User};
use serde::Deserialize;
use serde_json::json;
use std::net::SocketAddr;
use std::time::Duration;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/auth/register", post(register))
        .route("/auth/login", post(login))
        .route("/auth/logout", post(logout))
        .route("/me", get(me))
}

#[derive(Deserialize)]
pub struct Credentials {
    username: String,
    password: String,
}

fn user_json(u: &User) -> serde_json::Value {
    json!({"id": u.id, "username": u.username, "role": u.role})
}

fn check_username(name: &str) -> AppResult<()> {
    let ok_chars = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if !(3..=64).contains(&name.len()) || !ok_chars {
        return Err(AppError::unprocessable(
            "username must be 3 to 64 characters of A-Z, a-z, 0-9, '.', '_' or '-'",
        ));
    }
    Ok(())
}

#[tracing::instrument(skip_all, fields(username = %body.username))]
async fn register(
    State(state): State<AppState>,
    Json(body): Json<Credentials>,
) -> AppResult<impl IntoResponse> {
    check_username(&body.username)?;
    if body.password.chars().count() < 8 {
        return Err(AppError::unprocessable(
            "password must have at least 8 characters",
        ));
    }
    if body.password.len() > 1024 {
        return Err(AppError::unprocessable("password is too long"));
    }
    let hash = password::hash(body.password).await?;
    let first_only = !state.config.open_registration;
    let user = state
        .store
        .db
        .create_user(&body.username, &hash, state.config.default_role, first_only)
        .await
        .map_err(|e| match e {
            StoreError::Invalid(_) => AppError::forbidden("registration is closed; ask an admin"),
            other => other.into(),
        })?;
    tracing::info!(user_id = user.id, role = user.role.as_str(), "registered");
    Ok((StatusCode::CREATED, Json(user_json(&user))))
}

#[tracing::instrument(skip_all, fields(username = %body.username))]
async fn login(
    State(state): State<AppState>,
    extensions: axum::http::Extensions,
    headers: HeaderMap,
    Json(body): Json<Credentials>,
) -> AppResult<Response> {
    let peer = extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let forwarded = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok());
    let client = auth::client_ip::client_ip(peer, forwarded, &state.config.trusted_proxies);
    let keys = throttle::Keys::new(&body.username, client);
    throttle::check(&state, &keys).await?;
    let creds = state.store.db.credentials(&body.username).await?;
    let ok = password::verify(
        body.password,
        creds.as_ref().map(|c| c.password_hash.clone()),
    )
    .await?;
    let Some(creds) = creds.filter(|_| ok) else {
        throttle::failed(&state, &keys).await?;
        return Err(AppError::new(
            StatusCode::UNAUTHORIZED,
            "bad_credentials",
            "wrong username or password",
        ));
    };
    throttle::succeeded(&state, &keys).await?;
    let token = auth::random_token();
    let csrf = auth::random_token();
    let ttl = Duration::from_secs(state.config.session_hours.max(1) * 3600);
    state
        .store
        .db
        .create_session(
            creds.user.id,
            &auth::sha256_hex(&token),
            &csrf,
            Timestamp::now().plus(ttl),
        )
        .await?;
    let secure = if state.config.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{SESSION_COOKIE}={token}; HttpOnly; SameSite=Lax; Path=/; Max-Age={}{secure}",
        ttl.as_secs()
    );
    let mut headers = HeaderMap::new();
    headers.insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie).map_err(AppError::internal)?,
    );
    tracing::info!(user_id = creds.user.id, "logged in");
    Ok((
        headers,
        Json(json!({"csrf_token": csrf, "user": user_json(&creds.user)})),
    )
        .into_response())
}

async fn logout(State(state): State<AppState>, user: CurrentUser) -> AppResult<Response> {
    if let AuthVia::Session { token_hash, .. } = &user.via {
        state.store.db.delete_session(token_hash).await?;
    }
    let expired = format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0");
    let mut headers = HeaderMap::new();
    headers.insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&expired).map_err(AppError::internal)?,
    );
    Ok((StatusCode::NO_CONTENT, headers).into_response())
}

async fn me(user: CurrentUser) -> Json<serde_json::Value> {
    let mut v = user_json(&user.user);
    if let AuthVia::Session { csrf_token, .. } = &user.via {
        v["csrf_token"] = json!(csrf_token);
    }
    Json(v)
}

/// Used by the users module: roles are named as in the API.
pub fn parse_role(s: &str) -> AppResult<Role> {
    Role::parse(s)
        .ok_or_else(|| AppError::unprocessable("role must be admin, radiologist or viewer"))
}
