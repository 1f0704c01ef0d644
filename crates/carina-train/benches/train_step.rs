//! One training step of tf_efficientdet_d0 (batch 4, 512×512, random images,
//! two boxes each) on burn's autodiff over `flex`, and — where `python3` can
//! import `torch` and `effdet` — the same step in PyTorch on this machine, and
//! the ratio. Run with `cargo bench -p carina-train --bench train_step`
//! (or `carina bench train`, the same code). `CARINA_BENCH_REPEATS` sets the
//! timed repetitions (default 3).

use carina_eval::prepared::median;
use carina_train::bench::time_train_steps;
use carina_train::training_device;
use std::process::Command;

fn main() {
    let repeats: usize = std::env::var("CARINA_BENCH_REPEATS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3)
        .max(1);
    let times = time_train_steps("tf_efficientdet_d0", 512, 4, repeats, &training_device())
        .expect("build D0");
    let ours = median(&times);
    println!(
        "carina-train (burn flex, CPU): one D0 training step, batch 4, 512x512: {ours:.3} s (median of {repeats}: {times:.3?})"
    );
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/effdet_train_step.py");
    let probe = Command::new("python3")
        .args(["-c", "import torch, effdet"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        println!(
            "PyTorch/effdet: not installed here (python3 -c 'import torch, effdet' failed); no comparison"
        );
        return;
    }
    let out = Command::new("python3")
        .args([script, &threads.to_string(), &repeats.to_string()])
        .output()
        .expect("run python3");
    if !out.status.success() {
        println!(
            "PyTorch/effdet: the reference script failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        return;
    }
    let json: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("the script prints JSON");
    let theirs = json["median_s"].as_f64().expect("median_s");
    println!(
        "PyTorch/effdet ({threads} threads): {theirs:.3} s; ratio carina/PyTorch = {:.2}",
        ours / theirs
    );
}
