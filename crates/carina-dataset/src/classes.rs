//! Source class names → the project's label set (product.md's table), and
//! the classes each format defines, so that a class the format does not know
//! is reported as unknown rather than quietly dropped.

use carina_core::{Finding, LabelSet};

/// Where a dataset file comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceFormat {
    Vindr,
    Nih,
    Coco,
}

impl SourceFormat {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "vindr" => Some(Self::Vindr),
            "nih" => Some(Self::Nih),
            "coco" => Some(Self::Coco),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Vindr => "vindr",
            Self::Nih => "nih",
            Self::Coco => "coco",
        }
    }
}

/// What a source class becomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClassMapping {
    /// A label of the label set: its id and name.
    Label(u32, String),
    /// The image-level "No finding" flag (no box).
    NoFinding,
    /// A class the format defines but the label set does not include.
    NotInLabelSet,
    /// A class the format does not define.
    Unknown,
}

/// VinDr-CXR's local-label classes (train.csv).
pub const VINDR_CLASSES: [&str; 14] = [
    "Aortic enlargement",
    "Atelectasis",
    "Calcification",
    "Cardiomegaly",
    "Consolidation",
    "ILD",
    "Infiltration",
    "Lung Opacity",
    "Nodule/Mass",
    "Other lesion",
    "Pleural effusion",
    "Pleural thickening",
    "Pneumothorax",
    "Pulmonary fibrosis",
];

/// NIH ChestX-ray14 box-list findings.
pub const NIH_CLASSES: [&str; 8] = [
    "Atelectasis",
    "Cardiomegaly",
    "Effusion",
    "Infiltrate",
    "Mass",
    "Nodule",
    "Pneumonia",
    "Pneumothorax",
];

/// Maps `name` from `format` onto `labels`. A label set that names a source
/// class directly (e.g. a project that added "Aortic enlargement") keeps it;
/// otherwise the product's mapping table applies. Names compare
/// case-insensitively, so files that already use the product's names
/// ("Pleural Effusion") map too.
pub fn map_class(format: SourceFormat, name: &str, labels: &LabelSet) -> ClassMapping {
    let name = name.trim();
    if name.eq_ignore_ascii_case("No finding") {
        return ClassMapping::NoFinding;
    }
    if let Some(l) = labels.by_name(name) {
        return ClassMapping::Label(l.id, l.name.clone());
    }
    let known: &[&str] = match format {
        SourceFormat::Vindr => &VINDR_CLASSES,
        SourceFormat::Nih => &NIH_CLASSES,
        SourceFormat::Coco => &[],
    };
    let canonical = known.iter().find(|k| k.eq_ignore_ascii_case(name)).copied();
    let finding = match format {
        SourceFormat::Vindr => canonical.and_then(Finding::from_vindr),
        SourceFormat::Nih => canonical.and_then(Finding::from_nih),
        SourceFormat::Coco => Finding::from_name(name)
            .or_else(|| {
                VINDR_CLASSES
                    .iter()
                    .find(|k| k.eq_ignore_ascii_case(name))
                    .and_then(|k| Finding::from_vindr(k))
            })
            .or_else(|| {
                NIH_CLASSES
                    .iter()
                    .find(|k| k.eq_ignore_ascii_case(name))
                    .and_then(|k| Finding::from_nih(k))
            }),
    }
    .or_else(|| Finding::from_name(name));
    match finding.and_then(|f| labels.by_name(f.name())) {
        Some(l) => ClassMapping::Label(l.id, l.name.clone()),
        // COCO has no fixed vocabulary: any category the label set lacks is
        // simply not in the label set.
        None if canonical.is_some() || format == SourceFormat::Coco || finding.is_some() => {
            ClassMapping::NotInLabelSet
        }
        None => ClassMapping::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn product_table() {
        let l = LabelSet::default();
        let m = |f, n| map_class(f, n, &l);
        use SourceFormat::*;
        assert_eq!(m(Nih, "Mass"), ClassMapping::Label(4, "Nodule/Mass".into()));
        assert_eq!(
            m(Nih, "Nodule"),
            ClassMapping::Label(4, "Nodule/Mass".into())
        );
        assert_eq!(
            m(Nih, "Infiltrate"),
            ClassMapping::Label(3, "Infiltration".into())
        );
        assert_eq!(
            m(Nih, "Effusion"),
            ClassMapping::Label(8, "Pleural Effusion".into())
        );
        assert_eq!(m(Nih, "Pneumonia"), ClassMapping::NotInLabelSet);
        assert_eq!(m(Nih, "Hernia"), ClassMapping::Unknown);
        assert_eq!(
            m(Vindr, "Pleural thickening"),
            ClassMapping::Label(5, "Pleural Thickening".into())
        );
        assert_eq!(
            m(Vindr, "Pleural Effusion"),
            ClassMapping::Label(8, "Pleural Effusion".into())
        );
        assert_eq!(m(Vindr, "Aortic enlargement"), ClassMapping::NotInLabelSet);
        assert_eq!(m(Vindr, "No finding"), ClassMapping::NoFinding);
        assert_eq!(m(Vindr, "Tumour"), ClassMapping::Unknown);
        assert_eq!(
            m(Coco, "Effusion"),
            ClassMapping::Label(8, "Pleural Effusion".into())
        );
        assert_eq!(m(Coco, "Lung Opacity"), ClassMapping::NotInLabelSet);
    }

    #[test]
    fn custom_label_set_keeps_extra_class() {
        let mut labels = LabelSet::default().labels().to_vec();
        labels.push(carina_core::findings::Label {
            id: 9,
            name: "Aortic enlargement".into(),
            color: "#000000".into(),
            retired: false,
        });
        let set = LabelSet::new(labels);
        assert_eq!(
            map_class(SourceFormat::Vindr, "Aortic enlargement", &set),
            ClassMapping::Label(9, "Aortic enlargement".into())
        );
    }
}
