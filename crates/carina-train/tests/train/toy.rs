//! A generated toy dataset in the prepared layout: dark noisy 8-bit images
//! with one to three bright discs ("Nodule/Mass") or squares ("Cardiomegaly")
//! and their boxes. The same images form the train and val splits, so the
//! metrics say whether the model found the boxes it was trained on.

use carina_core::coco::{CocoAnnotation, CocoCategory, CocoDataset, CocoImage};
use carina_core::manifest::{MANIFEST_FORMAT, PreparedManifest};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;
use std::path::Path;

pub const CLASSES: [&str; 2] = ["Nodule/Mass", "Cardiomegaly"];

pub fn write_dataset(dir: &Path, count: usize, size: u32, seed: u64) {
    std::fs::create_dir_all(dir.join("images")).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut coco = CocoDataset {
        info: None,
        images: Vec::new(),
        annotations: Vec::new(),
        categories: CLASSES
            .iter()
            .enumerate()
            .map(|(i, n)| CocoCategory {
                id: i as i64,
                name: n.to_string(),
                supercategory: None,
            })
            .collect(),
    };
    for i in 0..count {
        let mut img = image::GrayImage::new(size, size);
        for p in img.pixels_mut() {
            p.0[0] = rng.random_range(10..40);
        }
        let n = rng.random_range(1..=3);
        let mut placed: Vec<[f64; 4]> = Vec::new();
        for _ in 0..n {
            let class = rng.random_range(0..2u32);
            let side = rng.random_range(22.0..44.0f64);
            let x = rng.random_range(2.0..(f64::from(size) - side - 2.0));
            let y = rng.random_range(2.0..(f64::from(size) - side - 2.0));
            let b = [x, y, x + side, y + side];
            if placed
                .iter()
                .any(|p| b[0] < p[2] && p[0] < b[2] && b[1] < p[3] && p[1] < b[3])
            {
                continue;
            }
            placed.push(b);
            let (cx, cy, r) = (x + side / 2.0, y + side / 2.0, side / 2.0);
            for py in y as u32..(y + side).ceil() as u32 {
                for px in x as u32..(x + side).ceil() as u32 {
                    let (fx, fy) = (f64::from(px) + 0.5, f64::from(py) + 0.5);
                    let inside = if class == 0 {
                        (fx - cx).powi(2) + (fy - cy).powi(2) <= r * r
                    } else {
                        fx >= x && fx <= x + side && fy >= y && fy <= y + side
                    };
                    if inside {
                        img.get_pixel_mut(px, py).0[0] = rng.random_range(200..250);
                    }
                }
            }
            coco.annotations.push(CocoAnnotation::new(
                coco.annotations.len() as i64 + 1,
                i as i64,
                i64::from(class),
                [x, y, side, side],
            ));
        }
        let name = format!("toy{i:03}.png");
        img.save(dir.join("images").join(&name)).unwrap();
        coco.images.push(CocoImage {
            synthetic: Some(true),
            ..CocoImage::new(i as i64, name, size, size)
        });
    }
    std::fs::write(
        dir.join("train.json"),
        serde_json::to_string(&coco).unwrap(),
    )
    .unwrap();
    let manifest = PreparedManifest {
        format: MANIFEST_FORMAT.into(),
        synthetic: true,
        description: "toy shapes for carina-train's tests".into(),
        image_size: size,
        bit_depth: 8,
        class_names: CLASSES.iter().map(|s| s.to_string()).collect(),
        splits: BTreeMap::from([
            ("train".to_string(), "train.json".to_string()),
            ("val".to_string(), "train.json".to_string()),
        ]),
        images_dir: "images".into(),
        seed: Some(seed),
        created: "2026-01-01T00:00:00Z".into(),
        sources: vec!["test:toy".into()],
    };
    std::fs::write(
        dir.join("manifest.json"),
        serde_json::to_string_pretty(&manifest).unwrap(),
    )
    .unwrap();
}
