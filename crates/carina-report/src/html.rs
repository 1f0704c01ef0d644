//! The report as one self-contained HTML page (the thumbnail is inlined as a
//! `data:` URL). Rendered with minijinja and HTML auto-escaping: no user text
//! is ever put into HTML by string formatting.

use base64::Engine;
use minijinja::value::{Serde, Value};
use minijinja::{Environment, context};

use crate::model::{Report, ReportError};
use crate::raster::{ReportImage, annotate, encode_png};
use crate::view::{finding_rows, status_text};

const TEMPLATE: &str = include_str!("../templates/report.html");

/// Longer side of the thumbnail in the HTML page, in pixels.
pub const HTML_THUMBNAIL_SIDE: u32 = 640;

/// The report as HTML. `image` is the radiograph the boxes refer to; pass
/// `None` to leave the thumbnail out (e.g. when the image cannot be read).
pub fn render_html(report: &Report, image: Option<&ReportImage>) -> Result<String, ReportError> {
    let mut env = Environment::new();
    // The `.html` name turns on minijinja's HTML auto-escaping.
    env.add_template("report.html", TEMPLATE)
        .map_err(|e| ReportError::Render(e.to_string()))?;
    let thumb = image.map(|img| annotate(img, report.findings(), HTML_THUMBNAIL_SIDE));
    let tmpl = env
        .get_template("report.html")
        .map_err(|e| ReportError::Render(e.to_string()))?;
    tmpl.render(context! {
        id => report.id(),
        version => report.version(),
        amends => report.amends(),
        status_text => status_text(report),
        disclaimer => report.disclaimer(),
        subject => Value::from(Serde(report.subject())),
        thumbnail => thumb.as_ref().map(|t| base64::engine::general_purpose::STANDARD.encode(encode_png(t))),
        thumb_width => thumb.as_ref().map(|t| t.width),
        thumb_height => thumb.as_ref().map(|t| t.height),
        no_finding => report.no_finding(),
        findings => Value::from(Serde(finding_rows(report))),
        impression => report.impression(),
        signed_by => report.signed_by(),
        signed_at => report.signed_at(),
    })
    .map_err(|e| ReportError::Render(e.to_string()))
}
