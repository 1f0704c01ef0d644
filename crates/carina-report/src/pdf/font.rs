//! The one embedded font: DejaVu Sans from `carina-assets` (the same file
//! the figures use; Bitstream Vera licence in `carina-assets/fonts/`).
//!
//! Text is written glyph by glyph through a Type 0 font (a CIDFontType2
//! descendant, `Identity-H`), so any character the font has a glyph for can
//! appear: DejaVu Sans covers Latin, Greek and Cyrillic (and more, e.g.
//! arrows and ✓, but those three scripts are what Carina claims). There is
//! no shaping: one character is one glyph, each at its advance width, which
//! is right for these scripts (combining marks are not composed).
//!
//! A character the font has no glyph for (e.g. CJK) is drawn as U+FFFD '�'
//! and extracted as U+FFFD, so it is visible on the page and in copied text
//! instead of silently turning into another character. Tabs and line breaks
//! inside a line are drawn as spaces.
//!
//! [`GlyphSet`] records the glyphs a document uses; only those are embedded
//! (subset by `subsetter`), with a ToUnicode CMap so the text is extractable.

use std::collections::BTreeMap;

use subsetter::GlyphRemapper;
use ttf_parser::{Face, GlyphId};

use crate::model::ReportError;

pub const FONT_FILE: &[u8] = carina_assets::DEJAVU_SANS;
pub const BASE_FONT: &str = carina_assets::DEJAVU_SANS_NAME;

/// What a character without a glyph is drawn (and extracted) as.
pub const REPLACEMENT: char = '\u{FFFD}';

/// The parsed font with its metrics in PDF glyph-space units (1/1000 em).
pub struct PdfFont {
    face: Face<'static>,
    scale: f32,
    /// The glyph of [`REPLACEMENT`] (`.notdef` if the font had none).
    replacement: GlyphId,
}

impl PdfFont {
    pub fn load() -> Result<PdfFont, ReportError> {
        let face = Face::parse(FONT_FILE, 0)
            .map_err(|e| ReportError::Render(format!("embedded font: {e}")))?;
        let scale = 1000.0 / f32::from(face.units_per_em());
        let replacement = face.glyph_index(REPLACEMENT).unwrap_or(GlyphId(0));
        Ok(PdfFont {
            face,
            scale,
            replacement,
        })
    }

    /// The glyph `c` is drawn with and the character it stands for in the
    /// extracted text (`c` itself, a space for control characters, or
    /// [`REPLACEMENT`] when the font lacks `c`).
    pub fn glyph(&self, c: char) -> (GlyphId, char) {
        let c = if c.is_control() { ' ' } else { c };
        match self.face.glyph_index(c) {
            Some(g) => (g, c),
            None => (self.replacement, REPLACEMENT),
        }
    }

    /// Advance width of a glyph in 1/1000 em.
    pub fn advance(&self, g: GlyphId) -> f32 {
        f32::from(self.face.glyph_hor_advance(g).unwrap_or(0)) * self.scale
    }

    /// Width of `text` at `size` points, as the glyphs will be drawn.
    pub fn width(&self, text: &str, size: f64) -> f64 {
        let units: f32 = text.chars().map(|c| self.advance(self.glyph(c).0)).sum();
        f64::from(units) * size / 1000.0
    }

    fn units(&self, v: i16) -> f32 {
        (f32::from(v) * self.scale).round()
    }

    pub fn ascent(&self) -> f32 {
        self.units(self.face.ascender())
    }

    pub fn descent(&self) -> f32 {
        self.units(self.face.descender())
    }

    pub fn cap_height(&self) -> f32 {
        self.face.capital_height().map_or(729.0, |v| self.units(v))
    }

    /// Font bounding box `[x_min, y_min, x_max, y_max]`.
    pub fn bbox(&self) -> [f32; 4] {
        let b = self.face.global_bounding_box();
        [
            self.units(b.x_min),
            self.units(b.y_min),
            self.units(b.x_max),
            self.units(b.y_max),
        ]
    }
}

/// The glyphs a document uses: old glyph id → new id (the CID in the
/// content streams and the glyph id in the subset font), and what each
/// new id stands for in the text.
#[derive(Default)]
pub struct GlyphSet {
    /// Starts with `.notdef` as id 0.
    remapper: GlyphRemapper,
    unicode: BTreeMap<u16, char>,
}

impl GlyphSet {
    /// `text` as the 2-byte CIDs of a show-text operator (Identity-H).
    pub fn encode(&mut self, font: &PdfFont, text: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(text.len() * 2);
        for c in text.chars() {
            let (g, stands_for) = font.glyph(c);
            let cid = self.remapper.remap(g.0);
            self.unicode.entry(cid).or_insert(stands_for);
            out.extend_from_slice(&cid.to_be_bytes());
        }
        out
    }

    /// The embedded font program: DejaVu Sans with only these glyphs (and
    /// the components of composite ones) left, renumbered.
    pub fn subset(&self) -> Result<Vec<u8>, ReportError> {
        subsetter::subset(FONT_FILE, 0, &self.remapper)
            .map_err(|e| ReportError::Render(format!("font subset: {e}")))
    }

    /// Advance widths (1/1000 em) of the new ids 0, 1, 2, … in order.
    pub fn widths(&self, font: &PdfFont) -> Vec<f32> {
        self.remapper
            .remapped_gids()
            .map(|g| font.advance(GlyphId(g)))
            .collect()
    }

    /// New id → the character it stands for (ids with no character, i.e.
    /// `.notdef`, are left out).
    pub fn unicode(&self) -> impl Iterator<Item = (u16, char)> + '_ {
        self.unicode.iter().map(|(&cid, &c)| (cid, c))
    }

    /// The six capital letters before a subset font's name (ISO 32000-1
    /// §9.6.4), derived from the glyphs so the same text gives the same file.
    pub fn tag(&self) -> String {
        // FNV-1a over the glyph ids.
        let mut h: u32 = 0x811c_9dc5;
        for g in self.remapper.remapped_gids() {
            for b in g.to_be_bytes() {
                h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
            }
        }
        (0..6)
            .map(|i| char::from(b'A' + ((h >> (i * 5)) % 26) as u8))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glyphs_widths_and_fallback() {
        let f = PdfFont::load().unwrap();
        // DejaVu Sans has Latin, Greek and Cyrillic glyphs, and U+FFFD.
        for c in ['A', '×', '—', '€', 'Ω', 'π', 'Ж', 'я', REPLACEMENT] {
            let (g, s) = f.glyph(c);
            assert_ne!(g.0, 0, "{c}");
            assert_eq!(s, c);
            assert!(f.advance(g) > 0.0, "{c}");
        }
        // No CJK: drawn and extracted as U+FFFD, never as '?'.
        assert_eq!(f.glyph('漢'), f.glyph(REPLACEMENT));
        assert_eq!(f.glyph('\t').1, ' ');
        // Real advance widths: space narrower than 'W', 'ш' wider than 'i'.
        assert!(f.width(" ", 10.0) < f.width("W", 10.0));
        assert!(f.width("ш", 10.0) > f.width("i", 10.0));
        // DejaVu Sans 'A' advances 1401/2048 em.
        assert!((f.width("A", 1000.0) - 1401.0 * 1000.0 / 2048.0).abs() < 0.01);
        assert!(f.ascent() > 0.0 && f.descent() < 0.0);
    }

    #[test]
    fn glyph_set_numbers_glyphs_in_order_of_use_and_maps_them_back() {
        let f = PdfFont::load().unwrap();
        let mut set = GlyphSet::default();
        // .notdef is id 0; 'П' is 1, 'и' 2, then 'П' again is 1.
        assert_eq!(set.encode(&f, "ПиП"), [0, 1, 0, 2, 0, 1]);
        assert_eq!(set.encode(&f, "漢字"), [0, 3, 0, 3]);
        let map: Vec<(u16, char)> = set.unicode().collect();
        assert_eq!(map, [(1, 'П'), (2, 'и'), (3, REPLACEMENT)]);
        let widths = set.widths(&f);
        assert_eq!(widths.len(), 4);
        assert_eq!(widths[1], f.advance(f.glyph('П').0));
        let tag = set.tag();
        assert_eq!(tag.len(), 6);
        assert!(tag.chars().all(|c| c.is_ascii_uppercase()));
        // The subset is a TrueType font far smaller than the whole file.
        let sub = set.subset().unwrap();
        assert_eq!(&sub[..4], &[0, 1, 0, 0]);
        assert!(sub.len() < FONT_FILE.len() / 20, "{} bytes", sub.len());
    }
}
