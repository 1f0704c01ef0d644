//! The annotated thumbnail: the radiograph scaled down, each finding's box
//! drawn as a coloured outline with its number (the number keys the findings
//! table), encoded as PNG for HTML or kept as raw RGB for the PDF.

use carina_core::Finding;

use crate::model::{ReportError, ReportFinding};

/// The radiograph as the caller rendered it for display: 8-bit gray, one
/// byte per pixel, row-major, **in the coordinates of the boxes** (the
/// original image). The server makes it with
/// `carina_imaging::render_window(&image, window, false)`.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportImage {
    image_id: String,
    width: u32,
    height: u32,
    gray: Vec<u8>,
}

impl ReportImage {
    pub fn new(
        image_id: &str,
        width: u32,
        height: u32,
        gray: Vec<u8>,
    ) -> Result<ReportImage, ReportError> {
        if width == 0 || height == 0 || gray.len() as u64 != u64::from(width) * u64::from(height) {
            return Err(ReportError::Render(format!(
                "{} bytes for a {width}×{height} image",
                gray.len()
            )));
        }
        Ok(ReportImage {
            image_id: image_id.to_string(),
            width,
            height,
            gray,
        })
    }
    pub fn image_id(&self) -> &str {
        &self.image_id
    }
    pub fn width(&self) -> u32 {
        self.width
    }
    pub fn height(&self) -> u32 {
        self.height
    }
}

/// An 8-bit RGB raster.
#[derive(Debug, Clone, PartialEq)]
pub struct Rgb {
    pub width: u32,
    pub height: u32,
    /// `width * height * 3` bytes, row-major.
    pub data: Vec<u8>,
}

impl Rgb {
    fn put(&mut self, x: i64, y: i64, c: [u8; 3]) {
        if x >= 0 && y >= 0 && x < i64::from(self.width) && y < i64::from(self.height) {
            let i = (y as usize * self.width as usize + x as usize) * 3;
            self.data[i..i + 3].copy_from_slice(&c);
        }
    }
    fn fill(&mut self, x0: i64, y0: i64, x1: i64, y1: i64, c: [u8; 3]) {
        for y in y0..y1 {
            for x in x0..x1 {
                self.put(x, y, c);
            }
        }
    }
    /// A rectangle outline `t` pixels thick, drawn inward from the edges.
    fn outline(&mut self, x0: i64, y0: i64, x1: i64, y1: i64, t: i64, c: [u8; 3]) {
        self.fill(x0, y0, x1 + 1, y0 + t, c);
        self.fill(x0, y1 - t + 1, x1 + 1, y1 + 1, c);
        self.fill(x0, y0, x0 + t, y1 + 1, c);
        self.fill(x1 - t + 1, y0, x1 + 1, y1 + 1, c);
    }
}

/// 3×5 bitmaps of the digits 0-9, one row per `u8` (bit 2 = left column).
const DIGITS: [[u8; 5]; 10] = [
    [7, 5, 5, 5, 7],
    [2, 6, 2, 2, 7],
    [7, 1, 7, 4, 7],
    [7, 1, 7, 1, 7],
    [5, 5, 7, 1, 1],
    [7, 4, 7, 1, 7],
    [7, 4, 7, 5, 7],
    [7, 1, 1, 1, 1],
    [7, 5, 7, 5, 7],
    [7, 5, 7, 1, 7],
];

fn draw_number(img: &mut Rgb, x: i64, y: i64, n: usize, scale: i64, c: [u8; 3]) {
    for (k, ch) in n.to_string().bytes().enumerate() {
        let glyph = DIGITS[usize::from(ch - b'0')];
        let gx = x + k as i64 * 4 * scale;
        for (row, bits) in glyph.iter().enumerate() {
            for col in 0..3 {
                if bits & (4 >> col) != 0 {
                    let (px, py) = (gx + col * scale, y + row as i64 * scale);
                    img.fill(px, py, px + scale, py + scale, c);
                }
            }
        }
    }
}

/// A finding's colour: the class's default colour for the product's
/// classes, otherwise one of a fixed palette by position.
pub fn finding_color(class_name: &str, index: usize) -> [u8; 3] {
    const PALETTE: [&str; 4] = ["#e6194b", "#3cb44b", "#4363d8", "#f58231"];
    let hex = Finding::from_name(class_name)
        .map(Finding::default_color)
        .unwrap_or(PALETTE[index % PALETTE.len()]);
    let v = u32::from_str_radix(hex.trim_start_matches('#'), 16).unwrap_or(0xff0000);
    [(v >> 16) as u8, (v >> 8) as u8, v as u8]
}

/// Area-averaged downscale of a gray image so its longer side is at most
/// `max_side` (never enlarged).
fn downscale(img: &ReportImage, max_side: u32) -> (u32, u32, Vec<u8>) {
    let longer = img.width.max(img.height);
    if longer <= max_side {
        return (img.width, img.height, img.gray.clone());
    }
    let s = f64::from(max_side) / f64::from(longer);
    let tw = ((f64::from(img.width) * s).round() as u32).clamp(1, max_side);
    let th = ((f64::from(img.height) * s).round() as u32).clamp(1, max_side);
    let mut out = Vec::with_capacity((tw * th) as usize);
    for ty in 0..th {
        let y0 = (u64::from(ty) * u64::from(img.height) / u64::from(th)) as usize;
        let y1 = ((u64::from(ty + 1) * u64::from(img.height) / u64::from(th)) as usize).max(y0 + 1);
        for tx in 0..tw {
            let x0 = (u64::from(tx) * u64::from(img.width) / u64::from(tw)) as usize;
            let x1 =
                ((u64::from(tx + 1) * u64::from(img.width) / u64::from(tw)) as usize).max(x0 + 1);
            let mut sum = 0u64;
            for y in y0..y1 {
                let row = &img.gray[y * img.width as usize..][x0..x1];
                sum += row.iter().map(|&v| u64::from(v)).sum::<u64>();
            }
            out.push((sum / ((y1 - y0) * (x1 - x0)) as u64) as u8);
        }
    }
    (tw, th, out)
}

/// The thumbnail (longer side ≤ `max_side`) with the boxes of the findings
/// on this image and their numbers drawn on it. Finding `i` of the report
/// is labelled `i + 1` on whichever image it lies.
pub fn annotate(img: &ReportImage, findings: &[ReportFinding], max_side: u32) -> Rgb {
    let (w, h, gray) = downscale(img, max_side.max(1));
    let mut out = Rgb {
        width: w,
        height: h,
        data: gray.iter().flat_map(|&g| [g, g, g]).collect(),
    };
    let (sx, sy) = (
        f64::from(w) / f64::from(img.width),
        f64::from(h) / f64::from(img.height),
    );
    let thick = i64::from((w.max(h) / 256).max(2));
    // Digits 3×5 cells: at least 3 px per cell so numbers stay legible on a page.
    let scale = i64::from((w.max(h) / 170).max(3));
    for (i, f) in findings
        .iter()
        .enumerate()
        .filter(|(_, f)| f.image_id == img.image_id)
    {
        let c = finding_color(&f.class_name, i);
        let b = f.bbox.clip(img.width, img.height);
        let (x0, y0) = (
            (b.x_min() * sx).floor() as i64,
            (b.y_min() * sy).floor() as i64,
        );
        let (x1, y1) = (
            ((b.x_max() * sx).ceil() as i64 - 1).max(x0),
            ((b.y_max() * sy).ceil() as i64 - 1).max(y0),
        );
        out.outline(x0, y0, x1, y1, thick, c);
        // Number tag on the top-left corner, above the box when there is room.
        let n = i + 1;
        let tag_w = (n.to_string().len() as i64 * 4 + 1) * scale;
        let tag_h = 7 * scale;
        let ty = if y0 - tag_h >= 0 { y0 - tag_h } else { y0 };
        out.fill(x0, ty, x0 + tag_w, ty + tag_h, c);
        draw_number(&mut out, x0 + scale, ty + scale, n, scale, [0, 0, 0]);
    }
    out
}

/// PNG (8-bit RGB, no interlace) of a raster.
pub fn encode_png(img: &Rgb) -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut h = crc32fast::Hasher::new();
        h.update(kind);
        h.update(data);
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        out.extend_from_slice(&h.finalize().to_be_bytes());
    }
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&img.width.to_be_bytes());
    ihdr.extend_from_slice(&img.height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let stride = img.width as usize * 3;
    let mut raw = Vec::with_capacity((stride + 1) * img.height as usize);
    for row in img.data.chunks(stride) {
        raw.push(0); // filter: none
        raw.extend_from_slice(row);
    }
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(
        &mut out,
        b"IDAT",
        &miniz_oxide::deflate::compress_to_vec_zlib(&raw, 6),
    );
    chunk(&mut out, b"IEND", &[]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::FoundBy;
    use carina_core::BBox;

    fn finding(class: &str, b: [f64; 4]) -> ReportFinding {
        ReportFinding {
            image_id: "img".into(),
            class_name: class.into(),
            bbox: BBox::new(b[0], b[1], b[2], b[3]).unwrap(),
            location: String::new(),
            size_mm: None,
            found_by: FoundBy::Radiologist { user: "a".into() },
            confidence: None,
        }
    }

    #[test]
    fn boxes_are_drawn_in_class_colour_at_scaled_positions() {
        let img = ReportImage::new("img", 1000, 500, vec![128; 500_000]).unwrap();
        let out = annotate(
            &img,
            &[finding("Pneumothorax", [100.0, 200.0, 300.0, 400.0])],
            200,
        );
        assert_eq!((out.width, out.height), (200, 100));
        let px = |x: usize, y: usize| {
            let i = (y * 200 + x) * 3;
            [out.data[i], out.data[i + 1], out.data[i + 2]]
        };
        let cyan = finding_color("Pneumothorax", 0);
        assert_eq!(cyan, [0x42, 0xd4, 0xf4]);
        // Box 20..60 × 40..80 in the thumbnail: left and bottom edges coloured,
        // inside and outside gray.
        assert_eq!(px(20, 60), cyan);
        assert_eq!(px(40, 79), cyan);
        assert_eq!(px(40, 60), [128, 128, 128]);
        assert_eq!(px(150, 20), [128, 128, 128]);
        // The number tag sits above the top-left corner.
        assert_eq!(px(20, 39), cyan);
        // A finding on another image is not drawn on this one.
        let mut elsewhere = finding("Pneumothorax", [100.0, 200.0, 300.0, 400.0]);
        elsewhere.image_id = "other".into();
        let out = annotate(&img, &[elsewhere], 200);
        assert!(out.data.iter().all(|&v| v == 128));
    }

    #[test]
    fn png_has_valid_chunks() {
        let img = Rgb {
            width: 3,
            height: 2,
            data: vec![200; 18],
        };
        let png = encode_png(&img);
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
        assert_eq!(&png[12..16], b"IHDR");
        assert_eq!(u32::from_be_bytes(png[16..20].try_into().unwrap()), 3);
        // IDAT inflates back to filter byte + pixels per row.
        let idat_len = u32::from_be_bytes(png[33..37].try_into().unwrap()) as usize;
        assert_eq!(&png[37..41], b"IDAT");
        let raw = miniz_oxide::inflate::decompress_to_vec_zlib(&png[41..41 + idat_len]).unwrap();
        assert_eq!(
            raw,
            [vec![0u8], vec![200; 9], vec![0u8], vec![200; 9]].concat()
        );
        assert!(png.ends_with(&[0xAE, 0x42, 0x60, 0x82]));
    }

    #[test]
    fn bad_buffer_is_refused() {
        assert!(ReportImage::new("img", 10, 10, vec![0; 99]).is_err());
        assert!(ReportImage::new("img", 0, 10, vec![]).is_err());
    }
}
