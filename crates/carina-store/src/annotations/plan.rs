//! What a save does to the stored boxes, decided without touching the
//! database: which boxes to delete, update and insert, and the rules that
//! protect provenance (a model box keeps its source, score and original
//! geometry; it can be rejected but never deleted).

use super::{AnnotationEdit, StoredBox};
use crate::error::{Result, StoreError};
use carina_core::{BBox, BoxStatus, Provenance};
use std::collections::{HashMap, HashSet};

#[derive(Debug, PartialEq)]
pub(super) struct BoxUpdate {
    pub id: i64,
    pub class_id: u32,
    pub bbox: BBox,
    pub status: BoxStatus,
    pub original_bbox: Option<BBox>,
    pub original_class_id: Option<u32>,
}

#[derive(Debug, PartialEq)]
pub(super) struct BoxInsert {
    pub class_id: u32,
    pub bbox: BBox,
    pub source: Provenance,
    pub score: Option<f64>,
    pub status: BoxStatus,
}

#[derive(Debug, Default, PartialEq)]
pub(super) struct SavePlan {
    pub delete: Vec<i64>,
    pub update: Vec<BoxUpdate>,
    pub insert: Vec<BoxInsert>,
}

pub(super) fn plan_save(
    current: &[StoredBox],
    edit: &AnnotationEdit,
    user: &str,
) -> Result<SavePlan> {
    let by_id: HashMap<i64, &StoredBox> = current.iter().map(|b| (b.id, b)).collect();
    let mut seen = HashSet::new();
    let mut plan = SavePlan::default();
    for e in &edit.boxes {
        let Some(id) = e.id else {
            // New boxes are always the caller's own drawing.
            plan.insert.push(BoxInsert {
                class_id: e.class_id,
                bbox: e.bbox,
                source: Provenance::Radiologist {
                    user: user.to_string(),
                },
                score: None,
                status: BoxStatus::Manual,
            });
            continue;
        };
        if !seen.insert(id) {
            return Err(StoreError::Invalid(format!("box {id} appears twice")));
        }
        let old = by_id.get(&id).ok_or_else(|| {
            StoreError::Invalid(format!("box {id} does not belong to this image"))
        })?;
        let update = match &old.source {
            // A consensus box keeps its source when the reviewer adjusts it.
            Provenance::Radiologist { .. } | Provenance::Consensus { .. } => BoxUpdate {
                id,
                class_id: e.class_id,
                bbox: e.bbox,
                status: BoxStatus::Manual,
                original_bbox: None,
                original_class_id: None,
            },
            Provenance::Model { .. } => {
                if e.status == BoxStatus::Manual {
                    return Err(StoreError::Invalid(format!(
                        "box {id} was proposed by a model; its status can be proposed, accepted, rejected or edited"
                    )));
                }
                let changed = e.bbox != old.bbox || e.class_id != old.class_id;
                // The model's own box is remembered the first time it changes.
                let (original_bbox, original_class_id) = match (old.original_bbox, changed) {
                    (Some(b), _) => (Some(b), old.original_class_id),
                    (None, true) => (Some(old.bbox), Some(old.class_id)),
                    (None, false) => (None, None),
                };
                let status = if changed && e.status == BoxStatus::Accepted {
                    BoxStatus::Edited
                } else {
                    e.status
                };
                BoxUpdate {
                    id,
                    class_id: e.class_id,
                    bbox: e.bbox,
                    status,
                    original_bbox,
                    original_class_id,
                }
            }
        };
        let unchanged = update.class_id == old.class_id
            && update.bbox == old.bbox
            && update.status == old.status
            && update.original_bbox == old.original_bbox;
        if !unchanged {
            plan.update.push(update);
        }
    }
    for b in current {
        if seen.contains(&b.id) {
            continue;
        }
        if matches!(b.source, Provenance::Model { .. }) {
            return Err(StoreError::Invalid(format!(
                "box {} was proposed by a model and cannot be deleted; mark it rejected",
                b.id
            )));
        }
        plan.delete.push(b.id);
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::annotations::BoxEdit;
    use crate::time::Timestamp;

    fn stored(id: i64, source: Provenance, status: BoxStatus) -> StoredBox {
        StoredBox {
            id,
            class_id: 1,
            bbox: BBox::new(1.0, 1.0, 5.0, 5.0).unwrap(),
            source,
            score: None,
            status,
            original_bbox: None,
            original_class_id: None,
            prediction_id: None,
            created_at: Timestamp(0),
            updated_at: Timestamp(0),
            updated_by: "a".into(),
        }
    }
    fn model() -> Provenance {
        Provenance::Model {
            model: "m".into(),
            version: "1".into(),
        }
    }
    fn edit(id: Option<i64>, class_id: u32, bbox: [f64; 4], status: BoxStatus) -> BoxEdit {
        BoxEdit {
            id,
            class_id,
            bbox: BBox::try_from(bbox).unwrap(),
            status,
        }
    }

    #[test]
    fn moving_a_model_box_keeps_its_original() {
        let cur = [stored(7, model(), BoxStatus::Proposed)];
        let e = AnnotationEdit {
            no_finding: false,
            boxes: vec![edit(Some(7), 2, [2.0, 2.0, 6.0, 6.0], BoxStatus::Accepted)],
        };
        let p = plan_save(&cur, &e, "ann").unwrap();
        assert_eq!(p.update.len(), 1);
        let u = &p.update[0];
        assert_eq!(u.status, BoxStatus::Edited);
        assert_eq!(u.original_bbox, Some(cur[0].bbox));
        assert_eq!(u.original_class_id, Some(1));
    }

    #[test]
    fn model_boxes_cannot_be_deleted_or_made_manual() {
        let cur = [stored(7, model(), BoxStatus::Proposed)];
        let empty = AnnotationEdit {
            no_finding: true,
            boxes: vec![],
        };
        assert!(matches!(
            plan_save(&cur, &empty, "ann"),
            Err(StoreError::Invalid(_))
        ));
        let manual = AnnotationEdit {
            no_finding: false,
            boxes: vec![edit(Some(7), 1, [1.0, 1.0, 5.0, 5.0], BoxStatus::Manual)],
        };
        assert!(plan_save(&cur, &manual, "ann").is_err());
    }

    #[test]
    fn radiologist_boxes_are_updated_deleted_and_added() {
        let r = Provenance::Radiologist { user: "bob".into() };
        let cur = [
            stored(1, r.clone(), BoxStatus::Manual),
            stored(2, r, BoxStatus::Manual),
        ];
        let e = AnnotationEdit {
            no_finding: false,
            boxes: vec![
                edit(Some(1), 3, [1.0, 1.0, 5.0, 5.0], BoxStatus::Manual),
                edit(None, 0, [0.0, 0.0, 1.0, 1.0], BoxStatus::Proposed),
            ],
        };
        let p = plan_save(&cur, &e, "ann").unwrap();
        assert_eq!(p.delete, vec![2]);
        assert_eq!(p.update.len(), 1);
        assert_eq!(p.insert.len(), 1);
        assert_eq!(p.insert[0].status, BoxStatus::Manual);
        assert_eq!(
            p.insert[0].source,
            Provenance::Radiologist { user: "ann".into() }
        );
    }

    #[test]
    fn foreign_or_repeated_ids_are_refused() {
        let e = AnnotationEdit {
            no_finding: false,
            boxes: vec![edit(Some(99), 1, [1.0, 1.0, 5.0, 5.0], BoxStatus::Manual)],
        };
        assert!(plan_save(&[], &e, "ann").is_err());
        let r = Provenance::Radiologist { user: "bob".into() };
        let cur = [stored(1, r, BoxStatus::Manual)];
        let twice = AnnotationEdit {
            no_finding: false,
            boxes: vec![
                edit(Some(1), 1, [1.0, 1.0, 5.0, 5.0], BoxStatus::Manual),
                edit(Some(1), 1, [1.0, 1.0, 5.0, 5.0], BoxStatus::Manual),
            ],
        };
        assert!(plan_save(&cur, &twice, "ann").is_err());
    }
}
