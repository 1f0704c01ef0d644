//! What training needs from a detection model, and the optimiser helpers
//! that work on any such model: global-norm gradient clipping and the L2
//! regularisation value reported as `reg_loss`.

use crate::TrainError;
use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::Tensor;
use std::collections::BTreeMap;
use std::path::Path;

/// A detector training can drive: raw per-level outputs, as effdet's heads
/// give them, and a way to write its weights for `Detector::load`.
pub trait DetectionModel: Module + 'static {
    /// Class logits `[N, A·K, H, W]` and box codes `[N, A·4, H, W]` per level,
    /// from normalised images `[N, 3, S, S]`.
    fn forward_raw(&self, images: Tensor<4>) -> (Vec<Tensor<4>>, Vec<Tensor<4>>);

    /// Writes the weights as safetensors with effdet's tensor names and `metadata`.
    fn save_weights(
        &self,
        path: &Path,
        metadata: &BTreeMap<String, String>,
    ) -> Result<(), TrainError>;
}

/// Everything about a model that training needs besides its weights.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelSpec {
    pub arch: String,
    pub image_size: usize,
    pub num_classes: usize,
    pub mean: [f32; 3],
    pub std: [f32; 3],
    /// All anchors, `yxyx` in model pixels, in the order of the flattened outputs.
    pub anchors: Vec<[f32; 4]>,
    /// Post-processing as the architecture serves it (carina-detect's configuration):
    /// candidates kept before NMS, and NMS's IoU.
    pub max_detection_points: usize,
    pub nms_iou: f32,
}

struct SumSquares<'a> {
    grads: Option<&'a GradientsParams>,
    min_rank: usize,
    total: Option<Tensor<1>>,
}

impl ModuleVisitor for SumSquares<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if D < self.min_rank {
            return;
        }
        let t = match self.grads {
            Some(g) => match g.get::<D>(param.id) {
                Some(t) => t,
                None => return,
            },
            None => param.val().detach(),
        };
        let s = t.square().sum();
        self.total = Some(match self.total.take() {
            Some(acc) => acc + s,
            None => s,
        });
    }
}

/// Global L2 norm of all gradients of `model`'s parameters.
pub fn grad_norm<M: Module>(model: &M, grads: &GradientsParams) -> f64 {
    let mut v = SumSquares {
        grads: Some(grads),
        min_rank: 0,
        total: None,
    };
    model.visit(&mut v);
    v.total
        .map_or(0.0, |t| f64::from(t.into_scalar::<f32>()).sqrt())
}

struct Scale<'a> {
    grads: &'a mut GradientsParams,
    factor: f64,
}

impl ModuleMapper for Scale<'_> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        if let Some(g) = self.grads.remove::<D>(param.id) {
            self.grads.register(param.id, g.mul_scalar(self.factor));
        }
        param
    }
}

/// Rescales all gradients so that their global norm is at most `max_norm`
/// (as `torch.nn.utils.clip_grad_norm_`); returns the norm before clipping.
pub fn clip_grad_norm<M: Module>(model: M, grads: &mut GradientsParams, max_norm: f64) -> (M, f64) {
    let norm = grad_norm(&model, grads);
    if max_norm > 0.0 && norm > max_norm {
        let mut s = Scale {
            grads,
            factor: max_norm / (norm + 1e-6),
        };
        return (model.map(&mut s), norm);
    }
    (model, norm)
}

/// `weight_decay · Σ ‖w‖² / 2` over the convolution and linear weights (rank
/// ≥ 2; biases and batch-norm parameters excluded), as TensorFlow's
/// EfficientDet reports its regularisation loss.
pub fn l2_regularisation<M: Module>(model: &M, weight_decay: f64) -> f64 {
    let mut v = SumSquares {
        grads: None,
        min_rank: 2,
        total: None,
    };
    model.visit(&mut v);
    v.total.map_or(0.0, |t| {
        weight_decay * 0.5 * f64::from(t.into_scalar::<f32>())
    })
}
