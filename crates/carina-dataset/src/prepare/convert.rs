//! One image → the model-input file of a prepared dataset.

use carina_core::Letterbox;
use std::path::Path;

/// What one converted image looks like.
pub(crate) struct Converted {
    pub letterbox: Letterbox,
    /// Size of the decoded original.
    pub orig: (u32, u32),
}

/// Decodes `src`, letterboxes it to `size` (aspect kept, zero padding at the
/// right and bottom) and writes `dst`: an 8-bit JPEG windowed with the
/// image's default window, or with `bit_depth` 16 a 16-bit PNG holding the
/// original values unchanged.
pub(crate) fn convert_image(
    src: &Path,
    dst: &Path,
    size: u32,
    bit_depth: u8,
    jpeg_quality: u8,
) -> Result<Converted, String> {
    let bytes = std::fs::read(src).map_err(|e| e.to_string())?;
    let decoded = carina_imaging::decode(&bytes, &carina_imaging::Limits::default())
        .map_err(|e| e.to_string())?;
    let orig = (decoded.image.width, decoded.image.height);
    let (boxed, letterbox) =
        carina_imaging::letterbox(&decoded.image, size).map_err(|e| e.to_string())?;
    let encoded = if bit_depth == 16 {
        carina_imaging::encode_png16(&boxed)
    } else {
        let gray = carina_imaging::to_u8_windowed(&boxed, decoded.meta.window);
        carina_imaging::encode_jpeg8(boxed.width, boxed.height, &gray, jpeg_quality)
    }
    .map_err(|e| e.to_string())?;
    std::fs::write(dst, encoded).map_err(|e| format!("{}: {e}", dst.display()))?;
    Ok(Converted { letterbox, orig })
}

/// A file name for an image id: letters, digits, `-`, `_` and `.` kept,
/// everything else `_`, so ids never escape the images folder.
pub(crate) fn safe_stem(id: &str) -> String {
    let s: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let s = s.trim_start_matches('.').to_string();
    if s.is_empty() { "image".into() } else { s }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_stay_inside_the_folder() {
        assert_eq!(safe_stem("../../etc/passwd"), "_.._etc_passwd");
        assert_eq!(safe_stem("00013118_008.png"), "00013118_008.png");
        assert_eq!(safe_stem(""), "image");
        assert_eq!(safe_stem("a b/c"), "a_b_c");
    }
}
