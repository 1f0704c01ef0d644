//! WADO-RS (PS3.18 10.4): a study, series or instance as
//! `multipart/related; type="application/dicom"` (the stored files in their
//! stored transfer syntax, streamed one file at a time), their `/metadata`
//! as DICOM JSON without pixel data, and an instance `/rendered` as JPEG or
//! PNG with the stored window.

use super::multipart::new_boundary;
use super::{DICOM_JSON, MediaRange, accept, check_uid, json, not_acceptable, require_json};
use crate::auth::CurrentUser;
use crate::error::{AppError, AppResult};
use crate::extract::{Path, Query};
use crate::render_cache;
use crate::state::AppState;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use carina_imaging::Window;
use carina_store::DicomInstance;
use serde::Deserialize;
use std::sync::Arc;

/// The instances in scope, 404 when there are none.
async fn instances(
    state: &AppState,
    study: &str,
    series: Option<&str>,
    sop: Option<&str>,
) -> AppResult<Vec<DicomInstance>> {
    for uid in [Some(study), series, sop].into_iter().flatten() {
        check_uid(uid)?;
    }
    let found = state
        .store
        .db
        .dicom_instances(Some(study), series, sop)
        .await?;
    if found.is_empty() {
        let what = match (series, sop) {
            (_, Some(_)) => "instance",
            (Some(_), None) => "series",
            _ => "study",
        };
        return Err(AppError::not_found(what));
    }
    Ok(found)
}

/// The transfer syntax UID in a Part 10 file's meta group.
fn transfer_syntax(bytes: &[u8]) -> Option<String> {
    let off = if bytes.get(128..132) == Some(b"DICM") {
        128
    } else if bytes.starts_with(b"DICM") {
        0
    } else {
        return None;
    };
    let meta = dicom_object::FileMetaTable::from_reader(&bytes[off..]).ok()?;
    Some(
        meta.transfer_syntax()
            .trim_end_matches(['\0', ' '])
            .to_string(),
    )
}

/// What a WADO-RS retrieval may send: the stored files (`None`), or only
/// files in one transfer syntax (`Some`). 406 when the Accept header asks
/// for something else than `multipart/related; type="application/dicom"`.
fn retrieval_syntax(headers: &HeaderMap) -> AppResult<Option<String>> {
    let Some(ranges) = accept(headers) else {
        return Ok(None);
    };
    let dicom = |r: &MediaRange| {
        r.media == "*/*"
            || r.media == "multipart/*"
            || (r.media == "multipart/related"
                && r.param("type").is_none_or(|t| t == "application/dicom"))
    };
    let offered = "multipart/related; type=\"application/dicom\"";
    let usable: Vec<&MediaRange> = ranges.iter().filter(|r| dicom(r)).collect();
    if usable.is_empty() {
        return Err(not_acceptable(offered));
    }
    // Any range without a transfer syntax (or with `*`) takes the files as stored.
    if usable
        .iter()
        .any(|r| r.param("transfer-syntax").is_none_or(|t| t == "*"))
    {
        return Ok(None);
    }
    Ok(usable[0].param("transfer-syntax").map(str::to_string))
}

async fn retrieve(
    state: AppState,
    headers: HeaderMap,
    study: String,
    series: Option<String>,
    sop: Option<String>,
) -> AppResult<Response> {
    let wanted = retrieval_syntax(&headers)?;
    let found = instances(&state, &study, series.as_deref(), sop.as_deref()).await?;
    if let Some(ts) = &wanted {
        // This server does not transcode: every file must already be in it.
        for i in &found {
            let bytes = state.store.objects.get(&i.object_key).await?;
            if transfer_syntax(&bytes).as_deref() != Some(ts.as_str()) {
                return Err(not_acceptable(
                    "the stored transfer syntax; ask with transfer-syntax=* for the files as stored",
                ));
            }
        }
    }
    let boundary = new_boundary();
    let content_type =
        format!("multipart/related; type=\"application/dicom\"; boundary={boundary}");
    let keys: Vec<String> = found.into_iter().map(|i| i.object_key).collect();
    let stream = futures_util::stream::unfold(
        (state, keys.into_iter(), boundary, false),
        |(state, mut keys, boundary, done)| async move {
            if done {
                return None;
            }
            let Some(key) = keys.next() else {
                let end = Bytes::from(format!("--{boundary}--\r\n"));
                return Some((Ok(end), (state, keys, boundary, true)));
            };
            let part = match state.store.objects.get(&key).await {
                Ok(bytes) => {
                    let ts = transfer_syntax(&bytes).unwrap_or_default();
                    let head = format!(
                        "--{boundary}\r\nContent-Type: application/dicom; transfer-syntax={ts}\r\n\
                         Content-Length: {}\r\n\r\n",
                        bytes.len()
                    );
                    let mut part = Vec::with_capacity(head.len() + bytes.len() + 2);
                    part.extend_from_slice(head.as_bytes());
                    part.extend_from_slice(&bytes);
                    part.extend_from_slice(b"\r\n");
                    Ok(Bytes::from(part))
                }
                Err(e) => {
                    tracing::warn!(error = %e, "a stored file could not be read for WADO-RS");
                    Err(std::io::Error::other("a stored file could not be read"))
                }
            };
            let done = part.is_err();
            Some((part, (state, keys, boundary, done)))
        },
    );
    Ok((
        [(header::CONTENT_TYPE, content_type)],
        Body::from_stream(stream),
    )
        .into_response())
}

async fn metadata(
    state: AppState,
    headers: HeaderMap,
    study: String,
    series: Option<String>,
    sop: Option<String>,
) -> AppResult<Response> {
    require_json(&headers)?;
    let found = instances(&state, &study, series.as_deref(), sop.as_deref()).await?;
    let mut out = Vec::with_capacity(found.len());
    for i in found {
        let bytes = state.store.objects.get(&i.object_key).await?;
        let limits = state.config.stored_limits();
        let value = tokio::task::spawn_blocking(move || {
            carina_imaging::read_dicom(&bytes, &limits).map(|obj| json::dataset(&obj))
        })
        .await
        .map_err(AppError::internal)?
        .map_err(|e| AppError::unprocessable(format!("the stored file cannot be read: {e}")))?;
        out.push(value);
    }
    let body = serde_json::to_vec(&out).map_err(AppError::internal)?;
    Ok(([(header::CONTENT_TYPE, DICOM_JSON)], body).into_response())
}

macro_rules! multipart_doc {
    ($name:ident, $path:literal, $summary:literal, $($param:tt)*) => {
        #[utoipa::path(
            get,
            path = $path,
            operation_id = concat!("dicomweb_", stringify!($name)),
            tag = "dicomweb",
            summary = $summary,
            description = "Role: viewer.",
            params($($param)*),
            responses(
                (status = 200, description = "The instances", body = crate::openapi::bodies::Binary, content_type = "multipart/related"),
                (status = 400, response = crate::openapi::bodies::ApiError),
                (status = 401, response = crate::openapi::bodies::ApiError),
                (status = 404, response = crate::openapi::bodies::ApiError),
                (status = 406, response = crate::openapi::bodies::ApiError),
            ),
        )]
        #[allow(dead_code)]
        fn $name() {}
    };
}

macro_rules! metadata_doc {
    ($name:ident, $path:literal, $summary:literal, $($param:tt)*) => {
        #[utoipa::path(
            get,
            path = $path,
            operation_id = concat!("dicomweb_", stringify!($name)),
            tag = "dicomweb",
            summary = $summary,
            description = "Role: viewer. No pixel data; binary values over 1 KiB have their VR only.",
            params($($param)*),
            responses(
                (status = 200, description = "DICOM JSON data sets", body = Vec<serde_json::Value>, content_type = "application/dicom+json"),
                (status = 400, response = crate::openapi::bodies::ApiError),
                (status = 401, response = crate::openapi::bodies::ApiError),
                (status = 404, response = crate::openapi::bodies::ApiError),
                (status = 406, response = crate::openapi::bodies::ApiError),
            ),
        )]
        #[allow(dead_code)]
        fn $name() {}
    };
}

pub mod doc {
    multipart_doc!(
        retrieve_study,
        "/dicom-web/studies/{study}",
        "WADO-RS: a study's instances (multipart/related; type=\"application/dicom\")",
        ("study" = String, Path)
    );
    multipart_doc!(
        retrieve_series,
        "/dicom-web/studies/{study}/series/{series}",
        "WADO-RS: a series' instances",
        ("study" = String, Path),
        ("series" = String, Path)
    );
    multipart_doc!(
        retrieve_instance,
        "/dicom-web/studies/{study}/series/{series}/instances/{instance}",
        "WADO-RS: one instance",
        ("study" = String, Path),
        ("series" = String, Path),
        ("instance" = String, Path)
    );
    metadata_doc!(
        study_metadata,
        "/dicom-web/studies/{study}/metadata",
        "WADO-RS: a study's metadata",
        ("study" = String, Path)
    );
    metadata_doc!(
        series_metadata,
        "/dicom-web/studies/{study}/series/{series}/metadata",
        "WADO-RS: a series' metadata",
        ("study" = String, Path),
        ("series" = String, Path)
    );
    metadata_doc!(
        instance_metadata,
        "/dicom-web/studies/{study}/series/{series}/instances/{instance}/metadata",
        "WADO-RS: an instance's metadata",
        ("study" = String, Path),
        ("series" = String, Path),
        ("instance" = String, Path)
    );
}

pub async fn retrieve_study(
    State(state): State<AppState>,
    _user: CurrentUser,
    headers: HeaderMap,
    Path(study): Path<String>,
) -> AppResult<Response> {
    retrieve(state, headers, study, None, None).await
}

pub async fn retrieve_series(
    State(state): State<AppState>,
    _user: CurrentUser,
    headers: HeaderMap,
    Path((study, series)): Path<(String, String)>,
) -> AppResult<Response> {
    retrieve(state, headers, study, Some(series), None).await
}

pub async fn retrieve_instance(
    State(state): State<AppState>,
    _user: CurrentUser,
    headers: HeaderMap,
    Path((study, series, sop)): Path<(String, String, String)>,
) -> AppResult<Response> {
    retrieve(state, headers, study, Some(series), Some(sop)).await
}

pub async fn study_metadata(
    State(state): State<AppState>,
    _user: CurrentUser,
    headers: HeaderMap,
    Path(study): Path<String>,
) -> AppResult<Response> {
    metadata(state, headers, study, None, None).await
}

pub async fn series_metadata(
    State(state): State<AppState>,
    _user: CurrentUser,
    headers: HeaderMap,
    Path((study, series)): Path<(String, String)>,
) -> AppResult<Response> {
    metadata(state, headers, study, Some(series), None).await
}

pub async fn instance_metadata(
    State(state): State<AppState>,
    _user: CurrentUser,
    headers: HeaderMap,
    Path((study, series, sop)): Path<(String, String, String)>,
) -> AppResult<Response> {
    metadata(state, headers, study, Some(series), Some(sop)).await
}

#[derive(Deserialize)]
pub struct RenderedParams {
    /// `center,width[,function]` (PS3.18 8.3.5.1.4), in the stored image's
    /// display values; default the stored window.
    window: Option<String>,
    /// JPEG quality 1–100 (default 90).
    quality: Option<u8>,
}

/// The rendered media type: JPEG unless only PNG is accepted.
fn rendered_type(headers: &HeaderMap) -> AppResult<&'static str> {
    let Some(ranges) = accept(headers) else {
        return Ok("image/jpeg");
    };
    for r in &ranges {
        if r.covers("image/jpeg") {
            return Ok("image/jpeg");
        }
        if r.covers("image/png") {
            return Ok("image/png");
        }
    }
    Err(not_acceptable("image/jpeg or image/png"))
}

fn window_param(text: Option<&str>, stored: Window) -> AppResult<Window> {
    let Some(text) = text else {
        return Ok(stored);
    };
    let mut parts = text.split(',').map(str::trim);
    let mut next = || parts.next().and_then(|v| v.parse::<f64>().ok());
    match (next(), next()) {
        (Some(center), Some(width)) if center.is_finite() && width.is_finite() && width > 0.0 => {
            Ok(Window { center, width })
        }
        _ => Err(AppError::bad_request(
            "window must be center,width[,function] with a positive width",
        )),
    }
}

#[utoipa::path(
    get,
    path = "/dicom-web/studies/{study}/series/{series}/instances/{instance}/rendered",
    operation_id = "dicomweb_rendered",
    tag = "dicomweb",
    summary = "WADO-RS: the instance rendered as JPEG (default) or PNG with the stored window",
    description = "Role: viewer. Accept image/jpeg or image/png; window=center,width overrides the stored window.",
    params(
        ("study" = String, Path), ("series" = String, Path), ("instance" = String, Path),
        ("window" = Option<String>, Query, description = "center,width[,function]"),
        ("quality" = Option<u8>, Query, description = "JPEG quality 1-100"),
    ),
    responses(
        (status = 200, description = "The image", body = crate::openapi::bodies::Binary, content_type = "image/jpeg"),
        (status = 400, response = crate::openapi::bodies::ApiError),
        (status = 401, response = crate::openapi::bodies::ApiError),
        (status = 404, response = crate::openapi::bodies::ApiError),
        (status = 406, response = crate::openapi::bodies::ApiError),
    ),
)]
pub async fn rendered(
    State(state): State<AppState>,
    _user: CurrentUser,
    headers: HeaderMap,
    Path((study, series, sop)): Path<(String, String, String)>,
    Query(p): Query<RenderedParams>,
) -> AppResult<Response> {
    let media = rendered_type(&headers)?;
    let found = instances(&state, &study, Some(&series), Some(&sop)).await?;
    let image = state.image(found[0].image_id).await?;
    let stored = Window {
        center: image.meta.window_center.unwrap_or(32768.0),
        width: image.meta.window_width.unwrap_or(65536.0),
    };
    let window = window_param(p.window.as_deref(), stored)?;
    let quality = p.quality.unwrap_or(90).clamp(1, 100);
    let key = render_cache::Key {
        image_id: image.id,
        object_key: image.object_key.clone(),
    };
    let pixels = match state.render_cache.get(&key) {
        Some(img) => img,
        None => {
            let bytes = state.store.image_file(&image).await?;
            let limits = state.config.stored_limits();
            let img = Arc::new(
                state
                    .decode_budget
                    .decode_stored(bytes, limits)
                    .await?
                    .image,
            );
            state.render_cache.insert(key, img.clone());
            img
        }
    };
    let out = tokio::task::spawn_blocking(move || {
        let gray = carina_imaging::render_window(&pixels, window, false);
        if media == "image/png" {
            carina_imaging::encode_png8(pixels.width, pixels.height, &gray)
        } else {
            carina_imaging::encode_jpeg8(pixels.width, pixels.height, &gray, quality)
        }
    })
    .await
    .map_err(AppError::internal)?
    .map_err(AppError::internal)?;
    Ok(([(header::CONTENT_TYPE, media)], out).into_response())
}
