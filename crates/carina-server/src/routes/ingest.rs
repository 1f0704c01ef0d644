//! Upload and replace image files. Each file is hashed, decoded,
//! de-identified (or, for PNG/JPEG, wrapped as a DICOM Secondary Capture)
//! and thumbnailed on the blocking pool; only when every file of a request
//! has passed does anything get stored, so a bad file stores nothing.

use crate::auth::CurrentUser;
use crate::config::{BurnedInPolicy, FilenamePolicy};
use crate::decode_budget::Refusal;
use crate::error::{AppError, AppResult};
use crate::extract::{Json, Path, Query};
use crate::state::AppState;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use carina_imaging::{DeidConfig, Format, ImagingError};
use carina_store::{ImageMeta, NewImage, Role};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

const THUMBNAIL_SIDE: u32 = 256;

/// A checked upload, ready to store.
struct Prepared {
    new: NewImage,
    file: Bytes,
    thumbnail: Bytes,
}

/// The parts named `file` of a multipart body, refused early when the
/// declared length is over the limit.
async fn files(state: &AppState, req: Request) -> AppResult<Vec<(String, Bytes)>> {
    let limit = state.config.max_upload_bytes();
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large(state));
    }
    let mut multipart = Multipart::from_request(req, state).await.map_err(|e| {
        AppError::bad_request(format!(
            "expected a multipart/form-data body: {}",
            e.body_text()
        ))
    })?;
    let mut out = Vec::new();
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(multipart_error(state))?
    {
        if field.name() != Some("file") {
            continue;
        }
        let name = clean_filename(field.file_name().unwrap_or("upload"));
        let bytes = field.bytes().await.map_err(multipart_error(state))?;
        out.push((name, bytes));
    }
    if out.is_empty() {
        return Err(AppError::bad_request("no multipart part named \"file\""));
    }
    Ok(out)
}

fn too_large(state: &AppState) -> AppError {
    AppError::too_large(format!(
        "the upload is larger than the limit of {} MiB",
        state.config.max_upload_mb
    ))
}

fn multipart_error(
    state: &AppState,
) -> impl Fn(axum::extract::multipart::MultipartError) -> AppError + '_ {
    move |e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            too_large(state)
        } else {
            AppError::bad_request(format!("malformed multipart body: {}", e.body_text()))
        }
    }
}

/// The last path component, at most 255 characters: browsers may send paths.
fn clean_filename(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name).trim();
    let base = if base.is_empty() { "upload" } else { base };
    base.chars().filter(|c| !c.is_control()).take(255).collect()
}

/// The name stored for an upload under the configured policy: with
/// `extension` only a content-derived stem and the (short, alphanumeric)
/// extension survive, so a patient's name in the file name is not kept.
fn stored_filename(policy: FilenamePolicy, name: &str, sha256: &str) -> String {
    match policy {
        FilenamePolicy::Keep | FilenamePolicy::Auto => name.to_string(),
        FilenamePolicy::Extension => {
            let ext = name
                .rsplit_once('.')
                .map(|(_, e)| e.to_ascii_lowercase())
                .filter(|e| {
                    (1..=5).contains(&e.len()) && e.chars().all(|c| c.is_ascii_alphanumeric())
                });
            let stem = format!("image-{}", &sha256[..12]);
            match ext {
                Some(ext) => format!("{stem}.{ext}"),
                None => stem,
            }
        }
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    crate::auth::hex(&Sha256::digest(bytes))
}

fn imaging_error(name: &str, e: ImagingError) -> AppError {
    let msg = match limit_setting(&e) {
        Some(setting) => format!("{name}: {e}; the limit is set by {setting}"),
        None => format!("{name}: {e}"),
    };
    match e {
        ImagingError::FileTooLarge { .. } => AppError::too_large(msg),
        ImagingError::Empty | ImagingError::NotAnImage => AppError::unsupported_media(msg),
        ImagingError::UnsupportedTransferSyntax { .. } | ImagingError::Unsupported(_) => {
            AppError::unsupported_media(msg)
        }
        ImagingError::TooManyPixels { .. }
        | ImagingError::TooManySampleBytes { .. }
        | ImagingError::DicomTooDeep { .. }
        | ImagingError::DicomLengthOverrun { .. }
        | ImagingError::InflatedTooLarge { .. }
        | ImagingError::MalformedDicom(_)
        | ImagingError::NoPixelData
        | ImagingError::CorruptPixelData(_)
        | ImagingError::CorruptImage { .. } => AppError::unprocessable(msg),
        // The log must not see the file name, which can name the patient.
        other => AppError::internal(anyhow::anyhow!("upload: {other}")),
    }
}

/// The setting behind a limit an upload went over.
fn limit_setting(e: &ImagingError) -> Option<&'static str> {
    match e {
        ImagingError::FileTooLarge { .. } => Some("CARINA_MAX_UPLOAD_MB"),
        ImagingError::TooManyPixels { .. } | ImagingError::TooManySampleBytes { .. } => {
            Some("CARINA_MAX_PIXELS")
        }
        ImagingError::DicomTooDeep { .. } => Some("CARINA_MAX_DICOM_DEPTH"),
        ImagingError::InflatedTooLarge { .. } => Some("CARINA_MAX_INFLATED_MB"),
        _ => None,
    }
}

fn refusal_error(name: &str, r: Refusal) -> AppError {
    match r {
        Refusal::Image(e) => imaging_error(name, e),
        over @ Refusal::OverBudget { .. } => AppError::unprocessable(format!("{name}: {over}")),
    }
}

/// Decode, de-identify and thumbnail one upload (CPU work: call on the blocking pool).
fn prepare(state: &AppState, name: String, bytes: Bytes, user: &str) -> AppResult<Prepared> {
    let sha256 = sha256_hex(&bytes);
    let limits = state.config.upload_limits();
    let decoded = carina_imaging::decode(&bytes, &limits).map_err(|e| imaging_error(&name, e))?;
    let burned_in = decoded.meta.burned_in_annotation;
    if burned_in.is_some_and(|b| b.flagged()) && state.config.burned_in == BurnedInPolicy::Refuse {
        return Err(AppError::unprocessable(format!(
            "{name}: the image may show burned-in text (Burned In Annotation {}) and \
             CARINA_BURNED_IN=refuse",
            burned_in.map_or("", |b| b.as_str())
        )));
    }
    let served: Bytes = match decoded.format {
        Format::Dicom if state.config.deidentify => {
            let cfg = DeidConfig::new(state.deid_secret.as_slice()).with_limits(limits);
            carina_imaging::deidentify_dicom(&bytes, &cfg)
                .map_err(|e| imaging_error(&name, e))?
                .bytes
                .into()
        }
        // De-identification configured off: the upload is served as it came.
        Format::Dicom => bytes.clone(),
        // PNG/JPEG carry no DICOM attributes; the viewer gets a Secondary Capture.
        Format::Png | Format::Jpeg => {
            carina_imaging::to_secondary_capture(&decoded.image, &decoded.meta)
                .map_err(|e| imaging_error(&name, e))?
                .into()
        }
    };
    let (format, photometric) = (decoded.format, decoded.meta.photometric.clone());
    drop(decoded); // before the second decode: the budget counts one at a time
    // What is stored and shown comes from the served file, never the upload.
    let shown = carina_imaging::decode(&served, &state.config.stored_limits())
        .map_err(|e| imaging_error(&name, e))?;
    let thumb = carina_imaging::thumbnail(&shown.image, shown.meta.window, THUMBNAIL_SIDE)
        .map_err(|e| imaging_error(&name, e))?;
    let m = &shown.meta;
    let original_filename = stored_filename(state.config.filename_policy(), &name, &sha256);
    let dicom = crate::dicom_ids::read(&served, &state.config.stored_limits());
    Ok(Prepared {
        new: NewImage {
            sha256,
            meta: ImageMeta {
                format: format.as_str().to_string(),
                width: shown.image.width,
                height: shown.image.height,
                bits_stored: u32::from(m.bits_stored),
                photometric,
                window_center: Some(m.window.center),
                window_width: Some(m.window.width),
                pixel_spacing: m.pixel_spacing,
                modality: m.modality.clone(),
                study_pseudonym: m.study_pseudonym.clone(),
                patient_pseudonym: m.patient_pseudonym.clone(),
                burned_in_annotation: burned_in.map(|b| b.as_str().to_string()),
                view_position: m.view_position.clone(),
            },
            original_filename,
            created_by: user.to_string(),
            dicom,
        },
        file: served,
        thumbnail: thumb.into(),
    })
}

async fn prepare_blocking(
    state: &AppState,
    name: String,
    bytes: Bytes,
    user: &str,
) -> AppResult<Prepared> {
    // Headers and structure first, then room in the decode budget: the
    // upload and its served copy are decoded one after the other, but the
    // first decode's output is alive while the copy is made, so twice the
    // cost is held (never more than the whole budget).
    let admission = state
        .decode_budget
        .admit(bytes.clone(), state.config.upload_limits(), 2)
        .await
        .map_err(|r| refusal_error(&name, r))?;
    let state = state.clone();
    let user = user.to_string();
    tokio::task::spawn_blocking(move || {
        let _admission = admission;
        prepare(&state, name, bytes, &user)
    })
    .await
    .map_err(AppError::internal)?
}

#[tracing::instrument(skip_all, fields(user = %user.user.username))]
#[utoipa::path(
    post,
    path = "/api/v1/images",
    operation_id = "ingest_upload",
    tag = "images",
    summary = "Upload one or more files (DICOM, PNG, JPEG); identical content is stored once (200 with the existing image)",
    description = "Role: radiologist.",
    request_body(content = crate::openapi::bodies::FileUpload, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "Stored: the image (one file) or {images: [...]}", body = UploadResult),
        (status = 200, description = "Every file was stored before: those images", body = UploadResult),
        (status = 400, response = crate::openapi::bodies::ApiError),
        (status = 401, response = crate::openapi::bodies::ApiError),
        (status = 403, response = crate::openapi::bodies::ApiError),
        (status = 413, response = crate::openapi::bodies::ApiError),
        (status = 415, response = crate::openapi::bodies::ApiError),
        (status = 422, response = crate::openapi::bodies::ApiError),
    ),
)]
pub async fn upload(
    State(state): State<AppState>,
    user: CurrentUser,
    req: Request,
) -> AppResult<Response> {
    user.require(Role::Radiologist)?;
    let files = files(&state, req).await?;
    let several = files.len() > 1;
    let Ingested {
        mut images,
        created_ids,
    } = ingest_files(&state, files, &user.user.username).await?;
    let status = if created_ids.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    // An identical earlier upload answers with that image: as in the library,
    // without others' work on an image the caller reads blind.
    crate::blind::with_threshold_counts(&state, &user, &mut images).await?;
    let blindness = crate::blind::Blindness::of(&state, &user).await?;
    let mut images: Vec<serde_json::Value> = images
        .iter()
        .map(|i| crate::blind::image_json(i, &blindness))
        .collect();
    let result = if several {
        UploadResult::Several { images }
    } else {
        UploadResult::One(ImageObject(images.remove(0)))
    };
    Ok((status, Json(result)).into_response())
}

/// What [`ingest_files`] stored or found.
pub struct Ingested {
    /// One per file, in order: the new image, or the stored one with the same content.
    pub images: Vec<carina_store::Image>,
    /// The ids of the images this call created.
    pub created_ids: Vec<i64>,
}

/// The ingest every route into the library shares (upload; the DICOM node,
/// STOW-RS and bulk ingest call it too): each file is checked (limits,
/// decode, burned-in policy, de-identification, thumbnail) before any is
/// stored, identical content (sha256) is reused, and new images get a
/// prediction when `CARINA_PREDICT_ON_UPLOAD` is on. `user` is recorded as
/// the images' creator. The first file refused refuses them all.
pub async fn ingest_files(
    state: &AppState,
    files: Vec<(String, Bytes)>,
    user: &str,
) -> AppResult<Ingested> {
    // Check every file before storing any.
    let mut ready = Vec::with_capacity(files.len());
    for (name, bytes) in files {
        if let Some(existing) = state.store.db.image_by_sha256(&sha256_hex(&bytes)).await? {
            ready.push(Err(existing));
            continue;
        }
        ready.push(Ok(prepare_blocking(state, name, bytes, user).await?));
    }
    let mut images = Vec::with_capacity(ready.len());
    let mut created_ids = Vec::new();
    for r in ready {
        match r {
            Err(existing) => images.push(existing),
            Ok(p) => {
                let (image, created) = state.store.add_image(&p.new, p.file, p.thumbnail).await?;
                if created {
                    tracing::info!(image_id = image.id, format = %image.meta.format, "image stored");
                    created_ids.push(image.id);
                }
                images.push(image);
            }
        }
    }
    if !created_ids.is_empty() && state.config.predict_on_upload {
        queue_predictions(state, &mut images, &created_ids, user).await;
    }
    Ok(Ingested {
        images,
        created_ids,
    })
}

/// An image object as `blind::image_json` makes it.
#[derive(Serialize, ToSchema)]
#[serde(transparent)]
#[schema(value_type = crate::openapi::schemas::ImageSchema)]
pub struct ImageObject(serde_json::Value);

/// `POST /images`: the image of a one-file upload, else `{images: [...]}`.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum UploadResult {
    One(ImageObject),
    Several {
        #[schema(value_type = Vec<crate::openapi::schemas::ImageSchema>)]
        images: Vec<serde_json::Value>,
    },
}

/// Queues a predict job with the deployed model for each new image and
/// refreshes those images (they now show the job). A failure to queue is
/// logged, not an upload error: the image is stored and can be predicted later.
async fn queue_predictions(
    state: &AppState,
    images: &mut [carina_store::Image],
    ids: &[i64],
    user: &str,
) {
    let model = match state.store.db.deployed_model().await {
        Ok(Some(m)) => m,
        Ok(None) => return,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the deployed model");
            return;
        }
    };
    for image in images.iter_mut().filter(|i| ids.contains(&i.id)) {
        if let Err(e) = crate::worker::enqueue_predict(state, image.id, &model, user).await {
            tracing::warn!(image_id = image.id, error = %e, "cannot queue a prediction");
            continue;
        }
        if let Ok(Some(fresh)) = state.store.db.image(image.id).await {
            *image = fresh;
        }
    }
}

#[derive(Deserialize)]
pub struct ReplaceParams {
    #[serde(default)]
    force: bool,
}

#[tracing::instrument(skip_all, fields(image_id = id, user = %user.user.username))]
#[utoipa::path(
    put,
    path = "/api/v1/images/{id}/file",
    operation_id = "ingest_replace",
    tag = "images",
    summary = "Replace the image's file; 409 if boxes fall outside the new size unless force=true (they are clipped)",
    description = "Role: radiologist. A blind reader of the image (assigned, not submitted) gets 403 blind_reading.",
    params(
        ("id" = i64, Path),
        ("force" = Option<bool>, Query),
    ),
    request_body(content = crate::openapi::bodies::FileUpload, content_type = "multipart/form-data"),
    responses(
        (status = 200, description = "OK", body = crate::openapi::schemas::ImageSchema),
        (status = 400, response = crate::openapi::bodies::ApiError),
        (status = 401, response = crate::openapi::bodies::ApiError),
        (status = 403, response = crate::openapi::bodies::ApiError),
        (status = 404, response = crate::openapi::bodies::ApiError),
        (status = 409, response = crate::openapi::bodies::ApiError),
        (status = 413, response = crate::openapi::bodies::ApiError),
        (status = 415, response = crate::openapi::bodies::ApiError),
        (status = 422, response = crate::openapi::bodies::ApiError),
    ),
)]
pub async fn replace(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Query(params): Query<ReplaceParams>,
    req: Request,
) -> AppResult<Response> {
    user.require(Role::Radiologist)?;
    state.image(id).await?;
    // New pixels drop the old ones' proposals: others' work a blind reader may not touch.
    crate::blind::guard(&state, &user, id).await?;
    let mut files = files(&state, req).await?;
    if files.len() != 1 {
        return Err(AppError::bad_request(
            "send exactly one part named \"file\"",
        ));
    }
    let (name, bytes) = files.remove(0);
    let p = prepare_blocking(&state, name, bytes, &user.user.username).await?;
    let image = state
        .store
        .replace_image(id, &p.new, p.file, p.thumbnail, params.force)
        .await?;
    state.render_cache.forget(id);
    let mut images = vec![image];
    if state.config.predict_on_upload {
        // The old file's proposals are gone: the new one gets its own.
        queue_predictions(&state, &mut images, &[id], &user.user.username).await;
    }
    Ok(Json(images.remove(0)).into_response())
}
