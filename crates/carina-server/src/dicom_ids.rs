//! The DICOM identifiers of each stored image (Study, Series and SOP
//! Instance UID, SOP Class UID, Series and Instance Number, Study Date),
//! read from the served, de-identified file: at ingest for new images, and
//! by [`backfill`] for images stored before the columns existed.
//!
//! The backfill runs once in the background when the server starts
//! ([`spawn_backfill`]): it reads the stored file of every image whose
//! SOP Instance UID is unknown and records what it finds. Until it has
//! reached an image, DICOMweb does not list it (the study list does not
//! need the identifiers). A file it cannot read is logged and skipped (its
//! row stays as it was, and is tried again at the next start).

use crate::state::AppState;
use carina_imaging::Limits;
use carina_store::DicomIds;
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;

/// The identifiers a DICOM file carries; all `None` for bytes that are not
/// a readable DICOM file.
pub fn read(bytes: &[u8], limits: &Limits) -> DicomIds {
    match carina_imaging::read_dicom(bytes, limits) {
        Ok(obj) => of_object(&obj),
        Err(_) => DicomIds::default(),
    }
}

/// The identifiers of a parsed data set.
pub fn of_object(obj: &InMemDicomObject) -> DicomIds {
    DicomIds {
        study_instance_uid: text(obj, tags::STUDY_INSTANCE_UID),
        series_instance_uid: text(obj, tags::SERIES_INSTANCE_UID),
        sop_instance_uid: text(obj, tags::SOP_INSTANCE_UID),
        sop_class_uid: text(obj, tags::SOP_CLASS_UID),
        series_number: number(obj, tags::SERIES_NUMBER),
        instance_number: number(obj, tags::INSTANCE_NUMBER),
        study_date: text(obj, tags::STUDY_DATE),
    }
}

/// A string attribute without its padding; `None` when absent or empty.
pub fn text(obj: &InMemDicomObject, tag: dicom_core::Tag) -> Option<String> {
    let v = obj.element(tag).ok()?.to_str().ok()?;
    let v = v.trim_matches(['\0', ' ']);
    (!v.is_empty()).then(|| v.to_string())
}

fn number(obj: &InMemDicomObject, tag: dicom_core::Tag) -> Option<i64> {
    text(obj, tag)?.parse().ok()
}

/// Starts [`backfill`] in the background (see the module's note).
pub fn spawn_backfill(state: &AppState) -> tokio::task::JoinHandle<()> {
    let state = state.clone();
    tokio::spawn(async move {
        match backfill(&state).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(images = n, "DICOM identifiers read for stored images"),
            Err(e) => tracing::warn!(error = %e, "DICOM identifier backfill stopped"),
        }
    })
}

/// Reads the identifiers of every stored image that has none recorded;
/// returns how many images it filled.
pub async fn backfill(state: &AppState) -> Result<usize, carina_store::StoreError> {
    let mut after = 0;
    let mut filled = 0;
    loop {
        let batch = state.store.db.images_without_dicom_ids(after, 64).await?;
        let Some(&(last, _)) = batch.last() else {
            return Ok(filled);
        };
        after = last;
        for (id, key) in batch {
            let bytes = match state.store.objects.get(&key).await {
                Ok(b) => b,
                Err(e) => {
                    tracing::warn!(image_id = id, error = %e, "cannot read the stored file");
                    continue;
                }
            };
            let limits = state.config.stored_limits();
            let ids = tokio::task::spawn_blocking(move || read(&bytes, &limits))
                .await
                .unwrap_or_default();
            if ids.sop_instance_uid.is_none() {
                tracing::warn!(image_id = id, "the stored file names no SOP Instance UID");
                continue;
            }
            state.store.db.set_dicom_ids(id, &ids).await?;
            filled += 1;
        }
    }
}
