//! The report as a PDF generated here in Rust: A4 pages with real text in
//! an embedded TrueType font (selectable, extractable with `pdftotext`), the
//! annotated thumbnail as an image, the findings table, impression,
//! signature, version/amendment note and the disclaimer on every page.

mod font;
mod layout;
mod writer;

use std::fmt::Write as _;

use crate::model::{Report, ReportError};
use crate::raster::{ReportImage, annotate};
use font::{BASE_FONT, FONT_FILE, FontMetrics};
use layout::{Layout, PAGE_H, PAGE_W};
use writer::{PdfWriter, info_string};

/// Longer side of the thumbnail raster embedded in the PDF, in pixels.
pub const PDF_THUMBNAIL_SIDE: u32 = 768;

/// The report as PDF bytes, with one annotated thumbnail per image in
/// `images` (an empty slice leaves them out).
pub fn render_pdf(report: &Report, images: &[ReportImage]) -> Result<Vec<u8>, ReportError> {
    let metrics = FontMetrics::load()?;
    let thumbs: Vec<_> = images
        .iter()
        .map(|img| {
            (
                img.image_id(),
                annotate(img, report.findings(), PDF_THUMBNAIL_SIDE),
            )
        })
        .collect();
    let sizes: Vec<(&str, u32, u32)> = thumbs
        .iter()
        .map(|(id, t)| (*id, t.width, t.height))
        .collect();
    let pages = Layout::new(&metrics).report(report, &sizes);

    let mut w = PdfWriter::default();
    let catalog = w.reserve();
    let pages_id = w.reserve();
    let font_file = w.add_stream(&format!("/Length1 {}", FONT_FILE.len()), FONT_FILE);
    let descriptor = w.add(format!(
        "<< /Type /FontDescriptor /FontName /{BASE_FONT} /Flags 32 /FontBBox [{} {} {} {}] \
         /ItalicAngle 0 /Ascent {} /Descent {} /CapHeight {} /StemV 80 /FontFile2 {font_file} 0 R >>",
        metrics.bbox[0], metrics.bbox[1], metrics.bbox[2], metrics.bbox[3],
        metrics.ascent, metrics.descent, metrics.cap_height
    ));
    let widths: Vec<String> = metrics.widths.iter().map(u32::to_string).collect();
    let font = w.add(format!(
        "<< /Type /Font /Subtype /TrueType /BaseFont /{BASE_FONT} /FirstChar 32 /LastChar 255 \
         /Widths [{}] /FontDescriptor {descriptor} 0 R /Encoding /WinAnsiEncoding >>",
        widths.join(" ")
    ));
    let image_objs: Vec<usize> = thumbs.iter().map(|(_, t)| {
        w.add_stream(
            &format!(
                "/Type /XObject /Subtype /Image /Width {} /Height {} /ColorSpace /DeviceRGB /BitsPerComponent 8",
                t.width, t.height
            ),
            &t.data,
        )
    }).collect();
    let mut resources = format!("<< /Font << /F1 {font} 0 R >>");
    if !image_objs.is_empty() {
        resources.push_str(" /XObject <<");
        for (k, id) in image_objs.iter().enumerate() {
            let _ = write!(resources, " /Im{} {id} 0 R", k + 1);
        }
        resources.push_str(" >>");
    }
    resources.push_str(" >>");

    let mut kids = Vec::new();
    for content in &pages {
        let c = w.add_stream("", content.as_bytes());
        let page = w.add(format!(
            "<< /Type /Page /Parent {pages_id} 0 R /MediaBox [0 0 {PAGE_W} {PAGE_H}] \
             /Resources {resources} /Contents {c} 0 R >>"
        ));
        kids.push(format!("{page} 0 R"));
    }
    w.set(
        pages_id,
        format!(
            "<< /Type /Pages /Kids [{}] /Count {} >>",
            kids.join(" "),
            pages.len()
        )
        .into_bytes(),
    );
    w.set(
        catalog,
        format!("<< /Type /Catalog /Pages {pages_id} 0 R >>").into_bytes(),
    );
    let info = w.add(format!(
        "<< /Title {} /Producer (Carina) /Subject {} >>",
        info_string(&format!(
            "Chest radiograph report {} v{}",
            report.id(),
            report.version()
        )),
        info_string(report.disclaimer()),
    ));
    Ok(w.finish(catalog, info))
}
