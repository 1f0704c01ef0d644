//! The annotated thumbnail: the radiograph scaled down, each finding's box
//! drawn as a coloured outline with its number (the number keys the findings
//! table), encoded as PNG for HTML or kept as raw RGB for the PDF.

use ab_glyph::{Font as _, FontRef, PxScale, ScaleFont as _, point};
use carina_core::Finding;
use image::codecs::png::PngEncoder;
use image::{ExtendedColorType, ImageEncoder as _};

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
    /// Mixes `c` into a pixel with weight `alpha` (0..=1).
    fn blend(&mut self, x: i64, y: i64, c: [u8; 3], alpha: f32) {
        if x >= 0 && y >= 0 && x < i64::from(self.width) && y < i64::from(self.height) {
            let i = (y as usize * self.width as usize + x as usize) * 3;
            let a = alpha.clamp(0.0, 1.0);
            for (dst, src) in self.data[i..i + 3].iter_mut().zip(c) {
                *dst = (f32::from(*dst) * (1.0 - a) + f32::from(src) * a).round() as u8;
            }
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

/// The embedded font as ab_glyph draws it (the box numbers).
fn number_font() -> Result<FontRef<'static>, ReportError> {
    FontRef::try_from_slice(carina_assets::DEJAVU_SANS)
        .map_err(|e| ReportError::Render(format!("embedded font: {e}")))
}

/// Draws `text` in `c` with its baseline at `(x, baseline)` and `px` the
/// font's pixel height (ascent − descent), anti-aliased over what is there;
/// returns the advance in pixels.
fn draw_text(
    img: &mut Rgb,
    font: &FontRef<'_>,
    px: f32,
    (x, baseline): (f32, f32),
    text: &str,
    c: [u8; 3],
) -> f32 {
    let font = font.as_scaled(PxScale::from(px));
    let mut pen = x;
    for ch in text.chars() {
        let id = font.glyph_id(ch);
        let glyph = id.with_scale_and_position(px, point(pen, baseline));
        pen += font.h_advance(id);
        let Some(outlined) = font.outline_glyph(glyph) else {
            continue;
        };
        let b = outlined.px_bounds();
        outlined.draw(|gx, gy, cov| {
            let (qx, qy) = (
                b.min.x as i64 + i64::from(gx),
                b.min.y as i64 + i64::from(gy),
            );
            img.blend(qx, qy, c, cov);
        });
    }
    pen - x
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
/// on this image and their numbers (DejaVu Sans, drawn by ab_glyph) on it.
/// Finding `i` of the report is labelled `i + 1` on whichever image it lies.
pub fn annotate(
    img: &ReportImage,
    findings: &[ReportFinding],
    max_side: u32,
) -> Result<Rgb, ReportError> {
    let font = number_font()?;
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
    // Digits about 5 × `scale` px high (at least 15 px, legible on a page)
    // on a tag 7 × `scale` px high.
    let scale = i64::from((w.max(h) / 170).max(3));
    let font_px = 8.0 * scale as f32;
    let digit_advance = font
        .as_scaled(PxScale::from(font_px))
        .h_advance(font.glyph_id('0'));
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
        let n = (i + 1).to_string();
        let tag_w = (n.len() as f32 * digit_advance).ceil() as i64 + 2 * scale;
        let tag_h = 7 * scale;
        let ty = if y0 - tag_h >= 0 { y0 - tag_h } else { y0 };
        out.fill(x0, ty, x0 + tag_w, ty + tag_h, c);
        let origin = ((x0 + scale) as f32, (ty + 6 * scale) as f32);
        draw_text(&mut out, &font, font_px, origin, &n, [0, 0, 0]);
    }
    Ok(out)
}

/// PNG (8-bit RGB) of a raster, encoded by the `image` crate.
pub fn encode_png(img: &Rgb) -> Result<Vec<u8>, ReportError> {
    let mut out = Vec::new();
    PngEncoder::new(&mut out)
        .write_image(&img.data, img.width, img.height, ExtendedColorType::Rgb8)
        .map_err(|e| ReportError::Render(format!("PNG: {e}")))?;
    Ok(out)
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
        )
        .unwrap();
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
        // The number tag sits above the top-left corner, with "1" drawn on
        // it in black.
        assert_eq!(px(20, 39), cyan);
        let dark = (19..40)
            .flat_map(|y| (20..34).map(move |x| (x, y)))
            .filter(|&(x, y)| px(x, y).iter().all(|&v| v < 40))
            .count();
        assert!(dark >= 15, "{dark} dark pixels on the tag");
        // A finding on another image is not drawn on this one.
        let mut elsewhere = finding("Pneumothorax", [100.0, 200.0, 300.0, 400.0]);
        elsewhere.image_id = "other".into();
        let out = annotate(&img, &[elsewhere], 200).unwrap();
        assert!(out.data.iter().all(|&v| v == 128));
    }

    #[test]
    fn png_decodes_back_to_the_raster() {
        let img = Rgb {
            width: 3,
            height: 2,
            data: (0..18).map(|v| v * 10).collect(),
        };
        let png = encode_png(&img).unwrap();
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
        let back = image::load_from_memory_with_format(&png, image::ImageFormat::Png)
            .unwrap()
            .into_rgb8();
        assert_eq!(back.dimensions(), (3, 2));
        assert_eq!(back.into_raw(), img.data);
    }

    #[test]
    fn bad_buffer_is_refused() {
        assert!(ReportImage::new("img", 10, 10, vec![0; 99]).is_err());
        assert!(ReportImage::new("img", 0, 10, vec![]).is_err());
    }
}
