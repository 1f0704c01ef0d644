//! `carina dataset synth`: writes a synthetic prepared dataset; refuses bad
//! arguments with a message and a non-zero exit.

use crate::{carina, shared_dir};
use carina_core::coco::CocoDataset;
use carina_core::manifest::PreparedManifest;

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).to_string()
}

#[test]
fn writes_a_prepared_dataset() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("synth");
    let o = carina(&[
        "dataset",
        "synth",
        "--count",
        "12",
        "--out",
        out.to_str().unwrap(),
        "--seed",
        "3",
        "--size",
        "128",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(summary["synthetic"], true);
    assert_eq!(summary["images"]["val"], 2);
    assert_eq!(summary["per_class"].as_object().unwrap().len(), 9);
    let m: PreparedManifest =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert!(m.synthetic && m.image_size == 128 && m.seed == Some(3));
    let train: CocoDataset =
        serde_json::from_slice(&std::fs::read(out.join(&m.splits["train"])).unwrap()).unwrap();
    assert_eq!(train.images.len(), 10);
    assert!(train.images.iter().all(|i| i.synthetic == Some(true)));
    assert!(!train.annotations.is_empty());
    for i in &train.images {
        assert!(out.join("images").join(&i.file_name).is_file());
    }
}

#[test]
fn insert_mode_with_real_backgrounds() {
    let bgs = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(shared_dir().join("data/samples/jpeg")).unwrap() {
        let p = e.unwrap().path();
        if p.file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("NORMAL2-")
        {
            std::fs::copy(&p, bgs.path().join(p.file_name().unwrap())).unwrap();
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ins");
    let o = carina(&[
        "dataset",
        "synth",
        "--count",
        "4",
        "--out",
        out.to_str().unwrap(),
        "--mode",
        "insert",
        "--backgrounds",
        bgs.path().to_str().unwrap(),
        "--size",
        "128",
        "--bit-depth",
        "16",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let m: PreparedManifest =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m.bit_depth, 16);
    assert_eq!(m.sources, ["synth:insert"]);
}

#[test]
fn bad_arguments_fail_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x");
    let o = carina(&[
        "dataset",
        "synth",
        "--count",
        "0",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(
        text(&o.stderr).contains("count must be at least 1"),
        "{}",
        text(&o.stderr)
    );
    assert!(!out.exists());

    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let o = carina(&[
        "dataset",
        "synth",
        "--count",
        "2",
        "--out",
        out.to_str().unwrap(),
        "--mode",
        "insert",
        "--backgrounds",
        empty.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(
        text(&o.stderr).contains("no PNG or JPEG"),
        "{}",
        text(&o.stderr)
    );

    let o = carina(&[
        "dataset",
        "synth",
        "--count",
        "2",
        "--out",
        out.to_str().unwrap(),
        "--mode",
        "insert",
    ]);
    assert!(!o.status.success());
    assert!(
        text(&o.stderr).contains("--backgrounds"),
        "{}",
        text(&o.stderr)
    );

    // An output path under a regular file cannot be written.
    let file = dir.path().join("file");
    std::fs::write(&file, b"x").unwrap();
    let o = carina(&[
        "dataset",
        "synth",
        "--count",
        "1",
        "--out",
        file.join("sub").to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(text(&o.stderr).contains("error:"), "{}", text(&o.stderr));

    let o = carina(&[
        "dataset",
        "synth",
        "--count",
        "1",
        "--out",
        out.to_str().unwrap(),
        "--bit-depth",
        "12",
    ]);
    assert!(!o.status.success());
    assert!(text(&o.stderr).contains("bit depth"), "{}", text(&o.stderr));
}
