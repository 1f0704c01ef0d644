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

use dicom_core::{Tag, VR};

mod header;

use super::source::{Inflater, Slice, Source};
use crate::{ImagingError, Limits};
use header::{
    Encoding, PIXEL_DATA, element_header, int_value, is_text, item_header, malformed, tag_name,
};

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

/// Walk the data set: the stack holds the open sequences and items, so
/// nesting costs no recursion and is bounded by `limits.max_depth`.
fn walk(
    src: &mut dyn Source,
    enc: Encoding,
    limits: &Limits,
    out: &mut DicomScan,
) -> Result<(), ImagingError> {
    Walker {
        src,
        enc,
        limits,
        out,
        stack: Vec::new(),
        depth: 0,
    }
    .run()
}

/// Whether the walk goes on after one step.
enum Step {
    Next,
    Done,
}

/// The state of one [`walk`].
struct Walker<'a> {
    src: &'a mut dyn Source,
    enc: Encoding,
    limits: &'a Limits,
    out: &'a mut DicomScan,
    /// The open sequences and items, innermost last.
    stack: Vec<Frame>,
    /// Open sequences (not items, not pixel sequences).
    depth: u32,
}

impl Walker<'_> {
    fn run(&mut self) -> Result<(), ImagingError> {
        loop {
            let pos = self.src.pos();
            let top = self.stack.last().copied();
            if let Some(f) = top {
                if f.own_end == Some(pos) {
                    self.close(f);
                    continue;
                }
                if f.bound.is_some_and(|end| pos > end) {
                    return Err(malformed(
                        "a sequence or item ends inside one of its elements",
                    ));
                }
            }
            let bound = top.and_then(|f| f.bound);
            let step = match top.filter(|f| f.kind != Kind::Item) {
                Some(f) => self.in_sequence(f, bound)?,
                None => self.in_item(bound)?,
            };
            if let Step::Done = step {
                return Ok(());
            }
        }
    }

    /// Pops the innermost frame `f`.
    fn close(&mut self, f: Frame) {
        self.stack.pop();
        if f.kind == Kind::Sequence {
            self.depth -= 1;
        }
    }

    /// In the sequence `f`: an item, or the end of the sequence.
    fn in_sequence(&mut self, f: Frame, bound: Option<u64>) -> Result<Step, ImagingError> {
        let mut h = [0u8; 8];
        let n = self.src.read(&mut h)?;
        if n < 8 {
            if f.kind == Kind::PixelSequence {
                // dicom-rs ends the object gracefully here.
                return Ok(Step::Done);
            }
            return Err(malformed("the file ends inside a sequence"));
        }
        let (tag, len) = item_header(&h, self.enc == Encoding::ExplicitBe);
        match tag {
            ITEM if f.kind == Kind::PixelSequence => {
                if len == UNDEFINED {
                    return Err(malformed("a pixel data fragment has an undefined length"));
                }
                check_available(&*self.src, PIXEL_DATA, u64::from(len), bound, "in the file")?;
                if self.src.skip(u64::from(len))? < u64::from(len) {
                    return Err(malformed("a pixel data fragment is truncated"));
                }
                self.out.elements += 1;
            }
            ITEM => {
                let own_end = self.own_end(tag, len, bound)?;
                self.stack.push(Frame {
                    kind: Kind::Item,
                    own_end,
                    bound: min_end(own_end, bound),
                });
                self.out.elements += 1;
            }
            SEQUENCE_END => self.close(f),
            other => {
                return Err(malformed(format!(
                    "expected an item in a sequence, found {}",
                    tag_name(other)
                )));
            }
        }
        Ok(Step::Next)
    }

    /// Where an item or sequence of declared length `len` ends (`None` if
    /// undefined), once the length is checked.
    fn own_end(&self, tag: Tag, len: u32, bound: Option<u64>) -> Result<Option<u64>, ImagingError> {
        if len == UNDEFINED {
            return Ok(None);
        }
        check_available(&*self.src, tag, u64::from(len), bound, "in the file")?;
        Ok(Some(self.src.pos() + u64::from(len)))
    }

    /// In the root data set or an item: an element, or the end of the item.
    fn in_item(&mut self, bound: Option<u64>) -> Result<Step, ImagingError> {
        let Some((tag, vr, len)) = element_header(&mut *self.src, self.enc)? else {
            if self.stack.is_empty() {
                return Ok(Step::Done);
            }
            return Err(malformed("the file ends inside a sequence item"));
        };
        if tag == ITEM_END {
            // dicom-rs ignores a stray one in the root data set.
            if !self.stack.is_empty() {
                self.stack.pop();
            }
        } else if tag == PIXEL_DATA && len == UNDEFINED {
            if self.stack.is_empty() {
                self.out.image.pixel_data = true;
                self.out.image.encapsulated = true;
            }
            self.stack.push(Frame {
                kind: Kind::PixelSequence,
                own_end: None,
                bound,
            });
            self.out.elements += 1;
        } else if vr == Some(VR::SQ) || len == UNDEFINED {
            self.open_sequence(tag, len, bound)?;
        } else {
            self.value(tag, vr.unwrap_or(VR::UN), u64::from(len), bound)?;
        }
        Ok(Step::Next)
    }

    fn open_sequence(
        &mut self,
        tag: Tag,
        len: u32,
        bound: Option<u64>,
    ) -> Result<(), ImagingError> {
        self.depth += 1;
        if self.depth > self.limits.max_depth {
            return Err(ImagingError::DicomTooDeep {
                limit: self.limits.max_depth,
            });
        }
        self.out.max_depth = self.out.max_depth.max(self.depth);
        let own_end = self.own_end(tag, len, bound)?;
        self.stack.push(Frame {
            kind: Kind::Sequence,
            own_end,
            bound: min_end(own_end, bound),
        });
        self.out.elements += 1;
        Ok(())
    }

    /// A value: check its length, then look at it only as far as needed.
    fn value(
        &mut self,
        tag: Tag,
        vr: VR,
        len: u64,
        bound: Option<u64>,
    ) -> Result<(), ImagingError> {
        check_available(&*self.src, tag, len, bound, "in the file")?;
        let text = is_text(vr);
        let mut head = [0u8; 32];
        let mut head_len = 0;
        let mut separators = 0u64;
        let seen = self.src.visit(len, &mut |chunk| {
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
        self.out.elements += 1;
        if text {
            self.out.text_values += separators + 1;
        }
        if self.stack.is_empty() {
            let be = self.enc == Encoding::ExplicitBe;
            self.out.image.note(tag, vr, &head[..head_len], be);
        }
        Ok(())
    }
}

impl ImageAttrs {
    /// Notes an image attribute of the root data set from the first bytes
    /// of its value.
    fn note(&mut self, tag: Tag, vr: VR, head: &[u8], be: bool) {
        match tag {
            PIXEL_DATA => {
                self.pixel_data = true;
                self.encapsulated = false;
            }
            Tag(0x0028, 0x0010) => self.rows = int_value(vr, head, be),
            Tag(0x0028, 0x0011) => self.columns = int_value(vr, head, be),
            Tag(0x0028, 0x0008) => self.frames = int_value(vr, head, be),
            Tag(0x0028, 0x0002) => self.samples_per_pixel = int_value(vr, head, be),
            Tag(0x0028, 0x0100) => self.bits_allocated = int_value(vr, head, be),
            _ => {}
        }
    }
}

#[cfg(test)]
#[path = "prescan_tests.rs"]
mod tests;
