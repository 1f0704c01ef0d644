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
use carina_store::{Image, ImageQuery, ImageStatus, Role};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;

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

pub(crate) async fn load(state: &AppState, id: i64) -> AppResult<Image> {
    state
        .store
        .db
        .image(id)
        .await?
        .ok_or_else(|| AppError::not_found("image"))
}

#[derive(Deserialize)]
struct ListParams {
    q: Option<String>,
    status: Option<String>,
    page: Option<u32>,
    per_page: Option<u32>,
}

async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(p): Query<ListParams>,
) -> AppResult<impl IntoResponse> {
    let status = match p.status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(
            ImageStatus::parse(s)
                .ok_or_else(|| AppError::bad_request("status must be new, in_review or done"))?,
        ),
    };
    let page = p.page.unwrap_or(1).max(1);
    let per_page = p.per_page.unwrap_or(50).clamp(1, 500);
    let query = ImageQuery {
        q: p.q,
        status,
        page,
        per_page,
    };
    let (images, total) = state.store.db.list_images(&query).await?;
    // A blind reader's images stay listed (the pixels are theirs to read)
    // with the fields that tell of others' work nulled.
    let blindness = Blindness::of(&state, &user).await?;
    let images: Vec<_> = images.iter().map(|i| image_json(i, &blindness)).collect();
    Ok(Json(
        json!({"images": images, "total": total, "page": page, "per_page": per_page}),
    ))
}

async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Json<serde_json::Value>> {
    let img = load(&state, id).await?;
    let blindness = Blindness::of(&state, &user).await?;
    Ok(Json(image_json(&img, &blindness)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ImagePatch {
    status: String,
}

async fn update(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Json(body): Json<ImagePatch>,
) -> AppResult<Json<Image>> {
    user.require(Role::Radiologist)?;
    let status = ImageStatus::parse(&body.status)
        .ok_or_else(|| AppError::unprocessable("status must be new, in_review or done"))?;
    // The review status belongs to the annotations' workflow.
    blind::guard(&state, &user, id).await?;
    Ok(Json(
        state
            .store
            .db
            .set_image_status(id, status, &user.user.username)
            .await?,
    ))
}

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

async fn file(
    State(state): State<AppState>,
    _user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let image = load(&state, id).await?;
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

async fn thumbnail(
    State(state): State<AppState>,
    _user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    let image = load(&state, id).await?;
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
async fn render(
    State(state): State<AppState>,
    _user: CurrentUser,
    Path(id): Path<i64>,
    Query(p): Query<RenderParams>,
) -> AppResult<Response> {
    let image = load(&state, id).await?;
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
                crate::decode_budget::decode_stored(&state, bytes)
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
