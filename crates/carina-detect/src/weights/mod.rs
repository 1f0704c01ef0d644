//! Weights in and out: effdet's tensor names, safetensors files with `arch` / `num_classes` /
//! `class_names` metadata, effdet `.pth` checkpoints, and the ImageNet Lite0 backbone.

mod hostfile;
pub(crate) mod names;
mod pth;
mod timm_lite;

use std::collections::{HashMap, HashSet};
use std::path::Path;

use burn::module::{Param, RunningState};
use burn::prelude::*;

use crate::DetectError;
use crate::config::{BackboneKind, EfficientDetConfig, KNOWN_ARCHS};
use crate::model::EfficientDet;
use names::{Slot, Visitor, walk_model};

pub use hostfile::{read_safetensors, write_safetensors};
pub use pth::read_pth;
pub use timm_lite::{LITE0_IMAGENET_UNUSED, load_lite0_imagenet_backbone};

/// A tensor in host memory, converted to f32.
#[derive(Debug, Clone, PartialEq)]
pub struct HostTensor {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

/// Tensors by name plus the file's string metadata.
#[derive(Debug, Clone, Default)]
pub struct WeightsFile {
    pub tensors: HashMap<String, HostTensor>,
    pub metadata: HashMap<String, String>,
}

impl WeightsFile {
    /// Reads a `.safetensors` file, or an effdet/PyTorch `.pth`/`.pt` checkpoint.
    pub fn read(path: &Path) -> Result<Self, DetectError> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("pth" | "pt" | "bin" | "ckpt") => read_pth(path),
            _ => read_safetensors(path),
        }
    }

    /// The architecture the file claims (`arch` metadata) or, failing that, the one its tensor
    /// shapes fit.
    pub fn arch(&self) -> Result<String, DetectError> {
        if let Some(arch) = self.metadata.get("arch") {
            return Ok(arch.clone());
        }
        infer_arch(&self.tensors)
    }

    /// The class count the file claims, or the one its class predictor has.
    pub fn num_classes(&self, num_anchors: usize) -> Result<usize, DetectError> {
        let from_shape = self
            .tensors
            .get(CLASS_PREDICT_WEIGHT)
            .map(|t| t.shape[0] / num_anchors.max(1));
        match (self.metadata.get("num_classes"), from_shape) {
            (Some(meta), shape) => {
                let n: usize = meta.trim().parse().map_err(|_| {
                    DetectError::Config(format!("metadata num_classes {meta:?} is not a number"))
                })?;
                if let Some(found) = shape.filter(|&s| s != n) {
                    return Err(DetectError::ClassCountMismatch { expected: n, found });
                }
                Ok(n)
            }
            (None, Some(n)) => Ok(n),
            (None, None) => Err(DetectError::Config(format!(
                "the weights have no {CLASS_PREDICT_WEIGHT} tensor and no num_classes metadata"
            ))),
        }
    }

    /// Class names from the `class_names` metadata (a JSON list), when present.
    pub fn class_names(&self) -> Result<Option<Vec<String>>, DetectError> {
        self.metadata
            .get("class_names")
            .map(|s| {
                serde_json::from_str(s).map_err(|e| {
                    DetectError::Config(format!("metadata class_names is not a JSON list: {e}"))
                })
            })
            .transpose()
    }
}

pub(crate) const CLASS_PREDICT_WEIGHT: &str = "class_net.predict.conv_pw.weight";
const CLASS_PREDICT_PREFIX: &str = "class_net.predict.";

/// Picks the preset whose backbone kind, BiFPN width and depth fit the tensors.
fn infer_arch(tensors: &HashMap<String, HostTensor>) -> Result<String, DetectError> {
    let unknown = || {
        DetectError::Config(
            "the weights carry no arch metadata and do not look like an effdet EfficientDet".into(),
        )
    };
    let channels = tensors
        .get("fpn.cell.0.fnode.0.after_combine.conv.conv_pw.weight")
        .ok_or_else(unknown)?
        .shape[0];
    let cells = (0..)
        .take_while(|c| {
            tensors.contains_key(&format!(
                "fpn.cell.{c}.fnode.0.after_combine.conv.conv_pw.weight"
            ))
        })
        .count();
    let has_se = tensors
        .keys()
        .any(|k| k.starts_with("backbone.") && k.contains(".se."));
    KNOWN_ARCHS
        .iter()
        .filter_map(|a| EfficientDetConfig::from_arch(a, 1).ok())
        .find(|c| {
            c.fpn_channels == channels
                && c.fpn_cell_repeats == cells
                && (c.backbone.kind == BackboneKind::EfficientNet) == has_se
        })
        .map(|c| c.arch)
        .ok_or_else(unknown)
}

/// How strictly [`load_weights`] treats the class head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClassHead {
    /// The checkpoint's class predictor must fit the model.
    Load,
    /// Keep the model's freshly initialised class predictor (the checkpoint has another class
    /// count); the rest of the class head and everything else is loaded.
    Reinitialise,
}

/// Copies every tensor of `weights` into `model`, by effdet's names. Fails, leaving `model`
/// unusable for inference, when a tensor is missing, extra or of the wrong shape.
pub fn load_weights(
    model: &mut EfficientDet,
    weights: &HashMap<String, HostTensor>,
    class_head: ClassHead,
) -> Result<(), DetectError> {
    let arch = model.config.arch.clone();
    let skip = |name: &str| {
        class_head == ClassHead::Reinitialise && name.starts_with(CLASS_PREDICT_PREFIX)
    };
    let device = model_device(model);
    let mut loader = Loader::new(weights, &device, &skip);
    walk_model(&mut loader, model);
    loader.finish(&arch, |name| {
        // Buffers effdet/timm keep that carry no weights.
        name.ends_with("num_batches_tracked") || skip(name)
    })
}

/// Every tensor of `model` under effdet's names.
pub fn model_tensors(model: &EfficientDet) -> Vec<(String, HostTensor)> {
    let mut copy = model.clone();
    let mut saver = Saver::default();
    walk_model(&mut saver, &mut copy);
    saver.out
}

/// A trainable parameter of the model under its effdet name, and its rank (1 or 4), so its
/// gradient can be found (`GradientsParams::get::<RANK>(id)`) and compared by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedParam {
    pub name: String,
    pub id: burn::module::ParamId,
    pub rank: usize,
}

/// Every trainable parameter of `model` (no running statistics) under effdet's names.
pub fn named_params(model: &EfficientDet) -> Vec<NamedParam> {
    struct Names(Vec<NamedParam>);
    impl Visitor for Names {
        fn visit(&mut self, name: &str, slot: Slot<'_>) {
            let (id, rank) = match slot {
                Slot::Param4(p) => (p.id, 4),
                Slot::Param1(p) => (p.id, 1),
                Slot::Buffer1(_) => return,
            };
            self.0.push(NamedParam {
                name: name.to_string(),
                id,
                rank,
            });
        }
    }
    let mut copy = model.clone();
    let mut names = Names(Vec::new());
    walk_model(&mut names, &mut copy);
    names.0
}

pub(crate) fn model_device(model: &EfficientDet) -> Device {
    model.backbone.conv_stem.weight.device()
}

pub(crate) struct Loader<'a> {
    src: &'a HashMap<String, HostTensor>,
    device: &'a Device,
    skip: &'a dyn Fn(&str) -> bool,
    used: HashSet<String>,
    missing: Vec<String>,
    mismatch: Option<(String, Vec<usize>, Vec<usize>)>,
}

impl<'a> Loader<'a> {
    pub(crate) fn new(
        src: &'a HashMap<String, HostTensor>,
        device: &'a Device,
        skip: &'a dyn Fn(&str) -> bool,
    ) -> Self {
        Self {
            src,
            device,
            skip,
            used: HashSet::new(),
            missing: Vec::new(),
            mismatch: None,
        }
    }

    /// Turns what the walk found into an error, if anything is wrong.
    pub(crate) fn finish(
        self,
        arch: &str,
        ignorable: impl Fn(&str) -> bool,
    ) -> Result<(), DetectError> {
        let examples = |v: &[String]| v.iter().take(3).cloned().collect::<Vec<_>>().join(", ");
        if let Some((name, expected, found)) = self.mismatch {
            return Err(DetectError::ShapeMismatch {
                arch: arch.to_string(),
                name,
                expected,
                found,
            });
        }
        if !self.missing.is_empty() {
            return Err(DetectError::MissingTensors {
                arch: arch.to_string(),
                count: self.missing.len(),
                examples: examples(&self.missing),
            });
        }
        let mut extra: Vec<String> = self
            .src
            .keys()
            .filter(|k| !self.used.contains(*k) && !ignorable(k))
            .cloned()
            .collect();
        extra.sort();
        if !extra.is_empty() {
            return Err(DetectError::UnexpectedTensors {
                arch: arch.to_string(),
                count: extra.len(),
                examples: examples(&extra),
            });
        }
        Ok(())
    }

    fn take<const D: usize>(&mut self, name: &str, expected: Vec<usize>) -> Option<Tensor<D>> {
        let Some(t) = self.src.get(name) else {
            self.missing.push(name.to_string());
            return None;
        };
        self.used.insert(name.to_string());
        if t.shape != expected {
            if self.mismatch.is_none() {
                self.mismatch = Some((name.to_string(), expected, t.shape.clone()));
            }
            return None;
        }
        Some(Tensor::from_data(
            TensorData::new(t.data.clone(), t.shape.clone()),
            self.device,
        ))
    }
}

impl Visitor for Loader<'_> {
    fn visit(&mut self, name: &str, slot: Slot<'_>) {
        if (self.skip)(name) {
            return;
        }
        match slot {
            Slot::Param4(p) => {
                if let Some(t) = self.take::<4>(name, p.lazy_shape().to_vec()) {
                    *p = Param::from_tensor(t);
                }
            }
            Slot::Param1(p) => {
                if let Some(t) = self.take::<1>(name, p.lazy_shape().to_vec()) {
                    *p = Param::from_tensor(t);
                }
            }
            Slot::Buffer1(b) => {
                if let Some(t) = self.take::<1>(name, b.value().dims().to_vec()) {
                    *b = RunningState::new(t);
                }
            }
        }
    }
}

#[derive(Default)]
struct Saver {
    out: Vec<(String, HostTensor)>,
}

impl Saver {
    fn push<const D: usize>(&mut self, name: &str, t: Tensor<D>) {
        let shape = t.dims().to_vec();
        let data = t
            .into_data()
            .convert::<f32>()
            .try_into_vec::<f32>()
            .expect("float tensors convert to f32");
        self.out
            .push((name.to_string(), HostTensor { shape, data }));
    }
}

impl Visitor for Saver {
    fn visit(&mut self, name: &str, slot: Slot<'_>) {
        match slot {
            Slot::Param4(p) => self.push(name, p.val()),
            Slot::Param1(p) => self.push(name, p.val()),
            Slot::Buffer1(b) => self.push(name, b.value_sync()),
        }
    }
}

/// Builds a model from a checkpoint (safetensors or effdet `.pth`) on `device`, for
/// fine-tuning or inference. With `num_classes` different from the checkpoint's, the class
/// predictor is freshly initialised and everything else is loaded. Returns the model and the
/// class names the file carries, if any.
pub fn load_checkpoint(
    path: &Path,
    num_classes: Option<usize>,
    device: &Device,
) -> Result<(EfficientDet, Option<Vec<String>>), DetectError> {
    let file = WeightsFile::read(path)?;
    let arch = file.arch()?;
    let probe = EfficientDetConfig::from_arch(&arch, 1)?;
    let in_file = file.num_classes(probe.num_anchors())?;
    let wanted = num_classes.unwrap_or(in_file);
    let config = EfficientDetConfig::from_arch(&arch, wanted)?;
    let mut model = EfficientDet::new(&config, device)?;
    let (head, names) = if wanted == in_file {
        (ClassHead::Load, file.class_names()?)
    } else {
        (ClassHead::Reinitialise, None)
    };
    load_weights(&mut model, &file.tensors, head)?;
    Ok((model, names))
}
