//! De-identification of DICOM files (PS3.15 Annex E, basic profile) with
//! keyed-hash pseudonyms, keeping the pixel data byte for byte.

mod table;

use std::fmt;

use dicom_core::value::{PrimitiveValue, Value};
use dicom_core::{DataElement, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;

use crate::ImagingError;
use crate::decode::read_object;
use crate::uid::{hex, keyed_hash, uid_from_hash};
use table::{Action, PATIENT_CHARACTERISTICS, action_for};

/// What the de-identifier needs from its caller.
#[derive(Clone)]
pub struct DeidConfig {
    /// Key of the keyed hashes (HMAC-SHA256) behind the patient pseudonym and
    /// the replacement UIDs. Keep it secret and stable: the same key maps the
    /// same patient and the same UIDs to the same pseudonyms on every upload;
    /// without it the originals cannot be recovered or confirmed by guessing.
    pub secret: Vec<u8>,
    /// Keep sex, age, size, weight (PS3.15 E.3.6 "Retain Patient
    /// Characteristics"); the basic profile removes them. Default false.
    pub retain_patient_characteristics: bool,
}

impl DeidConfig {
    pub fn new(secret: impl Into<Vec<u8>>) -> Self {
        Self {
            secret: secret.into(),
            retain_patient_characteristics: false,
        }
    }
}

impl fmt::Debug for DeidConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeidConfig")
            .field("secret", &"<redacted>")
            .field(
                "retain_patient_characteristics",
                &self.retain_patient_characteristics,
            )
            .finish()
    }
}

/// A de-identified DICOM file and the pseudonyms it now carries.
#[derive(Debug, Clone)]
pub struct DeidResult {
    /// The new Part 10 file (zero preamble; same transfer syntax; pixel data unchanged).
    pub bytes: Vec<u8>,
    /// `P-` + 16 hex digits of HMAC(secret, original Patient ID); also written
    /// as the file's PatientID and PatientName.
    pub patient_pseudonym: String,
    /// The replacement Study / Series / SOP Instance UIDs written in the file.
    pub study_uid: String,
    pub series_uid: String,
    pub sop_instance_uid: String,
}

/// The profile's name, written into DeidentificationMethod (0012,0063).
pub const DEID_METHOD: &str = "Carina: DICOM PS3.15 E.1.1 Basic Profile";

/// Remove or replace the patient's and staff's identity in a DICOM file.
///
/// Following PS3.15 Annex E's basic profile: names, IDs, birth date,
/// addresses, telephone numbers, institution and device names, physicians and
/// operators, accession number, descriptions and comments are removed or
/// emptied (table in `deid/table.rs`); Patient Name and Patient ID become the
/// pseudonym; Study/Series/SOP Instance and other instance UIDs are replaced
/// by keyed-hash UIDs (`2.25.…`), so re-uploads map consistently; private
/// attributes, overlays and curves are removed. Beyond the table, as a safety
/// net, every remaining person name (PN) is emptied, every remaining date and
/// time (DA, DT, TM) is emptied, free text (LT, ST, UT) and values of unknown
/// VR (UN) are removed, and every
/// non-standard UID is replaced. Sequences are processed recursively.
/// PatientIdentityRemoved (0012,0062) = YES and DeidentificationMethod are set.
///
/// The 128-byte preamble is written as zeros (a TIFF/DICOM dual-personality
/// preamble can carry its own tags). The pixel data is not touched
/// (compressed stays compressed). Text burned
/// into the pixels is not detected.
pub fn deidentify_dicom(bytes: &[u8], cfg: &DeidConfig) -> Result<DeidResult, ImagingError> {
    if cfg.secret.is_empty() {
        // Unkeyed hashes of patient IDs could be reversed by guessing IDs.
        return Err(ImagingError::InvalidArgument(
            "the de-identification secret must not be empty".into(),
        ));
    }
    if bytes.is_empty() {
        return Err(ImagingError::Empty);
    }
    let mut obj = read_object(bytes)?;
    let patient_pseudonym = patient_pseudonym(&obj, &cfg.secret);
    let ctx = Ctx {
        cfg,
        pseudonym: &patient_pseudonym,
    };
    clean_dataset(&mut obj, &ctx, 0);

    let sop_uid = obj
        .get(tags::SOP_INSTANCE_UID)
        .and_then(|e| e.to_str().ok().map(|s| trim(s.as_ref())))
        .unwrap_or_else(|| ctx.uid(&obj.meta().media_storage_sop_instance_uid));
    // Always present after de-identification, so that viewers can group.
    for (tag, vr, value) in [
        (tags::PATIENT_NAME, VR::PN, patient_pseudonym.clone()),
        (tags::PATIENT_ID, VR::LO, patient_pseudonym.clone()),
        (tags::PATIENT_IDENTITY_REMOVED, VR::CS, "YES".to_string()),
        (
            tags::DEIDENTIFICATION_METHOD,
            VR::LO,
            DEID_METHOD.to_string(),
        ),
        (tags::SOP_INSTANCE_UID, VR::UI, sop_uid.clone()),
    ] {
        obj.put(DataElement::new(tag, vr, PrimitiveValue::from(value)));
    }
    let study_uid = ensure_uid(&mut obj, tags::STUDY_INSTANCE_UID, &ctx, "study");
    let series_uid = ensure_uid(&mut obj, tags::SERIES_INSTANCE_UID, &ctx, "series");
    // Latin-1 or UTF-8 text may have been removed, the rest is ASCII; keep the
    // declared character set so remaining text decodes as before.
    obj.update_meta(|m| {
        m.media_storage_sop_instance_uid = sop_uid.clone();
        m.source_application_entity_title = None;
        m.sending_application_entity_title = None;
        m.receiving_application_entity_title = None;
        m.private_information_creator_uid = None;
        m.private_information = None;
    });

    let mut out = Vec::with_capacity(bytes.len());
    obj.write_all(&mut out)
        .map_err(|e| ImagingError::MalformedDicom(format!("cannot re-encode: {e}")))?;
    Ok(DeidResult {
        bytes: out,
        patient_pseudonym,
        study_uid,
        series_uid,
        sop_instance_uid: sop_uid,
    })
}

struct Ctx<'a> {
    cfg: &'a DeidConfig,
    pseudonym: &'a str,
}

impl Ctx<'_> {
    fn uid(&self, original: &str) -> String {
        uid_from_hash(&keyed_hash(
            &self.cfg.secret,
            "uid",
            trim(original).as_bytes(),
        ))
    }
}

fn trim(s: &str) -> String {
    s.trim_matches(|c: char| c == '\0' || c.is_whitespace())
        .to_string()
}

/// The pseudonym comes from the Patient ID; without one, from name + birth
/// date; without those, from the study (each study is then its own patient).
fn patient_pseudonym(obj: &InMemDicomObject, secret: &[u8]) -> String {
    let key = string_of(obj, tags::PATIENT_ID)
        .map(|id| format!("id:{id}"))
        .or_else(|| {
            let name = string_of(obj, tags::PATIENT_NAME)?;
            let dob = string_of(obj, tags::PATIENT_BIRTH_DATE).unwrap_or_default();
            Some(format!("name:{}|{dob}", name.to_uppercase()))
        })
        .or_else(|| string_of(obj, tags::STUDY_INSTANCE_UID).map(|s| format!("study:{s}")))
        .unwrap_or_else(|| "none".to_string());
    let h = keyed_hash(secret, "patient", key.as_bytes());
    format!("P-{}", &hex(&h)[..16])
}

fn string_of(obj: &InMemDicomObject, tag: Tag) -> Option<String> {
    let s = obj.get(tag)?.to_str().ok()?;
    let s = trim(&s);
    (!s.is_empty()).then_some(s)
}

fn ensure_uid(obj: &mut InMemDicomObject, tag: Tag, ctx: &Ctx<'_>, what: &str) -> String {
    if let Some(s) = string_of(obj, tag) {
        return s;
    }
    // A file without one: derive it from the SOP instance, which is unique.
    let sop = string_of(obj, tags::SOP_INSTANCE_UID).unwrap_or_default();
    let uid = ctx.uid(&format!("{what}-of:{sop}"));
    obj.put(DataElement::new(
        tag,
        VR::UI,
        PrimitiveValue::from(uid.clone()),
    ));
    uid
}

/// Sequences nested deeper than this are dropped rather than walked (a
/// hostile file cannot make the walk unbounded).
const MAX_DEPTH: usize = 16;

fn clean_dataset(ds: &mut InMemDicomObject, ctx: &Ctx<'_>, depth: usize) {
    let all: Vec<Tag> = ds.tags().collect();
    for tag in all {
        let Some(elem) = ds.get(tag) else { continue };
        let vr = elem.vr();
        let is_seq = matches!(elem.value(), Value::Sequence(_));
        match rule_for(tag, vr, ctx.cfg) {
            Action::Remove => {
                ds.remove_element(tag);
            }
            Action::Empty => {
                ds.put(DataElement::new(tag, vr, PrimitiveValue::Empty));
            }
            Action::Pseudonym => {
                ds.put(DataElement::new(
                    tag,
                    vr,
                    PrimitiveValue::from(ctx.pseudonym),
                ));
            }
            Action::Uid => {
                let values: Vec<String> = match elem.value() {
                    Value::Primitive(p) => p.to_multi_str().iter().map(|s| trim(s)).collect(),
                    _ => Vec::new(),
                };
                let replaced: Vec<String> = values
                    .iter()
                    .filter(|s| !s.is_empty())
                    .map(|s| ctx.uid(s))
                    .collect();
                ds.put(DataElement::new(
                    tag,
                    VR::UI,
                    PrimitiveValue::Strs(replaced.into_iter().collect()),
                ));
            }
            Action::Keep if is_seq => {
                if depth >= MAX_DEPTH {
                    ds.remove_element(tag);
                    continue;
                }
                ds.update_value(tag, |v| {
                    if let Some(items) = v.items_mut() {
                        for item in items.iter_mut() {
                            clean_dataset(item, ctx, depth + 1);
                        }
                    }
                });
            }
            Action::Keep => {
                if vr == VR::UI && !is_well_known_uid(elem) {
                    // Handled like the table's U action.
                    let values: Vec<String> = elem
                        .value()
                        .to_multi_str()
                        .map(|v| v.iter().map(|s| trim(s)).collect())
                        .unwrap_or_default();
                    let replaced: Vec<String> = values
                        .iter()
                        .filter(|s| !s.is_empty())
                        .map(|s| ctx.uid(s))
                        .collect();
                    ds.put(DataElement::new(
                        tag,
                        VR::UI,
                        PrimitiveValue::Strs(replaced.into_iter().collect()),
                    ));
                }
            }
        }
    }
}

fn rule_for(tag: Tag, vr: VR, cfg: &DeidConfig) -> Action {
    let group = tag.group();
    // Private attributes (odd groups), overlays (60xx) and curves (50xx) can
    // hold anything, including burned-in text as overlay bits.
    if group % 2 == 1 || (0x5000..=0x50FF).contains(&group) || (0x6000..=0x60FF).contains(&group) {
        return Action::Remove;
    }
    if group == 0x0002 {
        return Action::Keep;
    }
    // Group lengths (retired) would be wrong after the edits below.
    if tag.element() == 0x0000 {
        return Action::Remove;
    }
    if cfg.retain_patient_characteristics && PATIENT_CHARACTERISTICS.contains(&tag) {
        return Action::Keep;
    }
    if let Some(a) = action_for(tag) {
        return a;
    }
    // Safety net for attributes the table does not list.
    match vr {
        VR::PN | VR::DA | VR::DT | VR::TM => Action::Empty,
        // Free text, and values of unknown meaning (UN: a tag missing from the
        // dictionary of an implicit-VR file), may hold anything.
        VR::LT | VR::ST | VR::UT | VR::UN => Action::Remove,
        _ => Action::Keep,
    }
}

/// UIDs defined by the standard (SOP classes, transfer syntaxes, coding
/// schemes) identify no one and must be kept for the file to stay valid.
fn is_well_known_uid(elem: &dicom_object::mem::InMemElement) -> bool {
    elem.value()
        .to_multi_str()
        .map(|v| v.iter().all(|s| trim(s).starts_with("1.2.840.10008.")))
        .unwrap_or(false)
}
