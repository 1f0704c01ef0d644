//! Times `prepare` on generated 16-bit PNG radiograph-sized images (a
//! smooth synthetic pattern, not real radiographs) and prints ms per image.
//!
//! `cargo run --release -p carina-dataset --example prepare_timing -- [N] [WIDTH] [HEIGHT]`

use carina_dataset::classes::SourceFormat;
use carina_dataset::import::{ImportOptions, import};
use carina_dataset::prepare::{PrepareOptions, prepare};
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<u32> = std::env::args()
        .skip(1)
        .map(|a| a.parse())
        .collect::<Result<_, _>>()?;
    let n = args.first().copied().unwrap_or(40);
    let (w, h) = (
        args.get(1).copied().unwrap_or(2048),
        args.get(2).copied().unwrap_or(2500),
    );
    let dir = tempfile::tempdir()?;
    let images = dir.path().join("images");
    std::fs::create_dir_all(&images)?;
    let mut csv = String::from("image_id,class_name,class_id,rad_id,x_min,y_min,x_max,y_max\n");
    for i in 0..n {
        let img = image::ImageBuffer::<image::Luma<u16>, _>::from_fn(w, h, |x, y| {
            image::Luma([((x * 13 + y * 7 + i * 101) % 4096) as u16 * 8])
        });
        img.save(images.join(format!("im{i}.png")))?;
        for r in 0..3 {
            let c = ["Cardiomegaly", "Pleural effusion", "Nodule/Mass"][(i % 3) as usize];
            let o = f64::from(r) * 5.0;
            csv += &format!(
                "im{i},{c},0,R{r},{},{},{},{}\n",
                100.0 + o,
                200.0,
                900.0 + o,
                1000.0
            );
        }
    }
    let csv_path = dir.path().join("train.csv");
    std::fs::write(&csv_path, csv)?;
    let t = Instant::now();
    let opts = ImportOptions {
        images: Some(images),
        ..Default::default()
    };
    let (ds, report) = import(SourceFormat::Vindr, &csv_path, &opts)?;
    let t_import = t.elapsed();
    assert!(report.issues.is_empty());
    let t = Instant::now();
    prepare(
        &ds,
        &dir.path().join("out"),
        &PrepareOptions::default(),
        &|| {},
    )?;
    let t_prep = t.elapsed();
    println!(
        "{n} generated {w}x{h} 16-bit PNGs on {} threads: import {:.1} ms/image, prepare (512 px, 8-bit JPEG) {:.1} ms/image",
        rayon::current_num_threads(),
        t_import.as_secs_f64() * 1000.0 / f64::from(n),
        t_prep.as_secs_f64() * 1000.0 / f64::from(n)
    );
    Ok(())
}
