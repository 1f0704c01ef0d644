//! `carina dataset synth`: generate a synthetic prepared dataset of chest
//! radiographs with ground-truth boxes (see the `carina-synth` crate).

use anyhow::Context;
use carina_synth::{Mode, SynthConfig, write_dataset};
use clap::ValueEnum;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum SynthMode {
    /// Whole radiographs rendered from a random anatomy.
    Procedural,
    /// Findings drawn into real normal radiographs (--backgrounds).
    Insert,
    /// Half procedural, half insert.
    Mixed,
}

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Number of images.
    #[arg(long)]
    pub count: usize,
    /// Output folder (must not exist, or be empty).
    #[arg(long)]
    pub out: PathBuf,
    /// Seed: the same seed gives the same images and boxes.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Side of the square prepared images, in pixels.
    #[arg(long, default_value_t = 512)]
    pub size: u32,
    /// Bits per pixel of the PNG files: 8 or 16.
    #[arg(long, default_value_t = 8)]
    pub bit_depth: u8,
    #[arg(long, value_enum, default_value_t = SynthMode::Procedural)]
    pub mode: SynthMode,
    /// Folder of real normal radiographs (PNG/JPEG) for insert and mixed modes.
    #[arg(long)]
    pub backgrounds: Option<PathBuf>,
    /// Share of images in the validation split.
    #[arg(long, default_value_t = 0.2)]
    pub val_fraction: f64,
    /// Share of images without findings.
    #[arg(long, default_value_t = 0.2)]
    pub normal_fraction: f64,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let cfg = SynthConfig {
        count: args.count,
        seed: args.seed,
        size: args.size,
        bit_depth: args.bit_depth,
        mode: match args.mode {
            SynthMode::Procedural => Mode::Procedural,
            SynthMode::Insert => Mode::Insert,
            SynthMode::Mixed => Mode::Mixed,
        },
        backgrounds: args.backgrounds,
        val_fraction: args.val_fraction,
        normal_fraction: args.normal_fraction,
    };
    let bar = ProgressBar::new(args.count as u64);
    bar.set_style(
        ProgressStyle::with_template("{spinner} synth [{bar:30}] {pos}/{len} images, ETA {eta}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    let started = std::time::Instant::now();
    let summary = write_dataset(&cfg, &args.out, &|| bar.inc(1))
        .with_context(|| format!("cannot make the synthetic dataset {}", args.out.display()));
    bar.finish_and_clear();
    let summary = summary?;
    let boxes: usize = summary.counts.boxes.values().sum();
    eprintln!(
        "wrote {} synthetic images ({} boxes) to {} in {:.1} s",
        args.count,
        boxes,
        args.out.display(),
        started.elapsed().as_secs_f64()
    );
    println!("{}", serde_json::to_string_pretty(&summary)?);
    Ok(())
}
