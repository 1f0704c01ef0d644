//! The shape of a row of PS3.15 Table E.1-1: which attributes it covers, its
//! basic-profile action code and its option columns. The rows themselves are
//! generated into `ps315.tsv` and read by `ps315.rs`; `profile.rs` resolves them for one attribute.

use dicom_core::Tag;

/// Which attributes a row covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TagMatch {
    Exact(u16, u16),
    /// `(50xx,xxxx)`, `(60xx,4000)`, …: the bits of the mask must match.
    Masked {
        group: u16,
        group_mask: u16,
        element: u16,
        element_mask: u16,
    },
    /// `(gggg,eeee)` where gggg is odd: private attributes.
    PrivateOdd,
}

impl TagMatch {
    pub(crate) fn matches(self, tag: Tag) -> bool {
        match self {
            TagMatch::Exact(g, e) => tag == Tag(g, e),
            TagMatch::Masked {
                group,
                group_mask,
                element,
                element_mask,
            } => tag.group() & group_mask == group && tag.element() & element_mask == element,
            TagMatch::PrivateOdd => tag.group() % 2 == 1,
        }
    }
}

/// The basic profile's action code of a row (PS3.15 E.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
// The names are the standard's codes (X/Z/D → XZD).
#[allow(clippy::upper_case_acronyms)]
pub(crate) enum Code {
    /// Remove.
    X,
    /// Replace with a zero-length value (or a dummy).
    Z,
    /// Replace with a non-zero-length dummy consistent with the VR.
    D,
    /// Replace the UID with a consistent non-identifying one.
    U,
    /// Keep (no row of the current table has it as its basic action).
    #[allow(dead_code)]
    K,
    /// Clean: replace with similar values that identify no one (idem).
    #[allow(dead_code)]
    C,
    /// Z unless the IOD's type is 1, then D.
    ZD,
    /// X unless the IOD's type is 1 or 2, then Z.
    XZ,
    /// X unless the IOD's type is 1 or 2, then D.
    XD,
    /// X unless type 2 (then Z) or type 1 (then D).
    XZD,
    /// X unless type 1 or 2, then Z; UIDs inside replaced.
    XZU,
}

/// The option columns of the table (PS3.15 E.3.2 – E.3.11).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Opt {
    RetainSafePrivate,
    RetainUids,
    RetainDeviceIdentity,
    RetainInstitutionIdentity,
    RetainPatientCharacteristics,
    RetainLongitudinalFullDates,
    RetainLongitudinalModifiedDates,
    CleanDescriptors,
    CleanStructuredContent,
    CleanGraphics,
}

/// What an option column says for a row: keep or clean.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum OptCode {
    K,
    C,
}

/// One row of Table E.1-1.
#[derive(Debug)]
pub(crate) struct Row {
    pub tag: TagMatch,
    pub name: &'static str,
    /// From the PS3.6 dictionary; `None` for masked rows.
    pub vr: Option<&'static str>,
    pub code: Code,
    pub options: Vec<(Opt, OptCode)>,
}

impl Row {
    pub(crate) fn option(&self, opt: Opt) -> Option<OptCode> {
        self.options
            .iter()
            .find(|(o, _)| *o == opt)
            .map(|(_, c)| *c)
    }
}
