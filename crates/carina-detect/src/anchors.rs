//! Anchor boxes and box decoding, as effdet's `Anchors` and `decode_box_outputs`
//! (TensorFlow's `FasterRcnnBoxCoder` without scale factors, `(y, x)` order).

use crate::config::EfficientDetConfig;

/// All anchors of a model, in the order of the flattened head outputs: level, then row,
/// column, then anchor (scale outer, aspect ratio inner). Boxes are `[y_min, x_min, y_max, x_max]`
/// in model-input pixels.
#[derive(Debug, Clone)]
pub struct Anchors {
    boxes: Vec<[f32; 4]>,
    /// Per level: (first anchor index, feature height, feature width).
    levels: Vec<(usize, usize, usize)>,
    per_location: usize,
}

impl Anchors {
    pub fn new(cfg: &EfficientDetConfig) -> Self {
        let sizes = cfg.feat_sizes();
        let image = cfg.image_size as f64;
        let mut boxes = Vec::new();
        let mut levels = Vec::new();
        for &feat in &sizes[cfg.min_level..=cfg.max_level] {
            // effdet: stride = image / feature size (a float when the size is not a power of 2).
            let stride = image / feat as f64;
            levels.push((boxes.len(), feat, feat));
            // Computed in f64 as effdet's numpy code, then stored as f32 like its torch buffer.
            let mut configs = Vec::new();
            for octave in 0..cfg.num_scales {
                for &(ax, ay) in &cfg.aspect_ratios {
                    let base = cfg.anchor_scale
                        * stride
                        * 2f64.powf(octave as f64 / cfg.num_scales as f64);
                    configs.push((base * ax / 2.0, base * ay / 2.0));
                }
            }
            for row in 0..feat {
                let y = stride / 2.0 + row as f64 * stride;
                for col in 0..feat {
                    let x = stride / 2.0 + col as f64 * stride;
                    for &(half_x, half_y) in &configs {
                        boxes.push([
                            (y - half_y) as f32,
                            (x - half_x) as f32,
                            (y + half_y) as f32,
                            (x + half_x) as f32,
                        ]);
                    }
                }
            }
        }
        Self {
            boxes,
            levels,
            per_location: cfg.num_anchors(),
        }
    }

    pub fn len(&self) -> usize {
        self.boxes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.boxes.is_empty()
    }

    /// `[y_min, x_min, y_max, x_max]` of anchor `i`.
    pub fn get(&self, i: usize) -> [f32; 4] {
        self.boxes[i]
    }

    pub fn boxes(&self) -> &[[f32; 4]] {
        &self.boxes
    }

    /// Per level: (first anchor index, feature height, feature width).
    pub fn levels(&self) -> &[(usize, usize, usize)] {
        &self.levels
    }

    pub fn per_location(&self) -> usize {
        self.per_location
    }
}

/// Added to box sides before division and logarithm, as effdet's box coder does.
const EPS: f32 = 1e-8;

/// Centre and size of a `[y_min, x_min, y_max, x_max]` box, `(yc, xc, h, w)`, as effdet's
/// `get_center_coordinates_and_sizes`.
fn center_size(b: &[f32; 4]) -> (f32, f32, f32, f32) {
    let h = b[2] - b[0];
    let w = b[3] - b[1];
    (b[0] + 0.5 * h, b[1] + 0.5 * w, h, w)
}

/// Decodes `[ty, tx, th, tw]` relative to `anchor` (`yxyx`) into `[x_min, y_min, x_max,
/// y_max]`, in f32 with effdet's order of operations (`decode_box_outputs`). Serving and
/// training validation both decode with it.
pub fn decode_box(code: [f32; 4], anchor: [f32; 4]) -> [f32; 4] {
    let [ty, tx, th, tw] = code;
    // effdet's decode takes the centre as (min + max) / 2; its encoder (below) as
    // min + size / 2. The two differ in the last bit, so each keeps its own.
    let yc_a = (anchor[0] + anchor[2]) / 2.0;
    let xc_a = (anchor[1] + anchor[3]) / 2.0;
    let ha = anchor[2] - anchor[0];
    let wa = anchor[3] - anchor[1];
    let w = tw.exp() * wa;
    let h = th.exp() * ha;
    let yc = ty * ha + yc_a;
    let xc = tx * wa + xc_a;
    [xc - w / 2.0, yc - h / 2.0, xc + w / 2.0, yc + h / 2.0]
}

/// Encodes a `[y_min, x_min, y_max, x_max]` box against an anchor (the inverse of
/// [`decode_box`]): the training targets of effdet's `FasterRcnnBoxCoder` without scale
/// factors, `(ty, tx, th, tw)`, with its `EPS` added to every side.
pub fn encode_box(bbox: [f32; 4], anchor: [f32; 4]) -> [f32; 4] {
    let (yc_a, xc_a, ha, wa) = center_size(&anchor);
    let (yc, xc, h, w) = center_size(&bbox);
    let (ha, wa, h, w) = (ha + EPS, wa + EPS, h + EPS, w + EPS);
    [
        (yc - yc_a) / ha,
        (xc - xc_a) / wa,
        (h / ha).ln(),
        (w / wa).ln(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_first_anchor() {
        let cfg = EfficientDetConfig::from_arch("tf_efficientdet_d0", 9).unwrap();
        let a = Anchors::new(&cfg);
        assert_eq!(a.len(), (64 * 64 + 32 * 32 + 16 * 16 + 64 + 16) * 9);
        // Level 3, stride 8, scale 4: a 32×32 box centred on (4, 4).
        assert_eq!(a.get(0), [-12.0, -12.0, 20.0, 20.0]);
        let lite = EfficientDetConfig::from_arch("tf_efficientdet_lite0", 9).unwrap();
        let a = Anchors::new(&lite);
        assert_eq!(a.len(), (40 * 40 + 20 * 20 + 100 + 25 + 9) * 9);
        assert_eq!(a.levels()[4], (a.len() - 81, 3, 3));
    }

    #[test]
    fn encode_by_hand() {
        // Anchor centred (y 10, x 20), 8 high, 16 wide; box centred (y 12, x 16), 16 high, 8 wide.
        let t = encode_box([4.0, 12.0, 20.0, 20.0], [6.0, 12.0, 14.0, 28.0]);
        let want = [2.0 / 8.0, -4.0 / 16.0, 2f32.ln(), 0.5f32.ln()];
        for k in 0..4 {
            assert!((t[k] - want[k]).abs() < 1e-6, "{t:?} vs {want:?}");
        }
    }

    #[test]
    fn encode_decode_round_trip() {
        let anchor = [10.0, 20.0, 50.0, 80.0];
        let b = [12.0, 15.0, 60.0, 90.0];
        let code = encode_box(b, anchor);
        let d = decode_box(code, anchor);
        // decode gives x/y order
        for (got, want) in d.iter().zip([b[1], b[0], b[3], b[2]]) {
            assert!((got - want).abs() < 1e-4, "{d:?}");
        }
    }
}
