//! Parity with effdet 0.4.1: the fixtures in `../shared/fixtures/effdet` hold, for seeded random
//! D0 and Lite0 weights, an input, every intermediate and the final detections.

use std::collections::HashMap;
use std::path::PathBuf;

use burn::prelude::*;
use carina_detect::postprocess::RawDetection;
use carina_detect::weights::{ClassHead, HostTensor, WeightsFile, load_weights, read_safetensors};
use carina_detect::{Detector, EfficientDet, EfficientDetConfig, Engine};

fn fixture_dir(arch: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures/effdet")
        .join(arch)
}

fn max_abs_diff(got: &Tensor<4>, want: &HostTensor) -> f32 {
    assert_eq!(got.dims().to_vec(), want.shape, "shape");
    let got = got
        .to_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .unwrap();
    got.iter()
        .zip(&want.data)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max)
}

/// (class, [x0, y0, x1, y1], score) rows of effdet's `detections.json`.
fn expected_detections(arch: &str) -> Vec<(usize, [f32; 4], f32)> {
    let text = std::fs::read_to_string(fixture_dir(arch).join("detections.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["detections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            let r: Vec<f64> = row
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect();
            (
                r[5] as usize,
                [r[0] as f32, r[1] as f32, r[2] as f32, r[3] as f32],
                r[4] as f32,
            )
        })
        .collect()
}

fn check(arch: &str) {
    let dir = fixture_dir(arch);
    let weights = WeightsFile::read(&dir.join("weights.safetensors")).unwrap();
    assert_eq!(weights.arch().unwrap(), arch);
    let cfg = EfficientDetConfig::from_arch(arch, weights.num_classes(9).unwrap()).unwrap();
    let device = Device::flex();
    let mut model = EfficientDet::new(&cfg, &device).unwrap();
    load_weights(&mut model, &weights.tensors, ClassHead::Load).unwrap();

    let input = read_safetensors(&dir.join("input.safetensors"))
        .unwrap()
        .tensors
        .remove("image")
        .unwrap();
    let expected: HashMap<String, HostTensor> = read_safetensors(&dir.join("outputs.safetensors"))
        .unwrap()
        .tensors;
    let x = Tensor::<4>::from_data(
        TensorData::new(input.data.clone(), input.shape.clone()),
        &device,
    );
    let started = std::time::Instant::now();
    let f = model.forward_features(x);
    eprintln!("{arch}: forward {:?}", started.elapsed());

    let groups = [
        ("backbone", &f.backbone),
        ("fpn", &f.fpn),
        ("class", &f.heads.class),
        ("box", &f.heads.boxes),
    ];
    for (name, maps) in groups {
        for (i, got) in maps.iter().enumerate() {
            let want = &expected[&format!("{name}.{i}")];
            let scale = want.data.iter().fold(1.0f32, |m, v| m.max(v.abs()));
            let diff = max_abs_diff(got, want);
            eprintln!("{arch}: {name}.{i} max abs diff {diff:.2e} (max |ref| {scale:.1})");
            // effdet's README: about 1e-4 absolute; relative to the values' size where they are
            // far above 1 (Lite0's unnormalised ReLU6 backbone reaches ~50).
            assert!(diff <= 1e-4 * scale, "{arch} {name}.{i}: {diff}");
        }
    }

    let detector = Detector::from_model(model, None).unwrap();
    let ours = detector.detections_from_heads(&f.heads, 0, 100);
    check_detections(arch, "burn", &ours);
}

/// Our detections against effdet's: same count, best first, each of effdet's matched.
fn check_detections(arch: &str, engine: &str, ours: &[RawDetection]) {
    let want = expected_detections(arch);
    assert_eq!(
        ours.len(),
        want.len(),
        "{arch} {engine}: number of detections"
    );
    for w in ours.windows(2) {
        assert!(w[0].score >= w[1].score, "best first");
    }
    let mut used = vec![false; ours.len()];
    let mut worst_box = 0.0f32;
    let mut worst_score = 0.0f32;
    for (class, bbox, score) in &want {
        let found = ours.iter().enumerate().position(|(j, d)| {
            !used[j]
                && d.class_id == *class
                && (d.score - score).abs() <= 1e-5
                && d.bbox
                    .iter()
                    .zip(bbox)
                    .all(|(a, b)| (a - b).abs() <= box_tolerance(bbox))
        });
        let j = found.unwrap_or_else(|| {
            let near: Vec<_> = ours
                .iter()
                .filter(|d| d.class_id == *class && (d.score - score).abs() <= 1e-3)
                .map(|d| (d.bbox, d.score))
                .collect();
            panic!("{arch} {engine}: no match for {class} {bbox:?} {score}; nearest {near:?}")
        });
        used[j] = true;
        let d = &ours[j];
        worst_score = worst_score.max((d.score - score).abs());
        for (a, b) in d.bbox.iter().zip(bbox) {
            worst_box = worst_box.max((a - b).abs());
        }
    }
    eprintln!(
        "{arch} {engine}: detections max |box diff| {worst_box:.2e} px, max |score diff| {worst_score:.2e}"
    );
}

/// The fixture model on `engine`: raw heads (the ONNX graph's outputs) and detections.
/// Returns why not when the engine is not available (ONNX Runtime without its library).
fn check_engine(arch: &str, engine: Engine) -> Result<(), String> {
    let dir = fixture_dir(arch);
    let weights = WeightsFile::read(&dir.join("weights.safetensors")).unwrap();
    let cfg = EfficientDetConfig::from_arch(arch, weights.num_classes(9).unwrap()).unwrap();
    let mut model = EfficientDet::new(&cfg, &Device::flex()).unwrap();
    load_weights(&mut model, &weights.tensors, ClassHead::Load).unwrap();
    let detector = Detector::from_model(model, None)
        .unwrap()
        .with_engine(engine)
        .unwrap();
    if detector.engine() != engine {
        // It fell back to tract, and says why.
        assert_eq!(detector.engine(), Engine::Tract);
        let note = detector.engine_note().expect("a reason for the fallback");
        eprintln!("{arch} on {engine} not available: {note}");
        return Err(note.to_string());
    }
    let input = read_safetensors(&dir.join("input.safetensors"))
        .unwrap()
        .tensors
        .remove("image")
        .unwrap();
    let expected = read_safetensors(&dir.join("outputs.safetensors"))
        .unwrap()
        .tensors;
    let started = std::time::Instant::now();
    let heads = detector.heads_normalised(&input.data).unwrap();
    eprintln!("{arch} {engine}: forward {:?}", started.elapsed());
    for (name, maps) in [("class", &heads.class), ("box", &heads.boxes)] {
        assert_eq!(maps.len(), 5, "{arch} {engine}: {name} levels");
        for (i, got) in maps.iter().enumerate() {
            let want = &expected[&format!("{name}.{i}")];
            assert_eq!(
                [&[1][..], &got.shape[..]].concat(),
                want.shape,
                "{arch} {engine} {name}.{i} shape"
            );
            let scale = want.data.iter().fold(1.0f32, |m, v| m.max(v.abs()));
            let diff = got
                .data
                .iter()
                .zip(&want.data)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f32::max);
            eprintln!("{arch} {engine}: {name}.{i} max abs diff {diff:.2e} (max |ref| {scale:.1})");
            assert!(diff <= 1e-4 * scale, "{arch} {engine} {name}.{i}: {diff}");
        }
    }
    let ours = detector.detections_from_host(&heads, 100);
    check_detections(arch, engine.name(), &ours);
    Ok(())
}

/// How far a detection's coordinate may be from effdet's: 0.01 px (the fixture README), or, for
/// a large box, what the README's 1e-4 on the box codes allows: a box of side `s` moves its
/// edges by `s / 2` times the code difference (`exp(dh) * h_a / 2`). Seen on an AVX-512 CPU:
/// a 651 px tall box 0.0114 px off with its codes 5e-5 off.
fn box_tolerance(bbox: &[f32; 4]) -> f32 {
    let side = (bbox[2] - bbox[0]).abs().max((bbox[3] - bbox[1]).abs());
    0.01f32.max(1e-4 * side / 2.0)
}

#[test]
fn d0_matches_effdet() {
    check("tf_efficientdet_d0");
}

#[test]
fn lite0_matches_effdet() {
    check("tf_efficientdet_lite0");
}

#[test]
fn d0_on_tract_matches_effdet() {
    check_engine("tf_efficientdet_d0", Engine::Tract).unwrap();
}

#[test]
fn lite0_on_tract_matches_effdet() {
    check_engine("tf_efficientdet_lite0", Engine::Tract).unwrap();
}

/// ONNX Runtime: held to the fixtures where the library is configured (`ORT_DYLIB_PATH`); a
/// failure to load it then is a failure. Without it, the detector must fall back to tract and
/// name the variable.
#[cfg(feature = "ort")]
fn check_ort(arch: &str) {
    let configured = std::env::var_os("ORT_DYLIB_PATH").is_some_and(|p| !p.is_empty());
    match check_engine(arch, Engine::Ort) {
        Ok(()) => {}
        Err(note) if configured => {
            panic!("ORT_DYLIB_PATH is set but ONNX Runtime did not load: {note}")
        }
        Err(note) => assert!(note.contains("ORT_DYLIB_PATH"), "{note}"),
    }
}

#[cfg(feature = "ort")]
#[test]
fn d0_on_ort_matches_effdet() {
    check_ort("tf_efficientdet_d0");
}

#[cfg(feature = "ort")]
#[test]
fn lite0_on_ort_matches_effdet() {
    check_ort("tf_efficientdet_lite0");
}
