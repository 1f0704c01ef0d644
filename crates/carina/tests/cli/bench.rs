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
