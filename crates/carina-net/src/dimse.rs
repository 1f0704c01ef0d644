//! DIMSE command sets (PS3.7): always Implicit VR Little Endian, whatever
//! the presentation context's transfer syntax.

use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use dicom_transfer_syntax_registry::entries::IMPLICIT_VR_LITTLE_ENDIAN;

/// C-STORE-RQ.
pub const C_STORE_RQ: u16 = 0x0001;
/// C-STORE-RSP.
pub const C_STORE_RSP: u16 = 0x8001;
/// C-ECHO-RQ.
pub const C_ECHO_RQ: u16 = 0x0030;
/// C-ECHO-RSP.
pub const C_ECHO_RSP: u16 = 0x8030;
/// Command Data Set Type: no data set follows.
pub const NO_DATA_SET: u16 = 0x0101;

/// Success.
pub const STATUS_SUCCESS: u16 = 0x0000;
/// Refused: out of resources (C-STORE).
pub const STATUS_OUT_OF_RESOURCES: u16 = 0xA700;
/// Error: cannot understand (C-STORE).
pub const STATUS_CANNOT_UNDERSTAND: u16 = 0xC000;
/// Refused: SOP class not supported.
pub const STATUS_SOP_CLASS_NOT_SUPPORTED: u16 = 0x0122;
/// Unrecognized operation.
pub const STATUS_UNRECOGNIZED_OPERATION: u16 = 0x0211;

/// Error Comment (0000,0902): LO, at most 64 characters.
const ERROR_COMMENT: Tag = Tag(0x0000, 0x0902);

/// The fields of a command set Carina reads or writes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Command {
    pub field: u16,
    pub message_id: u16,
    pub responded_to: Option<u16>,
    pub sop_class_uid: String,
    pub sop_instance_uid: String,
    pub data_set_present: bool,
    pub status: Option<u16>,
    pub error_comment: Option<String>,
}

/// Why a command set could not be read.
#[derive(Debug, thiserror::Error)]
#[error("malformed DIMSE command: {0}")]
pub struct CommandError(String);

impl Command {
    /// Reads a command set (Implicit VR Little Endian).
    pub fn parse(bytes: &[u8]) -> Result<Self, CommandError> {
        let ts = IMPLICIT_VR_LITTLE_ENDIAN.erased();
        let obj = InMemDicomObject::read_dataset_with_ts(bytes, &ts)
            .map_err(|e| CommandError(e.to_string()))?;
        let u16_of = |tag: Tag| obj.element(tag).ok().and_then(|e| e.to_int::<u16>().ok());
        let str_of = |tag: Tag| {
            obj.element(tag)
                .ok()
                .and_then(|e| e.to_str().ok())
                .map(|s| crate::trim_uid(&s).trim().to_string())
        };
        let field = u16_of(tags::COMMAND_FIELD)
            .ok_or_else(|| CommandError("no Command Field (0000,0100)".into()))?;
        Ok(Command {
            field,
            message_id: u16_of(tags::MESSAGE_ID).unwrap_or(0),
            responded_to: u16_of(tags::MESSAGE_ID_BEING_RESPONDED_TO),
            sop_class_uid: str_of(tags::AFFECTED_SOP_CLASS_UID).unwrap_or_default(),
            sop_instance_uid: str_of(tags::AFFECTED_SOP_INSTANCE_UID).unwrap_or_default(),
            data_set_present: u16_of(tags::COMMAND_DATA_SET_TYPE).is_some_and(|t| t != NO_DATA_SET),
            status: u16_of(tags::STATUS),
            error_comment: str_of(ERROR_COMMENT).filter(|s| !s.is_empty()),
        })
    }

    /// Writes the command set (Implicit VR Little Endian; the group length is computed).
    pub fn encode(&self) -> Vec<u8> {
        let mut elems = Vec::new();
        let us = |tag, v: u16| DataElement::new(tag, VR::US, PrimitiveValue::from(v));
        if !self.sop_class_uid.is_empty() {
            elems.push(DataElement::new(
                tags::AFFECTED_SOP_CLASS_UID,
                VR::UI,
                PrimitiveValue::from(self.sop_class_uid.as_str()),
            ));
        }
        elems.push(us(tags::COMMAND_FIELD, self.field));
        match self.responded_to {
            Some(id) => elems.push(us(tags::MESSAGE_ID_BEING_RESPONDED_TO, id)),
            None => {
                elems.push(us(tags::MESSAGE_ID, self.message_id));
                if self.field == C_STORE_RQ {
                    elems.push(us(tags::PRIORITY, 0));
                }
            }
        }
        let set_type = if self.data_set_present {
            0x0000
        } else {
            NO_DATA_SET
        };
        elems.push(us(tags::COMMAND_DATA_SET_TYPE, set_type));
        if let Some(status) = self.status {
            elems.push(us(tags::STATUS, status));
        }
        if !self.sop_instance_uid.is_empty() {
            elems.push(DataElement::new(
                tags::AFFECTED_SOP_INSTANCE_UID,
                VR::UI,
                PrimitiveValue::from(self.sop_instance_uid.as_str()),
            ));
        }
        if let Some(comment) = &self.error_comment {
            let short: String = comment
                .chars()
                .filter(|c| c.is_ascii() && !c.is_ascii_control() && *c != '\\')
                .take(64)
                .collect();
            elems.push(DataElement::new(
                ERROR_COMMENT,
                VR::LO,
                PrimitiveValue::from(short),
            ));
        }
        let obj = InMemDicomObject::command_from_element_iter(elems);
        let mut out = Vec::new();
        obj.write_dataset_with_ts(&mut out, &IMPLICIT_VR_LITTLE_ENDIAN.erased())
            .expect("writing a command set to memory cannot fail");
        out
    }

    /// The response to this request with `status`.
    pub fn response(&self, field: u16, status: u16, comment: Option<String>) -> Command {
        Command {
            field,
            message_id: 0,
            responded_to: Some(self.message_id),
            sop_class_uid: self.sop_class_uid.clone(),
            sop_instance_uid: self.sop_instance_uid.clone(),
            data_set_present: false,
            status: Some(status),
            error_comment: comment,
        }
    }
}

/// Whether a C-STORE status means stored (success or a warning).
pub fn is_stored(status: u16) -> bool {
    status == STATUS_SUCCESS || status == 0x0001 || (status & 0xF000) == 0xB000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_comment_is_cut_to_64_characters() {
        let rq = Command {
            field: C_STORE_RQ,
            message_id: 7,
            sop_class_uid: "1.2.840.10008.5.1.4.1.1.7".into(),
            sop_instance_uid: "1.2.3.4".into(),
            data_set_present: true,
            ..Command::default()
        };
        let back = Command::parse(&rq.encode()).unwrap();
        assert_eq!(back, rq);
        let rsp = rq.response(C_STORE_RSP, STATUS_CANNOT_UNDERSTAND, Some("x".repeat(100)));
        let back = Command::parse(&rsp.encode()).unwrap();
        assert_eq!(back.responded_to, Some(7));
        assert_eq!(back.status, Some(STATUS_CANNOT_UNDERSTAND));
        assert_eq!(back.error_comment.unwrap().len(), 64);
        assert!(!back.data_set_present);
        assert!(Command::parse(b"\x00\x00\x00").is_err());
        assert!(is_stored(0xB007) && is_stored(0) && !is_stored(0xA700));
    }
}
