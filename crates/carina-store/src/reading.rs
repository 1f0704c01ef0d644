//! The values of reports and blind reading, as the store hands them out.
//! The store keeps a report's findings as an opaque JSON snapshot: what a
//! finding is (location, size, who found it) is `carina-report`'s business.

use crate::models::Timestamp;
use carina_core::BBox;
use serde::{Deserialize, Serialize};

pub use carina_core::report_status::ReportStatus;

/// One stored version of a report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredReport {
    pub id: i64,
    pub version: i64,
    pub status: ReportStatus,
    pub image_ids: Vec<i64>,
    pub study_pseudonym: Option<String>,
    pub patient_pseudonym: Option<String>,
    pub impression: String,
    pub no_finding: bool,
    /// The findings snapshot (a JSON list).
    pub findings: serde_json::Value,
    pub author: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub updated_by: String,
    pub signed_by: Option<String>,
    pub signed_at: Option<Timestamp>,
    /// The version this one amends.
    pub supersedes: Option<i64>,
    /// The signed amendment that replaced this version.
    pub superseded_by: Option<i64>,
    /// The admin who last edited or signed this draft in its author's place
    /// (a take-over), and when.
    pub taken_over_by: Option<String>,
    pub taken_over_at: Option<Timestamp>,
}

/// A new draft report.
#[derive(Debug, Clone, PartialEq)]
pub struct NewReport {
    pub image_ids: Vec<i64>,
    pub study_pseudonym: Option<String>,
    pub patient_pseudonym: Option<String>,
    pub impression: String,
    pub no_finding: bool,
    pub findings: serde_json::Value,
    pub author: String,
}

/// A change to a draft; `None` keeps the field.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReportEdit {
    pub impression: Option<String>,
    pub no_finding: Option<bool>,
    pub findings: Option<serde_json::Value>,
}

/// Filters of the report list (newest first).
#[derive(Debug, Clone, Default)]
pub struct ReportQuery {
    /// Case-insensitive substring of the impression, the findings, the
    /// author, the signer or the study pseudonym.
    pub q: Option<String>,
    pub status: Option<ReportStatus>,
    pub image_id: Option<i64>,
    pub limit: u32,
}

/// One box of a reader's own reading.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ReadingBox {
    pub class_id: u32,
    pub bbox: BBox,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadingStatus {
    Assigned,
    Submitted,
}

impl ReadingStatus {
    pub fn parse(s: &str) -> Option<ReadingStatus> {
        match s {
            "assigned" => Some(ReadingStatus::Assigned),
            "submitted" => Some(ReadingStatus::Submitted),
            _ => None,
        }
    }
}

/// One reader's blind reading of one image.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reading {
    pub image_id: i64,
    pub reader: String,
    pub status: ReadingStatus,
    pub version: i64,
    pub no_finding: bool,
    pub boxes: Vec<ReadingBox>,
    pub assigned_at: Timestamp,
    pub updated_at: Timestamp,
    pub submitted_at: Option<Timestamp>,
}

/// An image's blind-reading assignment: its reviewer and readers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assignment {
    pub image_id: i64,
    pub reviewer: String,
    pub assigned_by: String,
    pub created_at: Timestamp,
    pub readings: Vec<Reading>,
    /// The last fusion (parameters, readers, fused boxes), if any.
    pub consensus: Option<serde_json::Value>,
    pub consensus_at: Option<Timestamp>,
    pub consensus_by: Option<String>,
}

/// A fused box to write into an image's annotations.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ConsensusBox {
    pub class_id: u32,
    pub bbox: BBox,
    /// The fusion's score (the share of readers who drew the box).
    pub score: f64,
}
