//! DICOM SR out and in: an image's boxes as a TID 1500 Measurement Report
//! (`GET`/`POST /images/{id}/sr`) and a signed report as a Comprehensive SR
//! (`GET /reports/{id}/sr`). docs/dicom-sr.md describes the documents.

use crate::auth::CurrentUser;
use crate::blind;
use crate::error::{AppError, AppResult};
use crate::extract::{Json, Path};
use crate::sr_import::{SrImport, import_sr};
use crate::state::AppState;
use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use carina_store::Role;
use serde::Deserialize;
use utoipa::IntoParams;

/// The largest SR accepted (the reader's limit), and a body limit with room
/// for multipart framing.
const MAX_SR_BYTES: usize = 8 * 1024 * 1024;
const BODY_LIMIT: usize = MAX_SR_BYTES + 64 * 1024;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/images/{id}/sr",
            get(image_sr)
                .post(import)
                .layer(DefaultBodyLimit::max(BODY_LIMIT)),
        )
        .route("/reports/{id}/sr", get(report_sr))
}

fn dicom_file(bytes: Vec<u8>, filename: &str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/dicom".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        bytes,
    )
        .into_response()
}

#[derive(Deserialize, IntoParams)]
pub struct SrParams {
    /// `proposals`: add the model's unreviewed proposals
    include: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/images/{id}/sr",
    operation_id = "sr_image",
    tag = "annotations",
    summary = "The image's boxes as a DICOM SR (TID 1500 Measurement Report)",
    description = "Role: viewer. Comprehensive 3D SR with one planar ROI group per reviewed box (accepted, edited, manual, consensus); include=proposals adds unreviewed proposals. A blind reader of the image (assigned, not submitted) gets 403 blind_reading.",
    params(("id" = i64, Path), SrParams),
    responses(
        (status = 200, description = "The SR", content_type = "application/dicom", body = Vec<u8>),
        (status = 400, response = crate::openapi::bodies::ApiError),
        (status = 401, response = crate::openapi::bodies::ApiError),
        (status = 403, response = crate::openapi::bodies::ApiError),
        (status = 404, response = crate::openapi::bodies::ApiError),
        (status = 422, response = crate::openapi::bodies::ApiError),
    ),
)]
async fn image_sr(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Query(params): Query<SrParams>,
) -> AppResult<Response> {
    let include_proposals = match params.include.as_deref() {
        None | Some("") => false,
        Some("proposals") => true,
        Some(other) => {
            return Err(AppError::bad_request(format!(
                "include={other:?}: the only value is \"proposals\""
            )));
        }
    };
    let image = blind::guard(&state, &user, id).await?;
    let bytes = crate::sr_export::image_sr(&state, &image, include_proposals).await?;
    Ok(dicom_file(bytes, &format!("carina-image-{id}-sr.dcm")))
}

/// The SR of a request body: `application/dicom` (the file itself) or
/// `multipart/form-data` with the file in a part named `file`.
async fn sr_body(state: &AppState, req: Request) -> AppResult<Bytes> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let too_large = || {
        AppError::too_large(format!(
            "an SR is at most {} MiB",
            MAX_SR_BYTES / (1024 * 1024)
        ))
    };
    if content_type.starts_with("multipart/form-data") {
        let mut multipart = Multipart::from_request(req, state).await.map_err(|e| {
            AppError::bad_request(format!("malformed multipart body: {}", e.body_text()))
        })?;
        while let Some(field) = multipart.next_field().await.map_err(|e| {
            AppError::bad_request(format!("malformed multipart body: {}", e.body_text()))
        })? {
            if field.name() == Some("file") {
                return field.bytes().await.map_err(|e| {
                    if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                        too_large()
                    } else {
                        AppError::bad_request(format!(
                            "malformed multipart body: {}",
                            e.body_text()
                        ))
                    }
                });
            }
        }
        return Err(AppError::bad_request("no multipart part named \"file\""));
    }
    if !(content_type.starts_with("application/dicom")
        || content_type.starts_with("application/octet-stream"))
    {
        return Err(AppError::unsupported_media(
            "send the SR as application/dicom, or as multipart/form-data with a part named \"file\"",
        ));
    }
    axum::body::to_bytes(req.into_body(), BODY_LIMIT)
        .await
        .map_err(|_| too_large())
}

fn optional_if_match(headers: &HeaderMap) -> AppResult<Option<i64>> {
    if headers.get(header::IF_MATCH).is_none() {
        return Ok(None);
    }
    crate::extract::if_match_version(
        headers,
        "",
        "If-Match does not name a version of these annotations; reload them",
    )
    .map(Some)
}

#[tracing::instrument(skip_all, fields(image_id = id, user = %user.user.username))]
#[utoipa::path(
    post,
    path = "/api/v1/images/{id}/sr",
    operation_id = "sr_import",
    tag = "annotations",
    summary = "Import the boxes of a TID 1500 SR into the image",
    description = "Role: radiologist. Body: the SR as application/dicom, or multipart/form-data with a part named file. Carina's own SR puts its boxes back (position, label, status; the box keeps its provenance); another tool's boxes are added as manual boxes of the caller; nothing is deleted. Optional If-Match: the annotation version the import applies to (409 when it is no longer current). An SR about another image, a finding that is not a label of the label set (unknown_finding), a box outside the image: 422. Not a DICOM file: 400. A blind reader of the image gets 403 blind_reading.",
    params(("id" = i64, Path), ("If-Match" = Option<String>, Header)),
    request_body(content = Vec<u8>, content_type = "application/dicom"),
    responses(
        (status = 200, description = "Imported; the ETag is the new version", body = SrImport),
        (status = 400, response = crate::openapi::bodies::ApiError),
        (status = 401, response = crate::openapi::bodies::ApiError),
        (status = 403, response = crate::openapi::bodies::ApiError),
        (status = 404, response = crate::openapi::bodies::ApiError),
        (status = 409, response = crate::openapi::bodies::ApiError),
        (status = 412, response = crate::openapi::bodies::ApiError),
        (status = 413, response = crate::openapi::bodies::ApiError),
        (status = 415, response = crate::openapi::bodies::ApiError),
        (status = 422, response = crate::openapi::bodies::ApiError),
    ),
)]
async fn import(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    req: Request,
) -> AppResult<Response> {
    user.require(Role::Radiologist)?;
    blind::guard(&state, &user, id).await?;
    let expected = optional_if_match(req.headers())?;
    let bytes = sr_body(&state, req).await?;
    let done = import_sr(&state, bytes, &user.user.username, Some(id), expected).await?;
    let etag =
        HeaderValue::from_str(&format!("\"{}\"", done.version)).expect("digits are a valid header");
    Ok(([(header::ETAG, etag)], Json(done)).into_response())
}

#[utoipa::path(
    get,
    path = "/api/v1/reports/{id}/sr",
    operation_id = "reports_sr",
    tag = "reports",
    summary = "A signed report as a DICOM SR (Comprehensive SR, TID 2000)",
    description = "Role: viewer. Signed, amended and superseded reports; a draft is a 409. The impression, the findings (coded, with their regions on the images) and the images as evidence; the signer is the observer and verifier. A report on an image the caller reads blind is a 404.",
    params(("id" = i64, Path)),
    responses(
        (status = 200, description = "The SR", content_type = "application/dicom", body = Vec<u8>),
        (status = 401, response = crate::openapi::bodies::ApiError),
        (status = 404, response = crate::openapi::bodies::ApiError),
        (status = 409, response = crate::openapi::bodies::ApiError),
        (status = 422, response = crate::openapi::bodies::ApiError),
    ),
)]
async fn report_sr(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(raw): Path<String>,
) -> AppResult<Response> {
    let id = raw
        .parse::<i64>()
        .map_err(|_| AppError::not_found("report"))?;
    let bytes = crate::sr_export::report_sr(&state, &user, id).await?;
    Ok(dicom_file(bytes, &format!("carina-report-{id}-sr.dcm")))
}
