//! Coded concepts: the finding table (one label ↔ one written code, plus the
//! codes accepted on import) and the DICOM / private codes of the template.
//!
//! Every standard code here was checked against pydicom 3.0's code
//! dictionaries (`pydicom/sr/_concepts_dict.py`, generated from DICOM PS3.16,
//! the dictionary highdicom uses); the CID in the comment is where PS3.16
//! lists it. A finding with no code there gets a `99CARINA` (private) code.
//! docs/dicom-sr.md has the same table.

use carina_core::Finding;
use sha2::{Digest, Sha256};

/// Carina's private coding scheme designator (PS3.3 8.2: `99` prefix).
pub const CARINA_SCHEME: &str = "99CARINA";

/// A coded concept: coding scheme designator, code value, code meaning.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Code {
    pub scheme: String,
    pub value: String,
    pub meaning: String,
}

impl Code {
    pub fn new(scheme: &str, value: &str, meaning: &str) -> Self {
        Self {
            scheme: scheme.to_string(),
            value: value.to_string(),
            meaning: meaning.to_string(),
        }
    }

    /// Same scheme and value (the meaning is only a display string; `SRT`,
    /// the SNOMED designator before 2019, is compared by its own value).
    pub fn same_concept(&self, scheme: &str, value: &str) -> bool {
        self.scheme == scheme && self.value == value
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "({}, {}, \"{}\")", self.scheme, self.value, self.meaning)
    }
}

/// `(scheme, value, meaning)` of a code in a `const` table.
pub type C = (&'static str, &'static str, &'static str);

pub(crate) fn code(c: C) -> Code {
    Code::new(c.0, c.1, c.2)
}

/// One row of the finding table.
#[derive(Debug, Clone, Copy)]
pub struct FindingCode {
    pub finding: Finding,
    /// The code Carina writes.
    pub written: C,
    /// Finding Site written with it (`SCT 363698007`), where the code alone
    /// does not say the finding is in the lung.
    pub site: Option<C>,
    /// Further codes read as this finding (narrower or older forms).
    pub also_read: &'static [C],
}

// DICOM (DCM) and SNOMED CT (SCT) concepts of the template.
pub(crate) const IMAGING_MEASUREMENT_REPORT: C = ("DCM", "126000", "Imaging Measurement Report");
pub(crate) const IMAGING_MEASUREMENTS: C = ("DCM", "126010", "Imaging Measurements");
pub(crate) const MEASUREMENT_GROUP: C = ("DCM", "125007", "Measurement Group");
pub(crate) const LANGUAGE: C = ("DCM", "121049", "Language of Content Item and Descendants");
pub(crate) const ENGLISH_US: C = ("RFC5646", "en-US", "English (United States)");
pub(crate) const PROCEDURE_REPORTED: C = ("DCM", "121058", "Procedure reported");
/// CID 100 "Quantitative Diagnostic Imaging Procedures".
pub(crate) const XR_UNSPECIFIED: C = ("LN", "43468-8", "XR unspecified body region");
pub(crate) const OBSERVER_TYPE: C = ("DCM", "121005", "Observer Type");
pub(crate) const PERSON: C = ("DCM", "121006", "Person");
pub(crate) const DEVICE: C = ("DCM", "121007", "Device");
pub(crate) const PERSON_OBSERVER_NAME: C = ("DCM", "121008", "Person Observer Name");
pub(crate) const DEVICE_OBSERVER_UID: C = ("DCM", "121012", "Device Observer UID");
pub(crate) const DEVICE_OBSERVER_NAME: C = ("DCM", "121013", "Device Observer Name");
pub(crate) const DEVICE_OBSERVER_MANUFACTURER: C =
    ("DCM", "121014", "Device Observer Manufacturer");
pub(crate) const DEVICE_OBSERVER_MODEL_NAME: C = ("DCM", "121015", "Device Observer Model Name");
pub(crate) const TRACKING_IDENTIFIER: C = ("DCM", "112039", "Tracking Identifier");
pub(crate) const TRACKING_UID: C = ("DCM", "112040", "Tracking Unique Identifier");
pub(crate) const FINDING: C = ("DCM", "121071", "Finding");
pub(crate) const FINDING_SITE: C = ("SCT", "363698007", "Finding Site");
pub(crate) const ALGORITHM_NAME: C = ("DCM", "111001", "Algorithm Name");
pub(crate) const ALGORITHM_VERSION: C = ("DCM", "111003", "Algorithm Version");
pub(crate) const IMAGE_REGION: C = ("DCM", "111030", "Image Region");
pub(crate) const SOURCE: C = ("SCT", "260753009", "Source");
/// CID 4 etc.: the lung, as Finding Site of "Fibrosis".
pub(crate) const LUNG: C = ("SCT", "39607008", "Lung");

// Carina's private codes: the box's review status (a qualitative evaluation).
pub(crate) const BOX_STATUS: C = (CARINA_SCHEME, "BOXSTATUS", "Carina box status");

/// The review status values, `99CARINA` codes named after `BoxStatus::as_str`.
pub(crate) const STATUS_CODES: [(carina_core::BoxStatus, C); 5] = {
    use carina_core::BoxStatus as S;
    [
        (S::Proposed, (CARINA_SCHEME, "PROPOSED", "proposed")),
        (S::Accepted, (CARINA_SCHEME, "ACCEPTED", "accepted")),
        (S::Rejected, (CARINA_SCHEME, "REJECTED", "rejected")),
        (S::Edited, (CARINA_SCHEME, "EDITED", "edited")),
        (S::Manual, (CARINA_SCHEME, "MANUAL", "manual")),
    ]
};

/// The finding table, in the order of [`Finding::ALL`]. Sources: pydicom
/// 3.0.2 `pydicom/sr/_concepts_dict.py` (PS3.16 2024+), SNOMED RT (`SRT`)
/// equivalents from `pydicom/sr/_snomed_dict.py`.
pub const FINDING_CODES: [FindingCode; 9] = [
    FindingCode {
        finding: Finding::Atelectasis,
        // PS3.16 has only "Plate-like atelectasis" (SCT 40779009, CID 6102/6103),
        // a narrower concept: read, never written.
        written: (CARINA_SCHEME, "ATELECTASIS", "Atelectasis"),
        site: None,
        also_read: &[
            ("SCT", "40779009", "Plate-like atelectasis"),
            ("SRT", "D2-60302", "Plate-like atelectasis"),
        ],
    },
    FindingCode {
        finding: Finding::Cardiomegaly,
        // CID 12248 "Cardiac Ultrasound Summary Codes".
        written: ("SCT", "287272002", "Cardiomegaly"),
        site: None,
        also_read: &[("SRT", "D3-10008", "Cardiomegaly")],
    },
    FindingCode {
        finding: Finding::Consolidation,
        // No consolidation concept in PS3.16.
        written: (CARINA_SCHEME, "CONSOLIDATION", "Consolidation"),
        site: None,
        also_read: &[],
    },
    FindingCode {
        finding: Finding::Infiltration,
        // CID 6102 "Chest Finding or Feature Modifier", CID 6104 "Abnormal
        // Opacity Finding or Feature".
        written: ("DCM", "112121", "Infiltrate"),
        site: None,
        also_read: &[],
    },
    FindingCode {
        finding: Finding::NoduleMass,
        // CID 6104 lists both Nodule and Mass; Carina's one label is written
        // as Nodule and reads either.
        written: ("SCT", "27925004", "Nodule"),
        site: None,
        also_read: &[
            ("SCT", "4147007", "Mass"),
            ("SRT", "M-03010", "Nodule"),
            ("SRT", "M-03000", "Mass"),
        ],
    },
    FindingCode {
        finding: Finding::PleuralThickening,
        // No pleural thickening concept in PS3.16.
        written: (CARINA_SCHEME, "PLEURAL_THICK", "Pleural thickening"),
        site: None,
        also_read: &[],
    },
    FindingCode {
        finding: Finding::Pneumothorax,
        // CID 6102, CID 6105 "Abnormal Lucency Finding or Feature".
        written: ("SCT", "36118008", "Pneumothorax"),
        site: None,
        also_read: &[("SRT", "D2-80300", "Pneumothorax")],
    },
    FindingCode {
        finding: Finding::PulmonaryFibrosis,
        // "Fibrosis" (CID 6335–6338) with Finding Site "Lung" (CID 4).
        written: ("SCT", "112674009", "Fibrosis"),
        site: Some(LUNG),
        also_read: &[("SRT", "M-78000", "Fibrosis")],
    },
    FindingCode {
        finding: Finding::PleuralEffusion,
        // CID 645, CID 8134.
        written: ("SCT", "60046008", "Pleural effusion"),
        site: None,
        also_read: &[("SRT", "D2-80100", "Pleural effusion")],
    },
];

/// The table row of one of the nine findings.
pub fn finding_code(finding: Finding) -> &'static FindingCode {
    &FINDING_CODES[finding.class_id() as usize]
}

/// The code meaning a label name is written with: trimmed, a backslash
/// (the DICOM value separator) as `/`, control characters as spaces, at most
/// 64 characters (LO).
pub(crate) fn meaning_of(label: &str) -> String {
    label
        .trim()
        .chars()
        .map(|c| match c {
            '\\' => '/',
            c if c.is_control() => ' ',
            c => c,
        })
        .take(64)
        .collect()
}

/// The `99CARINA` code value of a custom label: `L` and the first 15 hex
/// digits of SHA-256 of `carina-label` NUL and the lower-cased (ASCII)
/// code meaning — 16 characters, the most a code value (SH) holds, the
/// same for every spelling the label set treats as the same name.
pub fn custom_code_value(meaning: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"carina-label\0");
    h.update(meaning.to_ascii_lowercase().as_bytes());
    let d = h.finalize();
    let hex: String = d.iter().map(|b| format!("{b:02X}")).collect();
    format!("L{}", &hex[..15])
}

/// The code written for a box of label `label`: one of the nine findings
/// (matched as `Finding::from_name` does) from the table, any other label a
/// `99CARINA` code derived from its name. Also the Finding Site, if any.
pub fn code_for_label(label: &str) -> (Code, Option<Code>) {
    match Finding::from_name(label) {
        Some(f) => {
            let row = finding_code(f);
            (code(row.written), row.site.map(code))
        }
        None => {
            let meaning = meaning_of(label);
            let value = custom_code_value(&meaning);
            (Code::new(CARINA_SCHEME, &value, &meaning), None)
        }
    }
}

/// The label a finding code reads as: a code of the table (written or
/// also read) gives the finding's name; a `99CARINA` custom code whose
/// value is derived from its meaning gives the meaning. `None` otherwise.
pub fn label_for_code(c: &Code) -> Option<String> {
    for row in &FINDING_CODES {
        let w = row.written;
        if c.same_concept(w.0, w.1) || row.also_read.iter().any(|a| c.same_concept(a.0, a.1)) {
            return Some(row.finding.name().to_string());
        }
    }
    if c.scheme == CARINA_SCHEME {
        let meaning = c.meaning.trim();
        if !meaning.is_empty() && custom_code_value(meaning) == c.value {
            return Some(meaning.to_string());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_follows_finding_order_and_codes_fit_sh() {
        for (i, row) in FINDING_CODES.iter().enumerate() {
            assert_eq!(row.finding.class_id() as usize, i);
            assert!(row.written.1.len() <= 16, "{:?}", row.written);
        }
        let values: std::collections::HashSet<_> = FINDING_CODES
            .iter()
            .map(|r| (r.written.0, r.written.1))
            .collect();
        assert_eq!(values.len(), 9);
    }

    #[test]
    fn custom_labels_round_trip() {
        let (c, site) = code_for_label("  Rib fracture ");
        assert_eq!(c.scheme, CARINA_SCHEME);
        assert_eq!(c.meaning, "Rib fracture");
        assert_eq!(c.value.len(), 16);
        assert!(site.is_none());
        assert_eq!(label_for_code(&c).as_deref(), Some("Rib fracture"));
        // The label set compares names ignoring ASCII case; so does the code.
        assert_eq!(code_for_label("RIB FRACTURE").0.value, c.value);
        // A meaning that does not match its value is not Carina's.
        let forged = Code::new(CARINA_SCHEME, &c.value, "Something else");
        assert_eq!(label_for_code(&forged), None);
        assert_eq!(code_for_label("a\\b").0.meaning, "a/b");
    }

    #[test]
    fn default_names_use_the_table() {
        let (c, _) = code_for_label("nodule/mass");
        assert_eq!((c.scheme.as_str(), c.value.as_str()), ("SCT", "27925004"));
        let (c, site) = code_for_label("Pulmonary Fibrosis");
        assert_eq!(c.value, "112674009");
        assert_eq!(site.unwrap().value, "39607008");
        assert_eq!(
            label_for_code(&Code::new("SCT", "4147007", "Mass")).as_deref(),
            Some("Nodule/Mass")
        );
        assert_eq!(label_for_code(&Code::new("SCT", "1", "x")), None);
    }
}
