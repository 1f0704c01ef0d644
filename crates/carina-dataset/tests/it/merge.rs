//! `merge_csv` against the ensemble-boxes reference in shared/fixtures/wbf.

use crate::common::shared_dir;
use carina_dataset::merge::{MergedRow, merge_csv, write_merged};
use carina_eval::wbf::WbfParams;
use std::path::Path;

struct Expected {
    image_id: String,
    class_id: u32,
    coords: [f64; 4],
    score: f64,
}

fn read_expected(path: &Path) -> Vec<Expected> {
    let mut rdr = csv::Reader::from_path(path).unwrap();
    rdr.records()
        .map(|r| {
            let r = r.unwrap();
            let f = |i: usize| r[i].parse::<f64>().unwrap();
            Expected {
                image_id: r[0].to_string(),
                class_id: r[2].parse().unwrap(),
                coords: [f(3), f(4), f(5), f(6)],
                score: f(7),
            }
        })
        .collect()
}

/// Matches every expected row to one output row of the same image and class
/// (order within an image is not significant) and returns the largest
/// coordinate and score differences.
fn compare(got: &[MergedRow], expected: &[Expected]) -> (f64, f64) {
    assert_eq!(got.len(), expected.len());
    let mut used = vec![false; got.len()];
    let (mut max_c, mut max_s) = (0.0f64, 0.0f64);
    for e in expected {
        let (best, dc) = got
            .iter()
            .enumerate()
            .filter(|(i, g)| !used[*i] && g.image_id == e.image_id && g.class_id == e.class_id)
            .map(|(i, g)| {
                let d = g
                    .bbox
                    .to_array()
                    .iter()
                    .zip(e.coords)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0, f64::max);
                (i, d)
            })
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .unwrap_or_else(|| panic!("no output row for {} class {}", e.image_id, e.class_id));
        used[best] = true;
        max_c = max_c.max(dc);
        max_s = max_s.max((got[best].score - e.score).abs());
    }
    (max_c, max_s)
}

#[test]
fn wbf_fixture_both_thresholds() {
    let dir = shared_dir().join("fixtures/wbf");
    for (thr, file) in [(0.6, "expected_iou0.6.csv"), (0.4, "expected_iou0.4.csv")] {
        let params = WbfParams {
            iou_thr: thr,
            skip_box_thr: 0.0,
        };
        let got = merge_csv(&dir.join("readers.csv"), &params).unwrap();
        let (dc, ds) = compare(&got, &read_expected(&dir.join(file)));
        eprintln!("iou_thr {thr}: max coordinate error {dc:e} px, max score error {ds:e}");
        assert!(dc < 0.01, "coordinates off by {dc}");
        assert!(ds < 1e-6, "scores off by {ds}");
        // Images whose readers only said "No finding" give no rows.
        assert!(got.iter().all(|r| r.image_id != "img7_002"));
    }
}

/// `readers.csv` with its rows interleaved differently: images and readers
/// in reverse order, the (image, reader) groups mixed by a fixed
/// pseudo-random walk; each reader's own rows keep their order (product.md:
/// a reader's boxes are taken in file order).
fn shuffled_rows(text: &str, seed: u64) -> String {
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let mut groups: Vec<((String, String), Vec<&str>)> = Vec::new();
    for line in lines.filter(|l| !l.is_empty()) {
        let cols: Vec<&str> = line.split(',').collect();
        let key = (cols[0].to_string(), cols[3].to_string());
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, rows)) => rows.push(line),
            None => groups.push((key, vec![line])),
        }
    }
    groups.reverse();
    let mut queues: Vec<std::collections::VecDeque<&str>> =
        groups.into_iter().map(|(_, rows)| rows.into()).collect();
    let mut state = seed;
    let mut out = vec![header.to_string()];
    while queues.iter().any(|q| !q.is_empty()) {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let open: Vec<usize> = (0..queues.len())
            .filter(|i| !queues[*i].is_empty())
            .collect();
        let pick = open[(state >> 33) as usize % open.len()];
        out.push(queues[pick].pop_front().unwrap().to_string());
    }
    out.join("\n") + "\n"
}

/// Rows sorted by image, class, box and score, for comparing two merges.
fn canonical(rows: &[MergedRow]) -> Vec<(String, u32, [u64; 4], u64)> {
    let mut v: Vec<_> = rows
        .iter()
        .map(|r| {
            let c = r.bbox.to_array().map(f64::to_bits);
            (r.image_id.clone(), r.class_id, c, r.score.to_bits())
        })
        .collect();
    v.sort();
    v
}

#[test]
fn row_order_does_not_change_the_fusion() {
    let dir = shared_dir().join("fixtures/wbf");
    let text = std::fs::read_to_string(dir.join("readers.csv")).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    for thr in [0.6, 0.4] {
        let params = WbfParams {
            iou_thr: thr,
            skip_box_thr: 0.0,
        };
        let reference = canonical(&merge_csv(&dir.join("readers.csv"), &params).unwrap());
        for seed in 1..=8u64 {
            let shuffled = shuffled_rows(&text, seed);
            assert_ne!(shuffled, text, "seed {seed} left the file as it was");
            let p = tmp.path().join(format!("shuffled-{seed}.csv"));
            std::fs::write(&p, &shuffled).unwrap();
            let got = canonical(&merge_csv(&p, &params).unwrap());
            assert_eq!(got, reference, "iou_thr {thr}, seed {seed}");
        }
    }
}

#[test]
fn written_csv_reads_back_exactly() {
    let dir = shared_dir().join("fixtures/wbf");
    let got = merge_csv(&dir.join("readers.csv"), &WbfParams::default()).unwrap();
    let mut buf = Vec::new();
    write_merged(&got, &mut buf).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out.csv");
    std::fs::write(&out, &buf).unwrap();
    let back = read_expected(&out);
    let (dc, ds) = compare(&got, &back);
    assert_eq!((dc, ds), (0.0, 0.0));
}

#[test]
fn merge_refuses_bad_rows_with_their_lines() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("r.csv");
    std::fs::write(
        &p,
        "image_id,class_name,class_id,rad_id,x_min,y_min,x_max,y_max\n\
         a,Atelectasis,0,R1,1,1,5,5\n\
         a,Atelectasis,0,R2,1,1,nan,5\n\
         a,Cardiomegaly,0,R2,1,1,5,5\n",
    )
    .unwrap();
    let e = merge_csv(&p, &WbfParams::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("r.csv:3") && e.contains("r.csv:4"), "{e}");
}
