//! The class and box heads (effdet's `HeadNet`): separable convolutions shared across pyramid
//! levels, with a batch norm of their own per level, then a shared prediction layer.

use burn::nn::BatchNorm;
use burn::prelude::*;

use crate::config::{Activation, EfficientDetConfig};
use crate::layers::{Init, SeparableConv, batch_norm, bn_act};

/// The prior probability effdet gives the class predictor's bias (`-log((1 - p) / p)`).
const CLASS_PRIOR: f64 = 0.01;

#[derive(Module, Debug)]
pub struct HeadNet {
    pub conv_rep: Vec<SeparableConv>,
    /// `bn_rep[repeat][level]`, as effdet's repeat-first layout.
    pub bn_rep: Vec<Vec<BatchNorm>>,
    pub predict: SeparableConv,
    #[module(skip)]
    pub act: Activation,
}

impl HeadNet {
    /// A head predicting `num_outputs` values per anchor.
    pub fn new(
        cfg: &EfficientDetConfig,
        num_outputs: usize,
        class_head: bool,
        device: &Device,
    ) -> Self {
        let ch = cfg.fpn_channels;
        let conv_rep = (0..cfg.box_class_repeats)
            .map(|_| {
                SeparableConv::new(
                    ch,
                    ch,
                    cfg.redundant_bias,
                    None,
                    Init::VarianceScaling,
                    device,
                )
            })
            .collect();
        let bn_rep = (0..cfg.box_class_repeats)
            .map(|_| {
                (0..cfg.num_levels())
                    .map(|_| batch_norm(ch, cfg.bn_eps, cfg.bn_momentum, device))
                    .collect()
            })
            .collect();
        Self {
            conv_rep,
            bn_rep,
            predict: predict_layer(cfg, num_outputs, class_head, device),
            act: cfg.act,
        }
    }

    /// One raw output map per level: `[batch, anchors × outputs, H, W]`, anchor-major.
    pub fn forward(&self, levels: &[Tensor<4>]) -> Vec<Tensor<4>> {
        levels
            .iter()
            .enumerate()
            .map(|(level, x)| {
                let mut x = x.clone();
                for (conv, bns) in self.conv_rep.iter().zip(&self.bn_rep) {
                    x = bn_act(&bns[level], conv.forward(x), Some(self.act));
                }
                self.predict.forward(x)
            })
            .collect()
    }
}

/// The prediction layer; the class predictor's bias starts at the prior, the rest at zero.
/// Also used on its own when a checkpoint's class count differs from the model's.
pub(crate) fn predict_layer(
    cfg: &EfficientDetConfig,
    num_outputs: usize,
    class_head: bool,
    device: &Device,
) -> SeparableConv {
    let mut predict = SeparableConv::new(
        cfg.fpn_channels,
        num_outputs * cfg.num_anchors(),
        true,
        None,
        Init::VarianceScaling,
        device,
    );
    if class_head {
        let prior = -((1.0 - CLASS_PRIOR) / CLASS_PRIOR).ln();
        predict.conv_pw.bias = predict
            .conv_pw
            .bias
            .map(|b| b.map(|t| t.zeros_like().add_scalar(prior)));
    }
    predict
}
