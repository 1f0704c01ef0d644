//! The attribute actions of DICOM PS3.15 Annex E, Table E.1-1, Basic
//! Application Level Confidentiality Profile, for the attributes that occur
//! in projection radiographs and their requests. Attributes not listed here
//! are handled by the VR-based rules in `super::Rule::for_unlisted`.

use dicom_core::Tag;
use dicom_dictionary_std::tags as t;

/// What to do with an attribute (the profile's action codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Action {
    /// X: remove.
    Remove,
    /// Z: keep the attribute with an empty value (type 2 attributes).
    Empty,
    /// U: replace with a keyed-hash UID (consistent within and across files).
    Uid,
    /// D for Patient Name / Patient ID: the patient pseudonym.
    Pseudonym,
    /// K: keep (patient characteristics when the caller asks to retain them).
    Keep,
}

// Retired in the standard but still written by older modalities.
const ETHNIC_GROUP: Tag = Tag(0x0010, 0x2160);
const MEDICAL_RECORD_LOCATOR: Tag = Tag(0x0010, 0x1090);
const OTHER_PATIENT_IDS: Tag = Tag(0x0010, 0x1000);
const REASON_FOR_THE_IMAGING_SERVICE_REQUEST: Tag = Tag(0x0040, 0x2001);

/// Patient characteristics that the basic profile removes but the "Retain
/// Patient Characteristics" option (PS3.15 E.3.6) keeps.
pub(super) const PATIENT_CHARACTERISTICS: &[Tag] = &[
    t::PATIENT_SEX,
    Tag(0x0010, 0x2203), // Patient's Sex Neutered
    t::PATIENT_AGE,
    t::PATIENT_SIZE,
    t::PATIENT_WEIGHT,
    ETHNIC_GROUP,
    t::SMOKING_STATUS,
    t::PREGNANCY_STATUS,
];

pub(super) const TABLE: &[(Tag, Action)] = &[
    // Patient identification and demographics
    (t::PATIENT_NAME, Action::Pseudonym),
    (t::PATIENT_ID, Action::Pseudonym),
    (t::ISSUER_OF_PATIENT_ID, Action::Remove),
    (t::ISSUER_OF_PATIENT_ID_QUALIFIERS_SEQUENCE, Action::Remove),
    (t::PATIENT_BIRTH_DATE, Action::Empty),
    (t::PATIENT_BIRTH_TIME, Action::Remove),
    (t::PATIENT_SEX, Action::Empty),
    (t::PATIENT_AGE, Action::Remove),
    (t::PATIENT_SIZE, Action::Remove),
    (t::PATIENT_WEIGHT, Action::Remove),
    (t::OTHER_PATIENT_I_DS_SEQUENCE, Action::Remove),
    (t::OTHER_PATIENT_NAMES, Action::Remove),
    (OTHER_PATIENT_IDS, Action::Remove),
    (Tag(0x0010, 0x2203), Action::Remove), // Patient's Sex Neutered
    (t::PATIENT_BIRTH_NAME, Action::Remove),
    (t::PATIENT_MOTHER_BIRTH_NAME, Action::Remove),
    (t::PATIENT_ADDRESS, Action::Remove),
    (t::PATIENT_TELEPHONE_NUMBERS, Action::Remove),
    (t::PATIENT_TELECOM_INFORMATION, Action::Remove),
    (t::MILITARY_RANK, Action::Remove),
    (t::BRANCH_OF_SERVICE, Action::Remove),
    (MEDICAL_RECORD_LOCATOR, Action::Remove),
    (ETHNIC_GROUP, Action::Remove),
    (t::OCCUPATION, Action::Remove),
    (t::SMOKING_STATUS, Action::Remove),
    (t::PREGNANCY_STATUS, Action::Remove),
    (t::ADDITIONAL_PATIENT_HISTORY, Action::Remove),
    (t::PATIENT_COMMENTS, Action::Remove),
    (t::PATIENT_RELIGIOUS_PREFERENCE, Action::Remove),
    (t::PATIENT_INSURANCE_PLAN_CODE_SEQUENCE, Action::Remove),
    (t::PATIENT_PRIMARY_LANGUAGE_CODE_SEQUENCE, Action::Remove),
    (t::COUNTRY_OF_RESIDENCE, Action::Remove),
    (t::REGION_OF_RESIDENCE, Action::Remove),
    (t::MEDICAL_ALERTS, Action::Remove),
    (t::ALLERGIES, Action::Remove),
    (t::RESPONSIBLE_PERSON, Action::Remove),
    (t::RESPONSIBLE_ORGANIZATION, Action::Remove),
    (t::PATIENT_STATE, Action::Remove),
    (t::PATIENT_TRANSPORT_ARRANGEMENTS, Action::Remove),
    (t::REFERENCED_PATIENT_SEQUENCE, Action::Remove),
    (t::REFERENCED_PATIENT_PHOTO_SEQUENCE, Action::Remove),
    // Study, visit and request
    (t::ACCESSION_NUMBER, Action::Empty),
    (t::ISSUER_OF_ACCESSION_NUMBER_SEQUENCE, Action::Remove),
    (t::STUDY_ID, Action::Empty),
    (t::STUDY_DATE, Action::Empty),
    (t::STUDY_TIME, Action::Empty),
    (t::SERIES_DATE, Action::Remove),
    (t::SERIES_TIME, Action::Remove),
    (t::ACQUISITION_DATE, Action::Remove),
    (t::ACQUISITION_TIME, Action::Remove),
    (t::ACQUISITION_DATE_TIME, Action::Remove),
    (t::CONTENT_DATE, Action::Empty),
    (t::CONTENT_TIME, Action::Empty),
    (t::INSTANCE_CREATION_DATE, Action::Remove),
    (t::INSTANCE_CREATION_TIME, Action::Remove),
    (t::TIMEZONE_OFFSET_FROM_UTC, Action::Remove),
    (t::STUDY_DESCRIPTION, Action::Remove),
    (t::SERIES_DESCRIPTION, Action::Remove),
    (t::PROTOCOL_NAME, Action::Remove),
    (t::IMAGE_COMMENTS, Action::Remove),
    (t::DERIVATION_DESCRIPTION, Action::Remove),
    (t::ADMITTING_DIAGNOSES_DESCRIPTION, Action::Remove),
    (t::ADMITTING_DIAGNOSES_CODE_SEQUENCE, Action::Remove),
    (t::ADMISSION_ID, Action::Remove),
    (t::REASON_FOR_THE_REQUESTED_PROCEDURE, Action::Remove),
    (t::REQUESTED_PROCEDURE_DESCRIPTION, Action::Remove),
    (t::REQUESTED_PROCEDURE_ID, Action::Remove),
    (t::REQUEST_ATTRIBUTES_SEQUENCE, Action::Remove),
    (REASON_FOR_THE_IMAGING_SERVICE_REQUEST, Action::Remove),
    (Tag(0x0032, 0x4000), Action::Remove), // Study Comments
    (Tag(0x0038, 0x0300), Action::Remove), // Current Patient Location
    (Tag(0x0038, 0x0400), Action::Remove), // Patient's Institution Residence
    (Tag(0x0040, 0x0241), Action::Remove), // Performed Station AE Title
    (Tag(0x0040, 0x0242), Action::Remove), // Performed Station Name
    (Tag(0x0040, 0x0243), Action::Remove), // Performed Location
    (Tag(0x0040, 0x0555), Action::Remove), // Acquisition Context Sequence
    (Tag(0x0040, 0x2016), Action::Remove), // Placer Order Number / Imaging Service Request
    (Tag(0x0040, 0x2017), Action::Remove), // Filler Order Number / Imaging Service Request
    (Tag(0x0400, 0x0100), Action::Remove), // Digital Signature UID
    (t::SCHEDULED_PROCEDURE_STEP_ID, Action::Remove),
    (t::PERFORMED_PROCEDURE_STEP_ID, Action::Remove),
    (t::PERFORMED_PROCEDURE_STEP_DESCRIPTION, Action::Remove),
    (t::PERFORMED_PROCEDURE_STEP_START_DATE, Action::Remove),
    (t::PERFORMED_PROCEDURE_STEP_START_TIME, Action::Remove),
    (t::REFERENCED_STUDY_SEQUENCE, Action::Remove),
    (
        t::REFERENCED_PERFORMED_PROCEDURE_STEP_SEQUENCE,
        Action::Remove,
    ),
    (t::SOURCE_IMAGE_SEQUENCE, Action::Remove),
    (t::REFERENCED_IMAGE_SEQUENCE, Action::Remove),
    // People and places
    (t::INSTITUTION_NAME, Action::Remove),
    (t::INSTITUTION_ADDRESS, Action::Remove),
    (t::INSTITUTION_CODE_SEQUENCE, Action::Remove),
    (t::INSTITUTIONAL_DEPARTMENT_NAME, Action::Remove),
    (t::REFERRING_PHYSICIAN_NAME, Action::Empty),
    (t::REFERRING_PHYSICIAN_ADDRESS, Action::Remove),
    (t::REFERRING_PHYSICIAN_TELEPHONE_NUMBERS, Action::Remove),
    (
        t::REFERRING_PHYSICIAN_IDENTIFICATION_SEQUENCE,
        Action::Remove,
    ),
    (t::PHYSICIANS_OF_RECORD, Action::Remove),
    (
        t::PHYSICIANS_OF_RECORD_IDENTIFICATION_SEQUENCE,
        Action::Remove,
    ),
    (t::PERFORMING_PHYSICIAN_NAME, Action::Remove),
    (
        t::PERFORMING_PHYSICIAN_IDENTIFICATION_SEQUENCE,
        Action::Remove,
    ),
    (t::NAME_OF_PHYSICIANS_READING_STUDY, Action::Remove),
    (
        t::PHYSICIANS_READING_STUDY_IDENTIFICATION_SEQUENCE,
        Action::Remove,
    ),
    (t::OPERATORS_NAME, Action::Remove),
    (t::OPERATOR_IDENTIFICATION_SEQUENCE, Action::Remove),
    (t::REQUESTING_PHYSICIAN, Action::Remove),
    (t::REQUESTING_SERVICE, Action::Remove),
    (t::STATION_NAME, Action::Remove),
    (t::DEVICE_SERIAL_NUMBER, Action::Remove),
    (t::DETECTOR_ID, Action::Remove),
    (t::PLATE_ID, Action::Remove),
    (t::CASSETTE_ID, Action::Remove),
    (t::GANTRY_ID, Action::Remove),
    (t::CONTENT_CREATOR_NAME, Action::Empty),
    (t::VERIFYING_OBSERVER_NAME, Action::Remove),
    (t::PERSON_NAME, Action::Remove),
    // Identifiers
    (t::STUDY_INSTANCE_UID, Action::Uid),
    (t::SERIES_INSTANCE_UID, Action::Uid),
    (t::SOP_INSTANCE_UID, Action::Uid),
    (t::FRAME_OF_REFERENCE_UID, Action::Uid),
    (t::SYNCHRONIZATION_FRAME_OF_REFERENCE_UID, Action::Uid),
    (t::REFERENCED_SOP_INSTANCE_UID, Action::Uid),
    (t::INSTANCE_CREATOR_UID, Action::Uid),
    (t::STORAGE_MEDIA_FILE_SET_UID, Action::Uid),
    (t::IRRADIATION_EVENT_UID, Action::Uid),
    (t::DIGITAL_SIGNATURES_SEQUENCE, Action::Remove),
    (t::ORIGINAL_ATTRIBUTES_SEQUENCE, Action::Remove),
];

pub(super) fn action_for(tag: Tag) -> Option<Action> {
    TABLE.iter().find(|(t, _)| *t == tag).map(|(_, a)| *a)
}
