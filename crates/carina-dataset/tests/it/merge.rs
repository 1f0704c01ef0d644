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
