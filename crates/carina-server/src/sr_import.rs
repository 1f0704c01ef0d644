//! Importing a TID 1500 SR's boxes into an image's annotations: the one
//! function `POST /images/{id}/sr`, the DICOM node (C-STORE) and STOW-RS
//! call for an SR instance ([`is_sr`] tells one from an image).
//!
//! Rules (docs/dicom-sr.md, "Import into Carina"):
//! - the SR's boxes must all be on one image: the target image when the
//!   caller names one (another image is a 422), else the image Carina serves
//!   with that SOP Instance UID, looked up in the SR's study (none is a 422);
//! - each finding must be a label of the label set (by name, as the finding
//!   table reads it), not retired; each box must lie inside the image;
//! - a box of Carina's own SR whose tracking identifier and tracking UID
//!   name a box the image still has is put back on that box (position,
//!   label, review status; the box keeps its provenance); any other box is
//!   added as a manual box of the importing user, unless the image already
//!   has a box of the same label within 0.01 px (imported twice: unchanged);
//! - nothing is deleted; the save goes through the annotation save (one
//!   transaction, a new version and a history entry, compare-and-swap on the
//!   version: the caller's `If-Match` or the version read here).

use crate::error::{AppError, AppResult};
use crate::sr_export::served_image_ref;
use crate::state::AppState;
use axum::http::StatusCode;
use bytes::Bytes;
use carina_core::{BBox, BoxStatus, LabelSet, Provenance};
use carina_sr::{ParsedBox, ParsedReport, SrError};
use carina_store::{AnnotationEdit, AnnotationState, BoxEdit, Image, ImageQuery};
use serde::Serialize;
use utoipa::ToSchema;

pub use carina_sr::is_sr;

/// What an import did.
#[derive(Debug, Serialize, ToSchema)]
pub struct SrImport {
    pub image_id: i64,
    /// The annotations' version after the import.
    pub version: i64,
    /// Boxes of Carina's own SR put back on the box they came from.
    pub restored: usize,
    /// New manual boxes of the importing user.
    pub added: usize,
    /// Boxes the image already had as the SR states them.
    pub unchanged: usize,
    /// Measurement groups without a planar image region, and why.
    pub skipped: Vec<String>,
    #[schema(value_type = crate::openapi::schemas::AnnotationsSchema)]
    pub annotations: AnnotationState,
}

/// An SR's reading error as an HTTP answer: a file that is not readable
/// DICOM is a 400, a DICOM file that is not an importable report a 422.
fn sr_error(e: SrError) -> AppError {
    match e {
        SrError::NotDicom | SrError::Malformed(_) => {
            AppError::bad_request(format!("not a readable DICOM SR: {e}"))
        }
        SrError::TooLarge { .. } => AppError::too_large(e.to_string()),
        SrError::UnknownFinding { .. } => AppError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_finding",
            e.to_string(),
        ),
        other => AppError::unprocessable(other.to_string()),
    }
}

/// Parse an SR's boxes (on the blocking pool).
pub async fn parse_sr(bytes: Bytes) -> AppResult<ParsedReport> {
    tokio::task::spawn_blocking(move || carina_sr::read_measurement_report(&bytes))
        .await
        .map_err(AppError::internal)?
        .map_err(sr_error)
}

/// The image Carina serves with SOP Instance UID `sop_uid`, looked up among
/// the images of study `study_uid` (the study pseudonym is the served Study
/// Instance UID); each candidate's served file header is read.
pub async fn find_image_by_sop_uid(
    state: &AppState,
    study_uid: &str,
    sop_uid: &str,
) -> AppResult<Option<Image>> {
    let mut page = 1;
    loop {
        let query = ImageQuery {
            study: Some(study_uid.to_string()),
            page,
            per_page: 100,
            ..ImageQuery::default()
        };
        let (images, total) = state.store.db.list_images(&query).await?;
        for image in &images {
            if served_image_ref(state, image).await?.sop_instance_uid == sop_uid {
                return Ok(Some(image.clone()));
            }
        }
        if images.is_empty() || i64::from(page) * 100 >= total {
            return Ok(None);
        }
        page += 1;
    }
}

/// The one image the SR's boxes are on (see the module docs).
async fn referenced_image(
    state: &AppState,
    report: &ParsedReport,
    target: Option<i64>,
) -> AppResult<(Image, String)> {
    let mut uids: Vec<&str> = report
        .boxes
        .iter()
        .map(|b| b.referenced_sop_instance_uid.as_str())
        .collect();
    uids.sort_unstable();
    uids.dedup();
    if uids.len() > 1 {
        return Err(AppError::unprocessable(format!(
            "the SR's boxes are on {} different images; an import fills one image",
            uids.len()
        )));
    }
    let referenced = uids.first().copied();
    if let Some(id) = target {
        let image = state
            .store
            .db
            .image(id)
            .await?
            .ok_or_else(|| AppError::not_found("image"))?;
        let own = served_image_ref(state, &image).await?.sop_instance_uid;
        if let Some(uid) = referenced.filter(|u| *u != own) {
            return Err(AppError::unprocessable(format!(
                "the SR's boxes are on the image with SOP Instance UID {uid}, not on image {id} \
                 (SOP Instance UID {own}); post it to that image"
            )));
        }
        return Ok((image, own));
    }
    let uid = referenced.ok_or_else(|| {
        AppError::unprocessable("the SR has no boxes on an image: nothing to import")
    })?;
    let study = report.study_instance_uid.as_deref().unwrap_or("");
    match find_image_by_sop_uid(state, study, uid).await? {
        Some(image) => Ok((image, uid.to_string())),
        None => Err(AppError::unprocessable(format!(
            "the SR references an image Carina does not have (SOP Instance UID {uid})"
        ))),
    }
}

/// Import the boxes of the SR in `bytes` as `username` (see the module
/// docs): into image `target` if given, else into the image the SR
/// references. `expected_version` is the caller's `If-Match`.
pub async fn import_sr(
    state: &AppState,
    bytes: Bytes,
    username: &str,
    target: Option<i64>,
    expected_version: Option<i64>,
) -> AppResult<SrImport> {
    let report = parse_sr(bytes).await?;
    let (image, sop_uid) = referenced_image(state, &report, target).await?;
    if state
        .store
        .db
        .blind_images(username)
        .await?
        .contains(&image.id)
    {
        return Err(crate::blind::refusal(image.id));
    }
    let labels = state.store.db.labels().await?;
    let current = state.store.db.annotations(image.id).await?;
    let plan = plan_import(&report, &image, &sop_uid, &labels, &current)?;
    crate::routes::annotations::check_box_count(state, plan.edit.boxes.len())?;
    let expected = expected_version.unwrap_or(current.version);
    let annotations = if plan.restored + plan.added == 0 {
        if expected != current.version {
            return Err(crate::error::AppError::from(
                carina_store::StoreError::VersionConflict {
                    expected,
                    current: current.version,
                },
            ));
        }
        current
    } else {
        state
            .store
            .db
            .save_annotations(image.id, expected, &plan.edit, username)
            .await?
    };
    tracing::info!(
        image_id = image.id,
        restored = plan.restored,
        added = plan.added,
        unchanged = plan.unchanged,
        "SR imported"
    );
    Ok(SrImport {
        image_id: image.id,
        version: annotations.version,
        restored: plan.restored,
        added: plan.added,
        unchanged: plan.unchanged,
        skipped: report.skipped,
        annotations,
    })
}

struct ImportPlan {
    edit: AnnotationEdit,
    restored: usize,
    added: usize,
    unchanged: usize,
}

/// The label of a parsed box in the label set, or a 422 naming the code.
fn label_of(b: &ParsedBox, labels: &LabelSet) -> AppResult<u32> {
    let label = labels.by_name(&b.label).ok_or_else(|| {
        AppError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_finding",
            format!(
                "measurement group {}: the finding {} reads as label {:?}, which is not in \
                 Carina's label set",
                b.group, b.finding, b.label
            ),
        )
    })?;
    Ok(label.id)
}

fn near(a: &BBox, b: &BBox) -> bool {
    a.to_array()
        .iter()
        .zip(b.to_array())
        .all(|(x, y)| (x - y).abs() <= 0.01)
}

/// The save that applies the SR to the current boxes, decided without
/// touching the store.
fn plan_import(
    report: &ParsedReport,
    image: &Image,
    sop_uid: &str,
    labels: &LabelSet,
    current: &AnnotationState,
) -> AppResult<ImportPlan> {
    let mut boxes: Vec<BoxEdit> = current
        .boxes
        .iter()
        .map(|b| BoxEdit {
            id: Some(b.id),
            class_id: b.class_id,
            bbox: b.bbox,
            status: b.status,
        })
        .collect();
    let (mut restored, mut added, mut unchanged) = (0, 0, 0);
    for b in &report.boxes {
        let class_id = label_of(b, labels)?;
        b.bbox
            .check_within(image.meta.width, image.meta.height)
            .map_err(|e| AppError::unprocessable(format!("measurement group {}: {e}", b.group)))?;
        let own = report
            .made_by_carina
            .then(|| own_box(b, sop_uid, current))
            .flatten();
        if let Some((idx, model)) = own {
            let e = &mut boxes[idx];
            // A person's or consensus box is always manual; a model's box
            // takes the SR's review status (a model box is never manual).
            let status = match b.status {
                _ if !model => BoxStatus::Manual,
                Some(BoxStatus::Manual) | None => BoxStatus::Accepted,
                Some(s) => s,
            };
            // Accepted and edited are the same review of a model box: which
            // one the store keeps depends on whether it was moved.
            let same_review = e.status == status
                || matches!(
                    (e.status, status),
                    (BoxStatus::Accepted, BoxStatus::Edited)
                        | (BoxStatus::Edited, BoxStatus::Accepted)
                );
            if e.class_id == class_id && near(&e.bbox, &b.bbox) && same_review {
                unchanged += 1;
            } else {
                (e.class_id, e.bbox, e.status) = (class_id, b.bbox, status);
                restored += 1;
            }
            continue;
        }
        let retired = labels.get(class_id).is_some_and(|l| l.retired);
        let dup = boxes
            .iter()
            .any(|e| e.class_id == class_id && near(&e.bbox, &b.bbox));
        if dup {
            unchanged += 1;
            continue;
        }
        if retired {
            return Err(AppError::unprocessable(format!(
                "measurement group {}: label {:?} is retired",
                b.group, b.label
            )));
        }
        boxes.push(BoxEdit {
            id: None,
            class_id,
            bbox: b.bbox,
            status: BoxStatus::Manual,
        });
        added += 1;
    }
    let no_finding = current.no_finding && restored + added == 0;
    Ok(ImportPlan {
        edit: AnnotationEdit { no_finding, boxes },
        restored,
        added,
        unchanged,
    })
}

/// The index of the current box a box of Carina's SR came from: its
/// tracking identifier is the box id and its tracking UID the one Carina
/// derives for that id on this image. Also whether it is a model's box.
fn own_box(b: &ParsedBox, sop_uid: &str, current: &AnnotationState) -> Option<(usize, bool)> {
    let id_text = b.tracking_id.as_deref()?;
    let id: i64 = id_text.parse().ok()?;
    if b.tracking_uid.as_deref() != Some(&carina_sr::tracking_uid(sop_uid, id_text)) {
        return None;
    }
    let idx = current.boxes.iter().position(|c| c.id == id)?;
    let model = matches!(current.boxes[idx].source, Provenance::Model { .. });
    Some((idx, model))
}
