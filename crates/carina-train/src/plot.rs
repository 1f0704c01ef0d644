//! The loss-curve figure of a run (`loss.png`, like the seed's Figure 2):
//! training total, class, box (× 50, to share the scale) and regularisation
//! losses per step and the validation total loss, on a log scale, with the
//! validation AP50 in a second panel when there were validations. Drawn by
//! `carina-eval`'s one loss figure, in its embedded font.

use crate::TrainError;
use crate::log::{StepRecord, ValRecord};
use carina_eval::plot::{LossRecord, loss_figure_png};
use std::path::Path;

/// The figure's series: per training step, and per validation. Values that
/// a log scale cannot show (zero, e.g. `reg_loss` without weight decay, or
/// not finite) are left out, so the scale stays logarithmic.
fn records(steps: &[StepRecord], vals: &[ValRecord]) -> Vec<LossRecord> {
    let keep = |losses: Vec<(String, f64)>| -> Vec<(String, f64)> {
        losses
            .into_iter()
            .filter(|(_, v)| v.is_finite() && *v > 0.0)
            .collect()
    };
    let train = steps.iter().map(|s| LossRecord {
        step: s.step,
        losses: keep(vec![
            ("total_loss".into(), s.total_loss),
            ("class_loss".into(), s.class_loss),
            ("box_loss × 50".into(), s.box_loss * 50.0),
            ("reg_loss".into(), s.reg_loss),
        ]),
    });
    let val = vals.iter().map(|v| LossRecord {
        step: v.step,
        losses: keep(vec![("validation total_loss".into(), v.total_loss)]),
    });
    train.chain(val).collect()
}

/// Writes the loss curves of a run to `path` (PNG).
pub fn loss_curves(
    path: &Path,
    steps: &[StepRecord],
    vals: &[ValRecord],
) -> Result<(), TrainError> {
    let ap50: Vec<(u64, f64)> = vals.iter().map(|v| (v.step, v.ap50)).collect();
    let png = loss_figure_png("Training losses", &records(steps, vals), &ap50)
        .map_err(|e| TrainError::Checkpoint(format!("drawing the loss curves: {e}")))?;
    std::fs::write(path, png)
        .map_err(|e| TrainError::Checkpoint(format!("writing {}: {e}", path.display())))
}
