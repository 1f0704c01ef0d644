//! Carina's EfficientDet (carina-detect) as a [`DetectionModel`]: building it
//! for a dataset's classes and starting it from ImageNet Lite0 weights, an
//! effdet checkpoint, a previous Carina model, or from scratch.

use crate::model::{DetectionModel, ModelSpec};
use crate::{TrainConfig, TrainError};
use burn::module::Module;
use burn::tensor::{Device, Tensor};
use carina_detect::anchors::Anchors;
use carina_detect::weights::{
    ClassHead, WeightsFile, load_lite0_imagenet_backbone, load_weights, model_tensors,
    write_safetensors,
};
use carina_detect::{EfficientDet, EfficientDetConfig};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

impl DetectionModel for EfficientDet {
    fn forward_raw(&self, images: Tensor<4>) -> (Vec<Tensor<4>>, Vec<Tensor<4>>) {
        let out = self.forward(images);
        (out.class, out.boxes)
    }

    fn save_weights(
        &self,
        path: &Path,
        metadata: &BTreeMap<String, String>,
    ) -> Result<(), TrainError> {
        let tensors = model_tensors(self);
        write_safetensors(path, &tensors, metadata.clone().into_iter().collect())
            .map_err(|e| TrainError::Model(e.to_string()))
    }
}

/// Where the weights of a run start.
#[derive(Debug, Clone, PartialEq)]
pub enum Init {
    Scratch,
    /// The ImageNet EfficientNet-Lite0 backbone (`efficientnet_lite0` names).
    ImagenetLite0(PathBuf),
    /// An effdet checkpoint (`.safetensors` or `.pth`); a different class count
    /// re-initialises the class predictor.
    Effdet(PathBuf),
    /// A Carina model folder (or its `model.safetensors`); classes must match.
    Carina(PathBuf),
}

impl Init {
    pub fn parse(s: &str) -> Result<Self, TrainError> {
        if s == "scratch" {
            return Ok(Self::Scratch);
        }
        let (kind, path) = s.split_once(':').ok_or_else(|| {
            TrainError::Config(format!(
                "init {s:?}: expected scratch, imagenet-lite0:PATH, effdet:PATH or carina:PATH"
            ))
        })?;
        let path = PathBuf::from(path);
        match kind {
            "imagenet-lite0" => Ok(Self::ImagenetLite0(path)),
            "effdet" => Ok(Self::Effdet(path)),
            "carina" => Ok(Self::Carina(path)),
            other => Err(TrainError::Config(format!(
                "init kind {other:?}: expected imagenet-lite0, effdet or carina"
            ))),
        }
    }
}

fn model_err(e: impl std::fmt::Display) -> TrainError {
    TrainError::Model(e.to_string())
}

/// Builds the configured architecture for `class_names` on `device` (an
/// autodiff device to train), seeded, and loads the initial weights.
pub fn build(
    cfg: &TrainConfig,
    class_names: &[String],
    device: &Device,
) -> Result<(EfficientDet, ModelSpec), TrainError> {
    let mut arch =
        EfficientDetConfig::from_arch(&cfg.arch, class_names.len()).map_err(model_err)?;
    if cfg.image_size != 0 {
        arch.image_size = cfg.image_size as usize;
    }
    if let Some(m) = cfg.bn_momentum {
        arch.bn_momentum = m;
        arch.backbone_bn_momentum = m;
    }
    device.seed(cfg.seed);
    let mut model = EfficientDet::new(&arch, device).map_err(model_err)?;
    match Init::parse(&cfg.init)? {
        Init::Scratch => {}
        Init::ImagenetLite0(path) => {
            let file = WeightsFile::read(&path).map_err(model_err)?;
            load_lite0_imagenet_backbone(&mut model, &file).map_err(model_err)?;
        }
        Init::Effdet(path) => load_checkpoint(&mut model, &path, None)?,
        Init::Carina(path) => {
            let file = if path.is_dir() {
                path.join("model.safetensors")
            } else {
                path
            };
            load_checkpoint(&mut model, &file, Some(class_names))?;
        }
    }
    Ok((model.train(), spec(&arch)))
}

/// What training needs to know of an architecture: its input, normalisation,
/// anchors and post-processing, as carina-detect serves it.
pub fn spec(arch: &EfficientDetConfig) -> ModelSpec {
    ModelSpec {
        arch: arch.arch.clone(),
        image_size: arch.image_size,
        num_classes: arch.num_classes,
        mean: arch.mean,
        std: arch.std,
        anchors: Anchors::new(arch).boxes().to_vec(),
        max_detection_points: arch.max_detection_points,
        nms_iou: arch.nms_iou,
    }
}

fn load_checkpoint(
    model: &mut EfficientDet,
    path: &Path,
    names: Option<&[String]>,
) -> Result<(), TrainError> {
    let file = WeightsFile::read(path).map_err(model_err)?;
    let arch = file.arch().map_err(model_err)?;
    if arch != model.config.arch {
        return Err(TrainError::Model(format!(
            "{} holds {arch}, the run trains {}",
            path.display(),
            model.config.arch
        )));
    }
    let classes = file
        .num_classes(model.config.num_anchors())
        .map_err(model_err)?;
    let head = if classes == model.config.num_classes {
        ClassHead::Load
    } else {
        ClassHead::Reinitialise
    };
    if let Some(names) = names {
        let theirs = file.class_names().map_err(model_err)?;
        if head == ClassHead::Reinitialise || theirs.as_deref().is_some_and(|t| t != names) {
            return Err(TrainError::Model(format!(
                "{} was trained on other classes ({:?}) than the dataset's",
                path.display(),
                theirs.unwrap_or_default()
            )));
        }
    }
    load_weights(model, &file.tensors, head).map_err(model_err)
}
