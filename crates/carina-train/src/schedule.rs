//! Learning-rate schedule: linear warm-up, then cosine decay to a floor.

use crate::config::OptimConfig;

/// The learning rate of optimiser step `step` (0-based) of `total_steps`.
pub fn learning_rate(cfg: &OptimConfig, step: u64, total_steps: u64) -> f64 {
    let peak = cfg.lr;
    if step < cfg.warmup_steps {
        let f = step as f64 / cfg.warmup_steps as f64;
        return peak * (cfg.warmup_factor + (1.0 - cfg.warmup_factor) * f);
    }
    let floor = peak * cfg.min_lr_factor;
    let decay_steps = total_steps.saturating_sub(cfg.warmup_steps).max(1);
    let progress = ((step - cfg.warmup_steps) as f64 / decay_steps as f64).min(1.0);
    floor + (peak - floor) * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warmup_then_cosine() {
        let cfg = OptimConfig {
            lr: 1.0,
            warmup_factor: 0.1,
            warmup_steps: 10,
            min_lr_factor: 0.0,
            ..OptimConfig::default()
        };
        assert!((learning_rate(&cfg, 0, 110) - 0.1).abs() < 1e-12);
        assert!((learning_rate(&cfg, 5, 110) - 0.55).abs() < 1e-12);
        assert!((learning_rate(&cfg, 10, 110) - 1.0).abs() < 1e-12);
        // Half-way through the decay the cosine is at its midpoint.
        assert!((learning_rate(&cfg, 60, 110) - 0.5).abs() < 1e-12);
        assert!(learning_rate(&cfg, 110, 110).abs() < 1e-12);
        let floor = OptimConfig {
            min_lr_factor: 0.1,
            ..cfg
        };
        assert!((learning_rate(&floor, 110, 110) - 0.1).abs() < 1e-12);
    }
}
