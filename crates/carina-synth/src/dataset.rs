//! Writes a synthetic prepared dataset (the layout of
//! `carina_core::manifest`) with `carina_dataset`'s [`PreparedWriter`]:
//! images, one COCO file per split, a summary, and the manifest last, all in
//! a temporary folder renamed into place, so that an interrupted run never
//! leaves a folder that looks complete. What is the generator's own: the
//! plan of each image's findings, the rendering, and the seeded split on
//! what was actually boxed.

use crate::insert::{Background, load_backgrounds, render_insert};
use crate::procedural::render_procedural;
use crate::{GENERATOR_VERSION, Rendered, SynthError, display::encode_png};
use carina_core::coco::{CocoDataset, CocoImage};
use carina_core::manifest::{MANIFEST_FORMAT, PreparedManifest};
use carina_core::{Finding, Letterbox};
pub use carina_dataset::prepare::ClassSplitCounts;
use carina_dataset::prepare::{PreparedWriter, SplitCounts, box_annotation};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::Serialize;
use std::path::{Path, PathBuf};

const SPLITS: [(&str, bool); 2] = [("train", false), ("val", true)];

/// Where the images come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Procedural,
    /// Findings drawn into real normal radiographs.
    Insert,
    /// Half and half.
    Mixed,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Procedural => "procedural",
            Mode::Insert => "insert",
            Mode::Mixed => "mixed",
        }
    }
}

#[derive(Debug, Clone)]
pub struct SynthConfig {
    pub count: usize,
    pub seed: u64,
    /// Square side of the prepared images.
    pub size: u32,
    pub bit_depth: u8,
    pub mode: Mode,
    /// Folder of real normal radiographs (insert and mixed modes).
    pub backgrounds: Option<PathBuf>,
    /// Share of images in the `val` split.
    pub val_fraction: f64,
    /// Share of images without any finding.
    pub normal_fraction: f64,
}

impl SynthConfig {
    pub fn new(count: usize, seed: u64) -> Self {
        Self {
            count,
            seed,
            size: 512,
            bit_depth: 8,
            mode: Mode::Procedural,
            backgrounds: None,
            val_fraction: 0.2,
            normal_fraction: 0.2,
        }
    }

    fn validate(&self) -> Result<(), SynthError> {
        let bad = |m: String| Err(SynthError::Config(m));
        if self.count == 0 {
            return bad("count must be at least 1".into());
        }
        if !(64..=4096).contains(&self.size) {
            return bad(format!(
                "size must be between 64 and 4096 pixels, not {}",
                self.size
            ));
        }
        if self.bit_depth != 8 && self.bit_depth != 16 {
            return bad(format!("bit depth must be 8 or 16, not {}", self.bit_depth));
        }
        if !(0.0..=0.9).contains(&self.val_fraction) {
            return bad(format!(
                "validation fraction must be between 0 and 0.9, not {}",
                self.val_fraction
            ));
        }
        if !(0.0..=1.0).contains(&self.normal_fraction) {
            return bad(format!(
                "normal fraction must be between 0 and 1, not {}",
                self.normal_fraction
            ));
        }
        match (self.mode, &self.backgrounds) {
            (Mode::Insert | Mode::Mixed, None) => bad(format!(
                "{} mode needs a folder of normal radiographs (--backgrounds)",
                self.mode.name()
            )),
            (Mode::Procedural, Some(_)) => {
                bad("backgrounds are only used in insert and mixed modes".into())
            }
            _ => Ok(()),
        }
    }
}

/// What one image will show; drawn up front from the master seed so that
/// rendering can run in parallel and still be reproducible.
#[derive(Debug, Clone)]
pub struct ImagePlan {
    pub seed: u64,
    /// `None` for procedural, else the background's index.
    pub background: Option<usize>,
    pub findings: Vec<Finding>,
}

/// Findings per image: a fifth (by default) normal; every abnormal image
/// has a primary finding cycling through all nine classes in shuffled
/// rounds (so every class appears as soon as there are nine abnormal
/// images), plus sometimes one or two more, and masses sometimes come in
/// groups as metastases do.
pub fn plan(cfg: &SynthConfig, n_backgrounds: usize) -> Vec<ImagePlan> {
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let mut order: Vec<Finding> = Vec::new();
    let mut abnormal = 0usize;
    (0..cfg.count)
        .map(|_| {
            let seed = rng.random::<u64>();
            let background = match cfg.mode {
                Mode::Procedural => None,
                Mode::Insert => Some(rng.random_range(0..n_backgrounds)),
                Mode::Mixed => rng
                    .random::<bool>()
                    .then(|| rng.random_range(0..n_backgrounds)),
            };
            let mut findings = Vec::new();
            if rng.random::<f64>() >= cfg.normal_fraction {
                if abnormal.is_multiple_of(9) {
                    order = Finding::ALL.to_vec();
                    order.shuffle(&mut rng);
                }
                findings.push(order[abnormal % 9]);
                abnormal += 1;
                let extra = match rng.random::<f32>() {
                    x if x < 0.6 => 0,
                    x if x < 0.9 => 1,
                    _ => 2,
                };
                for _ in 0..extra {
                    let f = Finding::ALL[rng.random_range(0..9)];
                    // One heart per chest.
                    if !(f == Finding::Cardiomegaly && findings.contains(&f)) {
                        findings.push(f);
                    }
                }
                if findings.contains(&Finding::NoduleMass) && rng.random::<f32>() < 0.3 {
                    for _ in 0..rng.random_range(1..4) {
                        findings.push(Finding::NoduleMass);
                    }
                }
            }
            ImagePlan {
                seed,
                background,
                findings,
            }
        })
        .collect()
}

/// Assigns images to `train` / `val` (true = val) at random with the seed,
/// then moves single images so that every class present twice or more
/// appears in both splits.
pub fn split(plans: &[Vec<Finding>], val_fraction: f64, seed: u64) -> Vec<bool> {
    let n = plans.len();
    let mut idx: Vec<usize> = (0..n).collect();
    idx.shuffle(&mut ChaCha8Rng::seed_from_u64(seed ^ 0x5E11_7A11));
    let mut n_val = (n as f64 * val_fraction).round() as usize;
    if val_fraction > 0.0 && n >= 2 {
        n_val = n_val.clamp(1, n - 1);
    }
    let mut val = vec![false; n];
    for &i in &idx[..n_val] {
        val[i] = true;
    }
    if n_val == 0 {
        return val;
    }
    for f in Finding::ALL {
        let holders: Vec<usize> = idx
            .iter()
            .copied()
            .filter(|&i| plans[i].contains(&f))
            .collect();
        if holders.len() < 2 {
            continue;
        }
        for want_val in [true, false] {
            if holders.iter().any(|&i| val[i] == want_val) {
                continue;
            }
            // Swap one holder with an image of the other split that holds
            // no class the swap would take away from it.
            let give = holders[0];
            let take = idx.iter().copied().find(|&j| {
                val[j] == want_val
                    && !plans[j].iter().any(|g| {
                        idx.iter()
                            .filter(|&&k| val[k] == want_val && plans[k].contains(g))
                            .count()
                            == 1
                    })
            });
            if let Some(j) = take {
                val[give] = want_val;
                val[j] = !want_val;
            }
        }
    }
    val
}

/// `summary.json`: the same shape as `carina dataset prepare` writes, plus
/// how the data was generated.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SynthSummary {
    pub synthetic: bool,
    pub generator: String,
    pub mode: String,
    pub seed: u64,
    pub image_size: u32,
    pub bit_depth: u8,
    /// Images, boxes and classes per split (as `carina dataset prepare` writes them).
    #[serde(flatten)]
    pub counts: SplitCounts,
    /// E.g. a class missing from a split because there were too few images.
    pub warnings: Vec<String>,
}

struct Made {
    annotations: Vec<crate::Annotated>,
    letterbox: Letterbox,
    source: String,
}

fn render_one(cfg: &SynthConfig, p: &ImagePlan, bgs: &[Background]) -> Rendered {
    let size = cfg.size as usize;
    match p.background {
        None => render_procedural(p.seed, size, &p.findings),
        Some(b) => render_insert(&bgs[b], p.seed, size, &p.findings),
    }
}

pub fn file_name(i: usize) -> String {
    format!("synth_{:06}.png", i + 1)
}

/// Generates the dataset into `out` (which must not exist or be empty),
/// calling `progress` once per image written.
pub fn write_dataset(
    cfg: &SynthConfig,
    out: &Path,
    progress: &(dyn Fn() + Sync),
) -> Result<SynthSummary, SynthError> {
    cfg.validate()?;
    let mut writer = PreparedWriter::create(out, ".carina-synth-")?;
    let bgs = match &cfg.backgrounds {
        Some(dir) => load_backgrounds(dir, cfg.size as usize)?,
        None => Vec::new(),
    };
    let made = render_all(cfg, &bgs, &writer, progress)?;

    // Split on what was actually boxed (a finding too small to box is
    // not in the labels).
    let labels: Vec<Vec<Finding>> = made
        .iter()
        .map(|m| m.annotations.iter().map(|a| a.finding).collect())
        .collect();
    let is_val = split(&labels, cfg.val_fraction, cfg.seed);
    let names: Vec<String> = Finding::ALL.iter().map(|f| f.name().to_string()).collect();
    let description = describe(cfg, bgs.len());
    let mut counts = SplitCounts::default();
    for (split_name, want_val) in SPLITS {
        let members: Vec<usize> = (0..made.len()).filter(|&i| is_val[i] == want_val).collect();
        if members.is_empty() {
            continue;
        }
        counts.open(split_name, &names);
        let mut coco = CocoDataset {
            info: Some(serde_json::json!({
                "description": description,
                "synthetic": true,
                "generator": GENERATOR_VERSION,
                "seed": cfg.seed,
                "mode": cfg.mode.name(),
                "split": split_name,
            })),
            images: Vec::new(),
            annotations: Vec::new(),
            categories: CocoDataset::categories_for(&names),
        };
        for &i in &members {
            add_image(&mut coco, cfg.size, i, &made[i]);
            let boxes = made[i].annotations.iter().map(|a| a.finding.name());
            counts.add_image(split_name, boxes);
        }
        writer.write_split(split_name, &coco)?;
    }
    let summary = SynthSummary::new(cfg, counts);
    let manifest = PreparedManifest {
        format: MANIFEST_FORMAT.to_string(),
        synthetic: true,
        description,
        image_size: cfg.size,
        bit_depth: cfg.bit_depth,
        class_names: names,
        splits: writer.splits().clone(),
        images_dir: "images".to_string(),
        seed: Some(cfg.seed),
        created: carina_core::time::now_rfc3339(),
        sources: vec![format!("synth:{}", cfg.mode.name())],
    };
    writer.finish(&summary, &manifest)?;
    Ok(summary)
}

/// Renders every planned image in parallel into the writer's images folder.
fn render_all(
    cfg: &SynthConfig,
    bgs: &[Background],
    writer: &PreparedWriter,
    progress: &(dyn Fn() + Sync),
) -> Result<Vec<Made>, SynthError> {
    let images_dir = writer.images_dir();
    plan(cfg, bgs.len())
        .par_iter()
        .enumerate()
        .map(|(i, p)| {
            let r = render_one(cfg, p, bgs);
            let png = encode_png(&r.image, cfg.size as usize, cfg.bit_depth)?;
            std::fs::write(images_dir.join(file_name(i)), png)
                .map_err(|e| writer.error(format!("cannot write an image: {e}")))?;
            progress();
            Ok(Made {
                annotations: r.annotations,
                letterbox: Letterbox {
                    orig_width: r.orig_width,
                    orig_height: r.orig_height,
                    size: cfg.size,
                    scale: r.scale,
                    pad_x: 0.0,
                    pad_y: 0.0,
                },
                source: match p.background {
                    None => "synth:procedural".to_string(),
                    Some(b) => format!("synth:insert:background-{}", b + 1),
                },
            })
        })
        .collect()
}

/// The dataset's description, for the manifest and every COCO file.
fn describe(cfg: &SynthConfig, n_backgrounds: usize) -> String {
    format!(
        "Synthetic chest radiographs generated by {GENERATOR_VERSION} (mode {}, seed {}, {} images, {} px, {}-bit). \
         Not real patients and not expert annotations: anatomy, findings and boxes are generated{}; \
         box sizes and positions follow the NIH ChestX-ray14 box list (NIH Clinical Center; Wang et al., ChestX-ray8, CVPR 2017). \
         Anything trained on it must say so. No clinical validity.",
        cfg.mode.name(),
        cfg.seed,
        cfg.count,
        cfg.size,
        cfg.bit_depth,
        if n_backgrounds == 0 {
            String::new()
        } else {
            format!(", some drawn into {n_backgrounds} real normal radiographs")
        },
    )
}

/// Image `i` and its boxes into its split's COCO file.
fn add_image(coco: &mut CocoDataset, size: u32, i: usize, m: &Made) {
    let id = i as i64 + 1;
    coco.images.push(CocoImage {
        letterbox: Some(m.letterbox),
        synthetic: Some(true),
        source: Some(m.source.clone()),
        ..CocoImage::new(id, file_name(i), size, size)
    });
    for a in &m.annotations {
        let ann_id = coco.annotations.len() as i64 + 1;
        let category = i64::from(a.finding.class_id());
        coco.annotations
            .push(box_annotation(ann_id, id, category, &a.bbox));
    }
}

impl SynthSummary {
    fn new(cfg: &SynthConfig, counts: SplitCounts) -> Self {
        // A class missing from a split it has images in.
        let mut warnings = Vec::new();
        for (split, _) in SPLITS {
            if !counts.images.contains_key(split) {
                continue;
            }
            for (name, per_split) in &counts.per_class {
                if per_split[split].images == 0 {
                    warnings.push(format!("no {name} in the {split} split"));
                }
            }
        }
        SynthSummary {
            synthetic: true,
            generator: GENERATOR_VERSION.to_string(),
            mode: cfg.mode.name().to_string(),
            seed: cfg.seed,
            image_size: cfg.size,
            bit_depth: cfg.bit_depth,
            counts,
            warnings,
        }
    }
}
