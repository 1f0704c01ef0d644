//! Reading a TID 1500 Measurement Report back to boxes, under limits.

use carina_imaging::ImagingError;
use dicom_dictionary_std::{tags, uids};
use dicom_object::file::ReadPreamble;
use dicom_object::{FileMetaTable, OpenFileOptions};

use crate::codes::{self, C};
use crate::items::Obj;
use crate::read_group::{Outcome, observers, parse_group};
use crate::tree::{children, concept_name, is_container, seq_items, string};
use crate::{ParsedReport, SrError};

/// Limits of [`read_measurement_report_with`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadLimits {
    /// Largest accepted file, in bytes.
    pub max_bytes: u64,
    /// Deepest DICOM sequence nesting (carina-imaging's pre-scan).
    pub max_sequence_depth: u32,
    /// Deepest content item nesting (the root is depth 0; Carina's SR and
    /// highdicom's go 4 deep).
    pub max_content_depth: usize,
    /// Most content items in the tree.
    pub max_items: usize,
    /// Most measurement groups.
    pub max_groups: usize,
}

impl Default for ReadLimits {
    /// 8 MiB, sequences 16 deep, content 10 deep, 250,000 content items,
    /// 10,000 groups. A Carina SR takes 2–3 KB and 12–14 content items a
    /// box (at most 2,000 boxes: about 5.5 MB); reading one costs about 20
    /// times its size in memory.
    fn default() -> Self {
        Self {
            max_bytes: 8 * 1024 * 1024,
            max_sequence_depth: 16,
            max_content_depth: 10,
            max_items: 250_000,
            max_groups: 10_000,
        }
    }
}

/// SR storage classes that can hold a TID 1500 report with 2D regions.
const SR_CLASSES: [&str; 4] = [
    uids::ENHANCED_SR_STORAGE,
    uids::COMPREHENSIVE_SR_STORAGE,
    uids::COMPREHENSIVE3_DSR_STORAGE,
    uids::EXTENSIBLE_SR_STORAGE,
];

/// Document titles of CID 7021 "Measurement Report Document Titles",
/// accepted as TID 1500 when the file names no template.
const TITLES: [C; 4] = [
    codes::IMAGING_MEASUREMENT_REPORT,
    ("DCM", "126001", "Oncology Measurement Report"),
    ("DCM", "126002", "Dynamic Contrast MR Measurement Report"),
    ("DCM", "126003", "PET Measurement Report"),
];

/// [`read_measurement_report_with`] under [`ReadLimits::default`].
pub fn read_measurement_report(bytes: &[u8]) -> Result<crate::ParsedReport, SrError> {
    read_measurement_report_with(bytes, &ReadLimits::default())
}

/// Read the boxes of a TID 1500 Measurement Report (see the crate docs).
pub fn read_measurement_report_with(
    bytes: &[u8],
    limits: &ReadLimits,
) -> Result<ParsedReport, SrError> {
    let obj = parse(bytes, limits)?;
    let root: &Obj = &obj;
    let sop_class = string(root, tags::SOP_CLASS_UID)
        .ok_or_else(|| SrError::NotSr("the file has no SOP Class UID".into()))?;
    if !SR_CLASSES.contains(&sop_class.as_str()) {
        return Err(SrError::NotSr(format!(
            "SOP class {sop_class}; Carina reads Enhanced, Comprehensive, Comprehensive 3D and Extensible SR"
        )));
    }
    check_template(root)?;
    check_tree(root, limits)?;
    let manufacturer = string(root, tags::MANUFACTURER);
    let made_by_carina = manufacturer.as_deref() == Some(crate::CARINA_MANUFACTURER);
    let mut report = ParsedReport {
        sop_instance_uid: string(root, tags::SOP_INSTANCE_UID).unwrap_or_default(),
        sop_class_uid: sop_class,
        study_instance_uid: string(root, tags::STUDY_INSTANCE_UID),
        manufacturer,
        made_by_carina,
        observers: observers(children(root)),
        boxes: Vec::new(),
        skipped: Vec::new(),
    };
    let mut group = 0;
    for container in children(root) {
        if !is_container(container, codes::IMAGING_MEASUREMENTS) {
            continue;
        }
        for g in children(container) {
            if !is_container(g, codes::MEASUREMENT_GROUP) {
                continue;
            }
            group += 1;
            if group > limits.max_groups {
                return Err(SrError::TooManyGroups {
                    limit: limits.max_groups,
                });
            }
            match parse_group(g, group, made_by_carina)? {
                Outcome::Box(b) => report.boxes.push(*b),
                Outcome::Skipped(why) => report
                    .skipped
                    .push(format!("measurement group {group}: {why}")),
            }
        }
    }
    if report.boxes.is_empty() && !has_evidence(root) {
        return Err(SrError::NoImageReference(
            "no measurement group has an image region and the evidence lists no image".into(),
        ));
    }
    Ok(report)
}

/// Size cap, magic, carina-imaging's structural pre-scan, transfer syntax,
/// then dicom-rs.
fn parse(bytes: &[u8], limits: &ReadLimits) -> Result<dicom_object::DefaultDicomObject, SrError> {
    if bytes.len() as u64 > limits.max_bytes {
        return Err(SrError::TooLarge {
            bytes: bytes.len() as u64,
            limit: limits.max_bytes,
        });
    }
    let off = if bytes.len() >= 132 && &bytes[128..132] == b"DICM" {
        128
    } else if bytes.starts_with(b"DICM") {
        0
    } else {
        return Err(SrError::NotDicom);
    };
    // The pre-scan walks every element (nesting depth, every declared length
    // against the bytes present) before dicom-rs allocates anything. It runs
    // as part of `decode_cost`, which then asks for pixel data: an SR has
    // none, so `NoPixelData` means the structure passed.
    let scan_limits = carina_imaging::Limits {
        max_bytes: limits.max_bytes,
        max_depth: limits.max_sequence_depth,
        max_inflated_bytes: limits.max_bytes,
        ..carina_imaging::Limits::default()
    };
    match carina_imaging::decode_cost(bytes, &scan_limits) {
        Ok(_) | Err(ImagingError::NoPixelData) => {}
        Err(e) => return Err(SrError::Malformed(e.to_string())),
    }
    let meta =
        FileMetaTable::from_reader(&bytes[off..]).map_err(|e| SrError::Malformed(e.to_string()))?;
    let ts = meta
        .transfer_syntax()
        .trim_end_matches(['\0', ' '])
        .to_string();
    if ts != uids::EXPLICIT_VR_LITTLE_ENDIAN && ts != uids::IMPLICIT_VR_LITTLE_ENDIAN {
        return Err(SrError::UnsupportedTransferSyntax(ts));
    }
    OpenFileOptions::new()
        .read_preamble(ReadPreamble::Never)
        .from_reader(&bytes[off..])
        .map_err(|e| SrError::Malformed(e.to_string()))
}

/// TID 1500 by its Content Template Sequence, or, where a file names no
/// template, by a CID 7021 document title.
fn check_template(root: &Obj) -> Result<(), SrError> {
    if string(root, tags::VALUE_TYPE).as_deref() != Some("CONTAINER") {
        return Err(SrError::WrongTemplate(
            "the root content item is not a CONTAINER".into(),
        ));
    }
    let title = concept_name(root);
    let tid = root
        .get(tags::CONTENT_TEMPLATE_SEQUENCE)
        .and_then(|e| e.items())
        .and_then(|items| items.first())
        .and_then(|t| string(t, tags::TEMPLATE_IDENTIFIER));
    match (tid.as_deref(), &title) {
        (Some("1500"), _) => Ok(()),
        (Some(other), _) => Err(SrError::WrongTemplate(format!(
            "the document follows TID {other}"
        ))),
        (None, Some(t)) if TITLES.iter().any(|c| t.same_concept(c.0, c.1)) => Ok(()),
        (None, Some(t)) => Err(SrError::WrongTemplate(format!(
            "no template identifier and the title {t} is not a measurement report title (CID 7021)"
        ))),
        (None, None) => Err(SrError::WrongTemplate(
            "the root container has no concept name".into(),
        )),
    }
}

/// Counts every content item and its depth before anything else reads the
/// tree (an explicit stack, no recursion).
fn check_tree(root: &Obj, limits: &ReadLimits) -> Result<(), SrError> {
    let mut stack: Vec<(&Obj, usize)> = vec![(root, 0)];
    let mut n = 0usize;
    while let Some((o, depth)) = stack.pop() {
        for c in children(o) {
            n += 1;
            if n > limits.max_items {
                return Err(SrError::TooManyItems {
                    limit: limits.max_items,
                });
            }
            if depth + 1 > limits.max_content_depth {
                return Err(SrError::TooDeep {
                    limit: limits.max_content_depth,
                });
            }
            stack.push((c, depth + 1));
        }
    }
    Ok(())
}

/// Whether the Current Requested Procedure Evidence Sequence names an instance.
fn has_evidence(root: &Obj) -> bool {
    seq_items(root, tags::CURRENT_REQUESTED_PROCEDURE_EVIDENCE_SEQUENCE)
        .iter()
        .flat_map(|study| seq_items(study, tags::REFERENCED_SERIES_SEQUENCE))
        .flat_map(|series| seq_items(series, tags::REFERENCED_SOP_SEQUENCE))
        .any(|sop| string(sop, tags::REFERENCED_SOP_INSTANCE_UID).is_some())
}
