//! The training configuration: a TOML file whose every field has a default,
//! overridable with `key=value` pairs (`optim.lr=0.01`), saved beside the
//! checkpoints as `config.toml` so a run can be repeated and resumed.

use crate::TrainError;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Everything a training run depends on besides the data and the initial weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    /// effdet architecture name: `tf_efficientdet_d0` or `tf_efficientdet_lite0`.
    pub arch: String,
    /// Where the weights start: `scratch`, `imagenet-lite0:PATH`, `effdet:PATH` or `carina:PATH`.
    pub init: String,
    /// Model input size in pixels; 0 means the architecture's own (512 for D0, 320 for Lite0).
    pub image_size: u32,
    /// Seeds weight initialisation, shuffling and augmentation: same seed, same run.
    pub seed: u64,
    /// Batch-norm running-statistics momentum (PyTorch convention: `running = (1 − m)·running +
    /// m·batch`) for every layer. Unset: effdet's, as its `DetBenchTrain` trains (its
    /// reference training step, `../shared/fixtures/effdet-train`, shows it): 0.1 in the
    /// backbone (timm's default) and 0.01 in the BiFPN and heads. Short runs may need a
    /// larger value for the statistics used at validation to settle.
    pub bn_momentum: Option<f64>,
    /// Optimiser steps (one step = `batch_size × accumulate` images).
    pub steps: u64,
    pub batch_size: usize,
    /// Mini-batches whose gradients are summed into one step.
    pub accumulate: usize,
    /// Threads that decode and augment images.
    pub workers: usize,
    pub train_split: String,
    pub val_split: String,
    pub optim: OptimConfig,
    pub loss: LossConfig,
    pub augment: AugmentConfig,
    pub val: ValConfig,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    Sgd,
    Adamw,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OptimConfig {
    pub optimizer: OptimizerKind,
    /// Peak learning rate, reached at the end of the warm-up.
    pub lr: f64,
    /// Learning rate at the first step, as a fraction of `lr`.
    pub warmup_factor: f64,
    pub warmup_steps: u64,
    /// Learning rate at the last step, as a fraction of `lr` (cosine decay).
    pub min_lr_factor: f64,
    /// SGD momentum (AdamW uses its betas).
    pub momentum: f64,
    /// L2 weight decay (SGD) or decoupled decay (AdamW); reported as `reg_loss`.
    pub weight_decay: f64,
    /// Gradients are rescaled so their global L2 norm is at most this; 0 disables.
    pub clip_grad_norm: f64,
    /// AdamW's `β₁, β₂` (PyTorch's defaults, as effdet uses them).
    pub adam_betas: [f64; 2],
    /// AdamW's `ε` (PyTorch's 1e-8; burn's own default is 1e-5).
    pub adam_eps: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LossConfig {
    pub alpha: f64,
    pub gamma: f64,
    /// Huber loss threshold on box codes.
    pub delta: f64,
    pub box_loss_weight: f64,
    pub label_smoothing: f64,
    /// IoU from which an anchor is positive (and below which it is background).
    pub match_threshold: f32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AugmentConfig {
    pub enabled: bool,
    /// Zoom drawn from `[scale_min, scale_max]`, then a random crop (or pad) back to the input size.
    pub scale_min: f64,
    pub scale_max: f64,
    /// Rotation drawn from `[-rotate_deg, rotate_deg]`.
    pub rotate_deg: f64,
    /// Additive brightness drawn from `[-brightness, brightness]` (image in [0, 1]).
    pub brightness: f64,
    /// Contrast factor drawn from `[1 - contrast, 1 + contrast]`.
    pub contrast: f64,
    /// Gamma drawn from `[1 - gamma, 1 + gamma]`.
    pub gamma: f64,
    /// Gaussian noise standard deviation drawn from `[0, noise_std]`.
    pub noise_std: f64,
    /// Horizontal flip with probability 0.5. Off by default: anatomy is not symmetric.
    pub hflip: bool,
    /// Boxes narrower or lower than this (pixels) after the transform are dropped.
    pub min_box_size: f64,
    /// Boxes keeping less than this fraction of their area inside the image are dropped.
    pub min_visible: f64,
}

/// Which checkpoint is kept (`model.json` records it).
pub use carina_core::model_card::SelectBy;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ValConfig {
    /// Validate every N optimiser steps (and at the end); 0 only at the end.
    pub every_steps: u64,
    /// Which checkpoint is kept as `best`.
    pub select_by: SelectBy,
    /// Stop after this many validations without improvement; 0 never stops early.
    pub patience: u64,
    /// Detections below this score are not kept for the metrics.
    pub score_threshold: f32,
    pub max_detections: usize,
    /// Validate on at most this many images (0 = all).
    pub max_images: usize,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            arch: "tf_efficientdet_d0".into(),
            init: "scratch".into(),
            image_size: 0,
            seed: 42,
            bn_momentum: None,
            steps: 3000,
            batch_size: 4,
            accumulate: 1,
            workers: 2,
            train_split: "train".into(),
            val_split: "val".into(),
            optim: OptimConfig::default(),
            loss: LossConfig::default(),
            augment: AugmentConfig::default(),
            val: ValConfig::default(),
        }
    }
}

impl Default for OptimConfig {
    fn default() -> Self {
        Self {
            optimizer: OptimizerKind::Sgd,
            lr: 0.01,
            warmup_factor: 0.1,
            warmup_steps: 100,
            min_lr_factor: 0.01,
            momentum: 0.9,
            weight_decay: 4e-5,
            clip_grad_norm: 10.0,
            adam_betas: [0.9, 0.999],
            adam_eps: 1e-8,
        }
    }
}

impl Default for LossConfig {
    fn default() -> Self {
        Self {
            alpha: 0.25,
            gamma: 1.5,
            delta: 0.1,
            box_loss_weight: 50.0,
            label_smoothing: 0.0,
            match_threshold: 0.5,
        }
    }
}

impl Default for AugmentConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            scale_min: 0.85,
            scale_max: 1.15,
            rotate_deg: 7.0,
            brightness: 0.08,
            contrast: 0.15,
            gamma: 0.2,
            noise_std: 0.02,
            hflip: false,
            min_box_size: 2.0,
            min_visible: 0.4,
        }
    }
}

impl Default for ValConfig {
    fn default() -> Self {
        Self {
            every_steps: 250,
            select_by: SelectBy::Ap50,
            patience: 0,
            score_threshold: 0.001,
            max_detections: 100,
            max_images: 0,
        }
    }
}

/// Named training recipes shipped with Carina (`carina train --recipe NAME`): each a TOML
/// configuration under `crates/carina-train/recipes/` that explains its values.
pub const RECIPES: [(&str, &str); 1] = [("vindr-d0", include_str!("../recipes/vindr-d0.toml"))];

impl TrainConfig {
    /// The configuration of a named recipe ([`RECIPES`]).
    pub fn recipe(name: &str) -> Result<Self, TrainError> {
        let (_, text) = RECIPES.iter().find(|(n, _)| *n == name).ok_or_else(|| {
            let names: Vec<&str> = RECIPES.iter().map(|(n, _)| *n).collect();
            TrainError::Config(format!(
                "unknown recipe {name:?}; the recipes are: {}",
                names.join(", ")
            ))
        })?;
        Self::from_toml(text)
    }

    /// Reads a TOML file; missing fields take their defaults, unknown ones are refused.
    pub fn from_file(path: &Path) -> Result<Self, TrainError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| TrainError::io(format!("reading config {}", path.display()), e))?;
        Self::from_toml(&text)
    }

    pub fn from_toml(text: &str) -> Result<Self, TrainError> {
        toml::from_str(text).map_err(|e| TrainError::Config(e.message().to_string()))
    }

    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("the config serialises to TOML")
    }

    /// Applies one `dotted.key=value` override. The value is read as TOML
    /// (`0.01`, `true`, `"sgd"`), falling back to a bare string (`sgd`).
    pub fn set(&mut self, assignment: &str) -> Result<(), TrainError> {
        let (key, raw) = assignment.split_once('=').ok_or_else(|| {
            TrainError::Config(format!("override {assignment:?} is not key=value"))
        })?;
        let key = key.trim();
        let raw = raw.trim();
        let value = match toml::from_str::<toml::Table>(&format!("v = {raw}")) {
            Ok(mut t) => t.remove("v").expect("the key just parsed"),
            Err(_) => toml::Value::String(raw.to_string()),
        };
        let mut root = toml::Value::try_from(&*self).expect("the config serialises to TOML");
        let mut slot = &mut root;
        for part in key.split('.') {
            slot = slot
                .as_table_mut()
                .and_then(|t| t.get_mut(part))
                .ok_or_else(|| TrainError::Config(format!("unknown config key {key:?}")))?;
        }
        // Integers are accepted where floats are expected (`optim.lr=1`).
        *slot = match (&*slot, value) {
            (toml::Value::Float(_), toml::Value::Integer(i)) => toml::Value::Float(i as f64),
            (_, v) => v,
        };
        *self = root
            .try_into()
            .map_err(|e: toml::de::Error| TrainError::Config(format!("{key}: {}", e.message())))?;
        Ok(())
    }

    /// Refuses values that cannot train.
    pub fn validate(&self) -> Result<(), TrainError> {
        let bad = |m: &str| Err(TrainError::Config(m.to_string()));
        if self.batch_size == 0 || self.accumulate == 0 {
            return bad("batch_size and accumulate must be at least 1");
        }
        if self.steps == 0 {
            return bad("steps must be at least 1");
        }
        if self.workers == 0 {
            return bad("workers must be at least 1");
        }
        if !(self.optim.lr > 0.0 && self.optim.lr.is_finite()) {
            return bad("optim.lr must be a positive number");
        }
        if self.optim.weight_decay < 0.0 || self.optim.clip_grad_norm < 0.0 {
            return bad("optim.weight_decay and optim.clip_grad_norm must not be negative");
        }
        let a = &self.augment;
        if !(a.scale_min > 0.0 && a.scale_min <= a.scale_max) {
            return bad("augment.scale_min must be positive and at most augment.scale_max");
        }
        if !(0.0..=45.0).contains(&a.rotate_deg) {
            return bad("augment.rotate_deg must be between 0 and 45");
        }
        if !(0.0..1.0).contains(&a.contrast) || !(0.0..1.0).contains(&a.gamma) {
            return bad("augment.contrast and augment.gamma must be in [0, 1)");
        }
        if !(0.0..=1.0).contains(&a.min_visible) {
            return bad("augment.min_visible must be in [0, 1]");
        }
        if self.bn_momentum.is_some_and(|m| !(m > 0.0 && m <= 1.0)) {
            return bad("bn_momentum must be in (0, 1]");
        }
        if !(0.0..1.0).contains(&self.loss.label_smoothing) {
            return bad("loss.label_smoothing must be in [0, 1)");
        }
        if !(0.0..=1.0).contains(&self.loss.match_threshold) {
            return bad("loss.match_threshold must be in [0, 1]");
        }
        if self.image_size != 0 && !self.image_size.is_multiple_of(128) {
            return bad("image_size must be a multiple of 128 (the stride of level 7)");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_round_trip_through_toml() {
        let c = TrainConfig::default();
        assert_eq!(TrainConfig::from_toml(&c.to_toml()).unwrap(), c);
        assert_eq!(TrainConfig::from_toml("").unwrap(), c);
        c.validate().unwrap();
    }

    /// The VinDr recipe is effdet's train.py for 12,000 training images at a batch of 32:
    /// the schedule's steps are whole epochs of 375 steps.
    #[test]
    fn vindr_recipe_is_effdets_training() {
        let c = TrainConfig::recipe("vindr-d0").unwrap();
        c.validate().unwrap();
        let epoch = 12_000 / (c.batch_size * c.accumulate) as u64;
        assert_eq!((c.batch_size * c.accumulate, epoch), (32, 375));
        assert_eq!((c.arch.as_str(), c.image_size), ("tf_efficientdet_d0", 512));
        assert!(c.init.starts_with("effdet:"));
        assert_eq!(c.steps, 50 * epoch);
        assert_eq!(c.optim.warmup_steps, 5 * epoch);
        assert_eq!(c.val.every_steps, epoch);
        let o = &c.optim;
        assert_eq!(o.optimizer, OptimizerKind::Sgd);
        assert_eq!((o.lr, o.momentum, o.weight_decay), (0.01, 0.9, 4e-5));
        assert_eq!(o.clip_grad_norm, 10.0);
        // effdet's --warmup-lr 1e-4 and --min-lr 1e-5, as fractions of --lr.
        assert!((o.lr * o.warmup_factor - 1e-4).abs() < 1e-12);
        assert!((o.lr * o.min_lr_factor - 1e-5).abs() < 1e-12);
        assert_eq!(c.loss, LossConfig::default());
        let a = &c.augment;
        assert!(a.enabled && a.hflip);
        assert_eq!((a.scale_min, a.scale_max, a.rotate_deg), (0.1, 2.0, 0.0));
        assert_eq!(
            (a.brightness, a.contrast, a.gamma, a.noise_std),
            (0.0, 0.0, 0.0, 0.0)
        );
        let err = TrainConfig::recipe("vindr").unwrap_err().to_string();
        assert!(err.contains("vindr-d0"), "{err}");
    }

    #[test]
    fn partial_file_and_overrides() {
        let mut c = TrainConfig::from_toml("steps = 10\n[optim]\nlr = 0.5\n").unwrap();
        assert_eq!(c.steps, 10);
        assert_eq!(c.optim.lr, 0.5);
        assert_eq!(c.optim.momentum, 0.9);
        c.set("optim.optimizer=adamw").unwrap();
        c.set("optim.lr=1").unwrap();
        c.set("augment.hflip = true").unwrap();
        c.set("arch=tf_efficientdet_lite0").unwrap();
        c.set("val.select_by=\"loss\"").unwrap();
        assert_eq!(c.optim.optimizer, OptimizerKind::Adamw);
        assert_eq!(c.optim.lr, 1.0);
        assert!(c.augment.hflip);
        assert_eq!(c.arch, "tf_efficientdet_lite0");
        assert_eq!(c.val.select_by, SelectBy::Loss);
    }

    #[test]
    fn bad_input_is_refused() {
        let mut c = TrainConfig::default();
        assert!(c.set("optim.nope=1").is_err());
        assert!(c.set("steps=ten").is_err());
        assert!(c.set("no_equals").is_err());
        assert!(c.set("optim.optimizer=rmsprop").is_err());
        assert!(TrainConfig::from_toml("stepz = 3").is_err());
        c.set("batch_size=0").unwrap();
        assert!(c.validate().is_err());
    }
}
