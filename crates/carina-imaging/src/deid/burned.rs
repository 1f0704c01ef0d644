//! Burned In Annotation (0028,0301): whether the pixels may show text that
//! identifies the patient, which no attribute-level de-identification removes.

use dicom_core::Tag;
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;

/// What a DICOM file says about text burned into its pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BurnedIn {
    /// Burned In Annotation = YES.
    Yes,
    /// Burned In Annotation = NO, or absent on a modality that does not
    /// usually burn text in (CR, DX, MG, … acquisitions).
    No,
    /// Absent (or not YES/NO) on a file where burned-in text is common:
    /// secondary captures (SOP Classes 1.2.840.10008.5.1.4.1.1.7.*, or any
    /// file with a Conversion Type) and the modalities SC, OT, XC, US, ES,
    /// DOC, SM, GM, VL, XA, RF.
    Unknown,
}

impl BurnedIn {
    pub fn as_str(self) -> &'static str {
        match self {
            BurnedIn::Yes => "yes",
            BurnedIn::No => "no",
            BurnedIn::Unknown => "unknown",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "yes" => Some(BurnedIn::Yes),
            "no" => Some(BurnedIn::No),
            "unknown" => Some(BurnedIn::Unknown),
            _ => None,
        }
    }
    /// Yes or unknown: the image must be confirmed by an admin before it
    /// leaves Carina in an export.
    pub fn flagged(self) -> bool {
        self != BurnedIn::No
    }
}

/// Modalities whose images often carry burned-in text (screen captures,
/// ultrasound, endoscopy, photographs, documents, fluoroscopy).
const TEXT_MODALITIES: &[&str] = &[
    "SC", "OT", "XC", "US", "ES", "DOC", "SM", "GM", "VL", "XA", "RF",
];

/// Secondary Capture Image Storage and its multi-frame variants.
const SECONDARY_CAPTURE_CLASSES: &str = "1.2.840.10008.5.1.4.1.1.7";

/// The burned-in verdict for a data set (read before de-identification or
/// after: the attribute and those it depends on are kept).
pub fn burned_in_annotation(obj: &InMemDicomObject) -> BurnedIn {
    let text = |tag: Tag| {
        obj.get(tag)
            .and_then(|e| e.to_str().ok())
            .map(|s| {
                s.trim_matches(|c: char| c == '\0' || c == ' ')
                    .to_ascii_uppercase()
            })
            .filter(|s| !s.is_empty())
    };
    match text(tags::BURNED_IN_ANNOTATION).as_deref() {
        Some("YES") => return BurnedIn::Yes,
        Some("NO") => return BurnedIn::No,
        Some(_) => return BurnedIn::Unknown,
        None => {}
    }
    let secondary = text(tags::SOP_CLASS_UID).is_some_and(|c| {
        c == SECONDARY_CAPTURE_CLASSES || c.starts_with(&format!("{SECONDARY_CAPTURE_CLASSES}."))
    }) || text(tags::CONVERSION_TYPE).is_some();
    let text_modality = text(tags::MODALITY).is_some_and(|m| TEXT_MODALITIES.contains(&m.as_str()));
    if secondary || text_modality {
        BurnedIn::Unknown
    } else {
        BurnedIn::No
    }
}
