//! A signed radiology report as a DICOM SR: Comprehensive SR storage
//! (`1.2.840.10008.5.1.4.1.1.88.33`) following TID 2000 "Basic Diagnostic
//! Imaging Report".
//!
//! ```text
//! CONTAINER (LN 18748-4 "Diagnostic imaging report") [TID 2000]
//!   HAS CONCEPT MOD  CODE  Language of Content Item and Descendants = en-US
//!   HAS OBS CONTEXT  CODE  Observer Type = Person; PNAME Person Observer Name = the signer
//!   CONTAINS CONTAINER Findings (DCM 121070)
//!     CONTAINS CODE Finding (DCM 121071) = the label's code (docs/dicom-sr.md), per finding
//!       HAS PROPERTIES TEXT Finding (DCM 121071) = location, size and who found it
//!       INFERRED FROM  SCOORD Image Region (DCM 111030), POLYLINE of the box
//!         SELECTED FROM IMAGE the image
//!     CONTAINS TEXT Finding = "No finding" (a report with no findings)
//!   CONTAINS CONTAINER Impressions (DCM 121072)
//!     CONTAINS TEXT Impression (DCM 121073) = the impression
//! ```
//!
//! The document is `VERIFIED` by the signer (Verifying Observer Sequence);
//! every image is listed in the Current Requested Procedure Evidence
//! Sequence; an amendment names the SR of the report it amends in the
//! Predecessor Documents Sequence.

use std::collections::BTreeMap;
use std::time::SystemTime;

use carina_core::BBox;
use dicom_core::VR;
use dicom_dictionary_std::{tags, uids};

use crate::codes::{self, C, code};
use crate::items::{self, Obj, put, put_seq};
use crate::uid::derive_uid;
use crate::write::{
    CONTAINS, MOD, carina_scheme, check_image, creation_stamp, encode, invalid, person_observer,
    put_patient_and_study, valid_text,
};
use crate::{SrDocument, SrError, SrImageRef};

/// The SOP class of a report SR: Comprehensive SR Storage.
pub const COMPREHENSIVE_SR: &str = uids::COMPREHENSIVE_SR_STORAGE;

pub(crate) const DIAGNOSTIC_IMAGING_REPORT: C = ("LN", "18748-4", "Diagnostic imaging report");
const FINDINGS: C = ("DCM", "121070", "Findings");
const IMPRESSIONS: C = ("DCM", "121072", "Impressions");
const IMPRESSION: C = ("DCM", "121073", "Impression");

/// A signed report to write as an SR.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportSr {
    /// Carina's id of the report (`carina-report-12`): the SR's SOP
    /// Instance UID is derived from it, so the same report always gives the
    /// same UID and an amendment (a new report) another.
    pub report_id: String,
    /// The id of the report this one amends, named as predecessor.
    pub amends: Option<String>,
    /// The images reported on; the first gives the patient and study.
    pub images: Vec<SrImageRef>,
    pub findings: Vec<ReportSrFinding>,
    pub impression: String,
    pub no_finding: bool,
    /// Who signed it: the person observer and verifying observer.
    pub signer: String,
    pub signed_at: SystemTime,
    /// Carina's version, written as Software Versions.
    pub software_version: String,
}

/// One finding of a report.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportSrFinding {
    /// Index into [`ReportSr::images`].
    pub image: usize,
    /// The label name (coded through the finding table).
    pub label: String,
    pub bbox: BBox,
    /// Free text: where, how large, found by whom.
    pub description: Option<String>,
}

/// The SOP Instance UID of the SR of report `report_id`.
pub fn report_sr_uid(report_id: &str) -> String {
    derive_uid("carina-sr/report", &[report_id.as_bytes()])
}

/// Write a signed report as a Comprehensive SR (TID 2000), explicit VR
/// little endian. The SR's date and time are the signature's.
pub fn write_report_sr(r: &ReportSr) -> Result<Vec<u8>, SrError> {
    let first = r
        .images
        .first()
        .ok_or_else(|| invalid("a report SR needs at least one image".into()))?;
    for i in &r.images {
        check_image(i)?;
    }
    if !valid_text(&r.report_id, 64) || !valid_text(&r.software_version, 64) {
        return Err(invalid(
            "the report id and software version must be 1 to 64 characters".into(),
        ));
    }
    let doc = SrDocument::new(r.signed_at, &r.software_version);
    let (_, date, time) = creation_stamp(&doc)?;
    let sop_uid = report_sr_uid(&r.report_id);
    let mut o = Obj::new_empty();
    if !all_ascii(r) {
        put(&mut o, tags::SPECIFIC_CHARACTER_SET, VR::CS, "ISO_IR 192");
    }
    put(&mut o, tags::INSTANCE_CREATION_DATE, VR::DA, date.as_str());
    put(&mut o, tags::INSTANCE_CREATION_TIME, VR::TM, time.as_str());
    put(&mut o, tags::SOP_CLASS_UID, VR::UI, COMPREHENSIVE_SR);
    put(&mut o, tags::SOP_INSTANCE_UID, VR::UI, sop_uid.as_str());
    put_patient_and_study(&mut o, first);
    put_series(&mut o, first, r);
    put_document(&mut o, r, &date, &time);
    put_content(&mut o, r)?;
    encode(o, COMPREHENSIVE_SR, sop_uid)
}

fn all_ascii(r: &ReportSr) -> bool {
    let texts = [&r.impression, &r.signer, &r.report_id, &r.software_version];
    texts.iter().all(|s| s.is_ascii())
        && r.images
            .iter()
            .all(|i| i.patient_name.is_ascii() && i.patient_id.is_ascii())
        && r.findings
            .iter()
            .all(|f| f.label.is_ascii() && f.description.as_deref().unwrap_or("").is_ascii())
}

fn series_uid(study_uid: &str) -> String {
    derive_uid("carina-sr/report-series", &[study_uid.as_bytes()])
}

fn put_series(o: &mut Obj, first: &SrImageRef, r: &ReportSr) {
    put(o, tags::MODALITY, VR::CS, "SR");
    put(
        o,
        tags::SERIES_INSTANCE_UID,
        VR::UI,
        series_uid(&first.study_instance_uid).as_str(),
    );
    put(o, tags::SERIES_NUMBER, VR::IS, "9101");
    put(o, tags::SERIES_DESCRIPTION, VR::LO, "Carina report");
    put_seq(
        o,
        tags::REFERENCED_PERFORMED_PROCEDURE_STEP_SEQUENCE,
        vec![],
    );
    put(o, tags::MANUFACTURER, VR::LO, crate::CARINA_MANUFACTURER);
    put(o, tags::MANUFACTURER_MODEL_NAME, VR::LO, "Carina");
    put(
        o,
        tags::SOFTWARE_VERSIONS,
        VR::LO,
        r.software_version.as_str(),
    );
}

/// SR document general: verified by the signer, the images as evidence,
/// the amended report's SR as predecessor.
fn put_document(o: &mut Obj, r: &ReportSr, date: &str, time: &str) {
    put(o, tags::INSTANCE_NUMBER, VR::IS, "1");
    put(o, tags::CONTENT_DATE, VR::DA, date);
    put(o, tags::CONTENT_TIME, VR::TM, time);
    put(o, tags::COMPLETION_FLAG, VR::CS, "COMPLETE");
    put(o, tags::VERIFICATION_FLAG, VR::CS, "VERIFIED");
    let mut v = Obj::new_empty();
    put(
        &mut v,
        tags::VERIFYING_OBSERVER_NAME,
        VR::PN,
        r.signer.as_str(),
    );
    put_seq(
        &mut v,
        tags::VERIFYING_OBSERVER_IDENTIFICATION_CODE_SEQUENCE,
        vec![],
    );
    put(
        &mut v,
        tags::VERIFYING_ORGANIZATION,
        VR::LO,
        crate::CARINA_MANUFACTURER,
    );
    put(
        &mut v,
        tags::VERIFICATION_DATE_TIME,
        VR::DT,
        format!("{date}{time}").as_str(),
    );
    put_seq(o, tags::VERIFYING_OBSERVER_SEQUENCE, vec![v]);
    put_seq(o, tags::PERFORMED_PROCEDURE_CODE_SEQUENCE, vec![]);
    let refs: Vec<(&str, &str, &str, &str)> = r
        .images
        .iter()
        .map(|i| {
            (
                i.study_instance_uid.as_str(),
                i.series_instance_uid.as_str(),
                i.sop_class_uid.as_str(),
                i.sop_instance_uid.as_str(),
            )
        })
        .collect();
    put_seq(
        o,
        tags::CURRENT_REQUESTED_PROCEDURE_EVIDENCE_SEQUENCE,
        hierarchy(&refs),
    );
    if let (Some(prev), Some(first)) = (&r.amends, r.images.first()) {
        let study = first.study_instance_uid.as_str();
        let series = series_uid(study);
        let uid = report_sr_uid(prev);
        put_seq(
            o,
            tags::PREDECESSOR_DOCUMENTS_SEQUENCE,
            hierarchy(&[(study, &series, COMPREHENSIVE_SR, &uid)]),
        );
    }
    put_seq(
        o,
        tags::CODING_SCHEME_IDENTIFICATION_SEQUENCE,
        vec![carina_scheme()],
    );
}

/// SOP instances `(study, series, class, instance)` as a Hierarchical SOP
/// Instance Reference (studies, then series, then instances).
fn hierarchy(refs: &[(&str, &str, &str, &str)]) -> Vec<Obj> {
    let mut studies: BTreeMap<&str, BTreeMap<&str, Vec<Obj>>> = BTreeMap::new();
    for (study, series, class, instance) in refs {
        let mut sop = Obj::new_empty();
        put(&mut sop, tags::REFERENCED_SOP_CLASS_UID, VR::UI, *class);
        put(
            &mut sop,
            tags::REFERENCED_SOP_INSTANCE_UID,
            VR::UI,
            *instance,
        );
        studies
            .entry(study)
            .or_default()
            .entry(series)
            .or_default()
            .push(sop);
    }
    studies
        .into_iter()
        .map(|(study, series)| {
            let series_items = series
                .into_iter()
                .map(|(uid, sops)| {
                    let mut s = Obj::new_empty();
                    put_seq(&mut s, tags::REFERENCED_SOP_SEQUENCE, sops);
                    put(&mut s, tags::SERIES_INSTANCE_UID, VR::UI, uid);
                    s
                })
                .collect();
            let mut st = Obj::new_empty();
            put_seq(&mut st, tags::REFERENCED_SERIES_SEQUENCE, series_items);
            put(&mut st, tags::STUDY_INSTANCE_UID, VR::UI, study);
            st
        })
        .collect()
}

fn put_content(o: &mut Obj, r: &ReportSr) -> Result<(), SrError> {
    put(o, tags::VALUE_TYPE, VR::CS, "CONTAINER");
    put_seq(
        o,
        tags::CONCEPT_NAME_CODE_SEQUENCE,
        vec![items::code_obj(&code(DIAGNOSTIC_IMAGING_REPORT))],
    );
    put(o, tags::CONTINUITY_OF_CONTENT, VR::CS, "SEPARATE");
    items::template_seq(o, "2000");
    let mut content = vec![items::code_item(
        MOD,
        codes::LANGUAGE,
        &code(codes::ENGLISH_US),
    )];
    content.extend(person_observer(&r.signer).map_err(|m| invalid(format!("the signer: {m}")))?);
    let mut findings = Vec::with_capacity(r.findings.len());
    for (i, f) in r.findings.iter().enumerate() {
        findings.push(finding(r, f).map_err(|m| invalid(format!("finding {}: {m}", i + 1)))?);
    }
    if findings.is_empty() {
        findings.push(items::text(CONTAINS, codes::FINDING, "No finding"));
    }
    content.push(items::container(CONTAINS, FINDINGS, None, findings));
    if !r.impression.trim().is_empty() {
        content.push(items::container(
            CONTAINS,
            IMPRESSIONS,
            None,
            vec![items::text(CONTAINS, IMPRESSION, r.impression.trim())],
        ));
    }
    put_seq(o, tags::CONTENT_SEQUENCE, content);
    Ok(())
}

fn finding(r: &ReportSr, f: &ReportSrFinding) -> Result<Obj, String> {
    let image = r
        .images
        .get(f.image)
        .ok_or_else(|| "it names an image the report does not have".to_string())?;
    if f.label.trim().is_empty() {
        return Err("the label is empty".into());
    }
    let (c, site) = codes::code_for_label(&f.label);
    let mut o = items::code_item(CONTAINS, codes::FINDING, &c);
    let mut children = Vec::new();
    if let Some(site) = site {
        children.push(items::code_item(MOD, codes::FINDING_SITE, &site));
    }
    if let Some(d) = f.description.as_deref().filter(|d| !d.trim().is_empty()) {
        children.push(items::text("HAS PROPERTIES", codes::FINDING, d.trim()));
    }
    let b = f.bbox;
    let (x0, y0, x1, y1) = (b.x_min(), b.y_min(), b.x_max(), b.y_max());
    if [x0, y0, x1, y1].iter().any(|v| v.abs() > 1e7) {
        return Err("the box lies more than 10^7 pixels from the origin".into());
    }
    let source = items::image(
        "SELECTED FROM",
        codes::SOURCE,
        &image.sop_class_uid,
        &image.sop_instance_uid,
    );
    children.push(items::scoord(
        "INFERRED FROM",
        codes::IMAGE_REGION,
        "POLYLINE",
        &[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]],
        source,
    ));
    put_seq(&mut o, tags::CONTENT_SEQUENCE, children);
    Ok(o)
}
