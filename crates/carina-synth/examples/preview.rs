//! Renders a few synthetic radiographs with their boxes drawn in colour,
//! for looking at the generator's output:
//! `cargo run -p carina-synth --example preview -- OUT_DIR [COUNT] [BACKGROUNDS_DIR]`

use carina_core::Finding;
use carina_synth::{Rendered, load_backgrounds, render_insert, render_procedural};
use std::path::PathBuf;
use std::time::Instant;

fn save(r: &Rendered, path: &PathBuf) {
    let (w, h) = (r.image.w as u32, r.image.h as u32);
    let mut img = image::RgbImage::new(w, h);
    for (x, y, p) in img.enumerate_pixels_mut() {
        let v = (r.image.at(x as usize, y as usize) * 255.0) as u8;
        *p = image::Rgb([v, v, v]);
    }
    for a in &r.annotations {
        let c = u32::from_str_radix(&a.finding.default_color()[1..], 16).unwrap();
        let col = image::Rgb([(c >> 16) as u8, (c >> 8) as u8, c as u8]);
        let [x0, y0, x1, y1] = a.bbox.to_array().map(|v| v as u32);
        for x in x0..x1.min(w) {
            img.put_pixel(x, y0.min(h - 1), col);
            img.put_pixel(x, (y1 - 1).min(h - 1), col);
        }
        for y in y0..y1.min(h) {
            img.put_pixel(x0.min(w - 1), y, col);
            img.put_pixel((x1 - 1).min(w - 1), y, col);
        }
    }
    img.save(path).unwrap();
}

/// CPU time this thread has run, in seconds: wall time means little on a
/// loaded machine.
fn cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .next()
                .and_then(|v| v.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |ns| ns / 1e9)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let out = PathBuf::from(&args[1]);
    let count: usize = args.get(2).map(|s| s.parse().unwrap()).unwrap_or(9);
    std::fs::create_dir_all(&out).unwrap();
    let t = Instant::now();
    let c = cpu_seconds();
    for i in 0..count {
        let f = Finding::ALL[i % 9];
        let r = render_procedural(1000 + i as u64, 512, &[f]);
        let names: Vec<_> = r.annotations.iter().map(|a| a.finding.name()).collect();
        println!("procedural {i}: {names:?}");
        save(
            &r,
            &out.join(format!(
                "p{i}_{}.png",
                f.name().replace('/', "-").replace(' ', "_")
            )),
        );
    }
    println!(
        "procedural: {:.1} ms wall, {:.1} ms CPU per image (with the preview's PNG saving)",
        t.elapsed().as_secs_f64() * 1e3 / count as f64,
        (cpu_seconds() - c) * 1e3 / count as f64
    );
    if let Some(dir) = args.get(3) {
        let bgs = load_backgrounds(std::path::Path::new(dir), 512).unwrap();
        let t = Instant::now();
        let c = cpu_seconds();
        for i in 0..count {
            let f = Finding::ALL[i % 9];
            let r = render_insert(&bgs[i % bgs.len()], 2000 + i as u64, 512, &[f]);
            println!(
                "insert {i}: {:?}",
                r.annotations
                    .iter()
                    .map(|a| a.finding.name())
                    .collect::<Vec<_>>()
            );
            save(
                &r,
                &out.join(format!(
                    "i{i}_{}.png",
                    f.name().replace('/', "-").replace(' ', "_")
                )),
            );
        }
        println!(
            "insert: {:.1} ms wall, {:.1} ms CPU per image",
            t.elapsed().as_secs_f64() * 1e3 / count as f64,
            (cpu_seconds() - c) * 1e3 / count as f64
        );
        for (k, b) in bgs.iter().enumerate() {
            let r = Rendered {
                image: b.image.clone(),
                annotations: vec![],
                orig_width: 0,
                orig_height: 0,
                scale: 1.0,
            };
            save(&r, &out.join(format!("bg{k}.png")));
        }
    }
}
