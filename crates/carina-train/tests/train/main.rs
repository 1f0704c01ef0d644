//! End-to-end training runs on small generated datasets: the loss falls, the
//! model finds the boxes it was trained on, a paused run resumes exactly, and
//! the saved folder loads in the detector.

mod conv_grad;
#[path = "../effdet/fixture.rs"]
mod effdet_fixture;
mod effdet_step;
mod toy;

use carina_train::config::{OptimizerKind, SelectBy};
use carina_train::log::{StepRecord, read_rows};
use carina_train::{TrainConfig, TrainOptions, effdet, train, training_device};
use std::path::{Path, PathBuf};

fn shared_weights() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/weights/efficientnet-lite0-imagenet.safetensors")
}

/// A small Lite0 at 128 px from the ImageNet backbone: quick on two cores.
fn small_config(steps: u64) -> TrainConfig {
    let mut c = TrainConfig {
        arch: "tf_efficientdet_lite0".into(),
        init: format!("imagenet-lite0:{}", shared_weights().display()),
        image_size: 128,
        // Few steps: let the batch-norm statistics used at validation catch up.
        bn_momentum: Some(0.5),
        steps,
        batch_size: 8,
        workers: 2,
        ..TrainConfig::default()
    };
    c.optim.optimizer = OptimizerKind::Adamw;
    c.optim.lr = 3e-3;
    c.optim.warmup_steps = 5;
    c.optim.weight_decay = 1e-4;
    c.val.every_steps = 0;
    c.val.select_by = SelectBy::Ap50;
    c.augment.rotate_deg = 3.0;
    c
}

fn run(
    data: &Path,
    out: &Path,
    cfg: &TrainConfig,
    resume: bool,
    stop_after: Option<u64>,
) -> carina_train::TrainSummary {
    let device = training_device();
    let names = carina_train::data::read_manifest(data).unwrap().class_names;
    let (model, spec) = effdet::build(cfg, &names, &device).unwrap();
    let opts = TrainOptions {
        data_dir: data.to_path_buf(),
        out_dir: out.to_path_buf(),
        resume,
        stop_after,
        progress: false,
    };
    train(model, &spec, cfg, &opts, &device).unwrap()
}

/// Training seeds the backend's random generator, which is one per process:
/// two trainings at once in this binary's parallel tests would interleave its
/// draws and neither would be the seeded run. So these tests run one at a time.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

#[test]
fn learns_the_toy_boxes_and_saves_a_loadable_model() {
    let _one_at_a_time = serial();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    toy::write_dataset(&data, 32, 128, 11);
    let out = tmp.path().join("run");
    let cfg = small_config(90);
    let summary = run(&data, &out, &cfg, false, None);
    assert!(summary.finished);
    // The detection loss (the weight-decay term barely moves in so few steps).
    let losses: Vec<f64> = summary
        .losses
        .iter()
        .map(|r| r.class_loss + cfg.loss.box_loss_weight * r.box_loss)
        .collect();
    let head: f64 = losses[..5].iter().sum::<f64>() / 5.0;
    let tail: f64 = losses[losses.len() - 5..].iter().sum::<f64>() / 5.0;
    eprintln!("loss first 5 steps {head:.4}, last 5 {tail:.4}");
    assert!(
        tail < 0.5 * head,
        "loss did not fall enough: {head} -> {tail}"
    );
    let val = summary.validations.last().expect("a validation at the end");
    eprintln!(
        "AP50 on the training images {:.3} (AP {:.3})",
        val.ap50, val.ap
    );
    assert!(val.ap50 > 0.5, "AP50 {}", val.ap50);

    let model_dir = summary.best_dir.unwrap();
    for f in [
        "model.safetensors",
        "model.json",
        "config.toml",
        "log.csv",
        "val.csv",
        "loss.png",
    ] {
        assert!(model_dir.join(f).exists(), "{f} missing");
    }
    let card: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(model_dir.join("model.json")).unwrap())
            .unwrap();
    assert_eq!(card["arch"], "tf_efficientdet_lite0");
    assert_eq!(card["synthetic"], true);
    assert_eq!(card["input_size"], 128);
    assert_eq!(card["class_names"].as_array().unwrap().len(), 2);
    assert!(card["validation"]["ap50"].as_f64().unwrap() > 0.5);
    // The commit carina-train was built from (its build script asks git): in a checkout,
    // the HEAD these tests were built at.
    let head = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    if let Some(head) = head {
        assert_eq!(card["git_commit"], head.as_str());
    }
    let logged: Vec<StepRecord> = read_rows(&out.join("log.csv")).unwrap();
    assert_eq!(logged.len(), 90);

    // The saved weights carry effdet's names and load back into a fresh model.
    let mut again = cfg.clone();
    again.init = format!("carina:{}", model_dir.display());
    let names = carina_train::data::read_manifest(&data)
        .unwrap()
        .class_names;
    effdet::build(&again, &names, &training_device()).expect("the saved model loads");

    // And the detector crate reads the folder and predicts with it.
    let detector =
        carina_detect::Detector::load(&model_dir).expect("Detector::load reads the folder");
    assert_eq!(detector.class_names(), &names[..]);
    // It predicts at the size it was trained at (model.json's input_size), not Lite0's 320.
    assert_eq!(detector.config().image_size, 128);
    let img = image::open(data.join("images/toy000.png"))
        .unwrap()
        .to_luma8();
    let px: Vec<f32> = img.pixels().map(|p| f32::from(p.0[0]) / 255.0).collect();
    let input = carina_detect::InputImage::new(128, 128, &px).unwrap();
    detector
        .predict(&input, &carina_detect::PredictOptions::default())
        .expect("predict runs on the trained model");

    // Training's validation post-processes as serving does: the same raw heads
    // give the same boxes, bit for bit (one box coder, one NMS).
    let prepared = carina_detect::prepare(&input, detector.config());
    let heads = detector.heads_normalised(&prepared.data).unwrap();
    let served = detector.detections_from_host(&heads, 100);
    assert!(served.len() > 10, "{} detections", served.len());
    let validated = validation_detections(&heads, &effdet::spec(detector.config()), 100);
    assert_eq!(validated, served);
}

/// Training validation's detections from one image's raw heads: the heads as
/// the training model outputs them (`[1, C, H, W]` per level), flattened by
/// `flatten_levels` as the validation loop does.
fn validation_detections(
    heads: &carina_detect::HostHeads,
    spec: &carina_train::ModelSpec,
    max_det: usize,
) -> Vec<carina_detect::postprocess::RawDetection> {
    use burn::tensor::{Tensor, TensorData};
    let device = burn::tensor::Device::default();
    let tensors = |maps: &[carina_detect::HostMap]| -> Vec<Tensor<4>> {
        maps.iter()
            .map(|m| {
                let [c, h, w] = m.shape;
                Tensor::<4>::from_data(TensorData::new(m.data.clone(), [1, c, h, w]), &device)
            })
            .collect()
    };
    let flat = |maps: &[carina_detect::HostMap], per_anchor: usize| -> Vec<f32> {
        carina_train::loss::flatten_levels(tensors(maps), per_anchor)
            .into_data()
            .try_to_vec::<f32>()
            .unwrap()
    };
    let logits = flat(&heads.class, spec.num_classes);
    let codes = flat(&heads.boxes, 4);
    carina_train::validate::detections(&logits, &codes, spec, max_det)
}

#[test]
fn a_paused_run_resumes_exactly() {
    let _one_at_a_time = serial();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    toy::write_dataset(&data, 12, 128, 5);
    let mut cfg = small_config(6);
    cfg.batch_size = 4;
    cfg.accumulate = 2;
    cfg.optim.optimizer = OptimizerKind::Sgd;
    cfg.optim.lr = 0.01;
    let whole = run(&data, &tmp.path().join("whole"), &cfg, false, None);
    let paused_dir = tmp.path().join("paused");
    let first = run(&data, &paused_dir, &cfg, false, Some(3));
    assert!(!first.finished);
    assert_eq!(first.steps, 3);
    let second = run(&data, &paused_dir, &cfg, true, None);
    assert!(second.finished);
    let joined: Vec<&StepRecord> = first.losses.iter().chain(&second.losses).collect();
    assert_eq!(joined.len(), whole.losses.len());
    for (a, b) in joined.iter().zip(&whole.losses) {
        assert_eq!(a.step, b.step);
        assert!(
            (a.total_loss - b.total_loss).abs() <= 1e-5 * b.total_loss.abs().max(1.0),
            "step {}: resumed {} vs uninterrupted {}",
            a.step,
            a.total_loss,
            b.total_loss
        );
    }
    let logged: Vec<StepRecord> = read_rows(&paused_dir.join("log.csv")).unwrap();
    assert_eq!(logged.len(), 6);
    // Resuming with another configuration is refused.
    let mut other = cfg.clone();
    other.optim.lr = 0.02;
    let device = training_device();
    let names = carina_train::data::read_manifest(&data)
        .unwrap()
        .class_names;
    let (model, spec) = effdet::build(&other, &names, &device).unwrap();
    let opts = TrainOptions {
        data_dir: data.clone(),
        out_dir: paused_dir.clone(),
        resume: true,
        stop_after: None,
        progress: false,
    };
    assert!(train(model, &spec, &other, &opts, &device).is_err());
}

#[test]
fn an_interrupted_run_is_finished_from_its_best_checkpoint() {
    let _one_at_a_time = serial();
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    toy::write_dataset(&data, 12, 128, 9);
    let mut cfg = small_config(8);
    cfg.batch_size = 4;
    cfg.val.every_steps = 2;
    let out = tmp.path().join("run");
    // Paused after 5 steps: validated at steps 2 and 4, no model/ folder yet.
    let paused = run(&data, &out, &cfg, false, Some(5));
    assert!(!paused.finished && paused.best_dir.is_none());
    assert!(!out.join("model").exists());
    let best = paused
        .validations
        .iter()
        .max_by(|a, b| a.ap50.total_cmp(&b.ap50))
        .unwrap()
        .step;

    let device = training_device();
    let names = carina_train::data::read_manifest(&data)
        .unwrap()
        .class_names;
    let (model, spec) = effdet::build(&cfg, &names, &device).unwrap();
    let dir = carina_train::finish_run(&model, &spec, &cfg, &data, &out).unwrap();
    let card: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("model.json")).unwrap()).unwrap();
    assert_eq!(card["training"]["steps"], 5);
    assert_eq!(card["validation"]["step"], best);
    assert_eq!(card["training"]["selected_step"], best);
    assert!(dir.join("loss.png").exists());
    assert_eq!(
        std::fs::read(dir.join("model.safetensors")).unwrap(),
        std::fs::read(out.join("best-weights/model.safetensors")).unwrap(),
        "the model is the best checkpoint, not the model passed in"
    );
    carina_detect::Detector::load(&dir).expect("the finished folder loads");

    // Another configuration, or a run without a validated checkpoint, is refused.
    let mut other = cfg.clone();
    other.optim.lr = 0.5;
    assert!(carina_train::finish_run(&model, &spec, &other, &data, &out).is_err());
    let early = tmp.path().join("early");
    run(&data, &early, &cfg, false, Some(1));
    let err = carina_train::finish_run(&model, &spec, &cfg, &data, &early).unwrap_err();
    assert!(err.to_string().contains("no validated checkpoint"), "{err}");
}
