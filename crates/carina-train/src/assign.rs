//! Anchor labelling as effdet's `AnchorLabeler`: IoU similarity, an argmax
//! matcher with one threshold for matched and unmatched (0.5) and a forced
//! match of every ground-truth box to its best anchor, and box targets encoded
//! with the Faster R-CNN box coder in (y, x) order without scale factors.
//!
//! The box coder is carina-detect's (`encode_box`), the one serving decodes with.
//!
//! Boxes here are `[y_min, x_min, y_max, x_max]` in model-input pixels, the
//! layout effdet's anchors use. Anchors are ordered as effdet orders them
//! (level, then row, then column, then anchor shape), so the targets line up
//! with the flattened network outputs.

use carina_detect::anchors::encode_box;

/// Match result of an anchor that is background.
pub const UNMATCHED: i64 = -1;
/// Match result of an anchor that is neither positive nor background (between
/// the two thresholds; never happens with effdet's equal thresholds).
pub const IGNORED: i64 = -2;

/// One ground-truth box for labelling: `[y_min, x_min, y_max, x_max]` in
/// model-input pixels and a 0-based class id.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GtBox {
    pub yxyx: [f32; 4],
    pub class: u32,
}

/// What each anchor is trained towards.
#[derive(Debug, Clone, PartialEq)]
pub struct AnchorTargets {
    /// Per anchor: the 0-based class of its matched box, `-1` for background,
    /// `-2` for ignored (kept out of the classification loss).
    pub classes: Vec<i32>,
    /// Per anchor: encoded `(ty, tx, th, tw)` of its matched box, zeros otherwise.
    pub boxes: Vec<[f32; 4]>,
    /// Anchors whose match is not "unmatched" (effdet counts ignored ones too).
    pub num_positives: usize,
}

/// Intersection over union of two `yxyx` boxes; 0 where they do not intersect
/// (effdet returns 0 whenever the intersection is exactly 0).
pub fn iou_yxyx(a: &[f32; 4], b: &[f32; 4]) -> f32 {
    let ih = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
    let iw = (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
    let inter = ih * iw;
    if inter == 0.0 {
        return 0.0;
    }
    let area_a = (a[2] - a[0]) * (a[3] - a[1]);
    let area_b = (b[2] - b[0]) * (b[3] - b[1]);
    inter / (area_a + area_b - inter)
}

/// effdet's `ArgMaxMatcher(t, t, negatives_lower_than_unmatched=True,
/// force_match_for_each_row=True)`: for each anchor the index of its matched
/// ground-truth box, or [`UNMATCHED`] / [`IGNORED`].
///
/// Ties go to the first index, as `torch.max` / `torch.argmax` do; when two
/// boxes force-match the same anchor the earlier box wins.
pub fn match_anchors(
    anchors: &[[f32; 4]],
    gts: &[GtBox],
    matched_threshold: f32,
    unmatched_threshold: f32,
) -> Vec<i64> {
    if gts.is_empty() {
        return vec![UNMATCHED; anchors.len()];
    }
    let mut matches = Vec::with_capacity(anchors.len());
    // Per ground-truth box: the best anchor (first on ties) and its IoU.
    let mut best_anchor = vec![(0usize, f32::NEG_INFINITY); gts.len()];
    for (j, anchor) in anchors.iter().enumerate() {
        let mut best = (0usize, f32::NEG_INFINITY);
        for (i, gt) in gts.iter().enumerate() {
            let iou = iou_yxyx(&gt.yxyx, anchor);
            if iou > best.1 {
                best = (i, iou);
            }
            if iou > best_anchor[i].1 {
                best_anchor[i] = (j, iou);
            }
        }
        let m = if best.1 < unmatched_threshold {
            UNMATCHED
        } else if best.1 < matched_threshold {
            IGNORED
        } else {
            best.0 as i64
        };
        matches.push(m);
    }
    // Forced matches: iterate in reverse so that the first box wins a shared anchor.
    for (i, &(j, _)) in best_anchor.iter().enumerate().rev() {
        matches[j] = i as i64;
    }
    matches
}

/// Labels every anchor for one image, as effdet's `AnchorLabeler.label_anchors`
/// with `match_threshold` (0.5 in effdet) for both thresholds.
///
/// Unlike effdet's batched loader, no padding rows are added for images with
/// fewer boxes (effdet's `-1` padding force-matches anchor 0 to a fake box).
pub fn label_anchors(anchors: &[[f32; 4]], gts: &[GtBox], match_threshold: f32) -> AnchorTargets {
    let matches = match_anchors(anchors, gts, match_threshold, match_threshold);
    let mut classes = Vec::with_capacity(anchors.len());
    let mut boxes = Vec::with_capacity(anchors.len());
    let mut num_positives = 0;
    for (anchor, &m) in anchors.iter().zip(&matches) {
        if m >= 0 {
            let gt = &gts[m as usize];
            classes.push(gt.class as i32);
            boxes.push(encode_box(gt.yxyx, *anchor));
        } else {
            // effdet gives unmatched and ignored anchors the same class target
            // (background); -2 only arises from its padding rows.
            classes.push(-1);
            boxes.push([0.0; 4]);
        }
        if m != UNMATCHED {
            num_positives += 1;
        }
    }
    AnchorTargets {
        classes,
        boxes,
        num_positives,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gt(y0: f32, x0: f32, y1: f32, x1: f32, class: u32) -> GtBox {
        GtBox {
            yxyx: [y0, x0, y1, x1],
            class,
        }
    }

    #[test]
    fn iou_by_hand() {
        // 10x10 boxes overlapping in a 5x5 square: 25 / (100 + 100 - 25).
        let a = [0.0, 0.0, 10.0, 10.0];
        let b = [5.0, 5.0, 15.0, 15.0];
        assert!((iou_yxyx(&a, &b) - 25.0 / 175.0).abs() < 1e-7);
        assert_eq!(iou_yxyx(&a, &[10.0, 0.0, 20.0, 10.0]), 0.0);
        assert_eq!(iou_yxyx(&a, &a), 1.0);
    }

    #[test]
    fn thresholds_and_first_index_ties() {
        let anchors = [
            [0.0, 0.0, 10.0, 10.0],   // IoU with gt0 = 1
            [0.0, 5.0, 10.0, 15.0],   // IoU 50/150 = 1/3 < 0.5
            [0.0, 2.0, 10.0, 12.0],   // IoU 80/120 = 2/3
            [50.0, 50.0, 60.0, 60.0], // no overlap
        ];
        let gts = [gt(0.0, 0.0, 10.0, 10.0, 3)];
        let m = match_anchors(&anchors, &gts, 0.5, 0.5);
        assert_eq!(m, vec![0, UNMATCHED, 0, UNMATCHED]);
        // With an ignore band between 0.3 and 0.5 the second anchor is ignored.
        let m = match_anchors(&anchors, &gts, 0.5, 0.3);
        assert_eq!(m, vec![0, IGNORED, 0, UNMATCHED]);
    }

    #[test]
    fn force_match_below_threshold() {
        // A small box whose best anchor has IoU 25/100 = 0.25 still gets that anchor.
        let anchors = [[0.0, 0.0, 10.0, 10.0], [20.0, 20.0, 30.0, 30.0]];
        let gts = [gt(0.0, 0.0, 5.0, 5.0, 1)];
        let t = label_anchors(&anchors, &gts, 0.5);
        assert_eq!(t.classes, vec![1, -1]);
        assert_eq!(t.num_positives, 1);
        // Box centre (2.5, 2.5) vs anchor centre (5, 5), sizes 5 vs 10.
        let want = [-0.25, -0.25, 0.5f32.ln(), 0.5f32.ln()];
        for (got, want) in t.boxes[0].iter().zip(want) {
            assert!((got - want).abs() < 1e-6);
        }
        assert_eq!(t.boxes[1], [0.0; 4]);
    }

    #[test]
    fn argmax_picks_best_box_and_shared_forced_anchor_goes_to_first() {
        let anchors = [[0.0, 0.0, 10.0, 10.0], [0.0, 0.0, 10.0, 12.0]];
        // gt0 = anchor1 exactly (IoU with anchor0 = 100/120); gt1 = anchor0 exactly.
        let gts = [gt(0.0, 0.0, 10.0, 12.0, 0), gt(0.0, 0.0, 10.0, 10.0, 2)];
        let m = match_anchors(&anchors, &gts, 0.5, 0.5);
        assert_eq!(m, vec![1, 0]);
        // Two identical boxes share the same best anchor: the first one keeps it,
        // and on anchor 1 the first box also wins the argmax tie.
        let gts = [gt(0.0, 0.0, 10.0, 10.0, 0), gt(0.0, 0.0, 10.0, 10.0, 5)];
        let t = label_anchors(&anchors, &gts, 0.5);
        assert_eq!(t.classes, vec![0, 0]);
        assert_eq!(t.num_positives, 2);
    }

    #[test]
    fn no_boxes_means_all_background() {
        let anchors = [[0.0, 0.0, 10.0, 10.0]; 3];
        let t = label_anchors(&anchors, &[], 0.5);
        assert_eq!(t.classes, vec![-1; 3]);
        assert_eq!(t.num_positives, 0);
        assert!(t.boxes.iter().all(|b| *b == [0.0; 4]));
    }
}
