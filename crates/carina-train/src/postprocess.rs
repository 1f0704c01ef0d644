//! From raw outputs to detections during validation, following effdet's
//! `generate_detections`: the best `max_points` (anchor, class) logits,
//! boxes decoded on their anchors, class-wise NMS at IoU 0.5, the best
//! `max_det` kept, scores as sigmoids.

use crate::assign::decode;

/// One detection in model-input pixels, `[x_min, y_min, x_max, y_max]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RawDetection {
    pub xyxy: [f32; 4],
    pub score: f32,
    pub class: u32,
}

fn iou_xyxy(a: &[f32; 4], b: &[f32; 4]) -> f32 {
    let iw = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
    let ih = (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
    let inter = iw * ih;
    let union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
    if union <= 0.0 { 0.0 } else { inter / union }
}

/// Detections of one image from its class logits (`T × K`, anchor-major) and
/// box codes (`T × 4`) over `anchors` (`T`, `yxyx`).
pub fn detect(
    logits: &[f32],
    codes: &[f32],
    anchors: &[[f32; 4]],
    num_classes: usize,
    max_points: usize,
    iou_threshold: f32,
    max_det: usize,
) -> Vec<RawDetection> {
    let mut idx: Vec<usize> = (0..logits.len()).collect();
    let k = max_points.min(idx.len());
    if k < idx.len() {
        idx.select_nth_unstable_by(k, |&a, &b| logits[b].total_cmp(&logits[a]));
        idx.truncate(k);
    }
    // Highest score first, ties by index (a stable order).
    idx.sort_by(|&a, &b| logits[b].total_cmp(&logits[a]).then(a.cmp(&b)));
    let mut kept: Vec<RawDetection> = Vec::new();
    for i in idx {
        let anchor = i / num_classes;
        let class = (i % num_classes) as u32;
        let code = [
            codes[anchor * 4],
            codes[anchor * 4 + 1],
            codes[anchor * 4 + 2],
            codes[anchor * 4 + 3],
        ];
        let [y0, x0, y1, x1] = decode(&code, &anchors[anchor]);
        let xyxy = [x0, y0, x1, y1];
        if kept
            .iter()
            .any(|d| d.class == class && iou_xyxy(&d.xyxy, &xyxy) > iou_threshold)
        {
            continue;
        }
        kept.push(RawDetection {
            xyxy,
            score: 1.0 / (1.0 + (-logits[i]).exp()),
            class,
        });
        if kept.len() == max_det {
            break;
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assign::encode;

    #[test]
    fn decodes_ranks_and_suppresses() {
        let anchors = [
            [0.0, 0.0, 10.0, 10.0],
            [0.0, 1.0, 10.0, 11.0],
            [50.0, 50.0, 60.0, 60.0],
        ];
        // Two classes. Anchor 0 and 1 both say class 0 on almost the same box; anchor 2 class 1.
        let logits = [3.0, -5.0, 2.0, -5.0, -5.0, 1.0];
        let target = [2.0, 2.0, 12.0, 12.0];
        let mut codes = Vec::new();
        for a in &anchors[..2] {
            codes.extend(encode(&target, a));
        }
        codes.extend([0.0; 4]);
        let d = detect(&logits, &codes, &anchors, 2, 5000, 0.5, 100);
        // Kept: a0·c0, a2·c1, a0·c1, a2·c0; a1 duplicates a0 in both classes.
        assert_eq!(d.len(), 4, "{d:?}");
        assert_eq!(d[0].class, 0);
        for k in 0..4 {
            assert!((d[0].xyxy[k] - [2.0, 2.0, 12.0, 12.0][k]).abs() < 1e-4);
        }
        assert!((d[0].score - 1.0 / (1.0 + (-3.0f32).exp())).abs() < 1e-6);
        // The duplicate from anchor 1 was suppressed; next is anchor 2's class 1.
        assert_eq!(d[1].class, 1);
        assert_eq!(d[1].xyxy, [50.0, 50.0, 60.0, 60.0]);
        let top1 = detect(&logits, &codes, &anchors, 2, 1, 0.5, 100);
        assert_eq!(top1.len(), 1);
    }
}
