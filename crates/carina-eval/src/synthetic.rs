//! Generated ground truth and detections, for the benchmark and for property
//! tests. Numbers computed on them describe the evaluator, never a model.
//!
//! A small SplitMix64 generator keeps the output identical for a seed on
//! every platform without pulling in a random-number crate.

use crate::input::{Category, Detection, GroundTruth, GtBox};

/// SplitMix64: tiny, fast, and good enough for test data.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed ^ 0x9E37_79B9_7F4A_7C15)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
    /// Uniform in 0..n (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
    /// Fisher–Yates shuffle.
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            v.swap(i, self.below(i + 1));
        }
    }
}

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SynthSpec {
    pub images: usize,
    /// Total detections (approximately: at least one per kept ground truth).
    pub detections: usize,
    pub classes: usize,
    /// Side of the square images in pixels.
    pub image_size: f64,
    /// Round scores to this many decimals (exact ties); `None` keeps them continuous.
    pub score_decimals: Option<i32>,
    /// Share of ground-truth boxes that are crowd regions.
    pub crowd_rate: f64,
    pub seed: u64,
}

impl Default for SynthSpec {
    fn default() -> Self {
        Self {
            images: 5000,
            detections: 50_000,
            classes: 9,
            image_size: 1024.0,
            score_decimals: Some(3),
            crowd_rate: 0.02,
            seed: 1,
        }
    }
}

/// A box of a random size class (small, medium or large) inside the image.
fn random_box(rng: &mut Rng, size: f64) -> [f64; 4] {
    let side = match rng.below(3) {
        0 => rng.range(4.0, 32.0),
        1 => rng.range(32.0, 96.0),
        _ => rng.range(96.0, size / 2.0),
    };
    let w = (side * rng.range(0.6, 1.6)).min(size - 1.0);
    let h = (side * side / w).min(size - 1.0);
    let x = rng.range(0.0, size - w);
    let y = rng.range(0.0, size - h);
    [x, y, w, h]
}

/// A detection near `b`: shifted and rescaled by up to `jitter` of its size.
fn jittered(rng: &mut Rng, b: &[f64; 4], jitter: f64) -> [f64; 4] {
    let dx = rng.range(-jitter, jitter) * b[2];
    let dy = rng.range(-jitter, jitter) * b[3];
    let w = (b[2] * rng.range(1.0 - jitter, 1.0 + jitter)).max(1.0);
    let h = (b[3] * rng.range(1.0 - jitter, 1.0 + jitter)).max(1.0);
    [(b[0] + dx).max(0.0), (b[1] + dy).max(0.0), w, h]
}

/// Ground truth with 0–4 boxes per image, and detections: most ground truths
/// found with some jitter (some with the wrong class or twice), the rest of
/// the detection budget spent on false positives.
pub fn generate(spec: &SynthSpec) -> (GroundTruth, Vec<Detection>) {
    let mut rng = Rng::new(spec.seed);
    let categories: Vec<Category> = (0..spec.classes)
        .map(|k| Category {
            id: k as i64 + 1,
            name: format!("class {}", k + 1),
        })
        .collect();
    let images: Vec<i64> = (1..=spec.images as i64).collect();
    let mut annotations = Vec::new();
    for &img in &images {
        for _ in 0..rng.below(5) {
            let bbox = random_box(&mut rng, spec.image_size);
            // The area field is usually w × h, but like real COCO files
            // (polygon areas) not always.
            let area = bbox[2]
                * bbox[3]
                * if rng.chance(0.2) {
                    rng.range(0.5, 1.0)
                } else {
                    1.0
                };
            annotations.push(GtBox {
                id: annotations.len() as i64 + 1,
                image_id: img,
                category_id: rng.below(spec.classes) as i64 + 1,
                bbox,
                area,
                iscrowd: rng.chance(spec.crowd_rate),
                ignore: false,
            });
        }
    }
    let score = |rng: &mut Rng, hi: bool| {
        let s = if hi {
            rng.range(0.3, 1.0)
        } else {
            rng.range(0.0, 0.7)
        };
        match spec.score_decimals {
            Some(d) => (s * 10f64.powi(d)).round() / 10f64.powi(d),
            None => s,
        }
    };
    let mut dets = Vec::new();
    for a in &annotations {
        if dets.len() >= spec.detections || rng.chance(0.15) {
            continue;
        }
        let category_id = if rng.chance(0.1) {
            rng.below(spec.classes) as i64 + 1
        } else {
            a.category_id
        };
        let hits = if rng.chance(0.15) { 2 } else { 1 };
        for _ in 0..hits {
            dets.push(Detection {
                image_id: a.image_id,
                category_id,
                bbox: jittered(&mut rng, &a.bbox, 0.15),
                score: score(&mut rng, true),
            });
        }
    }
    while dets.len() < spec.detections && !images.is_empty() {
        dets.push(Detection {
            image_id: images[rng.below(images.len())],
            category_id: rng.below(spec.classes) as i64 + 1,
            bbox: random_box(&mut rng, spec.image_size),
            score: score(&mut rng, false),
        });
    }
    rng.shuffle(&mut dets);
    (
        GroundTruth {
            images,
            categories,
            annotations,
        },
        dets,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_data() {
        let spec = SynthSpec {
            images: 50,
            detections: 300,
            ..SynthSpec::default()
        };
        let (g1, d1) = generate(&spec);
        let (g2, d2) = generate(&spec);
        assert_eq!(g1, g2);
        assert_eq!(d1, d2);
        assert_eq!(d1.len(), 300);
        assert!(g1.check("synthetic").is_ok());
        assert!(g1.check_detections(&d1, "synthetic").is_ok());
    }
}
