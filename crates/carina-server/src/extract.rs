//! axum's extractors, with their rejections turned into the API's JSON
//! errors (axum's own answer plain text).

use crate::error::AppError;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{StatusCode, request::Parts};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A JSON body (request) or reply (response).
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = AppError;
    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Json(v)),
            Err(e) => Err(json_rejection(e)),
        }
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

fn json_rejection(e: JsonRejection) -> AppError {
    let code = match e.status() {
        StatusCode::UNPROCESSABLE_ENTITY => "invalid",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::PAYLOAD_TOO_LARGE => "too_large",
        _ => "bad_request",
    };
    AppError::new(e.status(), code, e.body_text())
}

/// Path parameters; a malformed one (`/images/abc`) is a 404, as for an id that does not exist.
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(Path(v)),
            Err(e) => Err(path_rejection(e)),
        }
    }
}

fn path_rejection(e: PathRejection) -> AppError {
    if e.status().is_server_error() {
        AppError::internal(anyhow::anyhow!(e.body_text()))
    } else {
        AppError::new(StatusCode::NOT_FOUND, "not_found", e.body_text())
    }
}

/// Query-string parameters.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(Query(v)),
            Err(e) => Err(query_rejection(e)),
        }
    }
}

fn query_rejection(e: QueryRejection) -> AppError {
    AppError::bad_request(e.body_text())
}

/// The version an `If-Match` header names (`"3"`, `3` or `W/"3"` → 3): 428
/// without it (`missing` says what to send), 412 when it names no version
/// (`stale` says what to reload). Annotations and blind readings share it.
pub fn if_match_version(
    headers: &axum::http::HeaderMap,
    missing: &str,
    stale: &str,
) -> Result<i64, AppError> {
    let raw = headers.get(axum::http::header::IF_MATCH).ok_or_else(|| {
        AppError::new(
            StatusCode::PRECONDITION_REQUIRED,
            "if_match_required",
            missing,
        )
    })?;
    let text = raw.to_str().unwrap_or("").trim();
    let text = text.strip_prefix("W/").unwrap_or(text).trim_matches('"');
    text.parse::<i64>()
        .map_err(|_| AppError::new(StatusCode::PRECONDITION_FAILED, "version_conflict", stale))
}
