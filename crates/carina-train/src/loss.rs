//! effdet's detection loss (`loss.py`, non-legacy focal loss):
//!
//! - classification: sigmoid focal loss `α_t (1 - p_t)^γ · BCE(x, z_smoothed)`
//!   over every (anchor, class) pair, anchors labelled "ignored" left out;
//! - boxes: Huber loss (δ) on the four codes of the positive anchors, where a
//!   code is counted only when its target is non-zero (effdet's mask);
//! - both summed over the batch and all levels and divided by the number of
//!   positive anchors in the batch plus one (the box loss by four times that);
//! - `total = class + box_loss_weight · box`.
//!
//! Network outputs come per level as `[N, A·K, H, W]` (class) and
//! `[N, A·4, H, W]` (box), anchor-major in the channel axis, as effdet's heads
//! produce them; [`flatten_levels`] puts them in anchor order.

use crate::assign::AnchorTargets;
use crate::config::LossConfig;
use burn::tensor::activation::sigmoid;
use burn::tensor::{Device, Tensor, TensorData};

/// `[N, A·C, H, W]` per level → `[N, Σ H·W·A, C]`, ordered level, row, column, anchor.
pub fn flatten_levels(levels: Vec<Tensor<4>>, per_anchor: usize) -> Tensor<3> {
    let flat: Vec<Tensor<3>> = levels
        .into_iter()
        .map(|t| {
            let [n, c, h, w] = t.dims();
            t.permute([0, 2, 3, 1])
                .reshape([n, h * w * (c / per_anchor), per_anchor])
        })
        .collect();
    Tensor::cat(flat, 1)
}

/// The targets of a batch as tensors, built once per step from the anchor labels.
#[derive(Debug, Clone)]
pub struct BatchTargets {
    /// One-hot classes `[N, T, K]` (all zeros for background).
    pub classes: Tensor<3>,
    /// 1 where the anchor counts in the classification loss, `[N, T, 1]`.
    pub class_valid: Tensor<3>,
    /// Box codes `[N, T, 4]`, zeros for unmatched anchors.
    pub boxes: Tensor<3>,
    /// 1 where a box code counts (its target is non-zero), `[N, T, 4]`.
    pub box_mask: Tensor<3>,
    /// Positive anchors in the batch.
    pub num_positives: usize,
}

impl BatchTargets {
    pub fn new(targets: &[AnchorTargets], num_classes: usize, device: &Device) -> Self {
        let n = targets.len();
        let t = targets.first().map_or(0, |a| a.classes.len());
        let mut onehot = vec![0f32; n * t * num_classes];
        let mut valid = vec![1f32; n * t];
        let mut boxes = vec![0f32; n * t * 4];
        let mut mask = vec![0f32; n * t * 4];
        let mut num_positives = 0;
        for (i, a) in targets.iter().enumerate() {
            assert_eq!(
                a.classes.len(),
                t,
                "every image is labelled on the same anchors"
            );
            num_positives += a.num_positives;
            for (j, &c) in a.classes.iter().enumerate() {
                let row = i * t + j;
                if c >= 0 && (c as usize) < num_classes {
                    onehot[row * num_classes + c as usize] = 1.0;
                } else if c == -2 {
                    valid[row] = 0.0;
                }
                for k in 0..4 {
                    let v = a.boxes[j][k];
                    boxes[row * 4 + k] = v;
                    mask[row * 4 + k] = if v != 0.0 { 1.0 } else { 0.0 };
                }
            }
        }
        let tensor =
            |v: Vec<f32>, c: usize| Tensor::from_data(TensorData::new(v, [n, t, c]), device);
        Self {
            classes: tensor(onehot, num_classes),
            class_valid: tensor(valid, 1),
            boxes: tensor(boxes, 4),
            box_mask: tensor(mask, 4),
            num_positives,
        }
    }
}

/// The three loss values of one batch (scalars, still attached to the graph).
#[derive(Debug, Clone)]
pub struct DetectionLoss {
    pub total: Tensor<1>,
    pub class: Tensor<1>,
    pub boxes: Tensor<1>,
}

/// Sigmoid focal loss per element, not yet normalised.
pub fn focal_loss(
    logits: Tensor<3>,
    targets: Tensor<3>,
    alpha: f64,
    gamma: f64,
    label_smoothing: f64,
) -> Tensor<3> {
    let p = sigmoid(logits.clone());
    let one_minus_z = targets.clone().neg().add_scalar(1.0);
    let p_t = targets.clone() * p.clone() + one_minus_z.clone() * p.neg().add_scalar(1.0);
    let alpha_factor = targets.clone().mul_scalar(alpha) + one_minus_z.mul_scalar(1.0 - alpha);
    let modulator = p_t.neg().add_scalar(1.0).clamp_min(0.0).powf_scalar(gamma);
    let z = if label_smoothing > 0.0 {
        targets
            .mul_scalar(1.0 - label_smoothing)
            .add_scalar(0.5 * label_smoothing)
    } else {
        targets
    };
    // Binary cross-entropy with logits, in the overflow-free form.
    let ce = logits.clone().clamp_min(0.0) - logits.clone() * z + logits.abs().neg().exp().log1p();
    alpha_factor * modulator * ce
}

/// Huber loss per element.
pub fn huber_loss(pred: Tensor<3>, target: Tensor<3>, delta: f64) -> Tensor<3> {
    let abs = (pred - target).abs();
    let quadratic = abs.clone().clamp_max(delta);
    let linear = abs - quadratic.clone();
    quadratic.square().mul_scalar(0.5) + linear.mul_scalar(delta)
}

/// effdet's `DetectionLoss` on flattened outputs (`[N, T, K]` and `[N, T, 4]`).
pub fn detection_loss(
    class_out: Tensor<3>,
    box_out: Tensor<3>,
    targets: &BatchTargets,
    cfg: &LossConfig,
) -> DetectionLoss {
    let normalizer = targets.num_positives as f64 + 1.0;
    let class = (focal_loss(
        class_out,
        targets.classes.clone(),
        cfg.alpha,
        cfg.gamma,
        cfg.label_smoothing,
    ) * targets.class_valid.clone())
    .sum()
    .div_scalar(normalizer);
    let boxes = (huber_loss(box_out, targets.boxes.clone(), cfg.delta) * targets.box_mask.clone())
        .sum()
        .div_scalar(4.0 * normalizer);
    let total = class.clone() + boxes.clone().mul_scalar(cfg.box_loss_weight);
    DetectionLoss {
        total,
        class,
        boxes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t3(v: Vec<f32>, shape: [usize; 3]) -> Tensor<3> {
        Tensor::from_data(TensorData::new(v, shape), &Device::flex())
    }

    fn scalar(t: Tensor<1>) -> f64 {
        t.into_scalar::<f32>() as f64
    }

    fn sig(x: f64) -> f64 {
        1.0 / (1.0 + (-x).exp())
    }

    /// The textbook focal loss, written independently of the implementation.
    fn focal_by_hand(x: f64, z: f64, alpha: f64, gamma: f64) -> f64 {
        let p = sig(x);
        if z == 1.0 {
            -alpha * (1.0 - p).powf(gamma) * p.ln()
        } else {
            -(1.0 - alpha) * p.powf(gamma) * (1.0 - p).ln()
        }
    }

    #[test]
    fn focal_matches_closed_form() {
        let xs = [-3.0, -0.5, 0.0, 0.7, 2.5, 8.0];
        let zs = [1.0, 0.0, 1.0, 0.0, 1.0, 0.0];
        let got = focal_loss(
            t3(xs.map(|v| v as f32).to_vec(), [1, 6, 1]),
            t3(zs.map(|v| v as f32).to_vec(), [1, 6, 1]),
            0.25,
            1.5,
            0.0,
        )
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
        for i in 0..6 {
            let want = focal_by_hand(xs[i], zs[i], 0.25, 1.5);
            assert!(
                (got[i] as f64 - want).abs() < 1e-5 * (1.0 + want),
                "{i}: {} vs {want}",
                got[i]
            );
        }
    }

    #[test]
    fn label_smoothing_moves_the_targets() {
        // z = 1 smoothed by 0.1 → 0.95 in the cross-entropy; α_t and p_t use the hard label.
        let x = 1.2f64;
        let got = focal_loss(
            t3(vec![x as f32], [1, 1, 1]),
            t3(vec![1.0], [1, 1, 1]),
            0.25,
            1.5,
            0.1,
        );
        let p = sig(x);
        let want = 0.25 * (1.0 - p).powf(1.5) * -(0.95 * p.ln() + 0.05 * (1.0 - p).ln());
        assert!((scalar(got.sum()) - want).abs() < 1e-6);
    }

    #[test]
    fn huber_by_hand() {
        let got = huber_loss(
            t3(vec![0.05, -0.3, 1.0], [1, 3, 1]),
            t3(vec![0.0, 0.0, 1.0], [1, 3, 1]),
            0.1,
        )
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
        // 0.5·0.05² ; 0.5·0.1² + 0.1·0.2 ; 0
        let want = [0.00125, 0.005 + 0.02, 0.0];
        for i in 0..3 {
            assert!((got[i] - want[i]).abs() < 1e-7, "{got:?}");
        }
    }

    #[test]
    fn detection_loss_normalises_and_masks_like_effdet() {
        // One image, two anchors, two classes. Anchor 0 positive (class 1) with box
        // target (0.1, 0, -0.2, 0.3); anchor 1 background.
        let targets = [AnchorTargets {
            classes: vec![1, -1],
            boxes: vec![[0.1, 0.0, -0.2, 0.3], [0.0; 4]],
            num_positives: 1,
        }];
        let bt = BatchTargets::new(&targets, 2, &Device::flex());
        let logits = [0.3, -1.0, 2.0, -4.0];
        let boxes = [0.0, 0.5, 0.0, 0.25, 9.0, 9.0, 9.0, 9.0];
        let cfg = LossConfig::default();
        let loss = detection_loss(
            t3(logits.map(|v| v as f32).to_vec(), [1, 2, 2]),
            t3(boxes.to_vec(), [1, 2, 4]),
            &bt,
            &cfg,
        );
        let norm = 2.0; // one positive + 1
        let zs = [0.0, 1.0, 0.0, 0.0];
        let class: f64 = (0..4)
            .map(|i| focal_by_hand(logits[i], zs[i], 0.25, 1.5))
            .sum::<f64>()
            / norm;
        // Codes compared: 0.1 (err 0.1 → 0.005), 0 is masked, -0.2 (err 0.2 → 0.005 + 0.01), 0.3 (err 0.05 → 0.00125).
        let box_sum = 0.005 + (0.005 + 0.01) + 0.00125;
        let box_loss = box_sum / (4.0 * norm);
        assert!((scalar(loss.class.clone()) - class).abs() < 1e-6);
        assert!((scalar(loss.boxes.clone()) - box_loss).abs() < 1e-7);
        assert!((scalar(loss.total) - (class + 50.0 * box_loss)).abs() < 1e-5);
    }

    #[test]
    fn ignored_anchors_are_left_out() {
        let targets = [AnchorTargets {
            classes: vec![-2, -1],
            boxes: vec![[0.0; 4]; 2],
            num_positives: 1,
        }];
        let bt = BatchTargets::new(&targets, 1, &Device::flex());
        let loss = detection_loss(
            t3(vec![5.0, -1.0], [1, 2, 1]),
            t3(vec![0.0; 8], [1, 2, 4]),
            &bt,
            &LossConfig::default(),
        );
        let want = focal_by_hand(-1.0, 0.0, 0.25, 1.5) / 2.0;
        assert!((scalar(loss.class) - want).abs() < 1e-6);
    }

    #[test]
    fn flatten_orders_level_row_column_anchor() {
        // One level, 2 anchors × 1 class, 1×2 grid: channel = anchor.
        // Values encode (anchor, x) as 10·anchor + x.
        let t: Tensor<4> = Tensor::from_data(
            TensorData::new(vec![0.0f32, 1.0, 10.0, 11.0], [1, 2, 1, 2]),
            &Device::flex(),
        );
        let flat = flatten_levels(vec![t.clone(), t], 1)
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        assert_eq!(flat, vec![0.0, 10.0, 1.0, 11.0, 0.0, 10.0, 1.0, 11.0]);
    }

    #[test]
    fn gradient_flows_to_the_logits() {
        let dev = Device::flex().autodiff();
        let x: Tensor<3> =
            Tensor::from_data(TensorData::new(vec![0.5f32, -0.5], [1, 2, 1]), &dev).require_grad();
        let bt = BatchTargets::new(
            &[AnchorTargets {
                classes: vec![0, -1],
                boxes: vec![[0.0; 4]; 2],
                num_positives: 1,
            }],
            1,
            &dev,
        );
        let b: Tensor<3> = Tensor::zeros([1, 2, 4], &dev);
        let loss = detection_loss(x.clone(), b, &bt, &LossConfig::default());
        let grads = loss.total.backward();
        let g = x
            .grad(&grads)
            .unwrap()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        // The positive wants a larger logit, the negative a smaller one.
        assert!(g[0] < 0.0 && g[1] > 0.0, "{g:?}");
    }
}
