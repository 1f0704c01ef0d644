//! De-identification of DICOM files with the Basic Application Level
//! Confidentiality Profile of DICOM PS3.15 Annex E, applied from the
//! standard's own Table E.1-1 (all 621 rows, generated into `ps315.tsv` by
//! `examples/gen_deid_table.rs`), then an allow-list; keyed-hash pseudonyms;
//! the pixel data kept byte for byte.
//!
//! # What happens to an attribute
//!
//! Every attribute, at every level of every sequence that is kept, goes
//! through two steps:
//!
//! 1. **The profile** (PS3.15 E.3.1). Its row of Table E.1-1 (an exact tag,
//!    a masked row such as `(50xx,xxxx)` or `(60xx,4000)`, or the private
//!    attributes row) gives the action: X removes; Z keeps it with a
//!    zero-length value; D replaces it with a dummy value of its VR; U
//!    replaces every UID in it by its keyed hash (HMAC-SHA256 under the
//!    server's secret, `2.25.…`), so the instances of one study keep one
//!    study UID; C (clean) is not attempted: it removes or dummies. The
//!    combined codes (Z/D, X/Z, X/D, X/Z/D, X/Z/U*) resolve by the
//!    attribute's type in the CR, DX and Secondary Capture image IODs that
//!    Carina reads and writes (type 1: dummy; type 2: zero-length; otherwise
//!    removed). Attributes the table does not list are kept for step 2,
//!    except that a UID that is not one of the standard's own
//!    (`1.2.840.10008.…`) is replaced by its keyed hash. Group lengths are
//!    removed. Private attributes are removed (the table's private row).
//! 2. **The allow-list** (`allow.rs`): whatever survived step 1 is removed
//!    unless it is needed to display and measure a radiograph, required by
//!    the CR/DX/SC IODs, a de-identification marker, or kept by a retain
//!    option the caller enabled (the option's K attributes). Sequences are
//!    only kept where their items are understood (Modality LUT, VOI LUT,
//!    De-identification Method Code); so the Icon Image Sequence, overlays
//!    (60xx), curves (50xx), Content Sequence, Request Attributes and every
//!    other sequence go, with whatever they nest.
//!
//! Patient Name and Patient ID then carry the patient pseudonym; Patient
//! Identity Removed = YES, De-identification Method and its Code Sequence
//! (DCM 113100 Basic Application Confidentiality Profile; 113108 when
//! patient characteristics are retained) are written.
//!
//! # Retain options
//!
//! - Retain Patient Characteristics (PS3.15 E.3.6): [`DeidConfig::retain_patient_characteristics`]
//!   keeps the table's K attributes for that option (sex, age, size,
//!   weight, ethnic group, smoking and pregnancy status, sex neutered,
//!   Selector AS Value); its C attributes (allergies, pre-medication,
//!   special needs, patient state) are still removed.
//! - No other option is offered: longitudinal dates (full or modified),
//!   UIDs, device and institution identity, descriptors, structured content,
//!   graphics and safe private attributes are removed or replaced as the
//!   basic profile says.
//!
//! Text burned into the pixels is not removed; [`DeidResult::burned_in_annotation`]
//! reports what the file says about it (see [`BurnedIn`]).

mod allow;
mod burned;
#[doc(hidden)]
pub mod fixture;
mod profile;
mod ps315;
mod rules;

use std::fmt;

use dicom_core::value::{DataSetSequence, PrimitiveValue, Value};
use dicom_core::{DataElement, Length, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;

use crate::ImagingError;
use crate::decode::read_object_with;
use crate::uid::{hex, keyed_hash, uid_from_hash};
use allow::{DEID_METHOD_CODE_SEQUENCE, Parent};
use profile::{Action, Opt};

pub use allow::allowed_top_level;
pub use burned::{BurnedIn, burned_in_annotation};

/// What the de-identifier needs from its caller.
#[derive(Clone)]
pub struct DeidConfig {
    /// Key of the keyed hashes (HMAC-SHA256) behind the patient pseudonym and
    /// the replacement UIDs. Keep it secret and stable: the same key maps the
    /// same patient and the same UIDs to the same pseudonyms on every upload;
    /// without it the originals cannot be recovered or confirmed by guessing.
    pub secret: Vec<u8>,
    /// Keep sex, age, size, weight, … (PS3.15 E.3.6 "Retain Patient
    /// Characteristics"); the basic profile removes them. Default false.
    pub retain_patient_characteristics: bool,
    /// The structural limits the file is read under (nesting depth, inflated
    /// size): the caller's, so that a file its decode accepted is not refused
    /// here by a stricter default. Default [`crate::Limits::default`].
    pub limits: crate::Limits,
}

impl DeidConfig {
    pub fn new(secret: impl Into<Vec<u8>>) -> Self {
        Self {
            secret: secret.into(),
            retain_patient_characteristics: false,
            limits: crate::Limits::default(),
        }
    }

    /// The same configuration reading files under `limits`.
    pub fn with_limits(mut self, limits: crate::Limits) -> Self {
        self.limits = limits;
        self
    }

    fn options(&self) -> Vec<Opt> {
        let mut out = Vec::new();
        if self.retain_patient_characteristics {
            out.push(Opt::RetainPatientCharacteristics);
        }
        out
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
    /// What the original file says about text burned into its pixels.
    pub burned_in_annotation: BurnedIn,
}

/// The profile's name, written into DeidentificationMethod (0012,0063).
pub const DEID_METHOD: &str = "Carina: DICOM PS3.15 E.1.1 Basic Profile";

/// Remove or replace the patient's and staff's identity in a DICOM file
/// (see the module documentation for the rules).
///
/// The 128-byte preamble is written as zeros (a TIFF/DICOM dual-personality
/// preamble can carry its own tags). The pixel data is not touched
/// (compressed stays compressed).
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
    let mut obj = read_object_with(bytes, &cfg.limits)?;
    let burned_in = burned_in_annotation(&obj);
    let patient_pseudonym = patient_pseudonym(&obj, &cfg.secret);
    let ctx = Ctx {
        cfg,
        options: cfg.options(),
    };
    clean_dataset(&mut obj, &ctx, Parent::Top, 0);

    let sop_uid = obj
        .get(tags::SOP_INSTANCE_UID)
        .and_then(|e| e.to_str().ok().map(|s| trim(s.as_ref())))
        .filter(|s| !s.is_empty())
        .map(|s| single_valued(s, &ctx))
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
    obj.put(method_codes(cfg));
    let study_uid = ensure_uid(&mut obj, tags::STUDY_INSTANCE_UID, &ctx, "study");
    let series_uid = ensure_uid(&mut obj, tags::SERIES_INSTANCE_UID, &ctx, "series");
    // Latin-1 or UTF-8 text may have been removed, the rest is ASCII; keep the
    // declared character set so remaining text decodes as before.
    // The file meta group is re-read strictly: its UIDs must be UIDs (found
    // by fuzzing: a SOP Class UID with non-digit bytes made an unreadable
    // served file).
    let class_uid = obj.meta().media_storage_sop_class_uid.clone();
    if !is_uid(&class_uid) {
        return Err(ImagingError::MalformedDicom(
            "the Media Storage SOP Class UID is not a valid UID".into(),
        ));
    }
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
        burned_in_annotation: burned_in,
    })
}

/// De-identification Method Code Sequence: the profile and the options used (CID 7050).
fn method_codes(cfg: &DeidConfig) -> DataElement<InMemDicomObject> {
    let mut codes = vec![("113100", "Basic Application Confidentiality Profile")];
    if cfg.retain_patient_characteristics {
        codes.push(("113108", "Retain Patient Characteristics Option"));
    }
    let items: Vec<InMemDicomObject> = codes
        .into_iter()
        .map(|(value, meaning)| {
            InMemDicomObject::from_element_iter([
                DataElement::new(tags::CODE_VALUE, VR::SH, PrimitiveValue::from(value)),
                DataElement::new(
                    tags::CODING_SCHEME_DESIGNATOR,
                    VR::SH,
                    PrimitiveValue::from("DCM"),
                ),
                DataElement::new(tags::CODE_MEANING, VR::LO, PrimitiveValue::from(meaning)),
            ])
        })
        .collect();
    DataElement::new(
        DEID_METHOD_CODE_SEQUENCE,
        VR::SQ,
        DataSetSequence::new(items, Length::UNDEFINED),
    )
}

struct Ctx<'a> {
    cfg: &'a DeidConfig,
    options: Vec<Opt>,
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

/// Instance, series and study UIDs have VM 1, and the file meta group's
/// copy must be one UID for the file to be read again (found by fuzzing: a
/// `\`-separated SOP Instance UID made an unreadable served file). Several
/// values become one keyed-hash UID of them all.
/// At most 64 characters of digits and dots (PS3.5 9.1), once the padding
/// is trimmed.
fn is_uid(uid: &str) -> bool {
    let uid = uid.trim_end_matches(['\0', ' ']);
    !uid.is_empty() && uid.len() <= 64 && uid.bytes().all(|b| b.is_ascii_digit() || b == b'.')
}

fn single_valued(uid: String, ctx: &Ctx<'_>) -> String {
    if uid.contains('\\') {
        ctx.uid(&uid)
    } else {
        uid
    }
}

fn ensure_uid(obj: &mut InMemDicomObject, tag: Tag, ctx: &Ctx<'_>, what: &str) -> String {
    if let Some(s) = string_of(obj, tag) {
        let one = single_valued(s.clone(), ctx);
        if one != s {
            obj.put(DataElement::new(
                tag,
                VR::UI,
                PrimitiveValue::from(one.clone()),
            ));
        }
        return one;
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

/// The action for one attribute: the profile's, then the allow-list's.
fn action(tag: Tag, vr: VR, parent: Parent, ctx: &Ctx<'_>, well_known_uid: bool) -> Action {
    // Group lengths (retired) would be wrong after the edits; file meta
    // elements do not belong in a data set.
    if tag.element() == 0x0000 || tag.group() == 0x0002 {
        return Action::Remove;
    }
    let iod = allow::iod_type(tag, parent);
    let by_profile = match profile::row_for(tag) {
        Some(row) => profile::resolve(row, iod, &ctx.options),
        None if vr == VR::UI && !well_known_uid => Action::Uid,
        None => Action::Keep,
    };
    // The K set of the enabled options is kept as the profile says;
    // everything else must also be on the allow-list.
    let kept_by_option = profile::row_for(tag).is_some_and(|row| {
        ctx.options
            .iter()
            .any(|o| row.option(*o) == Some(profile::OptCode::K))
    });
    if by_profile == Action::Remove || kept_by_option || allow::allowed(tag, parent) {
        by_profile
    } else {
        Action::Remove
    }
}

fn clean_dataset(ds: &mut InMemDicomObject, ctx: &Ctx<'_>, parent: Parent, depth: usize) {
    let all: Vec<Tag> = ds.tags().collect();
    for tag in all {
        let Some(elem) = ds.get(tag) else { continue };
        let vr = elem.vr();
        let is_seq = matches!(elem.value(), Value::Sequence(_));
        let values: Vec<String> = match elem.value() {
            Value::Primitive(p) if vr == VR::UI => {
                p.to_multi_str().iter().map(|s| trim(s)).collect()
            }
            _ => Vec::new(),
        };
        let well_known = !values.is_empty() && values.iter().all(|s| is_well_known_uid(s));
        match action(tag, vr, parent, ctx, well_known) {
            Action::Remove => {
                ds.remove_element(tag);
            }
            Action::Empty if is_seq => {
                ds.put(DataElement::new(
                    tag,
                    VR::SQ,
                    DataSetSequence::new(Vec::<InMemDicomObject>::new(), Length::UNDEFINED),
                ));
            }
            Action::Empty => {
                ds.put(DataElement::new(tag, vr, PrimitiveValue::Empty));
            }
            Action::Dummy => {
                let value = dummy(tag, vr, &values, ctx);
                if is_seq {
                    // A dummy item would need dummy contents of its own: an
                    // empty sequence identifies no one.
                    ds.put(DataElement::new(
                        tag,
                        VR::SQ,
                        DataSetSequence::new(Vec::<InMemDicomObject>::new(), Length::UNDEFINED),
                    ));
                } else {
                    ds.put(DataElement::new(tag, vr, value));
                }
            }
            Action::Uid => {
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
                            clean_dataset(item, ctx, Parent::Item(tag), depth + 1);
                        }
                    }
                });
            }
            Action::Keep => {}
        }
    }
}

/// A non-empty value of the VR that identifies no one (PS3.15 "D").
fn dummy(tag: Tag, vr: VR, uids: &[String], ctx: &Ctx<'_>) -> PrimitiveValue {
    let text = |s: &str| PrimitiveValue::from(s);
    match vr {
        VR::DA => text("19000101"),
        VR::TM => text("000000"),
        VR::DT => text("19000101000000"),
        VR::AS => text("000D"),
        VR::DS | VR::IS => text("0"),
        VR::PN => text("ANONYMOUS"),
        VR::UI => {
            // Consistent like U, so references between files still match.
            let seed = uids.first().cloned().unwrap_or_else(|| format!("{tag}"));
            text(&ctx.uid(&seed))
        }
        VR::UR => text("urn:carina:removed"),
        VR::AE | VR::CS | VR::SH | VR::LO | VR::LT | VR::ST | VR::UT | VR::UC => text("REMOVED"),
        VR::US => PrimitiveValue::from(0_u16),
        VR::SS => PrimitiveValue::from(0_i16),
        VR::UL => PrimitiveValue::from(0_u32),
        VR::SL => PrimitiveValue::from(0_i32),
        VR::FL => PrimitiveValue::from(0_f32),
        VR::FD => PrimitiveValue::from(0_f64),
        // OB, OW, UN and the other binary VRs: one zero word.
        _ => PrimitiveValue::U8(vec![0, 0].into()),
    }
}

/// UIDs defined by the standard (SOP classes, transfer syntaxes, coding
/// schemes) identify no one and must be kept for the file to stay valid.
fn is_well_known_uid(s: &str) -> bool {
    trim(s).starts_with("1.2.840.10008.")
}
