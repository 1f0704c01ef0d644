//! Training of Carina's detector (EfficientDet as effdet trains it), on
//! burn's autodiff over the pure-Rust `flex` backend.
//!
//! - [`assign`]: effdet's anchor labelling (IoU matching, forced matches, box coding).
//! - [`augment`]: augmentation for chest radiographs, boxes moved with the image.
//! - [`config`]: the TOML training configuration with `key=value` overrides.
//! - [`effdet`]: carina-detect's EfficientDet as a trainable model, and its initial weights.
//! - [`device`]: the CPU or, with the `cuda` / `wgpu` features, a GPU.
//! - [`data`] and [`loader`]: a prepared dataset as cached images and
//!   deterministic, multi-threaded batches.
//! - [`loss`]: effdet's focal and Huber losses.
//! - [`model`]: what training needs from a detector ([`DetectionModel`]).
//! - [`schedule`]: warm-up and cosine learning-rate decay.
//! - [`trainer`]: the loop ([`train`]), with validation ([`validate`]),
//!   checkpoints ([`checkpoint`]), logs ([`log`]) and the loss plot ([`plot`]).

pub mod assign;
pub mod augment;
pub mod bench;
pub mod checkpoint;
pub mod config;
pub mod data;
pub mod device;
pub mod effdet;
mod error;
mod finalize;
pub mod loader;
pub mod log;
pub mod loss;
pub mod model;
pub mod plot;
pub mod schedule;
pub mod trainer;
pub mod validate;

pub use config::TrainConfig;
pub use error::TrainError;
pub use finalize::finish_run;
pub use model::{DetectionModel, ModelSpec};
pub use trainer::{TrainOptions, TrainSummary, train};

/// The default training device: burn's autodiff over the pure-Rust `flex` CPU backend
/// (see [`device::parse_device`] for a GPU).
pub fn training_device() -> burn::tensor::Device {
    device::cpu_device()
}
