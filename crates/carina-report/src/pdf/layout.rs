//! Page layout: a cursor that writes lines, wrapped paragraphs, a table and
//! the image top to bottom, starting new pages as needed. Produces one
//! content stream per page (pdf-writer's `Content`) and the set of glyphs
//! they use. Lines are measured with the font's real advance widths.

use std::fmt::Write as _;

use pdf_writer::{Content, Name, Str};

use super::font::{GlyphSet, PdfFont};
use crate::model::Report;
use crate::view::{finding_rows, status_text};

pub const PAGE_W: f64 = 595.0; // A4 in points
pub const PAGE_H: f64 = 842.0;
const MARGIN: f64 = 50.0;
const FOOTER: f64 = 30.0;
const CONTENT_W: f64 = PAGE_W - 2.0 * MARGIN;

/// The font's resource name on every page.
pub const FONT_NAME: Name<'static> = Name(b"F1");

/// Image XObject `k` (1-based) as named in the page resources.
pub fn image_name(k: usize) -> String {
    format!("Im{k}")
}

pub struct Layout<'a> {
    m: &'a PdfFont,
    glyphs: GlyphSet,
    pages: Vec<Content>,
    y: f64,
    footer: String,
}

type Rgb = (f64, f64, f64);

fn rgb(hex: &str) -> (f64, f64, f64) {
    let v = u32::from_str_radix(hex.trim_start_matches('#'), 16).unwrap_or(0);
    let c = |s: u32| f64::from((v >> s) & 0xff) / 255.0;
    (c(16), c(8), c(0))
}

impl<'a> Layout<'a> {
    pub fn new(m: &'a PdfFont) -> Layout<'a> {
        Layout {
            m,
            glyphs: GlyphSet::default(),
            pages: Vec::new(),
            y: 0.0,
            footer: String::new(),
        }
    }

    fn page(&mut self) -> &mut Content {
        if self.pages.is_empty() {
            self.new_page();
        }
        self.pages.last_mut().expect("a page exists")
    }

    fn new_page(&mut self) {
        self.pages.push(Content::new());
        self.y = PAGE_H - MARGIN;
    }

    /// Room for `h` points below the cursor, or a new page.
    fn ensure(&mut self, h: f64) {
        if self.pages.is_empty() || self.y - h < MARGIN + FOOTER {
            self.new_page();
        }
    }

    fn text_at(&mut self, x: f64, y: f64, size: f64, color: Rgb, text: &str) {
        let cids = self.glyphs.encode(self.m, text);
        show(self.page(), x, y, size, color, &cids);
    }

    /// Splits text into lines no wider than `width` at `size` (words are
    /// kept whole unless a single word is too wide).
    fn wrap(&self, text: &str, size: f64, width: f64) -> Vec<String> {
        let mut lines = Vec::new();
        for para in text.split('\n') {
            let mut line = String::new();
            for word in para.split_whitespace() {
                let candidate = if line.is_empty() {
                    word.to_string()
                } else {
                    format!("{line} {word}")
                };
                if self.m.width(&candidate, size) <= width {
                    line = candidate;
                    continue;
                }
                if !line.is_empty() {
                    lines.push(std::mem::take(&mut line));
                }
                // A word wider than the line is cut by characters.
                for ch in word.chars() {
                    let next = format!("{line}{ch}");
                    if self.m.width(&next, size) > width && !line.is_empty() {
                        lines.push(std::mem::take(&mut line));
                        line.push(ch);
                    } else {
                        line = next;
                    }
                }
            }
            lines.push(line);
        }
        lines
    }

    fn paragraph(&mut self, text: &str, size: f64, color: Rgb) {
        let lead = size * 1.35;
        for line in self.wrap(text, size, CONTENT_W) {
            self.ensure(lead);
            self.y -= lead;
            let y = self.y;
            self.text_at(MARGIN, y, size, color, &line);
        }
    }

    fn heading(&mut self, text: &str) {
        self.ensure(40.0);
        self.y -= 10.0;
        self.paragraph(text, 13.0, (0.1, 0.2, 0.45));
        self.y -= 3.0;
    }

    /// Draws XObject `/Im{k}` (1-based), `w`×`h` pixels, with a caption.
    fn image(&mut self, k: usize, image_id: &str, (w, h): (u32, u32)) {
        let max_w = CONTENT_W * 0.6;
        let max_h = 330.0;
        let s = (max_w / f64::from(w)).min(max_h / f64::from(h));
        let (dw, dh) = (f64::from(w) * s, f64::from(h) * s);
        self.ensure(dh + 20.0);
        self.y -= dh + 6.0;
        let y = self.y;
        let name = image_name(k);
        self.page()
            .save_state()
            .transform([dw as f32, 0.0, 0.0, dh as f32, MARGIN as f32, y as f32])
            .x_object(Name(name.as_bytes()))
            .restore_state();
        self.y -= 4.0;
        self.paragraph(
            &format!("Image {image_id}. Boxes are numbered as in the findings table."),
            8.0,
            (0.3, 0.3, 0.3),
        );
    }

    fn table(&mut self, report: &Report) {
        const COLS: [(&str, f64); 6] = [
            ("#", 22.0),
            ("Finding", 88.0),
            ("Location", 128.0),
            ("Size", 72.0),
            ("Found by", 128.0),
            ("Confidence", 57.0),
        ];
        let size = 8.5;
        let lead = size * 1.3;
        let rows: Vec<(String, Vec<String>)> = finding_rows(report)
            .into_iter()
            .enumerate()
            .map(|(i, r)| {
                (
                    r.color,
                    vec![
                        (i + 1).to_string(),
                        r.class_name,
                        r.location,
                        r.size,
                        r.found_by,
                        r.confidence,
                    ],
                )
            })
            .collect();
        let header = (
            "#000000".to_string(),
            COLS.iter().map(|c| c.0.to_string()).collect::<Vec<_>>(),
        );
        for (k, (color, cells)) in std::iter::once(header).chain(rows).enumerate() {
            let wrapped: Vec<Vec<String>> = cells
                .iter()
                .zip(COLS)
                .map(|(c, (_, w))| self.wrap(c, size, w - 6.0))
                .collect();
            let n = wrapped.iter().map(Vec::len).max().unwrap_or(1);
            let row_h = n as f64 * lead + 5.0;
            self.ensure(row_h);
            let top = self.y;
            let mut x = MARGIN;
            if k == 0 {
                fill_rect(
                    self.page(),
                    (0.9, 0.92, 0.96),
                    [x, top - row_h, CONTENT_W, row_h],
                );
            } else {
                // A colour swatch matching the box on the thumbnail.
                fill_rect(
                    self.page(),
                    rgb(&color),
                    [x + 1.5, top - row_h + 1.5, 5.0, row_h - 3.0],
                );
            }
            for (ci, (lines, (_, w))) in wrapped.iter().zip(COLS).enumerate() {
                for (j, line) in lines.iter().enumerate() {
                    let ty = top - 2.0 - (j as f64 + 1.0) * lead + 2.0;
                    let tx = if ci == 0 { x + 8.0 } else { x + 3.0 };
                    self.text_at(tx, ty, size, (0.0, 0.0, 0.0), line);
                }
                x += w;
            }
            let rule = (top - row_h) as f32;
            self.page()
                .set_stroke_gray(0.6)
                .set_line_width(0.5)
                .move_to(MARGIN as f32, rule)
                .line_to((MARGIN + CONTENT_W) as f32, rule)
                .stroke();
            self.y = top - row_h;
        }
    }

    fn footers(&mut self) {
        let n = self.pages.len();
        for (i, page) in self.pages.iter_mut().enumerate() {
            let text = format!("{} — page {} of {n}", self.footer, i + 1);
            let cids = self.glyphs.encode(self.m, &text);
            show(page, MARGIN, MARGIN - 10.0, 7.5, (0.6, 0.0, 0.0), &cids);
        }
    }

    /// The whole report: one content stream per page, and the glyphs used.
    pub fn report(mut self, r: &Report, thumbs: &[(&str, u32, u32)]) -> (Vec<Content>, GlyphSet) {
        self.footer = r.disclaimer().to_string();
        let red = (0.7, 0.0, 0.0);
        self.paragraph(r.disclaimer(), 10.0, red);
        self.y -= 6.0;
        self.paragraph("Chest radiograph report", 18.0, (0.0, 0.0, 0.0));
        let mut status = format!(
            "{} — report {}, version {}",
            status_text(r),
            r.id(),
            r.version()
        );
        if let Some(prev) = r.amends() {
            let _ = write!(status, " (amends report {prev})");
        }
        self.paragraph(&status, 10.0, (0.2, 0.2, 0.2));
        self.y -= 4.0;
        let s = r.subject();
        let unknown = || "unknown".to_string();
        for line in [
            format!(
                "Patient (pseudonym): {}",
                s.patient_pseudonym.clone().unwrap_or_else(unknown)
            ),
            format!(
                "Study (pseudonym): {}",
                s.study_pseudonym.clone().unwrap_or_else(unknown)
            ),
            format!("Images: {}", s.images_text()),
            format!(
                "Modality: {}    Study date: {}",
                s.modality.clone().unwrap_or_else(unknown),
                s.study_date.clone().unwrap_or_else(unknown)
            ),
        ] {
            self.paragraph(&line, 9.5, (0.0, 0.0, 0.0));
        }
        for (k, (id, w, h)) in thumbs.iter().enumerate() {
            self.image(k + 1, id, (*w, *h));
        }
        self.heading("Findings");
        if r.no_finding() {
            self.paragraph("No finding.", 10.0, (0.0, 0.0, 0.0));
        } else if r.findings().is_empty() {
            self.paragraph("No findings recorded.", 10.0, (0.0, 0.0, 0.0));
        } else {
            self.table(r);
        }
        self.heading("Impression");
        self.paragraph(r.impression(), 10.5, (0.0, 0.0, 0.0));
        self.heading("Signature");
        match (r.signed_by(), r.signed_at()) {
            (Some(by), Some(at)) => {
                self.paragraph(&format!("Signed by {by} at {at}"), 10.5, (0.0, 0.0, 0.0))
            }
            _ => self.paragraph("Not signed (draft).", 10.5, red),
        }
        let note = match r.amends() {
            Some(prev) => format!(
                "Version {} amends report {prev}. Signed reports are never changed; each amendment is a new version and all versions are kept.",
                r.version()
            ),
            None => format!(
                "Version {}. Signed reports are never changed; an amendment is a new version and all versions are kept.",
                r.version()
            ),
        };
        self.y -= 6.0;
        self.paragraph(&note, 8.5, (0.3, 0.3, 0.3));
        self.footers();
        (self.pages, self.glyphs)
    }
}

/// One line of text: `cids` (2 bytes per glyph) at baseline `(x, y)`.
fn show(page: &mut Content, x: f64, y: f64, size: f64, (r, g, b): Rgb, cids: &[u8]) {
    page.begin_text()
        .set_fill_rgb(r as f32, g as f32, b as f32)
        .set_font(FONT_NAME, size as f32)
        .next_line(x as f32, y as f32)
        .show(Str(cids))
        .end_text();
}

fn fill_rect(page: &mut Content, (r, g, b): Rgb, [x, y, w, h]: [f64; 4]) {
    page.set_fill_rgb(r as f32, g as f32, b as f32)
        .rect(x as f32, y as f32, w as f32, h as f32)
        .fill_nonzero();
}
