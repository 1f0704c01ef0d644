//! Reading SR content items: children, strings, codes, concept names.

use dicom_core::Tag;
use dicom_dictionary_std::tags;

use crate::codes::{C, Code};
use crate::items::Obj;

/// The items of sequence `tag` of `o` (none when absent).
pub(crate) fn seq_items(o: &Obj, tag: Tag) -> &[Obj] {
    o.get(tag).and_then(|e| e.items()).unwrap_or(&[])
}

/// The content items under `o`.
pub(crate) fn children(o: &Obj) -> &[Obj] {
    seq_items(o, tags::CONTENT_SEQUENCE)
}

/// A string attribute, trimmed of padding; `None` when absent or empty.
pub(crate) fn string(o: &Obj, tag: Tag) -> Option<String> {
    let v = o.get(tag)?.to_str().ok()?;
    let v = v.trim_matches(|c: char| c == '\0' || c.is_whitespace());
    (!v.is_empty()).then(|| v.to_string())
}

/// The first item of a code sequence as a [`Code`] (Long Code Value and
/// URN Code Value stand in for a missing Code Value).
pub(crate) fn code_in(o: &Obj, seq: Tag) -> Option<Code> {
    let item = o.get(seq)?.items()?.first()?;
    let value = string(item, tags::CODE_VALUE)
        .or_else(|| string(item, tags::LONG_CODE_VALUE))
        .or_else(|| string(item, tags::URN_CODE_VALUE))?;
    Some(Code {
        scheme: string(item, tags::CODING_SCHEME_DESIGNATOR).unwrap_or_default(),
        value,
        meaning: string(item, tags::CODE_MEANING).unwrap_or_default(),
    })
}

pub(crate) fn concept_name(o: &Obj) -> Option<Code> {
    code_in(o, tags::CONCEPT_NAME_CODE_SEQUENCE)
}

/// Whether `o` is a content item of `value_type` named `name`.
pub(crate) fn is(o: &Obj, value_type: &str, name: C) -> bool {
    string(o, tags::VALUE_TYPE).as_deref() == Some(value_type)
        && concept_name(o).is_some_and(|c| c.same_concept(name.0, name.1))
}

pub(crate) fn is_container(o: &Obj, name: C) -> bool {
    is(o, "CONTAINER", name)
}
