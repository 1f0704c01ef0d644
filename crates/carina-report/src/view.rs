//! The text of a report as every output shows it (HTML, PDF), computed once
//! so the formats cannot drift apart.

use serde::Serialize;

use crate::location::format_size_mm;
use crate::model::{Report, ReportStatus};
use crate::raster::finding_color;

/// One row of the findings table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FindingRow {
    pub class_name: String,
    pub location: String,
    pub size: String,
    pub found_by: String,
    pub confidence: String,
    /// `#rrggbb`, the colour of the box on the thumbnail.
    pub color: String,
}

/// Rows in the report's order; row `i` is box number `i + 1`.
/// With several images in the report, the location names the image.
pub fn finding_rows(r: &Report) -> Vec<FindingRow> {
    let multi = r.subject().image_ids.len() > 1;
    r.findings()
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let [cr, cg, cb] = finding_color(&f.class_name, i);
            FindingRow {
                class_name: f.class_name.clone(),
                location: if multi {
                    format!("{} (image {})", f.location, f.image_id)
                } else {
                    f.location.clone()
                },
                size: f.size_mm.map(format_size_mm).unwrap_or_else(|| "—".into()),
                found_by: f.found_by.describe(),
                confidence: f
                    .confidence
                    .map(|c| format!("{c:.2}"))
                    .unwrap_or_else(|| "—".into()),
                color: format!("#{cr:02x}{cg:02x}{cb:02x}"),
            }
        })
        .collect()
}

/// "Signed", "Amended (signed)", "Draft — not signed".
pub fn status_text(r: &Report) -> &'static str {
    match r.status() {
        ReportStatus::Draft => "Draft — not signed",
        ReportStatus::Signed => "Signed",
        ReportStatus::Amended => "Amended (signed)",
        ReportStatus::Superseded => "Signed — replaced by an amendment",
    }
}
