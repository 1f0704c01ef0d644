//! A detection confusion matrix over the classes plus "background".
//!
//! Per image, with detections of score ≥ `score_thr` of *any* class: every
//! (non-crowd ground truth, detection) pair with IoU ≥ `iou_thr` is a
//! candidate; candidates are taken in descending IoU order (ties: ground
//! truth, then detection, in input order), each ground truth and each
//! detection at most once, so every ground truth gets the best-overlapping
//! detection still free. Then:
//! - a matched pair counts in row = ground-truth class, column = detected class;
//! - an unmatched ground truth counts in its row, column "background" (missed);
//! - an unmatched detection counts in row "background", its class's column
//!   (false positive), unless it covers a crowd region (IoU over its own
//!   area ≥ `iou_thr`), in which case it is not counted.
//!
//! The background/background cell is always 0.

use crate::cocoeval::coco_iou;
use crate::input::{Detection, GroundTruth, GtBox};
use serde::Serialize;
use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConfusionMatrix {
    /// Class names in ascending category-id order, then "background".
    pub labels: Vec<String>,
    /// `counts[ground truth][detection]`, `(K + 1) × (K + 1)`.
    pub counts: Vec<Vec<usize>>,
    pub score_thr: f64,
    pub iou_thr: f64,
}

impl ConfusionMatrix {
    /// Index of "background" in `labels` and `counts`.
    pub fn background(&self) -> usize {
        self.labels.len() - 1
    }
}

pub fn confusion_matrix(
    gt: &GroundTruth,
    dets: &[Detection],
    score_thr: f64,
    iou_thr: f64,
) -> ConfusionMatrix {
    let mut cats = gt.categories.clone();
    cats.sort_by_key(|c| c.id);
    let k_of: HashMap<i64, usize> = cats.iter().enumerate().map(|(k, c)| (c.id, k)).collect();
    let bg = cats.len();
    let mut counts = vec![vec![0usize; bg + 1]; bg + 1];

    let mut per_image: HashMap<i64, (Vec<&GtBox>, Vec<&Detection>)> = HashMap::new();
    for a in &gt.annotations {
        per_image.entry(a.image_id).or_default().0.push(a);
    }
    for d in dets.iter().filter(|d| d.score >= score_thr) {
        per_image.entry(d.image_id).or_default().1.push(d);
    }
    for (gts, ds) in per_image.values() {
        let mut candidates: Vec<(f64, usize, usize)> = Vec::new();
        for (gi, g) in gts.iter().enumerate().filter(|(_, g)| !g.iscrowd) {
            for (di, d) in ds.iter().enumerate() {
                let iou = coco_iou(&d.bbox, &g.bbox, false);
                if iou >= iou_thr {
                    candidates.push((iou, gi, di));
                }
            }
        }
        candidates.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
        let mut g_used = vec![false; gts.len()];
        let mut d_used = vec![false; ds.len()];
        for (_, gi, di) in candidates {
            if g_used[gi] || d_used[di] {
                continue;
            }
            g_used[gi] = true;
            d_used[di] = true;
            if let (Some(&r), Some(&c)) = (
                k_of.get(&gts[gi].category_id),
                k_of.get(&ds[di].category_id),
            ) {
                counts[r][c] += 1;
            }
        }
        for (gi, g) in gts.iter().enumerate() {
            if !g.iscrowd
                && !g_used[gi]
                && let Some(&r) = k_of.get(&g.category_id)
            {
                counts[r][bg] += 1;
            }
        }
        for (di, d) in ds.iter().enumerate() {
            if d_used[di] {
                continue;
            }
            let on_crowd = gts
                .iter()
                .any(|g| g.iscrowd && coco_iou(&d.bbox, &g.bbox, true) >= iou_thr);
            if let (false, Some(&c)) = (on_crowd, k_of.get(&d.category_id)) {
                counts[bg][c] += 1;
            }
        }
    }
    let mut labels: Vec<String> = cats.into_iter().map(|c| c.name).collect();
    labels.push("background".to_owned());
    ConfusionMatrix {
        labels,
        counts,
        score_thr,
        iou_thr,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::Category;

    fn gt() -> GroundTruth {
        let b = |id, cat, bbox| GtBox {
            id,
            image_id: 1,
            category_id: cat,
            bbox,
            area: 100.0,
            iscrowd: false,
            ignore: false,
        };
        GroundTruth {
            images: vec![1],
            categories: vec![
                Category {
                    id: 0,
                    name: "a".into(),
                },
                Category {
                    id: 1,
                    name: "b".into(),
                },
            ],
            annotations: vec![
                b(1, 0, [0.0, 0.0, 10.0, 10.0]),
                b(2, 1, [50.0, 50.0, 10.0, 10.0]),
                b(3, 1, [80.0, 80.0, 10.0, 10.0]),
            ],
        }
    }

    fn det(cat: i64, bbox: [f64; 4], score: f64) -> Detection {
        Detection {
            image_id: 1,
            category_id: cat,
            bbox,
            score,
        }
    }

    #[test]
    fn right_wrong_missed_and_false_positive() {
        let dets = vec![
            det(0, [0.0, 0.0, 10.0, 10.0], 0.9),   // right class
            det(0, [50.0, 50.0, 10.0, 11.0], 0.8), // wrong class on a "b"
            det(1, [200.0, 0.0, 10.0, 10.0], 0.7), // false positive
            det(1, [80.0, 80.0, 10.0, 10.0], 0.2), // below the threshold: "b" missed
        ];
        let cm = confusion_matrix(&gt(), &dets, 0.5, 0.5);
        assert_eq!(cm.labels, ["a", "b", "background"]);
        assert_eq!(cm.counts, vec![vec![1, 0, 0], vec![1, 0, 1], vec![0, 1, 0]]);
    }
}
