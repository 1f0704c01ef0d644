//! Building SR content items (PS3.3 C.17.3) as dicom-rs data sets.

use dicom_core::value::{DataSetSequence, PrimitiveValue};
use dicom_core::{DataElement, Length, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;

use crate::codes::{C, Code, code};

pub(crate) type Obj = InMemDicomObject;

pub(crate) fn put(obj: &mut Obj, tag: Tag, vr: VR, value: impl Into<PrimitiveValue>) {
    obj.put(DataElement::new(tag, vr, value.into()));
}

pub(crate) fn put_seq(obj: &mut Obj, tag: Tag, items: Vec<Obj>) {
    obj.put(DataElement::new(
        tag,
        VR::SQ,
        DataSetSequence::new(items, Length::UNDEFINED),
    ));
}

/// A code sequence item (PS3.3 Table 8.8-1): code value, scheme, meaning.
pub(crate) fn code_obj(c: &Code) -> Obj {
    let mut o = Obj::new_empty();
    put(&mut o, tags::CODE_VALUE, VR::SH, c.value.as_str());
    put(
        &mut o,
        tags::CODING_SCHEME_DESIGNATOR,
        VR::SH,
        c.scheme.as_str(),
    );
    put(&mut o, tags::CODE_MEANING, VR::LO, c.meaning.as_str());
    o
}

/// A content item with its relationship type (none for the root), value
/// type and concept name.
fn item(rel: &str, value_type: &str, name: &Code) -> Obj {
    let mut o = Obj::new_empty();
    put(&mut o, tags::RELATIONSHIP_TYPE, VR::CS, rel);
    put(&mut o, tags::VALUE_TYPE, VR::CS, value_type);
    put_seq(
        &mut o,
        tags::CONCEPT_NAME_CODE_SEQUENCE,
        vec![code_obj(name)],
    );
    o
}

/// Content Template Sequence: `DCMR` template `tid`.
pub(crate) fn template_seq(o: &mut Obj, tid: &str) {
    let mut t = Obj::new_empty();
    put(&mut t, tags::MAPPING_RESOURCE, VR::CS, "DCMR");
    put(&mut t, tags::TEMPLATE_IDENTIFIER, VR::CS, tid);
    put_seq(o, tags::CONTENT_TEMPLATE_SEQUENCE, vec![t]);
}

pub(crate) fn container(rel: &str, name: C, template: Option<&str>, children: Vec<Obj>) -> Obj {
    let mut o = item(rel, "CONTAINER", &code(name));
    put(&mut o, tags::CONTINUITY_OF_CONTENT, VR::CS, "SEPARATE");
    if let Some(tid) = template {
        template_seq(&mut o, tid);
    }
    put_seq(&mut o, tags::CONTENT_SEQUENCE, children);
    o
}

pub(crate) fn code_item(rel: &str, name: C, value: &Code) -> Obj {
    let mut o = item(rel, "CODE", &code(name));
    put_seq(&mut o, tags::CONCEPT_CODE_SEQUENCE, vec![code_obj(value)]);
    o
}

pub(crate) fn text(rel: &str, name: C, value: &str) -> Obj {
    let mut o = item(rel, "TEXT", &code(name));
    put(&mut o, tags::TEXT_VALUE, VR::UT, value);
    o
}

pub(crate) fn uidref(rel: &str, name: C, uid: &str) -> Obj {
    let mut o = item(rel, "UIDREF", &code(name));
    put(&mut o, tags::UID, VR::UI, uid);
    o
}

pub(crate) fn pname(rel: &str, name: C, value: &str) -> Obj {
    let mut o = item(rel, "PNAME", &code(name));
    put(&mut o, tags::PERSON_NAME, VR::PN, value);
    o
}

/// A 2D spatial coordinate item (image pixels, column then row) whose
/// child is the image it was selected from.
pub(crate) fn scoord(
    rel: &str,
    name: C,
    graphic_type: &str,
    points: &[[f64; 2]],
    image: Obj,
) -> Obj {
    let mut o = item(rel, "SCOORD", &code(name));
    let data: Vec<f32> = points
        .iter()
        .flat_map(|p| [p[0] as f32, p[1] as f32])
        .collect();
    put(
        &mut o,
        tags::GRAPHIC_DATA,
        VR::FL,
        PrimitiveValue::F32(data.into()),
    );
    put(&mut o, tags::GRAPHIC_TYPE, VR::CS, graphic_type);
    put_seq(&mut o, tags::CONTENT_SEQUENCE, vec![image]);
    o
}

/// An IMAGE item referencing one SOP instance.
pub(crate) fn image(rel: &str, name: C, sop_class: &str, sop_instance: &str) -> Obj {
    let mut o = item(rel, "IMAGE", &code(name));
    let mut r = Obj::new_empty();
    put(&mut r, tags::REFERENCED_SOP_CLASS_UID, VR::UI, sop_class);
    put(
        &mut r,
        tags::REFERENCED_SOP_INSTANCE_UID,
        VR::UI,
        sop_instance,
    );
    put_seq(&mut o, tags::REFERENCED_SOP_SEQUENCE, vec![r]);
    o
}
