//! ONNX export of an [`EfficientDet`] through burn-onnx's (experimental) forward capture.
//!
//! The graph takes the normalised `[1, 3, S, S]` image (input `image`) and returns the raw
//! heads: the class logits of every level (P3 first), then the box codes of every level, each
//! `[1, C, H, W]`. Anchors and post-processing are not in the graph: they stay in Rust, shared
//! by every engine.

use burn::prelude::*;
use burn_onnx::export::OnnxExporter;

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
    let onnx = OnnxExporter::new()
        .export(&copy, sample, |m: &EfficientDet, x: Tensor<4>| {
            let heads = m.forward(x);
            heads
                .class
                .into_iter()
                .chain(heads.boxes)
                .collect::<Vec<_>>()
        })
        .map_err(|e| DetectError::Engine(format!("ONNX export failed: {e}")))?;
    Ok(onnx.into_bytes())
}
