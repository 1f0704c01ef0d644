//! Predict jobs: run the model on an image, store its raw output, and add
//! the proposals to the image's boxes.

use super::JobError;
use crate::state::AppState;
use carina_core::LabelSet;
use carina_detect::{Detection, InputImage, PredictOptions};
use carina_imaging::{decode, to_unit_f32};
use carina_store::{
    Completion, Image, Job, JobKind, ModelBox, ModelRecord, NewJob, PredictionResult, RawBox,
    StoreError,
};
use serde_json::json;

/// Proposals scoring below this floor are stored in the raw output only.
pub const PROPOSAL_FLOOR_SETTING: &str = "proposal_floor";
const DEFAULT_PROPOSAL_FLOOR: &str = "0.05";

/// Queues a predict job of `model` on `image_id` (or returns the one already
/// queued or running) and wakes this process's worker.
pub async fn enqueue_predict(
    state: &AppState,
    image_id: i64,
    model: &ModelRecord,
    user: &str,
) -> Result<Job, StoreError> {
    if let Some(open) = state.store.db.open_predict_job(image_id, model.id).await? {
        return Ok(open);
    }
    let job = state
        .store
        .db
        .enqueue_job(&NewJob {
            kind: JobKind::Predict,
            payload: json!({"image_id": image_id, "model_id": model.id}),
            image_id: Some(image_id),
            model_id: Some(model.id),
            max_attempts: i64::from(state.config.job_max_attempts),
            created_by: user.to_string(),
        })
        .await?;
    state.job_signal.notify_one();
    Ok(job)
}

fn payload_id(job: &Job, key: &str) -> Result<i64, JobError> {
    job.payload[key]
        .as_i64()
        .ok_or_else(|| JobError::permanent(format!("the job's payload has no {key}")))
}

/// Runs a claimed predict job to completion (or to an error to record).
pub async fn predict_job(state: &AppState, worker: &str, job: &Job) -> Result<(), JobError> {
    let image_id = payload_id(job, "image_id")?;
    let model_id = payload_id(job, "model_id")?;
    let db = &state.store.db;
    let image = db
        .image(image_id)
        .await
        .map_err(transient)?
        .ok_or_else(|| JobError::permanent(format!("image {image_id} no longer exists")))?;
    let model = db
        .model(model_id)
        .await
        .map_err(transient)?
        .ok_or_else(|| JobError::permanent(format!("model {model_id} is not registered")))?;
    let floor: f64 = db
        .setting_or_init(PROPOSAL_FLOOR_SETTING, DEFAULT_PROPOSAL_FLOOR)
        .await
        .map_err(transient)?
        .parse()
        .unwrap_or(0.05);
    let labels = db.labels().await.map_err(transient)?;
    let started = std::time::Instant::now();
    let detections = run_model(state, &image, &model).await?;
    let elapsed_ms = started.elapsed().as_millis() as i64;
    let raw: Vec<RawBox> = detections
        .iter()
        .map(|d| RawBox {
            class_id: d.class_id as u32,
            class_name: d.class_name.clone(),
            score: f64::from(d.score),
            bbox: d.bbox,
        })
        .collect();
    let proposals = proposals(&raw, &labels, floor, image.meta.width, image.meta.height);
    let result = PredictionResult {
        image_id,
        model_id,
        model_name: model.name.clone(),
        model_version: model.version.clone(),
        detections: raw,
        proposals,
        elapsed_ms,
    };
    store_result(state, worker, job, &result).await
}

fn transient(e: StoreError) -> JobError {
    JobError::retry(format!("store: {e}"))
}

/// Everything the model gives on the image's served file (up to 100 boxes),
/// whatever the score: the raw output. The decode runs under the decode
/// budget, on the blocking pool. (Inference time is measured around it.)
async fn run_model(
    state: &AppState,
    image: &Image,
    model: &ModelRecord,
) -> Result<Vec<Detection>, JobError> {
    let image_id = image.id;
    let detector = state
        .detectors
        .get(&state.store, model)
        .await
        .map_err(|e| JobError::retry(format!("cannot load model {}: {e:#}", model.id)))?;
    let bytes = state
        .store
        .objects
        .get(&image.object_key)
        .await
        .map_err(|e| {
            JobError::retry(format!(
                "cannot read image {image_id} from the object store: {e}"
            ))
        })?;
    // Room in the decode budget; twice the decode, for the model's float copy.
    let limits = state.config.stored_limits();
    let admission = state
        .decode_budget
        .admit(bytes.clone(), limits, 2)
        .await
        .map_err(|r| JobError::permanent(format!("cannot decode the image: {r}")))?;
    tokio::task::spawn_blocking(move || -> Result<Vec<Detection>, String> {
        let _admission = admission;
        let decoded =
            decode(&bytes, &limits).map_err(|e| format!("cannot decode the image: {e}"))?;
        let img = &decoded.image;
        let pixels = to_unit_f32(img, decoded.meta.window);
        let input = InputImage::new(img.width, img.height, &pixels).map_err(|e| e.to_string())?;
        let opts = PredictOptions {
            score_thr: 0.0,
            max_det: 100,
        };
        detector
            .predict(&input, &opts)
            .map_err(|e| format!("inference failed: {e}"))
    })
    .await
    .map_err(|e| JobError::retry(format!("inference task: {e}")))?
    .map_err(JobError::retry)
}

/// One transaction: the raw output, the proposals, the job done.
async fn store_result(
    state: &AppState,
    worker: &str,
    job: &Job,
    result: &PredictionResult,
) -> Result<(), JobError> {
    let image_id = result.image_id;
    match state
        .store
        .db
        .complete_prediction(job.id, worker, result)
        .await
    {
        Ok(Completion::Done {
            prediction_id,
            added,
        }) => {
            tracing::info!(
                job = job.id,
                image_id,
                prediction_id,
                added,
                inference_ms = result.elapsed_ms,
                "prediction stored"
            );
            Ok(())
        }
        Ok(Completion::LostLease) => {
            tracing::warn!(
                job = job.id,
                "the job's lease passed to another worker; result dropped"
            );
            Ok(())
        }
        Err(StoreError::NotFound) => Err(JobError::permanent(format!(
            "image {image_id} no longer exists"
        ))),
        Err(e) => Err(transient(e)),
    }
}

/// The detections worth showing: at least `floor`, of a label this
/// workbench has (matched by name, else by id), clipped to the image and
/// not degenerate.
fn proposals(raw: &[RawBox], labels: &LabelSet, floor: f64, w: u32, h: u32) -> Vec<ModelBox> {
    raw.iter()
        .filter(|d| d.score >= floor)
        .filter_map(|d| {
            let label = labels
                .by_name(&d.class_name)
                .or_else(|| labels.get(d.class_id))
                .filter(|l| !l.retired)?;
            let bbox = d.bbox.clip(w, h);
            (bbox.width() >= 1.0 && bbox.height() >= 1.0).then_some(ModelBox {
                class_id: label.id,
                bbox,
                score: d.score,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use carina_core::BBox;

    fn raw(name: &str, id: u32, score: f64, b: [f64; 4]) -> RawBox {
        RawBox {
            class_id: id,
            class_name: name.into(),
            score,
            bbox: BBox::try_from(b).unwrap(),
        }
    }

    #[test]
    fn proposals_keep_known_labels_above_the_floor_clipped() {
        let labels = LabelSet::default();
        let r = [
            raw("Cardiomegaly", 1, 0.9, [-5.0, 10.0, 50.0, 120.0]),
            raw("Nodule/Mass", 4, 0.01, [1.0, 1.0, 9.0, 9.0]),
            raw("class_3", 3, 0.5, [10.0, 10.0, 20.0, 20.0]),
            raw("Atelectasis", 0, 0.6, [99.5, 10.0, 140.0, 20.0]),
        ];
        let p = proposals(&r, &labels, 0.05, 100, 100);
        assert_eq!(p.len(), 2, "{p:?}");
        assert_eq!(p[0].class_id, 1);
        assert_eq!(p[0].bbox.to_array(), [0.0, 10.0, 50.0, 100.0]);
        // An unknown name falls back to the class id.
        assert_eq!(p[1].class_id, 3);
    }
}
