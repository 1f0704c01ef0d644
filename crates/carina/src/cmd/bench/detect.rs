//! `carina bench detect`: the full EfficientDet-D0 forward (512×512, batch 1, raw heads) on
//! every engine this build has (burn, tract, ONNX Runtime), each in its own process so that
//! its peak memory is its own, and, where `python3` can import them, effdet (PyTorch) on the
//! same weights and onnxruntime on the same ONNX file, in the same run. Prints the medians,
//! the peak memory and the ratios. The weights are seeded random ones unless `--weights` is
//! given: the numbers describe speed, not any model's quality.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, bail};
use carina_detect::weights::{model_tensors, write_safetensors};
use carina_detect::{Detector, EfficientDet, EfficientDetConfig, Engine, LoadOptions};
use carina_eval::prepared::median;

const PY_SCRIPT: &str = include_str!("detect_python.py");
const ARCH: &str = "tf_efficientdet_d0";

#[derive(clap::Args)]
pub struct Args {
    /// D0 weights (.safetensors, .pth or a model folder); default: seeded random weights.
    #[arg(long)]
    weights: Option<PathBuf>,
    /// Timed runs per engine (the median is reported).
    #[arg(long, default_value_t = 10)]
    runs: usize,
    /// Untimed runs before them.
    #[arg(long, default_value_t = 2)]
    warmup: usize,
    /// Python interpreter with torch + effdet and/or onnxruntime.
    #[arg(long, default_value = "python3")]
    python: String,
    /// Also print where tract's time goes, per kind of operation.
    #[arg(long)]
    profile: bool,
    /// Internal: time one engine in this process and print JSON (used by the benchmark itself).
    #[arg(long, hide = true)]
    worker: Option<String>,
}

/// The process's peak resident memory (Linux `VmHWM`), in MB.
fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// A fixed pseudo-random normalised input.
fn input(s: usize) -> Vec<f32> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    (0..3 * s * s)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 40) as f32 / (1u64 << 24) as f32 * 4.0 - 2.0
        })
        .collect()
}

/// One engine's measurement.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Measured {
    times_ms: Vec<f64>,
    peak_rss_mb: Option<f64>,
    load_ms: f64,
    /// Set when the engine could not run (e.g. no ONNX Runtime library).
    skipped: Option<String>,
}

fn worker(engine: &str, args: &Args) -> anyhow::Result<()> {
    let engine: Engine = engine.parse()?;
    let weights = args.weights.as_ref().context("--worker needs --weights")?;
    let t = Instant::now();
    let opts = LoadOptions {
        engine,
        ..LoadOptions::default()
    };
    let detector = Detector::load_with(weights, &opts)?;
    let load_ms = t.elapsed().as_secs_f64() * 1e3;
    let result = if detector.engine() != engine {
        Measured {
            times_ms: vec![],
            peak_rss_mb: None,
            load_ms,
            skipped: Some(
                detector
                    .engine_note()
                    .unwrap_or("not available")
                    .to_string(),
            ),
        }
    } else {
        let x = input(detector.config().image_size);
        for _ in 0..args.warmup {
            detector.heads_normalised(&x)?;
        }
        let mut times_ms = Vec::with_capacity(args.runs);
        for _ in 0..args.runs {
            let t = Instant::now();
            let heads = detector.heads_normalised(&x)?;
            times_ms.push(t.elapsed().as_secs_f64() * 1e3);
            std::hint::black_box(heads);
        }
        Measured {
            times_ms,
            peak_rss_mb: peak_rss_mb(),
            load_ms,
            skipped: None,
        }
    };
    println!("{}", serde_json::to_string(&result)?);
    Ok(())
}

fn run_engine(engine: Engine, weights: &Path, args: &Args) -> anyhow::Result<Measured> {
    let exe = std::env::current_exe().context("finding the carina binary")?;
    let out = Command::new(exe)
        .args(["bench", "detect", "--worker", engine.name(), "--weights"])
        .arg(weights)
        .args(["--runs", &args.runs.to_string()])
        .args(["--warmup", &args.warmup.to_string()])
        .output()
        .context("starting a benchmark worker")?;
    if !out.status.success() {
        bail!("{engine}: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    serde_json::from_slice(&out.stdout).with_context(|| format!("reading the {engine} worker"))
}

struct PyMeasured {
    times_ms: Vec<f64>,
    peak_rss_mb: f64,
    version: String,
}

/// Runs the Python side; `Ok(Err(why))` when its packages are not importable.
fn run_python(
    args: &Args,
    mode: &str,
    imports: &str,
    file: &Path,
) -> anyhow::Result<Result<PyMeasured, String>> {
    let probe = Command::new(&args.python)
        .args(["-c", &format!("import {imports}")])
        .output();
    match probe {
        Ok(o) if o.status.success() => {}
        Ok(_) => return Ok(Err(format!("{} cannot import {imports}", args.python))),
        Err(e) => return Ok(Err(format!("cannot run {}: {e}", args.python))),
    }
    let out = Command::new(&args.python)
        .args(["-c", PY_SCRIPT, mode])
        .arg(file)
        .args([args.runs.to_string(), args.warmup.to_string()])
        .output()
        .with_context(|| format!("running {}", args.python))?;
    if !out.status.success() {
        bail!(
            "python {mode} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .with_context(|| format!("reading python {mode}'s answer"))?;
    let times_ms = v["times_ms"]
        .as_array()
        .context("no times_ms")?
        .iter()
        .map(|x| x.as_f64().context("not a number"))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(Ok(PyMeasured {
        times_ms,
        peak_rss_mb: v["peak_rss_mb"].as_f64().unwrap_or(f64::NAN),
        version: v["version"].as_str().unwrap_or("?").to_string(),
    }))
}

/// Writes the weights every side uses (and the ONNX graph of them) into `dir`.
fn prepare_files(args: &Args, dir: &Path) -> anyhow::Result<(PathBuf, PathBuf, String)> {
    let detector = match &args.weights {
        Some(w) => {
            let opts = LoadOptions {
                arch: Some(ARCH.into()),
                engine: Engine::Burn,
                ..LoadOptions::default()
            };
            Detector::load_with(w, &opts)
                .with_context(|| format!("cannot load weights {}", w.display()))?
        }
        None => {
            let cfg = EfficientDetConfig::from_arch(ARCH, 9)?;
            Detector::from_model(EfficientDet::seeded(&cfg, 7)?, None)?
        }
    };
    let cfg = detector.config();
    if cfg.image_size != 512 {
        bail!(
            "the benchmark is for a 512x512 D0; these weights take {}",
            cfg.image_size
        );
    }
    let what = match &args.weights {
        Some(w) => format!("weights {}", w.display()),
        None => format!("seeded random weights, {} classes", cfg.num_classes),
    };
    let weights = dir.join("model.safetensors");
    let meta = HashMap::from([
        ("arch".to_string(), ARCH.to_string()),
        ("num_classes".to_string(), cfg.num_classes.to_string()),
    ]);
    write_safetensors(&weights, &model_tensors(detector.model()), meta)?;
    let onnx = dir.join("model.onnx");
    std::fs::write(&onnx, detector.export_onnx()?).context("writing model.onnx")?;
    Ok((weights, onnx, what))
}

/// tract's time per kind of operation (the plan's nodes timed one by one, so the total is a
/// little above the plain forward's).
fn profile_tract(weights: &Path, args: &Args) -> anyhow::Result<()> {
    let opts = LoadOptions {
        engine: Engine::Tract,
        ..LoadOptions::default()
    };
    let detector = Detector::load_with(weights, &opts)?;
    let x = input(detector.config().image_size);
    for _ in 0..args.warmup {
        detector.heads_normalised(&x)?;
    }
    let Some(ops) = detector.profile_ops(&x, args.runs)? else {
        bail!("tract gave no profile");
    };
    let total: f64 = ops.iter().map(|o| o.ms_per_run).sum();
    println!(
        "tract per operation ({} runs), {total:.1} ms in all:",
        args.runs
    );
    for o in &ops {
        println!(
            "  {:<28} {:7.2} ms  {:5.1}%  {:4} nodes",
            o.op,
            o.ms_per_run,
            100.0 * o.ms_per_run / total.max(1e-9),
            o.nodes
        );
    }
    Ok(())
}

fn stats(times: &[f64]) -> String {
    let min = times.iter().copied().fold(f64::INFINITY, f64::min);
    let max = times.iter().copied().fold(0.0, f64::max);
    format!(
        "median {:7.1} ms  (min {:.1}, max {:.1}, {} runs)",
        median(times),
        min,
        max,
        times.len()
    )
}

pub fn run(args: Args) -> anyhow::Result<()> {
    if args.runs < 1 {
        bail!("--runs must be at least 1");
    }
    if let Some(engine) = &args.worker {
        return worker(engine, &args);
    }
    let dir = tempfile::tempdir().context("creating a temporary folder")?;
    let (weights, onnx, what) = prepare_files(&args, dir.path())?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("EfficientDet-D0 forward, 512x512, batch 1, raw heads ({what}); {cores} cores");
    if cfg!(debug_assertions) {
        println!("note: debug build; build with --release for representative timings");
    }

    let mut ours: HashMap<Engine, f64> = HashMap::new();
    for engine in Engine::ALL {
        let m = run_engine(engine, &weights, &args)?;
        match &m.skipped {
            Some(why) => println!("{:<22} skipped: {why}", format!("carina {engine}")),
            None => {
                println!(
                    "{:<22} {}  peak RSS {:.0} MB  load {:.0} ms",
                    format!("carina {engine}"),
                    stats(&m.times_ms),
                    m.peak_rss_mb.unwrap_or(f64::NAN),
                    m.load_ms
                );
                ours.insert(engine, median(&m.times_ms));
            }
        }
    }

    if args.profile {
        profile_tract(&weights, &args)?;
    }

    let mut theirs: HashMap<&str, f64> = HashMap::new();
    for (key, mode, imports, file) in [
        ("pytorch", "effdet", "torch, effdet, safetensors", &weights),
        ("python-ort", "ort", "onnxruntime, numpy", &onnx),
    ] {
        let label = match key {
            "pytorch" => "effdet (PyTorch)",
            _ => "onnxruntime (Python)",
        };
        match run_python(&args, mode, imports, file)? {
            Err(why) => println!("{label:<22} skipped: {why}"),
            Ok(m) => {
                println!(
                    "{label:<22} {}  peak RSS {:.0} MB  ({})",
                    stats(&m.times_ms),
                    m.peak_rss_mb,
                    m.version
                );
                theirs.insert(key, median(&m.times_ms));
            }
        }
    }

    let ratio = |label: &str, a: Option<&f64>, b: Option<&f64>, target: &str| {
        if let (Some(a), Some(b)) = (a, b) {
            println!("ratio {label:<34} {:.2}x  ({target})", a / b);
        }
    };
    let default = Engine::default();
    ratio(
        &format!("{default} (default) / PyTorch"),
        ours.get(&default),
        theirs.get("pytorch"),
        "target <= 1.00",
    );
    ratio(
        "burn / PyTorch",
        ours.get(&Engine::Burn),
        theirs.get("pytorch"),
        "for reference",
    );
    ratio(
        "ort / PyTorch",
        ours.get(&Engine::Ort),
        theirs.get("pytorch"),
        "for reference",
    );
    ratio(
        "ort / onnxruntime (Python)",
        ours.get(&Engine::Ort),
        theirs.get("python-ort"),
        "target <= 1.20",
    );
    ratio(
        &format!("{default} (default) / onnxruntime (Python)"),
        ours.get(&default),
        theirs.get("python-ort"),
        "for reference",
    );
    Ok(())
}
