//! effdet's own PyTorch checkpoints (`torch.save` zip/pickle, or the legacy format), read with
//! burn's standalone `pytorch-reader` (no PyTorch, no Python).

use std::collections::HashMap;
use std::path::Path;

use pytorch_reader::{DType, PytorchReader};

use super::{HostTensor, WeightsFile};
use crate::DetectError;

/// Prefixes effdet's training scripts and wrappers put in front of the model's names:
/// a training checkpoint's dict entry, `DetBenchTrain`'s `model.`, DDP's `module.`.
const PREFIXES: &[&str] = &["state_dict.", "model.", "module."];

/// Reads the float tensors of a `.pth` checkpoint under effdet's `state_dict` names.
pub fn read_pth(path: &Path) -> Result<WeightsFile, DetectError> {
    if !path.exists() {
        return Err(DetectError::io(
            path,
            std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
        ));
    }
    let reader = PytorchReader::new(path).map_err(|e| DetectError::format(path, e.to_string()))?;
    let mut tensors = HashMap::new();
    for (name, t) in reader.tensors() {
        let data = match t.dtype() {
            DType::F32 | DType::F64 | DType::F16 | DType::BF16 => {
                let bytes = t
                    .read()
                    .map_err(|e| DetectError::format(path, e.to_string()))?;
                let dtype = match t.dtype() {
                    DType::F32 => safetensors::Dtype::F32,
                    DType::F64 => safetensors::Dtype::F64,
                    DType::F16 => safetensors::Dtype::F16,
                    _ => safetensors::Dtype::BF16,
                };
                super::hostfile::to_f32(dtype, &bytes).expect("float dtype")
            }
            // Integer buffers such as batch norm's `num_batches_tracked` hold no weights.
            _ => continue,
        };
        let mut key = name.as_str();
        // Strip wrapper prefixes (possibly nested, e.g. `state_dict.module.`).
        while let Some(rest) = PREFIXES.iter().find_map(|p| key.strip_prefix(p)) {
            key = rest;
        }
        tensors.insert(
            key.to_string(),
            HostTensor {
                shape: t.shape().to_vec(),
                data,
            },
        );
    }
    if tensors.is_empty() {
        return Err(DetectError::format(
            path,
            "the checkpoint holds no float tensors",
        ));
    }
    // A training checkpoint also holds `state_dict_ema.*`, optimiser state, ...; keep the
    // model's names only when they are there.
    if tensors.keys().any(|k| k.starts_with("backbone.")) {
        tensors.retain(|k, _| {
            ["backbone.", "fpn.", "class_net.", "box_net."]
                .iter()
                .any(|p| k.starts_with(p))
        });
    }
    Ok(WeightsFile {
        tensors,
        metadata: HashMap::new(),
    })
}
