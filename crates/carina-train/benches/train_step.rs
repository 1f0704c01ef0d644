//! One training step of tf_efficientdet_d0 (batch 4, 512×512, random images,
//! two boxes each) on burn's autodiff over `flex`, and — where `python3` can
//! import `torch` and `effdet` — the same step in PyTorch on this machine, and
//! the ratio. Run with `cargo bench -p carina-train --bench train_step`.
//! `CARINA_BENCH_REPEATS` sets the timed repetitions (default 3).

use burn::optim::{GradientsParams, SgdConfig};
use burn::tensor::{Distribution, Tensor};
use carina_train::assign::{GtBox, label_anchors};
use carina_train::config::LossConfig;
use carina_train::loss::{BatchTargets, detection_loss, flatten_levels};
use carina_train::model::{DetectionModel, clip_grad_norm};
use carina_train::{TrainConfig, effdet, training_device};
use std::process::Command;
use std::time::Instant;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let repeats: usize = std::env::var("CARINA_BENCH_REPEATS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3)
        .max(1);
    let device = training_device();
    let cfg = TrainConfig::default(); // tf_efficientdet_d0 from scratch, 512 px
    let names: Vec<String> = carina_core::Finding::ALL
        .iter()
        .map(|f| f.name().to_string())
        .collect();
    let (mut model, spec) = effdet::build(&cfg, &names, &device).expect("build D0");
    let gts = [
        GtBox {
            yxyx: [100.0, 120.0, 220.0, 260.0],
            class: 0,
        },
        GtBox {
            yxyx: [300.0, 40.0, 380.0, 110.0],
            class: 4,
        },
    ];
    let labels: Vec<_> = (0..4)
        .map(|_| label_anchors(&spec.anchors, &gts, 0.5))
        .collect();
    let x: Tensor<4> = Tensor::random([4, 3, 512, 512], Distribution::Normal(0.0, 1.0), &device);
    let mut optim = SgdConfig::new().init();
    let loss_cfg = LossConfig::default();
    let mut times = Vec::new();
    for i in 0..=repeats {
        let t = Instant::now();
        let (c, b) = model.forward_raw(x.clone());
        let targets = BatchTargets::new(&labels, spec.num_classes, &device);
        let loss = detection_loss(
            flatten_levels(c, spec.num_classes),
            flatten_levels(b, 4),
            &targets,
            &loss_cfg,
        );
        let mut grads = GradientsParams::from_grads(loss.total.backward(), &model);
        let (m, _) = clip_grad_norm(model, &mut grads, 10.0);
        model = optim.step(0.01, m, grads);
        let _ = loss.total.into_scalar::<f32>();
        if i > 0 {
            times.push(t.elapsed().as_secs_f64());
        }
    }
    let ours = median(times.clone());
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
