//! `carina dataset import`: VinDr-CXR / NIH / COCO → the normalised dataset
//! as COCO JSON, with a report of what was kept and dropped.

use anyhow::bail;
use carina_dataset::classes::SourceFormat;
use carina_dataset::cocoext::to_coco;
use carina_dataset::import::{ImportOptions, import};
use carina_dataset::prepare::write_json;
use carina_dataset::{Dataset, ImportReport};
use std::path::{Path, PathBuf};

/// Source formats on the command line.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Format {
    Vindr,
    Nih,
    Coco,
}

impl From<Format> for SourceFormat {
    fn from(f: Format) -> Self {
        match f {
            Format::Vindr => SourceFormat::Vindr,
            Format::Nih => SourceFormat::Nih,
            Format::Coco => SourceFormat::Coco,
        }
    }
}

#[derive(clap::Args)]
pub struct Args {
    /// Input format.
    #[arg(long, value_enum)]
    pub format: Format,
    /// The annotation file (train.csv, BBox_List_2017.csv, a COCO JSON).
    pub input: PathBuf,
    /// Folder of the images: each must be there and boxes are checked
    /// against its size.
    #[arg(long)]
    pub images: Option<PathBuf>,
    /// Where to write the normalised dataset (COCO JSON).
    #[arg(short = 'o', long)]
    pub output: Option<PathBuf>,
    /// Also write the report as JSON.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Fail (exit 1, nothing written) when the report lists any issue.
    #[arg(long)]
    pub strict: bool,
    /// How many issues to print (all are in --report).
    #[arg(long, default_value_t = 20)]
    pub max_issues: usize,
}

/// Imports and prints the report; shared with `prepare`.
pub fn import_and_report(
    format: Format,
    input: &Path,
    images: Option<PathBuf>,
    report_path: Option<&Path>,
    strict: bool,
    max_issues: usize,
) -> anyhow::Result<Dataset> {
    let opts = ImportOptions {
        images,
        ..Default::default()
    };
    let (ds, report) = import(format.into(), input, &opts)?;
    print!("{}", report.render(max_issues));
    if let Some(p) = report_path {
        write_report(p, &report)?;
    }
    if ds.images.is_empty() {
        bail!(
            "{}: no usable row ({} read, {} rejected); nothing to import",
            input.display(),
            report.rows,
            report.rows_rejected
        );
    }
    if strict && report.has_issues() {
        bail!(
            "{}: {} issue(s) and --strict given; nothing written",
            input.display(),
            report.issues.len()
        );
    }
    Ok(ds)
}

fn write_report(p: &Path, report: &ImportReport) -> anyhow::Result<()> {
    Ok(write_json(p, report)?)
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let ds = import_and_report(
        args.format,
        &args.input,
        args.images,
        args.report.as_deref(),
        args.strict,
        args.max_issues,
    )?;
    if let Some(out) = &args.output {
        write_json(out, &to_coco(&ds))?;
        println!(
            "wrote {} images, {} boxes to {}",
            ds.images.len(),
            ds.box_count(),
            out.display()
        );
    }
    Ok(())
}
