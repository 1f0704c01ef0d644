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
use carina_store::{NewAudit, Role, StoreError, Timestamp, TokenScope, User};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::time::Duration;
use utoipa::ToSchema;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/auth/register", post(register))
        .route("/auth/login", post(login))
        .route("/auth/logout", post(logout))
        .route("/me", get(me))
        .route("/auth/session", get(session))
}

#[derive(Deserialize, ToSchema)]
pub struct Credentials {
    username: String,
    password: String,
}

/// `POST /auth/login`: the session's CSRF token and the account.
#[derive(Serialize, ToSchema)]
pub struct LoggedIn {
    /// Send it as X-CSRF-Token on requests that change state
    csrf_token: String,
    #[schema(value_type = crate::openapi::schemas::UserSchema)]
    user: User,
}

/// `GET /me`: the account, and how the caller signed in.
#[derive(Serialize, ToSchema)]
pub struct Me {
    id: i64,
    username: String,
    #[schema(value_type = crate::openapi::schemas::RoleSchema)]
    role: Role,
    #[schema(value_type = String, format = DateTime)]
    created_at: Timestamp,
    /// Present for a session
    #[serde(skip_serializing_if = "Option::is_none")]
    csrf_token: Option<String>,
    /// Present for an API token
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<TokenInfo>,
}

/// The API token a request came with.
#[derive(Serialize, ToSchema)]
pub struct TokenInfo {
    id: i64,
    #[schema(value_type = crate::openapi::schemas::TokenScopeSchema)]
    scope: TokenScope,
}

/// `GET /auth/session`: who is logged in, if anyone.
#[derive(Serialize, ToSchema)]
pub struct SessionInfo {
    /// null when nobody is
    #[schema(value_type = Option<crate::openapi::schemas::UserSchema>)]
    user: Option<User>,
    /// Present for a session
    #[serde(skip_serializing_if = "Option::is_none")]
    csrf_token: Option<String>,
    /// Present for an API token
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<TokenInfo>,
}

/// The session's CSRF token, or the API token, a request came with.
fn via(user: &CurrentUser) -> (Option<String>, Option<TokenInfo>) {
    match &user.via {
        AuthVia::Session { csrf_token, .. } => (Some(csrf_token.clone()), None),
        AuthVia::ApiToken { id, scope } => (
            None,
            Some(TokenInfo {
                id: *id,
                scope: *scope,
            }),
        ),
    }
}

/// [`auth::username_problem`] as a 422.
pub fn check_username(name: &str) -> AppResult<()> {
    match auth::username_problem(name) {
        Some(why) => Err(AppError::unprocessable(why)),
        None => Ok(()),
    }
}

#[tracing::instrument(skip_all)]
#[utoipa::path(
    post,
    path = "/api/v1/auth/register",
    operation_id = "auth_register",
    tag = "auth",
    summary = "Create the first account (it becomes admin); closed after it unless CARINA_OPEN_REGISTRATION=true",
    description = "Role: anyone. After the first account, 403 unless open registration is configured (then the new account gets CARINA_DEFAULT_ROLE); admins create accounts with POST /api/v1/users.",
    request_body = Credentials,
    responses(
        (status = 201, description = "Created", body = crate::openapi::schemas::UserSchema),
        (status = 400, response = crate::openapi::bodies::ApiError),
        (status = 403, response = crate::openapi::bodies::ApiError),
        (status = 409, response = crate::openapi::bodies::ApiError),
        (status = 422, response = crate::openapi::bodies::ApiError),
    ),
)]
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
    Ok((StatusCode::CREATED, Json(user)))
}

#[tracing::instrument(skip_all)]
#[utoipa::path(
    post,
    path = "/api/v1/auth/login",
    operation_id = "auth_login",
    tag = "auth",
    summary = "Log in; sets the carina_session cookie",
    description = "Role: anyone. The username matches regardless of case. Attempts are counted before the password is checked, per account and client pair (CARINA_LOGIN_MAX_FAILURES per CARINA_LOGIN_WINDOW_MINUTES) and, from clients the account has not logged in from, per account and per client (four times as many); past a limit 429 with Retry-After.",
    request_body = Credentials,
    responses(
        (status = 200, description = "Logged in", body = LoggedIn),
        (status = 400, response = crate::openapi::bodies::ApiError),
        (status = 401, response = crate::openapi::bodies::ApiError),
        (status = 422, response = crate::openapi::bodies::ApiError),
        (status = 429, response = crate::openapi::bodies::ApiError),
    ),
)]
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
        Json(LoggedIn {
            csrf_token: csrf,
            user: creds.user.clone(),
        }),
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

#[utoipa::path(
    post,
    path = "/api/v1/auth/logout",
    operation_id = "auth_logout",
    tag = "auth",
    summary = "End the session",
    description = "Role: any logged-in user.",
    responses(
        (status = 204, description = "Logged out"),
        (status = 401, response = crate::openapi::bodies::ApiError),
        (status = 403, response = crate::openapi::bodies::ApiError),
    ),
)]
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

#[utoipa::path(
    get,
    path = "/api/v1/me",
    operation_id = "auth_me",
    tag = "auth",
    summary = "The caller",
    description = "Role: any logged-in user.",
    responses(
        (status = 200, description = "OK", body = Me),
        (status = 401, response = crate::openapi::bodies::ApiError),
    ),
)]
async fn me(user: CurrentUser) -> Json<Me> {
    let (csrf_token, token) = via(&user);
    let u = user.user;
    Json(Me {
        id: u.id,
        username: u.username,
        role: u.role,
        created_at: u.created_at,
        csrf_token,
        token,
    })
}

/// Who is logged in, if anyone: always 200 (`{user: null}` when nobody), so
/// the editor's first load asks without a 401 in the console.
#[utoipa::path(
    get,
    path = "/api/v1/auth/session",
    operation_id = "auth_session",
    tag = "auth",
    summary = "Who is logged in, if anyone (never 401)",
    description = "Role: anyone. {user: null} without a valid session or token; else the caller and, for a cookie session, its csrf_token.",
    responses(
        (status = 200, description = "OK", body = SessionInfo),
    ),
)]
async fn session(user: Result<CurrentUser, AppError>) -> AppResult<Json<SessionInfo>> {
    match user {
        Ok(user) => {
            let (csrf_token, token) = via(&user);
            Ok(Json(SessionInfo {
                user: Some(user.user),
                csrf_token,
                token,
            }))
        }
        Err(e) if e.status == StatusCode::UNAUTHORIZED => Ok(Json(SessionInfo {
            user: None,
            csrf_token: None,
            token: None,
        })),
        Err(e) => Err(e),
    }
}

/// Used by the users module: roles are named as in the API.
pub fn parse_role(s: &str) -> AppResult<Role> {
    Role::parse(s)
        .ok_or_else(|| AppError::unprocessable("role must be admin, radiologist or viewer"))
}
