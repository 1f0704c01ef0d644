//! One full training step of a detector on random images (forward, effdet
//! loss, backward, clipping, SGD update), timed: the body of
//! `carina bench train` and of `cargo bench -p carina-train --bench train_step`.
//! The PyTorch/effdet reference is `benches/effdet_train_step.py`.

use crate::assign::{GtBox, label_anchors};
use crate::config::LossConfig;
use crate::loss::{BatchTargets, detection_loss, flatten_levels};
use crate::model::{DetectionModel, clip_grad_norm};
use crate::{TrainConfig, TrainError, effdet};
use burn::optim::{GradientsParams, SgdConfig};
use burn::tensor::{Device, Distribution, Tensor};
use std::time::Instant;

/// The PyTorch/effdet side (tf_efficientdet_d0, batch 4, 512 px), for `python3 - THREADS REPEATS`;
/// it prints `{"median_s": …, "runs": […]}`.
pub const EFFDET_SCRIPT: &str = include_str!("../benches/effdet_train_step.py");

/// Seconds of each of `repeats` timed training steps (after one untimed warm-up step)
/// of `arch` from scratch, nine classes, `batch` random `size`×`size` images with two
/// boxes each, SGD lr 0.01, clipping at 10.
pub fn time_train_steps(
    arch: &str,
    size: u32,
    batch: usize,
    repeats: usize,
    device: &Device,
) -> Result<Vec<f64>, TrainError> {
    let cfg = TrainConfig {
        arch: arch.into(),
        image_size: size,
        ..TrainConfig::default()
    };
    cfg.validate()?;
    let names: Vec<String> = carina_core::Finding::ALL
        .iter()
        .map(|f| f.name().to_string())
        .collect();
    let (mut model, spec) = effdet::build(&cfg, &names, device)?;
    // The reference script's boxes at 512 px, scaled to `size`.
    let k = size as f32 / 512.0;
    let gts = [
        GtBox {
            yxyx: [100.0, 120.0, 220.0, 260.0].map(|v| v * k),
            class: 0,
        },
        GtBox {
            yxyx: [300.0, 40.0, 380.0, 110.0].map(|v| v * k),
            class: 4,
        },
    ];
    let labels: Vec<_> = (0..batch)
        .map(|_| label_anchors(&spec.anchors, &gts, 0.5))
        .collect();
    let dims = [batch, 3, size as usize, size as usize];
    let x: Tensor<4> = Tensor::random(dims, Distribution::Normal(0.0, 1.0), device);
    let mut optim = SgdConfig::new().init();
    let loss_cfg = LossConfig::default();
    let mut times = Vec::with_capacity(repeats);
    for i in 0..=repeats {
        let t = Instant::now();
        let (c, b) = model.forward_raw(x.clone());
        let targets = BatchTargets::new(&labels, spec.num_classes, device);
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
    Ok(times)
}
