//! ONNX export of an [`EfficientDet`] through burn-onnx's (experimental) forward capture.
//!
//! The graph takes the normalised `[1, 3, S, S]` image (input `image`) and returns the raw
//! heads: the class logits of every level (P3 first), then the box codes of every level, each
//! `[1, C, H, W]`. Anchors and post-processing are not in the graph: they stay in Rust, shared
//! by every engine.

use std::collections::HashSet;

use burn::prelude::*;
use burn_onnx::export::OnnxExporter;
use onnx_ir::{Message, ModelProto};

use crate::DetectError;
use crate::model::EfficientDet;

/// Serialised ONNX (opset 18, weights embedded, static batch 1) of `model`.
pub fn export_onnx(model: &EfficientDet) -> Result<Vec<u8>, DetectError> {
    let s = model.config.image_size;
    let device = crate::weights::model_device(model);
    // The exporter records the forward pass of the module it is given; the model is not used
    // after that, so it gets a clone and the caller's model stays as it was.
    let copy = model.clone();
    let sample = Tensor::<4>::zeros([1, 3, s, s], &device);
    let onnx = crate::layers::onnx_ops(|| {
        OnnxExporter::new().export(&copy, sample, |m: &EfficientDet, x: Tensor<4>| {
            let heads = m.forward(x);
            heads
                .class
                .into_iter()
                .chain(heads.boxes)
                .collect::<Vec<_>>()
        })
    })
    .map_err(|e| DetectError::Engine(format!("ONNX export failed: {e}")))?;
    scalar_pad_values(onnx.as_bytes())
}

/// burn-onnx 0.22 writes a `Pad` node's `constant_value` as a one-element 1-D tensor; ONNX
/// says it is a scalar, and tract insists. Rewrites those initialisers as scalars.
fn scalar_pad_values(bytes: &[u8]) -> Result<Vec<u8>, DetectError> {
    let broken = |e: &dyn std::fmt::Display| {
        DetectError::Engine(format!("ONNX export produced an unreadable graph: {e}"))
    };
    let mut model = ModelProto::parse_from_bytes(bytes).map_err(|e| broken(&e))?;
    let graph = model.graph.as_mut().ok_or_else(|| broken(&"no graph"))?;
    let values: HashSet<String> = graph
        .node
        .iter()
        .filter(|n| n.op_type == "Pad")
        .filter_map(|n| n.input.get(2).filter(|name| !name.is_empty()).cloned())
        .collect();
    for init in &mut graph.initializer {
        if values.contains(&init.name) && init.dims == [1] {
            init.dims.clear();
        }
    }
    model.write_to_bytes().map_err(|e| broken(&e))
}
