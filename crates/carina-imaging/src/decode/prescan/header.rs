//! Element and item headers, and the few values the pre-scan reads, in the
//! three encodings.

use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry};
use dicom_core::{Tag, VR};
use dicom_dictionary_std::StandardDataDictionary;

use crate::ImagingError;
use crate::decode::source::Source;

pub(super) const PIXEL_DATA: Tag = Tag(0x7FE0, 0x0010);

/// How the data set is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Encoding {
    ImplicitLe,
    ExplicitLe,
    ExplicitBe,
}

pub(super) fn malformed(msg: impl Into<String>) -> ImagingError {
    ImagingError::MalformedDicom(msg.into())
}

pub(super) fn tag_name(tag: Tag) -> String {
    format!("({:04X},{:04X})", tag.0, tag.1)
}

/// Read an element header: tag, VR (explicit, from the dictionary when
/// implicit, `None` for the item and delimiter tags) and length. `None`
/// when the data ends before a whole tag.
pub(super) fn element_header(
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

pub(super) fn is_text(vr: VR) -> bool {
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
pub(super) fn int_value(vr: VR, head: &[u8], be: bool) -> Option<i64> {
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

/// Tag and length of an item or delimiter header.
pub(super) fn item_header(h: &[u8; 8], be: bool) -> (Tag, u32) {
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
    (Tag(group, element), len)
}
