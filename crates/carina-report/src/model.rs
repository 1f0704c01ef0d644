//! The report domain model: an editable [`ReportDraft`] and an immutable
//! [`Report`].
//!
//! A signed report can never change: [`Report`] has no setters, and the only
//! way to "edit" one is [`Report::amend`], which returns a *new* draft with
//! the next version number and `amends` pointing at the signed one. Both
//! versions are kept by the caller.

use carina_core::{BBox, BoxStatus, Provenance};
use serde::{Deserialize, Serialize};

use crate::location::ChestGeometry;
use crate::time::{dicom_date_to_fhir, is_fhir_date, is_fhir_instant};

/// The disclaimer printed on reports whose suggestions came from a model
/// trained on synthetic data.
pub const SYNTHETIC_DISCLAIMER: &str =
    "Not for clinical use; AI suggestions from a model trained on synthetic data";
/// The disclaimer printed on every other report: nothing here claims clinical validity.
pub const RESEARCH_DISCLAIMER: &str = "Not for clinical use; research software";

/// Why a report operation was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ReportError {
    #[error("a report needs an impression or a 'no finding' mark before it is signed")]
    EmptyImpression,
    #[error("a report marked 'no finding' cannot list findings")]
    NoFindingWithFindings,
    #[error("the signer's name must not be empty")]
    NoSigner,
    #[error("signing time must be a FHIR instant such as 2024-05-01T10:20:30Z, got {0:?}")]
    BadInstant(String),
    #[error("study date must be YYYYMMDD or YYYY-MM-DD, got {0:?}")]
    BadDate(String),
    #[error("report id must be 1-64 characters of A-Z a-z 0-9 - . , got {0:?}")]
    BadId(String),
    #[error("only a signed report can be amended; edit the draft instead")]
    NotSigned,
    #[error("{0}")]
    Render(String),
}

/// The de-identified subject of a report: pseudonyms only, never names.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ReportSubject {
    /// The keyed-hash patient pseudonym (from de-identification), if known.
    pub patient_pseudonym: Option<String>,
    /// Pseudonymous study id (several images of one study share one report).
    pub study_pseudonym: Option<String>,
    /// Carina's image ids covered by the report.
    pub image_ids: Vec<String>,
    /// What the workbench calls those images (`P-3F2A · study 1 · PA`), in
    /// the same order, when known; shown beside the ids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub image_names: Vec<String>,
    /// DICOM modality (`CR`, `DX`), if known.
    pub modality: Option<String>,
    /// Study date as a FHIR date (`YYYY-MM-DD`), if known.
    pub study_date: Option<String>,
}

impl ReportSubject {
    /// The images as every output shows them: `P-3F2A · study 1 · PA
    /// (image 5)`, or the ids alone when the names are not known.
    pub fn images_text(&self) -> String {
        if self.image_names.len() == self.image_ids.len() && !self.image_names.is_empty() {
            self.image_names
                .iter()
                .zip(&self.image_ids)
                .map(|(name, id)| format!("{name} (image {id})"))
                .collect::<Vec<_>>()
                .join("; ")
        } else {
            self.image_ids.join(", ")
        }
    }

    /// Sets the study date from DICOM `YYYYMMDD` or `YYYY-MM-DD`.
    pub fn with_study_date(mut self, date: &str) -> Result<Self, ReportError> {
        self.study_date =
            Some(dicom_date_to_fhir(date).ok_or_else(|| ReportError::BadDate(date.into()))?);
        Ok(self)
    }
}

/// Who found a finding. A model box a radiologist accepted or edited was
/// found by both.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FoundBy {
    Model {
        model: String,
        version: String,
    },
    Radiologist {
        user: String,
    },
    Both {
        model: String,
        version: String,
        user: String,
    },
    /// Fused from several radiologists' blind reads by a reviewer.
    Consensus {
        reviewer: String,
        readers: Vec<String>,
    },
}

impl FoundBy {
    /// From a box's provenance and review status. `reviewer` is the
    /// radiologist who accepted or edited a model box.
    pub fn from_box(provenance: &Provenance, status: BoxStatus, reviewer: Option<&str>) -> FoundBy {
        match (provenance, status, reviewer) {
            (Provenance::Radiologist { user }, ..) => FoundBy::Radiologist { user: user.clone() },
            (Provenance::Consensus { user, readers }, ..) => FoundBy::Consensus {
                reviewer: user.clone(),
                readers: readers.clone(),
            },
            (
                Provenance::Model { model, version },
                BoxStatus::Accepted | BoxStatus::Edited,
                Some(u),
            ) => FoundBy::Both {
                model: model.clone(),
                version: version.clone(),
                user: u.to_string(),
            },
            (Provenance::Model { model, version }, ..) => FoundBy::Model {
                model: model.clone(),
                version: version.clone(),
            },
        }
    }

    /// "model effdet-d0 v3", "radiologist ann", "model effdet-d0 v3 + ann".
    pub fn describe(&self) -> String {
        match self {
            FoundBy::Model { model, version } => format!("model {model} v{version}"),
            FoundBy::Radiologist { user } => format!("radiologist {user}"),
            FoundBy::Both {
                model,
                version,
                user,
            } => format!("model {model} v{version} + radiologist {user}"),
            FoundBy::Consensus { reviewer, readers } => format!(
                "consensus of radiologists {} (reviewer {reviewer})",
                readers.join(", ")
            ),
        }
    }
}

/// One finding of a report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportFinding {
    /// The image the box is on.
    pub image_id: String,
    pub class_name: String,
    /// In the original image's pixels.
    pub bbox: BBox,
    /// Readable location, e.g. "right lower zone, peripheral".
    pub location: String,
    /// Width × height in mm when the pixel spacing is known.
    pub size_mm: Option<(f64, f64)>,
    pub found_by: FoundBy,
    /// The model's score where a model proposed the box; `None` for boxes
    /// drawn by a radiologist.
    pub confidence: Option<f64>,
}

impl ReportFinding {
    /// A finding on `geometry.image_id`, with its location and size computed
    /// from `geometry`.
    pub fn new(
        class_name: &str,
        bbox: BBox,
        found_by: FoundBy,
        confidence: Option<f64>,
        geometry: &ChestGeometry,
    ) -> ReportFinding {
        ReportFinding {
            image_id: geometry.image_id.clone(),
            class_name: class_name.to_string(),
            bbox,
            location: geometry.location(&bbox),
            size_mm: geometry.size_mm(&bbox),
            found_by,
            confidence,
        }
    }
}

/// The part of a report a radiologist writes.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ReportContent {
    pub subject: ReportSubject,
    pub findings: Vec<ReportFinding>,
    pub impression: String,
    pub no_finding: bool,
    /// The suggestions came from a model trained on synthetic data: the
    /// report carries [`SYNTHETIC_DISCLAIMER`].
    pub synthetic_model: bool,
}

// Draft, signed, or signed as an amendment of an earlier version (a report
// of this model is never `Superseded`: that is the store's record of a
// signed version an amendment replaced).
pub use carina_core::report_status::ReportStatus;

fn check_id(id: &str) -> Result<(), ReportError> {
    // The FHIR id rule, so the id can be used as the resource id as it is.
    let ok = (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    if ok {
        Ok(())
    } else {
        Err(ReportError::BadId(id.into()))
    }
}

/// A report being written. Its content is freely editable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportDraft {
    id: String,
    version: u32,
    amends: Option<String>,
    pub content: ReportContent,
}

impl ReportDraft {
    /// Version 1 of a new report. `id` follows the FHIR id rule
    /// (1-64 of `A-Z a-z 0-9 - .`).
    pub fn new(id: &str, content: ReportContent) -> Result<ReportDraft, ReportError> {
        check_id(id)?;
        Ok(ReportDraft {
            id: id.to_string(),
            version: 1,
            amends: None,
            content,
        })
    }
    pub fn id(&self) -> &str {
        &self.id
    }
    pub fn version(&self) -> u32 {
        self.version
    }
    pub fn amends(&self) -> Option<&str> {
        self.amends.as_deref()
    }

    /// An immutable snapshot with status `Draft`, for previews (HTML, PDF
    /// marked as not signed, FHIR `preliminary`).
    pub fn preview(&self) -> Report {
        Report {
            id: self.id.clone(),
            version: self.version,
            amends: self.amends.clone(),
            content: self.content.clone(),
            signed_by: None,
            signed_at: None,
        }
    }

    /// Signs the draft. `signed_at` is a FHIR instant
    /// (`2024-05-01T10:20:30Z`). Refused without an impression (unless
    /// "no finding"), or with findings on a "no finding" report.
    pub fn sign(self, signed_by: &str, signed_at: &str) -> Result<Report, ReportError> {
        let c = &self.content;
        if c.no_finding && !c.findings.is_empty() {
            return Err(ReportError::NoFindingWithFindings);
        }
        if c.impression.trim().is_empty() && !c.no_finding {
            return Err(ReportError::EmptyImpression);
        }
        if signed_by.trim().is_empty() {
            return Err(ReportError::NoSigner);
        }
        if !is_fhir_instant(signed_at) {
            return Err(ReportError::BadInstant(signed_at.into()));
        }
        if let Some(d) = &c.subject.study_date
            && !is_fhir_date(d)
        {
            return Err(ReportError::BadDate(d.clone()));
        }
        Ok(Report {
            id: self.id,
            version: self.version,
            amends: self.amends,
            content: self.content,
            signed_by: Some(signed_by.trim().to_string()),
            signed_at: Some(signed_at.to_string()),
        })
    }
}

/// An immutable report: a signed version, or a draft's preview snapshot.
/// It has no setters; see [`Report::amend`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    id: String,
    version: u32,
    amends: Option<String>,
    content: ReportContent,
    signed_by: Option<String>,
    signed_at: Option<String>,
}

impl Report {
    pub fn id(&self) -> &str {
        &self.id
    }
    pub fn version(&self) -> u32 {
        self.version
    }
    /// The id of the signed report this one amends.
    pub fn amends(&self) -> Option<&str> {
        self.amends.as_deref()
    }
    pub fn content(&self) -> &ReportContent {
        &self.content
    }
    pub fn subject(&self) -> &ReportSubject {
        &self.content.subject
    }
    pub fn findings(&self) -> &[ReportFinding] {
        &self.content.findings
    }
    pub fn impression(&self) -> &str {
        &self.content.impression
    }
    pub fn no_finding(&self) -> bool {
        self.content.no_finding
    }
    pub fn signed_by(&self) -> Option<&str> {
        self.signed_by.as_deref()
    }
    pub fn signed_at(&self) -> Option<&str> {
        self.signed_at.as_deref()
    }
    pub fn status(&self) -> ReportStatus {
        match (&self.signed_by, &self.amends) {
            (None, _) => ReportStatus::Draft,
            (Some(_), None) => ReportStatus::Signed,
            (Some(_), Some(_)) => ReportStatus::Amended,
        }
    }
    pub fn disclaimer(&self) -> &'static str {
        if self.content.synthetic_model {
            SYNTHETIC_DISCLAIMER
        } else {
            RESEARCH_DISCLAIMER
        }
    }

    /// A new draft that amends this signed report: same content to start
    /// from, `version + 1`, `amends = self.id`. This report is unchanged.
    pub fn amend(&self, new_id: &str) -> Result<ReportDraft, ReportError> {
        if self.signed_by.is_none() {
            return Err(ReportError::NotSigned);
        }
        check_id(new_id)?;
        Ok(ReportDraft {
            id: new_id.to_string(),
            version: self.version + 1,
            amends: Some(self.id.clone()),
            content: self.content.clone(),
        })
    }
}

/// The stored form; reading it back re-checks the signing rules so a stored
/// report cannot claim to be signed without a valid signer and time.
#[derive(Deserialize)]
struct StoredReport {
    id: String,
    version: u32,
    amends: Option<String>,
    content: ReportContent,
    signed_by: Option<String>,
    signed_at: Option<String>,
}

impl<'de> Deserialize<'de> for Report {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = StoredReport::deserialize(d)?;
        let draft = ReportDraft {
            id: s.id,
            version: s.version.max(1),
            amends: s.amends,
            content: s.content,
        };
        check_id(&draft.id).map_err(serde::de::Error::custom)?;
        match (s.signed_by, s.signed_at) {
            (None, None) => Ok(draft.preview()),
            (Some(by), Some(at)) => draft.sign(&by, &at).map_err(serde::de::Error::custom),
            _ => Err(serde::de::Error::custom(
                "signed_by and signed_at go together",
            )),
        }
    }
}

#[cfg(test)]
#[path = "model_tests.rs"]
mod tests;
