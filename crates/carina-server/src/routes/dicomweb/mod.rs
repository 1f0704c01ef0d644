//! DICOMweb (PS3.18) under `/dicom-web`: QIDO-RS search ([`qido`]),
//! WADO-RS retrieval, metadata and rendered images ([`wado`]) and STOW-RS
//! store ([`stow`]), over the stored (served, de-identified) files: every
//! UID and attribute is the de-identified one. Session or API token; viewer
//! role to read, radiologist to store. Errors use the API's error shape.

mod json;
mod multipart;
pub mod qido;
pub mod stow;
pub mod wado;

use qido::{search_instances, search_series, search_series_instances, search_studies};
use stow::store;
use wado::{
    instance_metadata, rendered, retrieve_instance, retrieve_series, retrieve_study,
    series_metadata, study_metadata,
};

use crate::error::AppError;
use crate::state::AppState;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::get;

/// The DICOM JSON media type of QIDO-RS and `/metadata` replies.
pub const DICOM_JSON: &str = "application/dicom+json";

pub fn routes(max_upload_bytes: usize) -> Router<AppState> {
    Router::new()
        .route(
            "/studies",
            get(search_studies)
                .post(store)
                .layer(DefaultBodyLimit::max(max_upload_bytes)),
        )
        .route("/studies/{study}", get(retrieve_study))
        .route("/studies/{study}/metadata", get(study_metadata))
        .route("/studies/{study}/series", get(search_series))
        .route("/studies/{study}/instances", get(search_instances))
        .route("/studies/{study}/series/{series}", get(retrieve_series))
        .route(
            "/studies/{study}/series/{series}/metadata",
            get(series_metadata),
        )
        .route(
            "/studies/{study}/series/{series}/instances",
            get(search_series_instances),
        )
        .route(
            "/studies/{study}/series/{series}/instances/{instance}",
            get(retrieve_instance),
        )
        .route(
            "/studies/{study}/series/{series}/instances/{instance}/metadata",
            get(instance_metadata),
        )
        .route(
            "/studies/{study}/series/{series}/instances/{instance}/rendered",
            get(rendered),
        )
}

/// 406 with what the route can send.
pub fn not_acceptable(offered: &str) -> AppError {
    AppError::new(
        StatusCode::NOT_ACCEPTABLE,
        "not_acceptable",
        format!("the Accept header allows nothing this route sends ({offered})"),
    )
}

/// One media range of an Accept header: the type and its parameters
/// (names lower case, values unquoted).
pub struct MediaRange {
    pub media: String,
    pub params: Vec<(String, String)>,
}

impl MediaRange {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether this range covers `media` (`*/*`, `type/*` or equal).
    pub fn covers(&self, media: &str) -> bool {
        let (t, _) = media.split_once('/').unwrap_or((media, ""));
        self.media == "*/*" || self.media == format!("{t}/*") || self.media == media
    }
}

/// The media ranges of the request's Accept headers, in order; none when
/// there is no Accept header (anything is acceptable). Ranges with `q=0`
/// are left out.
pub fn accept(headers: &HeaderMap) -> Option<Vec<MediaRange>> {
    let mut out = Vec::new();
    let mut any = false;
    for value in headers.get_all(header::ACCEPT) {
        any = true;
        let Ok(text) = value.to_str() else { continue };
        for range in text.split(',') {
            let mut pieces = range.split(';');
            let media = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
            if media.is_empty() {
                continue;
            }
            let params: Vec<(String, String)> = pieces
                .filter_map(|p| p.split_once('='))
                .map(|(n, v)| {
                    (
                        n.trim().to_ascii_lowercase(),
                        v.trim().trim_matches('"').to_string(),
                    )
                })
                .collect();
            let refused = params
                .iter()
                .any(|(n, v)| n == "q" && v.parse::<f32>().is_ok_and(|q| q <= 0.0));
            if !refused {
                out.push(MediaRange { media, params });
            }
        }
    }
    any.then_some(out)
}

/// 406 unless the caller accepts DICOM JSON (or JSON).
pub fn require_json(headers: &HeaderMap) -> Result<(), AppError> {
    match accept(headers) {
        None => Ok(()),
        Some(ranges)
            if ranges
                .iter()
                .any(|r| r.covers(DICOM_JSON) || r.covers("application/json")) =>
        {
            Ok(())
        }
        Some(_) => Err(not_acceptable(DICOM_JSON)),
    }
}

/// A UID from the path: at most 64 characters of digits and dots.
pub fn check_uid(uid: &str) -> Result<(), AppError> {
    if uid.is_empty() || uid.len() > 64 || !uid.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return Err(AppError::bad_request(format!(
            "{uid:.80?} is not a DICOM UID (digits and dots, at most 64 characters)"
        )));
    }
    Ok(())
}
