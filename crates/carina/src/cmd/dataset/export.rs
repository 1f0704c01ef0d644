//! `carina dataset export`: a normalised dataset (COCO JSON, as `import`
//! writes it) → COCO JSON, VinDr-style CSV or YOLO text files, filtered by
//! source and review status.

use anyhow::bail;
use carina_core::BoxStatus;
use carina_dataset::classes::SourceFormat;
use carina_dataset::export::{ExportFormat, export};
use carina_dataset::import::{ImportOptions, import};
use carina_dataset::{Filter, SourceKind};
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Format {
    Coco,
    Vindr,
    Yolo,
}

#[derive(clap::Args)]
pub struct Args {
    /// A COCO JSON (Carina's, with provenance and status, or plain COCO).
    #[arg(long)]
    pub from: PathBuf,
    /// Output format.
    #[arg(long, value_enum)]
    pub format: Format,
    /// Output file (coco, vindr) or folder (yolo).
    #[arg(short = 'o', long)]
    pub output: PathBuf,
    /// Keep only boxes from these sources: radiologist, model, fused (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub source: Vec<String>,
    /// Keep only boxes with these statuses: proposed, accepted, rejected, edited, manual.
    #[arg(long, value_delimiter = ',')]
    pub status: Vec<String>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let mut filter = Filter::default();
    for s in &args.source {
        match SourceKind::parse(s) {
            Some(k) => filter.sources.push(k),
            None => bail!("--source {s:?}: expected radiologist, model or fused"),
        }
    }
    for s in &args.status {
        match BoxStatus::parse(s.trim()) {
            Some(k) => filter.statuses.push(k),
            None => {
                bail!("--status {s:?}: expected proposed, accepted, rejected, edited or manual")
            }
        }
    }
    let (ds, report) = import(SourceFormat::Coco, &args.from, &ImportOptions::default())?;
    if report.has_issues() {
        print!("{}", report.render(20));
        bail!(
            "{}: {} issue(s); fix the file before exporting",
            args.from.display(),
            report.issues.len()
        );
    }
    let ds = ds.filtered(&filter);
    let format = match args.format {
        Format::Coco => ExportFormat::Coco,
        Format::Vindr => ExportFormat::Vindr,
        Format::Yolo => ExportFormat::Yolo,
    };
    let s = export(&ds, format, &args.output)?;
    println!(
        "exported {} images, {} boxes ({} files) to {}",
        s.images,
        s.boxes,
        s.files,
        args.output.display()
    );
    Ok(())
}
