//! Accounts and sessions: register, log in, log out, who am I.
//! Registration is for the first account (who becomes admin) only, unless
//! `open_registration`; after that, admins create accounts (`POST /users`).

use crate::auth::audit::{self, kind};
use crate::auth::{self, AuthVia, ClientAddr, CurrentUser, SESSION_COOKIE, password, throttle};
use crate::error::{AppError, AppResult};
use crate::extract::Json;
use crate::state::AppState;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use carina_store::{NewAudit, Role, StoreError, Timestamp, User};
use serde::Deserialize;
use serde_json::json;
use std::time::Duration;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/auth/register", post(register))
        .route("/auth/login", post(login))
        .route("/auth/logout", post(logout))
        .route("/me", get(me))
        .route("/auth/session", get(session))
}

#[derive(Deserialize)]
pub struct Credentials {
    username: String,
    password: String,
}

pub fn user_json(u: &User) -> serde_json::Value {
    json!({"id": u.id, "username": u.username, "role": u.role, "created_at": u.created_at})
}

/// [`auth::username_problem`] as a 422.
pub fn check_username(name: &str) -> AppResult<()> {
    match auth::username_problem(name) {
        Some(why) => Err(AppError::unprocessable(why)),
        None => Ok(()),
    }
}

#[tracing::instrument(skip_all)]
async fn register(
    State(state): State<AppState>,
    client: ClientAddr,
    Json(body): Json<Credentials>,
) -> AppResult<impl IntoResponse> {
    check_username(&body.username)?;
    password::check(&body.password, &body.username)?;
    let hash = password::hash(body.password).await?;
    let first_only = !state.config.open_registration;
    let user = state
        .store
        .db
        .create_user(&body.username, &hash, state.config.default_role, first_only)
        .await
        .map_err(|e| match e {
            StoreError::Invalid(_) => AppError::forbidden(
                "registration is closed; an admin creates accounts (POST /api/v1/users)",
            ),
            other => other.into(),
        })?;
    audit::record(
        &state,
        NewAudit::new(kind::USER_REGISTERED)
            .actor(&user)
            .subject(&user)
            .client(client.label())
            .detail(json!({"role": user.role})),
    )
    .await?;
    tracing::info!(user_id = user.id, role = user.role.as_str(), "registered");
    Ok((StatusCode::CREATED, Json(user_json(&user))))
}

#[tracing::instrument(skip_all)]
async fn login(
    State(state): State<AppState>,
    client: ClientAddr,
    Json(body): Json<Credentials>,
) -> AppResult<Response> {
    let client_label = throttle::client_label(client.0);
    let account = body.username.trim().to_lowercase();
    if account.is_empty() || account.len() > 256 {
        return Err(bad_credentials());
    }
    let creds = state.store.db.credentials(&account).await?;
    let known = match &creds {
        Some(c) => throttle::is_known(&state, c.user.id, &client_label).await?,
        None => false,
    };
    let failed_entry = |k: &str| {
        let e = NewAudit::new(k).client(client.label());
        match &creds {
            Some(c) => e.subject(&c.user),
            // The name as typed is not stored: it may be a password typed
            // into the wrong field. Only whether an account matched.
            None => e.detail(json!({"account": "unknown"})),
        }
    };
    if let Err(refused) = throttle::admit(&state, &account, &client_label, known).await {
        audit::record(&state, failed_entry(kind::LOGIN_THROTTLED)).await?;
        return Err(refused);
    }
    let ok = password::verify(
        body.password,
        creds.as_ref().map(|c| c.password_hash.clone()),
    )
    .await?;
    let Some(creds) = creds.as_ref().filter(|_| ok) else {
        audit::record(&state, failed_entry(kind::LOGIN_FAILED)).await?;
        return Err(bad_credentials());
    };
    throttle::succeeded(&state, &account, creds.user.id, &client_label, known).await?;
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
    audit::record(
        &state,
        NewAudit::new(kind::LOGIN)
            .actor(&creds.user)
            .subject(&creds.user)
            .client(client.label()),
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

fn bad_credentials() -> AppError {
    AppError::new(
        StatusCode::UNAUTHORIZED,
        "bad_credentials",
        "wrong username or password",
    )
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
    match &user.via {
        AuthVia::Session { csrf_token, .. } => v["csrf_token"] = json!(csrf_token),
        AuthVia::ApiToken { id, scope } => v["token"] = json!({"id": id, "scope": scope}),
    }
    Json(v)
}

/// Who is logged in, if anyone: always 200 (`{user: null}` when nobody), so
/// the editor's first load asks without a 401 in the console.
async fn session(user: Result<CurrentUser, AppError>) -> AppResult<Json<serde_json::Value>> {
    match user {
        Ok(user) => {
            let mut v = json!({"user": user_json(&user.user)});
            match &user.via {
                AuthVia::Session { csrf_token, .. } => v["csrf_token"] = json!(csrf_token),
                AuthVia::ApiToken { id, scope } => v["token"] = json!({"id": id, "scope": scope}),
            }
            Ok(Json(v))
        }
        Err(e) if e.status == StatusCode::UNAUTHORIZED => Ok(Json(json!({"user": null}))),
        Err(e) => Err(e),
    }
}

/// Used by the users module: roles are named as in the API.
pub fn parse_role(s: &str) -> AppResult<Role> {
    Role::parse(s)
        .ok_or_else(|| AppError::unprocessable("role must be admin, radiologist or viewer"))
}
