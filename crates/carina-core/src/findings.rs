//! The finding taxonomy: the default nine-class label set and the mappings
//! from the public datasets' class names (see `product.md`).

use serde::{Deserialize, Serialize};

/// The nine default findings, in class-id order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Finding {
    Atelectasis,
    Cardiomegaly,
    Consolidation,
    Infiltration,
    NoduleMass,
    PleuralThickening,
    Pneumothorax,
    PulmonaryFibrosis,
    PleuralEffusion,
}

impl Finding {
    pub const ALL: [Finding; 9] = [
        Finding::Atelectasis,
        Finding::Cardiomegaly,
        Finding::Consolidation,
        Finding::Infiltration,
        Finding::NoduleMass,
        Finding::PleuralThickening,
        Finding::Pneumothorax,
        Finding::PulmonaryFibrosis,
        Finding::PleuralEffusion,
    ];

    /// The class id (0..9) of the default label set.
    pub fn class_id(self) -> u32 {
        self as u32
    }

    pub fn from_class_id(id: u32) -> Option<Finding> {
        Self::ALL.get(id as usize).copied()
    }

    /// The display name used in the product, files and the API.
    pub fn name(self) -> &'static str {
        match self {
            Finding::Atelectasis => "Atelectasis",
            Finding::Cardiomegaly => "Cardiomegaly",
            Finding::Consolidation => "Consolidation",
            Finding::Infiltration => "Infiltration",
            Finding::NoduleMass => "Nodule/Mass",
            Finding::PleuralThickening => "Pleural Thickening",
            Finding::Pneumothorax => "Pneumothorax",
            Finding::PulmonaryFibrosis => "Pulmonary Fibrosis",
            Finding::PleuralEffusion => "Pleural Effusion",
        }
    }

    /// Default display colour (hex RGB), chosen to be distinguishable on a
    /// grey radiograph.
    pub fn default_color(self) -> &'static str {
        match self {
            Finding::Atelectasis => "#e6194b",
            Finding::Cardiomegaly => "#3cb44b",
            Finding::Consolidation => "#ffe119",
            Finding::Infiltration => "#4363d8",
            Finding::NoduleMass => "#f58231",
            Finding::PleuralThickening => "#911eb4",
            Finding::Pneumothorax => "#42d4f4",
            Finding::PulmonaryFibrosis => "#f032e6",
            Finding::PleuralEffusion => "#bfef45",
        }
    }

    /// Exact (case-insensitive) match on the product's own names.
    pub fn from_name(name: &str) -> Option<Finding> {
        Self::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(name.trim()))
    }

    /// VinDr-CXR `class_name` → finding; `None` for classes dropped by default
    /// (Aortic enlargement, Calcification, ILD, Lung Opacity, Other lesion,
    /// Pneumonia, No finding, ...).
    pub fn from_vindr(class_name: &str) -> Option<Finding> {
        match class_name.trim() {
            "Atelectasis" => Some(Finding::Atelectasis),
            "Cardiomegaly" => Some(Finding::Cardiomegaly),
            "Consolidation" => Some(Finding::Consolidation),
            "Infiltration" => Some(Finding::Infiltration),
            "Nodule/Mass" => Some(Finding::NoduleMass),
            "Pleural thickening" => Some(Finding::PleuralThickening),
            "Pneumothorax" => Some(Finding::Pneumothorax),
            "Pulmonary fibrosis" => Some(Finding::PulmonaryFibrosis),
            "Pleural effusion" => Some(Finding::PleuralEffusion),
            _ => None,
        }
    }

    /// NIH ChestX-ray14 `Finding Label` → finding; `None` for Pneumonia and
    /// anything else not in the label set.
    pub fn from_nih(label: &str) -> Option<Finding> {
        match label.trim() {
            "Atelectasis" => Some(Finding::Atelectasis),
            "Cardiomegaly" => Some(Finding::Cardiomegaly),
            "Infiltrate" | "Infiltration" => Some(Finding::Infiltration),
            "Nodule" | "Mass" => Some(Finding::NoduleMass),
            "Pneumothorax" => Some(Finding::Pneumothorax),
            "Effusion" => Some(Finding::PleuralEffusion),
            _ => None,
        }
    }
}

/// One label of a project's label set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Label {
    pub id: u32,
    pub name: String,
    /// Hex RGB such as `#e6194b`.
    pub color: String,
    /// A retired label keeps its id so that old annotations still resolve,
    /// but is not offered for new boxes.
    pub retired: bool,
}

/// The labels a project uses; ids are stable and never reused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelSet {
    labels: Vec<Label>,
}

impl Default for LabelSet {
    fn default() -> Self {
        Self {
            labels: Finding::ALL
                .iter()
                .map(|f| Label {
                    id: f.class_id(),
                    name: f.name().to_string(),
                    color: f.default_color().to_string(),
                    retired: false,
                })
                .collect(),
        }
    }
}

impl LabelSet {
    pub fn new(labels: Vec<Label>) -> Self {
        Self { labels }
    }
    pub fn labels(&self) -> &[Label] {
        &self.labels
    }
    pub fn get(&self, id: u32) -> Option<&Label> {
        self.labels.iter().find(|l| l.id == id)
    }
    /// Labels that may be used for new boxes.
    pub fn active(&self) -> impl Iterator<Item = &Label> {
        self.labels.iter().filter(|l| !l.retired)
    }
    pub fn by_name(&self, name: &str) -> Option<&Label> {
        self.labels
            .iter()
            .find(|l| l.name.eq_ignore_ascii_case(name.trim()))
    }
    /// Names in class-id order, as detectors and COCO files list them.
    pub fn names(&self) -> Vec<String> {
        let mut l: Vec<&Label> = self.labels.iter().collect();
        l.sort_by_key(|l| l.id);
        l.into_iter().map(|l| l.name.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_product_order() {
        let names: Vec<_> = Finding::ALL.iter().map(|f| f.name()).collect();
        assert_eq!(
            names,
            [
                "Atelectasis",
                "Cardiomegaly",
                "Consolidation",
                "Infiltration",
                "Nodule/Mass",
                "Pleural Thickening",
                "Pneumothorax",
                "Pulmonary Fibrosis",
                "Pleural Effusion"
            ]
        );
        for (i, f) in Finding::ALL.iter().enumerate() {
            assert_eq!(f.class_id() as usize, i);
            assert_eq!(Finding::from_class_id(i as u32), Some(*f));
        }
        assert_eq!(Finding::from_class_id(9), None);
    }

    #[test]
    fn dataset_mappings() {
        assert_eq!(Finding::from_nih("Mass"), Some(Finding::NoduleMass));
        assert_eq!(Finding::from_nih("Nodule"), Some(Finding::NoduleMass));
        assert_eq!(Finding::from_nih("Infiltrate"), Some(Finding::Infiltration));
        assert_eq!(
            Finding::from_nih("Effusion"),
            Some(Finding::PleuralEffusion)
        );
        assert_eq!(Finding::from_nih("Pneumonia"), None);
        assert_eq!(
            Finding::from_vindr("Pleural thickening"),
            Some(Finding::PleuralThickening)
        );
        assert_eq!(Finding::from_vindr("Aortic enlargement"), None);
        assert_eq!(Finding::from_vindr("No finding"), None);
    }

    #[test]
    fn label_set_defaults() {
        let set = LabelSet::default();
        assert_eq!(set.labels().len(), 9);
        assert_eq!(set.by_name("nodule/mass").unwrap().id, 4);
        assert_eq!(set.names()[8], "Pleural Effusion");
    }
}
