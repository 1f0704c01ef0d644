//! effdet's post-processing (`_post_process` + `generate_detections`): the best
//! `max_detection_points` (anchor, class) logits over all levels, decoding, class-wise NMS on
//! the unclipped boxes, the best `max_det` kept.

use std::cmp::Ordering;

use crate::anchors::{Anchors, decode_box};

/// A detection in model-input pixels, before clipping and mapping back.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RawDetection {
    /// `[x_min, y_min, x_max, y_max]`.
    pub bbox: [f32; 4],
    pub score: f32,
    pub class_id: usize,
}

/// One level's raw head outputs for one image, as stored by the heads (`[channels, H, W]`,
/// channels anchor-major).
pub struct LevelOutput<'a> {
    pub class_logits: &'a [f32],
    pub box_codes: &'a [f32],
    pub height: usize,
    pub width: usize,
}

/// Runs effdet's post-processing for one image, on the heads' per-level outputs (serving).
pub fn postprocess(
    levels: &[LevelOutput<'_>],
    anchors: &Anchors,
    num_classes: usize,
    max_detection_points: usize,
    nms_iou: f32,
    max_det: usize,
) -> Vec<RawDetection> {
    let (logits, codes) = flatten(levels, anchors.per_location(), num_classes);
    debug_assert_eq!(codes.len(), anchors.len() * 4);
    postprocess_flat(
        &logits,
        &codes,
        anchors.boxes(),
        num_classes,
        max_detection_points,
        nms_iou,
        max_det,
    )
}

/// The levels' outputs in effdet's flattened order: `(level, y, x, anchor, class)` logits
/// (`T × K`) and `(level, y, x, anchor)` box codes (`T × 4`), the layout training's
/// `flatten_levels` gives.
pub fn flatten(
    levels: &[LevelOutput<'_>],
    per_location: usize,
    num_classes: usize,
) -> (Vec<f32>, Vec<f32>) {
    let mut logits = Vec::new();
    let mut codes = Vec::new();
    for lvl in levels {
        let hw = lvl.height * lvl.width;
        logits.reserve(hw * per_location * num_classes);
        codes.reserve(hw * per_location * 4);
        for pos in 0..hw {
            for a in 0..per_location {
                for c in 0..num_classes {
                    logits.push(lvl.class_logits[(a * num_classes + c) * hw + pos]);
                }
                for k in 0..4 {
                    codes.push(lvl.box_codes[(a * 4 + k) * hw + pos]);
                }
            }
        }
    }
    (logits, codes)
}

/// effdet's post-processing on flattened outputs of one image: `logits` `T × K` and `codes`
/// `T × 4` over `anchors` (`T`, `yxyx`), in the order of [`flatten`]. Serving ([`postprocess`])
/// and training's validation both run it, so a model is measured as it will be served.
pub fn postprocess_flat(
    logits: &[f32],
    codes: &[f32],
    anchors: &[[f32; 4]],
    num_classes: usize,
    max_detection_points: usize,
    nms_iou: f32,
    max_det: usize,
) -> Vec<RawDetection> {
    // Best logits first; ties by position, which keeps the result deterministic.
    let by_score = |a: &(f32, usize), b: &(f32, usize)| {
        b.0.partial_cmp(&a.0)
            .unwrap_or(Ordering::Equal)
            .then(a.1.cmp(&b.1))
    };
    let mut ranked: Vec<(f32, usize)> = logits.iter().copied().zip(0..).collect();
    let k = max_detection_points.min(ranked.len());
    if k < ranked.len() && k > 0 {
        ranked.select_nth_unstable_by(k - 1, by_score);
        ranked.truncate(k);
    }
    ranked.sort_by(by_score);

    let candidates: Vec<RawDetection> = ranked
        .iter()
        .map(|&(logit, flat)| {
            let anchor = flat / num_classes;
            let code = std::array::from_fn(|k| codes[anchor * 4 + k]);
            RawDetection {
                bbox: decode_box(code, anchors[anchor]),
                score: sigmoid(logit),
                class_id: flat % num_classes,
            }
        })
        .collect();
    batched_nms(candidates, nms_iou, max_det)
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// Class-wise greedy NMS (torchvision's `batched_nms`): a box is dropped when its IoU with a
/// kept, higher-scoring box of the same class is greater than `iou`. Survivors are returned
/// best first, at most `max_det` of them.
pub fn batched_nms(mut dets: Vec<RawDetection>, iou: f32, max_det: usize) -> Vec<RawDetection> {
    // Stable sort: equal scores keep their incoming order, as torchvision's stable sort does.
    dets.sort_by(|a, b| b.score.partial_cmp(&a.score).unwrap_or(Ordering::Equal));
    let mut kept: Vec<RawDetection> = Vec::new();
    let mut suppressed = vec![false; dets.len()];
    for i in 0..dets.len() {
        if suppressed[i] {
            continue;
        }
        let d = dets[i];
        kept.push(d);
        let area_i = area(&d.bbox);
        for j in i + 1..dets.len() {
            if suppressed[j] || dets[j].class_id != d.class_id {
                continue;
            }
            if iou_f32(&d.bbox, area_i, &dets[j].bbox) > iou {
                suppressed[j] = true;
            }
        }
    }
    kept.truncate(max_det);
    kept
}

fn area(b: &[f32; 4]) -> f32 {
    (b[2] - b[0]) * (b[3] - b[1])
}

/// IoU in f32 with torchvision's formula (no +1, areas of the unclipped boxes).
fn iou_f32(a: &[f32; 4], area_a: f32, b: &[f32; 4]) -> f32 {
    let w = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
    let h = (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
    let inter = w * h;
    inter / (area_a + area(b) - inter)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn det(b: [f32; 4], score: f32, class_id: usize) -> RawDetection {
        RawDetection {
            bbox: b,
            score,
            class_id,
        }
    }

    #[test]
    fn nms_is_class_wise_and_idempotent() {
        let dets = vec![
            det([0.0, 0.0, 10.0, 10.0], 0.9, 0),
            det([1.0, 1.0, 11.0, 11.0], 0.8, 0),
            det([1.0, 1.0, 11.0, 11.0], 0.7, 1),
            det([50.0, 50.0, 60.0, 60.0], 0.6, 0),
        ];
        let kept = batched_nms(dets, 0.5, 100);
        let scores: Vec<f32> = kept.iter().map(|d| d.score).collect();
        assert_eq!(scores, [0.9, 0.7, 0.6]);
        assert_eq!(batched_nms(kept.clone(), 0.5, 100), kept);
        assert_eq!(batched_nms(kept, 0.5, 2).len(), 2);
    }

    #[test]
    fn iou_at_threshold_is_kept() {
        // IoU exactly 0.5 is not "greater than" 0.5: both stay.
        let a = det([0.0, 0.0, 2.0, 1.0], 0.9, 0);
        let b = det([0.0, 0.0, 1.0, 1.0], 0.8, 0);
        assert_eq!(batched_nms(vec![a, b], 0.5, 10).len(), 2);
    }
}
