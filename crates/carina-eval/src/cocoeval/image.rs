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
    /// Per kept detection and area range: bit `t` set when the detection is
    /// matched at IoU threshold `t` ([`MATCHED`]), bit `16 + t` when it is
    /// ignored ([`IGNORED`]). Compact so that accumulating reads little memory.
    pub flags: Vec<[u32; 4]>,
    /// Per area range: ground truths that are not ignored.
    pub n_gt: [usize; 4],
}

/// Shift of the "matched" bits: matched to a ground truth whose id is not 0
/// (pycocotools stores the matched id and tests it for truth, so id 0 never counts).
pub(crate) const MATCHED: u32 = 0;
/// Shift of the "ignored" bits.
pub(crate) const IGNORED: u32 = 16;

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
    let mut flags = vec![[0u32; 4]; n_d];
    let mut n_gt = [0usize; 4];
    for (a, &(lo, hi)) in AREA_RANGES.iter().enumerate() {
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
                        if ignored[m] {
                            flags[d][a] |= 1 << (IGNORED + t as u32);
                        }
                        if gts[m].id != 0 {
                            flags[d][a] |= 1 << (MATCHED + t as u32);
                        }
                        gt_taken[m] = true;
                    }
                }
            }
        }
        // Unmatched detections outside the area range are ignored.
        for (d, det) in dt.iter().enumerate() {
            let area = det.bbox[2] * det.bbox[3];
            if area < lo || area > hi {
                for t in 0..t_count as u32 {
                    if flags[d][a] & (1 << (MATCHED + t)) == 0 {
                        flags[d][a] |= 1 << (IGNORED + t);
                    }
                }
            }
        }
        n_gt[a] = ignored.iter().filter(|i| !**i).count();
    }
    PairEval {
        k,
        image,
        dt_scores: dt.iter().map(|d| d.score).collect(),
        flags,
        n_gt,
    }
}
