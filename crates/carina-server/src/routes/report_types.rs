//! The request and response bodies of reports (`routes::reports`).

use crate::reporting::ReportOut;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A new draft; an empty body is allowed.
#[derive(Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ReportCreate)]
pub struct CreateBody {
    /// at most 20000 characters
    #[serde(default)]
    pub impression: Option<String>,
    /// POST /reports only: 1-16 images of one study
    #[serde(default)]
    pub image_ids: Option<Vec<i64>>,
}

/// `GET /reports`: the newest first.
#[derive(Serialize, ToSchema)]
pub struct ReportList {
    pub reports: Vec<ReportOut>,
}

/// The fields to change.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ReportEdit)]
pub struct EditBody {
    /// at most 20000 characters
    pub impression: Option<String>,
    pub no_finding: Option<bool>,
    /// Take the findings again from the images' current annotations.
    #[serde(default)]
    pub refresh_findings: bool,
}
