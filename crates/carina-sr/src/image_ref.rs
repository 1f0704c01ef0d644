//! The attributes an SR copies from the image it is about, read from the
//! image's DICOM file (its header only), and telling an SR from an image.

use dicom_dictionary_std::{tags, uids};
use dicom_object::file::ReadPreamble;
use dicom_object::{FileMetaTable, OpenFileOptions};

use crate::tree::string;
use crate::{SrError, SrImageRef};

/// Every SR storage class (Basic Text, Enhanced, Comprehensive,
/// Comprehensive 3D, Extensible): what [`is_sr`] recognises.
pub const SR_STORAGE_CLASSES: [&str; 5] = [
    uids::BASIC_TEXT_SR_STORAGE,
    uids::ENHANCED_SR_STORAGE,
    uids::COMPREHENSIVE_SR_STORAGE,
    uids::COMPREHENSIVE3_DSR_STORAGE,
    uids::EXTENSIBLE_SR_STORAGE,
];

fn dicm_offset(bytes: &[u8]) -> Option<usize> {
    if bytes.len() >= 132 && &bytes[128..132] == b"DICM" {
        Some(128)
    } else if bytes.starts_with(b"DICM") {
        Some(0)
    } else {
        None
    }
}

/// The Media Storage SOP Class UID of a DICOM Part 10 file (its file meta
/// group only), `None` when `bytes` is not one.
pub fn media_storage_sop_class(bytes: &[u8]) -> Option<String> {
    let off = dicm_offset(bytes)?;
    let meta = FileMetaTable::from_reader(&bytes[off..]).ok()?;
    Some(
        meta.media_storage_sop_class_uid()
            .trim_end_matches(['\0', ' '])
            .to_string(),
    )
}

/// Whether `bytes` is a DICOM Part 10 file of an SR storage class (by its
/// file meta group; the content is not read). The DICOM node and STOW-RS use
/// it to send an SR to import rather than to image ingest.
pub fn is_sr(bytes: &[u8]) -> bool {
    media_storage_sop_class(bytes).is_some_and(|c| SR_STORAGE_CLASSES.contains(&c.as_str()))
}

/// The image reference of a DICOM image file: SOP class and instance, study
/// and series UIDs and the patient and study attributes an SR copies. Reads
/// the header up to the pixel data (the pixels are never decoded).
pub fn image_ref_from_dicom(bytes: &[u8]) -> Result<SrImageRef, SrError> {
    let off = dicm_offset(bytes).ok_or(SrError::NotDicom)?;
    let obj = OpenFileOptions::new()
        .read_preamble(ReadPreamble::Never)
        .read_until(tags::PIXEL_DATA)
        .from_reader(&bytes[off..])
        .map_err(|e| SrError::Malformed(e.to_string()))?;
    let s = |tag| string(&obj, tag);
    let required = |tag, what: &str| {
        s(tag).ok_or_else(|| SrError::InvalidInput(format!("the image has no {what}")))
    };
    let sop_class_uid = match s(tags::SOP_CLASS_UID) {
        Some(c) => c,
        None => obj
            .meta()
            .media_storage_sop_class_uid()
            .trim_end_matches(['\0', ' '])
            .to_string(),
    };
    Ok(SrImageRef {
        sop_class_uid,
        sop_instance_uid: required(tags::SOP_INSTANCE_UID, "SOP Instance UID")?,
        study_instance_uid: required(tags::STUDY_INSTANCE_UID, "Study Instance UID")?,
        series_instance_uid: required(tags::SERIES_INSTANCE_UID, "Series Instance UID")?,
        patient_id: s(tags::PATIENT_ID).unwrap_or_default(),
        patient_name: s(tags::PATIENT_NAME).unwrap_or_default(),
        patient_birth_date: s(tags::PATIENT_BIRTH_DATE),
        patient_sex: s(tags::PATIENT_SEX),
        study_date: s(tags::STUDY_DATE),
        study_time: s(tags::STUDY_TIME),
        study_id: s(tags::STUDY_ID),
        accession_number: s(tags::ACCESSION_NUMBER),
    })
}
