//! Loading weights: effdet `.pth` checkpoints, a different class count, mismatched files,
//! save/load round trips, and the ImageNet EfficientNet-Lite0 backbone.
//!
//! There is no PyTorch here, so the `.pth` files are written by [`write_torch_zip`] in the
//! layout `torch.save` uses (a zip with `archive/data.pkl`, one `archive/data/<key>` entry per
//! storage, `version` and `byteorder`), pickling each tensor as
//! `torch._utils._rebuild_tensor_v2(persistent storage, offset, size, stride, False, OrderedDict())`.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use burn::prelude::*;
use carina_detect::weights::{
    ClassHead, HostTensor, LITE0_IMAGENET_UNUSED, WeightsFile, load_lite0_imagenet_backbone,
    load_weights, model_tensors, write_safetensors,
};
use carina_detect::{
    DetectError, Detector, EfficientDet, EfficientDetConfig, Engine, InputImage, LoadOptions,
    PredictOptions,
};

fn shared() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
}

fn lite0_weights() -> WeightsFile {
    WeightsFile::read(&shared().join("fixtures/effdet/tf_efficientdet_lite0/weights.safetensors"))
        .unwrap()
}

/// Pickle protocol 2, just the opcodes a state dict needs.
struct Pickle(Vec<u8>);

impl Pickle {
    fn global(&mut self, module: &str, name: &str) {
        self.0.push(b'c');
        self.0.extend(format!("{module}\n{name}\n").as_bytes());
    }
    fn string(&mut self, s: &str) {
        self.0.push(b'X');
        self.0.extend((s.len() as u32).to_le_bytes());
        self.0.extend(s.as_bytes());
    }
    fn int(&mut self, v: usize) {
        self.0.push(b'J');
        self.0.extend((v as i32).to_le_bytes());
    }
    fn int_tuple(&mut self, vs: &[usize]) {
        if vs.is_empty() {
            self.0.push(b')');
            return;
        }
        self.0.push(b'(');
        for &v in vs {
            self.int(v);
        }
        self.0.push(b't');
    }
    fn ordered_dict(&mut self) {
        self.global("collections", "OrderedDict");
        self.0.extend([b')', b'R']);
    }
}

/// Writes `tensors` as a PyTorch zip checkpoint, each name prefixed with `prefix`.
fn write_torch_zip(path: &Path, tensors: &[(String, HostTensor)], prefix: &str) {
    let mut p = Pickle(vec![0x80, 2]);
    p.ordered_dict();
    p.0.push(b'(');
    for (key, (name, t)) in tensors.iter().enumerate() {
        p.string(&format!("{prefix}{name}"));
        p.global("torch._utils", "_rebuild_tensor_v2");
        p.0.push(b'(');
        // Persistent id: ('storage', FloatStorage, key, location, numel).
        p.0.push(b'(');
        p.string("storage");
        p.global("torch", "FloatStorage");
        p.string(&key.to_string());
        p.string("cpu");
        p.int(t.data.len());
        p.0.extend([b't', b'Q']);
        p.int(0);
        p.int_tuple(&t.shape);
        let mut stride = vec![1usize; t.shape.len()];
        for i in (0..t.shape.len().saturating_sub(1)).rev() {
            stride[i] = stride[i + 1] * t.shape[i + 1];
        }
        p.int_tuple(&stride);
        p.0.push(0x89); // False: requires_grad
        p.ordered_dict();
        p.0.extend([b't', b'R']);
    }
    p.0.extend([b'u', b'.']);

    let file = std::fs::File::create(path).unwrap();
    let mut zip = zip::ZipWriter::new(file);
    let opts =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    zip.start_file("archive/data.pkl", opts).unwrap();
    zip.write_all(&p.0).unwrap();
    zip.start_file("archive/byteorder", opts).unwrap();
    zip.write_all(b"little").unwrap();
    for (key, (_, t)) in tensors.iter().enumerate() {
        zip.start_file(format!("archive/data/{key}"), opts).unwrap();
        let bytes: Vec<u8> = t.data.iter().flat_map(|v| v.to_le_bytes()).collect();
        zip.write_all(&bytes).unwrap();
    }
    zip.start_file("archive/version", opts).unwrap();
    zip.write_all(b"3\n").unwrap();
    zip.finish().unwrap();
}

fn sorted(w: &HashMap<String, HostTensor>) -> Vec<(String, HostTensor)> {
    let mut v: Vec<_> = w.iter().map(|(k, t)| (k.clone(), t.clone())).collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

/// A deterministic grayscale test pattern at the Lite0 input size.
fn pattern() -> Vec<f32> {
    (0..320 * 320)
        .map(|i| {
            let (x, y) = ((i % 320) as f32, (i / 320) as f32);
            0.5 + 0.4 * ((x / 23.0).sin() * (y / 17.0).cos())
        })
        .collect()
}

#[test]
fn pth_checkpoint_loads_like_the_safetensors() {
    let dir = tempfile::tempdir().unwrap();
    let st = lite0_weights();
    // effdet's training script nests the state dict; DetBenchTrain adds `model.`.
    let pth = dir.path().join("tf_efficientdet_lite0.pth");
    write_torch_zip(&pth, &sorted(&st.tensors), "model.");
    let from_pth = WeightsFile::read(&pth).unwrap();
    assert_eq!(from_pth.tensors, st.tensors);
    assert_eq!(from_pth.arch().unwrap(), "tf_efficientdet_lite0");
    assert_eq!(from_pth.num_classes(9).unwrap(), 9);

    let pixels = pattern();
    let img = InputImage::new(320, 320, &pixels).unwrap();
    let opts = PredictOptions::default();
    let a = Detector::load(&pth).unwrap().predict(&img, &opts).unwrap();
    let b =
        Detector::load(shared().join("fixtures/effdet/tf_efficientdet_lite0/weights.safetensors"))
            .unwrap()
            .predict(&img, &opts)
            .unwrap();
    assert!(!a.is_empty());
    assert_eq!(a, b);
}

#[test]
fn other_class_count_reinitialises_the_class_predictor_only() {
    let st = lite0_weights();
    let cfg = EfficientDetConfig::from_arch("tf_efficientdet_lite0", 3).unwrap();
    let device = Device::flex();
    let mut model = EfficientDet::new(&cfg, &device).unwrap();
    // Strict loading refuses the 9-class predictor...
    let err = load_weights(&mut model, &st.tensors, ClassHead::Load).unwrap_err();
    assert!(matches!(err, DetectError::ShapeMismatch { .. }), "{err}");
    // ...re-initialising keeps everything else.
    let mut model = EfficientDet::new(&cfg, &device).unwrap();
    load_weights(&mut model, &st.tensors, ClassHead::Reinitialise).unwrap();
    let mut fresh = 0;
    for (name, t) in model_tensors(&model) {
        if name.starts_with("class_net.predict.") {
            fresh += 1;
            assert_eq!(
                t.shape[0],
                if t.shape.len() == 4 && t.shape[1] == 1 {
                    64
                } else {
                    27
                }
            );
            if name.ends_with("conv_pw.bias") {
                // effdet's prior: sigmoid(bias) = 0.01.
                assert!(t.data.iter().all(|b| (b + 4.59512).abs() < 1e-4));
            }
        } else {
            assert_eq!(st.tensors[&name], t, "{name}");
        }
    }
    assert_eq!(fresh, 3);
}

#[test]
fn mismatched_files_are_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let st = lite0_weights();
    // Lite0 tensors labelled as D0.
    let wrong = dir.path().join("wrong_arch.safetensors");
    let meta = HashMap::from([("arch".to_string(), "tf_efficientdet_d0".to_string())]);
    write_safetensors(&wrong, &sorted(&st.tensors), meta).unwrap();
    let err = Detector::load(&wrong).err().expect("refused");
    assert!(err.to_string().contains("tf_efficientdet_d0"), "{err}");
    // A class count that disagrees with the tensors.
    let wrong = dir.path().join("wrong_classes.safetensors");
    let meta = HashMap::from([("num_classes".to_string(), "14".to_string())]);
    write_safetensors(&wrong, &sorted(&st.tensors), meta).unwrap();
    let err = Detector::load(&wrong).err().expect("refused");
    assert!(
        matches!(
            err,
            DetectError::ClassCountMismatch {
                expected: 14,
                found: 9
            }
        ),
        "{err}"
    );
    // A missing tensor is named.
    let mut fewer = st.tensors.clone();
    fewer.remove("fpn.cell.1.fnode.3.after_combine.conv.bn.running_var");
    let wrong = dir.path().join("missing.safetensors");
    write_safetensors(&wrong, &sorted(&fewer), HashMap::new()).unwrap();
    let err = Detector::load(&wrong).err().expect("refused");
    assert!(
        err.to_string()
            .contains("fpn.cell.1.fnode.3.after_combine.conv.bn.running_var"),
        "{err}"
    );
    // Not a weights file at all.
    let junk = dir.path().join("junk.safetensors");
    std::fs::write(&junk, b"hello").unwrap();
    assert!(matches!(
        Detector::load(&junk),
        Err(DetectError::WeightsFormat { .. })
    ));
    let junk = dir.path().join("junk.pth");
    std::fs::write(&junk, b"hello").unwrap();
    assert!(matches!(
        Detector::load(&junk),
        Err(DetectError::WeightsFormat { .. })
    ));
}

#[test]
fn save_and_reload_a_model_folder() {
    let dir = tempfile::tempdir().unwrap();
    let st = lite0_weights();
    let cfg = EfficientDetConfig::from_arch("tf_efficientdet_lite0", 9).unwrap();
    let mut model = EfficientDet::new(&cfg, &Device::flex()).unwrap();
    load_weights(&mut model, &st.tensors, ClassHead::Load).unwrap();
    let saved = model_tensors(&model);
    assert_eq!(saved.len(), st.tensors.len());
    let folder = dir.path().join("model");
    std::fs::create_dir(&folder).unwrap();
    write_safetensors(&folder.join("model.safetensors"), &saved, HashMap::new()).unwrap();
    let names: Vec<String> = (0..9).map(|i| format!("finding {i}")).collect();
    let card = serde_json::json!({"arch": "tf_efficientdet_lite0", "num_classes": 9, "class_names": names});
    std::fs::write(folder.join("model.json"), card.to_string()).unwrap();
    let det = Detector::load(&folder).unwrap();
    assert_eq!(det.class_names()[8], "finding 8");
    assert_eq!(
        sorted(
            &WeightsFile::read(&folder.join("model.safetensors"))
                .unwrap()
                .tensors
        ),
        {
            let mut s = saved.clone();
            s.sort_by(|a, b| a.0.cmp(&b.0));
            s
        }
    );
}

#[test]
fn imagenet_lite0_backbone_maps_onto_every_backbone_tensor() {
    let file = WeightsFile::read(&shared().join("weights/efficientnet-lite0-imagenet.safetensors"))
        .unwrap();
    let cfg = EfficientDetConfig::from_arch("tf_efficientdet_lite0", 9).unwrap();
    let device = Device::flex();
    let mut model = EfficientDet::new(&cfg, &device).unwrap();
    // Strict: every backbone tensor comes from the file, every file tensor but the
    // classifier's is used.
    load_lite0_imagenet_backbone(&mut model, &file).unwrap();
    let tensors: HashMap<String, HostTensor> = model_tensors(&model).into_iter().collect();
    assert_eq!(
        tensors["backbone.conv_stem.weight"],
        file.tensors["_conv_stem.weight"]
    );
    assert_eq!(
        tensors["backbone.blocks.2.1.bn2.running_var"],
        file.tensors["_blocks.4._bn1.running_var"]
    );
    assert_eq!(
        tensors["backbone.blocks.6.0.conv_pwl.weight"],
        file.tensors["_blocks.15._project_conv.weight"]
    );
    let backbone_count = tensors
        .keys()
        .filter(|k| k.starts_with("backbone."))
        .count();
    let used = file
        .tensors
        .keys()
        .filter(|k| {
            !k.ends_with("num_batches_tracked")
                && !LITE0_IMAGENET_UNUSED.iter().any(|p| k.starts_with(p))
        })
        .count();
    assert_eq!(backbone_count, used);

    // The pretrained backbone yields finite, non-trivial features on a radiograph-like input.
    let x = Tensor::<4>::from_data(
        TensorData::new(pattern().repeat(3), [1, 3, 320, 320]),
        &device,
    );
    let features = model.backbone.forward(x.sub_scalar(0.5).div_scalar(0.5));
    for f in &features {
        let v = f.to_data().convert::<f32>().try_into_vec::<f32>().unwrap();
        assert!(v.iter().all(|x| x.is_finite()));
        assert!(v.iter().any(|x| x.abs() > 1e-3));
    }
    // A D0 model is refused.
    let d0 = EfficientDetConfig::from_arch("tf_efficientdet_d0", 9).unwrap();
    let mut d0 = EfficientDet::new(&d0, &device).unwrap();
    assert!(load_lite0_imagenet_backbone(&mut d0, &file).is_err());
}

#[test]
fn model_json_input_size_is_honoured() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("model");
    std::fs::create_dir(&folder).unwrap();
    std::fs::copy(
        shared().join("fixtures/effdet/tf_efficientdet_lite0/weights.safetensors"),
        folder.join("model.safetensors"),
    )
    .unwrap();
    let card =
        serde_json::json!({"arch": "tf_efficientdet_lite0", "num_classes": 9, "input_size": 256});
    std::fs::write(folder.join("model.json"), card.to_string()).unwrap();
    let opts = LoadOptions {
        engine: Engine::Burn,
        ..LoadOptions::default()
    };
    let det = Detector::load_with(&folder, &opts).unwrap();
    assert_eq!(det.config().image_size, 256);
    // The input the model takes is 3 x 256 x 256 now.
    assert!(det.heads_normalised(&vec![0.0; 3 * 256 * 256]).is_ok());
    assert!(det.heads_normalised(&vec![0.0; 3 * 320 * 320]).is_err());
    let pixels = vec![0.5f32; 300 * 200];
    let image = InputImage::new(300, 200, &pixels).unwrap();
    det.predict(&image, &PredictOptions::default()).unwrap();
    // A size the network cannot take is refused with the reason.
    let card =
        serde_json::json!({"arch": "tf_efficientdet_lite0", "num_classes": 9, "input_size": 16});
    std::fs::write(folder.join("model.json"), card.to_string()).unwrap();
    let err = Detector::load_with(&folder, &opts).err().expect("refused");
    assert!(err.to_string().contains("input_size 16"), "{err}");
}
