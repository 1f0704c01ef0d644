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
    BoxAgreement, ClassBox, ClassKappa, DetectionAgreement, ImageRead, KappaMethod, ScoredBox,
    image_agreement, image_level_kappa, mean_matched_iou, model_vs_consensus,
};
use carina_store::{AnnotationState, Reading};
use serde::Serialize;
use utoipa::ToSchema;

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

#[utoipa::path(
    get,
    path = "/api/v1/images/{id}/agreement",
    operation_id = "agreement_for_image",
    tag = "agreement",
    summary = "Agreement on one image: kappa over the classes, matched-box IoU, model versus consensus",
    description = "Role: viewer. A blind reader of the image (assigned, not submitted) gets 403 blind_reading.",
    params(
        ("id" = i64, Path),
    ),
    responses(
        (status = 200, description = "OK", body = ImageAgreementOut),
        (status = 401, response = crate::openapi::bodies::ApiError),
        (status = 403, response = crate::openapi::bodies::ApiError),
        (status = 404, response = crate::openapi::bodies::ApiError),
    ),
)]
async fn for_image(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Json<ImageAgreementOut>> {
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
    let readers: Vec<String> = reads.iter().map(|r| r.reader.clone()).collect();
    let agreement = image_agreement(&reads, &ids);
    let (model, consensus) = model_and_consensus(&state.store.db.annotations(id).await?);
    let has_consensus = assignment
        .as_ref()
        .is_some_and(|a| a.consensus_at.is_some());
    let mvc = has_consensus.then(|| model_vs_consensus(&[(model, consensus)], MODEL_IOU_THR, 0.0));
    Ok(Json(ImageAgreementOut {
        image_id: id,
        readers,
        kappa: agreement.as_ref().map(|a| ImageKappa {
            method: a.method,
            value: a.kappa,
            subjects: "classes",
        }),
        boxes: mean_matched_iou(&reads).into(),
        model_vs_consensus: mvc.map(Into::into),
        model_iou_thr: MODEL_IOU_THR,
    }))
}

/// Images the caller reads blind are left out of the project's figures.
#[utoipa::path(
    get,
    path = "/api/v1/agreement",
    operation_id = "agreement_for_project",
    tag = "agreement",
    summary = "Project agreement: per-class Cohen's / Fleiss' kappa over images read by every reader, matched-box IoU, model versus consensus",
    description = "Role: viewer. Images the caller reads blind are left out.",
    responses(
        (status = 200, description = "OK", body = ProjectAgreement),
        (status = 401, response = crate::openapi::bodies::ApiError),
    ),
)]
async fn for_project(
    State(state): State<AppState>,
    user: CurrentUser,
) -> AppResult<Json<ProjectAgreement>> {
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
    let mut readers: Vec<String> = reads.iter().map(|r| r.reader.clone()).collect();
    readers.sort_unstable();
    readers.dedup();
    let mut images: Vec<i64> = readings.iter().map(|r| r.image_id).collect();
    images.dedup();
    let per_class: Vec<ClassAgreement> = image_level_kappa(&reads, &ids)
        .unwrap_or_default()
        .into_iter()
        .map(|k| {
            let name = classes
                .iter()
                .find(|c| c.0 == k.class_id)
                .map(|c| c.1.clone());
            ClassAgreement::new(k, name)
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
    Ok(Json(ProjectAgreement {
        readers,
        images: images.len(),
        per_class,
        boxes: mean_matched_iou(&reads).into(),
        model_vs_consensus: model_vs_consensus(&pairs, MODEL_IOU_THR, 0.0).into(),
        consensus_images,
        model_iou_thr: MODEL_IOU_THR,
    }))
}

/// Which kappa was computed: Cohen's (two readers) or Fleiss' (more).
#[derive(Serialize, ToSchema)]
#[allow(dead_code)]
#[schema(as = KappaMethod)]
#[serde(rename_all = "snake_case")]
pub enum KappaMethodSchema {
    Cohen,
    Fleiss,
}

/// `GET /images/{id}/agreement`.
#[derive(Serialize, ToSchema)]
#[schema(as = ImageAgreement)]
pub struct ImageAgreementOut {
    image_id: i64,
    /// The readers who have submitted
    readers: Vec<String>,
    /// null with fewer than two submitted readings
    kappa: Option<ImageKappa>,
    boxes: BoxFigures,
    /// null before a consensus
    model_vs_consensus: Option<ModelFigures>,
    model_iou_thr: f64,
}

/// The kappa over the classes of one image (each present or absent per reader).
#[derive(Serialize, ToSchema)]
pub struct ImageKappa {
    #[schema(value_type = KappaMethodSchema)]
    method: KappaMethod,
    /// null where undefined
    value: Option<f64>,
    /// always "classes"
    subjects: &'static str,
}

/// `GET /agreement`: the project's figures over every submitted reading.
#[derive(Serialize, ToSchema)]
pub struct ProjectAgreement {
    readers: Vec<String>,
    images: usize,
    per_class: Vec<ClassAgreement>,
    boxes: BoxFigures,
    model_vs_consensus: ModelFigures,
    consensus_images: usize,
    model_iou_thr: f64,
}

/// Image-level agreement on one class.
#[derive(Serialize, ToSchema)]
pub struct ClassAgreement {
    class_id: u32,
    #[schema(value_type = KappaMethodSchema)]
    method: KappaMethod,
    readers: usize,
    /// Images read by every reader (the subjects)
    images: usize,
    /// null where undefined
    kappa: Option<f64>,
    class_name: Option<String>,
}

impl ClassAgreement {
    fn new(k: ClassKappa, class_name: Option<String>) -> Self {
        let ClassKappa {
            class_id,
            method,
            readers,
            images,
            kappa,
        } = k;
        Self {
            class_id,
            method,
            readers,
            images,
            kappa,
            class_name,
        }
    }
}

/// Boxes matched between readers.
#[derive(Serialize, ToSchema)]
pub struct BoxFigures {
    matched_pairs: usize,
    unmatched: usize,
    mean_iou: Option<f64>,
}

impl From<BoxAgreement> for BoxFigures {
    fn from(b: BoxAgreement) -> Self {
        let BoxAgreement {
            matched_pairs,
            unmatched,
            mean_iou,
        } = b;
        Self {
            matched_pairs,
            unmatched,
            mean_iou,
        }
    }
}

/// The model's proposals against the consensus boxes.
#[derive(Serialize, ToSchema)]
pub struct ModelFigures {
    true_positives: usize,
    model_boxes: usize,
    consensus_boxes: usize,
    precision: Option<f64>,
    recall: Option<f64>,
    f1: Option<f64>,
}

impl From<DetectionAgreement> for ModelFigures {
    fn from(d: DetectionAgreement) -> Self {
        let DetectionAgreement {
            true_positives,
            model_boxes,
            consensus_boxes,
            precision,
            recall,
            f1,
        } = d;
        Self {
            true_positives,
            model_boxes,
            consensus_boxes,
            precision,
            recall,
            f1,
        }
    }
}
