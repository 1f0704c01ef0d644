//! STOW-RS (PS3.18 10.5): `POST /dicom-web/studies` with a
//! `multipart/related; type="application/dicom"` body. Each part goes
//! through the shared ingest (an SR part through `sr_import::import_sr`;
//! images through `routes::ingest::ingest_files`: limits,
//! de-identification, sha256 reuse, prediction on arrival) on its own, so
//! one refused instance does not refuse the others. The reply is the PS3.18
//! response data set: ReferencedSOPSequence (the stored, de-identified
//! UIDs) and FailedSOPSequence (the UIDs the part named, when it could be
//! read, and a failure reason); 200 when all were stored, 202 when some
//! were, 409 when none was. The body is held in memory under the upload
//! limit (`CARINA_MAX_UPLOAD_MB`), as uploads are.

use super::json::{attr, text};
use super::multipart::{self, Part};
use super::{DICOM_JSON, require_json};
use crate::auth::CurrentUser;
use crate::error::{AppError, AppResult};
use crate::routes::ingest::ingest_files;
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use carina_store::Role;
use dicom_dictionary_std::tags;
use serde_json::{Map, Value, json};

/// PS3.18 / PS3.4 failure reasons.
const PROCESSING_FAILURE: u16 = 0x0110;
const OUT_OF_RESOURCES: u16 = 0xA700;
const SOP_CLASS_NOT_SUPPORTED: u16 = 0x0122;
const CANNOT_UNDERSTAND: u16 = 0xC000;

struct Failed {
    class_uid: Option<String>,
    instance_uid: Option<String>,
    reason: u16,
    message: String,
}

/// The whole body, refused early when its declared length is over the limit.
async fn body(state: &AppState, req: Request) -> AppResult<(Option<String>, bytes::Bytes)> {
    let limit = state.config.max_upload_bytes();
    let too_large = || {
        AppError::too_large(format!(
            "the STOW-RS body is larger than the limit of {} MiB (CARINA_MAX_UPLOAD_MB)",
            state.config.max_upload_mb
        ))
    };
    let headers = req.headers();
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let bytes = axum::body::to_bytes(req.into_body(), limit)
        .await
        .map_err(|_| too_large())?;
    Ok((content_type, bytes))
}

/// The UIDs a part names, read as far as its data set can be (a parse of the
/// part: on the blocking pool).
async fn named_uids(state: &AppState, bytes: &bytes::Bytes) -> (Option<String>, Option<String>) {
    let (bytes, limits) = (bytes.clone(), state.config.upload_limits());
    tokio::task::spawn_blocking(move || match carina_imaging::read_dicom(&bytes, &limits) {
        Ok(obj) => (
            crate::dicom_ids::text(&obj, tags::SOP_CLASS_UID),
            crate::dicom_ids::text(&obj, tags::SOP_INSTANCE_UID),
        ),
        Err(_) => (None, None),
    })
    .await
    .unwrap_or((None, None))
}

/// Ingests one part: the stored image's UIDs, or why not.
async fn store_part(
    state: &AppState,
    n: usize,
    part: Part,
    user: &str,
) -> Result<(Option<String>, Option<String>), Failed> {
    let failed = |reason, message: String, uids: (Option<String>, Option<String>)| Failed {
        class_uid: uids.0,
        instance_uid: uids.1,
        reason,
        message,
    };
    let media = part.header("content-type").map(|c| {
        c.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    });
    if media.as_deref().is_some_and(|m| m != "application/dicom") {
        let msg = format!("part {n}: Content-Type {media:?} is not application/dicom");
        return Err(failed(SOP_CLASS_NOT_SUPPORTED, msg, (None, None)));
    }
    if carina_imaging::sniff(&part.body) != Some(carina_imaging::Format::Dicom) {
        let msg = format!("part {n}: not a DICOM Part 10 file");
        return Err(failed(CANNOT_UNDERSTAND, msg, (None, None)));
    }
    let body = part.body;
    // An SR about a stored image is imported as boxes (as POST /images/{id}/sr); its own
    // UIDs are what the response references.
    if crate::sr_import::is_sr(&body) {
        return match crate::sr_import::import_sr(state, body.clone(), user, None, None).await {
            Ok(_) => Ok(named_uids(state, &body).await),
            Err(e) => {
                let uids = named_uids(state, &body).await;
                Err(failed(reason(&e), format!("part {n}: {}", e.message), uids))
            }
        };
    }
    match ingest_files(state, vec![(format!("stow-{n}.dcm"), body.clone())], user).await {
        Ok(ingested) => {
            let image = &ingested.images[0];
            let ids = state
                .store
                .db
                .image_dicom_ids(image.id)
                .await
                .ok()
                .flatten();
            let ids = ids.unwrap_or_default();
            Ok((ids.sop_class_uid, ids.sop_instance_uid))
        }
        Err(e) => {
            let uids = named_uids(state, &body).await;
            Err(failed(reason(&e), format!("part {n}: {}", e.message), uids))
        }
    }
}

/// The PS3.18 failure reason of an ingest's or an SR import's refusal.
fn reason(e: &AppError) -> u16 {
    match e.status {
        StatusCode::PAYLOAD_TOO_LARGE => OUT_OF_RESOURCES,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => SOP_CLASS_NOT_SUPPORTED,
        s if s.is_server_error() => PROCESSING_FAILURE,
        _ => CANNOT_UNDERSTAND,
    }
}

#[utoipa::path(
    post,
    path = "/dicom-web/studies",
    operation_id = "dicomweb_store",
    tag = "dicomweb",
    summary = "STOW-RS: store instances (multipart/related; type=\"application/dicom\"), each ingested as an upload",
    description = "Role: radiologist. 200 when every instance was stored, 202 when some were, 409 when none was (the body is then the PS3.18 response data set with FailedSOPSequence; a Warning header gives the first reason). A body that is not multipart/related or whose boundary framing is broken is a 400.",
    request_body(content = crate::openapi::bodies::Binary, content_type = "multipart/related"),
    responses(
        (status = 200, description = "All stored: the response data set", body = serde_json::Value, content_type = "application/dicom+json"),
        (status = 202, description = "Some stored: the response data set", body = serde_json::Value, content_type = "application/dicom+json"),
        (status = 400, response = crate::openapi::bodies::ApiError),
        (status = 401, response = crate::openapi::bodies::ApiError),
        (status = 403, response = crate::openapi::bodies::ApiError),
        (status = 406, response = crate::openapi::bodies::ApiError),
        (status = 409, description = "None stored: the response data set with FailedSOPSequence", body = serde_json::Value, content_type = "application/dicom+json"),
        (status = 413, response = crate::openapi::bodies::ApiError),
        (status = 415, response = crate::openapi::bodies::ApiError),
    ),
)]
pub async fn store(
    State(state): State<AppState>,
    user: CurrentUser,
    req: Request,
) -> AppResult<Response> {
    user.require(Role::Radiologist)?;
    require_json(req.headers())?;
    let (content_type, bytes) = body(&state, req).await?;
    let related =
        multipart::content_type(content_type.as_deref()).map_err(AppError::bad_request)?;
    if related
        .type_
        .as_deref()
        .is_some_and(|t| !t.eq_ignore_ascii_case("application/dicom"))
    {
        return Err(AppError::unsupported_media(format!(
            "this server stores type=\"application/dicom\" parts, not {:?}",
            related.type_.unwrap_or_default()
        )));
    }
    let parts = multipart::parse(&bytes, &related.boundary)?;
    if parts.is_empty() {
        return Err(AppError::bad_request("the multipart body has no parts"));
    }
    let mut stored = Vec::new();
    let mut failed = Vec::new();
    for (n, part) in parts.into_iter().enumerate() {
        match store_part(&state, n + 1, part, &user.user.username).await {
            Ok(uids) => stored.push(uids),
            Err(f) => failed.push(f),
        }
    }
    drop(bytes);
    let status = match (stored.is_empty(), failed.is_empty()) {
        (false, true) => StatusCode::OK,
        (false, false) => StatusCode::ACCEPTED,
        (true, _) => StatusCode::CONFLICT,
    };
    let warning = failed.first().map(|f| f.message.clone());
    let body = serde_json::to_vec(&response_dataset(stored, failed)).map_err(AppError::internal)?;
    let mut res = (status, [(header::CONTENT_TYPE, DICOM_JSON)], body).into_response();
    if let Some(w) = warning {
        // A Warning header (RFC 7234 299) may hold only visible ASCII text.
        let clean: String = w
            .chars()
            .map(|c| {
                if c.is_ascii_graphic() || c == ' ' {
                    c
                } else {
                    '?'
                }
            })
            .filter(|c| *c != '"' && *c != '\\')
            .take(300)
            .collect();
        if let Ok(v) = HeaderValue::from_str(&format!("299 carina \"{clean}\"")) {
            res.headers_mut().insert(header::WARNING, v);
        }
    }
    Ok(res)
}

fn response_dataset(stored: Vec<(Option<String>, Option<String>)>, failed: Vec<Failed>) -> Value {
    let referenced: Vec<Value> = stored
        .into_iter()
        .map(|(class, instance)| {
            let mut m = Map::new();
            m.insert("00081150".into(), text("UI", class.as_deref()));
            m.insert("00081155".into(), text("UI", instance.as_deref()));
            Value::Object(m)
        })
        .collect();
    let failures: Vec<Value> = failed
        .into_iter()
        .map(|f| {
            let mut m = Map::new();
            m.insert("00081150".into(), text("UI", f.class_uid.as_deref()));
            m.insert("00081155".into(), text("UI", f.instance_uid.as_deref()));
            m.insert("00081197".into(), attr("US", vec![json!(f.reason)]));
            Value::Object(m)
        })
        .collect();
    let mut out = Map::new();
    if !failures.is_empty() {
        out.insert("00081198".into(), attr("SQ", failures));
    }
    if !referenced.is_empty() {
        out.insert("00081199".into(), attr("SQ", referenced));
    }
    Value::Object(out)
}
