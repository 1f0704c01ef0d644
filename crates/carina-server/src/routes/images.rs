//! The image library: list, show, serve the file, render, thumbnails,
//! status, delete. Uploads and file replacement live in `ingest`.

use crate::auth::CurrentUser;
use crate::blind::{self, Blindness, image_json};
use crate::error::{AppError, AppResult};
use crate::extract::{Json, Path, Query};
use crate::render_cache;
use crate::routes::ingest;
use crate::state::AppState;
use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use carina_imaging::Window;
use carina_store::{ImageQuery, ImageStatus, Role};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Arc;
use utoipa::ToSchema;

pub fn routes(max_upload_bytes: usize) -> Router<AppState> {
    Router::new()
        .route(
            "/images",
            get(list)
                .post(ingest::upload)
                .layer(DefaultBodyLimit::max(max_upload_bytes)),
        )
        .route("/images/{id}", get(show).patch(update).delete(remove))
        .route(
            "/images/{id}/file",
            get(file)
                .put(ingest::replace)
                .layer(DefaultBodyLimit::max(max_upload_bytes)),
        )
        .route("/images/{id}/render", get(render))
        .route("/images/{id}/thumbnail", get(thumbnail))
}

#[derive(Deserialize)]
struct ListParams {
    q: Option<String>,
    status: Option<String>,
    study: Option<String>,
    assigned: Option<String>,
    page: Option<u32>,
    per_page: Option<u32>,
}

#[utoipa::path(
    get,
    path = "/api/v1/images",
    operation_id = "images_list",
    tag = "images",
    summary = "List images",
    description = "Role: viewer. Images a caller reads blind stay listed with blind: true and the fields that tell of others' work (status, box_count, reviewed_box_count, proposal_count, proposals_above_threshold, no_finding, annotation_version, prediction_job_id, prediction_status, updated_at, updated_by) null. A status filter never lists them; counts put them under blind.",
    params(
        ("q" = Option<String>, Query, description = "substring of the original filename, a pseudonym or the display label"),
        ("status" = Option<crate::openapi::schemas::ImageStatusSchema>, Query),
        ("study" = Option<String>, Query, description = "exactly this study pseudonym"),
        ("assigned" = Option<String>, Query, description = "only images the caller is an assigned blind reader of"),
        ("page" = Option<u32>, Query, minimum = 1, description = "default 1"),
        ("per_page" = Option<u32>, Query, minimum = 1, maximum = 500, description = "default 50"),
    ),
    responses(
        (status = 200, description = "OK", body = ImageList),
        (status = 400, response = crate::openapi::bodies::ApiError),
        (status = 401, response = crate::openapi::bodies::ApiError),
    ),
)]
async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(p): Query<ListParams>,
) -> AppResult<Json<ImageList>> {
    let status = match p.status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(
            ImageStatus::parse(s)
                .ok_or_else(|| AppError::bad_request("status must be new, in_review or done"))?,
        ),
    };
    let page = p.page.unwrap_or(1).max(1);
    let per_page = p.per_page.unwrap_or(50).clamp(1, 500);
    let assigned_reader = match p.assigned.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some("me") => Some(user.user.username.clone()),
        Some(_) => return Err(AppError::bad_request("assigned must be me")),
    };
    let query = ImageQuery {
        q: p.q,
        status,
        study: p.study.filter(|s| !s.is_empty()),
        assigned_reader,
        viewer: Some(user.user.username.clone()),
        page,
        per_page,
    };
    let (mut images, total, by_status) = state.store.db.list_images_counted(&query, true).await?;
    blind::with_threshold_counts(&state, &user, &mut images).await?;
    // A blind reader's images stay listed (the pixels are theirs to read)
    // with the fields that tell of others' work nulled.
    let blindness = Blindness::of(&state, &user).await?;
    let images = images.iter().map(|i| image_json(i, &blindness)).collect();
    let mut counts = StatusCounts::default();
    for (status, n) in by_status {
        match status.as_str() {
            "new" => counts.new = n,
            "in_review" => counts.in_review = n,
            "done" => counts.done = n,
            "blind" => counts.blind = n,
            other => tracing::warn!(status = other, "an image status the counts do not know"),
        }
    }
    Ok(Json(ImageList {
        images,
        total,
        page,
        per_page,
        counts,
    }))
}

/// `GET /images`: one page of the library.
#[derive(Serialize, ToSchema)]
pub struct ImageList {
    /// Image objects (`blind::image_json`)
    #[schema(value_type = Vec<crate::openapi::schemas::ImageSchema>)]
    images: Vec<Value>,
    total: i64,
    page: u32,
    per_page: u32,
    counts: StatusCounts,
}

/// Images of each status matching the same filter without status (worklist
/// progress).
#[derive(Serialize, ToSchema, Default)]
pub struct StatusCounts {
    new: i64,
    in_review: i64,
    done: i64,
    /// images the caller reads blind, whatever their status
    blind: i64,
}

#[utoipa::path(
    get,
    path = "/api/v1/images/{id}",
    operation_id = "images_show",
    tag = "images",
    summary = "One image's (de-identified) metadata",
    description = "Role: viewer. For a blind reader of the image: blind: true and the fields that tell of others' work null.",
    params(
        ("id" = i64, Path),
    ),
    responses(
        (status = 200, description = "OK", body = crate::openapi::schemas::ImageSchema),
        (status = 401, response = crate::openapi::bodies::ApiError),
        (status = 404, response = crate::openapi::bodies::ApiError),
    ),
)]
async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Json<serde_json::Value>> {
    let mut img = state.image(id).await?;
    blind::with_threshold_counts(&state, &user, std::slice::from_mut(&mut img)).await?;
    let blindness = Blindness::of(&state, &user).await?;
    Ok(Json(image_json(&img, &blindness)))
}

/// What to change; at least one field.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImagePatch {
    #[schema(value_type = Option<crate::openapi::schemas::ImageStatusSchema>)]
    status: Option<String>,
    /// Present (a string or null) to set or clear the label; absent to keep it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    display_label: Option<Option<String>>,
}

/// `Some(value)` whenever the field is present, null included.
fn present<'de, D>(d: D) -> Result<Option<Option<String>>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    Option::<String>::deserialize(d).map(Some)
}

/// The longest display label, in characters.
const MAX_DISPLAY_LABEL: usize = 80;

#[utoipa::path(
    patch,
    path = "/api/v1/images/{id}",
    operation_id = "images_update",
    tag = "images",
    summary = "Set the review status and/or the display label",
    description = "Role: radiologist for status (a blind reader of the image, assigned and not submitted, gets 403 blind_reading); admin for display_label (null or empty clears it; at most 80 characters, no control characters).",
    params(
        ("id" = i64, Path),
    ),
    request_body = ImagePatch,
    responses(
        (status = 200, description = "OK", body = crate::openapi::schemas::ImageSchema),
        (status = 401, response = crate::openapi::bodies::ApiError),
        (status = 403, response = crate::openapi::bodies::ApiError),
        (status = 404, response = crate::openapi::bodies::ApiError),
        (status = 422, response = crate::openapi::bodies::ApiError),
    ),
)]
async fn update(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Json(body): Json<ImagePatch>,
) -> AppResult<Json<serde_json::Value>> {
    user.require(Role::Radiologist)?;
    if body.status.is_none() && body.display_label.is_none() {
        return Err(AppError::unprocessable(
            "nothing to change: send status and/or display_label",
        ));
    }
    let status = match body.status.as_deref() {
        None => None,
        Some(s) => Some(
            ImageStatus::parse(s)
                .ok_or_else(|| AppError::unprocessable("status must be new, in_review or done"))?,
        ),
    };
    let label = match &body.display_label {
        None => None,
        Some(label) => {
            user.require(Role::Admin)?;
            let label = label.as_deref().map(str::trim).filter(|l| !l.is_empty());
            if let Some(l) = label {
                if l.chars().count() > MAX_DISPLAY_LABEL {
                    return Err(AppError::unprocessable(format!(
                        "display_label may have at most {MAX_DISPLAY_LABEL} characters"
                    )));
                }
                if l.chars().any(char::is_control) {
                    return Err(AppError::unprocessable(
                        "display_label may not contain control characters",
                    ));
                }
            }
            Some(label.map(str::to_string))
        }
    };
    state.image(id).await?;
    if let Some(status) = status {
        // The review status belongs to the annotations' workflow.
        blind::guard(&state, &user, id).await?;
        state
            .store
            .db
            .set_image_status(id, status, &user.user.username)
            .await?;
    }
    if let Some(label) = label {
        state
            .store
            .db
            .set_display_label(id, label.as_deref(), &user.user.username)
            .await
            .map_err(|e| match e {
                carina_store::StoreError::NotFound => AppError::not_found("image"),
                other => other.into(),
            })?;
    }
    let mut img = state.image(id).await?;
    blind::with_threshold_counts(&state, &user, std::slice::from_mut(&mut img)).await?;
    let blindness = Blindness::of(&state, &user).await?;
    Ok(Json(image_json(&img, &blindness)))
}

#[utoipa::path(
    delete,
    path = "/api/v1/images/{id}",
    operation_id = "images_remove",
    tag = "images",
    summary = "Delete an image, its file and boxes (history is kept)",
    description = "Role: admin.",
    params(
        ("id" = i64, Path),
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, response = crate::openapi::bodies::ApiError),
        (status = 403, response = crate::openapi::bodies::ApiError),
        (status = 404, response = crate::openapi::bodies::ApiError),
    ),
)]
async fn remove(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<StatusCode> {
    user.require(Role::Admin)?;
    state.store.delete_image(id).await.map_err(|e| match e {
        carina_store::StoreError::NotFound => AppError::not_found("image"),
        other => other.into(),
    })?;
    state.render_cache.forget(id);
    tracing::info!(image_id = id, "image deleted");
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get,
    path = "/api/v1/images/{id}/file",
    operation_id = "images_file",
    tag = "images",
    summary = "The image as DICOM (de-identified; PNG/JPEG as Secondary Capture)",
    description = "Role: viewer.",
    params(
        ("id" = i64, Path),
    ),
    responses(
        (status = 200, description = "OK", body = crate::openapi::bodies::Binary, content_type = "application/dicom"),
        (status = 401, response = crate::openapi::bodies::ApiError),
        (status = 404, response = crate::openapi::bodies::ApiError),
    ),
)]
async fn file(
    State(state): State<AppState>,
    _user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let image = state.image(id).await?;
    let bytes = state.store.image_file(&image).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/dicom"),
            (header::CACHE_CONTROL, "private, no-cache"),
        ],
        bytes,
    )
        .into_response())
}

#[utoipa::path(
    get,
    path = "/api/v1/images/{id}/thumbnail",
    operation_id = "images_thumbnail",
    tag = "images",
    summary = "Thumbnail PNG (at most 256 px)",
    description = "Role: viewer.",
    params(
        ("id" = i64, Path),
    ),
    responses(
        (status = 200, description = "OK", body = crate::openapi::bodies::Binary, content_type = "image/png"),
        (status = 401, response = crate::openapi::bodies::ApiError),
        (status = 404, response = crate::openapi::bodies::ApiError),
    ),
)]
async fn thumbnail(
    State(state): State<AppState>,
    _user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let image = state.image(id).await?;
    let bytes = state.store.thumbnail(&image).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/png"),
            (header::CACHE_CONTROL, "private, max-age=60"),
        ],
        bytes,
    )
        .into_response())
}

#[derive(Deserialize)]
struct RenderParams {
    window: Option<f64>,
    level: Option<f64>,
    #[serde(default)]
    invert: bool,
}

/// An 8-bit PNG of the stored pixels (decoded images are cached, see `render_cache`). `window`/`level` are in the image's
/// display values (the space of `window_center`/`window_width`).
#[utoipa::path(
    get,
    path = "/api/v1/images/{id}/render",
    operation_id = "images_render",
    tag = "images",
    summary = "8-bit PNG rendering with a window",
    description = "Role: viewer.",
    params(
        ("id" = i64, Path),
        ("window" = Option<f64>, Query, description = "window width in display values (default: the file's)"),
        ("level" = Option<f64>, Query, description = "window centre (default: the file's)"),
        ("invert" = Option<bool>, Query),
    ),
    responses(
        (status = 200, description = "OK", body = crate::openapi::bodies::Binary, content_type = "image/png"),
        (status = 400, response = crate::openapi::bodies::ApiError),
        (status = 401, response = crate::openapi::bodies::ApiError),
        (status = 404, response = crate::openapi::bodies::ApiError),
    ),
)]
async fn render(
    State(state): State<AppState>,
    _user: CurrentUser,
    Path(id): Path<i64>,
    Query(p): Query<RenderParams>,
) -> AppResult<Response> {
    let image = state.image(id).await?;
    let default_width = image.meta.window_width.unwrap_or(65536.0);
    let default_center = image.meta.window_center.unwrap_or(32768.0);
    let window = Window {
        center: p.level.unwrap_or(default_center),
        width: p.window.unwrap_or(default_width),
    };
    if !window.center.is_finite() || !window.width.is_finite() || window.width <= 0.0 {
        return Err(AppError::bad_request(
            "window must be a positive number and level finite",
        ));
    }
    let key = render_cache::Key {
        image_id: image.id,
        object_key: image.object_key.clone(),
    };
    let pixels = match state.render_cache.get(&key) {
        Some(img) => img,
        None => {
            let bytes = state.store.image_file(&image).await?;
            let img = Arc::new(
                state
                    .decode_budget
                    .decode_stored(bytes, state.config.stored_limits())
                    .await?
                    .image,
            );
            state.render_cache.insert(key, img.clone());
            img
        }
    };
    let png =
        tokio::task::spawn_blocking(move || carina_imaging::render_png(&pixels, window, p.invert))
            .await
            .map_err(AppError::internal)?
            .map_err(AppError::internal)?;
    Ok(([(header::CONTENT_TYPE, "image/png")], png).into_response())
}
