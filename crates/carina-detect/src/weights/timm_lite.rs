//! The ImageNet-pretrained EfficientNet-Lite0 backbone of the `efficientnet_lite0` PyTorch port
//! (`_conv_stem`, `_bn0`, `_blocks.N._expand_conv`, ...), mapped onto the Lite0 backbone.
//!
//! That port numbers blocks flat (0..15) and names layers by role; timm (and so effdet)
//! numbers them per stage and by position. The classifier (`_conv_head`, `_bn1`, `_fc`) is not
//! part of a detector and is left out.

use std::collections::HashMap;

use super::names::walk_backbone;
use super::{HostTensor, Loader, WeightsFile, model_device};
use crate::DetectError;
use crate::config::BackboneKind;
use crate::model::EfficientDet;

/// Tensors of the ImageNet file a detector does not use (prefixes).
pub const LITE0_IMAGENET_UNUSED: &[&str] = &["_conv_head.", "_bn1.", "_fc."];

/// Renames a port tensor to effdet's backbone name; `None` for the classifier's tensors.
/// `stages` gives the number of blocks in each stage.
fn effdet_name(name: &str, stages: &[usize]) -> Option<String> {
    let bn = |rest: &str| rest.to_string();
    if let Some(rest) = name.strip_prefix("_conv_stem.") {
        return Some(format!("backbone.conv_stem.{rest}"));
    }
    if let Some(rest) = name.strip_prefix("_bn0.") {
        return Some(format!("backbone.bn1.{}", bn(rest)));
    }
    let rest = name.strip_prefix("_blocks.")?;
    let (flat, layer) = rest.split_once('.')?;
    let flat: usize = flat.parse().ok()?;
    let (stage, j) = locate(flat, stages)?;
    let (layer, param) = layer.split_once('.')?;
    // The first stage's blocks are depthwise-separable (no expansion).
    let ds = stage == 0;
    let timm = match (layer, ds) {
        ("_depthwise_conv", _) => "conv_dw",
        ("_bn1", true) => "bn1",
        ("_project_conv", true) => "conv_pw",
        ("_bn2", true) => "bn2",
        ("_expand_conv", false) => "conv_pw",
        ("_bn0", false) => "bn1",
        ("_bn1", false) => "bn2",
        ("_project_conv", false) => "conv_pwl",
        ("_bn2", false) => "bn3",
        _ => return None,
    };
    Some(format!("backbone.blocks.{stage}.{j}.{timm}.{param}"))
}

fn locate(mut flat: usize, stages: &[usize]) -> Option<(usize, usize)> {
    for (s, &n) in stages.iter().enumerate() {
        if flat < n {
            return Some((s, flat));
        }
        flat -= n;
    }
    None
}

/// Loads the ImageNet Lite0 weights into `model`'s backbone (BiFPN and heads are untouched).
/// Every backbone tensor must come from the file; every file tensor must be used, except the
/// classifier's and `num_batches_tracked`.
pub fn load_lite0_imagenet_backbone(
    model: &mut EfficientDet,
    file: &WeightsFile,
) -> Result<(), DetectError> {
    let cfg = model.config.backbone.clone();
    if cfg.kind != BackboneKind::EfficientNetLite
        || cfg.width_multiplier != 1.0
        || cfg.depth_multiplier != 1.0
    {
        return Err(DetectError::ArchMismatch {
            expected: model.config.arch.clone(),
            found: "efficientnet_lite0 (ImageNet backbone)".into(),
        });
    }
    let stages: Vec<usize> = model.backbone.blocks.iter().map(Vec::len).collect();
    let mut renamed: HashMap<String, HostTensor> = HashMap::new();
    let mut unknown = Vec::new();
    for (name, t) in &file.tensors {
        if name.ends_with("num_batches_tracked")
            || LITE0_IMAGENET_UNUSED.iter().any(|p| name.starts_with(p))
        {
            continue;
        }
        match effdet_name(name, &stages) {
            Some(n) => {
                renamed.insert(n, t.clone());
            }
            None => unknown.push(name.clone()),
        }
    }
    if !unknown.is_empty() {
        unknown.sort();
        return Err(DetectError::UnexpectedTensors {
            arch: "efficientnet_lite0 backbone".into(),
            count: unknown.len(),
            examples: unknown
                .iter()
                .take(3)
                .cloned()
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    let device = model_device(model);
    let no_skip = |_: &str| false;
    let mut loader = Loader::new(&renamed, &device, &no_skip);
    walk_backbone(&mut loader, "backbone", &mut model.backbone);
    loader.finish(&model.config.arch, |_| false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renames_by_stage() {
        let stages = [1, 2, 2, 3, 3, 4, 1];
        assert_eq!(
            effdet_name("_blocks.0._project_conv.weight", &stages).unwrap(),
            "backbone.blocks.0.0.conv_pw.weight"
        );
        assert_eq!(
            effdet_name("_blocks.3._bn1.running_var", &stages).unwrap(),
            "backbone.blocks.2.0.bn2.running_var"
        );
        assert_eq!(
            effdet_name("_blocks.15._project_conv.weight", &stages).unwrap(),
            "backbone.blocks.6.0.conv_pwl.weight"
        );
        assert_eq!(effdet_name("_blocks.16._bn0.weight", &stages), None);
        assert_eq!(
            effdet_name("_bn0.weight", &stages).unwrap(),
            "backbone.bn1.weight"
        );
    }
}
