//! From attenuation to what a radiograph shows: detector response,
//! processing (gamma, unsharp masking as CR/DR consoles apply), quantum
//! noise, and quantisation to 8 or 16 bits.

pub use crate::field::Field;
use rand::Rng;

/// How one synthetic exposure was taken and processed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Exposure {
    /// Display units per unit of attenuation (window width).
    pub mu: f32,
    pub gamma: f32,
    /// Unsharp-mask amount and radius (pixels).
    pub unsharp: f32,
    pub unsharp_sigma: f32,
    /// Standard deviation of the quantum noise (display units).
    pub noise: f32,
    /// Display level of air outside the body.
    pub floor: f32,
    /// Detector blur (pixels).
    pub blur: f32,
    /// Final brightness and contrast tweaks.
    pub brightness: f32,
    pub contrast: f32,
}

impl Exposure {
    pub fn sample<R: Rng>(rng: &mut R, size: usize) -> Self {
        Self {
            mu: rng.random_range(0.64..0.8),
            gamma: rng.random_range(0.85..1.25),
            unsharp: rng.random_range(0.3..0.9),
            unsharp_sigma: size as f32 * rng.random_range(0.025..0.05),
            noise: rng.random_range(0.006..0.022),
            floor: if rng.random::<f32>() < 0.5 {
                0.0
            } else {
                rng.random_range(0.0..0.08)
            },
            blur: rng.random_range(0.5..0.9),
            brightness: rng.random_range(-0.05..0.05),
            contrast: rng.random_range(0.9..1.15),
        }
    }
}

/// Gaussian-ish deviate (sum of three uniforms, unit variance): cheap, and
/// quantum noise is not heavy-tailed anyway.
#[inline]
pub fn gauss<R: Rng>(rng: &mut R) -> f32 {
    (rng.random::<f32>() + rng.random::<f32>() + rng.random::<f32>() - 1.5) * 2.0
}

/// A tabulated function of attenuation in [0, `LUT_MAX`], linearly
/// interpolated: the display curve costs one lookup per pixel.
struct Lut {
    table: Vec<f32>,
}

const LUT_MAX: f32 = 3.0;
const LUT_N: usize = 4096;

impl Lut {
    fn new(f: impl Fn(f32) -> f32) -> Self {
        let table = (0..=LUT_N)
            .map(|i| f(i as f32 * LUT_MAX / LUT_N as f32))
            .collect();
        Self { table }
    }

    #[inline]
    fn get(&self, x: f32) -> f32 {
        let p = (x.max(0.0) * (LUT_N as f32 / LUT_MAX)).min(LUT_N as f32 - 1e-3);
        let i = p as usize;
        let t = p - i as f32;
        self.table[i] * (1.0 - t) + self.table[i + 1] * t
    }
}

/// Renders attenuation into display values in [0, 1].
pub fn expose<R: Rng>(atten: &Field, e: &Exposure, rng: &mut R) -> Field {
    let a = atten.blurred(e.blur);
    // CR/DR consoles show log-exposure, which is linear in attenuation,
    // through a LUT whose shoulder rolls off the densest parts instead of
    // clipping them.
    let lut = Lut::new(|x| {
        let x = x * e.mu;
        let soft = x / (1.0 + (x / 1.05).powi(6)).powf(1.0 / 6.0);
        soft.powf(e.gamma)
    });
    let mut out = a.clone();
    for v in &mut out.data {
        *v = lut.get(*v);
    }
    if e.unsharp > 0.0 {
        let low = out.blurred(e.unsharp_sigma);
        for (v, l) in out.data.iter_mut().zip(&low.data) {
            *v += e.unsharp * (*v - l);
        }
    }
    // Fine-grained correlated noise: white noise blurred a little, plus a
    // dose-dependent white part (bright = fewer photons = noisier).
    let mut grain = Field::new(out.w, out.h);
    for g in &mut grain.data {
        *g = gauss(rng);
    }
    let grain = grain.blurred(0.7);
    for ((v, g), body) in out.data.iter_mut().zip(&grain.data).zip(&a.data) {
        let inside = (*body * 4.0).clamp(0.0, 1.0);
        let n = e.noise * (0.6 + 0.8 * v.clamp(0.0, 1.0)) * (1.6 * g + 0.5 * gauss(rng));
        let x = (*v - 0.5) * e.contrast + 0.5 + e.brightness + n;
        *v =
            e.floor * (1.0 - inside) + x * inside.max(0.0) + (1.0 - inside) * x.min(e.floor + 0.05);
        *v = v.clamp(0.0, 1.0);
    }
    out
}

/// Display value ↔ attenuation for real backgrounds (insert mode): the
/// inverse of a plain exponential detector response.
pub const INSERT_MU: f32 = 2.0;
const INSERT_C: f32 = 0.985;

#[inline]
pub fn display_to_atten(i: f32) -> f32 {
    -(1.0 - INSERT_C * i.clamp(0.0, 1.0)).ln() / INSERT_MU
}

#[inline]
pub fn atten_to_display(a: f32) -> f32 {
    ((1.0 - (-INSERT_MU * a.max(0.0)).exp()) / INSERT_C).clamp(0.0, 1.0)
}

/// Quantises `img` (display values in [0, 1]) onto a `size` × `size` canvas
/// at the top-left, padding with black, and encodes it as PNG.
pub fn encode_png(img: &Field, size: usize, bit_depth: u8) -> Result<Vec<u8>, image::ImageError> {
    use image::ImageEncoder;
    let mut out = Vec::new();
    let enc = image::codecs::png::PngEncoder::new(&mut out);
    let (s, w, h) = (size as u32, img.w.min(size), img.h.min(size));
    if bit_depth == 16 {
        let mut px = vec![0u8; size * size * 2];
        for y in 0..h {
            for x in 0..w {
                let v = (img.at(x, y).clamp(0.0, 1.0) * 65535.0).round() as u16;
                // The encoder takes native-endian samples and swaps them itself.
                px[(y * size + x) * 2..(y * size + x) * 2 + 2].copy_from_slice(&v.to_ne_bytes());
            }
        }
        enc.write_image(&px, s, s, image::ExtendedColorType::L16)?;
    } else {
        let mut px = vec![0u8; size * size];
        for y in 0..h {
            for x in 0..w {
                px[y * size + x] = (img.at(x, y).clamp(0.0, 1.0) * 255.0).round() as u8;
            }
        }
        enc.write_image(&px, s, s, image::ExtendedColorType::L8)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_mapping_round_trips() {
        for i in [0.0f32, 0.1, 0.5, 0.9, 1.0] {
            assert!((atten_to_display(display_to_atten(i)) - i).abs() < 1e-4);
        }
    }
}
