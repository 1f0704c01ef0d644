//! A signed report's PDF as an Encapsulated PDF instance: the attributes a
//! PACS needs, the PDF back byte for byte (odd length padded), and dcmtk's
//! `dcmdump` and `dcm2pdf` read it.

use std::process::Command;
use std::time::{Duration, UNIX_EPOCH};

use carina_sr::{ENCAPSULATED_PDF, ReportPdf, SrError, report_pdf_uid, write_encapsulated_pdf};
use dicom_dictionary_std::tags;

use crate::*;

/// A small but real PDF of odd length (one page, no content).
fn pdf() -> Vec<u8> {
    let mut p = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n\
2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n\
3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]>>endobj\n\
trailer<</Root 1 0 R>>\n%%EOF\n"
        .to_vec();
    if p.len().is_multiple_of(2) {
        p.push(b'\n');
    }
    p
}

fn report_pdf() -> ReportPdf {
    ReportPdf {
        report_id: "carina-report-12".into(),
        images: vec![image()],
        title: "Carina chest X-ray report 12, version 1".into(),
        pdf: pdf(),
        signed_at: UNIX_EPOCH + Duration::from_secs(1_795_637_703),
        software_version: "0.1.0-test".into(),
    }
}

fn text(obj: &dicom_object::DefaultDicomObject, tag: dicom_core::Tag) -> String {
    obj.element(tag)
        .unwrap()
        .to_str()
        .unwrap()
        .trim_end_matches(['\0', ' '])
        .to_string()
}

#[test]
fn encapsulated_pdf_holds_the_pdf_and_the_patient_of_the_image() {
    let r = report_pdf();
    assert_eq!(r.pdf.len() % 2, 1, "the test PDF has an odd length");
    let bytes = write_encapsulated_pdf(&r).unwrap();
    let obj = open(&bytes);
    assert_eq!(text(&obj, tags::SOP_CLASS_UID), ENCAPSULATED_PDF);
    assert_eq!(ENCAPSULATED_PDF, "1.2.840.10008.5.1.4.1.1.104.1");
    assert_eq!(
        obj.meta()
            .media_storage_sop_class_uid()
            .trim_end_matches('\0'),
        ENCAPSULATED_PDF
    );
    assert_eq!(
        text(&obj, tags::SOP_INSTANCE_UID),
        report_pdf_uid("carina-report-12")
    );
    assert_eq!(text(&obj, tags::PATIENT_ID), "PSEUDO-7F3A");
    assert_eq!(text(&obj, tags::PATIENT_NAME), "PSEUDO-7F3A");
    assert_eq!(text(&obj, tags::STUDY_INSTANCE_UID), "2.25.111");
    assert_eq!(text(&obj, tags::MODALITY), "DOC");
    assert_eq!(text(&obj, tags::CONVERSION_TYPE), "WSD");
    assert_eq!(text(&obj, tags::BURNED_IN_ANNOTATION), "YES");
    assert_eq!(
        text(&obj, tags::MIME_TYPE_OF_ENCAPSULATED_DOCUMENT),
        "application/pdf"
    );
    assert_eq!(
        text(&obj, tags::DOCUMENT_TITLE),
        "Carina chest X-ray report 12, version 1"
    );
    let concept = &obj
        .element(tags::CONCEPT_NAME_CODE_SEQUENCE)
        .unwrap()
        .items()
        .unwrap()[0];
    assert_eq!(
        concept
            .element(tags::CODE_VALUE)
            .unwrap()
            .to_str()
            .unwrap()
            .trim(),
        "18748-4"
    );
    let source = &obj
        .element(tags::SOURCE_INSTANCE_SEQUENCE)
        .unwrap()
        .items()
        .unwrap()[0];
    assert_eq!(
        source
            .element(tags::REFERENCED_SOP_INSTANCE_UID)
            .unwrap()
            .to_str()
            .unwrap()
            .trim_end_matches('\0'),
        IMAGE_UID
    );
    // The document: padded to an even length, its length the PDF's.
    let doc = obj
        .element(tags::ENCAPSULATED_DOCUMENT)
        .unwrap()
        .to_bytes()
        .unwrap();
    assert_eq!(doc.len(), r.pdf.len() + 1);
    assert_eq!(doc[r.pdf.len()], 0);
    let len = obj
        .element(tags::ENCAPSULATED_DOCUMENT_LENGTH)
        .unwrap()
        .to_int::<u32>()
        .unwrap();
    assert_eq!(len as usize, r.pdf.len());
    assert_eq!(&doc[..len as usize], r.pdf.as_slice());
    // The same report gives the same bytes; an amendment another UID.
    assert_eq!(write_encapsulated_pdf(&r).unwrap(), bytes);
    assert_ne!(
        report_pdf_uid("carina-report-13"),
        report_pdf_uid("carina-report-12")
    );
    assert_ne!(
        report_pdf_uid("carina-report-12"),
        carina_sr::report_sr_uid("carina-report-12")
    );
}

#[test]
fn encapsulated_pdf_refuses_what_it_cannot_write() {
    let mut r = report_pdf();
    r.images.clear();
    assert!(matches!(
        write_encapsulated_pdf(&r),
        Err(SrError::InvalidInput(_))
    ));
    let mut r = report_pdf();
    r.pdf = b"<html>not a pdf</html>".to_vec();
    let e = write_encapsulated_pdf(&r).unwrap_err().to_string();
    assert!(e.contains("not a PDF"), "{e}");
    let mut r = report_pdf();
    r.images[0].study_instance_uid = "not a uid".into();
    let e = write_encapsulated_pdf(&r).unwrap_err().to_string();
    assert!(e.contains("Study Instance UID"), "{e}");
}

#[test]
fn dcmtk_reads_the_encapsulated_pdf() {
    if Command::new("dcm2pdf").arg("--version").output().is_err() {
        assert!(!required(), "CI must have dcmtk's dcm2pdf");
        eprintln!("note: dcm2pdf (dcmtk) is not installed; skipping");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let r = report_pdf();
    let dcm = dir.path().join("report.dcm");
    std::fs::write(&dcm, write_encapsulated_pdf(&r).unwrap()).unwrap();
    let out = Command::new("dcmdump")
        .arg("-dc")
        .arg(&dcm)
        .output()
        .unwrap();
    let dump = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.trim().is_empty(),
        "dcmdump:\n{stderr}"
    );
    assert!(dump.contains("=EncapsulatedPDFStorage"), "{dump}");
    assert!(dump.contains("[application/pdf ]"), "{dump}");
    let pdf = dir.path().join("report.pdf");
    let out = Command::new("dcm2pdf")
        .arg(&dcm)
        .arg(&pdf)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "dcm2pdf:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let back = std::fs::read(&pdf).unwrap();
    // dcm2pdf 3.6.7 keeps the padding byte; newer ones cut at the length.
    assert!(
        back == r.pdf || back[..r.pdf.len()] == r.pdf[..] && back[r.pdf.len()..] == [0],
        "dcm2pdf gave {} bytes for a {}-byte PDF",
        back.len(),
        r.pdf.len()
    );
}
