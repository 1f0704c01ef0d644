//! Matching of one (image, category) pair, as pycocotools' `computeIoU` and
//! `evaluateImg` do it.

use super::{AREA_RANGES, MAX_DET, iou_thresholds};
use crate::input::{Detection, GtBox};

/// The outcome of matching one (image, category) pair for every area range.
pub(crate) struct PairEval {
    /// Index of the category in the sorted category list.
    pub k: usize,
    /// Index of the image in the sorted image list.
    pub image: usize,
    /// Scores of the kept detections, highest first (at most [`MAX_DET`]).
    pub dt_scores: Vec<f64>,
    /// Per area range.
    pub areas: [AreaEval; 4],
}

/// Matching at every IoU threshold for one area range; `[t * D + d]`.
#[derive(Default)]
pub(crate) struct AreaEval {
    /// The detection matched a ground truth whose id is not 0 (pycocotools
    /// stores the matched id and tests it for truth, so id 0 never counts).
    pub dt_matched: Vec<bool>,
    pub dt_ignored: Vec<bool>,
    /// Ground truths that are not ignored in this area range.
    pub n_gt: usize,
}

/// IoU of detection `d` and ground truth `g`, both `[x, y, w, h]`, as
/// pycocotools' C `bbIou` computes it: for crowd ground truth the union is
/// the detection's area.
pub(crate) fn coco_iou(d: &[f64; 4], g: &[f64; 4], crowd: bool) -> f64 {
    let w = (d[2] + d[0]).min(g[2] + g[0]) - d[0].max(g[0]);
    if w <= 0.0 {
        return 0.0;
    }
    let h = (d[3] + d[1]).min(g[3] + g[1]) - d[1].max(g[1]);
    if h <= 0.0 {
        return 0.0;
    }
    let da = d[2] * d[3];
    let ga = g[2] * g[3];
    let i = w * h;
    let u = if crowd { da } else { da + ga - i };
    i / u
}

/// Detections of a pair sorted by score, highest first, ties in input order
/// (numpy's mergesort of `-score`), cut to the `MAX_DET` best.
pub(crate) fn sorted_detections<'a>(dts: &[&'a Detection]) -> Vec<&'a Detection> {
    let mut v: Vec<&Detection> = dts.to_vec();
    // `partial_cmp` (not `total_cmp`) so that 0.0 and -0.0 tie as in numpy.
    v.sort_by(|a, b| {
        b.score
            .partial_cmp(&a.score)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    v.truncate(MAX_DET);
    v
}

/// Evaluates one (image, category) pair. `gts` and `dts` are in input order.
pub(crate) fn evaluate_pair(
    k: usize,
    image: usize,
    gts: &[&GtBox],
    dts: &[&Detection],
) -> PairEval {
    let dt = sorted_detections(dts);
    let (n_d, n_g) = (dt.len(), gts.len());
    let mut ious = vec![0.0; n_d * n_g];
    for (di, d) in dt.iter().enumerate() {
        for (gi, g) in gts.iter().enumerate() {
            ious[di * n_g + gi] = coco_iou(&d.bbox, &g.bbox, g.iscrowd);
        }
    }
    let thresholds = iou_thresholds();
    let t_count = thresholds.len();
    let mut areas: [AreaEval; 4] = Default::default();
    for (area, &(lo, hi)) in areas.iter_mut().zip(AREA_RANGES.iter()) {
        // pycocotools replaces a ground truth's `ignore` by its `iscrowd`.
        let ignored: Vec<bool> = gts
            .iter()
            .map(|g| g.iscrowd || g.area < lo || g.area > hi)
            .collect();
        // Not-ignored ground truths first, each group in input order.
        let order: Vec<usize> = (0..n_g)
            .filter(|&g| !ignored[g])
            .chain((0..n_g).filter(|&g| ignored[g]))
            .collect();
        let mut dt_matched = vec![false; t_count * n_d];
        let mut dt_ignored = vec![false; t_count * n_d];
        if n_d > 0 && n_g > 0 {
            let mut gt_taken = vec![false; n_g];
            for (t, &thr) in thresholds.iter().enumerate() {
                gt_taken.iter_mut().for_each(|x| *x = false);
                for d in 0..n_d {
                    let mut best = thr.min(1.0 - 1e-10);
                    let mut m: Option<usize> = None;
                    for &g in &order {
                        if gt_taken[g] && !gts[g].iscrowd {
                            continue;
                        }
                        // Once matched to a regular ground truth, ignored ones cannot win.
                        if m.is_some_and(|m| !ignored[m]) && ignored[g] {
                            break;
                        }
                        let iou = ious[d * n_g + g];
                        if iou < best {
                            continue;
                        }
                        best = iou;
                        m = Some(g);
                    }
                    if let Some(m) = m {
                        dt_ignored[t * n_d + d] = ignored[m];
                        dt_matched[t * n_d + d] = gts[m].id != 0;
                        gt_taken[m] = true;
                    }
                }
            }
        }
        // Unmatched detections outside the area range are ignored.
        for (d, det) in dt.iter().enumerate() {
            let a = det.bbox[2] * det.bbox[3];
            if a < lo || a > hi {
                for t in 0..t_count {
                    if !dt_matched[t * n_d + d] {
                        dt_ignored[t * n_d + d] = true;
                    }
                }
            }
        }
        *area = AreaEval {
            dt_matched,
            dt_ignored,
            n_gt: ignored.iter().filter(|i| !**i).count(),
        };
    }
    PairEval {
        k,
        image,
        dt_scores: dt.iter().map(|d| d.score).collect(),
        areas,
    }
}
