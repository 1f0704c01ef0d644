//! Validation: the loss on unaugmented images and COCO metrics (carina-eval,
//! pycocotools' definition) of the model's detections, in the validation
//! split's own pixel coordinates.

use crate::TrainError;
use crate::assign::{GtBox, label_anchors};
use crate::config::TrainConfig;
use crate::data::Split;
use crate::log::ValRecord;
use crate::loss::{BatchTargets, detection_loss, flatten_levels};
use crate::model::{DetectionModel, ModelSpec};
use burn::tensor::{Device, Tensor, TensorData};
use carina_core::coco::CocoDetection;
use carina_detect::postprocess::{RawDetection, postprocess_flat};

/// Detections of one image from its flattened outputs (`logits` `T × K`, `codes` `T × 4`,
/// as `flatten_levels` lays them out), in model-input pixels: carina-detect's
/// post-processing, exactly as `Detector::predict` runs it.
pub fn detections(
    logits: &[f32],
    codes: &[f32],
    spec: &ModelSpec,
    max_det: usize,
) -> Vec<RawDetection> {
    postprocess_flat(
        logits,
        codes,
        &spec.anchors,
        spec.num_classes,
        spec.max_detection_points,
        spec.nms_iou,
        max_det,
    )
}

/// Detections of `model` on the first `limit` images of `split` (all when 0),
/// with the mean losses over those images.
pub fn predict_split<M: DetectionModel>(
    model: &M,
    split: &Split,
    spec: &ModelSpec,
    cfg: &TrainConfig,
    device: &Device,
    limit: usize,
) -> Result<(Vec<CocoDetection>, [f64; 3], usize), TrainError> {
    let model = model.valid();
    // The validation copy lives on the plain device.
    let device = &device.clone().inner();
    let n = if limit == 0 {
        split.len()
    } else {
        limit.min(split.len())
    };
    let size = spec.image_size;
    let plane = size * size;
    let k = spec.num_classes;
    let mut dets = Vec::new();
    let mut loss_sums = [0.0f64; 3];
    let mut chunks = 0usize;
    for start in (0..n).step_by(cfg.batch_size) {
        let idx: Vec<usize> = (start..(start + cfg.batch_size).min(n)).collect();
        let mut images = vec![0f32; idx.len() * 3 * plane];
        let mut labels = Vec::with_capacity(idx.len());
        for (b, &i) in idx.iter().enumerate() {
            let cached = split.get(i)?;
            for ch in 0..3 {
                let dst = &mut images[(b * 3 + ch) * plane..(b * 3 + ch + 1) * plane];
                for (d, v) in dst.iter_mut().zip(&cached.0.data) {
                    *d = (v - spec.mean[ch]) / spec.std[ch];
                }
            }
            let gts: Vec<GtBox> = cached
                .1
                .iter()
                .map(|bx| GtBox {
                    yxyx: [bx.xyxy[1], bx.xyxy[0], bx.xyxy[3], bx.xyxy[2]],
                    class: bx.class,
                })
                .collect();
            labels.push(label_anchors(&spec.anchors, &gts, cfg.loss.match_threshold));
        }
        let x = Tensor::<4>::from_data(TensorData::new(images, [idx.len(), 3, size, size]), device);
        let (class_out, box_out) = model.forward_raw(x);
        let class_flat = flatten_levels(class_out, k);
        let box_flat = flatten_levels(box_out, 4);
        let targets = BatchTargets::new(&labels, k, device);
        let loss = detection_loss(class_flat.clone(), box_flat.clone(), &targets, &cfg.loss);
        loss_sums[0] += f64::from(loss.class.into_scalar::<f32>());
        loss_sums[1] += f64::from(loss.boxes.into_scalar::<f32>());
        loss_sums[2] += f64::from(loss.total.into_scalar::<f32>());
        chunks += 1;
        let logits = class_flat
            .into_data()
            .try_to_vec::<f32>()
            .map_err(|e| TrainError::Model(format!("reading outputs: {e:?}")))?;
        let codes = box_flat
            .into_data()
            .try_to_vec::<f32>()
            .map_err(|e| TrainError::Model(format!("reading outputs: {e:?}")))?;
        let t = spec.anchors.len();
        for (b, &i) in idx.iter().enumerate() {
            let sample = &split.samples[i];
            // Model pixels → the split's pixels (images are letterboxed at the top left).
            let scale = size as f32 / sample.width.max(sample.height) as f32;
            let found = detections(
                &logits[b * t * k..(b + 1) * t * k],
                &codes[b * t * 4..(b + 1) * t * 4],
                spec,
                cfg.val.max_detections,
            );
            for d in found
                .into_iter()
                .filter(|d| d.score >= cfg.val.score_threshold)
            {
                let (w, h) = (sample.width as f32, sample.height as f32);
                let x0 = (d.bbox[0] / scale).clamp(0.0, w);
                let y0 = (d.bbox[1] / scale).clamp(0.0, h);
                let x1 = (d.bbox[2] / scale).clamp(0.0, w);
                let y1 = (d.bbox[3] / scale).clamp(0.0, h);
                dets.push(CocoDetection {
                    image_id: sample.image_id,
                    category_id: d.class_id as i64,
                    bbox: [x0 as f64, y0 as f64, (x1 - x0) as f64, (y1 - y0) as f64],
                    score: f64::from(d.score),
                });
            }
        }
    }
    let c = chunks.max(1) as f64;
    Ok((dets, loss_sums.map(|s| s / c), n))
}

/// COCO AP, AP50 and AP75 of `dets` against the first `n` images of `split`.
pub fn coco_metrics(
    split: &Split,
    n: usize,
    dets: &[CocoDetection],
) -> Result<[f64; 3], TrainError> {
    let mut gt = split.coco.clone();
    if n < gt.images.len() {
        let keep: std::collections::HashSet<i64> =
            split.samples[..n].iter().map(|s| s.image_id).collect();
        gt.images.retain(|i| keep.contains(&i.id));
        gt.annotations.retain(|a| keep.contains(&a.image_id));
    }
    let gt = carina_eval::GroundTruth::from_coco(&gt)
        .map_err(|e| TrainError::Model(format!("validation ground truth: {e}")))?;
    let dets = carina_eval::input::detections_from_coco(dets);
    let eval = carina_eval::evaluate(&gt, &dets)
        .map_err(|e| TrainError::Model(format!("COCO evaluation: {e}")))?;
    Ok([eval.stats.AP, eval.stats.AP50, eval.stats.AP75])
}

/// One validation pass at `step`.
pub fn validate<M: DetectionModel>(
    model: &M,
    split: &Split,
    spec: &ModelSpec,
    cfg: &TrainConfig,
    device: &Device,
    step: u64,
) -> Result<ValRecord, TrainError> {
    let (dets, losses, n) = predict_split(model, split, spec, cfg, device, cfg.val.max_images)?;
    let [ap, ap50, ap75] = coco_metrics(split, n, &dets)?;
    Ok(ValRecord {
        step,
        class_loss: losses[0],
        box_loss: losses[1],
        total_loss: losses[2],
        ap,
        ap50,
        ap75,
        images: n as u64,
    })
}
