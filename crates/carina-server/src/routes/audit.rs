//! `GET /audit`: the audit log for admins (newest first), filtered by kind,
//! user (actor or subject, any case) and time, paged.

use crate::auth::CurrentUser;
use crate::error::{AppError, AppResult};
use crate::extract::{Json, Query};
use crate::state::AppState;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use carina_store::{AuditEntry, AuditQuery, Role, Timestamp};
use serde::{Deserialize, Serialize};
use std::time::UNIX_EPOCH;
use utoipa::ToSchema;

pub fn routes() -> Router<AppState> {
    Router::new().route("/audit", get(list))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    kind: Option<String>,
    user: Option<String>,
    /// RFC 3339 (`2026-01-02T03:04:05Z`): entries at or after.
    since: Option<String>,
    /// RFC 3339: entries before.
    until: Option<String>,
    page: Option<u32>,
    per_page: Option<u32>,
}

fn time(name: &str, s: Option<&str>) -> AppResult<Option<Timestamp>> {
    let Some(s) = s.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let t = humantime::parse_rfc3339_weak(s).map_err(|_| {
        AppError::unprocessable(format!(
            "{name} must be an RFC 3339 time such as 2026-01-02T03:04:05Z"
        ))
    })?;
    let ms = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    Ok(Some(Timestamp(ms)))
}

#[utoipa::path(
    get,
    path = "/api/v1/audit",
    operation_id = "audit_list",
    tag = "users",
    summary = "The audit log, newest first",
    description = "Role: admin.",
    params(
        ("kind" = Option<String>, Query, description = "Only this kind of entry"),
        ("user" = Option<String>, Query, description = "Entries whose actor or subject is this username (any case)"),
        ("since" = Option<String>, Query, description = "Entries at or after (RFC 3339)"),
        ("until" = Option<String>, Query, description = "Entries before (RFC 3339)"),
        ("page" = Option<u32>, Query, description = "1-based page (default 1)"),
        ("per_page" = Option<u32>, Query, description = "Entries per page (default 50)"),
    ),
    responses(
        (status = 200, description = "OK", body = AuditPage),
        (status = 400, response = crate::openapi::bodies::ApiError),
        (status = 401, response = crate::openapi::bodies::ApiError),
        (status = 403, response = crate::openapi::bodies::ApiError),
        (status = 422, response = crate::openapi::bodies::ApiError),
    ),
)]
async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(p): Query<Params>,
) -> AppResult<Json<AuditPage>> {
    user.require(Role::Admin)?;
    let page = p.page.unwrap_or(1).max(1);
    let per_page = p.per_page.unwrap_or(50).clamp(1, 500);
    let kind = p
        .kind
        .map(|k| k.trim().to_string())
        .filter(|k| !k.is_empty());
    if let Some(k) = &kind
        && !k.chars().all(|c| c.is_ascii_lowercase() || c == '_')
    {
        return Err(AppError::unprocessable(
            "kind must be a word such as login_failed",
        ));
    }
    let query = AuditQuery {
        kind,
        user: p
            .user
            .map(|u| u.trim().to_string())
            .filter(|u| !u.is_empty()),
        since: time("since", p.since.as_deref())?,
        until: time("until", p.until.as_deref())?,
        page,
        per_page,
    };
    let (entries, total) = state.store.db.audit(&query).await?;
    Ok(Json(AuditPage {
        entries,
        total,
        page,
        per_page,
    }))
}

/// `GET /audit`: one page of the log, newest first.
#[derive(Serialize, ToSchema)]
pub struct AuditPage {
    #[schema(value_type = Vec<crate::openapi::schemas::AuditEntrySchema>)]
    entries: Vec<AuditEntry>,
    total: i64,
    page: u32,
    per_page: u32,
}
