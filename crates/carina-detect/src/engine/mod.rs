//! Inference engines: the raw class/box head outputs of one normalised image, computed by burn
//! (the training engine), by tract (pure Rust, the default for serving) or by ONNX Runtime (the
//! `ort` cargo feature, a shared library found at run time). Anchors and post-processing stay
//! in Rust and are shared by every engine.

use std::fmt;
use std::str::FromStr;

use burn::prelude::*;

use crate::DetectError;
use crate::model::{EfficientDet, HeadOutputs};

pub(crate) mod onnx;
#[cfg(feature = "ort")]
pub(crate) mod ort_rt;
pub(crate) mod tract_rt;

pub use onnx::export_onnx;

/// Which engine computes the network's forward pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Engine {
    /// burn on its default device (flex on a CPU): the model as trained.
    Burn,
    /// tract on the ONNX export of the model, using every core: the default.
    #[default]
    Tract,
    /// ONNX Runtime on the ONNX export (cargo feature `ort`; the library is found through
    /// `ORT_DYLIB_PATH`). Falls back to tract, saying why, when it is not available.
    Ort,
}

impl Engine {
    pub const ALL: [Engine; 3] = [Engine::Burn, Engine::Tract, Engine::Ort];

    pub fn name(self) -> &'static str {
        match self {
            Engine::Burn => "burn",
            Engine::Tract => "tract",
            Engine::Ort => "ort",
        }
    }
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Engine {
    type Err = DetectError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "burn" => Ok(Engine::Burn),
            "tract" => Ok(Engine::Tract),
            "ort" | "onnxruntime" => Ok(Engine::Ort),
            other => Err(DetectError::Engine(format!(
                "unknown engine {other:?}: use burn, tract or ort"
            ))),
        }
    }
}

/// The time one kind of operation takes in an engine's plan (see
/// [`crate::Detector::profile_ops`]).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct OpTime {
    /// The operation, as the engine names it (e.g. tract's `Conv`, `Add`, `Sigmoid`).
    pub op: String,
    /// Milliseconds per forward pass spent in it.
    pub ms_per_run: f64,
    /// How many nodes of the plan are of this kind.
    pub nodes: usize,
}

/// An ONNX graph's outputs as `(shape, values)` pairs, in output order.
pub(crate) type RawOutputs = Vec<(Vec<usize>, Vec<f32>)>;

/// One `[1, channels, H, W]` head map of one image, on the host.
#[derive(Debug, Clone, PartialEq)]
pub struct HostMap {
    pub data: Vec<f32>,
    /// `[channels, H, W]`.
    pub shape: [usize; 3],
}

/// The raw head outputs of one image, one map per pyramid level (P3 first).
#[derive(Debug, Clone, PartialEq)]
pub struct HostHeads {
    pub class: Vec<HostMap>,
    pub boxes: Vec<HostMap>,
}

impl HostHeads {
    /// Image `index` of a batch of burn head outputs.
    pub fn from_burn(out: &HeadOutputs, index: usize) -> Self {
        let host = |t: &Tensor<4>| -> HostMap {
            let [_, c, h, w] = t.dims();
            let data = t
                .clone()
                .narrow(0, index, 1)
                .into_data()
                .convert::<f32>()
                .try_into_vec::<f32>()
                .expect("float tensor");
            HostMap {
                data,
                shape: [c, h, w],
            }
        };
        Self {
            class: out.class.iter().map(host).collect(),
            boxes: out.boxes.iter().map(host).collect(),
        }
    }

    /// From the flat output list of the ONNX graph: the class maps of every level, then the box
    /// maps. Each output is `(shape, values)` with a `[1, C, H, W]` shape.
    pub(crate) fn from_outputs(outputs: RawOutputs, levels: usize) -> Result<Self, DetectError> {
        if outputs.len() != 2 * levels {
            return Err(DetectError::Engine(format!(
                "the ONNX graph has {} outputs, a {levels}-level detector needs {}",
                outputs.len(),
                2 * levels
            )));
        }
        let mut maps = outputs
            .into_iter()
            .map(|(shape, data)| match shape.as_slice() {
                [1, c, h, w] if c * h * w == data.len() => Ok(HostMap {
                    data,
                    shape: [*c, *h, *w],
                }),
                _ => Err(DetectError::Engine(format!(
                    "unexpected ONNX output shape {shape:?}"
                ))),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let boxes = maps.split_off(levels);
        Ok(Self { class: maps, boxes })
    }
}

/// The engine a [`crate::Detector`] runs, with what it needs.
pub(crate) enum Runtime {
    Burn,
    Tract(tract_rt::TractRuntime),
    #[cfg(feature = "ort")]
    Ort(ort_rt::OrtRuntime),
}

impl Runtime {
    /// Builds `wanted` for `model`; for ONNX Runtime, when it cannot be had, tract and the
    /// reason.
    pub(crate) fn build(
        model: &EfficientDet,
        wanted: Engine,
    ) -> Result<(Self, Option<String>), DetectError> {
        match wanted {
            Engine::Burn => Ok((Runtime::Burn, None)),
            Engine::Tract => Ok((Runtime::Tract(tract_rt::TractRuntime::new(model)?), None)),
            Engine::Ort => ort_or_tract(model),
        }
    }

    /// Time per kind of operation, for engines that can say (tract).
    pub(crate) fn profile(
        &self,
        model: &EfficientDet,
        input: &[f32],
        runs: usize,
    ) -> Result<Option<Vec<OpTime>>, DetectError> {
        match self {
            Runtime::Tract(rt) => rt.profile(input, model.config.image_size, runs).map(Some),
            _ => Ok(None),
        }
    }

    pub(crate) fn engine(&self) -> Engine {
        match self {
            Runtime::Burn => Engine::Burn,
            Runtime::Tract(_) => Engine::Tract,
            #[cfg(feature = "ort")]
            Runtime::Ort(_) => Engine::Ort,
        }
    }

    /// Raw heads of one `[3, S, S]` normalised image.
    pub(crate) fn heads(
        &self,
        model: &EfficientDet,
        device: &Device,
        input: &[f32],
    ) -> Result<HostHeads, DetectError> {
        let s = model.config.image_size;
        let levels = model.config.num_levels();
        match self {
            Runtime::Burn => {
                let x =
                    Tensor::<4>::from_data(TensorData::new(input.to_vec(), [1, 3, s, s]), device);
                Ok(HostHeads::from_burn(&model.forward(x), 0))
            }
            Runtime::Tract(rt) => HostHeads::from_outputs(rt.run(input, s)?, levels),
            #[cfg(feature = "ort")]
            Runtime::Ort(rt) => HostHeads::from_outputs(rt.run(input, s)?, levels),
        }
    }
}

#[cfg(feature = "ort")]
fn ort_or_tract(model: &EfficientDet) -> Result<(Runtime, Option<String>), DetectError> {
    match ort_rt::OrtRuntime::new(model) {
        Ok(rt) => Ok((Runtime::Ort(rt), None)),
        Err(ort_rt::OrtUnavailable(why)) => Ok((
            Runtime::Tract(tract_rt::TractRuntime::new(model)?),
            Some(format!(
                "ONNX Runtime is not available ({why}); using tract"
            )),
        )),
    }
}

#[cfg(not(feature = "ort"))]
fn ort_or_tract(model: &EfficientDet) -> Result<(Runtime, Option<String>), DetectError> {
    Ok((
        Runtime::Tract(tract_rt::TractRuntime::new(model)?),
        Some(
            "this build has no ONNX Runtime support (build with --features ort); using tract"
                .into(),
        ),
    ))
}
