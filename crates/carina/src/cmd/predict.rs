//! `carina predict`: run a detector on one image or on every image of a folder.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use carina_detect::{Detection, Detector, Engine, InputImage, LoadOptions, PredictOptions};
use carina_imaging::{Limits, decode, to_unit_f32};

#[derive(clap::Args)]
pub struct Args {
    /// Weights: a .safetensors or effdet .pth file, or a folder with model.safetensors (+ model.json).
    #[arg(long)]
    weights: PathBuf,
    /// One image (DICOM, PNG 8/16-bit, JPEG).
    #[arg(long, conflicts_with = "dir", required_unless_present = "dir")]
    image: Option<PathBuf>,
    /// A folder: predict on every image in it (and its subfolders), one JSON line per file.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Print JSON (a list of {class_id, class_name, score, bbox}).
    #[arg(long)]
    json: bool,
    /// Drop detections scoring below this.
    #[arg(long, default_value_t = 0.05)]
    score_thr: f32,
    /// Keep at most this many detections per image.
    #[arg(long, default_value_t = 100)]
    max_det: usize,
    /// Refuse weights of another architecture (e.g. tf_efficientdet_d0).
    #[arg(long)]
    arch: Option<String>,
    /// Refuse weights with another number of classes.
    #[arg(long)]
    num_classes: Option<usize>,
    /// Inference engine: tract (pure Rust, the default), burn, or ort (ONNX Runtime, in builds
    /// with the `ort` feature, loaded from ORT_DYLIB_PATH; falls back to tract without it).
    #[arg(long, default_value = "tract", value_parser = parse_engine)]
    engine: Engine,
}

fn parse_engine(s: &str) -> Result<Engine, String> {
    s.parse()
        .map_err(|e: carina_detect::DetectError| e.to_string())
}

pub fn run(args: Args) -> anyhow::Result<()> {
    if !(0.0..=1.0).contains(&args.score_thr) {
        bail!("--score-thr must be between 0 and 1");
    }
    if args.max_det == 0 {
        bail!("--max-det must be at least 1");
    }
    let opts = LoadOptions {
        arch: args.arch.clone(),
        num_classes: args.num_classes,
        engine: args.engine,
    };
    let detector = Detector::load_with(&args.weights, &opts)
        .with_context(|| format!("cannot load weights {}", args.weights.display()))?;
    if let Some(note) = detector.engine_note() {
        eprintln!("warning: {note}");
    }
    let predict = PredictOptions {
        score_thr: args.score_thr,
        max_det: args.max_det,
    };
    match (&args.image, &args.dir) {
        (Some(image), _) => {
            let dets = predict_file(&detector, image, &predict)?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&dets)?);
            } else {
                print_table(image, &dets);
            }
            Ok(())
        }
        (None, Some(dir)) => predict_dir(&detector, dir, &predict, args.json),
        (None, None) => bail!("give --image FILE or --dir DIR"),
    }
}

fn predict_file(
    detector: &Detector,
    path: &Path,
    opts: &PredictOptions,
) -> anyhow::Result<Vec<Detection>> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let decoded = decode(&bytes, &Limits::default())
        .with_context(|| format!("{} is not a readable image", path.display()))?;
    let img = &decoded.image;
    let pixels = to_unit_f32(img, decoded.meta.window);
    let input = InputImage::new(img.width, img.height, &pixels)?;
    Ok(detector.predict(&input, opts)?)
}

fn print_table(path: &Path, dets: &[Detection]) {
    println!("{}: {} detection(s)", path.display(), dets.len());
    for d in dets {
        let [x0, y0, x1, y1] = d.bbox.to_array();
        println!(
            "  {:<20} {:.3}  [{x0:.1}, {y0:.1}, {x1:.1}, {y1:.1}]",
            d.class_name, d.score
        );
    }
}

/// Files that may be images: the usual extensions, and DICOM files without one.
fn image_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries =
            std::fs::read_dir(&d).with_context(|| format!("cannot list {}", d.display()))?;
        for entry in entries {
            let path = entry?.path();
            let hidden = path
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with('.'));
            if hidden {
                continue;
            }
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let ext = path
                .extension()
                .and_then(|e| e.to_str())
                .map(str::to_ascii_lowercase);
            if matches!(
                ext.as_deref(),
                None | Some("dcm" | "dicom" | "png" | "jpg" | "jpeg")
            ) {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

fn predict_dir(
    detector: &Detector,
    dir: &Path,
    opts: &PredictOptions,
    json: bool,
) -> anyhow::Result<()> {
    let files = image_files(dir)?;
    if files.is_empty() {
        bail!("no image files in {}", dir.display());
    }
    let bar = indicatif::ProgressBar::new(files.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} {elapsed} {msg}")
            .expect("valid template"),
    );
    let mut failed = 0usize;
    for path in &files {
        let rel = path.strip_prefix(dir).unwrap_or(path).display().to_string();
        let result = predict_file(detector, path, opts);
        bar.suspend(|| match (&result, json) {
            (Ok(dets), true) => {
                println!("{}", serde_json::json!({ "file": rel, "detections": dets }))
            }
            (Ok(dets), false) => print_table(Path::new(&rel), dets),
            (Err(e), true) => println!(
                "{}",
                serde_json::json!({ "file": rel, "error": format!("{e:#}") })
            ),
            (Err(e), false) => eprintln!("{rel}: {e:#}"),
        });
        if result.is_err() {
            failed += 1;
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    if failed > 0 {
        bail!("{failed} of {} file(s) could not be processed", files.len());
    }
    Ok(())
}
