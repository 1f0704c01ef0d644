//! `Detector::load(path)?.predict(&image, &options)`: weights in, boxes in original pixels out.

use std::path::{Path, PathBuf};

use burn::prelude::*;
use carina_core::model_card::ModelCard;
use carina_core::{BBox, LabelSet};
use serde::{Deserialize, Serialize};

use crate::DetectError;
use crate::anchors::Anchors;
use crate::config::EfficientDetConfig;
use crate::engine::{Engine, HostHeads, Runtime};
use crate::model::{EfficientDet, HeadOutputs};
use crate::postprocess::{LevelOutput, RawDetection, postprocess};
use crate::preprocess::{InputImage, prepare};
use crate::weights::{ClassHead, WeightsFile, load_weights};

/// What `predict` keeps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PredictOptions {
    /// Detections scoring below this are dropped (after NMS and the `max_det` cut).
    pub score_thr: f32,
    /// At most this many detections (the best ones) survive NMS.
    pub max_det: usize,
}

impl Default for PredictOptions {
    fn default() -> Self {
        Self {
            score_thr: 0.05,
            max_det: 100,
        }
    }
}

/// One box, in the original image's pixels (product.md's `carina predict` row).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Detection {
    pub class_id: usize,
    pub class_name: String,
    pub score: f32,
    pub bbox: BBox,
}

/// What the caller expects of a weights file; a mismatch is an error, not a surprise.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// The architecture the weights must have.
    pub arch: Option<String>,
    /// The class count the weights must have.
    pub num_classes: Option<usize>,
    /// The engine that runs the network (tract unless told otherwise).
    pub engine: Engine,
}

/// A loaded model ready to predict on a CPU.
pub struct Detector {
    model: EfficientDet,
    anchors: Anchors,
    class_names: Vec<String>,
    device: Device,
    runtime: Runtime,
    engine_note: Option<String>,
}

impl Detector {
    /// Loads a `.safetensors` / effdet `.pth` file, or a folder holding `model.safetensors`
    /// and (optionally) `model.json`.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, DetectError> {
        Self::load_with(path, &LoadOptions::default())
    }

    pub fn load_with(path: impl AsRef<Path>, opts: &LoadOptions) -> Result<Self, DetectError> {
        Self::load_on(path, opts, &Device::default())
    }

    /// Like [`Self::load_with`], on a chosen burn device (the default is the first enabled
    /// backend: a GPU when built with the `cuda` or `wgpu` feature, else the flex CPU backend).
    pub fn load_on(
        path: impl AsRef<Path>,
        opts: &LoadOptions,
        device: &Device,
    ) -> Result<Self, DetectError> {
        let path = path.as_ref();
        let (file, card) = if path.is_dir() {
            let weights = path.join("model.safetensors");
            let card_path = path.join("model.json");
            let card = if card_path.exists() {
                let text = std::fs::read(&card_path).map_err(|e| DetectError::io(&card_path, e))?;
                Some(
                    ModelCard::parse(&text)
                        .map_err(|e| DetectError::format(&card_path, e.to_string()))?,
                )
            } else {
                None
            };
            (weights, card)
        } else {
            (PathBuf::from(path), None)
        };
        let weights = WeightsFile::read(&file)?;
        let arch = match &card {
            Some(c) => c.arch.clone(),
            None => weights.arch()?,
        };
        if let Some(expected) = &opts.arch
            && *expected != arch
        {
            return Err(DetectError::ArchMismatch {
                expected: expected.clone(),
                found: arch,
            });
        }
        let probe = EfficientDetConfig::from_arch(&arch, 1)?;
        let num_classes = weights.num_classes(probe.num_anchors())?;
        for expected in [card.as_ref().map(|c| c.num_classes), opts.num_classes]
            .into_iter()
            .flatten()
        {
            if expected != num_classes {
                return Err(DetectError::ClassCountMismatch {
                    expected,
                    found: num_classes,
                });
            }
        }
        let mut config = EfficientDetConfig::from_arch(&arch, num_classes)?;
        if let Some(size) = card.as_ref().and_then(|c| c.input_size) {
            config.image_size = size;
            config
                .validate()
                .map_err(|e| DetectError::Config(format!("model.json's input_size {size}: {e}")))?;
        }
        let mut model = EfficientDet::new(&config, device)?;
        load_weights(&mut model, &weights.tensors, ClassHead::Load)?;
        let names = match card.filter(|c| !c.class_names.is_empty()) {
            Some(c) => Some(c.class_names),
            None => weights.class_names()?,
        };
        Self::from_model(model, names)?.with_engine(opts.engine)
    }

    /// Wraps a model (e.g. fresh from training). Without names, a nine-class model gets the
    /// default label set's names and any other `class_<id>`.
    pub fn from_model(
        model: EfficientDet,
        class_names: Option<Vec<String>>,
    ) -> Result<Self, DetectError> {
        let n = model.config.num_classes;
        let class_names = match class_names {
            Some(names) if names.len() == n => names,
            Some(names) => {
                return Err(DetectError::Config(format!(
                    "{} class names for a {n}-class model",
                    names.len()
                )));
            }
            None => {
                let defaults = LabelSet::default().names();
                if defaults.len() == n {
                    defaults
                } else {
                    (0..n).map(|i| format!("class_{i}")).collect()
                }
            }
        };
        let device = crate::weights::model_device(&model);
        Ok(Self {
            anchors: Anchors::new(&model.config),
            model,
            class_names,
            device,
            runtime: Runtime::Burn,
            engine_note: None,
        })
    }

    /// Switches the engine that runs the network. tract and ONNX Runtime run the model's ONNX
    /// export (made here, from the weights in memory, so it always matches them); ONNX Runtime
    /// falls back to tract when it cannot be loaded, and [`Self::engine_note`] says why.
    pub fn with_engine(mut self, engine: Engine) -> Result<Self, DetectError> {
        let (runtime, note) = Runtime::build(&self.model, engine)?;
        self.runtime = runtime;
        self.engine_note = note;
        Ok(self)
    }

    /// The engine that runs the network.
    pub fn engine(&self) -> Engine {
        self.runtime.engine()
    }

    /// Why the engine is not the one asked for, when it is not.
    pub fn engine_note(&self) -> Option<&str> {
        self.engine_note.as_deref()
    }

    /// Where the network's time goes, per kind of operation, over `runs` forward passes of an
    /// already normalised `[3, S, S]` input; `None` for an engine that cannot say (only tract
    /// can).
    pub fn profile_ops(
        &self,
        input: &[f32],
        runs: usize,
    ) -> Result<Option<Vec<crate::engine::OpTime>>, DetectError> {
        self.check_input(input)?;
        self.runtime.profile(&self.model, input, runs)
    }

    /// The model's ONNX graph (see [`crate::engine::export_onnx`]).
    pub fn export_onnx(&self) -> Result<Vec<u8>, DetectError> {
        crate::engine::export_onnx(&self.model)
    }

    pub fn config(&self) -> &EfficientDetConfig {
        &self.model.config
    }

    pub fn class_names(&self) -> &[String] {
        &self.class_names
    }

    pub fn model(&self) -> &EfficientDet {
        &self.model
    }

    /// Detections on a grayscale image (values in [0, 1]), in its own pixel coordinates.
    pub fn predict(
        &self,
        image: &InputImage<'_>,
        opts: &PredictOptions,
    ) -> Result<Vec<Detection>, DetectError> {
        let prepared = prepare(image, &self.model.config);
        let raw = self.detect_normalised(&prepared.data, opts.max_det)?;
        let lb = prepared.letterbox;
        raw.into_iter()
            .filter(|d| d.score >= opts.score_thr)
            .map(|d| {
                let [x0, y0, x1, y1] = d.bbox.map(f64::from);
                let model_box = BBox::new(x0, y0, x1, y1).map_err(|e| {
                    DetectError::Input(format!("the model produced an invalid box: {e}"))
                })?;
                Ok(Detection {
                    class_id: d.class_id,
                    class_name: self.class_names[d.class_id].clone(),
                    score: d.score,
                    bbox: lb.to_original(&model_box),
                })
            })
            .collect()
    }

    /// effdet's `DetBenchPredict` on an already normalised `[3, S, S]` input: up to `max_det`
    /// detections in model-input pixels, unclipped, best first.
    pub fn detect_normalised(
        &self,
        input: &[f32],
        max_det: usize,
    ) -> Result<Vec<RawDetection>, DetectError> {
        let heads = self.heads_normalised(input)?;
        Ok(self.detections_from_host(&heads, max_det))
    }

    /// An error unless `input` holds one `[3, S, S]` image for this model.
    fn check_input(&self, input: &[f32]) -> Result<(), DetectError> {
        let s = self.model.config.image_size;
        if input.len() != 3 * s * s {
            return Err(DetectError::Input(format!(
                "expected {} values for a 3x{s}x{s} input, got {}",
                3 * s * s,
                input.len()
            )));
        }
        Ok(())
    }

    /// The raw head outputs of the engine for an already normalised `[3, S, S]` input.
    pub fn heads_normalised(&self, input: &[f32]) -> Result<HostHeads, DetectError> {
        self.check_input(input)?;
        self.runtime.heads(&self.model, &self.device, input)
    }

    /// Post-processes image `index` of a batch of raw head outputs (see
    /// [`Self::detect_normalised`]).
    pub fn detections_from_heads(
        &self,
        out: &HeadOutputs,
        index: usize,
        max_det: usize,
    ) -> Vec<RawDetection> {
        self.detections_from_host(&HostHeads::from_burn(out, index), max_det)
    }

    /// Post-processes one image's raw head outputs, whichever engine computed them.
    pub fn detections_from_host(&self, heads: &HostHeads, max_det: usize) -> Vec<RawDetection> {
        let cfg = &self.model.config;
        let levels: Vec<LevelOutput<'_>> = heads
            .class
            .iter()
            .zip(&heads.boxes)
            .map(|(c, b)| LevelOutput {
                class_logits: &c.data,
                box_codes: &b.data,
                height: c.shape[1],
                width: c.shape[2],
            })
            .collect();
        postprocess(
            &levels,
            &self.anchors,
            cfg.num_classes,
            cfg.max_detection_points,
            cfg.nms_iou,
            max_det,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::Detector;

    #[test]
    fn detector_can_move_to_a_worker_thread() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Detector>();
    }
}
