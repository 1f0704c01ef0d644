//! Blind reading, enforced in one place.
//!
//! A *blind reader* of an image is a user with a reading of it that is still
//! `assigned` (not submitted). Until they submit, they see nothing of
//! others' work on that image by any route: annotations (read or write),
//! history, predictions (raw, in a job, or in any reply), reports (by id, by
//! `image_id`, by `q`, rendered), agreement, consensus and box counts. They
//! still see the image itself (metadata, file, render, thumbnail: pixels are
//! nobody's work) and do their own reading (`/readings/me`).
//!
//! Every route that touches that work asks [`Blindness`] (one query,
//! [`carina_store::Database::blind_images`]) through one of:
//!
//! - [`guard`]: a route about one image (`/images/{id}/annotations`,
//!   `/history`, `/predictions`, `/agreement`, `/consensus`, `/readings`, a
//!   report on it, a status change, a file replacement) answers **403
//!   `blind_reading`**. The reader knows the image exists (it is assigned to
//!   them), so the refusal gives nothing away and tells them what to do.
//! - [`Blindness::hides`]: a route about one object of others' work that is
//!   not named by the image (a report by id, a job by id) answers **404**,
//!   exactly as for an id that does not exist, so a blind reader cannot learn
//!   that a report or a model run exists for their image.
//! - Lists (`GET /reports`, `GET /jobs`, `GET /agreement`) leave out what
//!   concerns a blind image; image lists and image objects keep the image
//!   (its pixels are the reader's to read) with the fields that tell of
//!   others' work set to null and `"blind": true` ([`image_json`]).

use crate::auth::CurrentUser;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use axum::http::StatusCode;
use carina_store::Image;
use serde_json::{Value, json};
use std::collections::HashSet;

/// The images the caller is a blind reader of (assigned, not submitted).
#[derive(Debug, Clone, Default)]
pub struct Blindness {
    images: HashSet<i64>,
}

impl Blindness {
    /// The one check: which images `user` may not yet see others' work on.
    pub async fn of(state: &AppState, user: &CurrentUser) -> AppResult<Self> {
        let images = state
            .store
            .db
            .blind_images(&user.user.username)
            .await?
            .into_iter()
            .collect();
        Ok(Self { images })
    }

    /// Whether others' work on `image_id` is hidden from the caller.
    pub fn hides(&self, image_id: i64) -> bool {
        self.images.contains(&image_id)
    }

    /// Whether any of `image_ids` is hidden (a study report spans several).
    pub fn hides_any(&self, image_ids: &[i64]) -> bool {
        image_ids.iter().any(|id| self.hides(*id))
    }

    /// 403 `blind_reading` when `image_id` is hidden.
    pub fn check(&self, image_id: i64) -> AppResult<()> {
        if self.hides(image_id) {
            Err(refusal(image_id))
        } else {
            Ok(())
        }
    }
}

/// The refusal of a route about one image the caller reads blind.
pub fn refusal(image_id: i64) -> AppError {
    AppError::new(
        StatusCode::FORBIDDEN,
        "blind_reading",
        format!(
            "you are a blind reader of image {image_id}: submit your reading \
             (POST /api/v1/images/{image_id}/readings/me/submit) before you see others' work on it"
        ),
    )
}

/// A route about one image and others' work on it: 404 when the image does
/// not exist, 403 `blind_reading` when the caller reads it blind, otherwise
/// the image.
pub async fn guard(state: &AppState, user: &CurrentUser, image_id: i64) -> AppResult<Image> {
    let image = state
        .store
        .db
        .image(image_id)
        .await?
        .ok_or_else(|| AppError::not_found("image"))?;
    Blindness::of(state, user).await?.check(image_id)?;
    Ok(image)
}

/// Fields of an image object that tell of others' work on it.
pub const REDACTED_FIELDS: &[&str] = &[
    "status",
    "box_count",
    "reviewed_box_count",
    "proposal_count",
    "proposals_above_threshold",
    "updated_at",
    "no_finding",
    "annotation_version",
    "prediction_job_id",
    "prediction_status",
    "updated_by",
];

/// An image as JSON; for an image the caller reads blind, the fields that
/// tell of others' work (review status, box counts, "no finding", annotation
/// version, model run, last change) are null and `blind` is true.
pub fn image_json(img: &Image, blindness: &Blindness) -> Value {
    let mut v = serde_json::to_value(img).unwrap_or_default();
    if blindness.hides(img.id) {
        for field in REDACTED_FIELDS {
            v[*field] = Value::Null;
        }
        v["blind"] = json!(true);
    }
    v
}

/// Fills in each image's proposals at or above the caller's threshold.
pub async fn with_threshold_counts(
    state: &AppState,
    user: &CurrentUser,
    images: &mut [Image],
) -> AppResult<()> {
    let threshold = state
        .store
        .db
        .preferences(user.user.id)
        .await?
        .proposal_threshold;
    let ids: Vec<i64> = images.iter().map(|i| i.id).collect();
    let counts: std::collections::HashMap<i64, i64> = state
        .store
        .db
        .proposals_at_or_above(&ids, threshold)
        .await?
        .into_iter()
        .collect();
    for img in images {
        img.proposals_above_threshold = Some(counts.get(&img.id).copied().unwrap_or(0));
    }
    Ok(())
}
