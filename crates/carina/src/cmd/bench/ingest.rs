//! `carina bench ingest`: images per second of `carina ingest` into a fresh
//! local store (SQLite and local objects in a temporary folder), prediction
//! on arrival off. The images are generated first (not timed), each with
//! distinct content, since identical content is stored once: half PNG, half
//! DICOM Secondary Capture, `--size` pixels square, procedural or made from
//! the images under `--from` (downscaled, a few pixels changed per copy).

use crate::cmd::ingest::run::{Tally, send_all};
use crate::cmd::ingest::target::Target;
use crate::cmd::ingest::walk;
use anyhow::{Context, bail};
use carina_imaging::{GrayImage, Limits};
use carina_server::Config;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(clap::Args)]
pub struct Args {
    /// Images to generate and ingest (half PNG, half DICOM).
    #[arg(long, default_value_t = 500)]
    count: usize,
    /// Side of the generated images, in pixels.
    #[arg(long, default_value_t = 256)]
    size: u32,
    /// Make the images from the DICOM/PNG/JPEG files in this folder instead of procedurally.
    #[arg(long)]
    from: Option<PathBuf>,
    /// Files in flight at once (default: the number of CPU cores).
    #[arg(long, short = 'j')]
    jobs: Option<usize>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    if args.count == 0 || !(16..=4096).contains(&args.size) {
        bail!("--count must be at least 1 and --size between 16 and 4096");
    }
    let jobs = crate::cmd::ingest::jobs(args.jobs)?;
    let work = tempfile::tempdir().context("cannot make a temporary folder")?;
    let input = work.path().join("in");
    std::fs::create_dir_all(&input)?;
    let seeds = match &args.from {
        Some(dir) => seeds_from(dir, args.size)?,
        None => Vec::new(),
    };
    let kinds = generate(&input, &seeds, args.count, args.size)?;
    let mut config = Config::load(None, std::iter::empty::<(String, String)>())?;
    config.data_dir = work.path().join("data");
    config.predict_on_upload = false;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let mut cpu = 0.0;
    let tally = runtime.block_on(async {
        let target = Arc::new(Target::local(config, "bench".into()).await?);
        let found = walk::walk(&input)?;
        let (_tx, stop) = tokio::sync::watch::channel(false);
        let cpu_before = cpu_seconds();
        let tally = send_all(
            target.clone(),
            found.items,
            jobs,
            Tally::default(),
            stop,
            true,
        )
        .await;
        cpu = cpu_seconds().zip(cpu_before).map_or(0.0, |(a, b)| a - b);
        if let Ok(t) = Arc::try_unwrap(target) {
            t.close().await;
        }
        anyhow::Ok(tally)
    })?;
    if let Some(e) = tally.fatal {
        return Err(e);
    }
    if tally.stored != args.count {
        bail!(
            "stored {} of {} images (already there {}, refused {}: {:?})",
            tally.stored,
            args.count,
            tally.already,
            tally.refused.len(),
            tally.refused.first()
        );
    }
    let secs = tally.elapsed.as_secs_f64();
    println!(
        "ingest: {} images ({kinds}, {size}×{size} px) into SQLite + local objects, {jobs} job(s), prediction off",
        args.count,
        size = args.size
    );
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "  {secs:.2} s, {:.1} images/s on {cores} CPU core(s)",
        args.count as f64 / secs,
    );
    if cpu > 0.0 {
        // On a shared machine the wall-clock rate depends on the neighbours;
        // the process's CPU time per image does not.
        let per_image = cpu / args.count as f64;
        println!(
            "  CPU time {cpu:.2} s: {:.1} ms per image, so at most {:.0} images/s on {cores} idle core(s)",
            per_image * 1e3,
            cores as f64 / per_image
        );
    }
    Ok(())
}

/// User + system CPU seconds of this process so far (Linux `/proc`), if readable.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name in parentheses: state is field 3,
    // utime and stime fields 14 and 15, in clock ticks (USER_HZ, 100 on Linux).
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0)
}

/// 8-bit gray copies of the images under `dir`, `size` square.
fn seeds_from(dir: &Path, size: u32) -> anyhow::Result<Vec<Vec<u8>>> {
    let found = walk::walk(dir)?;
    let mut out = Vec::new();
    for item in &found.items {
        let bytes = std::fs::read(&item.path)?;
        let Ok(d) = carina_imaging::decode(&bytes, &Limits::default()) else {
            continue;
        };
        let small = carina_imaging::resize(&d.image, size, size)?;
        out.push(carina_imaging::to_u8_windowed(&small, d.meta.window));
    }
    if out.is_empty() {
        bail!("no readable image under {}", dir.display());
    }
    Ok(out)
}

/// Writes `count` distinct images into `dir`; returns what they are.
fn generate(dir: &Path, seeds: &[Vec<u8>], count: usize, size: u32) -> anyhow::Result<String> {
    let n = (size * size) as usize;
    for i in 0..count {
        let mut gray: Vec<u8> = match seeds.get(i % seeds.len().max(1)) {
            Some(seed) => seed.clone(),
            None => (0..n)
                .map(|p| {
                    let (x, y) = (p % size as usize, p / size as usize);
                    ((x * 7 + y * 13 + i * 31 + (x * y + i) % 17) % 251) as u8
                })
                .collect(),
        };
        // The copy's number in its first pixels: distinct content.
        for (k, b) in (i as u64).to_le_bytes().iter().enumerate() {
            gray[k] = *b;
        }
        let png = carina_imaging::encode_png8(size, size, &gray)?;
        if i % 2 == 0 {
            std::fs::write(dir.join(format!("img{i:06}.png")), png)?;
        } else {
            let d = carina_imaging::decode(&png, &Limits::default())?;
            let image =
                GrayImage::new(size, size, 8, gray.iter().map(|&v| u16::from(v)).collect())?;
            let dcm = carina_imaging::to_secondary_capture(&image, &d.meta)?;
            std::fs::write(dir.join(format!("img{i:06}.dcm")), dcm)?;
        }
    }
    let source = if seeds.is_empty() {
        "procedural"
    } else {
        "from samples"
    };
    Ok(format!("{source}, half PNG, half DICOM"))
}
