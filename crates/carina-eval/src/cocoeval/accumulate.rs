//! pycocotools' `accumulate`: precision at 101 recall points and the final
//! recall, per IoU threshold, category, area range and detection limit.

use super::image::{IGNORED, MATCHED, PairEval};
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
    if pairs.is_empty() {
        return CategoryCurves {
            precision,
            recall,
            scores,
        };
    }
    // (pair, detection) in concatenation order (images in id order), then a
    // stable sort by score: numpy's mergesort of `-dtScores`. Cutting each
    // pair to its first `maxDet` detections keeps the relative order, so the
    // order for maxDets 1 and 10 is this one filtered.
    let mut full: Vec<(u32, u32)> = Vec::new();
    for (pi, p) in pairs.iter().enumerate() {
        full.extend((0..p.dt_scores.len()).map(|d| (pi as u32, d as u32)));
    }
    let score = |&(p, d): &(u32, u32)| pairs[p as usize].dt_scores[d as usize];
    full.sort_by(|x, y| {
        score(y)
            .partial_cmp(&score(x))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let most = pairs.iter().map(|p| p.dt_scores.len()).max().unwrap_or(0);
    let npigs: Vec<usize> = (0..N_AREAS)
        .map(|a| pairs.iter().map(|p| p.n_gt[a]).sum())
        .collect();
    let m_last = n_m - 1;
    for (m, &max_det) in MAX_DETS.iter().enumerate().rev() {
        if m < m_last && max_det >= most {
            // No pair has more detections than this limit: same as maxDets 100.
            for a in 0..N_AREAS {
                for t in 0..N_THRS {
                    recall[r_index(t, a, m)] = recall[r_index(t, a, m_last)];
                    for r in 0..N_RECALL {
                        precision[p_index(t, r, a, m)] = precision[p_index(t, r, a, m_last)];
                        scores[p_index(t, r, a, m)] = scores[p_index(t, r, a, m_last)];
                    }
                }
            }
            continue;
        }
        let order: Vec<(u32, u32)> = full
            .iter()
            .copied()
            .filter(|&(_, d)| (d as usize) < max_det)
            .collect();
        let sorted_scores: Vec<f64> = order.iter().map(score).collect();
        for (a, &npig) in npigs.iter().enumerate() {
            if npig == 0 {
                continue;
            }
            let flags: Vec<u32> = order
                .iter()
                .map(|&(p, d)| pairs[p as usize].flags[d as usize][a])
                .collect();
            for t in 0..N_THRS {
                let (reached, points) = pr_curve(&flags, t, npig, &sorted_scores, &rec_thrs);
                recall[r_index(t, a, m)] = reached;
                for (r, (q, s)) in points.into_iter().enumerate() {
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

/// One area range at IoU threshold `t`, over detections in score order
/// (`flags` and `sorted_scores`): the recall reached, and at each recall
/// threshold the interpolated precision and its detection's score.
fn pr_curve(
    flags: &[u32],
    t: usize,
    npig: usize,
    sorted_scores: &[f64],
    rec_thrs: &[f64],
) -> (f64, Vec<(f64, f64)>) {
    let nd = flags.len();
    let mut pr = vec![0.0; nd];
    let mut rc = vec![0.0; nd];
    let (mut tp, mut fp) = (0u64, 0u64);
    let (m_bit, i_bit) = (1 << (MATCHED + t as u32), 1 << (IGNORED + t as u32));
    for (i, &f) in flags.iter().enumerate() {
        if f & i_bit == 0 {
            if f & m_bit != 0 {
                tp += 1;
            } else {
                fp += 1;
            }
        }
        let (tpf, fpf) = (tp as f64, fp as f64);
        rc[i] = tpf / npig as f64;
        pr[i] = tpf / (fpf + tpf + EPS);
    }
    let reached = if nd > 0 { rc[nd - 1] } else { 0.0 };
    // The precision envelope: make it non-increasing from the right.
    for i in (1..nd).rev() {
        if pr[i] > pr[i - 1] {
            pr[i - 1] = pr[i];
        }
    }
    // np.searchsorted(rc, recThrs, side="left"); points past the end keep
    // precision 0 (and score 0), as the reference's caught IndexError leaves them.
    let mut pi = 0;
    let points = rec_thrs
        .iter()
        .map(|&thr| {
            while pi < nd && rc[pi] < thr {
                pi += 1;
            }
            if pi < nd {
                (pr[pi], sorted_scores[pi])
            } else {
                (0.0, 0.0)
            }
        })
        .collect();
    (reached, points)
}
