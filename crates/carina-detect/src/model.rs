//! The whole network: backbone, BiFPN, class and box heads.

use burn::prelude::*;

use crate::DetectError;
use crate::backbone::{BackboneShape, EfficientNet};
use crate::bifpn::BiFpn;
use crate::config::EfficientDetConfig;
use crate::head::HeadNet;

/// EfficientDet as effdet builds it. Runs on any burn device; on an autodiff device
/// (`device.autodiff()`) it trains, with batch norm in training mode.
#[derive(Module, Debug)]
pub struct EfficientDet {
    pub backbone: EfficientNet,
    pub fpn: BiFpn,
    pub class_net: HeadNet,
    pub box_net: HeadNet,
    #[module(skip)]
    pub config: EfficientDetConfig,
}

/// Raw head outputs, one map per pyramid level (P3 first).
#[derive(Debug, Clone)]
pub struct HeadOutputs {
    /// `[batch, anchors × classes, H, W]` logits, anchor-major.
    pub class: Vec<Tensor<4>>,
    /// `[batch, anchors × 4, H, W]` box codes `(ty, tx, th, tw)`, anchor-major.
    pub boxes: Vec<Tensor<4>>,
}

/// Every intermediate the parity fixtures hold.
#[derive(Debug, Clone)]
pub struct Features {
    pub backbone: Vec<Tensor<4>>,
    pub fpn: Vec<Tensor<4>>,
    pub heads: HeadOutputs,
}

impl EfficientDet {
    /// A freshly initialised model (effdet's initialisation for BiFPN and heads, timm's for the
    /// backbone).
    pub fn new(config: &EfficientDetConfig, device: &Device) -> Result<Self, DetectError> {
        config.validate()?;
        let shape = BackboneShape::new(&config.backbone);
        Ok(Self {
            backbone: EfficientNet::new(config, device),
            fpn: BiFpn::new(config, &shape.feature_channels(), device),
            class_net: HeadNet::new(config, config.num_classes, true, device),
            box_net: HeadNet::new(config, 4, false, device),
            config: config.clone(),
        })
    }

    /// A freshly initialised model on the default device, its random numbers drawn from `seed`
    /// (for benchmarks and tests that need weights but no particular ones).
    pub fn seeded(config: &EfficientDetConfig, seed: u64) -> Result<Self, DetectError> {
        let device = Device::default();
        device.seed(seed);
        Self::new(config, &device)
    }

    pub fn config(&self) -> &EfficientDetConfig {
        &self.config
    }

    /// `[batch, 3, S, S]` normalised images in, raw class logits and box codes out.
    pub fn forward(&self, images: Tensor<4>) -> HeadOutputs {
        self.forward_features(images).heads
    }

    /// Like [`Self::forward`], keeping the backbone and BiFPN maps.
    pub fn forward_features(&self, images: Tensor<4>) -> Features {
        let backbone = self.backbone.forward(images);
        let fpn = self.fpn.forward(backbone.clone());
        let heads = HeadOutputs {
            class: self.class_net.forward(&fpn),
            boxes: self.box_net.forward(&fpn),
        };
        Features {
            backbone,
            fpn,
            heads,
        }
    }
}
