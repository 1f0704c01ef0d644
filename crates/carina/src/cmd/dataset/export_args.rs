//! The arguments of `carina dataset export` and what both of its sources
//! (a dataset file, `export`; the workbench database, `export_db`) share.

use anyhow::bail;
use carina_core::BoxStatus;
use carina_dataset::export::{ExportFormat, ExportSummary};
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Format {
    Coco,
    Vindr,
    Yolo,
}

impl From<Format> for ExportFormat {
    fn from(f: Format) -> Self {
        match f {
            Format::Coco => ExportFormat::Coco,
            Format::Vindr => ExportFormat::Vindr,
            Format::Yolo => ExportFormat::Yolo,
        }
    }
}

/// How images are written with `--from-db --images`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ImageFormat {
    /// 8-bit PNG with the image's stored window.
    Png,
    /// 16-bit PNG with the original values (higher = brighter).
    Png16,
    /// The de-identified DICOM file as the workbench serves it.
    Dicom,
}

#[derive(clap::Args)]
pub struct Args {
    /// A COCO JSON (Carina's, with provenance and status, or plain COCO).
    #[arg(long, conflicts_with = "from_db", required_unless_present = "from_db")]
    pub from: Option<PathBuf>,
    /// Read the workbench database instead (CARINA_DATABASE_URL, or SQLite in --data-dir).
    #[arg(long)]
    pub from_db: bool,
    /// With --from-db: the workbench data directory (as for `carina serve`).
    #[arg(long, env = "CARINA_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum)]
    pub format: Format,
    /// Output file (coco, vindr) or folder (yolo).
    #[arg(short = 'o', long)]
    pub output: PathBuf,
    /// Keep only boxes from these sources (comma-separated): radiologist, model, and
    /// fused (--from) or any kind the database stores, e.g. consensus (--from-db); `any` keeps all.
    #[arg(long, value_delimiter = ',')]
    pub source: Vec<String>,
    /// Keep only boxes with these statuses: proposed, accepted, rejected, edited, manual, or
    /// `any`. Default: the confirmed ones (accepted, edited, manual).
    #[arg(long, value_delimiter = ',')]
    pub status: Vec<String>,
    /// With --from-db: keep only images with these statuses (new, in_review, done).
    #[arg(long, value_delimiter = ',', requires = "from_db")]
    pub image_status: Vec<String>,
    /// With --from-db: also write the images (into `images/` beside a COCO or
    /// VinDr file, or inside the YOLO folder).
    #[arg(long, value_enum, requires = "from_db")]
    pub images: Option<ImageFormat>,
}

/// The statuses to keep: `--status` as given, `any` for all, by default the confirmed ones.
pub fn statuses(args: &[String]) -> anyhow::Result<Vec<BoxStatus>> {
    let args: Vec<&str> = args.iter().map(|s| s.trim()).collect();
    if args.contains(&"any") {
        return Ok(BoxStatus::ALL.to_vec());
    }
    if args.is_empty() {
        return Ok(BoxStatus::ALL
            .into_iter()
            .filter(|s| s.is_confirmed())
            .collect());
    }
    args.iter()
        .map(|s| match BoxStatus::parse(s) {
            Some(k) => Ok(k),
            None => bail!(
                "--status {s:?}: expected proposed, accepted, rejected, edited, manual or any"
            ),
        })
        .collect()
}

pub fn print_summary(s: &ExportSummary, out: &std::path::Path) {
    println!(
        "exported {} images, {} boxes ({} files) to {}",
        s.images,
        s.boxes,
        s.files,
        out.display()
    );
}
