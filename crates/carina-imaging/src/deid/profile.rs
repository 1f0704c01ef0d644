//! The rows of PS3.15 Table E.1-1 (generated into `ps315.tsv`, read by `ps315.rs`) and how their
//! action codes resolve for one attribute (PS3.15 E.3.1).

use dicom_core::Tag;

use super::ps315::ROWS;
pub(crate) use super::rules::{Code, Opt, OptCode, Row, TagMatch};

/// Every row of the table.
pub(crate) fn rows() -> &'static [Row] {
    &ROWS
}

/// The row of the table for an attribute: an exact tag first, then a masked
/// row, then the private-attributes row.
pub(crate) fn row_for(tag: Tag) -> Option<&'static Row> {
    let exact = ROWS.partition_point(|r| matches!(r.tag, TagMatch::Exact(..)));
    let key = (tag.group(), tag.element());
    if let Ok(i) = ROWS[..exact].binary_search_by(|r| match r.tag {
        TagMatch::Exact(g, e) => (g, e).cmp(&key),
        _ => std::cmp::Ordering::Greater,
    }) {
        return Some(&ROWS[i]);
    }
    ROWS[exact..].iter().find(|r| r.tag.matches(tag))
}

/// The type of an attribute in the image IODs Carina writes and reads
/// (CR, DX, Secondary Capture), where the profile's combined codes depend on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IodType {
    /// Type 1: present with a value.
    One,
    /// Type 2 (or 2C): present, possibly empty.
    Two,
    /// Type 3 or not in these IODs: may be absent.
    Optional,
}

/// What the de-identifier does with one attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    Remove,
    /// Keep the attribute with a zero-length value.
    Empty,
    /// Replace with a dummy value of its VR.
    Dummy,
    /// Replace every UID in the value with its keyed hash.
    Uid,
    Keep,
}

/// Resolve a row's code for an attribute of the given IOD type, honouring
/// the retain options the caller enabled. "When in doubt, remove or dummy,
/// never keep": clean (C) is never attempted, it removes or dummies.
pub(crate) fn resolve(row: &Row, iod: IodType, enabled: &[Opt]) -> Action {
    for opt in enabled {
        match row.option(*opt) {
            Some(OptCode::K) => return Action::Keep,
            Some(OptCode::C) => return clean(iod),
            None => {}
        }
    }
    match (row.code, iod) {
        (Code::X, _) => Action::Remove,
        (Code::K, _) => Action::Keep,
        (Code::U, _) => Action::Uid,
        (Code::C, t) => clean(t),
        (Code::Z, _) => Action::Empty,
        (Code::D, _) => Action::Dummy,
        (Code::ZD, IodType::One) => Action::Dummy,
        (Code::ZD, _) => Action::Empty,
        (Code::XZ | Code::XZU, IodType::One | IodType::Two) => Action::Empty,
        (Code::XD, IodType::One | IodType::Two) => Action::Dummy,
        (Code::XZD, IodType::One) => Action::Dummy,
        (Code::XZD, IodType::Two) => Action::Empty,
        (Code::XZ | Code::XZU | Code::XD | Code::XZD, IodType::Optional) => Action::Remove,
    }
}

fn clean(iod: IodType) -> Action {
    match iod {
        IodType::Optional => Action::Remove,
        _ => Action::Dummy,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_is_found_by_its_own_tag() {
        for row in rows() {
            let probe = match row.tag {
                TagMatch::Exact(g, e) => Tag(g, e),
                TagMatch::Masked {
                    group,
                    group_mask,
                    element,
                    element_mask,
                } => Tag(
                    group | (0x0002 & !group_mask),
                    element | (0x0010 & !element_mask),
                ),
                TagMatch::PrivateOdd => Tag(0x0009, 0x1010),
            };
            let found = row_for(probe).unwrap_or_else(|| panic!("{} not found", row.name));
            assert_eq!(found.tag, row.tag, "{}", row.name);
        }
        assert_eq!(rows().len(), 621);
    }

    #[test]
    fn masks_cover_overlays_and_curves() {
        assert_eq!(row_for(Tag(0x6002, 0x3000)).unwrap().name, "Overlay Data");
        assert_eq!(
            row_for(Tag(0x601E, 0x4000)).unwrap().name,
            "Overlay Comments"
        );
        assert_eq!(row_for(Tag(0x50FE, 0x1234)).unwrap().name, "Curve Data");
        assert!(row_for(Tag(0x6000, 0x0010)).is_none());
        assert_eq!(
            row_for(Tag(0x0011, 0x0010)).unwrap().tag,
            TagMatch::PrivateOdd
        );
        assert!(row_for(Tag(0x0028, 0x0010)).is_none());
    }

    #[test]
    fn combined_codes_follow_the_iod_type() {
        let row = |tag| row_for(tag).unwrap();
        let institution = row(Tag(0x0008, 0x0080)); // X/Z/D
        assert_eq!(institution.code, Code::XZD);
        assert_eq!(resolve(institution, IodType::Optional, &[]), Action::Remove);
        assert_eq!(resolve(institution, IodType::Two, &[]), Action::Empty);
        assert_eq!(resolve(institution, IodType::One, &[]), Action::Dummy);
        let content_date = row(Tag(0x0008, 0x0023)); // Z/D
        assert_eq!(resolve(content_date, IodType::Two, &[]), Action::Empty);
        assert_eq!(resolve(content_date, IodType::One, &[]), Action::Dummy);
        let age = row(Tag(0x0010, 0x1010)); // X, K under patient characteristics
        assert_eq!(resolve(age, IodType::Optional, &[]), Action::Remove);
        let keep = [Opt::RetainPatientCharacteristics];
        assert_eq!(resolve(age, IodType::Optional, &keep), Action::Keep);
        // C under the same option: cleaned, which Carina does by removing.
        let allergies = row(Tag(0x0010, 0x2110));
        assert_eq!(resolve(allergies, IodType::Optional, &keep), Action::Remove);
        assert_eq!(
            resolve(row(Tag(0x0020, 0x000D)), IodType::One, &[]),
            Action::Uid
        );
    }
}
