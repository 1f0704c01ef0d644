//! Carina's detector: EfficientDet as the `effdet` PyTorch package builds it, on burn.
//!
//! - [`EfficientDetConfig`]: one configuration type for the family (`tf_efficientdet_d0`,
//!   `tf_efficientdet_lite0`, ... are presets).
//! - [`EfficientDet`]: the network (EfficientNet backbone, BiFPN, class and box heads); it
//!   runs on any burn device, and trains on an autodiff one.
//! - [`weights`]: effdet tensor names, safetensors and `.pth` checkpoints, the ImageNet
//!   EfficientNet-Lite0 backbone.
//! - [`anchors`] and [`postprocess`]: anchors, box coding, top-k, class-wise NMS.
//!
//! Tensors never leave this crate: callers pass images and get boxes.

pub mod anchors;
pub mod backbone;
pub mod bifpn;
pub mod config;
mod detector;
mod error;
pub mod head;
mod layers;
pub mod model;
pub mod postprocess;
mod preprocess;
pub mod weights;

pub use config::{Activation, BackboneConfig, BackboneKind, EfficientDetConfig, FpnFusion};
pub use detector::{Detection, Detector, LoadOptions, ModelCard, PredictOptions};
pub use error::DetectError;
pub use layers::SeparableConv;
pub use model::{EfficientDet, Features, HeadOutputs};
pub use preprocess::{InputImage, Prepared, prepare, resize_bilinear_aa};
