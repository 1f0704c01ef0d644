//! Writing the TID 1500 Measurement Report.
//!
//! Content tree (relationship, value type, concept name):
//!
//! ```text
//! CONTAINER (DCM 126000 "Imaging Measurement Report") [TID 1500]
//!   HAS CONCEPT MOD  CODE  Language of Content Item and Descendants = en-US
//!   HAS OBS CONTEXT  CODE  Observer Type = Device; UIDREF/TEXT device "Carina"
//!   HAS CONCEPT MOD  CODE  Procedure reported = (LN 43468-8 "XR unspecified body region")
//!   CONTAINS CONTAINER Imaging Measurements (DCM 126010)
//!     CONTAINS CONTAINER Measurement Group (DCM 125007) [TID 1410], per box:
//!       HAS OBS CONTEXT  TEXT   Tracking Identifier = box id
//!       HAS OBS CONTEXT  UIDREF Tracking Unique Identifier
//!       HAS OBS CONTEXT  CODE   Observer Type = Person | Device, then
//!                        PNAME  Person Observer Name, or the device's UID, name,
//!                               manufacturer "Carina", model name
//!       CONTAINS         CODE   Finding = the label's code
//!       HAS CONCEPT MOD  CODE   Finding Site (only where the table has one)
//!       HAS CONCEPT MOD  TEXT   Algorithm Name, Algorithm Version (model boxes)
//!       CONTAINS         SCOORD Image Region: POLYLINE of 5 points
//!         SELECTED FROM  IMAGE  the referenced image
//!       CONTAINS         CODE   Carina box status (99CARINA) = accepted | …
//! ```

use std::time::UNIX_EPOCH;

use carina_core::{BoxStatus, Provenance};
use dicom_core::VR;
use dicom_dictionary_std::{tags, uids};
use dicom_object::FileMetaTableBuilder;

use crate::codes::{self, C, CARINA_SCHEME, Code, code};
use crate::items::{self, Obj, put, put_seq};
use crate::uid::{derive_uid, is_valid_uid, tracking_uid};
use crate::{SrBox, SrDocument, SrError, SrImageRef};

/// The SOP class Carina writes: Comprehensive 3D SR Storage.
pub const COMPREHENSIVE_3D_SR: &str = uids::COMPREHENSIVE3_DSR_STORAGE;
/// Manufacturer written in the equipment module and for model observers.
pub const CARINA_MANUFACTURER: &str = "Carina";
/// Implementation Class UID and version name (the same as carina-imaging's).
const IMPLEMENTATION_CLASS_UID: &str = "2.25.178349563254208817327512958016632704577";
const IMPLEMENTATION_VERSION: &str = "CARINA_010";
/// Most boxes one SR holds (about 5.5 MB, within the reader's 8 MiB).
pub const MAX_BOXES: usize = 2_000;

pub(crate) const CONTAINS: &str = "CONTAINS";
pub(crate) const OBS: &str = "HAS OBS CONTEXT";
pub(crate) const MOD: &str = "HAS CONCEPT MOD";

/// Write `boxes` on `image` as a TID 1500 Measurement Report (Comprehensive
/// 3D SR, explicit VR little endian, UTF-8). Boxes are written in the order
/// given; an empty list gives a report without measurements.
pub fn write_measurement_report(
    image: &SrImageRef,
    boxes: &[SrBox],
    doc: &SrDocument,
) -> Result<Vec<u8>, SrError> {
    let groups = check_and_group(image, boxes)?;
    let (secs, date, time) = creation_stamp(doc)?;
    let sop_uid = sop_instance_uid(image, boxes, doc, secs)?;
    if !valid_text(&doc.software_version, 64) {
        return Err(invalid(
            "the software version must be 1 to 64 characters".into(),
        ));
    }

    let mut o = Obj::new_empty();
    // The default repertoire when every text is ASCII (dcmtk's VR checker
    // warns about UTF-8, which it cannot check); UTF-8 otherwise.
    if !(all_ascii(image, boxes) && doc.software_version.is_ascii()) {
        put(&mut o, tags::SPECIFIC_CHARACTER_SET, VR::CS, "ISO_IR 192");
    }
    put(&mut o, tags::INSTANCE_CREATION_DATE, VR::DA, date.as_str());
    put(&mut o, tags::INSTANCE_CREATION_TIME, VR::TM, time.as_str());
    put(&mut o, tags::SOP_CLASS_UID, VR::UI, COMPREHENSIVE_3D_SR);
    put(&mut o, tags::SOP_INSTANCE_UID, VR::UI, sop_uid.as_str());
    put_patient_and_study(&mut o, image);
    put_series_and_equipment(&mut o, image, doc);
    put_document_general(&mut o, image, &date, &time);
    put_content(&mut o, groups);
    encode(o, COMPREHENSIVE_3D_SR, sop_uid)
}

/// The image reference and the boxes checked; one planar ROI group per box.
fn check_and_group(image: &SrImageRef, boxes: &[SrBox]) -> Result<Vec<Obj>, SrError> {
    check_image(image)?;
    if boxes.len() > MAX_BOXES {
        return Err(invalid(format!(
            "{} boxes, more than the {MAX_BOXES} one SR holds",
            boxes.len()
        )));
    }
    let mut groups = Vec::with_capacity(boxes.len());
    for (i, b) in boxes.iter().enumerate() {
        groups.push(group(image, b).map_err(|m| invalid(format!("box {}: {m}", i + 1)))?);
    }
    Ok(groups)
}

/// The creation time in seconds, and as DICOM DA and TM.
pub(crate) fn creation_stamp(doc: &SrDocument) -> Result<(u64, String, String), SrError> {
    let secs = doc
        .created
        .duration_since(UNIX_EPOCH)
        .map_err(|_| invalid("the creation time is before 1970".into()))?
        .as_secs();
    if secs > 253_402_300_799 {
        return Err(invalid("the creation time is after the year 9999".into()));
    }
    // "2026-11-25T20:15:03Z" → DA 20261125, TM 201503.
    let stamp = carina_core::time::rfc3339(secs);
    let date: String = stamp[..10].chars().filter(char::is_ascii_digit).collect();
    let time: String = stamp[11..19].chars().filter(char::is_ascii_digit).collect();
    Ok((secs, date, time))
}

/// The caller's SOP Instance UID, or one derived from the image, the time
/// and the boxes (the same SR gets the same UID).
fn sop_instance_uid(
    image: &SrImageRef,
    boxes: &[SrBox],
    doc: &SrDocument,
    secs: u64,
) -> Result<String, SrError> {
    Ok(match &doc.sop_instance_uid {
        Some(u) if is_valid_uid(u) => u.clone(),
        Some(_) => {
            return Err(invalid(
                "the SR's SOP Instance UID is not a valid UID".into(),
            ));
        }
        None => derive_uid(
            "carina-sr/sop",
            &[
                image.sop_instance_uid.as_bytes(),
                &secs.to_le_bytes(),
                fingerprint(boxes).as_bytes(),
            ],
        ),
    })
}

/// Patient and general study modules, copied from the image.
pub(crate) fn put_patient_and_study(o: &mut Obj, image: &SrImageRef) {
    put(o, tags::PATIENT_NAME, VR::PN, image.patient_name.as_str());
    put(o, tags::PATIENT_ID, VR::LO, image.patient_id.as_str());
    put(
        o,
        tags::PATIENT_BIRTH_DATE,
        VR::DA,
        opt(&image.patient_birth_date),
    );
    put(o, tags::PATIENT_SEX, VR::CS, opt(&image.patient_sex));
    put(
        o,
        tags::STUDY_INSTANCE_UID,
        VR::UI,
        image.study_instance_uid.as_str(),
    );
    put(o, tags::STUDY_DATE, VR::DA, opt(&image.study_date));
    put(o, tags::STUDY_TIME, VR::TM, opt(&image.study_time));
    put(o, tags::REFERRING_PHYSICIAN_NAME, VR::PN, "");
    put(o, tags::STUDY_ID, VR::SH, opt(&image.study_id));
    put(
        o,
        tags::ACCESSION_NUMBER,
        VR::SH,
        opt(&image.accession_number),
    );
}

/// SR document series (one series of Carina SRs per study) and general equipment.
fn put_series_and_equipment(o: &mut Obj, image: &SrImageRef, doc: &SrDocument) {
    let series_uid = derive_uid("carina-sr/series", &[image.study_instance_uid.as_bytes()]);
    put(o, tags::MODALITY, VR::CS, "SR");
    put(o, tags::SERIES_INSTANCE_UID, VR::UI, series_uid.as_str());
    put(o, tags::SERIES_NUMBER, VR::IS, "9100");
    put(
        o,
        tags::SERIES_DESCRIPTION,
        VR::LO,
        "Carina measurement report",
    );
    put_seq(
        o,
        tags::REFERENCED_PERFORMED_PROCEDURE_STEP_SEQUENCE,
        vec![],
    );
    // General equipment.
    put(o, tags::MANUFACTURER, VR::LO, CARINA_MANUFACTURER);
    put(o, tags::MANUFACTURER_MODEL_NAME, VR::LO, "Carina");
    put(
        o,
        tags::SOFTWARE_VERSIONS,
        VR::LO,
        doc.software_version.as_str(),
    );
}

/// SR document general: instance, content date and time, flags, evidence.
fn put_document_general(o: &mut Obj, image: &SrImageRef, date: &str, time: &str) {
    put(o, tags::INSTANCE_NUMBER, VR::IS, "1");
    put(o, tags::CONTENT_DATE, VR::DA, date);
    put(o, tags::CONTENT_TIME, VR::TM, time);
    put(o, tags::COMPLETION_FLAG, VR::CS, "COMPLETE");
    put(o, tags::VERIFICATION_FLAG, VR::CS, "UNVERIFIED");
    put_seq(o, tags::PERFORMED_PROCEDURE_CODE_SEQUENCE, vec![]);
    put_seq(
        o,
        tags::CURRENT_REQUESTED_PROCEDURE_EVIDENCE_SEQUENCE,
        vec![evidence(image)],
    );
    put_seq(
        o,
        tags::CODING_SCHEME_IDENTIFICATION_SEQUENCE,
        vec![carina_scheme()],
    );
}

/// SR document content: the root container (TID 1500) with the language,
/// the device observer, the procedure and the measurement groups.
fn put_content(o: &mut Obj, groups: Vec<Obj>) {
    put(o, tags::VALUE_TYPE, VR::CS, "CONTAINER");
    put_seq(
        o,
        tags::CONCEPT_NAME_CODE_SEQUENCE,
        vec![items::code_obj(&code(codes::IMAGING_MEASUREMENT_REPORT))],
    );
    put(o, tags::CONTINUITY_OF_CONTENT, VR::CS, "SEPARATE");
    items::template_seq(o, "1500");
    let mut content = vec![items::code_item(
        MOD,
        codes::LANGUAGE,
        &code(codes::ENGLISH_US),
    )];
    content.extend(device_observer(
        &derive_uid("carina-sr/device", &[CARINA_MANUFACTURER.as_bytes()]),
        "Carina",
        "Carina",
    ));
    content.push(items::code_item(
        MOD,
        codes::PROCEDURE_REPORTED,
        &code(codes::XR_UNSPECIFIED),
    ));
    if !groups.is_empty() {
        content.push(items::container(
            CONTAINS,
            codes::IMAGING_MEASUREMENTS,
            None,
            groups,
        ));
    }
    put_seq(o, tags::CONTENT_SEQUENCE, content);
}

/// The Part 10 file, explicit VR little endian.
pub(crate) fn encode(o: Obj, sop_class: &str, sop_uid: String) -> Result<Vec<u8>, SrError> {
    let file = o
        .with_meta(
            FileMetaTableBuilder::new()
                .transfer_syntax(uids::EXPLICIT_VR_LITTLE_ENDIAN)
                .media_storage_sop_class_uid(sop_class)
                .media_storage_sop_instance_uid(sop_uid)
                .implementation_class_uid(IMPLEMENTATION_CLASS_UID)
                .implementation_version_name(IMPLEMENTATION_VERSION),
        )
        .map_err(|e| SrError::Encode(e.to_string()))?;
    let mut out = Vec::new();
    file.write_all(&mut out)
        .map_err(|e| SrError::Encode(e.to_string()))?;
    Ok(out)
}
/// Whether every text the SR will hold is ASCII.
fn all_ascii(image: &SrImageRef, boxes: &[SrBox]) -> bool {
    let image_texts = [&image.patient_id, &image.patient_name];
    let box_texts = boxes.iter().flat_map(|b| {
        let who: Vec<&String> = match &b.provenance {
            Provenance::Radiologist { user } => vec![user],
            Provenance::Consensus { user, readers } => {
                std::iter::once(user).chain(readers).collect()
            }
            Provenance::Model { model, version } => vec![model, version],
        };
        who.into_iter().chain([&b.box_id, &b.label])
    });
    image_texts
        .into_iter()
        .chain(box_texts)
        .all(|s| s.is_ascii())
        && [&image.study_id, &image.accession_number]
            .iter()
            .all(|s| opt(s).is_ascii())
}

pub(crate) fn invalid(m: String) -> SrError {
    SrError::InvalidInput(m)
}

fn opt(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("")
}

/// 1..=`max` characters, none of them a control character or a backslash
/// (the DICOM value separator).
pub(crate) fn valid_text(s: &str, max: usize) -> bool {
    let n = s.chars().count();
    (1..=max).contains(&n) && !s.chars().any(|c| c.is_control() || c == '\\')
}

/// The image's attributes against their VRs (the message names the
/// attribute, never its value).
pub(crate) fn check_image(i: &SrImageRef) -> Result<(), SrError> {
    for (what, uid) in [
        ("SOP Class UID", &i.sop_class_uid),
        ("SOP Instance UID", &i.sop_instance_uid),
        ("Study Instance UID", &i.study_instance_uid),
        ("Series Instance UID", &i.series_instance_uid),
    ] {
        if !is_valid_uid(uid) {
            return Err(invalid(format!("the image's {what} is not a valid UID")));
        }
    }
    let fits = |s: &str, max: usize| {
        s.chars().count() <= max && !s.chars().any(|c| c.is_control() || c == '\\')
    };
    let date = |s: &str| s.is_empty() || (s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit()));
    let time = |s: &str| {
        s.is_empty()
            || (s.len() >= 2
                && s.len() <= 13
                && s.bytes().take(2).all(|b| b.is_ascii_digit())
                && s.bytes().all(|b| b.is_ascii_digit() || b == b'.'))
    };
    let checks = [
        ("Patient ID", fits(&i.patient_id, 64)),
        ("Patient's Name", fits(&i.patient_name, 64 * 3 + 2)),
        ("Study ID", fits(opt(&i.study_id), 16)),
        ("Accession Number", fits(opt(&i.accession_number), 16)),
        (
            "Patient's Sex",
            matches!(opt(&i.patient_sex), "" | "M" | "F" | "O"),
        ),
        ("Patient's Birth Date", date(opt(&i.patient_birth_date))),
        ("Study Date", date(opt(&i.study_date))),
        ("Study Time", time(opt(&i.study_time))),
    ];
    match checks.iter().find(|(_, ok)| !ok) {
        Some((what, _)) => Err(invalid(format!(
            "the image's {what} does not fit its DICOM type"
        ))),
        None => Ok(()),
    }
}

/// The evidence: the one referenced image, by study and series.
fn evidence(image: &SrImageRef) -> Obj {
    let mut sop = Obj::new_empty();
    put(
        &mut sop,
        tags::REFERENCED_SOP_CLASS_UID,
        VR::UI,
        image.sop_class_uid.as_str(),
    );
    put(
        &mut sop,
        tags::REFERENCED_SOP_INSTANCE_UID,
        VR::UI,
        image.sop_instance_uid.as_str(),
    );
    let mut series = Obj::new_empty();
    put_seq(&mut series, tags::REFERENCED_SOP_SEQUENCE, vec![sop]);
    put(
        &mut series,
        tags::SERIES_INSTANCE_UID,
        VR::UI,
        image.series_instance_uid.as_str(),
    );
    let mut study = Obj::new_empty();
    put_seq(&mut study, tags::REFERENCED_SERIES_SEQUENCE, vec![series]);
    put(
        &mut study,
        tags::STUDY_INSTANCE_UID,
        VR::UI,
        image.study_instance_uid.as_str(),
    );
    study
}

/// Coding Scheme Identification of `99CARINA`.
pub(crate) fn carina_scheme() -> Obj {
    let mut s = Obj::new_empty();
    put(
        &mut s,
        tags::CODING_SCHEME_DESIGNATOR,
        VR::SH,
        CARINA_SCHEME,
    );
    put(
        &mut s,
        tags::CODING_SCHEME_NAME,
        VR::ST,
        "Carina private codes (docs/dicom-sr.md)",
    );
    put(
        &mut s,
        tags::CODING_SCHEME_RESPONSIBLE_ORGANIZATION,
        VR::ST,
        CARINA_MANUFACTURER,
    );
    s
}

/// TID 1002/1004: a device observer.
fn device_observer(uid: &str, name: &str, model_name: &str) -> Vec<Obj> {
    vec![
        items::code_item(OBS, codes::OBSERVER_TYPE, &code(codes::DEVICE)),
        items::uidref(OBS, codes::DEVICE_OBSERVER_UID, uid),
        items::text(OBS, codes::DEVICE_OBSERVER_NAME, name),
        items::text(
            OBS,
            codes::DEVICE_OBSERVER_MANUFACTURER,
            CARINA_MANUFACTURER,
        ),
        items::text(OBS, codes::DEVICE_OBSERVER_MODEL_NAME, model_name),
    ]
}

/// TID 1002/1003: a person observer.
pub(crate) fn person_observer(name: &str) -> Result<Vec<Obj>, String> {
    if !valid_text(name, 64) {
        return Err(
            "a person observer's name must be 1 to 64 characters without a backslash".into(),
        );
    }
    Ok(vec![
        items::code_item(OBS, codes::OBSERVER_TYPE, &code(codes::PERSON)),
        items::pname(OBS, codes::PERSON_OBSERVER_NAME, name),
    ])
}

fn status_code(s: BoxStatus) -> C {
    codes::STATUS_CODES
        .iter()
        .find(|(k, _)| *k == s)
        .map(|(_, c)| *c)
        .expect("every status has a code")
}

/// One TID 1410 Planar ROI Measurements group.
fn group(image: &SrImageRef, b: &SrBox) -> Result<Obj, String> {
    if !valid_text(&b.box_id, 64) {
        return Err("the box id must be 1 to 64 characters".into());
    }
    if b.label.trim().is_empty() {
        return Err("the label is empty".into());
    }
    let (finding, site) = codes::code_for_label(&b.label);
    let mut c = vec![
        items::text(OBS, codes::TRACKING_IDENTIFIER, &b.box_id),
        items::uidref(
            OBS,
            codes::TRACKING_UID,
            &tracking_uid(&image.sop_instance_uid, &b.box_id),
        ),
    ];
    let mut algorithm = None;
    match &b.provenance {
        Provenance::Radiologist { user } => c.extend(person_observer(user)?),
        Provenance::Consensus { user, readers } => {
            c.extend(person_observer(user)?);
            for r in readers {
                c.extend(person_observer(r)?);
            }
        }
        Provenance::Model { model, version } => {
            if !valid_text(model, 64) || !valid_text(version, 64) {
                return Err("a model's name and version must be 1 to 64 characters".into());
            }
            let uid = derive_uid("carina-sr/model", &[model.as_bytes(), version.as_bytes()]);
            c.extend(device_observer(&uid, model, model));
            algorithm = Some((model, version));
        }
    }
    c.push(items::code_item(CONTAINS, codes::FINDING, &finding));
    if let Some(site) = site {
        c.push(items::code_item(MOD, codes::FINDING_SITE, &site));
    }
    if let Some((model, version)) = algorithm {
        c.push(items::text(MOD, codes::ALGORITHM_NAME, model));
        c.push(items::text(MOD, codes::ALGORITHM_VERSION, version));
    }
    let (x0, y0, x1, y1) = (
        b.bbox.x_min(),
        b.bbox.y_min(),
        b.bbox.x_max(),
        b.bbox.y_max(),
    );
    if [x0, y0, x1, y1].iter().any(|v| v.abs() > 1e7) {
        return Err("the box lies more than 10^7 pixels from the origin".into());
    }
    let points = [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]];
    let source = items::image(
        "SELECTED FROM",
        codes::SOURCE,
        &image.sop_class_uid,
        &image.sop_instance_uid,
    );
    c.push(items::scoord(
        CONTAINS,
        codes::IMAGE_REGION,
        "POLYLINE",
        &points,
        source,
    ));
    c.push(items::code_item(
        CONTAINS,
        codes::BOX_STATUS,
        &code(status_code(b.status)),
    ));
    Ok(items::container(
        CONTAINS,
        codes::MEASUREMENT_GROUP,
        Some("1410"),
        c,
    ))
}

/// What identifies the boxes' content, for the derived SOP Instance UID.
fn fingerprint(boxes: &[SrBox]) -> String {
    let mut s = String::new();
    for b in boxes {
        let code: Code = codes::code_for_label(&b.label).0;
        s.push_str(&format!(
            "{}\0{}\0{}\0{:?}\0{:?}\0{}\n",
            b.box_id,
            code,
            b.status.as_str(),
            b.bbox.to_array(),
            b.provenance,
            b.label
        ));
    }
    s
}
