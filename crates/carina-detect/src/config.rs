//! One configuration type for the EfficientDet family, with effdet's presets.
//!
//! The numbers follow effdet 0.4.1's `model_config.py` (the `tf_` variants, which use
//! TensorFlow "same" padding and batch-norm eps 1e-3) and timm's EfficientNet /
//! EfficientNet-Lite scaling rules, so that D1/D2 or Lite1/Lite2 are only a change of numbers.

use serde::{Deserialize, Serialize};

use crate::DetectError;

/// Activation used by the backbone, the BiFPN and the heads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// `x * sigmoid(x)` (a.k.a. SiLU), EfficientNet's default.
    Swish,
    Relu,
    /// `min(max(x, 0), 6)`, EfficientNet-Lite's activation.
    Relu6,
}

/// How a BiFPN node combines its inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FpnFusion {
    /// Fast normalised fusion: `sum_i relu(w_i) x_i / (sum_j relu(w_j) + 1e-4)`.
    FastAttn,
    /// Softmax-weighted fusion.
    Attn,
    /// Unweighted sum (the Lite models).
    Sum,
}

/// Which EfficientNet flavour the backbone is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BackboneKind {
    /// EfficientNet-B*: squeeze-excitation in every block, stem and depth scaled.
    EfficientNet,
    /// EfficientNet-Lite*: no squeeze-excitation, fixed stem, first and last stage not repeated more.
    EfficientNetLite,
}

/// The EfficientNet backbone: kind plus the compound-scaling multipliers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackboneConfig {
    pub kind: BackboneKind,
    pub width_multiplier: f64,
    pub depth_multiplier: f64,
}

/// PyTorch's batch-norm momentum, which timm's EfficientNet keeps (configurations written
/// before the backbone's momentum was its own field read as this).
fn timm_bn_momentum() -> f64 {
    0.1
}

/// Everything needed to build an EfficientDet and to pre- and post-process for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EfficientDetConfig {
    /// effdet's architecture name, e.g. `tf_efficientdet_d0`.
    pub arch: String,
    pub backbone: BackboneConfig,
    /// Square input size in pixels.
    pub image_size: usize,
    pub num_classes: usize,
    pub min_level: usize,
    pub max_level: usize,
    pub num_scales: usize,
    /// Anchor aspect ratios as (x, y) multipliers.
    pub aspect_ratios: Vec<(f64, f64)>,
    pub anchor_scale: f64,
    pub fpn_channels: usize,
    pub fpn_cell_repeats: usize,
    pub box_class_repeats: usize,
    pub fusion: FpnFusion,
    pub act: Activation,
    /// A bias in convolutions that are followed by batch norm (TF checkpoints have them).
    pub redundant_bias: bool,
    /// Batch norm after the 1×1 channel-matching convolutions of the BiFPN resampling.
    pub apply_resample_bn: bool,
    pub bn_eps: f64,
    /// Batch-norm momentum (PyTorch convention) of the BiFPN and the heads: effdet's
    /// `norm_kwargs`, 0.01.
    pub bn_momentum: f64,
    /// Batch-norm momentum of the backbone: timm builds effdet's EfficientNet with PyTorch's
    /// default, 0.1 (effdet's reference training step shows both).
    #[serde(default = "timm_bn_momentum")]
    pub backbone_bn_momentum: f64,
    /// Per-channel normalisation of a [0, 1] RGB input.
    pub mean: [f32; 3],
    pub std: [f32; 3],
    /// How many (anchor, class) pairs enter NMS.
    pub max_detection_points: usize,
    pub nms_iou: f32,
}

/// The architecture names [`EfficientDetConfig::from_arch`] knows.
pub const KNOWN_ARCHS: &[&str] = &[
    "tf_efficientdet_d0",
    "tf_efficientdet_d1",
    "tf_efficientdet_d2",
    "tf_efficientdet_d3",
    "tf_efficientdet_lite0",
    "tf_efficientdet_lite1",
    "tf_efficientdet_lite2",
    "tf_efficientdet_lite3",
];

const IMAGENET_MEAN: [f32; 3] = [0.485, 0.456, 0.406];
const IMAGENET_STD: [f32; 3] = [0.229, 0.224, 0.225];

impl EfficientDetConfig {
    /// effdet's preset for `arch` with `num_classes` classes.
    pub fn from_arch(arch: &str, num_classes: usize) -> Result<Self, DetectError> {
        if num_classes == 0 {
            return Err(DetectError::Config("num_classes must be at least 1".into()));
        }
        // (image size, width, depth, fpn channels, fpn cells, head repeats)
        let (lite, size, width, depth, channels, cells, repeats) = match arch {
            "tf_efficientdet_d0" => (false, 512, 1.0, 1.0, 64, 3, 3),
            "tf_efficientdet_d1" => (false, 640, 1.0, 1.1, 88, 4, 3),
            "tf_efficientdet_d2" => (false, 768, 1.1, 1.2, 112, 5, 3),
            "tf_efficientdet_d3" => (false, 896, 1.2, 1.4, 160, 6, 4),
            "tf_efficientdet_lite0" => (true, 320, 1.0, 1.0, 64, 3, 3),
            "tf_efficientdet_lite1" => (true, 384, 1.0, 1.1, 88, 4, 3),
            "tf_efficientdet_lite2" => (true, 448, 1.1, 1.2, 112, 5, 3),
            "tf_efficientdet_lite3" => (true, 512, 1.2, 1.4, 160, 6, 4),
            other => {
                return Err(DetectError::Config(format!(
                    "unknown architecture {other:?} (known: {})",
                    KNOWN_ARCHS.join(", ")
                )));
            }
        };
        // effdet gives Lite0-2 anchor scale 3.0 and leaves Lite3 at the default 4.0.
        let anchor_scale = if lite && arch != "tf_efficientdet_lite3" {
            3.0
        } else {
            4.0
        };
        Ok(Self {
            arch: arch.to_string(),
            backbone: BackboneConfig {
                kind: if lite {
                    BackboneKind::EfficientNetLite
                } else {
                    BackboneKind::EfficientNet
                },
                width_multiplier: width,
                depth_multiplier: depth,
            },
            image_size: size,
            num_classes,
            min_level: 3,
            max_level: 7,
            num_scales: 3,
            aspect_ratios: vec![(1.0, 1.0), (1.4, 0.7), (0.7, 1.4)],
            anchor_scale,
            fpn_channels: channels,
            fpn_cell_repeats: cells,
            box_class_repeats: repeats,
            fusion: if lite {
                FpnFusion::Sum
            } else {
                FpnFusion::FastAttn
            },
            act: if lite {
                Activation::Relu6
            } else {
                Activation::Swish
            },
            redundant_bias: true,
            apply_resample_bn: true,
            bn_eps: 1e-3,
            bn_momentum: 0.01,
            backbone_bn_momentum: 0.1,
            mean: if lite { [0.5; 3] } else { IMAGENET_MEAN },
            std: if lite { [0.5; 3] } else { IMAGENET_STD },
            max_detection_points: 5000,
            nms_iou: 0.5,
        })
    }

    pub fn num_levels(&self) -> usize {
        self.max_level - self.min_level + 1
    }

    pub fn num_anchors(&self) -> usize {
        self.num_scales * self.aspect_ratios.len()
    }

    /// Feature map side at each level 0..=max_level (`ceil` halving, as effdet's `get_feat_sizes`).
    pub fn feat_sizes(&self) -> Vec<usize> {
        let mut sizes = vec![self.image_size];
        for _ in 0..self.max_level {
            let last = *sizes.last().expect("non-empty");
            sizes.push((last - 1) / 2 + 1);
        }
        sizes
    }

    /// Checks the numbers that would make the model meaningless or panic later.
    pub fn validate(&self) -> Result<(), DetectError> {
        let bad = |m: &str| Err(DetectError::Config(m.to_string()));
        if self.num_classes == 0 {
            return bad("num_classes must be at least 1");
        }
        if self.min_level != 3 {
            return bad("the EfficientNet backbone provides levels from 3 only (min_level = 3)");
        }
        if self.max_level < 5 {
            return bad("max_level must be at least 5");
        }
        if self.image_size < 32 {
            return bad("image_size must be at least 32");
        }
        if self.fpn_channels == 0 || self.fpn_cell_repeats == 0 || self.box_class_repeats == 0 {
            return bad("fpn_channels, fpn_cell_repeats and box_class_repeats must be positive");
        }
        if self.num_scales == 0 || self.aspect_ratios.is_empty() {
            return bad("there must be at least one anchor scale and aspect ratio");
        }
        if self.std.iter().any(|s| *s <= 0.0) {
            return bad("std must be positive");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets() {
        let d0 = EfficientDetConfig::from_arch("tf_efficientdet_d0", 9).unwrap();
        assert_eq!(d0.feat_sizes()[3..], [64, 32, 16, 8, 4]);
        assert_eq!(d0.fusion, FpnFusion::FastAttn);
        let lite0 = EfficientDetConfig::from_arch("tf_efficientdet_lite0", 9).unwrap();
        assert_eq!(lite0.feat_sizes()[3..], [40, 20, 10, 5, 3]);
        assert_eq!(lite0.anchor_scale, 3.0);
        assert_eq!(lite0.act, Activation::Relu6);
        assert!(EfficientDetConfig::from_arch("tf_efficientdet_d9", 9).is_err());
        assert!(EfficientDetConfig::from_arch("tf_efficientdet_d0", 0).is_err());
    }
}
