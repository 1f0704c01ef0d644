//! One training step of Carina's trainer against effdet's `DetBenchTrain`
//! (`../shared/fixtures/effdet-train/<arch>`, made by effdet 0.4.1 on torch in float32), on
//! flex with the fused batch norm and on the composed path (tensor operations, as on GPU
//! backends): the anchor labels, the three losses, the gradient of every parameter by
//! effdet's name, the batch-norm running statistics after the step, and one AdamW step.
//!
//! Gradients in float32 cannot meet the fixture README's 1e-3 everywhere: effdet's own
//! float32 gradients are up to 15 % (Lite0) and 11 % (D0) of a tensor's largest magnitude away
//! from its float64 ones, and float32 reruns of effdet differ from the fixture as much
//! (`docs/training.md`). `tests/effdet_f64.rs` holds the gradients to effdet's exactly in
//! float64; here each float32 gradient is held within a ceiling of 1e-1 of the fixture (or
//! effdet's own float32 error, where larger), and the tensors beyond 1e-3 and beyond the
//! fixture's error plus four times effdet's float32 noise (both measured by
//! `scripts/effdet_train_reference.py`) are listed: a kink or near-tie (ReLU6, max pool) that
//! flips in float32 moves a few tensors by percents.
//!
//! Differences this found and fixed in the trainer: AdamW's epsilon (burn's default 1e-5, not
//! PyTorch's 1e-8), the running variance (PyTorch's is Bessel-corrected), the momentum (0.1
//! in the backbone, 0.01 in the BiFPN and heads), the precision of the composed batch norm's
//! statistics (losses were 1.5e-5 off), and f32 sums: per-channel factors are spread before
//! they broadcast (D0's composed median gradient error against effdet's exact one fell from
//! 1.1e-2 to 4.6e-3) and the fused batch norm centres before it scales.

use super::effdet_fixture::{Fixture, Step, assert_rel, error_to_fixture, same_parameters};
use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor, TensorData};
use carina_detect::weights::{HostTensor, NamedParam, model_tensors};
use carina_detect::{EfficientDet, EfficientDetConfig};
use carina_train::TrainConfig;
use carina_train::config::OptimizerKind;
use carina_train::trainer::build_optimizer;
use std::collections::HashMap;

/// Below this largest magnitude effdet's exact gradient is zero up to rounding (biases a batch
/// norm follows, levels without positives): float32 values there are rounding alone.
const ZERO: f64 = 1e-9;

/// The float32 ceiling. Where a value sits within float32 rounding of a ReLU6 kink or of a
/// max-pool tie (D0's BiFPN has windows whose two largest values are 2e-7 apart in float64), a
/// float32 run routes a gradient differently, and the change spreads to the layers below:
/// which ties flip depends on every rounding before them, so the tensors beyond effdet's noise
/// change with any change of arithmetic. Measured on 2026-12-08 (largest 5.2e-2): Lite0 5 of
/// 372 tensors beyond it on both paths, D0 23 of 460 fused and none composed.
const FLOAT32_CEILING: f64 = 0.1;

/// Each float32 gradient against the fixture (see the module documentation): within 1e-3 or the
/// fixture's own error plus four times effdet's float32 noise, which most tensors meet (those
/// that do not are listed on stderr), and none beyond [`FLOAT32_CEILING`] or, where effdet's
/// own float32 gradient is further from its float64 one, beyond that. Every tensor off is
/// named in the failure.
fn gradients_match(fx: &Fixture, step: &Step, path: &str) {
    same_parameters(fx, &step.params);
    let (mut off, mut beyond_noise) = (Vec::new(), Vec::new());
    for p in &step.params {
        let r = &fx.reference.params[&p.name];
        let got = step.gradient(p);
        if r.scale < ZERO {
            let worst = got.iter().fold(0f64, |m, v| m.max(v.abs()));
            if worst > 1e-3 {
                off.push(format!("{} (zero) reaches {worst:.2e}", p.name));
            }
            continue;
        }
        let err = error_to_fixture(fx, &p.name, &got);
        let line = format!(
            "{} {err:.2e} (fixture's own error {:.2e}, f32 noise {:.2e})",
            p.name, r.fixture_error, r.f32_noise
        );
        let within_noise = f64::max(1e-3, r.fixture_error + 4.0 * r.f32_noise);
        if err > f64::max(within_noise, FLOAT32_CEILING) {
            off.push(line);
        } else if err > within_noise {
            beyond_noise.push(line);
        }
    }
    assert!(
        off.is_empty(),
        "{} {path}: {} of {} gradients differ from effdet's:\n{}",
        fx.arch,
        off.len(),
        step.params.len(),
        off.join("\n")
    );
    if !beyond_noise.is_empty() {
        eprintln!(
            "{} {path}: {} of {} gradients beyond effdet's float32 noise (float64 holds them):\n{}",
            fx.arch,
            beyond_noise.len(),
            step.params.len(),
            beyond_noise.join("\n")
        );
    }
}

/// Running statistics after the step, as effdet's batch norm (PyTorch) leaves them.
fn running_stats_match(fx: &Fixture, model: &EfficientDet, cfg: &EfficientDetConfig, path: &str) {
    let ours: HashMap<String, HostTensor> = model_tensors(model).into_iter().collect();
    let mut off = std::collections::BTreeSet::new();
    let mut checked = 0;
    for (key, want) in fx.step.iter().filter(|(k, _)| k.starts_with("after_step.")) {
        let name = &key["after_step.".len()..];
        let got = ours
            .get(name)
            .unwrap_or_else(|| panic!("{}: no {name}", fx.arch));
        let before = &fx.weights[name].data;
        for ((a, b), r0) in got.data.iter().zip(&want.data).zip(before) {
            if (a - b).abs() > 1e-5 * (1.0 + b.abs()) {
                // The momentum effdet's value implies, given Carina's batch statistic.
                let m = if name.starts_with("backbone.") {
                    cfg.backbone_bn_momentum
                } else {
                    cfg.bn_momentum
                } as f32;
                let batch = (a - (1.0 - m) * r0) / m;
                let implied = (b - r0) / (batch - r0);
                let part = name.split('.').next().unwrap_or_default();
                off.insert(format!("{part} {implied:.3}"));
            }
        }
        checked += 1;
    }
    assert!(
        off.is_empty(),
        "{} {path}: running statistics differ from effdet's; momentum implied: {off:?}",
        fx.arch
    );
    assert!(checked > 100, "{}: {checked} running statistics", fx.arch);
}

/// One step of Carina's AdamW (lr 1e-3, betas 0.9/0.999, eps 1e-8, weight decay 1e-2)
/// from effdet's own gradients, so that only the optimiser is compared.
fn adamw_matches(fx: &Fixture, model: EfficientDet, params: &[NamedParam], ours: GradientsParams) {
    let mut grads = ours;
    for p in params {
        let want = fx.get(&format!("grad.{}", p.name));
        let data = TensorData::new(want.data.clone(), want.shape.clone());
        match p.rank {
            4 => {
                let device = grads.get::<4>(p.id).unwrap().device();
                grads.remove::<4>(p.id);
                grads.register(p.id, Tensor::<4>::from_data(data, &device));
            }
            _ => {
                let device = grads.get::<1>(p.id).unwrap().device();
                grads.remove::<1>(p.id);
                grads.register(p.id, Tensor::<1>::from_data(data, &device));
            }
        }
    }
    let mut cfg = TrainConfig::default();
    cfg.optim.optimizer = OptimizerKind::Adamw;
    cfg.optim.lr = 1e-3;
    cfg.optim.weight_decay = 1e-2;
    let mut optim = build_optimizer(&cfg);
    let model = optim.step(1e-3, model, grads);
    let after: HashMap<String, HostTensor> = model_tensors(&model).into_iter().collect();
    let mut checked = 0;
    for (key, want) in fx
        .step
        .iter()
        .filter(|(k, _)| k.starts_with("after_adamw."))
    {
        let name = &key["after_adamw.".len()..];
        let worst = after[name]
            .data
            .iter()
            .zip(&want.data)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(
            worst <= 1e-6,
            "{}: {name} after AdamW differs by {worst:e}",
            fx.arch
        );
        checked += 1;
    }
    assert_eq!(checked, 7, "{}: the layers the fixture keeps", fx.arch);
}

/// The whole float32 step on `device`; `path` names it in messages.
fn step_matches(fx: &Fixture, device: &Device, path: &str) {
    let step = Step::run(fx, device);
    step.dump(fx, &format!("{}-f32", path.replace(' ', "_")));
    // Within the README's 1e-5, or, where effdet's own float32 loss is further than that from
    // its float64 one (Lite0's total and box loss: 1.3e-5 and 1.8e-5), within that error plus
    // four times effdet's float32 noise.
    let r = &fx.reference;
    for (i, (name, what)) in [
        ("loss", "loss"),
        ("class_loss", "class loss"),
        ("box_loss", "box loss"),
    ]
    .into_iter()
    .enumerate()
    {
        let tol = f64::max(1e-5, r.loss_fixture_error[i] + 4.0 * r.loss_f32_noise[i]);
        assert_rel(
            step.loss[i],
            fx.scalar(name),
            tol,
            &format!("{} {path} {what}", fx.arch),
        );
    }
    running_stats_match(fx, &step.model, &step.cfg, path);
    gradients_match(fx, &step, path);
    adamw_matches(fx, step.model, &step.params, step.grads);
}

fn check(arch: &str) {
    let _one_at_a_time = super::serial();
    let fx = Fixture::read(arch);
    // Both paths run before either failure is reported.
    let fused = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        step_matches(&fx, &Device::flex().autodiff(), "fused batch norm")
    }));
    let plain = Device::flex().autodiff().gradient_checkpointing();
    step_matches(&fx, &plain, "composed batch norm");
    if let Err(e) = fused {
        std::panic::resume_unwind(e);
    }
}

#[test]
fn lite0_step_is_effdets() {
    check("tf_efficientdet_lite0");
}

#[test]
fn d0_step_is_effdets() {
    check("tf_efficientdet_d0");
}
