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
//!
//! ```no_run
//! use carina_detect::{Detector, InputImage, PredictOptions};
//!
//! let detector = Detector::load("model.safetensors")?;
//! let pixels = vec![0.5f32; 1024 * 800]; // a windowed grayscale image, values in [0, 1]
//! let image = InputImage::new(1024, 800, &pixels)?;
//! for d in detector.predict(&image, &PredictOptions::default())? {
//!     println!("{} {:.2} {:?}", d.class_name, d.score, d.bbox.to_array());
//! }
//! # Ok::<(), carina_detect::DetectError>(())
//! ```
//!
//! Training builds on the same [`EfficientDet`]: create or load it on `device.autodiff()`
//! ([`weights::load_checkpoint`], [`weights::load_lite0_imagenet_backbone`]) and save it with
//! [`weights::model_tensors`] + [`weights::write_safetensors`] under effdet's names.

pub mod anchors;
pub mod backbone;
pub mod bifpn;
pub mod config;
mod detector;
pub mod engine;
mod error;
mod fused;
pub mod head;
mod layers;
pub mod model;
pub mod postprocess;
mod preprocess;
pub mod weights;

pub use carina_core::model_card::ModelCard;
pub use config::{Activation, BackboneConfig, BackboneKind, EfficientDetConfig, FpnFusion};
pub use detector::{Detection, Detector, LoadOptions, PredictOptions};
pub use engine::{Engine, HostHeads, HostMap, OpTime};
pub use error::DetectError;
pub use layers::SeparableConv;
pub use model::{EfficientDet, Features, HeadOutputs};
pub use preprocess::{InputImage, Prepared, prepare, resize_bilinear_aa};
