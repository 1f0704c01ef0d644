//! `carina dataset merge`: fuse readers' boxes with Weighted Boxes Fusion.

use anyhow::Context;
use carina_dataset::merge::{merge_csv, write_merged};
use carina_eval::wbf::WbfParams;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// VinDr-CXR-style CSV: image_id,class_name,class_id,rad_id,x_min,y_min,x_max,y_max.
    pub input: PathBuf,
    /// Output CSV: image_id,class_name,class_id,x_min,y_min,x_max,y_max,score.
    #[arg(short = 'o', long)]
    pub output: PathBuf,
    /// A box joins a cluster when its IoU with the fused box is greater than this.
    #[arg(long, default_value_t = 0.6)]
    pub iou_thr: f64,
    /// Boxes with a score below this are ignored (every reader box scores 1).
    #[arg(long, default_value_t = 0.0)]
    pub skip_box_thr: f64,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let params = WbfParams {
        iou_thr: args.iou_thr,
        skip_box_thr: args.skip_box_thr,
    };
    let rows = merge_csv(&args.input, &params)?;
    let mut buf = Vec::new();
    write_merged(&rows, &mut buf)?;
    // Through a temporary file, so a failed write leaves no partial CSV.
    let tmp = args.output.with_extension("csv.tmp");
    std::fs::write(&tmp, buf).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, &args.output)
        .with_context(|| format!("writing {}", args.output.display()))?;
    let images: std::collections::HashSet<&str> =
        rows.iter().map(|r| r.image_id.as_str()).collect();
    println!(
        "{} fused boxes on {} images written to {}",
        rows.len(),
        images.len(),
        args.output.display()
    );
    Ok(())
}
