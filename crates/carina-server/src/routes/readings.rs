//! Blind reading by several radiologists: an admin assigns an image to
//! readers and a reviewer; each reader keeps their own boxes apart from the
//! image's annotations and cannot see anyone else's (nor the annotations)
//! until they submit; the reviewer sees every reading side by side and fuses
//! them with Weighted Boxes Fusion into the annotations.

use crate::auth::CurrentUser;
use crate::blind::{self, Blindness};
use crate::error::{AppError, AppResult};
use crate::extract::{Json, Path};
use crate::routes::reading_types::{
    AssignBody, AssignmentDetail, AssignmentSummary, ConsensusBody, ConsensusResult, FusedBox,
    FusionParams, MyAssignments, MyReading, ReadingBody,
};
use crate::state::AppState;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use carina_eval::wbf::{WbfBox, WbfParams, weighted_boxes_fusion};
use carina_store::{
    Assignment, ConsensusBox, Image, Reading, ReadingBox, ReadingStatus, Role, StoreError,
};
use serde_json::json;

/// Most readers on one image.
const MAX_READERS: usize = 32;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/images/{id}/assignments", post(assign))
        .route("/me/assignments", get(mine))
        .route("/images/{id}/readings", get(all_readings))
        .route("/images/{id}/readings/me", get(my_reading).put(save_mine))
        .route("/images/{id}/readings/me/submit", post(submit_mine))
        .route("/images/{id}/consensus", post(consensus))
}

async fn load_image(state: &AppState, id: i64) -> AppResult<Image> {
    state
        .store
        .db
        .image(id)
        .await?
        .ok_or_else(|| AppError::not_found("image"))
}

async fn load_assignment(state: &AppState, id: i64) -> AppResult<Assignment> {
    load_image(state, id).await?;
    state.store.db.assignment(id).await?.ok_or_else(|| {
        AppError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("image {id} is not assigned for blind reading"),
        )
    })
}

/// A user who may read or review: an existing radiologist or admin.
async fn radiologist(state: &AppState, name: &str, what: &str) -> AppResult<()> {
    match state.store.db.credentials(name).await? {
        Some(c) if c.user.role >= Role::Radiologist => Ok(()),
        Some(_) => Err(AppError::unprocessable(format!(
            "{what} {name:?} is not a radiologist"
        ))),
        None => Err(AppError::unprocessable(format!("unknown {what} {name:?}"))),
    }
}

#[utoipa::path(
    post,
    path = "/api/v1/images/{id}/assignments",
    operation_id = "readings_assign",
    tag = "readings",
    summary = "Assign an image for blind reading to radiologists, with a reviewer",
    description = "Role: admin. Readers are added to those already assigned; the reviewer is replaced.",
    params(
        ("id" = i64, Path),
    ),
    request_body = AssignBody,
    responses(
        (status = 201, description = "Assigned", body = AssignmentSummary),
        (status = 400, response = crate::openapi::bodies::ApiError),
        (status = 401, response = crate::openapi::bodies::ApiError),
        (status = 403, response = crate::openapi::bodies::ApiError),
        (status = 404, response = crate::openapi::bodies::ApiError),
        (status = 422, response = crate::openapi::bodies::ApiError),
    ),
)]
async fn assign(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Json(body): Json<AssignBody>,
) -> AppResult<Response> {
    user.require(Role::Admin)?;
    load_image(&state, id).await?;
    let mut readers: Vec<String> = Vec::new();
    for r in body.readers.iter().map(|r| r.trim()) {
        if !readers.iter().any(|x| x == r) {
            readers.push(r.to_string());
        }
    }
    if readers.is_empty() || readers.len() > MAX_READERS {
        return Err(AppError::unprocessable(format!(
            "readers must name 1 to {MAX_READERS} radiologists"
        )));
    }
    for r in &readers {
        radiologist(&state, r, "reader").await?;
    }
    radiologist(&state, body.reviewer.trim(), "reviewer").await?;
    let a = state
        .store
        .db
        .assign_readers(id, &readers, body.reviewer.trim(), &user.user.username)
        .await?;
    tracing::info!(
        image_id = id,
        readers = a.readings.len(),
        "blind reading assigned"
    );
    Ok((StatusCode::CREATED, Json(AssignmentSummary::of(&a))).into_response())
}

#[utoipa::path(
    get,
    path = "/api/v1/me/assignments",
    operation_id = "readings_mine",
    tag = "readings",
    summary = "The caller's readings and the images they review",
    description = "Role: viewer.",
    responses(
        (status = 200, description = "OK", body = MyAssignments),
        (status = 401, response = crate::openapi::bodies::ApiError),
    ),
)]
async fn mine(State(state): State<AppState>, user: CurrentUser) -> AppResult<Json<MyAssignments>> {
    let (readings, reviews) = state.store.db.assignments_of(&user.user.username).await?;
    let readings = readings.iter().map(MyReading::of).collect();
    // A reviewer who also reads an image blind sees its review once they submit.
    let blindness = Blindness::of(&state, &user).await?;
    let mut out_reviews = Vec::new();
    for image_id in reviews.into_iter().filter(|id| !blindness.hides(*id)) {
        if let Some(a) = state.store.db.assignment(image_id).await? {
            out_reviews.push(AssignmentSummary::of(&a));
        }
    }
    Ok(Json(MyAssignments {
        readings,
        reviews: out_reviews,
    }))
}

fn reading_response(r: &Reading) -> Response {
    let etag = HeaderValue::from_str(&format!("\"{}\"", r.version)).expect("digits");
    ([(header::ETAG, etag)], Json(r)).into_response()
}

async fn own_reading(state: &AppState, id: i64, user: &CurrentUser) -> AppResult<Reading> {
    load_image(state, id).await?;
    state
        .store
        .db
        .reading(id, &user.user.username)
        .await?
        .ok_or_else(|| {
            AppError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("you are not assigned to read image {id}"),
            )
        })
}

#[utoipa::path(
    get,
    path = "/api/v1/images/{id}/readings/me",
    operation_id = "readings_my_reading",
    tag = "readings",
    summary = "The caller's own blind reading; the ETag is its version",
    description = "Assigned readers.",
    params(
        ("id" = i64, Path),
    ),
    responses(
        (status = 200, description = "OK", body = crate::openapi::schemas_review::ReadingSchema),
        (status = 401, response = crate::openapi::bodies::ApiError),
        (status = 404, response = crate::openapi::bodies::ApiError),
    ),
)]
async fn my_reading(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    Ok(reading_response(&own_reading(&state, id, &user).await?))
}

fn if_match(headers: &HeaderMap) -> AppResult<i64> {
    crate::extract::if_match_version(
        headers,
        "send If-Match with the version of your reading you loaded (its ETag)",
        "If-Match does not name a version of this reading; reload it",
    )
}

#[utoipa::path(
    put,
    path = "/api/v1/images/{id}/readings/me",
    operation_id = "readings_save_mine",
    tag = "readings",
    summary = "Save the caller's own reading if If-Match is still its version",
    description = "Assigned readers (role radiologist); 409 once submitted. At most CARINA_MAX_BOXES boxes (default 500), else 422.",
    params(
        ("id" = i64, Path),
        ("If-Match" = String, Header),
    ),
    request_body = ReadingBody,
    responses(
        (status = 200, description = "Saved", body = crate::openapi::schemas_review::ReadingSchema),
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
async fn save_mine(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    headers: HeaderMap,
    Json(body): Json<ReadingBody>,
) -> AppResult<Response> {
    user.require(Role::Radiologist)?;
    let expected = if_match(&headers)?;
    let image = load_image(&state, id).await?;
    own_reading(&state, id, &user).await?;
    crate::routes::annotations::check_box_count(&state, body.boxes.len())?;
    let labels = state.store.db.labels().await?;
    let mut boxes = Vec::with_capacity(body.boxes.len());
    for (i, b) in body.boxes.iter().enumerate() {
        let n = i + 1;
        match labels.get(b.class_id) {
            None => {
                return Err(AppError::unprocessable(format!(
                    "box {n}: unknown label {}",
                    b.class_id
                )));
            }
            Some(l) if l.retired => {
                return Err(AppError::unprocessable(format!(
                    "box {n}: label {:?} is retired",
                    l.name
                )));
            }
            Some(_) => {}
        }
        b.bbox
            .check_within(image.meta.width, image.meta.height)
            .map_err(|e| AppError::unprocessable(format!("box {n}: {e}")))?;
        boxes.push(ReadingBox {
            class_id: b.class_id,
            bbox: b.bbox,
        });
    }
    if body.no_finding && !boxes.is_empty() {
        return Err(AppError::unprocessable(
            "a reading marked 'no finding' cannot have boxes",
        ));
    }
    let saved = state
        .store
        .db
        .save_reading(id, &user.user.username, expected, body.no_finding, &boxes)
        .await
        .map_err(|e| match e {
            StoreError::VersionConflict { .. } => AppError::new(
                StatusCode::CONFLICT,
                "version_conflict",
                format!("{e}; reload your reading"),
            ),
            other => other.into(),
        })?;
    Ok(reading_response(&saved))
}

#[utoipa::path(
    post,
    path = "/api/v1/images/{id}/readings/me/submit",
    operation_id = "readings_submit_mine",
    tag = "readings",
    summary = "Submit the caller's reading (frozen from then on)",
    description = "Assigned readers; 409 if submitted already.",
    params(
        ("id" = i64, Path),
    ),
    responses(
        (status = 200, description = "Submitted", body = crate::openapi::schemas_review::ReadingSchema),
        (status = 401, response = crate::openapi::bodies::ApiError),
        (status = 403, response = crate::openapi::bodies::ApiError),
        (status = 404, response = crate::openapi::bodies::ApiError),
        (status = 409, response = crate::openapi::bodies::ApiError),
    ),
)]
async fn submit_mine(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Response> {
    user.require(Role::Radiologist)?;
    own_reading(&state, id, &user).await?;
    let r = state
        .store
        .db
        .submit_reading(id, &user.user.username)
        .await?;
    tracing::info!(image_id = id, "reading submitted");
    Ok(reading_response(&r))
}

/// Admins, the reviewer, and readers who have submitted see every reading.
async fn ensure_may_see_all(state: &AppState, a: &Assignment, user: &CurrentUser) -> AppResult<()> {
    blind::guard(state, user, a.image_id).await?;
    let name = &user.user.username;
    let submitted_reader = a
        .readings
        .iter()
        .any(|r| &r.reader == name && r.status == ReadingStatus::Submitted);
    if user.user.role == Role::Admin || &a.reviewer == name || submitted_reader {
        Ok(())
    } else {
        Err(AppError::forbidden(
            "only the reviewer, an admin or a reader who has submitted sees the readings",
        ))
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/images/{id}/readings",
    operation_id = "readings_all_readings",
    tag = "readings",
    summary = "Every reader's boxes side by side, and the last consensus",
    description = "The reviewer, an admin, or a reader who has submitted; a reader who has not submitted gets 403 blind_reading. A reviewer who reads the image blind too sees it once they have submitted.",
    params(
        ("id" = i64, Path),
    ),
    responses(
        (status = 200, description = "OK", body = AssignmentDetail),
        (status = 401, response = crate::openapi::bodies::ApiError),
        (status = 403, response = crate::openapi::bodies::ApiError),
        (status = 404, response = crate::openapi::bodies::ApiError),
    ),
)]
async fn all_readings(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Json<AssignmentDetail>> {
    let a = load_assignment(&state, id).await?;
    ensure_may_see_all(&state, &a, &user).await?;
    Ok(Json(AssignmentDetail::of(&a)))
}

#[utoipa::path(
    post,
    path = "/api/v1/images/{id}/consensus",
    operation_id = "readings_consensus",
    tag = "readings",
    summary = "Fuse the submitted readings with Weighted Boxes Fusion into the annotations (source kind consensus)",
    description = "The reviewer or an admin. Each submitted reader is one model of weight 1, every box score 1 (as carina dataset merge). Earlier consensus boxes are replaced; other boxes are kept. 409 when no reading is submitted. A blind reader of the image (assigned, not submitted) gets 403 blind_reading.",
    params(
        ("id" = i64, Path),
    ),
    request_body = ConsensusBody,
    responses(
        (status = 200, description = "Fused", body = ConsensusResult),
        (status = 400, response = crate::openapi::bodies::ApiError),
        (status = 401, response = crate::openapi::bodies::ApiError),
        (status = 403, response = crate::openapi::bodies::ApiError),
        (status = 404, response = crate::openapi::bodies::ApiError),
        (status = 409, response = crate::openapi::bodies::ApiError),
        (status = 422, response = crate::openapi::bodies::ApiError),
    ),
)]
async fn consensus(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    body: bytes::Bytes,
) -> AppResult<Json<ConsensusResult>> {
    user.require(Role::Radiologist)?;
    let body: ConsensusBody = if body.iter().all(u8::is_ascii_whitespace) {
        ConsensusBody::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| AppError::bad_request(format!("invalid JSON: {e}")))?
    };
    let a = load_assignment(&state, id).await?;
    blind::guard(&state, &user, id).await?;
    if user.user.role != Role::Admin && a.reviewer != user.user.username {
        return Err(AppError::forbidden(format!(
            "only the reviewer of image {id} ({}) or an admin fuses its readings",
            a.reviewer
        )));
    }
    let defaults = WbfParams::default();
    let params = WbfParams {
        iou_thr: body.iou_thr.unwrap_or(defaults.iou_thr),
        skip_box_thr: body.skip_box_thr.unwrap_or(defaults.skip_box_thr),
    };
    let (readers, fused_boxes) = fuse_submitted(&a, id, &params)?;
    let summary = json!({
        "iou_thr": params.iou_thr,
        "skip_box_thr": params.skip_box_thr,
        "readers": readers,
        "boxes": fused_boxes,
    });
    let boxes: Vec<ConsensusBox> = fused_boxes
        .iter()
        .map(|f| ConsensusBox {
            class_id: f.class_id,
            bbox: f.bbox,
            score: f.score,
        })
        .collect();
    let current = state.store.db.annotations(id).await?;
    let saved = state
        .store
        .db
        .save_consensus(
            id,
            current.version,
            &boxes,
            &user.user.username,
            &readers,
            &summary,
        )
        .await?;
    tracing::info!(image_id = id, fused = boxes.len(), "consensus written");
    Ok(Json(ConsensusResult {
        image_id: id,
        params: FusionParams {
            iou_thr: params.iou_thr,
            skip_box_thr: params.skip_box_thr,
        },
        readers,
        fused: fused_boxes,
        annotations: saved,
    }))
}

/// The submitted readings of image `id` fused: each reader one model of
/// weight 1 and every box score 1, exactly `carina dataset merge`'s fusion,
/// readers in ascending byte-wise order of their usernames (product.md), so
/// the fusion does not depend on the order readings are stored. Returns the
/// readers and the fused boxes with the readers each came from.
fn fuse_submitted(
    a: &Assignment,
    id: i64,
    params: &WbfParams,
) -> AppResult<(Vec<String>, Vec<FusedBox>)> {
    let mut submitted: Vec<&Reading> = a
        .readings
        .iter()
        .filter(|r| r.status == ReadingStatus::Submitted)
        .collect();
    submitted.sort_by(|x, y| x.reader.as_bytes().cmp(y.reader.as_bytes()));
    if submitted.is_empty() {
        return Err(AppError::conflict(format!(
            "no reader of image {id} has submitted a reading yet"
        )));
    }
    let models: Vec<Vec<WbfBox>> = submitted
        .iter()
        .map(|r| {
            r.boxes
                .iter()
                .map(|b| WbfBox::new(b.class_id, b.bbox, 1.0))
                .collect()
        })
        .collect();
    let fused = weighted_boxes_fusion(&models, None, params)
        .map_err(|e| AppError::unprocessable(format!("weighted boxes fusion: {e}")))?;
    let readers: Vec<String> = submitted.iter().map(|r| r.reader.clone()).collect();
    let fused_boxes: Vec<FusedBox> = fused
        .iter()
        .map(|f| {
            let mut from: Vec<String> =
                f.members.iter().map(|m| readers[m.model].clone()).collect();
            from.sort_unstable();
            from.dedup();
            FusedBox {
                class_id: f.class_id,
                bbox: f.bbox,
                score: f.score,
                readers: from,
            }
        })
        .collect();
    Ok((readers, fused_boxes))
}
