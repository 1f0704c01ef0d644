//! A structural pre-scan of DICOM Part 10 bytes, run before dicom-rs sees
//! them.
//!
//! dicom-rs 0.10 allocates every declared value length before reading it
//! (a 438-byte file declaring a 0xFFFFFFF0-byte element costs 4 GiB), builds
//! nested sequences by recursion (3,000 levels overflow the stack), and
//! inflates a deflated data set without bound. It cannot be told otherwise,
//! so this walk goes first: tag, VR, length and depth of every element,
//! mirroring how dicom-rs tokenises (file meta group by its group length,
//! undefined lengths as sequences, encapsulated pixel data as fragments),
//! with every declared length checked against the bytes actually there
//! (and against the inflation cap) and the sequence depth against
//! [`Limits::max_depth`]. It allocates nothing proportional to the input: a
//! stack of open sequences and items (bounded by the depth limit) and, for a
//! deflated data set, one 64 KiB window.
//!
//! It also collects what [`crate::decode_cost`] needs: the image attributes
//! of the root data set and the number of elements and text values that the
//! parsed object will hold.

use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry};
use dicom_core::{Tag, VR};
use dicom_dictionary_std::StandardDataDictionary;

use super::source::{Inflater, Slice, Source};
use crate::{ImagingError, Limits};

/// Transfer syntaxes whose data set is deflated (PS3.5 A.5 and the JPIP ones).
const DEFLATED: [&str; 3] = [
    "1.2.840.10008.1.2.1.99",
    "1.2.840.10008.1.2.4.95",
    "1.2.840.10008.1.2.4.205",
];
const IMPLICIT_VR_LE: &str = "1.2.840.10008.1.2";
const EXPLICIT_VR_BE: &str = "1.2.840.10008.1.2.2";

const UNDEFINED: u32 = 0xFFFF_FFFF;
const ITEM: Tag = Tag(0xFFFE, 0xE000);
const ITEM_END: Tag = Tag(0xFFFE, 0xE00D);
const SEQUENCE_END: Tag = Tag(0xFFFE, 0xE0DD);
const PIXEL_DATA: Tag = Tag(0x7FE0, 0x0010);

/// How the data set is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    ImplicitLe,
    ExplicitLe,
    ExplicitBe,
}

/// Image attributes of the root data set, as the file states them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct ImageAttrs {
    pub rows: Option<i64>,
    pub columns: Option<i64>,
    pub frames: Option<i64>,
    pub samples_per_pixel: Option<i64>,
    pub bits_allocated: Option<i64>,
    pub pixel_data: bool,
    pub encapsulated: bool,
}

/// What the pre-scan learned about a file that passed it.
#[derive(Debug, Clone, Default)]
pub(crate) struct DicomScan {
    /// Offset of the `DICM` magic in the file (0 or 128).
    pub magic_offset: usize,
    /// Offset of the data set (after the file meta group) in the file.
    pub dataset_offset: usize,
    /// Bytes of the data set as dicom-rs reads them (inflated, if deflated).
    pub dataset_len: u64,
    pub deflated: bool,
    /// Elements, items and fragments in the data set.
    pub elements: u64,
    /// Values of text elements (each backslash starts another).
    pub text_values: u64,
    /// Deepest sequence nesting seen (0: no sequence).
    pub max_depth: u32,
    pub image: ImageAttrs,
}

/// Check the structure of a DICOM Part 10 file against `limits` (depth,
/// declared lengths, inflated size) without allocating for any declared length.
pub(crate) fn scan(bytes: &[u8], limits: &Limits) -> Result<DicomScan, ImagingError> {
    let magic_offset = super::dicom_offset(bytes).ok_or(ImagingError::NotAnImage)?;
    let meta_start = magic_offset + 4;
    let (ts, meta_len) = scan_meta(&bytes[meta_start..])?;
    let dataset_offset = meta_start + meta_len;
    let data = &bytes[dataset_offset..];
    let mut out = DicomScan {
        magic_offset,
        dataset_offset,
        ..DicomScan::default()
    };
    if DEFLATED.contains(&ts.as_str()) {
        out.deflated = true;
        let mut src = Inflater::new(data, limits.max_inflated_bytes);
        walk(&mut src, Encoding::ExplicitLe, limits, &mut out)?;
        out.dataset_len = src.pos();
    } else {
        let encoding = match ts.as_str() {
            IMPLICIT_VR_LE => Encoding::ImplicitLe,
            EXPLICIT_VR_BE => Encoding::ExplicitBe,
            // Every other transfer syntax (all the compressed ones) is explicit VR little endian.
            _ => Encoding::ExplicitLe,
        };
        let mut src = Slice { data, pos: 0 };
        walk(&mut src, encoding, limits, &mut out)?;
        out.dataset_len = src.pos;
    }
    Ok(out)
}

fn malformed(msg: impl Into<String>) -> ImagingError {
    ImagingError::MalformedDicom(msg.into())
}

fn tag_name(tag: Tag) -> String {
    format!("({:04X},{:04X})", tag.0, tag.1)
}

/// The file meta group, read as dicom-rs reads it: (0002,0000) first, then
/// explicit VR little endian elements until the group length is consumed.
/// Returns the transfer syntax UID and the bytes the group took.
fn scan_meta(meta: &[u8]) -> Result<(String, usize), ImagingError> {
    let mut src = Slice { data: meta, pos: 0 };
    let truncated = || malformed("the file meta group is truncated");
    let (tag, _, len) = element_header(&mut src, Encoding::ExplicitLe)?.ok_or_else(truncated)?;
    if tag != Tag(0x0002, 0x0000) || len != 4 {
        return Err(malformed(
            "the file meta group does not start with its group length",
        ));
    }
    let mut v = [0u8; 4];
    if src.read(&mut v)? != 4 {
        return Err(truncated());
    }
    let group_length = u32::from_le_bytes(v);
    let mut consumed: u32 = 0;
    let mut ts = None;
    while consumed < group_length {
        let start = src.pos;
        let (tag, _, len) =
            element_header(&mut src, Encoding::ExplicitLe)?.ok_or_else(truncated)?;
        if len == UNDEFINED {
            return Err(malformed(format!(
                "the file meta element {} has an undefined length",
                tag_name(tag)
            )));
        }
        check_available(&src, tag, u64::from(len), None, "in the file")?;
        if tag == Tag(0x0002, 0x0010) {
            let mut buf = [0u8; 64];
            let n = usize::try_from(len).unwrap_or(usize::MAX).min(buf.len());
            src.read(&mut buf[..n])?;
            src.skip(u64::from(len) - n as u64)?;
            let uid = String::from_utf8_lossy(&buf[..n]);
            ts = Some(
                uid.trim_end_matches(|c: char| c == '\0' || c.is_whitespace())
                    .to_string(),
            );
        } else {
            src.skip(u64::from(len))?;
        }
        let took = u32::try_from(src.pos - start).unwrap_or(u32::MAX);
        consumed = consumed.saturating_add(took);
    }
    let ts = ts.ok_or_else(|| malformed("the file meta group has no transfer syntax"))?;
    Ok((ts, src.pos as usize))
}

/// An open sequence or item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Sequence,
    PixelSequence,
    Item,
}

#[derive(Debug, Clone, Copy)]
struct Frame {
    kind: Kind,
    /// Where this frame ends, if its length is defined.
    own_end: Option<u64>,
    /// The nearest end of this frame or any frame around it.
    bound: Option<u64>,
}

fn min_end(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

/// Refuse a declared length that the data cannot hold: past the end of
/// the buffer, past the enclosing item or sequence, or past the inflation cap.
fn check_available(
    src: &dyn Source,
    tag: Tag,
    len: u64,
    bound: Option<u64>,
    within: &'static str,
) -> Result<(), ImagingError> {
    let pos = src.pos();
    if let Some(end) = bound
        && pos.saturating_add(len) > end
    {
        return Err(ImagingError::DicomLengthOverrun {
            tag: tag_name(tag),
            declared: len,
            available: end.saturating_sub(pos),
            within: "in its sequence item",
        });
    }
    if let Some(left) = src.remaining()
        && len > left
    {
        return Err(ImagingError::DicomLengthOverrun {
            tag: tag_name(tag),
            declared: len,
            available: left,
            within,
        });
    }
    if let Some(cap) = src.cap()
        && pos.saturating_add(len) > cap
    {
        return Err(ImagingError::InflatedTooLarge { limit: cap });
    }
    Ok(())
}

/// Read an element header: tag, VR (explicit, from the dictionary when
/// implicit, `None` for the item and delimiter tags) and length. `None`
/// when the data ends before a whole tag.
fn element_header(
    src: &mut dyn Source,
    enc: Encoding,
) -> Result<Option<(Tag, Option<VR>, u32)>, ImagingError> {
    let be = enc == Encoding::ExplicitBe;
    let u16_at = |b: &[u8]| {
        if be {
            u16::from_be_bytes([b[0], b[1]])
        } else {
            u16::from_le_bytes([b[0], b[1]])
        }
    };
    let u32_at = |b: &[u8]| {
        if be {
            u32::from_be_bytes([b[0], b[1], b[2], b[3]])
        } else {
            u32::from_le_bytes([b[0], b[1], b[2], b[3]])
        }
    };
    let mut t = [0u8; 4];
    if src.read(&mut t)? < 4 {
        return Ok(None);
    }
    let tag = Tag(u16_at(&t[0..2]), u16_at(&t[2..4]));
    let truncated = || malformed(format!("the header of {} is truncated", tag_name(tag)));
    let mut b = [0u8; 4];
    if tag.0 == 0xFFFE || enc == Encoding::ImplicitLe {
        if src.read(&mut b)? < 4 {
            return Err(truncated());
        }
        let vr = if tag.0 == 0xFFFE {
            None
        } else if tag == PIXEL_DATA || (tag.0 >> 8 == 0x60 && tag.1 == 0x3000) {
            Some(VR::OW)
        } else {
            Some(
                StandardDataDictionary
                    .by_tag(tag)
                    .map(|e| e.vr().relaxed())
                    .unwrap_or(VR::UN),
            )
        };
        return Ok(Some((tag, vr, u32_at(&b))));
    }
    if src.read(&mut b[..2])? < 2 {
        return Err(truncated());
    }
    let vr = VR::from_binary([b[0], b[1]]).unwrap_or(VR::UN);
    let short = matches!(
        vr,
        VR::AE
            | VR::AS
            | VR::AT
            | VR::CS
            | VR::DA
            | VR::DS
            | VR::DT
            | VR::FL
            | VR::FD
            | VR::IS
            | VR::LO
            | VR::LT
            | VR::PN
            | VR::SH
            | VR::SL
            | VR::SS
            | VR::ST
            | VR::TM
            | VR::UI
            | VR::UL
            | VR::US
    );
    let len = if short {
        if src.read(&mut b[..2])? < 2 {
            return Err(truncated());
        }
        u32::from(u16_at(&b[..2]))
    } else {
        if src.skip(2)? < 2 || src.read(&mut b)? < 4 {
            return Err(truncated());
        }
        u32_at(&b)
    };
    Ok(Some((tag, Some(vr), len)))
}

fn is_text(vr: VR) -> bool {
    matches!(
        vr,
        VR::AE
            | VR::AS
            | VR::CS
            | VR::DA
            | VR::DS
            | VR::DT
            | VR::IS
            | VR::LO
            | VR::LT
            | VR::PN
            | VR::SH
            | VR::ST
            | VR::TM
            | VR::UC
            | VR::UI
            | VR::UR
            | VR::UT
    )
}

/// The first value of a short integer or integer-string attribute.
fn int_value(vr: VR, head: &[u8], be: bool) -> Option<i64> {
    let n2 = |b: &[u8]| {
        let a = [*b.first()?, *b.get(1)?];
        Some(if be {
            u16::from_be_bytes(a)
        } else {
            u16::from_le_bytes(a)
        })
    };
    let n4 = |b: &[u8]| {
        let a = [*b.first()?, *b.get(1)?, *b.get(2)?, *b.get(3)?];
        Some(if be {
            u32::from_be_bytes(a)
        } else {
            u32::from_le_bytes(a)
        })
    };
    match vr {
        VR::US => n2(head).map(i64::from),
        VR::SS => n2(head).map(|v| i64::from(v as i16)),
        VR::UL => n4(head).map(i64::from),
        VR::SL => n4(head).map(|v| i64::from(v as i32)),
        VR::IS | VR::DS => {
            let s = std::str::from_utf8(head).ok()?;
            let first = s.split('\\').next()?;
            let t = first.trim_matches(|c: char| c == '\0' || c.is_whitespace());
            t.parse::<i64>()
                .ok()
                .or_else(|| t.parse::<f64>().ok().map(|f| f as i64))
        }
        _ => None,
    }
}

/// Walk the data set: the stack holds the open sequences and items, so
/// nesting costs no recursion and is bounded by `limits.max_depth`.
fn walk(
    src: &mut dyn Source,
    enc: Encoding,
    limits: &Limits,
    out: &mut DicomScan,
) -> Result<(), ImagingError> {
    let be = enc == Encoding::ExplicitBe;
    let mut stack: Vec<Frame> = Vec::new();
    let mut depth: u32 = 0;
    loop {
        let pos = src.pos();
        let top = stack.last().copied();
        if let Some(f) = top {
            if f.own_end == Some(pos) {
                stack.pop();
                if f.kind == Kind::Sequence {
                    depth -= 1;
                }
                continue;
            }
            if f.bound.is_some_and(|end| pos > end) {
                return Err(malformed(
                    "a sequence or item ends inside one of its elements",
                ));
            }
        }
        let bound = top.and_then(|f| f.bound);

        if let Some(f) = top.filter(|f| f.kind != Kind::Item) {
            // In a sequence: an item, or the end of the sequence.
            let mut h = [0u8; 8];
            let n = src.read(&mut h)?;
            if n < 8 {
                if f.kind == Kind::PixelSequence {
                    // dicom-rs ends the object gracefully here.
                    return Ok(());
                }
                return Err(malformed("the file ends inside a sequence"));
            }
            let (group, element, len) = if be {
                (
                    u16::from_be_bytes([h[0], h[1]]),
                    u16::from_be_bytes([h[2], h[3]]),
                    u32::from_be_bytes([h[4], h[5], h[6], h[7]]),
                )
            } else {
                (
                    u16::from_le_bytes([h[0], h[1]]),
                    u16::from_le_bytes([h[2], h[3]]),
                    u32::from_le_bytes([h[4], h[5], h[6], h[7]]),
                )
            };
            let tag = Tag(group, element);
            match tag {
                ITEM if f.kind == Kind::PixelSequence => {
                    if len == UNDEFINED {
                        return Err(malformed("a pixel data fragment has an undefined length"));
                    }
                    check_available(src, PIXEL_DATA, u64::from(len), bound, "in the file")?;
                    if src.skip(u64::from(len))? < u64::from(len) {
                        return Err(malformed("a pixel data fragment is truncated"));
                    }
                    out.elements += 1;
                }
                ITEM => {
                    let own_end = if len == UNDEFINED {
                        None
                    } else {
                        check_available(src, tag, u64::from(len), bound, "in the file")?;
                        Some(src.pos() + u64::from(len))
                    };
                    stack.push(Frame {
                        kind: Kind::Item,
                        own_end,
                        bound: min_end(own_end, bound),
                    });
                    out.elements += 1;
                }
                SEQUENCE_END => {
                    stack.pop();
                    if f.kind == Kind::Sequence {
                        depth -= 1;
                    }
                }
                other => {
                    return Err(malformed(format!(
                        "expected an item in a sequence, found {}",
                        tag_name(other)
                    )));
                }
            }
            continue;
        }

        // In the root data set or an item: an element, or the end of the item.
        let Some((tag, vr, len)) = element_header(src, enc)? else {
            if stack.is_empty() {
                return Ok(());
            }
            return Err(malformed("the file ends inside a sequence item"));
        };
        if tag == ITEM_END {
            // dicom-rs ignores a stray one in the root data set.
            if !stack.is_empty() {
                stack.pop();
            }
            continue;
        }
        if tag == PIXEL_DATA && len == UNDEFINED {
            if stack.is_empty() {
                out.image.pixel_data = true;
                out.image.encapsulated = true;
            }
            stack.push(Frame {
                kind: Kind::PixelSequence,
                own_end: None,
                bound,
            });
            out.elements += 1;
            continue;
        }
        if vr == Some(VR::SQ) || len == UNDEFINED {
            depth += 1;
            if depth > limits.max_depth {
                return Err(ImagingError::DicomTooDeep {
                    limit: limits.max_depth,
                });
            }
            out.max_depth = out.max_depth.max(depth);
            let own_end = if len == UNDEFINED {
                None
            } else {
                check_available(src, tag, u64::from(len), bound, "in the file")?;
                Some(src.pos() + u64::from(len))
            };
            stack.push(Frame {
                kind: Kind::Sequence,
                own_end,
                bound: min_end(own_end, bound),
            });
            out.elements += 1;
            continue;
        }

        // A value: check its length, then look at it only as far as needed.
        let len = u64::from(len);
        check_available(src, tag, len, bound, "in the file")?;
        let vr = vr.unwrap_or(VR::UN);
        let text = is_text(vr);
        let mut head = [0u8; 32];
        let mut head_len = 0;
        let mut separators = 0u64;
        let seen = src.visit(len, &mut |chunk| {
            if head_len < head.len() {
                let n = chunk.len().min(head.len() - head_len);
                head[head_len..head_len + n].copy_from_slice(&chunk[..n]);
                head_len += n;
            }
            if text {
                separators += chunk.iter().filter(|&&b| b == b'\\').count() as u64;
            }
        })?;
        if seen < len {
            return Err(ImagingError::DicomLengthOverrun {
                tag: tag_name(tag),
                declared: len,
                available: seen,
                within: "in the file",
            });
        }
        out.elements += 1;
        if text {
            out.text_values += separators + 1;
        }
        if stack.is_empty() {
            let head = &head[..head_len];
            let attrs = &mut out.image;
            match tag {
                PIXEL_DATA => {
                    attrs.pixel_data = true;
                    attrs.encapsulated = false;
                }
                Tag(0x0028, 0x0010) => attrs.rows = int_value(vr, head, be),
                Tag(0x0028, 0x0011) => attrs.columns = int_value(vr, head, be),
                Tag(0x0028, 0x0008) => attrs.frames = int_value(vr, head, be),
                Tag(0x0028, 0x0002) => attrs.samples_per_pixel = int_value(vr, head, be),
                Tag(0x0028, 0x0100) => attrs.bits_allocated = int_value(vr, head, be),
                _ => {}
            }
        }
    }
}

#[cfg(test)]
#[path = "prescan_tests.rs"]
mod tests;
