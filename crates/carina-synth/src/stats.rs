//! Where and how large each finding's box is on real radiographs: deciles
//! of the NIH ChestX-ray14 box list (`scripts/nih_box_stats.py` printed the
//! table; the test `nih_stats_match_box_list` recomputes it from the CSV).
//!
//! Coordinates are fractions of the (square, 1024 px) NIH image: `dx` is the
//! distance of the box centre from the vertical midline, `cy` the centre's
//! height, `w`/`h` the box size. Source: NIH Clinical Center, ChestX-ray14
//! box list (Wang et al., "ChestX-ray8", CVPR 2017).

use carina_core::Finding;
use rand::Rng;

/// Deciles (0 %, 10 %, …, 100 %) of one finding's boxes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BoxStats {
    /// Number of boxes behind the figures (0 for the priors).
    pub n: usize,
    /// Share of boxes whose centre lies on the image's right half.
    pub p_image_right: f32,
    pub dx: [f32; 11],
    pub cy: [f32; 11],
    pub w: [f32; 11],
    pub h: [f32; 11],
}

/// Indexed by class id ([`Finding::class_id`]).
pub const BOX_STATS: [BoxStats; 9] = [
    // Atelectasis: 180 NIH boxes
    BoxStats {
        n: 180,
        p_image_right: 0.5,
        dx: [
            0.0048, 0.0869, 0.1196, 0.1598, 0.1795, 0.2, 0.2188, 0.2429, 0.2726, 0.2951, 0.4253,
        ],
        cy: [
            0.2286, 0.4288, 0.4732, 0.5166, 0.5492, 0.572, 0.5979, 0.6369, 0.6632, 0.707, 0.8887,
        ],
        w: [
            0.0497, 0.0985, 0.1153, 0.137, 0.1514, 0.1673, 0.1993, 0.2225, 0.2536, 0.3205, 0.8517,
        ],
        h: [
            0.0289, 0.0632, 0.0763, 0.0886, 0.1017, 0.1149, 0.1406, 0.1648, 0.1939, 0.2224, 0.4289,
        ],
    },
    // Cardiomegaly: 146 NIH boxes
    BoxStats {
        n: 146,
        p_image_right: 0.9452,
        dx: [
            0.0101, 0.0267, 0.0376, 0.05, 0.0646, 0.0744, 0.0862, 0.0971, 0.1123, 0.1323, 0.2198,
        ],
        cy: [
            0.3958, 0.4911, 0.5151, 0.5336, 0.5519, 0.5658, 0.5857, 0.5995, 0.6274, 0.6465, 0.7286,
        ],
        w: [
            0.357, 0.4031, 0.429, 0.4399, 0.4513, 0.4664, 0.482, 0.4899, 0.5132, 0.5349, 0.6466,
        ],
        h: [
            0.2521, 0.2971, 0.328, 0.3406, 0.3619, 0.3732, 0.3845, 0.3947, 0.4159, 0.4413, 0.5312,
        ],
    },
    // Consolidation: not in the NIH list. Prior: like infiltration but
    // denser and so usually a little smaller, commoner in the lower zones.
    BoxStats {
        n: 0,
        p_image_right: 0.5,
        dx: [
            0.08, 0.12, 0.15, 0.17, 0.19, 0.21, 0.23, 0.25, 0.27, 0.3, 0.34,
        ],
        cy: [
            0.25, 0.36, 0.42, 0.47, 0.51, 0.54, 0.57, 0.6, 0.63, 0.67, 0.75,
        ],
        w: [
            0.08, 0.11, 0.13, 0.15, 0.16, 0.18, 0.2, 0.22, 0.25, 0.29, 0.36,
        ],
        h: [
            0.07, 0.1, 0.12, 0.14, 0.15, 0.17, 0.19, 0.21, 0.24, 0.28, 0.36,
        ],
    },
    // Infiltration: 123 NIH boxes
    BoxStats {
        n: 123,
        p_image_right: 0.561,
        dx: [
            0.0022, 0.0309, 0.0787, 0.1341, 0.156, 0.1772, 0.1943, 0.2072, 0.2226, 0.2517, 0.3122,
        ],
        cy: [
            0.1778, 0.3836, 0.4296, 0.4732, 0.5036, 0.5192, 0.5477, 0.5785, 0.6151, 0.6747, 0.7984,
        ],
        w: [
            0.0933, 0.1553, 0.1814, 0.1937, 0.2106, 0.2222, 0.2361, 0.2498, 0.305, 0.6533, 0.7344,
        ],
        h: [
            0.0544, 0.1462, 0.1805, 0.194, 0.2256, 0.2593, 0.305, 0.3536, 0.411, 0.4764, 0.6178,
        ],
    },
    // Nodule/Mass: 164 NIH boxes (79 Nodule + 85 Mass)
    BoxStats {
        n: 164,
        p_image_right: 0.4939,
        dx: [
            0.0072, 0.0817, 0.1263, 0.1658, 0.194, 0.2119, 0.24, 0.2615, 0.2842, 0.3151, 0.4095,
        ],
        cy: [
            0.2063, 0.2939, 0.3439, 0.3775, 0.4135, 0.4492, 0.5019, 0.5314, 0.5843, 0.655, 0.8286,
        ],
        w: [
            0.0275, 0.0508, 0.0624, 0.0721, 0.0795, 0.0894, 0.0997, 0.1124, 0.1352, 0.2147, 0.6822,
        ],
        h: [
            0.0254, 0.0491, 0.0571, 0.0708, 0.0762, 0.0884, 0.1077, 0.1313, 0.1658, 0.2654, 0.6589,
        ],
    },
    // Pleural Thickening: not in the NIH list. Prior: a narrow band on the
    // lateral chest wall or an apical cap, so far from the midline, tall
    // and thin (apical caps are wide and short: the upper deciles of w).
    BoxStats {
        n: 0,
        p_image_right: 0.5,
        dx: [
            0.22, 0.26, 0.28, 0.3, 0.31, 0.32, 0.33, 0.34, 0.35, 0.36, 0.4,
        ],
        cy: [
            0.12, 0.17, 0.21, 0.26, 0.31, 0.36, 0.41, 0.46, 0.51, 0.56, 0.64,
        ],
        w: [
            0.025, 0.035, 0.04, 0.045, 0.05, 0.056, 0.063, 0.075, 0.1, 0.14, 0.2,
        ],
        h: [
            0.04, 0.07, 0.1, 0.13, 0.16, 0.19, 0.22, 0.25, 0.28, 0.32, 0.4,
        ],
    },
    // Pneumothorax: 98 NIH boxes
    BoxStats {
        n: 98,
        p_image_right: 0.4286,
        dx: [
            0.0733, 0.1476, 0.1655, 0.1785, 0.191, 0.1992, 0.2097, 0.2221, 0.261, 0.3248, 0.418,
        ],
        cy: [
            0.0231, 0.1452, 0.168, 0.2038, 0.2285, 0.2532, 0.3295, 0.3757, 0.485, 0.6091, 0.8136,
        ],
        w: [
            0.0333, 0.0853, 0.1176, 0.1411, 0.1684, 0.1967, 0.2171, 0.2396, 0.2706, 0.3096, 0.418,
        ],
        h: [
            0.0211, 0.0828, 0.1038, 0.1304, 0.1553, 0.2011, 0.2344, 0.2656, 0.3629, 0.5172, 0.7933,
        ],
    },
    // Pulmonary Fibrosis: not in the NIH list. Prior: peripheral and basal
    // reticulation, one box per lung, large.
    BoxStats {
        n: 0,
        p_image_right: 0.5,
        dx: [
            0.14, 0.18, 0.2, 0.22, 0.23, 0.24, 0.25, 0.26, 0.28, 0.3, 0.34,
        ],
        cy: [
            0.35, 0.42, 0.46, 0.5, 0.52, 0.54, 0.56, 0.58, 0.6, 0.63, 0.68,
        ],
        w: [
            0.1, 0.13, 0.15, 0.16, 0.17, 0.19, 0.2, 0.22, 0.24, 0.27, 0.32,
        ],
        h: [
            0.1, 0.14, 0.17, 0.19, 0.21, 0.23, 0.25, 0.27, 0.3, 0.34, 0.42,
        ],
    },
    // Pleural Effusion: 153 NIH boxes
    BoxStats {
        n: 153,
        p_image_right: 0.4902,
        dx: [
            0.0006, 0.189, 0.215, 0.2342, 0.2505, 0.2794, 0.2964, 0.3081, 0.3302, 0.3535, 0.4132,
        ],
        cy: [
            0.2513, 0.4182, 0.4611, 0.5017, 0.5394, 0.5603, 0.6022, 0.6229, 0.6617, 0.7124, 0.8545,
        ],
        w: [
            0.0267, 0.0991, 0.1384, 0.1659, 0.1858, 0.2032, 0.2233, 0.2474, 0.2695, 0.31, 0.88,
        ],
        h: [
            0.05, 0.0871, 0.124, 0.1758, 0.2258, 0.2709, 0.3201, 0.4068, 0.505, 0.5879, 0.8529,
        ],
    },
];

pub fn stats(f: Finding) -> &'static BoxStats {
    &BOX_STATS[f.class_id() as usize]
}

/// Inverse-CDF sample from deciles, kept away from the extreme tails (the
/// 2nd..98th percentile) so one odd NIH box does not dominate.
pub fn sample_deciles<R: Rng>(rng: &mut R, q: &[f32; 11]) -> f32 {
    let p = rng.random_range(0.02f32..0.98) * 10.0;
    let i = (p as usize).min(9);
    let t = p - i as f32;
    q[i] + (q[i + 1] - q[i]) * t
}

/// A target box in NIH-normalised image coordinates: centre and size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TargetBox {
    /// +1 when the centre is on the image right (the patient's left).
    pub image_right: bool,
    pub dx: f32,
    pub cy: f32,
    pub w: f32,
    pub h: f32,
}

pub fn sample_target<R: Rng>(rng: &mut R, f: Finding) -> TargetBox {
    let s = stats(f);
    TargetBox {
        image_right: rng.random::<f32>() < s.p_image_right,
        dx: sample_deciles(rng, &s.dx),
        cy: sample_deciles(rng, &s.cy),
        w: sample_deciles(rng, &s.w),
        h: sample_deciles(rng, &s.h),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn quantile(sorted: &[f64], q: f64) -> f64 {
        let pos = q * (sorted.len() - 1) as f64;
        let lo = pos as usize;
        let hi = (lo + 1).min(sorted.len() - 1);
        sorted[lo] * (1.0 - (pos - lo as f64)) + sorted[hi] * (pos - lo as f64)
    }

    /// Recomputes the committed table from the NIH box list in ../shared.
    #[test]
    fn nih_stats_match_box_list() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/data/nih/BBox_List_2017.csv");
        let mut rd = csv::ReaderBuilder::new()
            .flexible(true)
            .from_path(&path)
            .expect("NIH box list in ../shared");
        let mut per: BTreeMap<u32, Vec<[f64; 5]>> = BTreeMap::new();
        for rec in rd.records() {
            let rec = rec.unwrap();
            let Some(f) = Finding::from_nih(&rec[1]) else {
                continue;
            };
            let v: Vec<f64> = (2..6)
                .map(|i| rec[i].parse::<f64>().unwrap() / 1024.0)
                .collect();
            let (cx, cy) = (v[0] + v[2] / 2.0, v[1] + v[3] / 2.0);
            let right = if cx > 0.5 { 1.0 } else { 0.0 };
            per.entry(f.class_id())
                .or_default()
                .push([(cx - 0.5).abs(), cy, v[2], v[3], right]);
        }
        assert_eq!(per.len(), 6, "six of the nine findings are in the NIH list");
        for (id, boxes) in per {
            let s = &BOX_STATS[id as usize];
            assert_eq!(s.n, boxes.len(), "class {id}");
            let right = boxes.iter().map(|b| b[4]).sum::<f64>() / boxes.len() as f64;
            assert!((f64::from(s.p_image_right) - right).abs() < 1e-3);
            for (col, table) in [&s.dx, &s.cy, &s.w, &s.h].into_iter().enumerate() {
                let mut vals: Vec<f64> = boxes.iter().map(|b| b[col]).collect();
                vals.sort_by(f64::total_cmp);
                for (k, t) in table.iter().enumerate() {
                    let q = quantile(&vals, k as f64 / 10.0);
                    assert!(
                        (f64::from(*t) - q).abs() < 1e-3,
                        "class {id} col {col} decile {k}: {t} vs {q}"
                    );
                }
            }
        }
        for f in [
            Finding::Consolidation,
            Finding::PleuralThickening,
            Finding::PulmonaryFibrosis,
        ] {
            assert_eq!(stats(f).n, 0, "{} is a prior", f.name());
        }
    }

    #[test]
    fn deciles_are_sorted_and_samples_stay_inside() {
        use rand::SeedableRng;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        for s in &BOX_STATS {
            for q in [&s.dx, &s.cy, &s.w, &s.h] {
                assert!(q.windows(2).all(|p| p[0] <= p[1]));
                for _ in 0..100 {
                    let v = sample_deciles(&mut rng, q);
                    assert!(v >= q[0] && v <= q[10]);
                }
            }
        }
    }
}
