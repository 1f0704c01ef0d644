//! `carina dataset export`: annotations → COCO JSON, VinDr-style CSV or YOLO
//! text files, filtered by source and review status. The annotations come
//! from a normalised dataset file (`--from`, as `import` writes it) or
//! straight from the workbench database (`--from-db`, see `export_db`).

pub use super::export_args::Args;
use super::export_args::{print_summary, statuses};
use super::export_db;
use anyhow::bail;
use carina_dataset::classes::SourceFormat;
use carina_dataset::export::export;
use carina_dataset::import::{ImportOptions, import};
use carina_dataset::{Filter, SourceKind};

pub fn run(args: Args) -> anyhow::Result<()> {
    let statuses = statuses(&args.status)?;
    let Some(from) = &args.from else {
        return export_db::run(&args, &statuses);
    };
    let mut filter = Filter {
        statuses,
        ..Filter::default()
    };
    for s in args.source.iter().map(|s| s.trim()) {
        if s == "any" {
            filter.sources.clear();
            break;
        }
        match SourceKind::parse(s) {
            Some(k) => filter.sources.push(k),
            None => bail!("--source {s:?}: expected radiologist, model, fused or any"),
        }
    }
    let (ds, report) = import(SourceFormat::Coco, from, &ImportOptions::default())?;
    if report.has_issues() {
        print!("{}", report.render(20));
        bail!(
            "{}: {} issue(s); fix the file before exporting",
            from.display(),
            report.issues.len()
        );
    }
    let ds = ds.filtered(&filter);
    let s = export(&ds, args.format.into(), &args.output)?;
    print_summary(&s, &args.output);
    Ok(())
}
