//! `carina eval model`: run a detector over one split of a prepared dataset
//! and report every metric of `carina eval coco` plus the inference time per
//! image, as JSON and as a self-contained HTML report.
//!
//! Ground truth and detections are compared in the original images' pixels:
//! the model sees the prepared (letterboxed) image, its boxes come back in
//! that image's pixels and are mapped through the letterbox the split's COCO
//! file records, exactly as the ground truth is (`carina_eval::prepared`).

use anyhow::{Context, bail};
use carina_core::model_card::ModelCard;
use carina_detect::{Detector, PredictOptions};
use carina_eval::input::detections_to_json;
use carina_eval::losslog::read_loss_log;
use carina_eval::prepared::{PreparedSplit, TimingStats};
use carina_eval::report::{InferenceTiming, ReportOptions, html_report};
use carina_eval::{GroundTruth, summarize};
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct Args {
    /// The model: a folder with model.safetensors (+ model.json), or a weights file.
    #[arg(long, value_name = "MODEL_DIR")]
    weights: PathBuf,
    /// A prepared dataset (the folder with manifest.json).
    #[arg(long, value_name = "PREPARED_DIR")]
    data: PathBuf,
    /// Which split to evaluate.
    #[arg(long, default_value = "val")]
    split: String,
    /// Score threshold for precision, recall, F1, accuracy and the confusion matrix.
    #[arg(long, default_value_t = 0.5, value_name = "SCORE")]
    score_thr: f64,
    /// Detections scoring below this are not kept at all (COCO AP wants a low value).
    #[arg(long, default_value_t = 0.001, value_name = "SCORE")]
    min_score: f32,
    /// At most this many detections per image (COCO's maxDets is 100).
    #[arg(long, default_value_t = 100)]
    max_det: usize,
    /// Write the results as one JSON object to this file.
    #[arg(long, value_name = "OUT.json")]
    json: Option<PathBuf>,
    /// Write a self-contained HTML report (tables and figures) to this file.
    #[arg(long, value_name = "REPORT.html")]
    html: Option<PathBuf>,
    /// Write the detections (COCO results, original pixels) to this file.
    #[arg(long, value_name = "DT.json")]
    predictions: Option<PathBuf>,
    /// A training log (carina train's log.csv or val.csv, or JSON) for the loss curves.
    #[arg(long, value_name = "LOG")]
    train_log: Option<PathBuf>,
}

/// The folder's `model.json` (any format, migrated), when there is one.
fn model_card(weights: &Path) -> anyhow::Result<Option<ModelCard>> {
    let card = weights.join("model.json");
    if !weights.is_dir() || !card.is_file() {
        return Ok(None);
    }
    let bytes = std::fs::read(&card).with_context(|| format!("reading {}", card.display()))?;
    let parsed = ModelCard::parse(&bytes).with_context(|| format!("{}", card.display()))?;
    Ok(Some(parsed))
}

fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".part");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))
}

pub fn run(args: Args) -> anyhow::Result<()> {
    if !args.score_thr.is_finite() {
        bail!("--score-thr must be a finite number");
    }
    if !(0.0..=1.0).contains(&args.min_score) {
        bail!("--min-score must be between 0 and 1");
    }
    if args.max_det == 0 {
        bail!("--max-det must be at least 1");
    }
    let split = PreparedSplit::load(&args.data, &args.split)?;
    let gt = split.ground_truth_original()?;
    // Read the log first: a bad log should fail before minutes of inference.
    let loss_log = match &args.train_log {
        Some(p) => Some(read_loss_log(p)?),
        None => None,
    };
    let card = model_card(&args.weights)?;
    let detector = Detector::load(&args.weights)
        .with_context(|| format!("cannot load the model {}", args.weights.display()))?;
    let class_to_category = class_mapping(&detector, &gt, &split)?;
    let opts = PredictOptions {
        score_thr: args.min_score,
        max_det: args.max_det,
    };
    let (dets, times_ms) = detect_with_progress(&detector, &split, &class_to_category, &opts)?;
    gt.check_detections(&dets, "model detections")?;
    let summary = summarize(&gt, &dets, args.score_thr)?;
    let timing = TimingStats::from_ms(&times_ms).expect("a split has images");
    let notes = notes(&args, &split, gt.annotations.len(), card.as_ref());

    if let Some(p) = &args.predictions {
        write_atomic(p, detections_to_json(&dets).as_bytes())?;
    }
    if let Some(p) = &args.html {
        let html = html_report(
            &summary,
            &ReportOptions {
                title: "Model evaluation",
                notes: &notes,
                timing: Some(InferenceTiming {
                    images: timing.images,
                    median_ms: timing.median_ms,
                    p95_ms: timing.p95_ms,
                }),
                loss_log: loss_log.as_deref(),
            },
        )?;
        write_atomic(p, html.as_bytes())?;
    }
    if let Some(p) = &args.json {
        let json = results_json(
            &args,
            &summary,
            &timing,
            &detector,
            card.as_ref(),
            &split,
            &notes,
        )?;
        write_atomic(p, serde_json::to_string_pretty(&json)?.as_bytes())?;
    }
    print!("{}", summary.to_table());
    println!(
        "\nInference: {} images, median {:.1} ms, p95 {:.1} ms per image",
        timing.images, timing.median_ms, timing.p95_ms
    );
    for n in &notes {
        println!("note: {n}");
    }
    Ok(())
}

/// For each model class, the dataset's category of the same name; a class
/// the dataset does not have is an error.
fn class_mapping(
    detector: &Detector,
    gt: &GroundTruth,
    split: &PreparedSplit,
) -> anyhow::Result<Vec<Option<i64>>> {
    let classes = carina_learn::class_categories(detector, gt);
    classes
        .iter()
        .zip(detector.class_names())
        .enumerate()
        .map(|(k, (c, name))| {
            c.map(Some).with_context(|| {
                format!(
                    "model class {k} {name:?} is not a class of the dataset ({})",
                    split.manifest.class_names.join(", ")
                )
            })
        })
        .collect()
}

/// The model's detections on every image of the split, with a progress bar.
fn detect_with_progress(
    detector: &Detector,
    split: &PreparedSplit,
    class_to_category: &[Option<i64>],
    opts: &PredictOptions,
) -> anyhow::Result<(Vec<carina_eval::Detection>, Vec<f64>)> {
    let bar = indicatif::ProgressBar::new(split.images.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} eval [{bar:30}] {pos}/{len} images, ETA {eta}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    let found =
        carina_learn::detect_split(detector, split, class_to_category, opts, || bar.inc(1))?;
    bar.finish_and_clear();
    Ok(found)
}

/// What the reader of the results must know: what was compared, and what
/// the model and the data are (synthetic, the model's notice).
fn notes(
    args: &Args,
    split: &PreparedSplit,
    boxes: usize,
    card: Option<&ModelCard>,
) -> Vec<String> {
    let mut notes = vec![format!(
        "Model {} on split {:?} of {} ({} images, {} boxes); boxes compared in the original images' pixels.",
        args.weights.display(),
        split.split,
        args.data.display(),
        split.images.len(),
        boxes
    )];
    match card.map(|c| c.synthetic) {
        Some(true) => notes.push(
            "This model was trained on synthetic radiographs (model.json): it is not validated on patients."
                .into(),
        ),
        Some(false) => {}
        None => notes.push("The model's training data is not recorded (no model.json).".into()),
    }
    if let Some(n) = card.and_then(|c| c.notice.as_ref()) {
        notes.push(format!("Model notice: {n}"));
    }
    if split.synthetic {
        notes.push(
            "Evaluated on synthetic radiographs: these numbers say nothing about performance on patients."
                .into(),
        );
    }

    notes
}

/// The `--json` document: the summary with the inference times, the model,
/// the data and the notes.
fn results_json(
    args: &Args,
    summary: &carina_eval::EvalSummary,
    timing: &TimingStats,
    detector: &Detector,
    card: Option<&ModelCard>,
    split: &PreparedSplit,
    notes: &[String],
) -> anyhow::Result<serde_json::Value> {
    let mut json = summary.to_json().context("serialising the results")?;
    let obj = json.as_object_mut().expect("the summary is an object");
    obj.insert("coordinates".into(), "original image pixels".into());
    obj.insert(
        "inference".into(),
        serde_json::json!({
            "images": timing.images,
            "median_ms": timing.median_ms,
            "p95_ms": timing.p95_ms,
            "mean_ms": timing.mean_ms,
            "max_ms": timing.max_ms,
            "measures": "Detector::predict per image: pre-processing, network, post-processing (file decoding excluded)",
        }),
    );
    obj.insert(
        "model".into(),
        serde_json::json!({
            "weights": args.weights.display().to_string(),
            "arch": card.map(|c| &c.arch),
            "class_names": detector.class_names(),
            "trained_on_synthetic": card.map(|c| c.synthetic),
            "notice": card.and_then(|c| c.notice.as_ref()),
        }),
    );
    obj.insert(
        "data".into(),
        serde_json::json!({
            "dir": args.data.display().to_string(),
            "split": split.split,
            "images": split.images.len(),
            "boxes": split.coco.annotations.len(),
            "synthetic": split.synthetic,
            "description": split.manifest.description,
        }),
    );
    obj.insert("notes".into(), serde_json::json!(notes));
    Ok(json)
}
