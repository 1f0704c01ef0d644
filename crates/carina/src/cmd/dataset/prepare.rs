//! `carina dataset prepare`: import, fuse readers, letterbox, split and
//! write a prepared training folder.

use super::import::{Format, import_and_report};
use carina_dataset::prepare::{PrepareOptions, prepare};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use std::time::Instant;

#[derive(clap::Args)]
pub struct Args {
    /// Input format.
    #[arg(long, value_enum)]
    pub format: Format,
    /// The annotation file.
    pub input: PathBuf,
    /// Folder of the images (DICOM, PNG or JPEG named by image id).
    #[arg(long)]
    pub images: PathBuf,
    /// Output folder (must not exist or be empty).
    #[arg(long)]
    pub out: PathBuf,
    /// Square model input size.
    #[arg(long, default_value_t = 512)]
    pub size: u32,
    /// 8 (JPEG with the image's default window) or 16 (PNG, original values).
    #[arg(long, default_value_t = 8, value_parser = parse_bit_depth)]
    pub bit_depth: u8,
    /// IoU threshold of reader fusion (WBF).
    #[arg(long, default_value_t = 0.6)]
    pub fuse_iou: f64,
    /// Keep every reader's boxes instead of fusing them.
    #[arg(long)]
    pub no_fuse: bool,
    /// Share of images in the validation split (stratified by class).
    #[arg(long, default_value_t = 0.2)]
    pub val_fraction: f64,
    /// Seed of the split: the same seed gives the same split.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// JPEG quality of 8-bit images.
    #[arg(long, default_value_t = 95)]
    pub jpeg_quality: u8,
    /// Write the import report as JSON.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Fail when the import reports any issue.
    #[arg(long)]
    pub strict: bool,
}

fn parse_bit_depth(s: &str) -> Result<u8, String> {
    match s {
        "8" => Ok(8),
        "16" => Ok(16),
        _ => Err(format!("{s:?}: the bit depth is 8 or 16")),
    }
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let ds = import_and_report(
        args.format,
        &args.input,
        Some(args.images.clone()),
        args.report.as_deref(),
        args.strict,
        20,
    )?;
    let opts = PrepareOptions {
        size: args.size,
        bit_depth: args.bit_depth,
        fuse_iou: (!args.no_fuse).then_some(args.fuse_iou),
        val_fraction: args.val_fraction,
        seed: args.seed,
        jpeg_quality: args.jpeg_quality,
        description: String::new(),
    };
    let bar = ProgressBar::new(ds.images.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} images ({elapsed}, eta {eta})")
            .expect("valid template"),
    );
    let start = Instant::now();
    let summary = prepare(&ds, &args.out, &opts, &|| bar.inc(1))?;
    bar.finish_and_clear();
    let secs = start.elapsed().as_secs_f64();
    println!("{}", serde_json::to_string_pretty(&summary)?);
    println!(
        "prepared {} images in {:.2} s ({:.1} ms per image) into {}",
        ds.images.len(),
        secs,
        1000.0 * secs / ds.images.len().max(1) as f64,
        args.out.display()
    );
    for w in &summary.warnings {
        eprintln!("warning: {w}");
    }
    Ok(())
}
