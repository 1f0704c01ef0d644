//! An image's boxes as a TID 1500 DICOM SR (`GET /images/{id}/sr`), and the
//! image reference every SR Carina writes takes from the served file.

use crate::error::{AppError, AppResult};
use crate::state::AppState;
use carina_core::BoxStatus;
use carina_sr::{SrBox, SrDocument, SrImageRef};
use carina_store::{Image, StoredBox, StoredReport};
use std::time::SystemTime;

/// Carina's version, written as the SRs' Software Versions.
pub const SOFTWARE_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The SOP class and instance, study, series and (de-identified) patient
/// attributes of the file Carina serves for `image`: what an SR about it
/// references and copies. Only the header is read.
pub async fn served_image_ref(state: &AppState, image: &Image) -> AppResult<SrImageRef> {
    let bytes = state.store.image_file(image).await?;
    let id = image.id;
    tokio::task::spawn_blocking(move || carina_sr::image_ref_from_dicom(&bytes))
        .await
        .map_err(AppError::internal)?
        .map_err(|e| {
            AppError::unprocessable(format!(
                "image {id}'s DICOM file cannot be referenced by an SR: {e}"
            ))
        })
}

/// Whether a box goes into the image's SR: reviewed boxes (accepted,
/// edited, manual, consensus) always, unreviewed proposals on request,
/// rejected boxes never.
pub fn in_sr(status: BoxStatus, include_proposals: bool) -> bool {
    match status {
        BoxStatus::Accepted | BoxStatus::Edited | BoxStatus::Manual => true,
        BoxStatus::Proposed => include_proposals,
        BoxStatus::Rejected => false,
    }
}

/// The SR of `image`'s boxes at their current version. A box whose label
/// is no longer in the label set is written as `class N` (a custom code).
pub async fn image_sr(
    state: &AppState,
    image: &Image,
    include_proposals: bool,
) -> AppResult<Vec<u8>> {
    let reference = served_image_ref(state, image).await?;
    let labels = state.store.db.labels().await?;
    let annotations = state.store.db.annotations(image.id).await?;
    let boxes: Vec<SrBox> = annotations
        .boxes
        .iter()
        .filter(|b| in_sr(b.status, include_proposals))
        .map(|b: &StoredBox| SrBox {
            box_id: b.id.to_string(),
            label: labels
                .get(b.class_id)
                .map(|l| l.name.clone())
                .unwrap_or_else(|| format!("class {}", b.class_id)),
            bbox: b.bbox,
            provenance: b.source.clone(),
            status: b.status,
        })
        .collect();
    let doc = SrDocument::new(SystemTime::now(), SOFTWARE_VERSION);
    tokio::task::spawn_blocking(move || {
        carina_sr::write_measurement_report(&reference, &boxes, &doc)
    })
    .await
    .map_err(AppError::internal)?
    .map_err(|e| AppError::unprocessable(format!("image {}: {e}", image.id)))
}

/// A signed report as a Comprehensive SR (TID 2000): 404 for a report that
/// does not exist or that is on an image the caller reads blind, 409 for a
/// draft. Images deleted since are left out (a finding on one with them).
pub async fn report_sr(
    state: &AppState,
    user: &crate::auth::CurrentUser,
    id: i64,
) -> AppResult<Vec<u8>> {
    let r = state
        .store
        .db
        .report(id)
        .await?
        .ok_or_else(|| AppError::not_found("report"))?;
    if crate::blind::Blindness::of(state, user)
        .await?
        .hides_any(&r.image_ids)
    {
        return Err(AppError::not_found("report"));
    }
    report_sr_of(state, &r).await
}

/// A signed report's images that still exist: their ids and references.
/// 409 for a draft, 422 when every image is gone.
async fn signed_report_images(
    state: &AppState,
    r: &StoredReport,
) -> AppResult<(Vec<String>, Vec<SrImageRef>)> {
    use carina_core::report_status::ReportStatus;
    let id = r.id;
    if r.status == ReportStatus::Draft {
        return Err(AppError::conflict(format!(
            "report {id} is a draft: only a signed report becomes a DICOM object"
        )));
    }
    let mut ids = Vec::new();
    let mut images = Vec::new();
    for &image_id in &r.image_ids {
        if let Some(image) = state.store.db.image(image_id).await? {
            images.push(served_image_ref(state, &image).await?);
            ids.push(image_id.to_string());
        }
    }
    if images.is_empty() {
        return Err(AppError::unprocessable(format!(
            "every image of report {id} has been deleted: a DICOM report needs an image to reference"
        )));
    }
    Ok((ids, images))
}

/// When the report was signed (its last change for an unsigned one).
fn signed_at(r: &StoredReport) -> SystemTime {
    let ms = r.signed_at.map_or(r.updated_at.0, |t| t.0).max(0) as u64;
    std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms)
}

/// The SR of a signed report (no access check: the caller made it).
pub async fn report_sr_of(state: &AppState, r: &StoredReport) -> AppResult<Vec<u8>> {
    let id = r.id;
    let (ids, images) = signed_report_images(state, r).await?;
    let findings: Vec<carina_report::ReportFinding> =
        serde_json::from_value(r.findings.clone()).map_err(AppError::internal)?;
    let findings = findings
        .iter()
        .filter_map(|f| {
            let image = ids.iter().position(|i| *i == f.image_id)?;
            let mut description = f.location.clone();
            if let Some((w, h)) = f.size_mm {
                description.push_str(&format!(", {w:.0} × {h:.0} mm"));
            }
            description.push_str(&format!(", found by {}", f.found_by.describe()));
            Some(carina_sr::ReportSrFinding {
                image,
                label: f.class_name.clone(),
                bbox: f.bbox,
                description: Some(description),
            })
        })
        .collect();
    let input = carina_sr::ReportSr {
        report_id: crate::reporting::fhir_id(r.id),
        amends: r.supersedes.map(crate::reporting::fhir_id),
        images,
        findings,
        impression: r.impression.clone(),
        no_finding: r.no_finding,
        signer: r.signed_by.clone().unwrap_or_else(|| r.author.clone()),
        signed_at: signed_at(r),
        software_version: SOFTWARE_VERSION.to_string(),
    };
    tokio::task::spawn_blocking(move || carina_sr::write_report_sr(&input))
        .await
        .map_err(AppError::internal)?
        .map_err(|e| AppError::unprocessable(format!("report {id}: {e}")))
}

/// A signed report's PDF (`GET /reports/{id}.pdf`'s bytes) as an
/// Encapsulated PDF instance on the study of its first image.
pub async fn report_pdf_of(state: &AppState, r: &StoredReport) -> AppResult<Vec<u8>> {
    let id = r.id;
    let (_, images) = signed_report_images(state, r).await?;
    let pdf = crate::reporting::report_pdf(state, r).await?;
    let input = carina_sr::ReportPdf {
        report_id: crate::reporting::fhir_id(r.id),
        images,
        title: format!("Carina radiology report {id}, version {}", r.version),
        pdf,
        signed_at: signed_at(r),
        software_version: SOFTWARE_VERSION.to_string(),
    };
    tokio::task::spawn_blocking(move || carina_sr::write_encapsulated_pdf(&input))
        .await
        .map_err(AppError::internal)?
        .map_err(|e| AppError::unprocessable(format!("report {id}: {e}")))
}
