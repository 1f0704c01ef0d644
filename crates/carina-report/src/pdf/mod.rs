//! The report as a PDF, written with `pdf-writer`: A4 pages with real
//! Unicode text (selectable, extractable with `pdftotext`) in DejaVu Sans,
//! embedded as a subset of the glyphs used (`subsetter`) behind a Type 0
//! font with `Identity-H` and a ToUnicode CMap (see `pdf/font.rs` for what the
//! font covers and what happens to characters it lacks); the annotated
//! thumbnail as an image, the findings table, impression, signature,
//! version/amendment note and the disclaimer on every page.

mod font;
mod layout;

use pdf_writer::types::{CidFontType, FontFlags, SystemInfo};
use pdf_writer::{Filter, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

use crate::model::{Report, ReportError};
use crate::raster::{ReportImage, annotate};
use font::{BASE_FONT, GlyphSet, PdfFont};
use layout::{FONT_NAME, Layout, PAGE_H, PAGE_W, image_name};

/// Longer side of the thumbnail raster embedded in the PDF, in pixels.
pub const PDF_THUMBNAIL_SIDE: u32 = 768;

/// CIDs are glyph ids (`/Identity`), in no registered character collection.
const IDENTITY: SystemInfo<'static> = SystemInfo {
    registry: Str(b"Adobe"),
    ordering: Str(b"Identity"),
    supplement: 0,
};

/// JPEG quality of the thumbnails: a radiograph's thumbnail at 768 px is
/// 50–90 KB instead of several hundred as a Flate-compressed raster.
const THUMBNAIL_JPEG_QUALITY: u8 = 88;

/// An RGB thumbnail as a baseline JPEG (embedded with `DCTDecode`).
fn jpeg(rgb: &[u8], width: u32, height: u32) -> Result<Vec<u8>, ReportError> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, THUMBNAIL_JPEG_QUALITY)
        .encode(rgb, width, height, image::ExtendedColorType::Rgb8)
        .map_err(|e| ReportError::Render(format!("thumbnail JPEG: {e}")))?;
    Ok(out)
}

fn deflate(data: &[u8]) -> Vec<u8> {
    miniz_oxide::deflate::compress_to_vec_zlib(data, 6)
}

/// Object numbers, handed out in order.
struct Ids(i32);

impl Ids {
    fn next(&mut self) -> Ref {
        self.0 += 1;
        Ref::new(self.0)
    }
}

/// The report as PDF bytes, with one annotated thumbnail per image in
/// `images` (an empty slice leaves them out).
pub fn render_pdf(report: &Report, images: &[ReportImage]) -> Result<Vec<u8>, ReportError> {
    let font = PdfFont::load()?;
    let thumbs = images
        .iter()
        .map(|img| {
            let t = annotate(img, report.findings(), PDF_THUMBNAIL_SIDE)?;
            Ok((img.image_id(), t))
        })
        .collect::<Result<Vec<_>, ReportError>>()?;
    let sizes: Vec<(&str, u32, u32)> = thumbs
        .iter()
        .map(|(id, t)| (*id, t.width, t.height))
        .collect();
    let (pages, glyphs) = Layout::new(&font).report(report, &sizes);

    let mut ids = Ids(0);
    let mut pdf = Pdf::new();
    let catalog_id = ids.next();
    let pages_id = ids.next();
    let font_id = write_font(&mut pdf, &mut ids, &font, &glyphs)?;
    let image_ids: Vec<Ref> = thumbs
        .iter()
        .map(|(_, t)| -> Result<Ref, ReportError> {
            let id = ids.next();
            let data = jpeg(&t.data, t.width, t.height)?;
            let mut image = pdf.image_xobject(id, &data);
            image.filter(Filter::DctDecode);
            image.width(t.width as i32);
            image.height(t.height as i32);
            image.color_space().device_rgb();
            image.bits_per_component(8);
            image.finish();
            Ok(id)
        })
        .collect::<Result<Vec<_>, ReportError>>()?;

    let mut kids = Vec::with_capacity(pages.len());
    for content in pages {
        let page_id = ids.next();
        let content_id = ids.next();
        kids.push(page_id);
        let data = deflate(&content.finish());
        pdf.stream(content_id, &data).filter(Filter::FlateDecode);
        let mut page = pdf.page(page_id);
        page.parent(pages_id)
            .media_box(Rect::new(0.0, 0.0, PAGE_W as f32, PAGE_H as f32))
            .contents(content_id);
        let mut resources = page.resources();
        resources.fonts().pair(FONT_NAME, font_id);
        if !image_ids.is_empty() {
            let mut xobjects = resources.x_objects();
            for (k, id) in image_ids.iter().enumerate() {
                let name = image_name(k + 1);
                xobjects.pair(Name(name.as_bytes()), *id);
            }
        }
    }
    pdf.pages(pages_id).count(kids.len() as i32).kids(kids);
    pdf.catalog(catalog_id).pages(pages_id);
    let title = format!(
        "Chest radiograph report {} v{}",
        report.id(),
        report.version()
    );
    pdf.document_info(ids.next())
        .title(TextStr(&title))
        .producer(TextStr("Carina"))
        .subject(TextStr(report.disclaimer()));
    Ok(pdf.finish())
}

/// The Type 0 font, its CIDFontType2 descendant, descriptor, subset font
/// program and ToUnicode CMap; returns the Type 0 font's reference.
fn write_font(
    pdf: &mut Pdf,
    ids: &mut Ids,
    font: &PdfFont,
    glyphs: &GlyphSet,
) -> Result<Ref, ReportError> {
    let type0_id = ids.next();
    let cid_id = ids.next();
    let descriptor_id = ids.next();
    let program_id = ids.next();
    let cmap_id = ids.next();
    let name = format!("{}+{BASE_FONT}", glyphs.tag());
    let base_font = Name(name.as_bytes());

    pdf.type0_font(type0_id)
        .base_font(base_font)
        .encoding_predefined(Name(b"Identity-H"))
        .descendant_font(cid_id)
        .to_unicode(cmap_id);

    let mut cid = pdf.cid_font(cid_id);
    cid.subtype(CidFontType::Type2)
        .base_font(base_font)
        .system_info(IDENTITY)
        .font_descriptor(descriptor_id)
        .cid_to_gid_map_predefined(Name(b"Identity"));
    cid.widths().consecutive(0, glyphs.widths(font));
    cid.finish();

    let [x0, y0, x1, y1] = font.bbox();
    pdf.font_descriptor(descriptor_id)
        .name(base_font)
        .flags(FontFlags::SYMBOLIC)
        .bbox(Rect::new(x0, y0, x1, y1))
        .italic_angle(0.0)
        .ascent(font.ascent())
        .descent(font.descent())
        .cap_height(font.cap_height())
        .stem_v(80.0)
        .font_file2(program_id);

    let program = glyphs.subset()?;
    let packed = deflate(&program);
    pdf.stream(program_id, &packed)
        .filter(Filter::FlateDecode)
        .pair(Name(b"Length1"), program.len() as i32);

    let mut cmap = pdf_writer::types::UnicodeCmap::new(Name(b"Custom"), IDENTITY);
    for (cid, c) in glyphs.unicode() {
        cmap.pair(cid, c);
    }
    let cmap = deflate(&cmap.finish());
    pdf.cmap(cmap_id, &cmap).filter(Filter::FlateDecode);
    Ok(type0_id)
}
