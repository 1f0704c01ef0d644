//! A structural check of an RLE Lossless frame (PS3.5 Annex G) before
//! dicom-rs decodes it. dicom-rs 0.10 trusts the frame: a header that
//! declares more segments than the fragment holds, or a segment that
//! unpacks to fewer bytes than Rows × Columns, makes it index out of
//! bounds (found by the `dicom` fuzz target); a segment count near 2³²
//! would make it allocate that many offsets. Here the header, the offsets
//! and each segment's PackBits stream are walked without allocating.

use crate::ImagingError;

/// RLE Lossless.
pub(super) const RLE_LOSSLESS: &str = "1.2.840.10008.1.2.5";

/// The RLE header is 16 little-endian u32: the segment count, then up to
/// 15 segment offsets from the start of the fragment.
const HEADER_LEN: usize = 64;

fn corrupt(msg: String) -> ImagingError {
    ImagingError::CorruptPixelData(format!("RLE frame: {msg}"))
}

/// Checks that `fragment` holds `samples × bytes_per_sample` segments, each
/// inside the fragment, each unpacking to at least `rows × cols` bytes.
pub(super) fn check_frame(
    fragment: &[u8],
    rows: u64,
    cols: u64,
    samples: u64,
    bits_allocated: u64,
) -> Result<(), ImagingError> {
    if bits_allocated != 8 && bits_allocated != 16 {
        return Err(corrupt(format!("{bits_allocated} bits allocated")));
    }
    let expected = samples * (bits_allocated / 8);
    if fragment.len() < HEADER_LEN {
        return Err(corrupt(format!(
            "{} bytes, shorter than its 64-byte header",
            fragment.len()
        )));
    }
    let word = |i: usize| {
        u32::from_le_bytes([
            fragment[4 * i],
            fragment[4 * i + 1],
            fragment[4 * i + 2],
            fragment[4 * i + 3],
        ]) as usize
    };
    let segments = word(0);
    if segments as u64 != expected {
        return Err(corrupt(format!(
            "{segments} segments, but the image needs {expected}"
        )));
    }
    let mut bounds: Vec<usize> = (1..=segments).map(word).collect();
    bounds.push(fragment.len());
    if bounds[0] < HEADER_LEN || bounds.windows(2).any(|w| w[0] > w[1]) {
        return Err(corrupt("segment offsets out of order or range".into()));
    }
    let need = rows * cols;
    for (i, w) in bounds.windows(2).enumerate() {
        let got = unpacked_len(&fragment[w[0]..w[1]], need);
        if got < need {
            return Err(corrupt(format!(
                "segment {} unpacks to {got} bytes, fewer than the {need} pixels",
                i + 1
            )));
        }
    }
    Ok(())
}

/// How many bytes a PackBits stream unpacks to, stopping once `need` is
/// reached; a literal run cut off by the end of the segment counts only
/// the bytes present.
fn unpacked_len(segment: &[u8], need: u64) -> u64 {
    let (mut pos, mut out) = (0usize, 0u64);
    while pos < segment.len() && out < need {
        let n = segment[pos] as i8;
        pos += 1;
        if n >= 0 {
            let run = (n as usize + 1).min(segment.len() - pos);
            out += run as u64;
            pos += run;
        } else if n != -128 {
            if pos >= segment.len() {
                break;
            }
            out += (1 - n as i64) as u64;
            pos += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(segments: &[&[u8]]) -> Vec<u8> {
        let mut out = vec![0u8; HEADER_LEN];
        out[..4].copy_from_slice(&(segments.len() as u32).to_le_bytes());
        let mut offset = HEADER_LEN;
        for (i, s) in segments.iter().enumerate() {
            out[4 * (i + 1)..4 * (i + 2)].copy_from_slice(&(offset as u32).to_le_bytes());
            offset += s.len();
        }
        for s in segments {
            out.extend_from_slice(s);
        }
        out
    }

    #[test]
    fn a_whole_frame_passes() {
        // 2×2 pixels, 8 bits: a run of 4 zeros ( -3 → 4 copies ).
        let f = frame(&[&[0xFD, 0x00]]);
        check_frame(&f, 2, 2, 1, 8).unwrap();
        // 16 bits: two segments, literal runs.
        let f = frame(&[&[0x03, 1, 2, 3, 4], &[0x03, 5, 6, 7, 8]]);
        check_frame(&f, 2, 2, 1, 16).unwrap();
    }

    #[test]
    fn short_or_inconsistent_frames_are_refused() {
        // A segment that unpacks to 3 of 4 bytes (what the fuzzer found).
        let f = frame(&[&[0x02, 1, 2, 3]]);
        assert!(check_frame(&f, 2, 2, 1, 8).is_err());
        // A literal run cut off by the end of the segment.
        let f = frame(&[&[0x03, 1, 2]]);
        assert!(check_frame(&f, 2, 2, 1, 8).is_err());
        // Fewer segments than 16-bit samples need; a count near 2^32.
        let f = frame(&[&[0xFD, 0x00]]);
        assert!(check_frame(&f, 2, 2, 1, 16).is_err());
        let mut f = frame(&[&[0xFD, 0x00]]);
        f[..4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(check_frame(&f, 2, 2, 1, 8).is_err());
        // Offsets beyond the fragment, or before the header's end.
        let mut f = frame(&[&[0xFD, 0x00]]);
        f[4..8].copy_from_slice(&1000u32.to_le_bytes());
        assert!(check_frame(&f, 2, 2, 1, 8).is_err());
        f[4..8].copy_from_slice(&8u32.to_le_bytes());
        assert!(check_frame(&f, 2, 2, 1, 8).is_err());
        // Shorter than the header.
        assert!(check_frame(&[1, 0, 0, 0], 2, 2, 1, 8).is_err());
        assert!(check_frame(&frame(&[&[0xFD, 0x00]]), 2, 2, 1, 12).is_err());
    }
}
