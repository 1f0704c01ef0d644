//! The report as one self-contained HTML page (the thumbnail is inlined as a
//! `data:` URL). Rendered with minijinja and HTML auto-escaping: no user text
//! is ever put into HTML by string formatting.

use base64::Engine;
use minijinja::value::{Serde, Value};
use minijinja::{Environment, context};
use serde::Serialize;

use crate::model::{Report, ReportError};
use crate::raster::{ReportImage, annotate, encode_png};
use crate::view::{finding_rows, status_text};

const TEMPLATE: &str = include_str!("../templates/report.html");

/// Longer side of the thumbnail in the HTML page, in pixels.
pub const HTML_THUMBNAIL_SIDE: u32 = 640;

/// One thumbnail as the template sees it.
#[derive(Serialize)]
struct Thumb {
    image_id: String,
    png: String,
    width: u32,
    height: u32,
}

/// The report as HTML, with one annotated thumbnail per image in `images`
/// (the radiographs the findings are on; an empty slice leaves them out,
/// e.g. when an image cannot be read).
pub fn render_html(report: &Report, images: &[ReportImage]) -> Result<String, ReportError> {
    let mut env = Environment::new();
    // The `.html` name turns on minijinja's HTML auto-escaping.
    env.add_template("report.html", TEMPLATE)
        .map_err(|e| ReportError::Render(e.to_string()))?;
    let thumbs = images
        .iter()
        .map(|img| {
            let t = annotate(img, report.findings(), HTML_THUMBNAIL_SIDE)?;
            Ok(Thumb {
                image_id: img.image_id().to_string(),
                png: base64::engine::general_purpose::STANDARD.encode(encode_png(&t)?),
                width: t.width,
                height: t.height,
            })
        })
        .collect::<Result<Vec<Thumb>, ReportError>>()?;
    let tmpl = env
        .get_template("report.html")
        .map_err(|e| ReportError::Render(e.to_string()))?;
    tmpl.render(context! {
        id => report.id(),
        version => report.version(),
        amends => report.amends(),
        status_text => status_text(report),
        images_text => report.subject().images_text(),
        disclaimer => report.disclaimer(),
        subject => Value::from(Serde(report.subject())),
        thumbnails => Value::from(Serde(thumbs)),
        no_finding => report.no_finding(),
        findings => Value::from(Serde(finding_rows(report))),
        impression => report.impression(),
        signed_by => report.signed_by(),
        signed_at => report.signed_at(),
    })
    .map_err(|e| ReportError::Render(e.to_string()))
}
