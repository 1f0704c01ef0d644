//! Carina's training step in float64 against effdet's, for every parameter of Lite0 and D0.
//!
//! In float32 neither implementation's gradients are exact (effdet's own are up to 15 % of a
//! tensor's largest magnitude from its float64 ones, see `tests/train/effdet_step.rs`), so the
//! step is run here in float64 on flex (the composed path: the fused kernels are float32) and
//! held to effdet's float64 step, summarised in `tests/data/effdet_train_reference.json` by
//! `scripts/effdet_train_reference.py`:
//!
//! - the three losses within 1e-6;
//! - every gradient: two signed sums over all its elements within 5e-5 of the sum of its
//!   magnitudes (measured: 3.4e-6 Lite0, 6.7e-6 D0; every element within 5e-7 of the
//!   tensor's largest magnitude);
//!   gradients that are zero up to rounding (biases a batch norm follows, levels no
//!   positive reaches) below 1e-9;
//! - every gradient element against effdet's float32 fixture within the README's 1e-3 of the
//!   tensor's largest magnitude, or, where the fixture is itself further than that from the
//!   exact gradient, within the fixture's own measured error plus 5e-5 (measured: 7.8e-6;
//!   effdet's float64 step keeps its class loss in float32, which is most of that).
//!
//! Its own binary: the device's default float type is set once per process.

#[path = "effdet/fixture.rs"]
mod effdet_fixture;

use burn::tensor::{Device, FloatDType};
use effdet_fixture::{ARCHS, Fixture, Step, assert_rel, error_to_fixture, same_parameters, sign};

fn step_is_effdets_in_f64(device: &Device, arch: &str) {
    let fx = Fixture::read(arch);
    let step = Step::run(&fx, device);
    step.dump(&fx, "composed_f64");
    let names = ["loss", "class loss", "box loss"];
    for ((got, want), what) in step.loss.iter().zip(fx.reference.loss).zip(names) {
        assert_rel(*got, want, 1e-6, &format!("{arch} {what} (float64)"));
    }
    same_parameters(&fx, &step.params);
    let mut off = Vec::new();
    let (mut worst_proj, mut worst_excess) = (0f64, 0f64);
    for p in &step.params {
        let r = &fx.reference.params[&p.name];
        let got = step.gradient(p);
        if r.scale < 1e-9 {
            // Zero up to rounding (a batch norm follows the bias, or no positives reach it).
            let worst = got.iter().fold(0f64, |m, v| m.max(v.abs()));
            if worst > 1e-9 {
                off.push(format!("{} should be zero, reaches {worst:e}", p.name));
            }
            continue;
        }
        for (k, want) in r.proj.iter().enumerate() {
            let sum: f64 = got
                .iter()
                .zip(sign(got.len(), k as u64))
                .map(|(g, s)| g * s)
                .sum();
            worst_proj = worst_proj.max((sum - want).abs() / r.l1);
            if (sum - want).abs() > 5e-5 * r.l1.max(1e-300) {
                off.push(format!(
                    "{} projection {k}: {sum:e} vs effdet's {want:e} (of {:e})",
                    p.name, r.l1
                ));
            }
        }
        let err = error_to_fixture(&fx, &p.name, &got);
        worst_excess = worst_excess.max(err - r.fixture_error);
        let tol = f64::max(1e-3, r.fixture_error + 5e-5);
        if err > tol {
            off.push(format!(
                "{} {err:.2e} from the fixture (its own error {:.2e})",
                p.name, r.fixture_error
            ));
        }
    }
    eprintln!(
        "{arch} float64: projections within {worst_proj:.1e} of the magnitude sums; \
         no element further from the fixture than effdet's exact gradient by over \
         {worst_excess:.1e} of the largest"
    );
    assert!(
        off.is_empty(),
        "{arch} float64: {} of {} gradients differ from effdet's:\n{}",
        off.len(),
        step.params.len(),
        off.join("\n")
    );
}

#[test]
fn lite0_and_d0_steps_are_effdets_in_float64() {
    let mut device = Device::flex();
    device
        .configure(FloatDType::F64)
        .expect("flex computes in float64");
    let device = device.autodiff().gradient_checkpointing();
    for arch in ARCHS {
        step_is_effdets_in_f64(&device, arch);
    }
}
