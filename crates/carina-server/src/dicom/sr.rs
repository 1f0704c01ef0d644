//! An image's reviewed boxes as a TID 1500 SR (carina-sr's writer), for
//! sending. The patient and study attributes are read from the stored,
//! de-identified file, so the SR carries only pseudonyms.

use crate::state::AppState;
use carina_core::BoxStatus;
use carina_sr::{SrBox, SrDocument, SrImageRef};
use carina_store::Image;
use dicom_dictionary_std::tags;
use dicom_object::OpenFileOptions;

/// Why the SR could not be made.
#[derive(Debug, thiserror::Error)]
pub enum SrBuildError {
    #[error("store: {0}")]
    Store(#[from] carina_store::StoreError),
    #[error("the stored file cannot be read as DICOM: {0}")]
    Dicom(String),
    #[error("cannot write the SR: {0}")]
    Sr(#[from] carina_sr::SrError),
}

/// The Measurement Report of `image`'s reviewed boxes (accepted, edited,
/// manual, consensus), as Part 10 bytes.
pub async fn measurement_report(state: &AppState, image: &Image) -> Result<Vec<u8>, SrBuildError> {
    let file = state.store.image_file(image).await?;
    let image_ref = tokio::task::spawn_blocking(move || image_ref(&file))
        .await
        .map_err(|e| SrBuildError::Dicom(e.to_string()))??;
    let labels = state.store.db.labels().await?;
    let annotations = state.store.db.annotations(image.id).await?;
    let boxes: Vec<SrBox> = annotations
        .boxes
        .into_iter()
        .filter(|b| !matches!(b.status, BoxStatus::Proposed | BoxStatus::Rejected))
        .map(|b| SrBox {
            box_id: b.id.to_string(),
            label: labels
                .get(b.class_id)
                .map(|l| l.name.clone())
                .unwrap_or_else(|| format!("class {}", b.class_id)),
            bbox: b.bbox,
            provenance: b.source,
            status: b.status,
        })
        .collect();
    let doc = SrDocument::new(std::time::SystemTime::now(), env!("CARGO_PKG_VERSION"));
    Ok(carina_sr::write_measurement_report(
        &image_ref, &boxes, &doc,
    )?)
}

/// The image's UIDs and (de-identified) patient and study attributes.
fn image_ref(file: &[u8]) -> Result<SrImageRef, SrBuildError> {
    let body = file
        .get(128..)
        .filter(|b| b.starts_with(b"DICM"))
        .ok_or_else(|| SrBuildError::Dicom("no DICOM preamble".into()))?;
    let obj = OpenFileOptions::new()
        .read_until(tags::PIXEL_DATA)
        .from_reader(body)
        .map_err(|e| SrBuildError::Dicom(e.to_string()))?;
    let text = |tag| {
        obj.element(tag)
            .ok()
            .and_then(|e| e.to_str().ok())
            .map(|s| s.trim_end_matches(['\0', ' ']).to_string())
            .filter(|s| !s.is_empty())
    };
    let need = |tag, what: &str| {
        text(tag).ok_or_else(|| SrBuildError::Dicom(format!("the stored file has no {what}")))
    };
    Ok(SrImageRef {
        sop_class_uid: need(tags::SOP_CLASS_UID, "SOP Class UID")?,
        sop_instance_uid: need(tags::SOP_INSTANCE_UID, "SOP Instance UID")?,
        study_instance_uid: need(tags::STUDY_INSTANCE_UID, "Study Instance UID")?,
        series_instance_uid: need(tags::SERIES_INSTANCE_UID, "Series Instance UID")?,
        patient_id: text(tags::PATIENT_ID).unwrap_or_default(),
        patient_name: text(tags::PATIENT_NAME).unwrap_or_default(),
        patient_birth_date: text(tags::PATIENT_BIRTH_DATE),
        patient_sex: text(tags::PATIENT_SEX),
        study_date: text(tags::STUDY_DATE),
        study_time: text(tags::STUDY_TIME),
        study_id: text(tags::STUDY_ID),
        accession_number: text(tags::ACCESSION_NUMBER),
    })
}
