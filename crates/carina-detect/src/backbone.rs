//! The EfficientNet / EfficientNet-Lite backbone as timm builds it for effdet
//! (`features_only`, outputs at strides 8, 16 and 32).

use burn::nn::BatchNorm;
use burn::nn::conv::Conv2d;
use burn::prelude::*;
use burn::tensor::activation::sigmoid;
use burn::tensor::module::adaptive_avg_pool2d;

use crate::config::{Activation, BackboneConfig, BackboneKind, EfficientDetConfig};
use crate::layers::{ConvSpec, Init, act, batch_norm, bn_act, spread};

/// One stage of EfficientNet-B0's architecture before scaling.
struct StageDef {
    /// Depthwise-separable (first stage) or inverted residual (MBConv).
    depthwise_separable: bool,
    repeats: usize,
    kernel: usize,
    stride: usize,
    expand: usize,
    channels: usize,
}

const B0_STAGES: [StageDef; 7] = [
    stage(true, 1, 3, 1, 1, 16),
    stage(false, 2, 3, 2, 6, 24),
    stage(false, 2, 5, 2, 6, 40),
    stage(false, 3, 3, 2, 6, 80),
    stage(false, 3, 5, 1, 6, 112),
    stage(false, 4, 5, 2, 6, 192),
    stage(false, 1, 3, 1, 6, 320),
];

const fn stage(
    depthwise_separable: bool,
    repeats: usize,
    kernel: usize,
    stride: usize,
    expand: usize,
    channels: usize,
) -> StageDef {
    StageDef {
        depthwise_separable,
        repeats,
        kernel,
        stride,
        expand,
        channels,
    }
}

/// The stages whose outputs feed the BiFPN (strides 8, 16, 32).
pub(crate) const FEATURE_STAGES: [usize; 3] = [2, 4, 6];

const SE_RATIO: f64 = 0.25;

/// timm's `make_divisible` with divisor 8 and round limit 0.9.
fn make_divisible(v: f64) -> usize {
    let divisor = 8.0;
    let mut new_v = f64::max(divisor, ((v + divisor / 2.0) / divisor).floor() * divisor);
    if new_v < 0.9 * v {
        new_v += divisor;
    }
    new_v as usize
}

/// Python's `round` (half to even), which timm uses for squeeze-excitation widths.
fn round_half_even(v: f64) -> usize {
    let r = v.round();
    if (v - v.trunc()).abs() == 0.5 && r % 2.0 != 0.0 {
        (r - 1.0) as usize
    } else {
        r as usize
    }
}

/// Channel and repeat counts after compound scaling.
pub(crate) struct BackboneShape {
    pub stem: usize,
    /// Per stage: (repeats, output channels).
    pub stages: Vec<(usize, usize)>,
}

impl BackboneShape {
    pub fn new(cfg: &BackboneConfig) -> Self {
        let lite = cfg.kind == BackboneKind::EfficientNetLite;
        let chs = |c: usize| make_divisible(c as f64 * cfg.width_multiplier);
        let last = B0_STAGES.len() - 1;
        let stages = B0_STAGES
            .iter()
            .enumerate()
            .map(|(i, s)| {
                // Lite keeps the first and last stage at one repeat ("fix_first_last").
                let depth = if lite && (i == 0 || i == last) {
                    1.0
                } else {
                    cfg.depth_multiplier
                };
                let repeats = (s.repeats as f64 * depth).ceil() as usize;
                (repeats, chs(s.channels))
            })
            .collect();
        Self {
            // Lite fixes the stem at 32 channels.
            stem: if lite { 32 } else { chs(32) },
            stages,
        }
    }

    /// Channels of the three feature maps handed to the BiFPN.
    pub fn feature_channels(&self) -> [usize; 3] {
        FEATURE_STAGES.map(|i| self.stages[i].1)
    }
}

/// Squeeze-and-excitation: global average, reduce, activation, expand, sigmoid gate.
#[derive(Module, Debug)]
pub struct SqueezeExcite {
    pub conv_reduce: Conv2d,
    pub conv_expand: Conv2d,
}

impl SqueezeExcite {
    fn forward(&self, x: Tensor<4>, activation: Activation) -> Tensor<4> {
        // adaptive_avg_pool2d rather than mean_dim, so the graph exports to ONNX.
        let s = adaptive_avg_pool2d(x.clone(), [1, 1]);
        let s = act(self.conv_reduce.forward(s), activation);
        let gate = sigmoid(self.conv_expand.forward(s));
        let dims = x.dims();
        x * spread(gate, dims)
    }
}

/// An MBConv block; without `conv_pw` it is timm's depthwise-separable block.
///
/// Fields are named by role; [`crate::weights`] maps them to timm's names
/// (`conv_pw/bn1/conv_dw/bn2/se/conv_pwl/bn3`, or `conv_dw/bn1/se/conv_pw/bn2`).
#[derive(Module, Debug)]
pub struct MbBlock {
    /// 1×1 expansion (inverted residual blocks only) and its batch norm.
    pub expand: Option<Conv2d>,
    pub expand_bn: Option<BatchNorm>,
    pub conv_dw: Conv2d,
    pub dw_bn: BatchNorm,
    pub se: Option<SqueezeExcite>,
    /// 1×1 projection (no activation after its batch norm).
    pub project: Conv2d,
    pub project_bn: BatchNorm,
    pub has_skip: bool,
    #[module(skip)]
    pub act: Activation,
}

impl MbBlock {
    pub fn forward(&self, input: Tensor<4>) -> Tensor<4> {
        let mut x = input.clone();
        if let (Some(conv), Some(bn)) = (&self.expand, &self.expand_bn) {
            x = bn_act(bn, conv.forward(x), Some(self.act));
        }
        x = bn_act(&self.dw_bn, self.conv_dw.forward(x), Some(self.act));
        if let Some(se) = &self.se {
            x = se.forward(x, self.act);
        }
        x = bn_act(&self.project_bn, self.project.forward(x), None);
        if self.has_skip { x + input } else { x }
    }
}

/// EfficientNet without its classifier head: stem, then seven stages of blocks.
#[derive(Module, Debug)]
pub struct EfficientNet {
    pub conv_stem: Conv2d,
    pub bn1: BatchNorm,
    pub blocks: Vec<Vec<MbBlock>>,
    #[module(skip)]
    pub act: Activation,
}

impl EfficientNet {
    pub fn new(cfg: &EfficientDetConfig, device: &Device) -> Self {
        let shape = BackboneShape::new(&cfg.backbone);
        let with_se = cfg.backbone.kind == BackboneKind::EfficientNet;
        let bn = |c: usize| batch_norm(c, cfg.bn_eps, cfg.backbone_bn_momentum, device);
        let conv = |i: usize, o: usize, k: usize| ConvSpec::new(i, o, k, Init::Backbone);
        let mut in_ch = shape.stem;
        let mut blocks = Vec::new();
        for (def, &(repeats, out_ch)) in B0_STAGES.iter().zip(&shape.stages) {
            let mut stage = Vec::new();
            for r in 0..repeats {
                let stride = if r == 0 { def.stride } else { 1 };
                let mid = if def.depthwise_separable {
                    in_ch
                } else {
                    make_divisible((in_ch * def.expand) as f64)
                };
                let (expand, expand_bn) = if def.depthwise_separable {
                    (None, None)
                } else {
                    (Some(conv(in_ch, mid, 1).init(device)), Some(bn(mid)))
                };
                let se = with_se.then(|| {
                    let rd = round_half_even(mid as f64 * SE_RATIO / def.expand as f64).max(1);
                    SqueezeExcite {
                        conv_reduce: conv(mid, rd, 1).bias(true).init(device),
                        conv_expand: conv(rd, mid, 1).bias(true).init(device),
                    }
                });
                stage.push(MbBlock {
                    expand,
                    expand_bn,
                    conv_dw: conv(mid, mid, def.kernel)
                        .stride(stride)
                        .depthwise()
                        .init(device),
                    dw_bn: bn(mid),
                    se,
                    project: conv(mid, out_ch, 1).init(device),
                    project_bn: bn(out_ch),
                    has_skip: stride == 1 && in_ch == out_ch,
                    act: cfg.act,
                });
                in_ch = out_ch;
            }
            blocks.push(stage);
        }
        Self {
            conv_stem: conv(3, shape.stem, 3).stride(2).init(device),
            bn1: bn(shape.stem),
            blocks,
            act: cfg.act,
        }
    }

    /// Features at strides 8, 16 and 32.
    pub fn forward(&self, x: Tensor<4>) -> Vec<Tensor<4>> {
        let mut x = bn_act(&self.bn1, self.conv_stem.forward(x), Some(self.act));
        let mut features = Vec::with_capacity(FEATURE_STAGES.len());
        for (i, stage) in self.blocks.iter().enumerate() {
            for block in stage {
                x = block.forward(x);
            }
            if FEATURE_STAGES.contains(&i) {
                features.push(x.clone());
            }
        }
        features
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaling_matches_timm() {
        let b0 = BackboneShape::new(&BackboneConfig {
            kind: BackboneKind::EfficientNet,
            width_multiplier: 1.0,
            depth_multiplier: 1.0,
        });
        assert_eq!(b0.stem, 32);
        assert_eq!(b0.feature_channels(), [40, 112, 320]);
        // EfficientNet-B2 (1.1, 1.2): timm's feature channels are 48, 120, 352.
        let b2 = BackboneShape::new(&BackboneConfig {
            kind: BackboneKind::EfficientNet,
            width_multiplier: 1.1,
            depth_multiplier: 1.2,
        });
        assert_eq!(b2.stem, 32);
        assert_eq!(b2.feature_channels(), [48, 120, 352]);
        let repeats: Vec<usize> = b2.stages.iter().map(|s| s.0).collect();
        assert_eq!(repeats, [2, 3, 3, 4, 4, 5, 2]);
        // Lite2 keeps the first and last stage at one block.
        let lite2 = BackboneShape::new(&BackboneConfig {
            kind: BackboneKind::EfficientNetLite,
            width_multiplier: 1.1,
            depth_multiplier: 1.2,
        });
        let repeats: Vec<usize> = lite2.stages.iter().map(|s| s.0).collect();
        assert_eq!(repeats, [1, 3, 3, 4, 4, 5, 1]);
        assert_eq!(round_half_even(2.5), 2);
        assert_eq!(round_half_even(3.5), 4);
    }
}
