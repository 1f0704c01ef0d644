//! An image's boxes: read with an ETag, save with `If-Match` (optimistic
//! concurrency: the store compares and swaps the version inside its
//! transaction), and the append-only history.

use crate::auth::CurrentUser;
use crate::blind;
use crate::error::{AppError, AppResult};
use crate::extract::{Json, Path};
use crate::state::AppState;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use carina_core::{BBox, BoxStatus};
use carina_store::{AnnotationEdit, AnnotationState, BoxEdit, HistoryEntry, Role};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/images/{id}/annotations", get(read).put(save))
        .route("/images/{id}/history", get(history))
}

fn with_etag(state: AnnotationState) -> Response {
    let etag = HeaderValue::from_str(&format!("\"{}\"", state.version))
        .expect("digits are a valid header");
    ([(header::ETAG, etag)], Json(state)).into_response()
}

#[utoipa::path(
    get,
    path = "/api/v1/images/{id}/annotations",
    operation_id = "annotations_read",
    tag = "annotations",
    summary = "Current boxes; the ETag is the version",
    description = "Role: viewer. A blind reader of the image (assigned, not submitted) gets 403 blind_reading.",
    params(
        ("id" = i64, Path),
    ),
    responses(
        (status = 200, description = "OK", body = crate::openapi::schemas::AnnotationsSchema),
        (status = 401, response = crate::openapi::bodies::ApiError),
        (status = 403, response = crate::openapi::bodies::ApiError),
        (status = 404, response = crate::openapi::bodies::ApiError),
    ),
)]
async fn read(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    blind::guard(&state, &user, id).await?;
    let annotations = state.store.db.annotations(id).await.map_err(not_found)?;
    Ok(with_etag(annotations))
}

fn not_found(e: carina_store::StoreError) -> AppError {
    match e {
        carina_store::StoreError::NotFound => AppError::not_found("image"),
        other => other.into(),
    }
}

/// The boxes to save: the whole new state of the image's boxes.
#[derive(Deserialize, ToSchema)]
#[schema(as = AnnotationsSave)]
pub struct SaveBody {
    #[serde(default)]
    no_finding: bool,
    boxes: Vec<BoxBody>,
}

/// A box as the client sends it; other fields it echoes back from a GET
/// (source, score, timestamps) are ignored: the server owns them.
#[derive(Deserialize, ToSchema)]
#[schema(as = BoxSave)]
pub struct BoxBody {
    /// omit for a new manual box
    id: Option<i64>,
    class_id: u32,
    /// `[x_min, y_min, x_max, y_max]` in original pixels
    #[schema(value_type = crate::openapi::schemas_review::BBoxSchema)]
    bbox: BBox,
    #[serde(default = "manual")]
    #[schema(value_type = crate::openapi::schemas::BoxStatusSchema)]
    status: BoxStatus,
}

fn manual() -> BoxStatus {
    BoxStatus::Manual
}

/// Refuses a save of more than `CARINA_MAX_BOXES` boxes (annotations and
/// blind readings alike).
pub fn check_box_count(state: &AppState, n: usize) -> AppResult<()> {
    let max = state.config.max_boxes;
    if n > max {
        return Err(AppError::unprocessable(format!(
            "a save carries at most {max} boxes (CARINA_MAX_BOXES); this one has {n}"
        )));
    }
    Ok(())
}

fn expected_version(headers: &HeaderMap) -> AppResult<i64> {
    crate::extract::if_match_version(
        headers,
        "send If-Match with the version you loaded (the ETag of GET .../annotations)",
        "If-Match does not name a version of these annotations; reload them",
    )
}

#[tracing::instrument(skip_all, fields(image_id = id, user = %user.user.username))]
#[utoipa::path(
    put,
    path = "/api/v1/images/{id}/annotations",
    operation_id = "annotations_save",
    tag = "annotations",
    summary = "Save the boxes if If-Match is still the current version",
    description = "Role: radiologist. A blind reader of the image (assigned, not submitted) gets 403 blind_reading. At most CARINA_MAX_BOXES boxes (default 500), else 422.",
    params(
        ("id" = i64, Path),
        ("If-Match" = String, Header),
    ),
    request_body = SaveBody,
    responses(
        (status = 200, description = "Saved", body = crate::openapi::schemas::AnnotationsSchema),
        (status = 400, response = crate::openapi::bodies::ApiError),
        (status = 401, response = crate::openapi::bodies::ApiError),
        (status = 403, response = crate::openapi::bodies::ApiError),
        (status = 404, response = crate::openapi::bodies::ApiError),
        (status = 409, response = crate::openapi::bodies::ApiError),
        (status = 412, response = crate::openapi::bodies::ApiError),
        (status = 422, response = crate::openapi::bodies::ApiError),
        (status = 428, response = crate::openapi::bodies::ApiError),
    ),
)]
async fn save(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    headers: HeaderMap,
    Json(body): Json<SaveBody>,
) -> AppResult<Response> {
    user.require(Role::Radiologist)?;
    let image = blind::guard(&state, &user, id).await?;
    let expected = expected_version(&headers)?;
    check_box_count(&state, body.boxes.len())?;
    let labels = state.store.db.labels().await?;
    let current = state.store.db.annotations(id).await.map_err(not_found)?;
    let mut boxes = Vec::with_capacity(body.boxes.len());
    for (i, b) in body.boxes.iter().enumerate() {
        let n = i + 1;
        let label = labels.get(b.class_id).ok_or_else(|| {
            AppError::unprocessable(format!("box {n}: unknown label {}", b.class_id))
        })?;
        if label.retired {
            // A box that already had this label may keep it; nothing new may use it.
            let kept =
                b.id.and_then(|bid| current.boxes.iter().find(|c| c.id == bid))
                    .is_some_and(|c| c.class_id == b.class_id);
            if !kept {
                return Err(AppError::unprocessable(format!(
                    "box {n}: label {:?} is retired",
                    label.name
                )));
            }
        }
        b.bbox
            .check_within(image.meta.width, image.meta.height)
            .map_err(|e| AppError::unprocessable(format!("box {n}: {e}")))?;
        boxes.push(BoxEdit {
            id: b.id,
            class_id: b.class_id,
            bbox: b.bbox,
            status: b.status,
        });
    }
    let edit = AnnotationEdit {
        no_finding: body.no_finding,
        boxes,
    };
    let saved = state
        .store
        .db
        .save_annotations(id, expected, &edit, &user.user.username)
        .await
        .map_err(not_found)?;
    tracing::info!(
        version = saved.version,
        boxes = saved.boxes.len(),
        "annotations saved"
    );
    Ok(with_etag(saved))
}

#[utoipa::path(
    get,
    path = "/api/v1/images/{id}/history",
    operation_id = "annotations_history",
    tag = "annotations",
    summary = "Append-only history of the annotations",
    description = "Role: viewer. A blind reader of the image (assigned, not submitted) gets 403 blind_reading.",
    params(
        ("id" = i64, Path),
    ),
    responses(
        (status = 200, description = "OK", body = History),
        (status = 401, response = crate::openapi::bodies::ApiError),
        (status = 403, response = crate::openapi::bodies::ApiError),
        (status = 404, response = crate::openapi::bodies::ApiError),
    ),
)]
async fn history(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Json<History>> {
    blind::guard(&state, &user, id).await?;
    let entries = state.store.db.history(id).await?;
    Ok(Json(History { entries }))
}

/// `GET /images/{id}/history`: every save, oldest first.
#[derive(Serialize, ToSchema)]
pub struct History {
    #[schema(value_type = Vec<crate::openapi::schemas::HistoryEntrySchema>)]
    entries: Vec<HistoryEntry>,
}
