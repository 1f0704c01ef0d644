//! Building blocks shared by the backbone, the BiFPN and the heads.
//!
//! Every convolution uses TensorFlow "same" padding: burn's `PaddingConfig2d::Same` splits the
//! total padding as `total / 2` before and the rest after, which is exactly TF's rule (and
//! asymmetric for strided convolutions on even inputs).

use std::cell::Cell;

use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Initializer, PaddingConfig2d};
use burn::prelude::*;
use burn::tensor::activation;
use burn::tensor::module::{interpolate, max_pool2d};
use burn::tensor::ops::{InterpolateMode, InterpolateOptions, MaxPoolOptions};

use crate::config::Activation;
pub(crate) use crate::fused::spread;

thread_local! {
    /// Set on the thread that records a forward pass for ONNX export (see [`onnx_ops`]).
    static ONNX_OPS: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` (a forward pass being recorded for ONNX export) with the operations burn-onnx
/// 0.22 cannot lower spelled with ones it can: `clamp(x, 0, 6)` as `relu(x) - relu(x - 6)`,
/// which is exact up to 12 and within half an ulp of `x` above it.
pub(crate) fn onnx_ops<R>(f: impl FnOnce() -> R) -> R {
    struct Reset(bool);
    impl Drop for Reset {
        fn drop(&mut self) {
            ONNX_OPS.with(|flag| flag.set(self.0));
        }
    }
    let _reset = Reset(ONNX_OPS.with(|flag| flag.replace(true)));
    f()
}

/// Applies `act` element-wise.
pub(crate) fn act<const D: usize>(x: Tensor<D>, act: Activation) -> Tensor<D> {
    match act {
        Activation::Swish => crate::fused::silu(x),
        Activation::Relu => activation::relu(x),
        Activation::Relu6 if ONNX_OPS.with(Cell::get) => {
            activation::relu(x.clone()) - activation::relu(x - 6.0)
        }
        Activation::Relu6 => x.clamp(0.0, 6.0),
    }
}

/// `act(bn(x))` (no activation for `None`): batch norm, and SiLU after it, are one operation
/// on flex in training (see [`crate::fused::batch_norm`]).
pub(crate) fn bn_act(bn: &BatchNorm, x: Tensor<4>, activation: Option<Activation>) -> Tensor<4> {
    match activation {
        None => crate::fused::batch_norm(bn, x, false),
        Some(Activation::Swish) => crate::fused::batch_norm(bn, x, true),
        Some(other) => act(crate::fused::batch_norm(bn, x, false), other),
    }
}

/// How a convolution's weights start out before any checkpoint is loaded.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Init {
    /// timm's EfficientNet init: normal(0, sqrt(2 / fan_out)).
    Backbone,
    /// effdet's `_glorot_uniform` for BiFPN convolutions.
    Glorot,
    /// effdet's `_variance_scaling` (normal, fan-in) for head convolutions.
    VarianceScaling,
}

/// A square convolution with TF "same" padding.
pub(crate) struct ConvSpec {
    pub in_ch: usize,
    pub out_ch: usize,
    pub kernel: usize,
    pub stride: usize,
    pub depthwise: bool,
    pub bias: bool,
    pub init: Init,
}

impl ConvSpec {
    pub fn new(in_ch: usize, out_ch: usize, kernel: usize, init: Init) -> Self {
        Self {
            in_ch,
            out_ch,
            kernel,
            stride: 1,
            depthwise: false,
            bias: false,
            init,
        }
    }

    pub fn stride(mut self, stride: usize) -> Self {
        self.stride = stride;
        self
    }

    pub fn depthwise(mut self) -> Self {
        self.depthwise = true;
        self
    }

    pub fn bias(mut self, bias: bool) -> Self {
        self.bias = bias;
        self
    }

    pub fn init(self, device: &Device) -> Conv2d {
        let groups = if self.depthwise { self.in_ch } else { 1 };
        let k2 = (self.kernel * self.kernel) as f64;
        let fan_in = (self.in_ch / groups) as f64 * k2;
        let fan_out = self.out_ch as f64 * k2 / groups as f64;
        let initializer = match self.init {
            Init::Backbone => Initializer::Normal {
                mean: 0.0,
                std: (2.0 / fan_out).sqrt(),
            },
            Init::Glorot => {
                let gain = 1.0 / f64::max(1.0, (fan_in + fan_out) / 2.0);
                let limit = (3.0 * gain).sqrt();
                Initializer::Uniform {
                    min: -limit,
                    max: limit,
                }
            }
            Init::VarianceScaling => Initializer::Normal {
                mean: 0.0,
                std: (1.0 / f64::max(1.0, fan_in)).sqrt(),
            },
        };
        Conv2dConfig::new([self.in_ch, self.out_ch], [self.kernel, self.kernel])
            .with_stride([self.stride, self.stride])
            .with_padding(PaddingConfig2d::Same)
            .with_groups(groups)
            .with_bias(self.bias)
            .with_initializer(initializer)
            .init(device)
            .map_bias_zero()
    }
}

trait ZeroBias {
    fn map_bias_zero(self) -> Self;
}

impl ZeroBias for Conv2d {
    /// effdet and timm start every bias at zero (the class predictor's is set separately).
    fn map_bias_zero(mut self) -> Self {
        if let Some(bias) = self.bias.take() {
            self.bias = Some(bias.map(|b| b.zeros_like()));
        }
        self
    }
}

/// Batch norm with the configured eps and momentum (effdet: 1e-3 and 0.01).
pub(crate) fn batch_norm(channels: usize, eps: f64, momentum: f64, device: &Device) -> BatchNorm {
    BatchNormConfig::new(channels)
        .with_epsilon(eps)
        .with_momentum(momentum)
        .init(device)
}

/// Depthwise k×k convolution followed by a pointwise 1×1 convolution (with bias when asked),
/// then an optional batch norm. The activation, where there is one, is applied by the caller.
#[derive(Module, Debug)]
pub struct SeparableConv {
    pub conv_dw: Conv2d,
    pub conv_pw: Conv2d,
    pub bn: Option<BatchNorm>,
}

impl SeparableConv {
    pub(crate) fn new(
        in_ch: usize,
        out_ch: usize,
        bias: bool,
        bn: Option<(f64, f64)>,
        init: Init,
        device: &Device,
    ) -> Self {
        Self {
            conv_dw: ConvSpec::new(in_ch, in_ch, 3, init)
                .depthwise()
                .init(device),
            conv_pw: ConvSpec::new(in_ch, out_ch, 1, init)
                .bias(bias)
                .init(device),
            bn: bn.map(|(eps, momentum)| batch_norm(out_ch, eps, momentum, device)),
        }
    }

    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let x = self.conv_pw.forward(self.conv_dw.forward(x));
        match &self.bn {
            Some(bn) => bn_act(bn, x, None),
            None => x,
        }
    }
}

/// 3×3 stride-2 max pool with TF "same" padding (padding never wins the max), as timm's
/// `MaxPool2dSame` that effdet uses between BiFPN levels.
pub(crate) fn max_pool_same(x: Tensor<4>, kernel: usize, stride: usize) -> Tensor<4> {
    let [_, _, h, w] = x.dims();
    let pad = |size: usize| {
        let out = size.div_ceil(stride);
        let total = ((out - 1) * stride + kernel).saturating_sub(size);
        (total / 2, total - total / 2)
    };
    max_pool2d(
        x,
        MaxPoolOptions::new([kernel, kernel])
            .with_stride([stride, stride])
            .with_padding_pairs([pad(h), pad(w)]),
    )
}

/// Nearest-neighbour resize to `size` with PyTorch's `floor(dst * in / out)` mapping.
pub(crate) fn resize_nearest(x: Tensor<4>, size: [usize; 2]) -> Tensor<4> {
    interpolate(
        x,
        InterpolateOptions::new(InterpolateMode::Nearest)
            .with_align_corners(false)
            .with_output_size(size),
    )
}
