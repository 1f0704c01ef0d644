//! Times `write_dataset` (all cores, PNG encoding and writing included):
//! `cargo run --release -p carina-synth --example throughput -- OUT_DIR COUNT [SIZE] [BACKGROUNDS_DIR]`

use carina_synth::{Mode, SynthConfig, write_dataset};
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let out = std::path::PathBuf::from(&args[1]);
    let count: usize = args[2].parse().expect("COUNT");
    let mut cfg = SynthConfig::new(count, 1);
    cfg.size = args.get(3).map_or(512, |s| s.parse().expect("SIZE"));
    if let Some(dir) = args.get(4) {
        cfg.mode = Mode::Mixed;
        cfg.backgrounds = Some(dir.into());
    }
    let t = Instant::now();
    let summary = write_dataset(&cfg, &out, &|| {}).expect("dataset");
    let s = t.elapsed().as_secs_f64();
    println!(
        "{count} images ({} mode, {} px) in {s:.2} s on {} threads: {:.1} ms per image",
        cfg.mode.name(),
        cfg.size,
        rayon::current_num_threads(),
        s * 1e3 / count as f64
    );
    println!("{}", serde_json::to_string(&summary).unwrap());
}
