//! From a grayscale image to the model's input, as effdet's evaluation transforms do it:
//! resize keeping the aspect ratio (PIL-style antialiased bilinear), paste at the top-left of
//! a canvas filled with the mean colour, replicate to three channels, normalise.

use carina_core::Letterbox;

use crate::DetectError;
use crate::config::EfficientDetConfig;

/// A grayscale image with values in [0, 1] (after windowing), row-major.
#[derive(Debug, Clone, Copy)]
pub struct InputImage<'a> {
    width: u32,
    height: u32,
    pixels: &'a [f32],
}

impl<'a> InputImage<'a> {
    pub fn new(width: u32, height: u32, pixels: &'a [f32]) -> Result<Self, DetectError> {
        if width == 0 || height == 0 {
            return Err(DetectError::Input("the image has no pixels".into()));
        }
        if pixels.len() != width as usize * height as usize {
            return Err(DetectError::Input(format!(
                "{} values for a {width}x{height} image",
                pixels.len()
            )));
        }
        if pixels.iter().any(|v| !v.is_finite()) {
            return Err(DetectError::Input("pixel values must be finite".into()));
        }
        Ok(Self {
            width,
            height,
            pixels,
        })
    }

    pub fn width(&self) -> u32 {
        self.width
    }

    pub fn height(&self) -> u32 {
        self.height
    }

    pub fn pixels(&self) -> &'a [f32] {
        self.pixels
    }
}

/// The model input (`[3, S, S]`, channel-major) and the transform back to the original pixels.
pub struct Prepared {
    pub data: Vec<f32>,
    pub letterbox: Letterbox,
}

/// Letterboxes and normalises `img` for `cfg`. An image already at the model size is used
/// as it is, without resampling.
pub fn prepare(img: &InputImage<'_>, cfg: &EfficientDetConfig) -> Prepared {
    let size = cfg.image_size;
    let letterbox = Letterbox::top_left(img.width, img.height, size as u32);
    // effdet truncates the scaled size (`int(h * scale)`).
    let sw = ((f64::from(img.width) * letterbox.scale) as usize).clamp(1, size);
    let sh = ((f64::from(img.height) * letterbox.scale) as usize).clamp(1, size);
    let resized;
    let src: &[f32] = if (sw, sh) == (img.width as usize, img.height as usize) {
        img.pixels
    } else {
        resized = resize_bilinear_aa(img.pixels, img.width as usize, img.height as usize, sw, sh);
        &resized
    };
    let mut data = vec![0.0f32; 3 * size * size];
    for c in 0..3 {
        let (mean, std) = (cfg.mean[c], cfg.std[c]);
        // effdet fills with the mean colour rounded to 8 bits.
        let fill = ((255.0 * mean).round() / 255.0 - mean) / std;
        let plane = &mut data[c * size * size..(c + 1) * size * size];
        plane.fill(fill);
        for y in 0..sh {
            let row = &src[y * sw..(y + 1) * sw];
            for (x, v) in row.iter().enumerate() {
                plane[y * size + x] = (v - mean) / std;
            }
        }
    }
    Prepared { data, letterbox }
}

/// Separable resampling with a triangle filter widened by the scale factor when shrinking
/// (PIL's `Image.resize(..., BILINEAR)`), so large radiographs are averaged, not aliased.
pub fn resize_bilinear_aa(src: &[f32], w: usize, h: usize, out_w: usize, out_h: usize) -> Vec<f32> {
    let xs = filter_taps(w, out_w);
    let ys = filter_taps(h, out_h);
    // Horizontal pass.
    let mut tmp = vec![0.0f32; out_w * h];
    for y in 0..h {
        let row = &src[y * w..(y + 1) * w];
        for (x, (start, weights)) in xs.iter().enumerate() {
            tmp[y * out_w + x] = weights
                .iter()
                .enumerate()
                .map(|(k, wt)| row[start + k] * wt)
                .sum();
        }
    }
    // Vertical pass.
    let mut out = vec![0.0f32; out_w * out_h];
    for (y, (start, weights)) in ys.iter().enumerate() {
        for x in 0..out_w {
            out[y * out_w + x] = weights
                .iter()
                .enumerate()
                .map(|(k, wt)| tmp[(start + k) * out_w + x] * wt)
                .sum();
        }
    }
    out
}

/// For each output position: first input index and normalised weights.
fn filter_taps(in_size: usize, out_size: usize) -> Vec<(usize, Vec<f32>)> {
    let scale = in_size as f64 / out_size as f64;
    let filter_scale = scale.max(1.0);
    let support = filter_scale; // the triangle filter has support 1
    (0..out_size)
        .map(|o| {
            let center = (o as f64 + 0.5) * scale;
            let lo = ((center - support).floor().max(0.0)) as usize;
            let hi = ((center + support).ceil() as usize).min(in_size);
            let mut weights: Vec<f64> = (lo..hi)
                .map(|i| {
                    let t = (i as f64 + 0.5 - center) / filter_scale;
                    (1.0 - t.abs()).max(0.0)
                })
                .collect();
            let total: f64 = weights.iter().sum();
            if total > 0.0 {
                weights.iter_mut().for_each(|v| *v /= total);
            }
            (lo, weights.into_iter().map(|v| v as f32).collect())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resize_keeps_constants_and_averages() {
        let src = vec![0.25f32; 40 * 30];
        let out = resize_bilinear_aa(&src, 40, 30, 10, 7);
        assert!(out.iter().all(|v| (v - 0.25).abs() < 1e-6));
        // A 4:1 shrink of alternating columns averages them (a point sampler would return
        // only 0s or 1s).
        let stripes: Vec<f32> = (0..16 * 4).map(|i| (i % 2) as f32).collect();
        let out = resize_bilinear_aa(&stripes, 16, 4, 4, 1);
        assert!(out.iter().all(|v| (v - 0.5).abs() < 0.1), "{out:?}");
    }

    #[test]
    fn letterbox_places_top_left_and_fills_with_mean() {
        let cfg = EfficientDetConfig::from_arch("tf_efficientdet_lite0", 9).unwrap();
        let pixels = vec![1.0f32; 640 * 320];
        let img = InputImage::new(640, 320, &pixels).unwrap();
        let p = prepare(&img, &cfg);
        assert_eq!(p.letterbox.scale, 0.5);
        let s = cfg.image_size;
        assert_eq!(p.data[0], 1.0); // (1 - 0.5) / 0.5
        assert_eq!(p.data[159 * s + 319], 1.0);
        // Below the image: the mean colour 128/255, normalised.
        let fill = (128.0 / 255.0 - 0.5) / 0.5;
        assert!((p.data[160 * s] - fill).abs() < 1e-6);
        assert!(InputImage::new(2, 2, &pixels[..3]).is_err());
    }

    #[test]
    fn model_size_is_not_resampled() {
        let cfg = EfficientDetConfig::from_arch("tf_efficientdet_lite0", 9).unwrap();
        let pixels: Vec<f32> = (0..320 * 320).map(|i| (i % 7) as f32 / 7.0).collect();
        let img = InputImage::new(320, 320, &pixels).unwrap();
        let p = prepare(&img, &cfg);
        assert!(p.letterbox.is_identity());
        for (i, v) in pixels.iter().enumerate() {
            assert_eq!(p.data[i], (v - 0.5) / 0.5);
        }
    }
}
