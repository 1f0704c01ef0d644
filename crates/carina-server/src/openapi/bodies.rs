//! Bodies of the document that no handler type describes: the error
//! response, a file's bytes, and the multipart upload forms.

use crate::error::ErrorBody;
use utoipa::openapi::{KnownFormat, ObjectBuilder, RefOr, Schema, SchemaFormat, Type};
use utoipa::{PartialSchema, ToResponse, ToSchema};

/// The response of every error status.
#[derive(ToResponse)]
#[response(description = "Error")]
pub struct ApiError(#[allow(dead_code)] ErrorBody);

/// A file's bytes (DICOM, PNG, PDF), as the content type says.
pub struct Binary;

impl PartialSchema for Binary {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
            .into()
    }
}

impl ToSchema for Binary {}

/// A multipart form whose `file` parts are the files (DICOM, PNG, JPEG).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct FileUpload {
    #[schema(value_type = Vec<Binary>)]
    file: Vec<Vec<u8>>,
}

/// A model folder as a multipart form: parts matched by file name
/// (`model.safetensors`, `model.json`, `MODEL_CARD.md`) or by these part names.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ModelUpload {
    /// `model.safetensors`
    #[schema(value_type = Binary)]
    weights: Vec<u8>,
    /// `model.json`
    #[schema(value_type = Binary)]
    model_json: Vec<u8>,
    /// `MODEL_CARD.md`
    #[schema(value_type = Option<Binary>)]
    card: Option<Vec<u8>>,
    /// Overrides model.json's name
    name: Option<String>,
    /// Overrides model.json's version
    version: Option<String>,
}
