//! `carina dataset import|merge|prepare|export`: the real NIH list, a
//! generated VinDr file, the WBF fixtures and bad inputs.

use crate::{carina, shared_dir};
use std::path::Path;

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn import_real_nih_box_list() {
    let dir = tempfile::tempdir().unwrap();
    let nih = shared_dir().join("data/nih/BBox_List_2017.csv");
    let out = dir.path().join("nih.json");
    let report = dir.path().join("report.json");
    let o = carina(&[
        "dataset",
        "import",
        "--format",
        "nih",
        s(&nih),
        "-o",
        s(&out),
        "--report",
        s(&report),
    ]);
    let stdout = text(&o.stdout);
    assert!(o.status.success(), "{stdout}{}", text(&o.stderr));
    assert!(stdout.contains("images 880 seen / 880 kept"), "{stdout}");
    assert!(
        stdout.contains("boxes 984 read / 864 kept / 120 dropped"),
        "{stdout}"
    );
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(r["boxes_read"], 984);
    assert_eq!(r["images_seen"], 880);
    assert_eq!(r["per_class"]["Pneumonia"]["kept"], 0);
    assert_eq!(r["per_class"]["Pneumonia"]["dropped_not_in_label_set"], 120);
    assert_eq!(r["per_class"]["Effusion"]["mapped_to"], "Pleural Effusion");
    assert_eq!(r["per_class"]["Effusion"]["kept"], 153);
    let coco: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(coco["images"].as_array().unwrap().len(), 880);
    assert_eq!(coco["annotations"].as_array().unwrap().len(), 864);
    assert_eq!(coco["images"][0]["width"], 1024);
}

const VINDR: &str = "\
image_id,class_name,class_id,rad_id,x_min,y_min,x_max,y_max
a,Cardiomegaly,3,R1,50,40,150,90
a,Cardiomegaly,3,R2,52,42,148,92
a,Aortic enlargement,0,R1,90,10,110,30
b,No finding,14,R1,,,,
b,Nodule/Mass,8,R2,NaN,20,40,40
b,Pleural effusion,10,R2,5,5,-3,40
";

fn write_vindr(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let images = dir.join("images");
    std::fs::create_dir_all(&images).unwrap();
    for (id, w, h) in [("a", 200, 100), ("b", 100, 120)] {
        image::GrayImage::from_fn(w, h, |x, y| image::Luma([((x + 2 * y) % 256) as u8]))
            .save(images.join(format!("{id}.png")))
            .unwrap();
    }
    let csv = dir.join("train.csv");
    std::fs::write(&csv, VINDR).unwrap();
    (csv, images)
}

#[test]
fn import_generated_vindr_reports_lines_and_strict_fails() {
    let dir = tempfile::tempdir().unwrap();
    let (csv, images) = write_vindr(dir.path());
    let out = dir.path().join("v.json");
    let o = carina(&[
        "dataset",
        "import",
        "--format",
        "vindr",
        s(&csv),
        "--images",
        s(&images),
        "-o",
        s(&out),
    ]);
    let stdout = text(&o.stdout);
    assert!(o.status.success(), "{stdout}{}", text(&o.stderr));
    assert!(stdout.contains("train.csv:6: InvalidBox"), "{stdout}");
    assert!(stdout.contains("train.csv:7: InvalidBox"), "{stdout}");
    assert!(out.exists());
    let strict_out = dir.path().join("strict.json");
    let o = carina(&[
        "dataset",
        "import",
        "--format",
        "vindr",
        s(&csv),
        "--strict",
        "-o",
        s(&strict_out),
    ]);
    assert!(!o.status.success());
    assert!(text(&o.stderr).contains("--strict"), "{}", text(&o.stderr));
    assert!(!strict_out.exists());
}

#[test]
fn import_bad_inputs_fail_with_file_and_place() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.csv");
    std::fs::write(&empty, "").unwrap();
    let o = carina(&["dataset", "import", "--format", "vindr", s(&empty)]);
    assert!(!o.status.success());
    assert!(
        text(&o.stderr).contains("empty.csv: the file is empty"),
        "{}",
        text(&o.stderr)
    );

    let json = dir.path().join("bad.json");
    std::fs::write(&json, "{\"images\": [}").unwrap();
    let o = carina(&["dataset", "import", "--format", "coco", s(&json)]);
    assert!(!o.status.success());
    let e = text(&o.stderr);
    assert!(
        e.contains("bad.json") && e.contains("line 1, column"),
        "{e}"
    );

    let o = carina(&[
        "dataset",
        "import",
        "--format",
        "nih",
        s(&dir.path().join("none.csv")),
    ]);
    assert!(!o.status.success());
    assert!(text(&o.stderr).contains("none.csv"));

    let o = carina(&["dataset", "import", "--format", "xml", s(&json)]);
    assert!(!o.status.success());
}

fn read_csv(p: &Path) -> Vec<Vec<String>> {
    let mut r = csv::Reader::from_path(p).unwrap();
    r.records()
        .map(|x| x.unwrap().iter().map(str::to_string).collect())
        .collect()
}

#[test]
fn merge_matches_ensemble_boxes_fixtures() {
    let dir = tempfile::tempdir().unwrap();
    let fixtures = shared_dir().join("fixtures/wbf");
    for (thr, expected) in [
        ("0.6", "expected_iou0.6.csv"),
        ("0.4", "expected_iou0.4.csv"),
    ] {
        let out = dir.path().join(format!("out{thr}.csv"));
        let o = carina(&[
            "dataset",
            "merge",
            s(&fixtures.join("readers.csv")),
            "-o",
            s(&out),
            "--iou-thr",
            thr,
            "--skip-box-thr",
            "0",
        ]);
        assert!(o.status.success(), "{}", text(&o.stderr));
        let header = std::fs::read_to_string(&out).unwrap();
        assert!(header.starts_with("image_id,class_name,class_id,x_min,y_min,x_max,y_max,score\n"));
        let mut got = read_csv(&out);
        let want = read_csv(&fixtures.join(expected));
        assert_eq!(got.len(), want.len());
        for w in &want {
            let num = |r: &Vec<String>, i: usize| r[i].parse::<f64>().unwrap();
            let pos = got
                .iter()
                .position(|g| {
                    g[0] == w[0]
                        && g[1] == w[1]
                        && g[2] == w[2]
                        && (3..7).all(|i| (num(g, i) - num(w, i)).abs() < 0.01)
                        && (num(g, 7) - num(w, 7)).abs() < 1e-6
                })
                .unwrap_or_else(|| panic!("iou {thr}: no output row matches {w:?}"));
            got.remove(pos);
        }
    }
}

#[test]
fn merge_bad_input_names_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("r.csv");
    std::fs::write(
        &p,
        "image_id,class_name,class_id,rad_id,x_min,y_min,x_max,y_max\na,Atelectasis,0,R1,1,1,abc,5\n",
    )
    .unwrap();
    let out = dir.path().join("o.csv");
    let o = carina(&["dataset", "merge", s(&p), "-o", s(&out)]);
    assert!(!o.status.success());
    assert!(text(&o.stderr).contains("r.csv:2"), "{}", text(&o.stderr));
    assert!(!out.exists());
}

#[test]
fn prepare_then_export_round() {
    let dir = tempfile::tempdir().unwrap();
    let (csv, images) = write_vindr(dir.path());
    let out = dir.path().join("prepared");
    let o = carina(&[
        "dataset",
        "prepare",
        "--format",
        "vindr",
        s(&csv),
        "--images",
        s(&images),
        "--out",
        s(&out),
        "--size",
        "64",
        "--seed",
        "3",
    ]);
    assert!(o.status.success(), "{}{}", text(&o.stdout), text(&o.stderr));
    assert!(text(&o.stdout).contains("ms per image"));
    for f in ["manifest.json", "train.json", "val.json", "summary.json"] {
        assert!(out.join(f).exists(), "{f}");
    }
    // Running again into the same folder is refused.
    let o = carina(&[
        "dataset",
        "prepare",
        "--format",
        "vindr",
        s(&csv),
        "--images",
        s(&images),
        "--out",
        s(&out),
    ]);
    assert!(!o.status.success());
    assert!(text(&o.stderr).contains("not empty"));

    let json = dir.path().join("v.json");
    let o = carina(&[
        "dataset",
        "import",
        "--format",
        "vindr",
        s(&csv),
        "--images",
        s(&images),
        "-o",
        s(&json),
    ]);
    assert!(o.status.success());
    let yolo = dir.path().join("yolo");
    let o = carina(&[
        "dataset",
        "export",
        "--from",
        s(&json),
        "--format",
        "yolo",
        "-o",
        s(&yolo),
        "--source",
        "radiologist",
        "--status",
        "manual",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let a = std::fs::read_to_string(yolo.join("a.txt")).unwrap();
    assert_eq!(a.lines().count(), 2, "{a}");
    assert!(
        a.starts_with("1 0.500000 0.650000 0.500000 0.500000"),
        "{a}"
    );
    let vindr = dir.path().join("out.csv");
    let o = carina(&[
        "dataset",
        "export",
        "--from",
        s(&json),
        "--format",
        "vindr",
        "-o",
        s(&vindr),
        "--source",
        "model",
    ]);
    assert!(o.status.success());
    // No model boxes: both images become "No finding" rows of their readers.
    let rows = read_csv(&vindr);
    assert!(rows.iter().all(|r| r[1] == "No finding"), "{rows:?}");
    let o = carina(&[
        "dataset",
        "export",
        "--from",
        s(&json),
        "--format",
        "coco",
        "-o",
        s(&vindr),
        "--status",
        "maybe",
    ]);
    assert!(!o.status.success());
    assert!(text(&o.stderr).contains("maybe"));
}

#[test]
fn import_with_no_usable_row_fails_and_names_every_line() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("nih_bad.csv");
    std::fs::write(
        &csv,
        "Image Index,Finding Label,Bbox [x,y,w,h],,,\n\
         00000001_000.png,Nodule,10,20,-5,30\n\
         00000002_000.png,Mass,10,20,NaN,30\n\
         00000003_000.png,Mass,10,20,5\n",
    )
    .unwrap();
    let out = dir.path().join("out.json");
    let o = carina(&[
        "dataset",
        "import",
        "--format",
        "nih",
        s(&csv),
        "-o",
        s(&out),
    ]);
    assert!(!o.status.success());
    let stdout = text(&o.stdout);
    for line in [
        "nih_bad.csv:2: InvalidBox",
        "nih_bad.csv:3: InvalidBox",
        "nih_bad.csv:4: MalformedRow",
    ] {
        assert!(stdout.contains(line), "{line}: {stdout}");
    }
    assert!(
        text(&o.stderr).contains("no usable row (3 read, 3 rejected)"),
        "{}",
        text(&o.stderr)
    );
    assert!(!out.exists(), "nothing written");
}
