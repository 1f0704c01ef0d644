//! A minimal DICOM Part 10 writer for seeds and hostile files: it writes
//! exactly the bytes asked for (a general-purpose writer would refuse the
//! hostile ones), little endian only.

pub const IMPLICIT_LE: &str = "1.2.840.10008.1.2";
pub const EXPLICIT_LE: &str = "1.2.840.10008.1.2.1";
pub const DEFLATED: &str = "1.2.840.10008.1.2.1.99";
pub const JPEG_BASELINE: &str = "1.2.840.10008.1.2.4.50";
pub const J2K_LOSSLESS: &str = "1.2.840.10008.1.2.4.90";
pub const J2K: &str = "1.2.840.10008.1.2.4.91";
pub const RLE: &str = "1.2.840.10008.1.2.5";

const UNDEFINED: u32 = 0xFFFF_FFFF;

pub struct Dicom {
    ts: &'static str,
    explicit: bool,
    body: Vec<u8>,
}

impl Dicom {
    pub fn new(ts: &'static str) -> Self {
        Self {
            ts,
            explicit: ts != IMPLICIT_LE,
            body: Vec::new(),
        }
    }

    /// One element with a defined length (value padded to even length).
    pub fn el(&mut self, group: u16, elem: u16, vr: &str, value: &[u8]) {
        let mut v = value.to_vec();
        if v.len() % 2 == 1 {
            v.push(if vr == "UI" || vr == "OB" { 0 } else { b' ' });
        }
        self.header(group, elem, vr, v.len() as u32);
        self.body.extend_from_slice(&v);
    }

    /// A tag, VR and length with no value (the caller writes it, or lies).
    pub fn header(&mut self, group: u16, elem: u16, vr: &str, len: u32) {
        header(&mut self.body, self.explicit, group, elem, vr, len);
    }

    fn raw(&mut self, group: u16, elem: u16, len: u32) {
        self.body.extend_from_slice(&group.to_le_bytes());
        self.body.extend_from_slice(&elem.to_le_bytes());
        self.body.extend_from_slice(&len.to_le_bytes());
    }

    fn us(&mut self, group: u16, elem: u16, v: u16) {
        self.el(group, elem, "US", &v.to_le_bytes());
    }

    pub fn patient(&mut self) {
        self.el(0x0008, 0x0016, "UI", b"1.2.840.10008.5.1.4.1.1.1.1");
        self.el(0x0008, 0x0018, "UI", b"1.2.3.4.5.6.7.8.9");
        self.el(0x0008, 0x0020, "DA", b"20240131");
        self.el(0x0008, 0x0060, "CS", b"DX");
        self.el(0x0008, 0x0080, "LO", b"St. Elsewhere Hospital");
        self.el(0x0010, 0x0010, "PN", b"Doe^John");
        self.el(0x0010, 0x0020, "LO", b"MRN-0042");
        self.el(0x0010, 0x0030, "DA", b"19600101");
        self.el(0x0020, 0x000D, "UI", b"1.2.3.4.5.6.7.8.1");
        self.el(0x0020, 0x000E, "UI", b"1.2.3.4.5.6.7.8.2");
    }

    pub fn image_module(
        &mut self,
        cols: u16,
        rows: u16,
        alloc: u16,
        stored: u16,
        signed: u16,
        photometric: &str,
    ) {
        self.us(0x0028, 0x0002, 1);
        self.el(0x0028, 0x0004, "CS", photometric.as_bytes());
        self.us(0x0028, 0x0010, rows);
        self.us(0x0028, 0x0011, cols);
        self.el(0x0028, 0x0030, "DS", b"0.139\\0.139");
        self.us(0x0028, 0x0100, alloc);
        self.us(0x0028, 0x0101, stored);
        self.us(0x0028, 0x0102, stored - 1);
        self.us(0x0028, 0x0103, signed);
    }

    pub fn window(&mut self) {
        self.el(0x0028, 0x1050, "DS", b"128\\100");
        self.el(0x0028, 0x1051, "DS", b"256\\50");
    }

    pub fn rescale(&mut self) {
        self.el(0x0028, 0x1052, "DS", b"-1024");
        self.el(0x0028, 0x1053, "DS", b"1");
    }

    pub fn pixels_native(&mut self, data: &[u8], words: bool) {
        self.el(0x7FE0, 0x0010, if words { "OW" } else { "OB" }, data);
    }

    /// Encapsulated pixel data: empty offset table, one fragment per frame.
    pub fn pixels_encapsulated(&mut self, frames: &[Vec<u8>]) {
        self.header(0x7FE0, 0x0010, "OB", UNDEFINED);
        self.raw(0xFFFE, 0xE000, 0);
        for f in frames {
            let mut f = f.clone();
            if f.len() % 2 == 1 {
                f.push(0);
            }
            self.raw(0xFFFE, 0xE000, f.len() as u32);
            self.body.extend_from_slice(&f);
        }
        self.raw(0xFFFE, 0xE0DD, 0);
    }

    /// Request Attributes (undefined length) holding a Procedure Code
    /// Sequence (defined length) and a requesting physician: identifiers
    /// inside nested sequences, for the de-identifier's recursion. Goes
    /// after the image module.
    pub fn nested_sequence(&mut self) {
        let mut inner = Vec::new();
        header(&mut inner, self.explicit, 0x0008, 0x0100, "SH", 4);
        inner.extend_from_slice(b"1234");
        header(&mut inner, self.explicit, 0x0008, 0x0104, "LO", 8);
        inner.extend_from_slice(b"John Doe");
        let mut item = Vec::new();
        header(
            &mut item,
            self.explicit,
            0x0008,
            0x1032,
            "SQ",
            (8 + inner.len()) as u32,
        );
        item.extend_from_slice(&0xFFFEu16.to_le_bytes());
        item.extend_from_slice(&0xE000u16.to_le_bytes());
        item.extend_from_slice(&(inner.len() as u32).to_le_bytes());
        item.extend_from_slice(&inner);
        header(&mut item, self.explicit, 0x0032, 0x1032, "PN", 8);
        item.extend_from_slice(b"Dr^Who  ");
        self.header(0x0040, 0x0275, "SQ", UNDEFINED);
        self.raw(0xFFFE, 0xE000, UNDEFINED);
        self.body.extend_from_slice(&item);
        self.raw(0xFFFE, 0xE00D, 0);
        self.raw(0xFFFE, 0xE0DD, 0);
    }

    /// Private elements in group 0x7FD1 (after the image module).
    pub fn private_tags(&mut self) {
        self.el(0x7FD1, 0x0010, "LO", b"ACME 1.0");
        self.el(0x7FD1, 0x1001, "LO", b"Doe^John 19600101");
        self.el(0x7FD1, 0x1002, "UN", &[1, 2, 3, 4]);
    }

    /// Content Sequences nested `depth` deep, all of undefined length.
    pub fn deep_sequences(&mut self, depth: usize) {
        for _ in 0..depth {
            self.header(0x0040, 0xA730, "SQ", UNDEFINED);
            self.raw(0xFFFE, 0xE000, UNDEFINED);
        }
        for _ in 0..depth {
            self.raw(0xFFFE, 0xE00D, 0);
            self.raw(0xFFFE, 0xE0DD, 0);
        }
    }

    /// A private OB element that declares `len` bytes and holds 16.
    pub fn huge_private_element(&mut self, len: u32) {
        self.el(0x7FD1, 0x0010, "LO", b"HOSTILE");
        self.header(0x7FD1, 0x1010, "OB", len);
        self.body.extend_from_slice(&[0xAB; 16]);
    }

    /// Pixel Data that declares `len` bytes and holds 16.
    pub fn huge_pixel_data(&mut self, len: u32) {
        self.header(0x7FE0, 0x0010, "OB", len);
        self.body.extend_from_slice(&[0x55; 16]);
    }

    /// A private OB element of `len` zero bytes (compresses ~1000:1 when
    /// the data set is deflated).
    pub fn zero_private_element(&mut self, len: u32) {
        self.el(0x7FD1, 0x0010, "LO", b"HOSTILE");
        self.header(0x7FD1, 0x1011, "OB", len);
        self.body.resize(self.body.len() + len as usize, 0);
    }

    /// The Part 10 file: preamble, `DICM`, file meta group, data set
    /// (deflated for the deflated transfer syntax).
    pub fn finish(self, preamble: bool) -> Vec<u8> {
        let mut meta = Vec::new();
        let mut m = |elem: u16, vr: &str, value: &[u8]| {
            let mut v = value.to_vec();
            if v.len() % 2 == 1 {
                v.push(0);
            }
            header(&mut meta, true, 0x0002, elem, vr, v.len() as u32);
            meta.extend_from_slice(&v);
        };
        m(0x0001, "OB", &[0, 1]);
        m(0x0002, "UI", b"1.2.840.10008.5.1.4.1.1.1.1");
        m(0x0003, "UI", b"1.2.3.4.5.6.7.8.9");
        m(0x0010, "UI", self.ts.as_bytes());
        m(0x0012, "UI", b"1.2.826.0.1.3680043.10.1");
        let mut out = Vec::new();
        if preamble {
            out.resize(128, 0);
        }
        out.extend_from_slice(b"DICM");
        header(&mut out, true, 0x0002, 0x0000, "UL", 4);
        out.extend_from_slice(&(meta.len() as u32).to_le_bytes());
        out.extend_from_slice(&meta);
        if self.ts == DEFLATED {
            out.extend_from_slice(&miniz_oxide::deflate::compress_to_vec(&self.body, 9));
        } else {
            out.extend_from_slice(&self.body);
        }
        out
    }
}

fn header(out: &mut Vec<u8>, explicit: bool, group: u16, elem: u16, vr: &str, len: u32) {
    out.extend_from_slice(&group.to_le_bytes());
    out.extend_from_slice(&elem.to_le_bytes());
    if !explicit {
        out.extend_from_slice(&len.to_le_bytes());
        return;
    }
    out.extend_from_slice(vr.as_bytes());
    if matches!(
        vr,
        "OB" | "OW" | "OF" | "SQ" | "UT" | "UN" | "UC" | "UR" | "OD" | "OL" | "OV"
    ) {
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&len.to_le_bytes());
    } else {
        out.extend_from_slice(&(len as u16).to_le_bytes());
    }
}

/// One RLE Lossless frame of 8-bit samples: one segment of literal runs.
pub fn rle_frame(samples: &[u8]) -> Vec<u8> {
    let mut seg = Vec::new();
    for run in samples.chunks(128) {
        seg.push((run.len() - 1) as u8);
        seg.extend_from_slice(run);
    }
    let mut out = Vec::with_capacity(64 + seg.len());
    out.extend_from_slice(&1u32.to_le_bytes());
    out.extend_from_slice(&64u32.to_le_bytes());
    out.resize(64, 0);
    out.extend_from_slice(&seg);
    out
}

/// Width, height and precision from a J2K codestream's SIZ marker.
pub fn j2k_siz(cs: &[u8]) -> Option<(u32, u32, u16)> {
    if cs.get(0..4)? != [0xFF, 0x4F, 0xFF, 0x51] {
        return None;
    }
    let be32 = |o: usize| Some(u32::from_be_bytes(cs.get(o..o + 4)?.try_into().ok()?));
    // SIZ: marker(2) Lsiz(2) Rsiz(2) Xsiz Ysiz XOsiz YOsiz XTsiz YTsiz XTOsiz YTOsiz Csiz(2) Ssiz...
    let (x, y, xo, yo) = (be32(8)?, be32(12)?, be32(16)?, be32(20)?);
    let ssiz = *cs.get(42)?;
    Some((x - xo, y - yo, u16::from(ssiz & 0x7F) + 1))
}

/// A PNG, 8-bit gray, `w` × `h`, all zero: a few KB per 100 Mpx.
pub fn png_gray8_zeros(w: u32, h: u32) -> Vec<u8> {
    let raw = vec![0u8; (w as usize + 1) * h as usize];
    let idat = miniz_oxide::deflate::compress_to_vec_zlib(&raw, 9);
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &idat);
    chunk(&mut out, b"IEND", &[]);
    out
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    out.extend_from_slice(&crc32fast::hash(&[&kind[..], data].concat()).to_be_bytes());
}
