//! Augmentation for chest radiographs, on the grayscale image in [0, 1]
//! before normalisation: scale jitter with a random crop (or pad) back to the
//! input size, a small rotation, optional horizontal flip, then brightness,
//! contrast, gamma and Gaussian noise. Boxes follow the geometric part and are
//! clipped, and dropped when too little of them stays in the image.

use crate::config::AugmentConfig;
use rand::Rng;

/// A grayscale image with values in [0, 1], row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct GrayImage {
    pub width: usize,
    pub height: usize,
    pub data: Vec<f32>,
}

impl GrayImage {
    pub fn new(width: usize, height: usize) -> Self {
        Self {
            width,
            height,
            data: vec![0.0; width * height],
        }
    }

    pub fn get(&self, x: usize, y: usize) -> f32 {
        self.data[y * self.width + x]
    }

    /// Bilinear sample at a continuous position (pixel centres at +0.5); 0 outside.
    fn sample(&self, x: f32, y: f32) -> f32 {
        let fx = x - 0.5;
        let fy = y - 0.5;
        let x0 = fx.floor();
        let y0 = fy.floor();
        let (ax, ay) = (fx - x0, fy - y0);
        let px = |xi: f32, yi: f32| -> f32 {
            if xi < 0.0 || yi < 0.0 || xi >= self.width as f32 || yi >= self.height as f32 {
                0.0
            } else {
                self.data[yi as usize * self.width + xi as usize]
            }
        };
        let top = px(x0, y0) * (1.0 - ax) + px(x0 + 1.0, y0) * ax;
        let bottom = px(x0, y0 + 1.0) * (1.0 - ax) + px(x0 + 1.0, y0 + 1.0) * ax;
        top * (1.0 - ay) + bottom * ay
    }
}

/// A box on the image with its class: `[x_min, y_min, x_max, y_max]` pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LabeledBox {
    pub xyxy: [f32; 4],
    pub class: u32,
}

/// An affine map `p' = A p + b` on pixel coordinates (x, y).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Affine {
    pub a: [[f32; 2]; 2],
    pub b: [f32; 2],
}

impl Affine {
    pub fn identity() -> Self {
        Self {
            a: [[1.0, 0.0], [0.0, 1.0]],
            b: [0.0, 0.0],
        }
    }

    /// Zoom by `scale` and rotate by `degrees` about `(cx, cy)`, then shift by `(tx, ty)`,
    /// optionally mirrored left-right on an image `width` wide first.
    pub fn jitter(
        cx: f32,
        cy: f32,
        scale: f32,
        degrees: f32,
        tx: f32,
        ty: f32,
        flip_width: Option<f32>,
    ) -> Self {
        let (s, c) = degrees.to_radians().sin_cos();
        let a = [[scale * c, -scale * s], [scale * s, scale * c]];
        // p' = A (p - centre) + centre + t
        let b = [
            cx + tx - (a[0][0] * cx + a[0][1] * cy),
            cy + ty - (a[1][0] * cx + a[1][1] * cy),
        ];
        let m = Self { a, b };
        match flip_width {
            // Mirror first: x -> w - x.
            Some(w) => m.compose(&Self {
                a: [[-1.0, 0.0], [0.0, 1.0]],
                b: [w, 0.0],
            }),
            None => m,
        }
    }

    /// `self ∘ first`: apply `first`, then `self`.
    pub fn compose(&self, first: &Self) -> Self {
        let (p, q) = (self, first);
        let mut a = [[0.0; 2]; 2];
        for (i, row) in a.iter_mut().enumerate() {
            for (j, v) in row.iter_mut().enumerate() {
                *v = p.a[i][0] * q.a[0][j] + p.a[i][1] * q.a[1][j];
            }
        }
        let b = [
            p.a[0][0] * q.b[0] + p.a[0][1] * q.b[1] + p.b[0],
            p.a[1][0] * q.b[0] + p.a[1][1] * q.b[1] + p.b[1],
        ];
        Self { a, b }
    }

    pub fn apply(&self, x: f32, y: f32) -> (f32, f32) {
        (
            self.a[0][0] * x + self.a[0][1] * y + self.b[0],
            self.a[1][0] * x + self.a[1][1] * y + self.b[1],
        )
    }

    pub fn inverse(&self) -> Self {
        let [[a, b], [c, d]] = self.a;
        let det = a * d - b * c;
        let inv = [[d / det, -b / det], [-c / det, a / det]];
        let bx = -(inv[0][0] * self.b[0] + inv[0][1] * self.b[1]);
        let by = -(inv[1][0] * self.b[0] + inv[1][1] * self.b[1]);
        Self {
            a: inv,
            b: [bx, by],
        }
    }
}

/// Resamples `img` through `m` onto a `width` × `height` canvas (0 outside the source).
pub fn warp(img: &GrayImage, m: &Affine, width: usize, height: usize) -> GrayImage {
    let inv = m.inverse();
    let mut out = GrayImage::new(width, height);
    for y in 0..height {
        for x in 0..width {
            let (sx, sy) = inv.apply(x as f32 + 0.5, y as f32 + 0.5);
            out.data[y * width + x] = img.sample(sx, sy);
        }
    }
    out
}

/// Maps boxes through `m` (the axis-aligned hull of the four moved corners),
/// clips them to the canvas and drops those that are too small or that keep
/// less than `min_visible` of their (moved) area.
pub fn transform_boxes(
    boxes: &[LabeledBox],
    m: &Affine,
    width: usize,
    height: usize,
    min_size: f32,
    min_visible: f32,
) -> Vec<LabeledBox> {
    let (w, h) = (width as f32, height as f32);
    boxes
        .iter()
        .filter_map(|b| {
            let [x0, y0, x1, y1] = b.xyxy;
            let corners = [
                m.apply(x0, y0),
                m.apply(x1, y0),
                m.apply(x0, y1),
                m.apply(x1, y1),
            ];
            let nx0 = corners.iter().map(|c| c.0).fold(f32::INFINITY, f32::min);
            let ny0 = corners.iter().map(|c| c.1).fold(f32::INFINITY, f32::min);
            let nx1 = corners
                .iter()
                .map(|c| c.0)
                .fold(f32::NEG_INFINITY, f32::max);
            let ny1 = corners
                .iter()
                .map(|c| c.1)
                .fold(f32::NEG_INFINITY, f32::max);
            let full = (nx1 - nx0) * (ny1 - ny0);
            let cx0 = nx0.clamp(0.0, w);
            let cy0 = ny0.clamp(0.0, h);
            let cx1 = nx1.clamp(0.0, w);
            let cy1 = ny1.clamp(0.0, h);
            let kept = (cx1 - cx0) * (cy1 - cy0);
            let ok = cx1 - cx0 >= min_size
                && cy1 - cy0 >= min_size
                && full > 0.0
                && kept / full >= min_visible;
            ok.then_some(LabeledBox {
                xyxy: [cx0, cy0, cx1, cy1],
                class: b.class,
            })
        })
        .collect()
}

/// Draws the geometric part of an augmentation for an image `size` pixels square.
pub fn draw_geometry<R: Rng>(cfg: &AugmentConfig, size: usize, rng: &mut R) -> Affine {
    let s = size as f32;
    let scale = rng.random_range(cfg.scale_min..=cfg.scale_max) as f32;
    let degrees = if cfg.rotate_deg > 0.0 {
        rng.random_range(-cfg.rotate_deg..=cfg.rotate_deg) as f32
    } else {
        0.0
    };
    // Any crop of a zoomed-in image, any placement of a zoomed-out one.
    let slack = (scale - 1.0).abs() * s / 2.0;
    let mut shift = || {
        if slack > 0.0 {
            rng.random_range(-slack..=slack)
        } else {
            0.0
        }
    };
    let (tx, ty) = (shift(), shift());
    let flip = cfg.hflip && rng.random_bool(0.5);
    Affine::jitter(s / 2.0, s / 2.0, scale, degrees, tx, ty, flip.then_some(s))
}

/// Brightness, contrast (about mid-grey), gamma and Gaussian noise, clamped to [0, 1].
pub fn photometric<R: Rng>(img: &mut GrayImage, cfg: &AugmentConfig, rng: &mut R) {
    let range = |rng: &mut R, r: f64| -> f32 {
        if r > 0.0 {
            rng.random_range(-r..=r) as f32
        } else {
            0.0
        }
    };
    let gamma = 1.0 + range(rng, cfg.gamma);
    let contrast = 1.0 + range(rng, cfg.contrast);
    let brightness = range(rng, cfg.brightness);
    let sigma = if cfg.noise_std > 0.0 {
        rng.random_range(0.0..=cfg.noise_std) as f32
    } else {
        0.0
    };
    for v in img.data.iter_mut() {
        let mut x = v.max(0.0).powf(gamma);
        x = (x - 0.5) * contrast + 0.5 + brightness;
        if sigma > 0.0 {
            x += sigma * standard_normal(rng);
        }
        *v = x.clamp(0.0, 1.0);
    }
}

/// One draw from N(0, 1) by the Box–Muller transform.
fn standard_normal<R: Rng>(rng: &mut R) -> f32 {
    let u1: f32 = rng.random_range(f32::EPSILON..1.0);
    let u2: f32 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
}

/// The whole augmentation of one square training image and its boxes.
pub fn augment<R: Rng>(
    img: &GrayImage,
    boxes: &[LabeledBox],
    cfg: &AugmentConfig,
    rng: &mut R,
) -> (GrayImage, Vec<LabeledBox>) {
    let size = img.width.max(img.height);
    let m = draw_geometry(cfg, size, rng);
    let mut out = warp(img, &m, size, size);
    let kept = transform_boxes(
        boxes,
        &m,
        size,
        size,
        cfg.min_box_size as f32,
        cfg.min_visible as f32,
    );
    photometric(&mut out, cfg, rng);
    (out, kept)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn canvas_with_rect(size: usize, r: [usize; 4]) -> GrayImage {
        let mut img = GrayImage::new(size, size);
        for y in r[1]..r[3] {
            for x in r[0]..r[2] {
                img.data[y * size + x] = 1.0;
            }
        }
        img
    }

    /// Bounding box of the pixels brighter than 0.5, in pixel-edge coordinates.
    fn bright_bbox(img: &GrayImage) -> Option<[f32; 4]> {
        let mut b = [
            f32::INFINITY,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NEG_INFINITY,
        ];
        for y in 0..img.height {
            for x in 0..img.width {
                if img.get(x, y) > 0.5 {
                    b[0] = b[0].min(x as f32);
                    b[1] = b[1].min(y as f32);
                    b[2] = b[2].max(x as f32 + 1.0);
                    b[3] = b[3].max(y as f32 + 1.0);
                }
            }
        }
        b[0].is_finite().then_some(b)
    }

    #[test]
    fn affine_inverse_and_compose() {
        let m = Affine::jitter(50.0, 50.0, 1.2, 5.0, 3.0, -4.0, Some(100.0));
        let (x, y) = m.apply(10.0, 20.0);
        let (bx, by) = m.inverse().apply(x, y);
        assert!((bx - 10.0).abs() < 1e-4 && (by - 20.0).abs() < 1e-4);
        let id = m.compose(&m.inverse());
        assert!((id.apply(7.0, 9.0).0 - 7.0).abs() < 1e-4);
    }

    #[test]
    fn bright_rectangle_stays_inside_its_box() {
        let rect = [40, 60, 90, 100];
        let img = canvas_with_rect(128, rect);
        let boxes = [LabeledBox {
            xyxy: rect.map(|v| v as f32),
            class: 4,
        }];
        let cfg = AugmentConfig {
            hflip: true,
            ..AugmentConfig::default()
        };
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for _ in 0..20 {
            let m = draw_geometry(&cfg, 128, &mut rng);
            let out = warp(&img, &m, 128, 128);
            let moved = transform_boxes(&boxes, &m, 128, 128, 1.0, 0.0);
            let seen = bright_bbox(&out).expect("the rectangle stays in view");
            assert_eq!(moved.len(), 1);
            assert_eq!(moved[0].class, 4);
            for k in 0..4 {
                assert!(
                    (moved[0].xyxy[k] - seen[k]).abs() <= 1.5,
                    "box {:?} vs drawn {:?}",
                    moved[0].xyxy,
                    seen
                );
            }
        }
    }

    #[test]
    fn flip_mirrors_the_box() {
        let m = Affine::jitter(50.0, 50.0, 1.0, 0.0, 0.0, 0.0, Some(100.0));
        let b = [LabeledBox {
            xyxy: [10.0, 20.0, 30.0, 40.0],
            class: 0,
        }];
        let out = transform_boxes(&b, &m, 100, 100, 1.0, 0.0);
        assert_eq!(out[0].xyxy, [70.0, 20.0, 90.0, 40.0]);
    }

    #[test]
    fn boxes_are_clipped_and_dropped() {
        // Shift everything 80 px right on a 100 px canvas.
        let m = Affine {
            a: [[1.0, 0.0], [0.0, 1.0]],
            b: [80.0, 0.0],
        };
        let b = [
            LabeledBox {
                xyxy: [0.0, 0.0, 10.0, 10.0], // -> [80, 90]: fully inside
                class: 1,
            },
            LabeledBox {
                xyxy: [10.0, 0.0, 40.0, 10.0], // -> [90, 120]: 1/3 visible, clipped to [90, 100]
                class: 2,
            },
            LabeledBox {
                xyxy: [30.0, 0.0, 60.0, 10.0], // -> [110, 140]: gone
                class: 3,
            },
        ];
        let out = transform_boxes(&b, &m, 100, 100, 1.0, 0.3);
        assert_eq!(out.len(), 2);
        assert_eq!(out[1].xyxy, [90.0, 0.0, 100.0, 10.0]);
        let strict = transform_boxes(&b, &m, 100, 100, 1.0, 0.5);
        assert_eq!(strict.len(), 1);
        // Too thin after clipping.
        let thin = transform_boxes(&b, &m, 100, 100, 11.0, 0.0);
        assert!(thin.is_empty());
    }

    #[test]
    fn photometric_stays_in_range_and_is_seeded() {
        let img = canvas_with_rect(32, [4, 4, 20, 20]);
        let cfg = AugmentConfig::default();
        let run = |seed| {
            let mut a = img.clone();
            photometric(&mut a, &cfg, &mut ChaCha8Rng::seed_from_u64(seed));
            a
        };
        let a = run(3);
        assert!(a.data.iter().all(|v| (0.0..=1.0).contains(v)));
        assert_eq!(a, run(3));
        assert_ne!(a, run(4));
    }
}
