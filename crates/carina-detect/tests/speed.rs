//! Forward-pass timing of D0 at 512×512, batch 1, on the flex CPU backend. Not a pass/fail
//! test: run with `cargo test -p carina-detect --test speed -- --ignored --nocapture`.

use std::path::PathBuf;
use std::time::Instant;

use burn::prelude::*;
use carina_detect::weights::{ClassHead, WeightsFile, load_weights};
use carina_detect::{EfficientDet, EfficientDetConfig};

#[test]
#[ignore = "timing, run on demand"]
fn d0_forward_median() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/effdet/tf_efficientdet_d0/weights.safetensors");
    let weights = WeightsFile::read(&path).unwrap();
    let cfg = EfficientDetConfig::from_arch("tf_efficientdet_d0", 9).unwrap();
    let device = Device::flex();
    let mut model = EfficientDet::new(&cfg, &device).unwrap();
    load_weights(&mut model, &weights.tensors, ClassHead::Load).unwrap();
    let input: Vec<f32> = (0..3 * 512 * 512)
        .map(|i| ((i % 255) as f32 / 255.0) - 0.5)
        .collect();
    let run = || {
        let x = Tensor::<4>::from_data(TensorData::new(input.clone(), [1, 3, 512, 512]), &device);
        let started = Instant::now();
        let out = model.forward(x);
        // Reading the outputs back makes sure the work is done.
        for t in out.class.iter().chain(&out.boxes) {
            let _ = t.to_data();
        }
        started.elapsed().as_secs_f64() * 1e3
    };
    run(); // warm-up
    let mut times: Vec<f64> = (0..7).map(|_| run()).collect();
    times.sort_by(f64::total_cmp);
    eprintln!(
        "D0 512x512 forward (burn flex): median {:.0} ms, min {:.0} ms, max {:.0} ms over {} runs",
        times[times.len() / 2],
        times[0],
        times[times.len() - 1],
        times.len()
    );
}
