//! Agreement figures from submitted blind readings (`carina-report`'s
//! statistics): Cohen's (two readers) or Fleiss' (three or more) kappa on
//! image-level findings, mean IoU of matched boxes between readers, and the
//! model's proposals against the reviewer's consensus.

use crate::auth::CurrentUser;
use crate::blind::{self, Blindness};
use crate::error::AppResult;
use crate::extract::{Json, Path};
use crate::state::AppState;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use carina_core::Provenance;
use carina_report::agreement::{
    ClassBox, ImageRead, ScoredBox, image_agreement, image_level_kappa, mean_matched_iou,
    model_vs_consensus,
};
use carina_store::{AnnotationState, Reading};
use serde_json::{Value, json};

/// IoU at which a model box matches a consensus box (COCO's AP50).
const MODEL_IOU_THR: f64 = 0.5;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/images/{id}/agreement", get(for_image))
        .route("/agreement", get(for_project))
}

fn read_of(r: &Reading) -> ImageRead {
    ImageRead {
        image_id: r.image_id.to_string(),
        reader: r.reader.clone(),
        boxes: r
            .boxes
            .iter()
            .map(|b| ClassBox {
                class_id: b.class_id,
                bbox: b.bbox,
            })
            .collect(),
    }
}

/// Model boxes (every proposal as it came, whatever the radiologist later
/// decided) and consensus boxes of one image's annotations.
fn model_and_consensus(state: &AnnotationState) -> (Vec<ScoredBox>, Vec<ClassBox>) {
    let mut model = Vec::new();
    let mut consensus = Vec::new();
    for b in &state.boxes {
        match &b.source {
            Provenance::Model { .. } => model.push(ScoredBox {
                class_id: b.class_id,
                bbox: b.original_bbox.unwrap_or(b.bbox),
                score: b.score.unwrap_or(0.0),
            }),
            Provenance::Consensus { .. } => consensus.push(ClassBox {
                class_id: b.class_id,
                bbox: b.bbox,
            }),
            Provenance::Radiologist { .. } => {}
        }
    }
    (model, consensus)
}

async fn class_ids(state: &AppState) -> AppResult<Vec<(u32, String)>> {
    let labels = state.store.db.labels().await?;
    Ok(labels.active().map(|l| (l.id, l.name.clone())).collect())
}

async fn for_image(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Json<Value>> {
    blind::guard(&state, &user, id).await?;
    let classes = class_ids(&state).await?;
    let ids: Vec<u32> = classes.iter().map(|c| c.0).collect();
    let assignment = state.store.db.assignment(id).await?;
    let reads: Vec<ImageRead> = assignment
        .iter()
        .flat_map(|a| a.readings.iter())
        .filter(|r| r.status == carina_store::ReadingStatus::Submitted)
        .map(read_of)
        .collect();
    let readers: Vec<&str> = reads.iter().map(|r| r.reader.as_str()).collect();
    let agreement = image_agreement(&reads, &ids);
    let (model, consensus) = model_and_consensus(&state.store.db.annotations(id).await?);
    let has_consensus = assignment
        .as_ref()
        .is_some_and(|a| a.consensus_at.is_some());
    let mvc = has_consensus.then(|| model_vs_consensus(&[(model, consensus)], MODEL_IOU_THR, 0.0));
    Ok(Json(json!({
        "image_id": id,
        "readers": readers,
        "kappa": agreement.as_ref().map(|a| json!({"method": a.method, "value": a.kappa, "subjects": "classes"})),
        "boxes": mean_matched_iou(&reads),
        "model_vs_consensus": mvc,
        "model_iou_thr": MODEL_IOU_THR,
    })))
}

/// Images the caller reads blind are left out of the project's figures.
async fn for_project(State(state): State<AppState>, user: CurrentUser) -> AppResult<Json<Value>> {
    let classes = class_ids(&state).await?;
    let ids: Vec<u32> = classes.iter().map(|c| c.0).collect();
    let blindness = Blindness::of(&state, &user).await?;
    let readings: Vec<Reading> = state
        .store
        .db
        .submitted_readings()
        .await?
        .into_iter()
        .filter(|r| !blindness.hides(r.image_id))
        .collect();
    let reads: Vec<ImageRead> = readings.iter().map(read_of).collect();
    let mut readers: Vec<&str> = reads.iter().map(|r| r.reader.as_str()).collect();
    readers.sort_unstable();
    readers.dedup();
    let mut images: Vec<i64> = readings.iter().map(|r| r.image_id).collect();
    images.dedup();
    let per_class: Vec<Value> = image_level_kappa(&reads, &ids)
        .unwrap_or_default()
        .into_iter()
        .map(|k| {
            let name = classes
                .iter()
                .find(|c| c.0 == k.class_id)
                .map(|c| c.1.clone());
            let mut v = serde_json::to_value(&k).unwrap_or(Value::Null);
            v["class_name"] = json!(name);
            v
        })
        .collect();
    let mut pairs = Vec::new();
    for &image_id in &images {
        if let Some(a) = state.store.db.assignment(image_id).await?
            && a.consensus_at.is_some()
        {
            pairs.push(model_and_consensus(
                &state.store.db.annotations(image_id).await?,
            ));
        }
    }
    let consensus_images = pairs.len();
    Ok(Json(json!({
        "readers": readers,
        "images": images.len(),
        "per_class": per_class,
        "boxes": mean_matched_iou(&reads),
        "model_vs_consensus": model_vs_consensus(&pairs, MODEL_IOU_THR, 0.0),
        "consensus_images": consensus_images,
        "model_iou_thr": MODEL_IOU_THR,
    })))
}
