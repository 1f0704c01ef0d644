//! Where a report version stands: the one status type of the report model
//! (`carina-report`), the database (`carina-store`) and the API.

use serde::{Deserialize, Serialize};

/// Where a report version stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportStatus {
    /// Being written; the only editable state.
    Draft,
    /// Signed, version 1.
    Signed,
    /// Signed, and it amends an earlier version.
    Amended,
    /// Signed, and a signed amendment has replaced it (kept as it was).
    Superseded,
}

impl ReportStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ReportStatus::Draft => "draft",
            ReportStatus::Signed => "signed",
            ReportStatus::Amended => "amended",
            ReportStatus::Superseded => "superseded",
        }
    }
    pub fn parse(s: &str) -> Option<ReportStatus> {
        match s {
            "draft" => Some(ReportStatus::Draft),
            "signed" => Some(ReportStatus::Signed),
            "amended" => Some(ReportStatus::Amended),
            "superseded" => Some(ReportStatus::Superseded),
            _ => None,
        }
    }
}
