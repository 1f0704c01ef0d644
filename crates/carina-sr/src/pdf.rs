//! A signed report's PDF as a DICOM Encapsulated PDF instance (Encapsulated
//! PDF Storage, `1.2.840.10008.5.1.4.1.1.104.1`, PS3.3 A.45.1), what a PACS
//! shows beside the images. Patient and study are the first image's (the
//! served, de-identified file), as in the report's SR; the images are the
//! Source Instance Sequence; the PDF is the Encapsulated Document, padded
//! with one NUL to an even length, its own length in Encapsulated Document
//! Length.

use std::time::SystemTime;

use dicom_core::VR;
use dicom_dictionary_std::{tags, uids};

use crate::codes::code;
use crate::items::{self, Obj, put, put_seq};
use crate::uid::derive_uid;
use crate::write::{
    check_image, creation_stamp, encode, invalid, put_patient_and_study, valid_text,
};
use crate::{SrDocument, SrError, SrImageRef};

/// The SOP class: Encapsulated PDF Storage.
pub const ENCAPSULATED_PDF: &str = uids::ENCAPSULATED_PDF_STORAGE;
/// The largest PDF encapsulated (the Encapsulated Document Length is 32-bit;
/// a report is about 55 KB).
pub const MAX_PDF_BYTES: usize = 64 << 20;

/// A signed report's PDF to encapsulate.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportPdf {
    /// Carina's id of the report (`carina-report-12`): the instance's SOP
    /// Instance UID is derived from it, so a signed report always gives the
    /// same UID and an amendment another.
    pub report_id: String,
    /// The images reported on; the first gives the patient and study.
    pub images: Vec<SrImageRef>,
    /// Document Title (e.g. "Carina chest X-ray report 12, version 1").
    pub title: String,
    pub pdf: Vec<u8>,
    pub signed_at: SystemTime,
    /// Carina's version, written as Software Versions.
    pub software_version: String,
}

/// The SOP Instance UID of the Encapsulated PDF of report `report_id`.
pub fn report_pdf_uid(report_id: &str) -> String {
    derive_uid("carina-sr/report-pdf", &[report_id.as_bytes()])
}

/// Write `r` as an Encapsulated PDF instance, explicit VR little endian.
pub fn write_encapsulated_pdf(r: &ReportPdf) -> Result<Vec<u8>, SrError> {
    let first = r
        .images
        .first()
        .ok_or_else(|| invalid("an encapsulated report needs at least one image".into()))?;
    for i in &r.images {
        check_image(i)?;
    }
    if !r.pdf.starts_with(b"%PDF-") {
        return Err(invalid(
            "the document is not a PDF (no %PDF- header)".into(),
        ));
    }
    if r.pdf.len() > MAX_PDF_BYTES {
        return Err(invalid(format!(
            "the PDF is {} bytes, more than the {MAX_PDF_BYTES} encapsulated",
            r.pdf.len()
        )));
    }
    if !valid_text(&r.report_id, 64)
        || !valid_text(&r.software_version, 64)
        || !valid_text(&r.title, 1024)
    {
        return Err(invalid(
            "the report id and software version must be 1 to 64 characters, the title 1 to 1024"
                .into(),
        ));
    }
    let doc = SrDocument::new(r.signed_at, &r.software_version);
    let (_, date, time) = creation_stamp(&doc)?;
    let sop_uid = report_pdf_uid(&r.report_id);
    let mut o = Obj::new_empty();
    let ascii = r.title.is_ascii()
        && r.images
            .iter()
            .all(|i| i.patient_name.is_ascii() && i.patient_id.is_ascii());
    if !ascii {
        put(&mut o, tags::SPECIFIC_CHARACTER_SET, VR::CS, "ISO_IR 192");
    }
    put(&mut o, tags::INSTANCE_CREATION_DATE, VR::DA, date.as_str());
    put(&mut o, tags::INSTANCE_CREATION_TIME, VR::TM, time.as_str());
    put(&mut o, tags::SOP_CLASS_UID, VR::UI, ENCAPSULATED_PDF);
    put(&mut o, tags::SOP_INSTANCE_UID, VR::UI, sop_uid.as_str());
    put_patient_and_study(&mut o, first);
    put_series_and_equipment(&mut o, first, r);
    put_document(&mut o, r, &date, &time);
    encode(o, ENCAPSULATED_PDF, sop_uid)
}

/// Encapsulated Document Series (one series of report PDFs per study),
/// General and SC Equipment.
fn put_series_and_equipment(o: &mut Obj, first: &SrImageRef, r: &ReportPdf) {
    let series = derive_uid(
        "carina-sr/report-pdf-series",
        &[first.study_instance_uid.as_bytes()],
    );
    put(o, tags::MODALITY, VR::CS, "DOC");
    put(o, tags::SERIES_INSTANCE_UID, VR::UI, series.as_str());
    put(o, tags::SERIES_NUMBER, VR::IS, "9102");
    put(o, tags::SERIES_DESCRIPTION, VR::LO, "Carina report (PDF)");
    put(o, tags::MANUFACTURER, VR::LO, crate::CARINA_MANUFACTURER);
    put(o, tags::MANUFACTURER_MODEL_NAME, VR::LO, "Carina");
    put(
        o,
        tags::SOFTWARE_VERSIONS,
        VR::LO,
        r.software_version.as_str(),
    );
    // SC Equipment: made on a workstation.
    put(o, tags::CONVERSION_TYPE, VR::CS, "WSD");
}

/// Encapsulated Document module: the PDF, its title and concept, and the
/// images it was made from.
fn put_document(o: &mut Obj, r: &ReportPdf, date: &str, time: &str) {
    put(o, tags::INSTANCE_NUMBER, VR::IS, "1");
    put(o, tags::CONTENT_DATE, VR::DA, date);
    put(o, tags::CONTENT_TIME, VR::TM, time);
    put(
        o,
        tags::ACQUISITION_DATE_TIME,
        VR::DT,
        format!("{date}{time}").as_str(),
    );
    // The report shows the patient pseudonym and study as text.
    put(o, tags::BURNED_IN_ANNOTATION, VR::CS, "YES");
    put(o, tags::DOCUMENT_TITLE, VR::ST, r.title.as_str());
    put_seq(
        o,
        tags::CONCEPT_NAME_CODE_SEQUENCE,
        vec![items::code_obj(&code(
            crate::report::DIAGNOSTIC_IMAGING_REPORT,
        ))],
    );
    put(o, tags::VERIFICATION_FLAG, VR::CS, "VERIFIED");
    let sources = r
        .images
        .iter()
        .map(|i| {
            let mut s = Obj::new_empty();
            put(
                &mut s,
                tags::REFERENCED_SOP_CLASS_UID,
                VR::UI,
                i.sop_class_uid.as_str(),
            );
            put(
                &mut s,
                tags::REFERENCED_SOP_INSTANCE_UID,
                VR::UI,
                i.sop_instance_uid.as_str(),
            );
            s
        })
        .collect();
    put_seq(o, tags::SOURCE_INSTANCE_SEQUENCE, sources);
    put(
        o,
        tags::MIME_TYPE_OF_ENCAPSULATED_DOCUMENT,
        VR::LO,
        "application/pdf",
    );
    let mut padded = r.pdf.clone();
    if padded.len() % 2 == 1 {
        padded.push(0);
    }
    put(o, tags::ENCAPSULATED_DOCUMENT, VR::OB, padded);
    put(
        o,
        tags::ENCAPSULATED_DOCUMENT_LENGTH,
        VR::UL,
        r.pdf.len() as u32,
    );
}
