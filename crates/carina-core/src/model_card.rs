//! `model.json`, the card beside `model.safetensors` in every model folder:
//! one Rust shape for it, read by the detector, written by training and
//! fine-tuning, stored by the registry and shown by `carina eval model`.
//!
//! The card carries its format version in `format`. [`ModelCard::parse`]
//! reads every version Carina has written and returns the current one:
//!
//! | `format` | written by | migration |
//! |---|---|---|
//! | absent | hand-made cards, early folders (`arch`, `num_classes`, maybe `class_names`, `input_size`, `metrics`) | `format` set; a `metrics` object becomes `validation` when it has a validation record's fields, otherwise it is kept as it was |
//! | `carina-model/1` | `carina train` and fine-tuning up to 2026-12 | `format` set (the fields are the same; `name`, `version` and `workbench` were untyped extras) |
//! | absent or `/1` | hand-made cards with metrics of their own shape under `validation` | moved to `metrics` (kept and shown as they were) |
//! | `carina-model/2` | now | — |
//!
//! A newer format (`carina-model/3` and up) or another `format` string is
//! refused with a message instead of being misread. Keys the card does not
//! know are kept in [`ModelCard::extra`] and written back as they were.
//!
//! ```
//! use carina_core::model_card::{ModelCard, FORMAT};
//! let old = br#"{"arch": "tf_efficientdet_lite0", "num_classes": 9}"#;
//! let card = ModelCard::parse(old).unwrap();
//! assert_eq!(card.format, FORMAT);
//! assert_eq!(card.num_classes, 9);
//! assert!(ModelCard::parse(br#"{"format": "carina-model/9", "arch": "x", "num_classes": 1}"#).is_err());
//! ```

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// The format this version of Carina writes.
pub const FORMAT: &str = "carina-model/2";
const PREFIX: &str = "carina-model/";
const CURRENT: u32 = 2;

#[derive(Debug, thiserror::Error)]
pub enum ModelCardError {
    #[error("model.json is not JSON: {0}")]
    Json(String),
    #[error("model.json is not a model card (it needs arch, num_classes, class_names): {0}")]
    Shape(String),
    #[error(
        "model.json has format {0:?}, which this version of Carina does not read (it reads up to {FORMAT})"
    )]
    Format(String),
}

/// Which checkpoint of a run became the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SelectBy {
    /// Highest validation AP50.
    Ap50,
    /// Lowest validation total loss (what the seed did).
    Loss,
}

/// One validation of a training run (a row of `val.csv`; the selected one
/// is the card's `validation`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValRecord {
    pub step: u64,
    pub class_loss: f64,
    pub box_loss: f64,
    pub total_loss: f64,
    /// COCO AP@[.5:.95], AP@.5, AP@.75 (-1 where undefined).
    pub ap: f64,
    pub ap50: f64,
    pub ap75: f64,
    pub images: u64,
}

/// What the training run was.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingSummary {
    pub init: String,
    pub steps: u64,
    pub selected_step: u64,
    pub selected_by: SelectBy,
    pub dataset_description: String,
    pub dataset_sources: Vec<String>,
    pub train_split: String,
    pub val_split: String,
    pub train_images: usize,
    pub train_boxes: usize,
    pub boxes_per_class: BTreeMap<String, usize>,
}

/// COCO metrics of one model on held-out images (`None`: undefined, e.g.
/// no ground-truth box of that class).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeldOutMetrics {
    pub images: usize,
    pub boxes: usize,
    pub ap: Option<f64>,
    pub ap50: Option<f64>,
    pub ap75: Option<f64>,
    pub ar100: Option<f64>,
    /// Class name → AP@[.5:.95].
    pub per_class_ap: BTreeMap<String, Option<f64>>,
}

/// A registered model, by id, name and version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelRef {
    pub id: i64,
    pub name: String,
    pub version: String,
}

/// The base and the fine-tuned model on the same held-out images.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeldOutComparison {
    pub base: HeldOutMetrics,
    pub new: HeldOutMetrics,
}

/// Where a fine-tuned model came from (the workbench's reviewed boxes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkbenchOrigin {
    pub base_model: ModelRef,
    pub train_images: usize,
    pub held_out_images: usize,
    pub boxes: usize,
    pub held_out: HeldOutComparison,
    pub requested_by: String,
    /// The fine-tuning request as it was made (carina-learn's `FineTuneRequest`).
    pub request: FineTuneRequest,
}

/// What to fine-tune and how (the `train` job's payload and the CLI's
/// `--from-workbench`; every field has a default).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FineTuneRequest {
    /// The model to start from; the deployed one when absent.
    pub base_model_id: Option<i64>,
    /// Optimiser steps.
    pub steps: u64,
    pub batch_size: usize,
    /// Peak learning rate (AdamW, warm-up then cosine decay).
    pub lr: f64,
    /// Fraction of the reviewed images held out for the comparison.
    pub held_out: f64,
    /// Seed of the split, the augmentation and the batches.
    pub seed: u64,
    /// Refuse to train on fewer reviewed images than this.
    pub min_images: usize,
    /// Further `carina-train` settings as `key=value` (e.g. `augment.hflip=true`).
    pub set: Vec<String>,
}

impl Default for FineTuneRequest {
    fn default() -> Self {
        Self {
            base_model_id: None,
            steps: 300,
            batch_size: 4,
            lr: 1e-3,
            held_out: 0.2,
            seed: 42,
            min_images: 10,
            set: Vec::new(),
        }
    }
}

/// `model.json`. Serialises in the current [`FORMAT`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelCard {
    /// `carina-model/<n>`; [`ModelCard::parse`] always returns [`FORMAT`].
    #[serde(default)]
    pub format: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    pub arch: String,
    pub num_classes: usize,
    #[serde(default)]
    pub class_names: Vec<String>,
    /// Side of the square model input the weights were trained at; absent
    /// means the architecture's own size.
    #[serde(default)]
    pub input_size: Option<usize>,
    /// Normalisation of the [0, 1] grayscale replicated to RGB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean: Option<[f32; 3]>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub std: Option<[f32; 3]>,
    /// True when any training image was generated.
    #[serde(default)]
    pub synthetic: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub training: Option<TrainingSummary>,
    /// Metrics of these weights on the validation split (absent without one).
    #[serde(default)]
    pub validation: Option<ValRecord>,
    #[serde(default)]
    pub git_commit: Option<String>,
    /// RFC 3339, UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// What the model must not be used for (synthetic data, no clinical validation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice: Option<String>,
    /// Set on a model fine-tuned from the workbench's corrections.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workbench: Option<WorkbenchOrigin>,
    /// Keys this version does not know, kept as they were.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

impl ModelCard {
    /// A card of the current format with the fields every model has.
    pub fn new(arch: &str, class_names: Vec<String>, input_size: usize) -> Self {
        Self {
            format: FORMAT.into(),
            name: None,
            version: None,
            arch: arch.into(),
            num_classes: class_names.len(),
            class_names,
            input_size: Some(input_size),
            mean: None,
            std: None,
            synthetic: false,
            training: None,
            validation: None,
            git_commit: None,
            created: None,
            notice: None,
            workbench: None,
            extra: BTreeMap::new(),
        }
    }

    /// Reads a card of any format Carina has written and migrates it to
    /// the current one (see the module's table).
    pub fn parse(bytes: &[u8]) -> Result<Self, ModelCardError> {
        let value: Value =
            serde_json::from_slice(bytes).map_err(|e| ModelCardError::Json(e.to_string()))?;
        Self::from_value(value)
    }

    /// [`Self::parse`] of an already parsed JSON value (e.g. a registry row).
    pub fn from_value(mut value: Value) -> Result<Self, ModelCardError> {
        let obj = value
            .as_object_mut()
            .ok_or_else(|| ModelCardError::Shape("not a JSON object".into()))?;
        let version = match obj.get("format") {
            None | Some(Value::Null) => 0,
            Some(Value::String(f)) => f
                .strip_prefix(PREFIX)
                .and_then(|n| n.parse::<u32>().ok())
                .filter(|&n| (1..=CURRENT).contains(&n))
                .ok_or_else(|| ModelCardError::Format(f.clone()))?,
            Some(other) => return Err(ModelCardError::Format(other.to_string())),
        };
        let is_record = |v: Option<&Value>| {
            v.is_some_and(|m| serde_json::from_value::<ValRecord>(m.clone()).is_ok())
        };
        if version == 0 && !obj.contains_key("validation") && is_record(obj.get("metrics")) {
            // Early cards kept the selected validation under `metrics`.
            let m = obj.remove("metrics").expect("checked");
            obj.insert("validation".into(), m);
        }
        let other_validation = obj
            .get("validation")
            .is_some_and(|v| !v.is_null() && !is_record(Some(v)));
        if version < CURRENT && other_validation && !obj.contains_key("metrics") {
            // Hand-made cards put metrics of their own shape under
            // `validation`: they are kept, and shown, as `metrics`.
            let v = obj.remove("validation").expect("checked");
            obj.insert("metrics".into(), v);
        }
        obj.insert("format".into(), Value::String(FORMAT.into()));
        let card: ModelCard =
            serde_json::from_value(value).map_err(|e| ModelCardError::Shape(e.to_string()))?;
        if !card.class_names.is_empty() && card.class_names.len() != card.num_classes {
            return Err(ModelCardError::Shape(format!(
                "{} class_names for num_classes {}",
                card.class_names.len(),
                card.num_classes
            )));
        }
        Ok(card)
    }

    /// The card as pretty JSON, in the current format.
    pub fn to_json_pretty(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(&self.current()).expect("a model card serialises")
    }

    /// The card as a JSON value, in the current format (what the registry stores).
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self.current()).expect("a model card serialises")
    }

    /// This card with `format` set to the current [`FORMAT`].
    fn current(&self) -> Self {
        Self {
            format: FORMAT.into(),
            ..self.clone()
        }
    }

    /// The validation metrics the registry shows: the card's `validation`,
    /// or an early card's `metrics` of another shape.
    pub fn metrics(&self) -> Option<Value> {
        match &self.validation {
            Some(v) => Some(serde_json::to_value(v).expect("serialises")),
            None => self.extra.get("metrics").filter(|v| !v.is_null()).cloned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const V1: &str = r#"{
      "format": "carina-model/1", "name": "demo", "version": "1",
      "arch": "tf_efficientdet_lite0", "num_classes": 2, "class_names": ["A", "B"],
      "input_size": 128, "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5], "synthetic": true,
      "validation": {"step": 4, "class_loss": 0.2, "box_loss": 0.01, "total_loss": 0.7,
                     "ap": 0.3, "ap50": 0.5, "ap75": 0.2, "images": 8},
      "git_commit": null, "created": "2026-12-01T00:00:00Z", "notice": "synthetic",
      "custom": {"kept": [1, 2]}
    }"#;

    #[test]
    fn v1_migrates_and_round_trips_every_field() {
        let card = ModelCard::parse(V1.as_bytes()).unwrap();
        assert_eq!(card.format, FORMAT);
        assert_eq!(card.name.as_deref(), Some("demo"));
        assert_eq!(card.input_size, Some(128));
        assert_eq!(card.mean, Some([0.5; 3]));
        assert!(card.synthetic);
        assert_eq!(card.validation.as_ref().unwrap().step, 4);
        assert_eq!(card.extra["custom"], serde_json::json!({"kept": [1, 2]}));
        let again = ModelCard::parse(&card.to_json_pretty()).unwrap();
        assert_eq!(again, card);
        assert_eq!(card.to_value()["format"], FORMAT);
    }

    #[test]
    fn formatless_card_migrates_its_metrics() {
        let old = br#"{"arch": "a", "num_classes": 1,
            "metrics": {"step": 1, "class_loss": 1, "box_loss": 1, "total_loss": 1,
                        "ap": 0.1, "ap50": 0.2, "ap75": 0.0, "images": 3}}"#;
        let card = ModelCard::parse(old).unwrap();
        assert_eq!(card.validation.as_ref().unwrap().ap50, 0.2);
        assert!(!card.extra.contains_key("metrics"));
        // Metrics of another shape stay where they were and are still shown.
        let other = br#"{"arch": "a", "num_classes": 1, "metrics": {"auc": 0.9}}"#;
        let card = ModelCard::parse(other).unwrap();
        assert!(card.validation.is_none());
        assert_eq!(card.metrics().unwrap()["auc"], 0.9);
        assert_eq!(card.input_size, None);
        assert!(card.class_names.is_empty());
        // A hand-made v1 card's own metrics under `validation` are kept as metrics.
        let own = br#"{"format": "carina-model/1", "arch": "a", "num_classes": 1,
            "validation": {"step": 10, "AP50": 0.12}}"#;
        let card = ModelCard::parse(own).unwrap();
        assert!(card.validation.is_none());
        assert_eq!(card.metrics().unwrap()["AP50"], 0.12);
        // In the current format `validation` is a validation record.
        let strict = br#"{"format": "carina-model/2", "arch": "a", "num_classes": 1,
            "validation": {"step": 10, "AP50": 0.12}}"#;
        assert!(ModelCard::parse(strict).is_err());
    }

    #[test]
    fn unknown_formats_and_bad_shapes_are_refused() {
        for (text, needle) in [
            (
                r#"{"format": "carina-model/3", "arch": "a", "num_classes": 1}"#,
                "carina-model/3",
            ),
            (
                r#"{"format": "other/1", "arch": "a", "num_classes": 1}"#,
                "other/1",
            ),
            (r#"{"format": 2, "arch": "a", "num_classes": 1}"#, "format"),
            (r#"{"arch": "a"}"#, "num_classes"),
            (r#"[1, 2]"#, "not a JSON object"),
            (
                r#"{"arch": "a", "num_classes": 3, "class_names": ["x"]}"#,
                "class_names",
            ),
            ("{", "not JSON"),
        ] {
            let e = ModelCard::parse(text.as_bytes()).unwrap_err().to_string();
            assert!(e.contains(needle), "{text}: {e}");
        }
    }

    #[test]
    fn current_format_round_trips() {
        let card = ModelCard::parse(
            br#"{"format": "carina-model/2", "arch": "a", "num_classes": 1, "class_names": ["x"]}"#,
        )
        .unwrap();
        assert_eq!(card.class_names, ["x"]);
        let new = ModelCard::new("a", vec!["x".into()], 64);
        assert_eq!(ModelCard::parse(&new.to_json_pretty()).unwrap(), new);
    }
}
