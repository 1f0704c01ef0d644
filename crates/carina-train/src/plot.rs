//! The loss-curve figure (like the seed's Figure 2): training class, box,
//! regularisation and total losses per step, and the validation total loss,
//! on a log scale; AP50 on a second panel when there were validations.
//!
//! Text is drawn in the embedded DejaVu Sans (`carina-assets`, registered by
//! `carina-eval`); were it ever refused, the curves are drawn unlabelled
//! (total black, class blue, box red, reg green, validation orange).

use crate::TrainError;
use crate::log::{StepRecord, ValRecord};
use plotters::prelude::*;
use std::path::Path;

/// The embedded DejaVu Sans, registered once by `carina-eval` (the same
/// font as every other figure and the PDF reports).
fn font_available() -> bool {
    carina_eval::plot::register_font().is_ok()
}

fn err(e: impl std::fmt::Display) -> TrainError {
    TrainError::Checkpoint(format!("drawing the loss curves: {e}"))
}

/// Writes the loss curves of a run to `path` (PNG).
pub fn loss_curves(
    path: &Path,
    steps: &[StepRecord],
    vals: &[ValRecord],
) -> Result<(), TrainError> {
    let text = font_available();
    let root = BitMapBackend::new(path, (1000, if vals.is_empty() { 500 } else { 800 }))
        .into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let (top, bottom) = if vals.is_empty() {
        (root.clone(), None)
    } else {
        let (a, b) = root.split_vertically(500);
        (a, Some(b))
    };
    let max_step = steps.last().map_or(1, |s| s.step + 1).max(1) as f64;
    let positive = |v: f64| v.is_finite() && v > 0.0;
    let all: Vec<f64> = steps
        .iter()
        .flat_map(|s| [s.class_loss, s.box_loss * 50.0, s.reg_loss, s.total_loss])
        .chain(vals.iter().map(|v| v.total_loss))
        .filter(|v| positive(*v))
        .collect();
    let lo = all.iter().cloned().fold(f64::INFINITY, f64::min).max(1e-6);
    let hi = all
        .iter()
        .cloned()
        .fold(f64::NEG_INFINITY, f64::max)
        .max(lo * 10.0);
    let mut builder = ChartBuilder::on(&top);
    builder
        .margin(12)
        .x_label_area_size(if text { 36 } else { 8 })
        .y_label_area_size(if text { 60 } else { 8 });
    if text {
        builder.caption("Training losses", ("sans-serif", 22));
    }
    let mut chart = builder
        .build_cartesian_2d(0f64..max_step, (lo * 0.8..hi * 1.25).log_scale())
        .map_err(err)?;
    let mut mesh = chart.configure_mesh();
    if text {
        mesh.x_desc("step").y_desc("loss");
    } else {
        mesh.disable_x_axis().disable_y_axis();
    }
    mesh.draw().map_err(err)?;
    type Series<'a> = (&'a str, RGBColor, fn(&StepRecord) -> f64);
    let series: [Series; 4] = [
        ("total_loss", BLACK, |s| s.total_loss),
        ("class_loss", BLUE, |s| s.class_loss),
        ("box_loss × 50", RED, |s| s.box_loss * 50.0),
        ("reg_loss", GREEN, |s| s.reg_loss),
    ];
    for (name, colour, get) in series {
        let line = chart
            .draw_series(LineSeries::new(
                steps
                    .iter()
                    .map(|s| (s.step as f64, get(s)))
                    .filter(|p| positive(p.1)),
                colour.stroke_width(2),
            ))
            .map_err(err)?;
        if text {
            line.label(name).legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2))
            });
        }
    }
    let orange = RGBColor(240, 140, 0);
    if !vals.is_empty() {
        let line = chart
            .draw_series(LineSeries::new(
                vals.iter()
                    .map(|v| (v.step as f64, v.total_loss))
                    .filter(|p| positive(p.1)),
                orange.stroke_width(3),
            ))
            .map_err(err)?;
        if text {
            line.label("validation total_loss").legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], orange.stroke_width(3))
            });
        }
    }
    if text {
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(("sans-serif", 14))
            .draw()
            .map_err(err)?;
    }
    if let Some(area) = bottom {
        let mut builder = ChartBuilder::on(&area);
        builder
            .margin(12)
            .x_label_area_size(if text { 36 } else { 8 })
            .y_label_area_size(if text { 60 } else { 8 });
        if text {
            builder.caption("Validation AP50", ("sans-serif", 18));
        }
        let mut chart = builder
            .build_cartesian_2d(0f64..max_step, 0f64..1f64)
            .map_err(err)?;
        let mut mesh = chart.configure_mesh();
        if text {
            mesh.x_desc("step").y_desc("AP50");
        } else {
            mesh.disable_x_axis().disable_y_axis();
        }
        mesh.draw().map_err(err)?;
        chart
            .draw_series(LineSeries::new(
                vals.iter().map(|v| (v.step as f64, v.ap50.max(0.0))),
                orange.stroke_width(3),
            ))
            .map_err(err)?;
        chart
            .draw_series(
                vals.iter()
                    .map(|v| Circle::new((v.step as f64, v.ap50.max(0.0)), 4, orange.filled())),
            )
            .map_err(err)?;
    }
    root.present().map_err(err)?;
    Ok(())
}
