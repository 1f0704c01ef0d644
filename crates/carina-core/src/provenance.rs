//! Where a box came from and what a reviewer decided about it.

use serde::{Deserialize, Serialize};

/// Who made a box. Serialises as `{"kind": "radiologist", "user": ...}`,
/// `{"kind": "model", "model": ..., "version": ...}` or
/// `{"kind": "consensus", "user": ..., "readers": [...]}` (the HTTP API's form).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Provenance {
    Radiologist {
        user: String,
    },
    Model {
        model: String,
        version: String,
    },
    /// Fused from several radiologists' blind reads (Weighted Boxes Fusion)
    /// by the reviewer `user`; `readers` are the radiologists whose reads
    /// went into the fusion. A human box: it may be moved or deleted.
    Consensus {
        user: String,
        readers: Vec<String>,
    },
}

impl Provenance {
    /// Whether a person made the box (a radiologist, or a reviewer's
    /// consensus of radiologists), as opposed to a model.
    pub fn is_human(&self) -> bool {
        !matches!(self, Provenance::Model { .. })
    }
}

/// A box's review status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BoxStatus {
    /// Proposed by a model, not yet reviewed.
    Proposed,
    /// A model's box a radiologist accepted as it was.
    Accepted,
    /// A model's box a radiologist rejected (kept, never deleted).
    Rejected,
    /// A model's box a radiologist moved, resized or relabelled.
    Edited,
    /// Drawn by a radiologist.
    Manual,
}

impl BoxStatus {
    pub const ALL: [BoxStatus; 5] = [
        BoxStatus::Proposed,
        BoxStatus::Accepted,
        BoxStatus::Rejected,
        BoxStatus::Edited,
        BoxStatus::Manual,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            BoxStatus::Proposed => "proposed",
            BoxStatus::Accepted => "accepted",
            BoxStatus::Rejected => "rejected",
            BoxStatus::Edited => "edited",
            BoxStatus::Manual => "manual",
        }
    }

    pub fn parse(s: &str) -> Option<BoxStatus> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// Whether a box with this status counts as a positive finding of the
    /// radiologist (for training, reports and exports).
    pub fn is_confirmed(self) -> bool {
        matches!(
            self,
            BoxStatus::Accepted | BoxStatus::Edited | BoxStatus::Manual
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provenance_json_matches_api() {
        let p = Provenance::Model {
            model: "effdet-d0".into(),
            version: "3".into(),
        };
        assert_eq!(
            serde_json::to_value(&p).unwrap(),
            serde_json::json!({"kind": "model", "model": "effdet-d0", "version": "3"})
        );
        let r: Provenance = serde_json::from_str(r#"{"kind":"radiologist","user":"ann"}"#).unwrap();
        assert_eq!(r, Provenance::Radiologist { user: "ann".into() });
        let c = Provenance::Consensus {
            user: "rev".into(),
            readers: vec!["a".into(), "b".into()],
        };
        assert_eq!(
            serde_json::to_value(&c).unwrap(),
            serde_json::json!({"kind": "consensus", "user": "rev", "readers": ["a", "b"]})
        );
        assert!(c.is_human() && !p.is_human());
    }

    #[test]
    fn status_round_trip() {
        for s in BoxStatus::ALL {
            assert_eq!(BoxStatus::parse(s.as_str()), Some(s));
            assert_eq!(
                serde_json::to_value(s).unwrap(),
                serde_json::Value::String(s.as_str().into())
            );
        }
        assert_eq!(BoxStatus::parse("maybe"), None);
        assert!(!BoxStatus::Rejected.is_confirmed());
    }
}
