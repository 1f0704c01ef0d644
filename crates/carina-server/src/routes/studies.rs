//! The study list: images grouped by their (pseudonymised) DICOM study,
//! with the study's review status rolled up from its images.

use crate::auth::CurrentUser;
use crate::blind::Blindness;
use crate::error::AppResult;
use crate::extract::{Json, Query};
use crate::state::AppState;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use carina_store::{ImageStatus, StudyQuery, StudySummary};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub fn routes() -> Router<AppState> {
    Router::new().route("/studies", get(list))
}

#[derive(Deserialize)]
struct ListParams {
    q: Option<String>,
    page: Option<u32>,
    per_page: Option<u32>,
}

/// One study of the library.
#[derive(Serialize, ToSchema)]
pub struct Study {
    pub study_pseudonym: String,
    pub patient_pseudonym: Option<String>,
    /// Days since the patient's first study, when the stored files keep
    /// study dates (de-identification empties them, so usually absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub study_date_offset: Option<i64>,
    /// The images' modalities, each once, in upload order.
    pub modalities: Vec<String>,
    /// The study's images, in upload order.
    pub image_ids: Vec<i64>,
    /// `new` when no image has been worked on, `done` when every image is
    /// done, else `in_review`; null (with `blind: true`) when the caller
    /// reads one of its images blind, since the status is others' work.
    #[schema(value_type = Option<crate::openapi::schemas::ImageStatusSchema>)]
    pub status: Option<ImageStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blind: Option<bool>,
}

/// `GET /studies`: one page of studies.
#[derive(Serialize, ToSchema)]
pub struct StudyList {
    pub studies: Vec<Study>,
    /// Studies matching the search, on every page.
    pub total: i64,
    pub page: u32,
    pub per_page: u32,
}

#[utoipa::path(
    get,
    path = "/api/v1/studies",
    operation_id = "studies_list",
    tag = "images",
    summary = "List studies: images grouped by study pseudonym (newest study first), status rolled up",
    description = "Role: viewer. A study with an image the caller reads blind has status null and blind: true.",
    params(
        ("q" = Option<String>, Query, description = "substring of a pseudonym, display label or file name of any of the study's images"),
        ("page" = Option<u32>, Query, minimum = 1, description = "default 1"),
        ("per_page" = Option<u32>, Query, minimum = 1, maximum = 200, description = "default 50"),
    ),
    responses(
        (status = 200, description = "OK", body = StudyList),
        (status = 400, response = crate::openapi::bodies::ApiError),
        (status = 401, response = crate::openapi::bodies::ApiError),
    ),
)]
async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(p): Query<ListParams>,
) -> AppResult<Json<StudyList>> {
    let page = p.page.unwrap_or(1).max(1);
    let per_page = p.per_page.unwrap_or(50).clamp(1, 200);
    let query = StudyQuery {
        q: p.q,
        page,
        per_page,
    };
    let (studies, total) = state.store.db.list_studies(&query).await?;
    let blindness = Blindness::of(&state, &user).await?;
    let studies = studies.into_iter().map(|s| study(s, &blindness)).collect();
    Ok(Json(StudyList {
        studies,
        total,
        page,
        per_page,
    }))
}

fn study(s: StudySummary, blindness: &Blindness) -> Study {
    let image_ids: Vec<i64> = s.images.iter().map(|(id, ..)| *id).collect();
    let mut modalities: Vec<String> = Vec::new();
    for m in s.images.iter().filter_map(|(_, m, _)| m.as_ref()) {
        if !modalities.contains(m) {
            modalities.push(m.clone());
        }
    }
    let blind = blindness.hides_any(&image_ids);
    let statuses: Vec<ImageStatus> = s.images.iter().map(|(.., st)| *st).collect();
    let offset = match (
        s.study_date.as_deref(),
        s.patient_first_study_date.as_deref(),
    ) {
        (Some(d), Some(first)) => days(d).zip(days(first)).map(|(a, b)| a - b),
        _ => None,
    };
    Study {
        study_pseudonym: s.study_pseudonym,
        patient_pseudonym: s.patient_pseudonym,
        study_date_offset: offset,
        modalities,
        image_ids,
        status: (!blind).then(|| rollup(&statuses)),
        blind: blind.then_some(true),
    }
}

/// The study's status from its images' statuses.
pub fn rollup(statuses: &[ImageStatus]) -> ImageStatus {
    if statuses.iter().all(|s| *s == ImageStatus::New) {
        ImageStatus::New
    } else if statuses.iter().all(|s| *s == ImageStatus::Done) {
        ImageStatus::Done
    } else {
        ImageStatus::InReview
    }
}

/// Days since 1970-01-01 of a DICOM date (`YYYYMMDD`); `None` when it is
/// not one.
fn days(da: &str) -> Option<i64> {
    if da.len() != 8 || !da.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (y, m, d): (i64, i64, i64) = (
        da[..4].parse().ok()?,
        da[4..6].parse().ok()?,
        da[6..].parse().ok()?,
    );
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    // Howard Hinnant's days_from_civil.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_rolls_up() {
        use ImageStatus::*;
        assert_eq!(rollup(&[New, New]), New);
        assert_eq!(rollup(&[Done, Done]), Done);
        assert_eq!(rollup(&[New, Done]), InReview);
        assert_eq!(rollup(&[InReview]), InReview);
    }

    #[test]
    fn dicom_dates_count_days() {
        assert_eq!(days("19700101"), Some(0));
        assert_eq!(days("20000301"), Some(11_017));
        assert_eq!(
            days("20240301").zip(days("20240228")).map(|(a, b)| a - b),
            Some(2)
        );
        assert_eq!(days("2024-03-01"), None);
        assert_eq!(days("20241301"), None);
    }
}
