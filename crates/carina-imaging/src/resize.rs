//! Resampling and the letterbox to a square model input.
//!
//! "Bilinear" here is the triangle filter as Pillow applies it: plain
//! bilinear interpolation when enlarging, and a triangle kernel widened by the
//! reduction factor when shrinking, so that a 2000-pixel radiograph reduced to
//! 512 is averaged rather than aliased (effdet's data pipeline uses Pillow's
//! BILINEAR resize). Pixel centres are aligned (half-pixel convention).

use carina_core::Letterbox;

use crate::{GrayImage, ImagingError};

/// Per output position: first input index and normalised weights.
struct Taps {
    start: Vec<usize>,
    weights: Vec<Vec<f32>>,
}

fn taps(in_len: u32, out_len: u32) -> Taps {
    let scale = f64::from(in_len) / f64::from(out_len);
    let support = scale.max(1.0);
    let mut start = Vec::with_capacity(out_len as usize);
    let mut weights = Vec::with_capacity(out_len as usize);
    for o in 0..out_len {
        let center = (f64::from(o) + 0.5) * scale;
        let lo = ((center - support).floor().max(0.0)) as usize;
        let hi = ((center + support).ceil() as usize).min(in_len as usize);
        let mut w: Vec<f32> = (lo..hi)
            .map(|i| {
                let d = ((i as f64 + 0.5 - center) / support).abs();
                (1.0 - d).max(0.0) as f32
            })
            .collect();
        let sum: f32 = w.iter().sum();
        if sum > 0.0 {
            w.iter_mut().for_each(|x| *x /= sum);
        } else {
            // Can only happen at the border with a tiny kernel: nearest neighbour.
            let nearest = (center.floor() as usize).min(in_len as usize - 1);
            start.push(nearest);
            weights.push(vec![1.0]);
            continue;
        }
        start.push(lo);
        weights.push(w);
    }
    Taps { start, weights }
}

/// Separable resample of a single-channel f32 plane.
fn resample_f32(src: &[f32], w: u32, h: u32, tw: u32, th: u32) -> Vec<f32> {
    let hx = taps(w, tw);
    let mut tmp = vec![0f32; tw as usize * h as usize];
    for y in 0..h as usize {
        let row = &src[y * w as usize..(y + 1) * w as usize];
        for x in 0..tw as usize {
            let s = hx.start[x];
            tmp[y * tw as usize + x] = hx.weights[x]
                .iter()
                .enumerate()
                .map(|(k, wt)| row[s + k] * wt)
                .sum();
        }
    }
    let vy = taps(h, th);
    let mut out = vec![0f32; tw as usize * th as usize];
    for y in 0..th as usize {
        let s = vy.start[y];
        for (k, wt) in vy.weights[y].iter().enumerate() {
            let src_row = &tmp[(s + k) * tw as usize..(s + k + 1) * tw as usize];
            let dst = &mut out[y * tw as usize..(y + 1) * tw as usize];
            for (d, v) in dst.iter_mut().zip(src_row) {
                *d += v * wt;
            }
        }
    }
    out
}

pub(crate) fn resample_u8(src: &[u8], w: u32, h: u32, tw: u32, th: u32) -> Vec<u8> {
    let f: Vec<f32> = src.iter().map(|&v| f32::from(v)).collect();
    resample_f32(&f, w, h, tw, th)
        .into_iter()
        .map(|v| v.round().clamp(0.0, 255.0) as u8)
        .collect()
}

/// Resize to `width × height` (aspect not kept) with the triangle filter.
pub fn resize(img: &GrayImage, width: u32, height: u32) -> Result<GrayImage, ImagingError> {
    img.validate()?;
    if width == 0 || height == 0 {
        return Err(ImagingError::InvalidArgument(format!(
            "cannot resize to {width}×{height}"
        )));
    }
    if (width, height) == (img.width, img.height) {
        return Ok(img.clone());
    }
    let max = f32::from(img.max_value());
    let f: Vec<f32> = img.data.iter().map(|&v| f32::from(v)).collect();
    let data = resample_f32(&f, img.width, img.height, width, height)
        .into_iter()
        .map(|v| v.round().clamp(0.0, max) as u16)
        .collect();
    Ok(GrayImage {
        width,
        height,
        bits: img.bits,
        data,
    })
}

/// Scale the image so that its longer side is `size` (aspect kept), put it
/// at the top-left of a `size × size` canvas and pad with 0 (black). Returns
/// the canvas and the transform that maps boxes between the two
/// ([`Letterbox::to_model`] / [`Letterbox::to_original`]). An image that is
/// already `size × size` is returned unchanged, without resampling.
pub fn letterbox(img: &GrayImage, size: u32) -> Result<(GrayImage, Letterbox), ImagingError> {
    img.validate()?;
    if size == 0 {
        return Err(ImagingError::InvalidArgument(
            "letterbox size must be > 0".into(),
        ));
    }
    let t = Letterbox::top_left(img.width, img.height, size);
    if img.width == size && img.height == size {
        return Ok((img.clone(), t));
    }
    let (sw, sh) = t.scaled_size();
    let scaled = resize(img, sw, sh)?;
    let mut data = vec![0u16; size as usize * size as usize];
    for y in 0..sh as usize {
        let src = &scaled.data[y * sw as usize..(y + 1) * sw as usize];
        data[y * size as usize..y * size as usize + sw as usize].copy_from_slice(src);
    }
    Ok((
        GrayImage {
            width: size,
            height: size,
            bits: img.bits,
            data,
        },
        t,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letterbox_keeps_aspect_and_pads() {
        let img = GrayImage::new(400, 200, 12, vec![1000; 80_000]).unwrap();
        let (out, t) = letterbox(&img, 100).unwrap();
        assert_eq!((out.width, out.height), (100, 100));
        assert_eq!(t.scaled_size(), (100, 50));
        assert_eq!(out.get(99, 49), 1000);
        assert_eq!(out.get(0, 0), 1000);
        assert_eq!(out.get(50, 50), 0);
        assert_eq!(out.get(99, 99), 0);
    }

    #[test]
    fn letterbox_at_size_is_unchanged() {
        let data: Vec<u16> = (0..64 * 64).map(|i| (i * 7 % 256) as u16).collect();
        let img = GrayImage::new(64, 64, 8, data).unwrap();
        let (out, t) = letterbox(&img, 64).unwrap();
        assert_eq!(out, img);
        assert!(t.is_identity());
    }

    #[test]
    fn inconsistent_images_are_errors_not_panics() {
        let bad = GrayImage {
            width: 10,
            height: 10,
            bits: 8,
            data: vec![300; 50],
        };
        assert!(letterbox(&bad, 8).is_err());
        assert!(resize(&bad, 5, 5).is_err());
        assert!(crate::thumbnail(&bad, crate::Window::full_range(8), 4).is_err());
        // Values above the bit depth are clamped, not an index out of bounds.
        let loud = GrayImage {
            width: 2,
            height: 1,
            bits: 8,
            data: vec![300, 10],
        };
        assert_eq!(
            crate::render_window(&loud, crate::Window::full_range(8), false),
            vec![255, 10]
        );
        assert_eq!(crate::percentile_window(&loud).width, 246.0);
    }

    #[test]
    fn enlarging_is_bilinear() {
        let img = GrayImage::new(2, 1, 8, vec![0, 100]).unwrap();
        let out = resize(&img, 4, 1).unwrap();
        // centres at 0.25, 0.75, 1.25, 1.75 input pixels → 0, 25, 75, 100
        assert_eq!(out.data, vec![0, 25, 75, 100]);
    }

    #[test]
    fn shrinking_averages() {
        // A checkerboard halves to mid-grey instead of aliasing.
        let data: Vec<u16> = (0..16 * 16)
            .map(|i| if (i % 16 + i / 16) % 2 == 0 { 0 } else { 200 })
            .collect();
        let img = GrayImage::new(16, 16, 8, data).unwrap();
        let out = resize(&img, 4, 4).unwrap();
        for v in out.data {
            assert!((90..=110).contains(&v), "{v}");
        }
    }
}
