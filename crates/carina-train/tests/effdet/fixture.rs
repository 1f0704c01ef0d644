//! effdet's reference training step (`../shared/fixtures/effdet-train/<arch>`, made by effdet
//! 0.4.1 on torch in float32) and its exact float64 summary (`tests/data/
//! effdet_train_reference.json`, made by `scripts/effdet_train_reference.py`): shared by the
//! float32 tests (`tests/train/effdet_step.rs`) and the float64 test (`tests/effdet_f64.rs`).
#![allow(dead_code)]

use burn::module::Module;
use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor, TensorData};
use carina_detect::anchors::Anchors;
use carina_detect::weights::{
    ClassHead, HostTensor, NamedParam, WeightsFile, load_weights, named_params, write_safetensors,
};
use carina_detect::{EfficientDet, EfficientDetConfig};
use carina_train::assign::{AnchorTargets, GtBox, label_anchors};
use carina_train::config::LossConfig;
use carina_train::loss::{BatchTargets, detection_loss, flatten_levels};
use serde::Deserialize;
use std::collections::HashMap;
use std::path::PathBuf;

pub const NUM_CLASSES: usize = 9;
const LEVELS: usize = 5;
pub const ARCHS: [&str; 2] = ["tf_efficientdet_lite0", "tf_efficientdet_d0"];

pub struct Fixture {
    pub arch: String,
    pub step: HashMap<String, HostTensor>,
    pub weights: HashMap<String, HostTensor>,
    pub reference: ArchReference,
}

/// effdet's step in float64, summarised per parameter (see the script's docstring).
#[derive(Debug, Deserialize)]
pub struct ArchReference {
    /// Total, class and box loss.
    pub loss: [f64; 3],
    /// The fixture's relative error in each loss.
    pub loss_fixture_error: [f64; 3],
    /// The largest relative error in each loss of four more float32 runs of effdet.
    pub loss_f32_noise: [f64; 3],
    pub params: HashMap<String, ParamReference>,
}

#[derive(Debug, Deserialize)]
pub struct ParamReference {
    /// Largest |gradient|.
    pub scale: f64,
    /// Largest |fixture − exact| / scale: the fixture's own float32 error.
    pub fixture_error: f64,
    /// The largest such error of four more float32 runs of effdet (thread counts, inputs one
    /// ulp apart): how far float32 rounding alone moves this gradient.
    pub f32_noise: f64,
    /// Sum of |gradient|.
    pub l1: f64,
    /// Signed sums of the gradient with the signs of [`sign`].
    pub proj: [f64; 2],
}

#[derive(Deserialize)]
struct ReferenceFile {
    archs: HashMap<String, ArchReference>,
}

impl Fixture {
    pub fn read(arch: &str) -> Self {
        let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let dir = manifest
            .join("../../../shared/fixtures/effdet-train")
            .join(arch);
        let read = |name: &str| {
            WeightsFile::read(&dir.join(name))
                .unwrap_or_else(|e| panic!("{}: {e}", dir.join(name).display()))
                .tensors
        };
        let json = manifest.join("tests/data/effdet_train_reference.json");
        let file: ReferenceFile =
            serde_json::from_slice(&std::fs::read(&json).expect("reference summary")).unwrap();
        let mut archs = file.archs;
        Self {
            arch: arch.to_string(),
            step: read("train_step.safetensors"),
            weights: read("weights.safetensors"),
            reference: archs.remove(arch).expect("the architecture's summary"),
        }
    }

    pub fn get(&self, name: &str) -> &HostTensor {
        self.step
            .get(name)
            .unwrap_or_else(|| panic!("{}: no tensor {name} in the fixture", self.arch))
    }

    pub fn scalar(&self, name: &str) -> f64 {
        f64::from(self.get(name).data[0])
    }

    fn image_size(&self) -> usize {
        self.get("image").shape[3]
    }

    /// The ground truth of image `i`: `xyxy` rows turned into `yxyx`, padding (class −1) left out.
    fn ground_truth(&self, i: usize) -> Vec<GtBox> {
        let boxes = self.get("boxes_xyxy");
        let classes = self.get("classes");
        let per_image = classes.shape[1];
        (0..per_image)
            .filter_map(|j| {
                let class = classes.data[i * per_image + j];
                let b = &boxes.data[(i * per_image + j) * 4..][..4];
                (class >= 0.0).then_some(GtBox {
                    yxyx: [b[1], b[0], b[3], b[2]],
                    class: class as u32,
                })
            })
            .collect()
    }
}

/// The fixture's model: its weights loaded into Carina's EfficientDet on `device`, in training mode.
fn model(fx: &Fixture, device: &Device) -> (EfficientDet, EfficientDetConfig) {
    let mut cfg = EfficientDetConfig::from_arch(&fx.arch, NUM_CLASSES).unwrap();
    cfg.image_size = fx.image_size();
    let mut model = EfficientDet::new(&cfg, device).unwrap();
    load_weights(&mut model, &fx.weights, ClassHead::Load).unwrap();
    (model.train(), cfg)
}

pub fn to_vec<const D: usize>(t: Tensor<D>) -> Vec<f64> {
    t.into_data()
        .convert::<f64>()
        .try_into_vec::<f64>()
        .unwrap()
}

/// Carina's labels of the batch, and a check that they are effdet's: classes and positives
/// identical, box codes equal up to float rounding.
fn labels_match(fx: &Fixture, cfg: &EfficientDetConfig) -> Vec<AnchorTargets> {
    let anchors = Anchors::new(cfg);
    let threshold = LossConfig::default().match_threshold;
    let batch = fx.get("image").shape[0];
    let mut out = Vec::new();
    for i in 0..batch {
        let t = label_anchors(anchors.boxes(), &fx.ground_truth(i), threshold);
        let (mut classes, mut codes) = (Vec::new(), Vec::new());
        for level in 0..LEVELS {
            for (name, into) in [("cls", &mut classes), ("box", &mut codes)] {
                let want = fx.get(&format!("{name}_targets.{level}"));
                let per_image = want.data.len() / batch;
                into.extend_from_slice(&want.data[i * per_image..][..per_image]);
            }
        }
        assert_eq!(t.classes.len(), classes.len(), "{}: anchors", fx.arch);
        let differing = t
            .classes
            .iter()
            .zip(&classes)
            .filter(|(a, b)| **a as f32 != **b)
            .count();
        assert_eq!(differing, 0, "{}: image {i}: class labels differ", fx.arch);
        for (j, (got, want)) in t.boxes.iter().zip(codes.chunks(4)).enumerate() {
            for k in 0..4 {
                let tol = 1e-6 * (1.0 + want[k].abs());
                assert!(
                    (got[k] - want[k]).abs() <= tol,
                    "{}: image {i} anchor {j}: box code {got:?} vs effdet's {want:?}",
                    fx.arch
                );
            }
        }
        let positives = fx.get("num_positives").data[i];
        assert_eq!(t.num_positives as f32, positives, "{}: image {i}", fx.arch);
        out.push(t);
    }
    out
}

pub fn assert_rel(got: f64, want: f64, rel: f64, what: &str) {
    assert!(
        (got - want).abs() <= rel * want.abs().max(1e-12),
        "{what}: {got} vs effdet's {want} (relative {:.2e})",
        (got - want).abs() / want.abs()
    );
}

/// One training step of Carina's model on the fixture's batch.
pub struct Step {
    pub model: EfficientDet,
    pub cfg: EfficientDetConfig,
    /// Total, class and box loss.
    pub loss: [f64; 3],
    pub grads: GradientsParams,
    pub params: Vec<NamedParam>,
}

impl Step {
    /// Labels (checked against effdet's), forward, loss and backward on `device`.
    pub fn run(fx: &Fixture, device: &Device) -> Self {
        let (model, cfg) = model(fx, device);
        let targets = labels_match(fx, &cfg);
        let image = fx.get("image");
        let images = Tensor::<4>::from_data(
            TensorData::new(image.data.clone(), image.shape.clone()),
            device,
        );
        let out = model.forward(images);
        let batch = BatchTargets::new(&targets, NUM_CLASSES, device);
        let loss = detection_loss(
            flatten_levels(out.class, NUM_CLASSES),
            flatten_levels(out.boxes, 4),
            &batch,
            &LossConfig::default(),
        );
        let value = |t: &Tensor<1>| to_vec(t.clone())[0];
        let values = [value(&loss.total), value(&loss.class), value(&loss.boxes)];
        let grads = GradientsParams::from_grads(loss.total.backward(), &model);
        let params = named_params(&model);
        Self {
            model,
            cfg,
            loss: values,
            grads,
            params,
        }
    }

    /// The gradient of `p`, whatever the float type it was computed in.
    pub fn gradient(&self, p: &NamedParam) -> Vec<f64> {
        match p.rank {
            4 => self.grads.get::<4>(p.id).map(to_vec),
            _ => self.grads.get::<1>(p.id).map(to_vec),
        }
        .unwrap_or_else(|| panic!("no gradient for {}", p.name))
    }

    /// With `CARINA_TEST_EFFDET_DUMP=<dir>`: every gradient, by effdet's names, written to
    /// `<dir>/<arch>-<path>.safetensors` for study beside effdet's.
    pub fn dump(&self, fx: &Fixture, path: &str) {
        let Some(dir) = std::env::var_os("CARINA_TEST_EFFDET_DUMP") else {
            return;
        };
        let tensors: Vec<(String, HostTensor)> = self
            .params
            .iter()
            .map(|p| {
                let data = self.gradient(p).into_iter().map(|v| v as f32).collect();
                let shape = fx.get(&format!("grad.{}", p.name)).shape.clone();
                (format!("grad.{}", p.name), HostTensor { data, shape })
            })
            .collect();
        let file = PathBuf::from(dir).join(format!("{}-{}.safetensors", fx.arch, path));
        write_safetensors(&file, &tensors, HashMap::new()).expect("dump written");
    }
}

/// The signs of projection `k` over `count` elements: a splitmix64 step of each index (the
/// script's `sign`).
pub fn sign(count: usize, k: u64) -> impl Iterator<Item = f64> {
    let offset = (k + 1).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    (0..count as u64).map(move |i| {
        let mut z = i.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(offset);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        if z >> 63 == 1 { -1.0 } else { 1.0 }
    })
}

/// Largest |got − fixture| over the tensor, relative to the exact gradient's largest magnitude.
pub fn error_to_fixture(fx: &Fixture, name: &str, got: &[f64]) -> f64 {
    let want = &fx.get(&format!("grad.{name}")).data;
    assert_eq!(got.len(), want.len(), "{}: {name}", fx.arch);
    let scale = fx.reference.params[name].scale;
    let worst = got
        .iter()
        .zip(want)
        .map(|(a, &b)| (a - f64::from(b)).abs())
        .fold(0f64, f64::max);
    if scale > 0.0 { worst / scale } else { worst }
}

/// Every parameter effdet has, no more and no fewer.
pub fn same_parameters(fx: &Fixture, params: &[NamedParam]) {
    let in_fixture = fx.step.keys().filter(|k| k.starts_with("grad.")).count();
    assert_eq!(params.len(), in_fixture, "{}: parameters", fx.arch);
    assert_eq!(
        params.len(),
        fx.reference.params.len(),
        "{}: parameters",
        fx.arch
    );
}
