//! The one embedded font (DejaVu Sans from `carina-assets`, the same file the
//! figures use; Bitstream Vera licence in `carina-assets/fonts/`), used as a
//! simple TrueType font with WinAnsiEncoding: one byte per character, so
//! the text in the PDF is real, selectable and extractable.

use crate::model::ReportError;

pub const FONT_FILE: &[u8] = carina_assets::DEJAVU_SANS;
pub const BASE_FONT: &str = carina_assets::DEJAVU_SANS_NAME;

/// Windows-1252 bytes 0x80..=0x9F → Unicode (0 = unassigned).
const CP1252_HIGH: [u16; 32] = [
    0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039,
    0x0152, 0, 0x017D, 0, 0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC,
    0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178,
];

fn code_to_char(code: u8) -> Option<char> {
    match code {
        0x80..=0x9F => {
            char::from_u32(u32::from(CP1252_HIGH[usize::from(code - 0x80)])).filter(|c| *c != '\0')
        }
        _ => Some(char::from(code)),
    }
}

/// A character as its WinAnsi byte; characters outside the encoding become `?`.
pub fn encode_char(c: char) -> u8 {
    match c {
        ' '..='~' | '\u{A0}'..='\u{FF}' => c as u8,
        '\t' | '\n' | '\r' => b' ',
        _ => (0x80u8..=0x9F)
            .find(|&b| code_to_char(b) == Some(c))
            .unwrap_or(b'?'),
    }
}

/// Metrics of the embedded font in PDF glyph-space units (1/1000 em).
pub struct FontMetrics {
    /// Advance widths of codes 32..=255.
    pub widths: Vec<u32>,
    pub ascent: i32,
    pub descent: i32,
    pub cap_height: i32,
    pub bbox: [i32; 4],
}

impl FontMetrics {
    pub fn load() -> Result<FontMetrics, ReportError> {
        let face = ttf_parser::Face::parse(FONT_FILE, 0)
            .map_err(|e| ReportError::Render(format!("embedded font: {e}")))?;
        let scale = 1000.0 / f64::from(face.units_per_em());
        let s = |v: i16| (f64::from(v) * scale).round() as i32;
        let fallback = face.glyph_index('?');
        let widths = (32u8..=255)
            .map(|code| {
                let gid = code_to_char(code)
                    .and_then(|c| face.glyph_index(c))
                    .or(fallback);
                let adv = gid.and_then(|g| face.glyph_hor_advance(g)).unwrap_or(0);
                (f64::from(adv) * scale).round() as u32
            })
            .collect();
        let bb = face.global_bounding_box();
        Ok(FontMetrics {
            widths,
            ascent: s(face.ascender()),
            descent: s(face.descender()),
            cap_height: face.capital_height().map(s).unwrap_or(729),
            bbox: [s(bb.x_min), s(bb.y_min), s(bb.x_max), s(bb.y_max)],
        })
    }

    /// Width of `text` at `size` points.
    pub fn width(&self, text: &str, size: f64) -> f64 {
        let units: u32 = text
            .chars()
            .map(|c| self.widths[usize::from(encode_char(c).max(32) - 32)])
            .sum();
        f64::from(units) * size / 1000.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_and_widths() {
        assert_eq!(encode_char('A'), b'A');
        assert_eq!(encode_char('×'), 0xD7);
        assert_eq!(encode_char('—'), 0x97);
        assert_eq!(encode_char('€'), 0x80);
        assert_eq!(encode_char('漢'), b'?');
        let m = FontMetrics::load().unwrap();
        assert_eq!(m.widths.len(), 224);
        // DejaVu Sans: space is narrower than 'W', and '×' has a real glyph.
        assert!(m.width(" ", 10.0) < m.width("W", 10.0));
        assert!(m.widths[usize::from(0xD7u8 - 32)] > 0);
        assert!(m.ascent > 0 && m.descent < 0);
    }
}
