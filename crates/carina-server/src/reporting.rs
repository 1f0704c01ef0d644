//! Between the store's report rows and `carina-report`'s domain model: the
//! findings snapshot taken from an image's annotations, the domain
//! [`Report`] rebuilt from a stored version (for HTML, PDF and FHIR), and
//! the radiographs decoded for the annotated thumbnails.

use crate::error::{AppError, AppResult};
use crate::state::AppState;
use carina_core::BoxStatus;
use carina_core::report_status::ReportStatus;
use carina_imaging::Window;
use carina_report::{
    ChestGeometry, FoundBy, Report, ReportContent, ReportFinding, ReportImage, ReportSubject,
};
use carina_store::{Image, StoredReport, Timestamp};
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

/// The report's id as a FHIR resource id (`carina-report-12`).
pub fn fhir_id(id: i64) -> String {
    format!("carina-report-{id}")
}

/// The reportable boxes of `images`, in image order then box order:
/// accepted, edited and manual boxes and consensus boxes. Unreviewed
/// proposals and rejected boxes are not findings.
pub async fn findings_of(state: &AppState, images: &[Image]) -> AppResult<Vec<ReportFinding>> {
    let labels = state.store.db.labels().await?;
    let mut out = Vec::new();
    for image in images {
        let annotations = state.store.db.annotations(image.id).await?;
        let geometry = ChestGeometry {
            image_id: image.id.to_string(),
            lung_region: None,
            width: image.meta.width,
            height: image.meta.height,
            pixel_spacing_mm: image.meta.pixel_spacing,
        };
        for b in annotations.boxes {
            if matches!(b.status, BoxStatus::Proposed | BoxStatus::Rejected) {
                continue;
            }
            let name = labels
                .get(b.class_id)
                .map(|l| l.name.clone())
                .unwrap_or_else(|| format!("class {}", b.class_id));
            let found_by = FoundBy::from_box(&b.source, b.status, Some(&b.updated_by));
            // Only a model's score is a confidence; a consensus box's score is
            // the share of readers who drew it.
            let confidence = match b.source {
                carina_core::Provenance::Model { .. } => b.score,
                _ => None,
            };
            out.push(ReportFinding::new(
                &name, b.bbox, found_by, confidence, &geometry,
            ));
        }
    }
    Ok(out)
}

fn timestamp_instant(t: carina_store::Timestamp) -> String {
    t.to_rfc3339()
}

/// The domain report of a stored version. Stored rows were checked when
/// written; a row that does not make a valid report is a server fault.
pub fn domain_report(r: &StoredReport, images: Option<&ImageFacts>) -> AppResult<Report> {
    let (modality, image_names) = match images {
        Some(f) => (f.modality.clone(), f.names.clone()),
        None => (None, Vec::new()),
    };
    let findings: Vec<ReportFinding> =
        serde_json::from_value(r.findings.clone()).map_err(AppError::internal)?;
    let synthetic_model = findings
        .iter()
        .any(|f| matches!(f.found_by, FoundBy::Model { .. } | FoundBy::Both { .. }));
    let content = ReportContent {
        subject: ReportSubject {
            patient_pseudonym: r.patient_pseudonym.clone(),
            study_pseudonym: r.study_pseudonym.clone(),
            image_ids: r.image_ids.iter().map(i64::to_string).collect(),
            image_names,
            modality,
            study_date: None,
        },
        findings,
        impression: r.impression.clone(),
        no_finding: r.no_finding,
        synthetic_model,
    };
    let stored = json!({
        "id": fhir_id(r.id),
        "version": r.version,
        "amends": r.supersedes.map(fhir_id),
        "content": content,
        "signed_by": r.signed_by,
        "signed_at": r.signed_at.map(timestamp_instant),
    });
    serde_json::from_value(stored).map_err(AppError::internal)
}

/// A version of a report as the JSON API shows it: the stored row with its
/// FHIR id, the disclaimer and the links to its renderings.
#[derive(Serialize, ToSchema)]
#[schema(as = Report)]
pub struct ReportOut {
    id: i64,
    /// `carina-report-<id>`, the FHIR resource id
    fhir_id: String,
    version: i64,
    #[schema(value_type = crate::openapi::schemas_review::ReportStatusSchema)]
    status: ReportStatus,
    image_ids: Vec<i64>,
    study_pseudonym: Option<String>,
    patient_pseudonym: Option<String>,
    impression: String,
    no_finding: bool,
    /// The findings snapshot: [{image_id, class_name, bbox, location,
    /// size_mm, found_by, confidence}]
    findings: Value,
    author: String,
    #[schema(value_type = String, format = DateTime)]
    created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    updated_at: Timestamp,
    updated_by: String,
    signed_by: Option<String>,
    #[schema(value_type = Option<String>, format = DateTime)]
    signed_at: Option<Timestamp>,
    supersedes: Option<i64>,
    superseded_by: Option<i64>,
    /// The admin who last edited or signed this draft in its author's place
    taken_over_by: Option<String>,
    #[schema(value_type = Option<String>, format = DateTime)]
    taken_over_at: Option<Timestamp>,
    disclaimer: String,
    links: ReportLinks,
}

/// Where a report's renderings are.
#[derive(Serialize, ToSchema)]
pub struct ReportLinks {
    html: String,
    json: String,
    pdf: String,
    fhir: String,
}

/// The report as the JSON API shows it.
pub fn report_json(r: &StoredReport, domain: &Report) -> ReportOut {
    let StoredReport {
        id,
        version,
        status,
        image_ids,
        study_pseudonym,
        patient_pseudonym,
        impression,
        no_finding,
        findings,
        author,
        created_at,
        updated_at,
        updated_by,
        signed_by,
        signed_at,
        supersedes,
        superseded_by,
        taken_over_by,
        taken_over_at,
    } = r.clone();
    ReportOut {
        id,
        fhir_id: fhir_id(id),
        version,
        status,
        image_ids,
        study_pseudonym,
        patient_pseudonym,
        impression,
        no_finding,
        findings,
        author,
        created_at,
        updated_at,
        updated_by,
        signed_by,
        signed_at,
        supersedes,
        superseded_by,
        taken_over_by,
        taken_over_at,
        disclaimer: domain.disclaimer().to_string(),
        links: ReportLinks {
            html: format!("/api/v1/reports/{id}"),
            json: format!("/api/v1/reports/{id}.json"),
            pdf: format!("/api/v1/reports/{id}.pdf"),
            fhir: format!("/api/v1/reports/{id}.fhir.json"),
        },
    }
}

/// The stored radiographs of a report, decoded and windowed to 8 bits for
/// the thumbnails. A deleted image is left out (the report stays readable).
pub async fn report_images(state: &AppState, r: &StoredReport) -> AppResult<Vec<ReportImage>> {
    let mut out = Vec::new();
    for &id in &r.image_ids {
        let Some(image) = state.store.db.image(id).await? else {
            continue;
        };
        let bytes = state.store.image_file(&image).await?;
        let window = Window {
            center: image.meta.window_center.unwrap_or(32768.0),
            width: image.meta.window_width.unwrap_or(65536.0),
        };
        let decoded = state
            .decode_budget
            .decode_stored(bytes, state.config.stored_limits())
            .await?;
        let img = tokio::task::spawn_blocking(move || -> anyhow::Result<ReportImage> {
            let gray = carina_imaging::to_u8_windowed(&decoded.image, window);
            Ok(ReportImage::new(
                &id.to_string(),
                decoded.image.width,
                decoded.image.height,
                gray,
            )?)
        })
        .await
        .map_err(AppError::internal)?
        .map_err(AppError::internal)?;
        out.push(img);
    }
    Ok(out)
}

/// The modality of a report's first image that still exists.
/// What the report's rendering shows of its images, read now: the first
/// image's modality and each image's display name ("image 5 (deleted)" for
/// one that is gone).
pub struct ImageFacts {
    pub modality: Option<String>,
    pub names: Vec<String>,
}

pub async fn image_facts(state: &AppState, r: &StoredReport) -> AppResult<ImageFacts> {
    let mut modality = None;
    let mut names = Vec::with_capacity(r.image_ids.len());
    for &id in &r.image_ids {
        match state.store.db.image(id).await? {
            Some(image) => {
                if modality.is_none() {
                    modality = image.meta.modality.clone();
                }
                names.push(image.display_name);
            }
            None => names.push(format!("image {id} (deleted)")),
        }
    }
    Ok(ImageFacts { modality, names })
}

/// The PDF of a stored report version, as `GET /reports/{id}.pdf` serves
/// it and the send job encapsulates it: rendered from the stored version
/// (deterministic: the same version gives the same bytes).
pub async fn report_pdf(state: &AppState, r: &StoredReport) -> AppResult<Vec<u8>> {
    let facts = image_facts(state, r).await?;
    let domain = domain_report(r, Some(&facts))?;
    let images = report_images(state, r).await?;
    tokio::task::spawn_blocking(move || carina_report::render_pdf(&domain, &images))
        .await
        .map_err(AppError::internal)?
        .map_err(AppError::internal)
}
