//! `carina bench …`: the benchmarks run on small generated data.

use crate::carina;
use std::process::Command;

#[test]
fn bench_eval_times_carina_without_pycocotools() {
    let out = carina(&[
        "bench",
        "eval",
        "--images",
        "60",
        "--dets",
        "400",
        "--runs",
        "2",
        "--python",
        "/nonexistent/python3",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("synthetic"), "{text}");
    assert!(
        text.contains("carina:") && text.contains("median of 2"),
        "{text}"
    );
    assert!(text.contains("pycocotools: not installed"), "{text}");
}

#[test]
fn bench_eval_agrees_with_pycocotools_where_installed() {
    let has = Command::new("python3")
        .args(["-c", "import pycocotools"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has {
        eprintln!("pycocotools is not installed here: only the Carina side was checked");
        return;
    }
    let out = carina(&[
        "bench", "eval", "--images", "80", "--dets", "900", "--runs", "1", "--seed", "3",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("the twelve COCO numbers agree"), "{text}");
    assert!(text.contains("speed-up:"), "{text}");
}

#[test]
fn bench_eval_refuses_zero_runs() {
    let out = carina(&["bench", "eval", "--runs", "0"]);
    assert!(!out.status.success());
}

#[test]
fn bench_detect_times_every_engine_of_the_build() {
    let out = carina(&[
        "bench",
        "detect",
        "--runs",
        "1",
        "--warmup",
        "0",
        "--python",
        "/nonexistent/python3",
        "--profile",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("512x512, batch 1"), "{text}");
    // --profile: tract's operations, the convolutions among them, with their share.
    assert!(text.contains("tract per operation (1 runs)"), "{text}");
    let ops: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("tract per operation"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .collect();
    assert!(ops.len() >= 5, "{text}");
    assert!(ops.iter().any(|l| l.contains("Conv")), "{text}");
    assert!(
        ops.iter()
            .all(|l| l.contains("ms") && l.contains('%') && l.contains("nodes")),
        "{text}"
    );
    assert!(text.contains("seeded random weights"), "{text}");
    for engine in ["burn", "tract"] {
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("carina {engine} ")))
            .unwrap_or_else(|| panic!("no {engine} line: {text}"));
        assert!(line.contains("median") && line.contains("1 runs"), "{line}");
        assert!(line.contains("peak RSS"), "{line}");
    }
    let ort = text.lines().find(|l| l.starts_with("carina ort ")).unwrap();
    if !cfg!(feature = "ort") {
        assert!(
            ort.contains("skipped") && ort.contains("--features ort"),
            "{ort}"
        );
    }
    // No Python: both reference sides say so, and no ratio is made up.
    assert!(
        text.contains("effdet (PyTorch)       skipped: cannot run /nonexistent/python3"),
        "{text}"
    );
    assert!(text.contains("onnxruntime (Python)   skipped"), "{text}");
    assert!(!text.lines().any(|l| l.starts_with("ratio")), "{text}");

    let out = carina(&["bench", "detect", "--runs", "0"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--runs must be at least 1"));
}

#[test]
fn bench_train_refuses_a_device_this_build_lacks_before_any_work() {
    let mut cases = vec![("tpu", "unknown device")];
    if !cfg!(feature = "wgpu") {
        cases.push(("wgpu", "--features wgpu"));
    }
    for (device, says) in cases {
        let out = carina(&["bench", "train", "--device", device, "--repeats", "1"]);
        assert!(!out.status.success(), "{device}: should fail");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{device}: {err}");
        assert!(out.stdout.is_empty(), "{device}: nothing timed");
    }
}
