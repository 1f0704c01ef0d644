//! `carina dataset export --from-db`: the workbench's images and boxes, read
//! through `carina-store` (the same database and object store `carina serve`
//! uses), turned into a normalised dataset and written by the same exporters
//! as `--from`. Reads only, but for one audit-log entry saying that an
//! export was made (format and counts; no names, no paths): the database is
//! not created.

use super::export_args::{Args, Format, ImageFormat, print_summary};
use anyhow::{Context, bail};
use carina_core::BoxStatus;
use carina_dataset::export::export;
use carina_learn::workbench_dataset;
use carina_server::Config;
use carina_server::auth::audit::kind;
use carina_store::{Database, ExportFilter, ExportedImage, NewAudit, ObjectStorage};
use std::path::{Path, PathBuf};

fn is_word(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn filter(args: &Args, statuses: &[BoxStatus]) -> anyhow::Result<ExportFilter> {
    let mut f = ExportFilter::default();
    for s in args.source.iter().map(|s| s.trim()) {
        if s == "any" {
            f.sources.clear();
            break;
        }
        if !is_word(s) {
            bail!("--source {s:?}: expected a source kind such as radiologist, model or any");
        }
        // Fused boxes are stored as consensus of readers (`POST /images/{id}/consensus`).
        f.sources
            .push(if s == "fused" { "consensus" } else { s }.to_string());
    }
    if statuses.len() < BoxStatus::ALL.len() {
        f.statuses = statuses.iter().map(|s| s.as_str().to_string()).collect();
    }
    for s in args.image_status.iter().map(|s| s.trim()) {
        if !matches!(s, "new" | "in_review" | "done") {
            bail!("--image-status {s:?}: expected new, in_review or done");
        }
        f.image_statuses.push(s.to_string());
    }
    Ok(f)
}

/// Where images go: `images/` beside a COCO or VinDr file, inside a YOLO folder.
fn images_dir(format: Format, out: &Path) -> PathBuf {
    match format {
        Format::Yolo => out.join("images"),
        _ => out
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .join("images"),
    }
}

fn image_file_name(id: i64, f: ImageFormat) -> String {
    match f {
        ImageFormat::Dicom => format!("{id}.dcm"),
        ImageFormat::Png | ImageFormat::Png16 => format!("{id}.png"),
    }
}

/// The stored (de-identified DICOM) file converted as asked.
fn convert(bytes: &[u8], f: ImageFormat) -> anyhow::Result<Vec<u8>> {
    if f == ImageFormat::Dicom {
        return Ok(bytes.to_vec());
    }
    let d = carina_imaging::decode(bytes, &carina_imaging::Limits::default())?;
    Ok(match f {
        ImageFormat::Png16 => carina_imaging::encode_png16(&d.image)?,
        _ => carina_imaging::encode_png8(
            d.image.width,
            d.image.height,
            &carina_imaging::to_u8_windowed(&d.image, d.meta.window),
        )?,
    })
}

async fn open(args: &Args) -> anyhow::Result<(Database, ObjectStorage)> {
    let mut config = Config::load(None, std::env::vars())?;
    if let Some(dir) = &args.data_dir {
        config.data_dir = dir.clone();
    }
    if config.database_url.is_none() && !config.data_dir.join("carina.db").is_file() {
        bail!(
            "no workbench database at {} (give --data-dir, or CARINA_DATABASE_URL)",
            config.data_dir.join("carina.db").display()
        );
    }
    let db = Database::connect(config.database_url().expose())
        .await
        .context("cannot open the workbench database")?;
    let objects = match &config.object_store_url {
        Some(url) => ObjectStorage::from_url(url).context("cannot open the object store")?,
        None => ObjectStorage::local(&config.data_dir.join("objects"))
            .context("cannot open the local object store")?,
    };
    Ok((db, objects))
}

async fn run_async(args: &Args, statuses: &[BoxStatus]) -> anyhow::Result<()> {
    let f = filter(args, statuses)?;
    let (db, objects) = open(args).await?;
    let labels = db.labels().await.context("cannot read the label set")?;
    let rows: Vec<ExportedImage> = db
        .export_annotations(&f)
        .await
        .context("cannot read the annotations")?;
    let img_dir = args.images.map(|_| images_dir(args.format, &args.output));
    let ds = workbench_dataset(labels, &rows, |r| {
        args.images.map(|f| {
            let name = image_file_name(r.id, f);
            match args.format {
                Format::Yolo => PathBuf::from(name),
                _ => PathBuf::from("images").join(name),
            }
        })
    })?;
    if let Some(dir) = &img_dir
        && dir.exists()
        && std::fs::read_dir(dir)
            .with_context(|| format!("listing {}", dir.display()))?
            .next()
            .is_some()
    {
        bail!("{}: the images folder is not empty", dir.display());
    }
    let existed = args.output.exists();
    let summary = export(&ds, args.format.into(), &args.output)?;
    if let (Some(dir), Some(fmt)) = (&img_dir, args.images) {
        let written = write_images(&objects, &rows, dir, fmt).await;
        if let Err(e) = written {
            // Leave no export without its images: remove what this run made.
            let _ = std::fs::remove_dir_all(dir);
            if !existed {
                let _ = std::fs::remove_file(&args.output);
                let _ = std::fs::remove_dir_all(&args.output);
            }
            return Err(e);
        }
        println!("wrote {} images to {}", rows.len(), dir.display());
    }
    let entry = NewAudit::new(kind::EXPORT).detail(serde_json::json!({
        "via": "cli",
        "command": "dataset export --from-db",
        "os_user": std::env::var("USER").ok(),
        "format": format!("{:?}", args.format).to_lowercase(),
        "images": rows.len(),
        "with_image_files": args.images.is_some(),
    }));
    db.record_audit(&entry)
        .await
        .context("cannot write the export to the audit log")?;
    db.close().await;
    print_summary(&summary, &args.output);
    Ok(())
}

async fn write_images(
    objects: &ObjectStorage,
    rows: &[ExportedImage],
    dir: &Path,
    fmt: ImageFormat,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let bar = indicatif::ProgressBar::new(rows.len() as u64);
    for r in rows {
        let bytes = objects
            .get(&r.object_key)
            .await
            .with_context(|| format!("image {}: cannot read its file", r.id))?;
        let out = tokio::task::spawn_blocking(move || convert(&bytes, fmt))
            .await?
            .with_context(|| format!("image {}: cannot convert its file", r.id))?;
        let p = dir.join(image_file_name(r.id, fmt));
        std::fs::write(&p, out).with_context(|| format!("writing {}", p.display()))?;
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(())
}

pub fn run(args: &Args, statuses: &[BoxStatus]) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(run_async(args, statuses))
}
