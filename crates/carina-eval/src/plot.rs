//! Figures as PNG bytes, drawn with `plotters` into memory: precision–recall
//! curves, ROC curves, the confusion matrix as a heat map, and loss curves.
//!
//! Text uses DejaVu Sans, embedded once by `carina-assets` (Bitstream Vera
//! licence, see `carina-assets/fonts/DejaVuSans-LICENSE.txt`), so figures
//! look the same on every machine and need no system fonts.

use crate::confusion::ConfusionMatrix;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::sync::OnceLock;

static FONT: &[u8] = carina_assets::DEJAVU_SANS;

/// Why a figure (or the report page holding it) could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    #[error("drawing the figure: {0}")]
    Draw(String),
    #[error("encoding the figure as PNG: {0}")]
    Encode(String),
    #[error("the embedded font could not be loaded")]
    Font,
    #[error("rendering the report page: {0}")]
    Template(String),
}

fn draw_err(e: impl std::fmt::Display) -> PlotError {
    PlotError::Draw(e.to_string())
}

/// Registers the embedded font with plotters as "sans-serif" (once per
/// process); every figure of Carina draws its text with it.
pub fn register_font() -> Result<(), PlotError> {
    static OK: OnceLock<bool> = OnceLock::new();
    let ok = *OK.get_or_init(|| {
        plotters::style::register_font("sans-serif", FontStyle::Normal, FONT).is_ok()
    });
    if ok { Ok(()) } else { Err(PlotError::Font) }
}

/// A named series of `(x, y)` points.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

/// Distinct colours for up to 12 series, then repeated.
const COLOURS: [RGBColor; 12] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x94, 0x67, 0xbd),
    RGBColor(0x8c, 0x56, 0x4b),
    RGBColor(0xe3, 0x77, 0xc2),
    RGBColor(0x7f, 0x7f, 0x7f),
    RGBColor(0xbc, 0xbd, 0x22),
    RGBColor(0x17, 0xbe, 0xcf),
    RGBColor(0x00, 0x00, 0x00),
    RGBColor(0x4b, 0x00, 0x82),
];

/// Renders into an RGB buffer and encodes it as PNG.
fn render_png(
    (w, h): (u32, u32),
    draw: impl FnOnce(&DrawingArea<BitMapBackend<'_>, Shift>) -> Result<(), PlotError>,
) -> Result<Vec<u8>, PlotError> {
    register_font()?;
    let mut buf = vec![255u8; w as usize * h as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        draw(&root)?;
        root.present().map_err(draw_err)?;
    }
    let mut png = Vec::new();
    image::ImageEncoder::write_image(
        image::codecs::png::PngEncoder::new(&mut png),
        &buf,
        w,
        h,
        image::ExtendedColorType::Rgb8,
    )
    .map_err(|e| PlotError::Encode(e.to_string()))?;
    Ok(png)
}

/// Lines on `[0, 1] × [0, 1]` (precision–recall and ROC curves).
fn unit_square_lines(
    title: &str,
    x_desc: &str,
    y_desc: &str,
    series: &[Series],
    diagonal: bool,
    legend_at: SeriesLabelPosition,
) -> Result<Vec<u8>, PlotError> {
    render_png((800, 600), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, ("sans-serif", 22))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d(0f64..1f64, 0f64..1.02f64)
            .map_err(draw_err)?;
        chart
            .configure_mesh()
            .x_desc(x_desc)
            .y_desc(y_desc)
            .label_style(("sans-serif", 14))
            .draw()
            .map_err(draw_err)?;
        if diagonal {
            chart
                .draw_series(LineSeries::new(
                    [(0.0, 0.0), (1.0, 1.0)],
                    RGBColor(0xbb, 0xbb, 0xbb),
                ))
                .map_err(draw_err)?;
        }
        for (i, s) in series.iter().enumerate() {
            let colour = COLOURS[i % COLOURS.len()];
            chart
                .draw_series(LineSeries::new(
                    s.points.iter().copied(),
                    colour.stroke_width(2),
                ))
                .map_err(draw_err)?
                .label(s.name.clone())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2))
                });
        }
        if !series.is_empty() {
            chart
                .configure_series_labels()
                .position(legend_at)
                .label_font(("sans-serif", 13))
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .draw()
                .map_err(draw_err)?;
        }
        Ok(())
    })
}

/// Precision–recall curves, one per class (`points` are `(recall, precision)`).
pub fn pr_curves_png(title: &str, series: &[Series]) -> Result<Vec<u8>, PlotError> {
    unit_square_lines(
        title,
        "recall",
        "precision",
        series,
        false,
        SeriesLabelPosition::LowerLeft,
    )
}

/// ROC curves, one per class (`points` are `(false positive rate, true positive rate)`).
pub fn roc_curves_png(title: &str, series: &[Series]) -> Result<Vec<u8>, PlotError> {
    unit_square_lines(
        title,
        "false positive rate",
        "true positive rate",
        series,
        true,
        SeriesLabelPosition::LowerRight,
    )
}

/// The confusion matrix as a heat map; each row is shaded relative to its
/// own total so that rare classes stay readable, and every cell shows its count.
pub fn confusion_png(cm: &ConfusionMatrix) -> Result<Vec<u8>, PlotError> {
    let n = cm.labels.len();
    let cell = (560 / n.max(1)).clamp(28, 90) as i32;
    let left = 190;
    let top = 60;
    let size = (left + cell * n as i32 + 20, top + cell * n as i32 + 150);
    render_png((size.0 as u32, size.1 as u32), |root| {
        root.draw(&Text::new(
            "Confusion matrix (rows: ground truth, columns: detection)",
            (10, 15),
            ("sans-serif", 18),
        ))
        .map_err(draw_err)?;
        let label_style = ("sans-serif", 13).into_font();
        for (r, row) in cm.counts.iter().enumerate() {
            let total: usize = row.iter().sum();
            let y = top + r as i32 * cell;
            root.draw(&Text::new(
                short(&cm.labels[r]),
                (8, y + cell / 2 - 7),
                label_style.clone(),
            ))
            .map_err(draw_err)?;
            for (c, &v) in row.iter().enumerate() {
                let x = left + c as i32 * cell;
                let share = if total > 0 {
                    v as f64 / total as f64
                } else {
                    0.0
                };
                let shade = (255.0 * (1.0 - 0.85 * share)) as u8;
                let fill = RGBColor(shade, shade, 255);
                root.draw(&Rectangle::new(
                    [(x, y), (x + cell, y + cell)],
                    fill.filled(),
                ))
                .map_err(draw_err)?;
                root.draw(&Rectangle::new(
                    [(x, y), (x + cell, y + cell)],
                    RGBColor(0xcc, 0xcc, 0xcc),
                ))
                .map_err(draw_err)?;
                let colour = if share > 0.6 { WHITE } else { BLACK };
                root.draw(&Text::new(
                    v.to_string(),
                    (x + cell / 2 - 8, y + cell / 2 - 7),
                    ("sans-serif", 13).into_font().color(&colour),
                ))
                .map_err(draw_err)?;
            }
        }
        // Column labels, rotated to fit narrow cells.
        let y = top + n as i32 * cell + 6;
        for (c, l) in cm.labels.iter().enumerate() {
            let x = left + c as i32 * cell + cell / 2 - 7;
            root.draw(&Text::new(
                short(l),
                (x, y),
                ("sans-serif", 13)
                    .into_font()
                    .transform(FontTransform::Rotate90),
            ))
            .map_err(draw_err)?;
        }
        Ok(())
    })
}

fn short(s: &str) -> String {
    if s.chars().count() > 22 {
        s.chars().take(21).chain(['…']).collect()
    } else {
        s.to_owned()
    }
}

/// One record of a training log: a step and its named losses.
#[derive(Debug, Clone, PartialEq)]
pub struct LossRecord {
    pub step: u64,
    pub losses: Vec<(String, f64)>,
}

/// Loss curves, one line per loss name, on a log scale when every value is
/// positive. Non-finite values are left out.
pub fn loss_curves_png(title: &str, log: &[LossRecord]) -> Result<Vec<u8>, PlotError> {
    loss_figure_png(title, log, &[])
}

/// [`loss_curves_png`] with, below it when there is any, a panel of the
/// validation AP50 `(step, ap50)` (training's `loss.png`, like the seed's
/// Figure 2). Every loss figure of Carina is drawn here.
pub fn loss_figure_png(
    title: &str,
    log: &[LossRecord],
    ap50: &[(u64, f64)],
) -> Result<Vec<u8>, PlotError> {
    let max_step = log
        .iter()
        .map(|r| r.step)
        .chain(ap50.iter().map(|p| p.0))
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let height = if ap50.is_empty() { 500 } else { 800 };
    render_png((900, height), |root| {
        if ap50.is_empty() {
            return draw_losses(root, title, log, max_step);
        }
        let (top, bottom) = root.split_vertically(500);
        draw_losses(&top, title, log, max_step)?;
        draw_ap50(&bottom, ap50, max_step)
    })
}

/// The validation AP50 panel: a line with a dot per validation, on [0, 1].
fn draw_ap50(
    area: &DrawingArea<BitMapBackend<'_>, Shift>,
    ap50: &[(u64, f64)],
    max_step: f64,
) -> Result<(), PlotError> {
    let orange = RGBColor(240, 140, 0);
    let mut chart = ChartBuilder::on(area)
        .caption("Validation AP50", ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(60)
        .build_cartesian_2d(0f64..max_step, 0f64..1f64)
        .map_err(draw_err)?;
    chart
        .configure_mesh()
        .x_desc("step")
        .y_desc("AP50")
        .draw()
        .map_err(draw_err)?;
    let points: Vec<(f64, f64)> = ap50.iter().map(|&(s, v)| (s as f64, v.max(0.0))).collect();
    chart
        .draw_series(LineSeries::new(points.clone(), orange.stroke_width(3)))
        .map_err(draw_err)?;
    chart
        .draw_series(
            points
                .into_iter()
                .map(|p| Circle::new(p, 4, orange.filled())),
        )
        .map_err(draw_err)?;
    Ok(())
}

/// One line per loss name, on a log scale when every value is positive.
fn draw_losses(
    root: &DrawingArea<BitMapBackend<'_>, Shift>,
    title: &str,
    log: &[LossRecord],
    max_step: f64,
) -> Result<(), PlotError> {
    let mut names: Vec<&str> = Vec::new();
    for r in log {
        for (n, _) in &r.losses {
            if !names.contains(&n.as_str()) {
                names.push(n);
            }
        }
    }
    let series: Vec<Series> = names
        .iter()
        .map(|n| Series {
            name: (*n).to_owned(),
            points: log
                .iter()
                .flat_map(|r| {
                    r.losses
                        .iter()
                        .filter(|(m, v)| m == n && v.is_finite())
                        .map(move |(_, v)| (r.step as f64, *v))
                })
                .collect(),
        })
        .collect();
    let values = series.iter().flat_map(|s| s.points.iter().map(|p| p.1));
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
        (a.min(v), b.max(v))
    });
    let (lo, hi) = if lo.is_finite() { (lo, hi) } else { (0.0, 1.0) };
    let mut builder = ChartBuilder::on(root);
    builder
        .caption(title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60);
    let legend = |chart_series: &Series, i: usize| {
        (
            COLOURS[i % COLOURS.len()],
            chart_series.name.clone(),
            chart_series.points.clone(),
        )
    };
    if lo > 0.0 {
        let mut chart = builder
            .build_cartesian_2d(0f64..max_step, (lo * 0.9..hi * 1.1).log_scale())
            .map_err(draw_err)?;
        chart
            .configure_mesh()
            .x_desc("step")
            .y_desc("loss (log scale)")
            .draw()
            .map_err(draw_err)?;
        for (i, s) in series.iter().enumerate() {
            let (c, name, pts) = legend(s, i);
            chart
                .draw_series(LineSeries::new(pts, c.stroke_width(2)))
                .map_err(draw_err)?
                .label(name)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c));
        }
        draw_legend(&mut chart, !series.is_empty())
    } else {
        let pad = ((hi - lo) * 0.05).max(1e-9);
        let mut chart = builder
            .build_cartesian_2d(0f64..max_step, lo - pad..hi + pad)
            .map_err(draw_err)?;
        chart
            .configure_mesh()
            .x_desc("step")
            .y_desc("loss")
            .draw()
            .map_err(draw_err)?;
        for (i, s) in series.iter().enumerate() {
            let (c, name, pts) = legend(s, i);
            chart
                .draw_series(LineSeries::new(pts, c.stroke_width(2)))
                .map_err(draw_err)?
                .label(name)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c));
        }
        draw_legend(&mut chart, !series.is_empty())
    }
}

fn draw_legend<'a, X, Y>(
    chart: &mut ChartContext<'a, BitMapBackend<'a>, Cartesian2d<X, Y>>,
    any: bool,
) -> Result<(), PlotError>
where
    X: plotters::coord::ranged1d::Ranged,
    Y: plotters::coord::ranged1d::Ranged,
{
    if any {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .label_font(("sans-serif", 13))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(draw_err)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_png(b: &[u8]) -> bool {
        b.starts_with(&[0x89, b'P', b'N', b'G'])
    }

    #[test]
    fn figures_are_pngs_of_the_asked_size() {
        let s = vec![Series {
            name: "Nodule/Mass".into(),
            points: vec![(0.0, 1.0), (0.5, 0.8), (1.0, 0.2)],
        }];
        let png = pr_curves_png("PR", &s).unwrap();
        assert!(is_png(&png));
        let img = image::load_from_memory(&png).unwrap();
        assert_eq!((img.width(), img.height()), (800, 600));
        // Something other than white was drawn.
        assert!(img.to_rgb8().pixels().any(|p| p.0 != [255, 255, 255]));
        assert!(is_png(&roc_curves_png("ROC", &s).unwrap()));
        let cm = ConfusionMatrix {
            labels: vec!["a".into(), "b".into(), "background".into()],
            counts: vec![vec![3, 1, 0], vec![0, 2, 1], vec![4, 0, 0]],
            score_thr: 0.5,
            iou_thr: 0.5,
        };
        assert!(is_png(&confusion_png(&cm).unwrap()));
        let log: Vec<LossRecord> = (0..20)
            .map(|i| LossRecord {
                step: i * 10,
                losses: vec![
                    ("total".into(), 2.0 / (i + 1) as f64),
                    ("box".into(), 0.5 / (i + 1) as f64),
                ],
            })
            .collect();
        assert!(is_png(&loss_curves_png("loss", &log).unwrap()));
        // Zero or negative values switch to a linear axis; an empty log still draws.
        let flat = vec![LossRecord {
            step: 0,
            losses: vec![("x".into(), 0.0)],
        }];
        assert!(is_png(&loss_curves_png("loss", &flat).unwrap()));
        assert!(is_png(&loss_curves_png("loss", &[]).unwrap()));
        // With validations, the AP50 panel below makes the figure taller.
        let size = |png: &[u8]| {
            let img = image::load_from_memory(png).unwrap();
            (img.width(), img.height())
        };
        assert_eq!(size(&loss_curves_png("loss", &log).unwrap()), (900, 500));
        let with_val = loss_figure_png("loss", &log, &[(5, 0.1), (10, 0.35)]).unwrap();
        assert_eq!(size(&with_val), (900, 800));
        // The panel is drawn: the lower part holds the orange AP50 line.
        let img = image::load_from_memory(&with_val).unwrap().to_rgb8();
        let orange = (0..img.height())
            .filter(|y| *y > 500)
            .flat_map(|y| (0..img.width()).map(move |x| (x, y)))
            .filter(|&(x, y)| img.get_pixel(x, y).0 == [240, 140, 0])
            .count();
        assert!(orange > 100, "{orange} orange pixels in the AP50 panel");
    }
}
