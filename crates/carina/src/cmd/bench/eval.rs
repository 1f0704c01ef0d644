//! `carina bench eval`: times Carina's COCO evaluation on generated data and,
//! where `python3` can import pycocotools, times pycocotools on the same files
//! in the same run, prints both and their ratio, and checks that the twelve
//! numbers agree. The data are synthetic: the numbers describe the
//! evaluator's speed, not any model.

use anyhow::{Context, bail};
use carina_eval::input::{detections_from_file, detections_to_json};
use carina_eval::prepared::median;
use carina_eval::synthetic::{SynthSpec, generate};
use carina_eval::{GroundTruth, evaluate};
use std::path::Path;
use std::process::Command;
use std::time::Instant;

/// The pycocotools side, run with `python3 -c`.
const PY_SCRIPT: &str = include_str!("pycocotools_eval.py");

#[derive(clap::Args)]
pub struct Args {
    /// Images to generate.
    #[arg(long, default_value_t = 5000)]
    images: usize,
    /// Detections to generate.
    #[arg(long, default_value_t = 50_000)]
    dets: usize,
    /// Seed of the generator.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Timed runs of Carina's evaluation (the median is reported).
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Timed runs of pycocotools (each takes seconds).
    #[arg(long, default_value_t = 1)]
    py_runs: usize,
    /// Python interpreter that has pycocotools.
    #[arg(long, default_value = "python3")]
    python: String,
}

struct PyResult {
    load_s: f64,
    eval_s: f64,
    stats: Vec<f64>,
}

/// Runs pycocotools; `Ok(None)` when it is not installed.
fn run_pycocotools(
    python: &str,
    gt: &Path,
    dt: &Path,
    runs: usize,
) -> anyhow::Result<Option<PyResult>> {
    let probe = Command::new(python)
        .args(["-c", "import pycocotools"])
        .output();
    match probe {
        Ok(o) if o.status.success() => {}
        _ => return Ok(None),
    }
    let out = Command::new(python)
        .args(["-c", PY_SCRIPT])
        .arg(gt)
        .arg(dt)
        .arg(runs.to_string())
        .output()
        .with_context(|| format!("running {python}"))?;
    if !out.status.success() {
        bail!(
            "pycocotools failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).context("reading pycocotools' answer")?;
    let nums = |key: &str| -> anyhow::Result<Vec<f64>> {
        v[key]
            .as_array()
            .with_context(|| format!("pycocotools' answer has no {key}"))?
            .iter()
            .map(|x| x.as_f64().context("not a number"))
            .collect()
    };
    Ok(Some(PyResult {
        load_s: v["load_s"].as_f64().context("no load_s")?,
        eval_s: median(&nums("eval_s")?),
        stats: nums("stats")?,
    }))
}

pub fn run(args: Args) -> anyhow::Result<()> {
    if args.images == 0 || args.runs == 0 || args.py_runs == 0 {
        bail!("--images, --runs and --py-runs must be at least 1");
    }
    let spec = SynthSpec {
        images: args.images,
        detections: args.dets,
        seed: args.seed,
        ..SynthSpec::default()
    };
    let (gt, dets) = generate(&spec);
    let dir = tempfile::tempdir().context("creating a temporary folder")?;
    let (gt_path, dt_path) = (dir.path().join("gt.json"), dir.path().join("dt.json"));
    std::fs::write(&gt_path, gt.to_json()).context("writing gt.json")?;
    std::fs::write(&dt_path, detections_to_json(&dets)).context("writing dt.json")?;
    println!(
        "generated (synthetic): {} images, {} ground-truth boxes, {} detections, {} classes, seed {}",
        gt.images.len(),
        gt.annotations.len(),
        dets.len(),
        gt.categories.len(),
        args.seed
    );
    if cfg!(debug_assertions) {
        println!("note: debug build; build with --release for representative timings");
    }

    // Carina: load (parse + check) once, then the evaluation `runs` times.
    let t = Instant::now();
    let gt_loaded = GroundTruth::from_file(&gt_path)?;
    let dets_loaded = detections_from_file(&dt_path)?;
    gt_loaded.check_detections(&dets_loaded, "dt.json")?;
    let load_s = t.elapsed().as_secs_f64();
    let mut times = Vec::new();
    let mut result = None;
    for _ in 0..args.runs {
        let t = Instant::now();
        let ev = evaluate(&gt_loaded, &dets_loaded)?;
        times.push(t.elapsed().as_secs_f64());
        result = Some(ev);
    }
    let ours = result.context("no run")?.stats.to_array();
    let eval_s = median(&times);
    println!(
        "carina:      load {:8.1} ms   evaluate+accumulate+summarize {:8.1} ms (median of {}, {} threads)",
        load_s * 1e3,
        eval_s * 1e3,
        args.runs,
        rayon::current_num_threads()
    );

    match run_pycocotools(&args.python, &gt_path, &dt_path, args.py_runs)? {
        None => println!(
            "pycocotools: not installed for {} (pip install pycocotools); only Carina was timed",
            args.python
        ),
        Some(py) => {
            println!(
                "pycocotools: load {:8.1} ms   evaluate+accumulate+summarize {:8.1} ms (median of {})",
                py.load_s * 1e3,
                py.eval_s * 1e3,
                args.py_runs
            );
            println!(
                "speed-up:    evaluation {:.1}x, load + evaluation {:.1}x",
                py.eval_s / eval_s,
                (py.load_s + py.eval_s) / (load_s + eval_s)
            );
            if py.stats.len() != 12 {
                bail!("pycocotools returned {} numbers, not 12", py.stats.len());
            }
            let diff = ours
                .iter()
                .zip(&py.stats)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max);
            if diff > 1e-9 {
                bail!(
                    "the twelve numbers differ (max |difference| {diff:e}): carina {ours:?}, pycocotools {:?}",
                    py.stats
                );
            }
            println!("agreement:   the twelve COCO numbers agree (max |difference| {diff:e})");
        }
    }
    println!(
        "AP {:.4}  AP50 {:.4}  AR100 {:.4}",
        ours[0], ours[1], ours[8]
    );
    Ok(())
}
