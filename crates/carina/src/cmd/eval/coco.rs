//! `carina eval coco`: COCO metrics of a results file against an instances
//! file, plus per-class AUC and operating-point metrics (see `carina_eval`).

use anyhow::{Context, bail};
use carina_eval::input::detections_from_file;
use carina_eval::report::{ReportOptions, html_report};
use carina_eval::{GroundTruth, summarize};
use std::io::Write;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Ground truth: a COCO instances file (images, annotations, categories).
    #[arg(long, value_name = "GT.json")]
    gt: PathBuf,
    /// Detections: a COCO results file (a JSON list of {image_id, category_id, bbox, score}).
    #[arg(long, value_name = "DT.json")]
    dt: PathBuf,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
    /// Score threshold for precision, recall, F1, accuracy and the confusion matrix.
    #[arg(long, default_value_t = 0.5, value_name = "SCORE")]
    score_thr: f64,
    /// Also write a self-contained HTML report (tables and figures) to this file.
    #[arg(long, value_name = "REPORT.html")]
    html: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    if !args.score_thr.is_finite() {
        bail!("--score-thr must be a finite number");
    }
    let gt = GroundTruth::from_file(&args.gt)?;
    let dets = detections_from_file(&args.dt)?;
    gt.check_detections(&dets, &args.dt.display().to_string())?;
    let summary = summarize(&gt, &dets, args.score_thr)?;
    for w in &summary.coco.warnings {
        eprintln!("warning: {w}");
    }
    if let Some(path) = &args.html {
        let notes = vec![format!(
            "Ground truth: {}; detections: {}.",
            args.gt.display(),
            args.dt.display()
        )];
        let html = html_report(
            &summary,
            &ReportOptions {
                title: "COCO evaluation",
                notes: &notes,
                ..ReportOptions::default()
            },
        )?;
        // Written beside the target and renamed, so no half-written report is left.
        let tmp = path.with_extension("html.part");
        std::fs::write(&tmp, html).with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    }
    let mut out = std::io::stdout().lock();
    if args.json {
        let json = summary
            .to_json_pretty()
            .context("serialising the results")?;
        writeln!(out, "{json}")?;
    } else {
        write!(out, "{}", summary.to_table())?;
    }
    Ok(())
}
