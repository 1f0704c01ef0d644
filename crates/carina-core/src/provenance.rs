//! Where a box came from and what a reviewer decided about it.

use serde::{Deserialize, Serialize};

/// Who made a box. Serialises as `{"kind": "radiologist", "user": ...}` or
/// `{"kind": "model", "model": ..., "version": ...}` (the HTTP API's form).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Provenance {
    Radiologist { user: String },
    Model { model: String, version: String },
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
