//! Windowing: from the full bit depth to 8-bit display values.

use crate::{GrayImage, Window};

/// The window spanning the 0.5–99.5 percentile of the pixel values, which
/// ignores collimator edges and burned-in labels. Falls back to the full range
/// for a constant image.
pub fn percentile_window(img: &GrayImage) -> Window {
    percentile_window_range(img, 0.005, 0.995)
}

/// The window spanning the `lo`–`hi` quantiles (0..=1) of the pixel values.
pub fn percentile_window_range(img: &GrayImage, lo: f64, hi: f64) -> Window {
    let max = img.max_value();
    let mut hist = vec![0u64; usize::from(max) + 1];
    for &v in &img.data {
        hist[usize::from(v.min(max))] += 1;
    }
    let n = img.data.len() as u64;
    let quantile = |q: f64| -> usize {
        let target = ((n as f64) * q.clamp(0.0, 1.0)).floor() as u64;
        let mut acc = 0u64;
        for (v, &c) in hist.iter().enumerate() {
            acc += c;
            if acc > target {
                return v;
            }
        }
        hist.len() - 1
    };
    let (a, b) = (quantile(lo) as f64, quantile(hi) as f64);
    if b <= a {
        return Window::full_range(img.bits);
    }
    // A window [a, b] inclusive in the DICOM linear function is centre
    // (a + b + 1) / 2 and width b - a + 1.
    Window {
        center: (a + b + 1.0) / 2.0,
        width: b - a + 1.0,
    }
}

/// Apply a window (DICOM PS3.3 C.11.2.1.2.1 linear function) and return one
/// byte per pixel, row-major. `invert` flips black and white after windowing.
/// A width below 1 is treated as 1 (a hard threshold at the centre).
pub fn render_window(img: &GrayImage, window: Window, invert: bool) -> Vec<u8> {
    let lut = window_lut(img.bits, window, invert);
    let max = img.max_value();
    img.data
        .iter()
        .map(|&v| lut[usize::from(v.min(max))])
        .collect()
}

/// Same as [`render_window`] without inversion: what the dataset tools write
/// as 8-bit training images.
pub fn to_u8_windowed(img: &GrayImage, window: Window) -> Vec<u8> {
    render_window(img, window, false)
}

/// The same window as a `[0, 1]` float per pixel: model input.
pub fn to_unit_f32(img: &GrayImage, window: Window) -> Vec<f32> {
    let lut: Vec<f32> = (0..=u32::from(img.max_value()))
        .map(|v| window_value(f64::from(v), window) as f32)
        .collect();
    let max = img.max_value();
    img.data
        .iter()
        .map(|&v| lut[usize::from(v.min(max))])
        .collect()
}

fn window_lut(bits: u8, window: Window, invert: bool) -> Vec<u8> {
    (0..=u32::from(GrayImage::max_for_bits(bits)))
        .map(|v| {
            let y = (window_value(f64::from(v), window) * 255.0).round() as u8;
            if invert { 255 - y } else { y }
        })
        .collect()
}

/// DICOM linear VOI function normalised to 0..=1.
fn window_value(x: f64, w: Window) -> f64 {
    let width = w.width.max(1.0);
    let c = w.center - 0.5;
    let half = (width - 1.0) / 2.0;
    if x <= c - half {
        0.0
    } else if x > c + half || width <= 1.0 {
        1.0
    } else {
        ((x - c) / (width - 1.0) + 0.5).clamp(0.0, 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_range_window_is_identity_on_8_bit() {
        let img = GrayImage::from_u8(256, 1, &(0..=255u8).collect::<Vec<_>>()).unwrap();
        let out = render_window(&img, Window::full_range(8), false);
        assert_eq!(out, (0..=255u8).collect::<Vec<_>>());
        let inv = render_window(&img, Window::full_range(8), true);
        assert_eq!(inv, (0..=255u8).rev().collect::<Vec<_>>());
    }

    #[test]
    fn narrow_window_saturates() {
        let img = GrayImage::new(3, 1, 12, vec![100, 1000, 4000]).unwrap();
        let out = render_window(
            &img,
            Window {
                center: 1000.0,
                width: 200.0,
            },
            false,
        );
        assert_eq!(out[0], 0);
        assert!((120..=135).contains(&out[1]), "{}", out[1]);
        assert_eq!(out[2], 255);
    }

    #[test]
    fn percentile_window_ignores_outliers() {
        let mut data = vec![500u16; 1000];
        for (i, v) in data.iter_mut().enumerate() {
            *v = 500 + (i as u16 % 100);
        }
        data[0] = 0;
        data[1] = 4095;
        let img = GrayImage::new(1000, 1, 12, data).unwrap();
        let w = percentile_window(&img);
        assert!(w.center > 530.0 && w.center < 570.0, "{w:?}");
        assert!(w.width > 80.0 && w.width < 110.0, "{w:?}");
    }

    #[test]
    fn constant_image_gets_full_range() {
        let img = GrayImage::new(4, 4, 8, vec![7; 16]).unwrap();
        assert_eq!(percentile_window(&img), Window::full_range(8));
    }
}
