//! pycocotools' `accumulate`: precision at 101 recall points and the final
//! recall, per IoU threshold, category, area range and detection limit.

use super::image::PairEval;
use super::{MAX_DETS, N_AREAS, N_RECALL, N_THRS, recall_thresholds};

/// numpy's `np.spacing(1)`: added to the precision's denominator.
const EPS: f64 = f64::EPSILON;

/// Precision `[T][R][A][M]` and recall `[T][A][M]` of one category.
pub(crate) struct CategoryCurves {
    pub precision: Vec<f64>,
    pub recall: Vec<f64>,
    /// Score at which each precision point is reached, `[T][R][A][M]`.
    pub scores: Vec<f64>,
}

pub(crate) fn p_index(t: usize, r: usize, a: usize, m: usize) -> usize {
    ((t * N_RECALL + r) * N_AREAS + a) * MAX_DETS.len() + m
}

pub(crate) fn r_index(t: usize, a: usize, m: usize) -> usize {
    (t * N_AREAS + a) * MAX_DETS.len() + m
}

/// Accumulates one category from its pairs, which must be in image order.
pub(crate) fn accumulate_category(pairs: &[&PairEval]) -> CategoryCurves {
    let n_m = MAX_DETS.len();
    let mut precision = vec![-1.0; N_THRS * N_RECALL * N_AREAS * n_m];
    let mut recall = vec![-1.0; N_THRS * N_AREAS * n_m];
    let mut scores = vec![-1.0; N_THRS * N_RECALL * N_AREAS * n_m];
    let rec_thrs = recall_thresholds();
    for a in 0..N_AREAS {
        let npig: usize = pairs.iter().map(|p| p.areas[a].n_gt).sum();
        if npig == 0 || pairs.is_empty() {
            continue;
        }
        for (m, &max_det) in MAX_DETS.iter().enumerate() {
            // (pair, detection) in concatenation order, then a stable sort by score.
            let mut order: Vec<(u32, u32)> = Vec::new();
            for (pi, p) in pairs.iter().enumerate() {
                let n = p.dt_scores.len().min(max_det);
                order.extend((0..n).map(|d| (pi as u32, d as u32)));
            }
            let score = |&(p, d): &(u32, u32)| pairs[p as usize].dt_scores[d as usize];
            order.sort_by(|x, y| {
                score(y)
                    .partial_cmp(&score(x))
                    .unwrap_or(std::cmp::Ordering::Equal)
            });
            let sorted_scores: Vec<f64> = order.iter().map(score).collect();
            let nd = order.len();
            let mut pr = vec![0.0; nd];
            let mut rc = vec![0.0; nd];
            for t in 0..N_THRS {
                let (mut tp, mut fp) = (0u64, 0u64);
                for (i, &(p, d)) in order.iter().enumerate() {
                    let ae = &pairs[p as usize].areas[a];
                    let n_d = pairs[p as usize].dt_scores.len();
                    let idx = t * n_d + d as usize;
                    if !ae.dt_ignored[idx] {
                        if ae.dt_matched[idx] {
                            tp += 1;
                        } else {
                            fp += 1;
                        }
                    }
                    let (tpf, fpf) = (tp as f64, fp as f64);
                    rc[i] = tpf / npig as f64;
                    pr[i] = tpf / (fpf + tpf + EPS);
                }
                recall[r_index(t, a, m)] = if nd > 0 { rc[nd - 1] } else { 0.0 };
                // The precision envelope: make it non-increasing from the right.
                for i in (1..nd).rev() {
                    if pr[i] > pr[i - 1] {
                        pr[i - 1] = pr[i];
                    }
                }
                // np.searchsorted(rc, recThrs, side="left"); points past the
                // end keep precision 0 (and score 0), as the reference's
                // caught IndexError leaves them.
                let mut pi = 0;
                for (r, &thr) in rec_thrs.iter().enumerate() {
                    while pi < nd && rc[pi] < thr {
                        pi += 1;
                    }
                    let (q, s) = if pi < nd {
                        (pr[pi], sorted_scores[pi])
                    } else {
                        (0.0, 0.0)
                    };
                    precision[p_index(t, r, a, m)] = q;
                    scores[p_index(t, r, a, m)] = s;
                }
            }
        }
    }
    CategoryCurves {
        precision,
        recall,
        scores,
    }
}
