//! The detector crate's error type.

use std::path::PathBuf;

/// Why a model could not be built, loaded or run.
#[derive(Debug, thiserror::Error)]
pub enum DetectError {
    #[error("invalid model configuration: {0}")]
    Config(String),
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a readable weights file: {reason}")]
    WeightsFormat { path: PathBuf, reason: String },
    #[error(
        "weights are for architecture {found:?} but {expected:?} was asked for; \
         pass the matching --arch or use weights of that architecture"
    )]
    ArchMismatch { expected: String, found: String },
    #[error("weights have {found} classes but {expected} were expected")]
    ClassCountMismatch { expected: usize, found: usize },
    #[error("the weights do not fit a {arch} model: {count} tensor(s) missing, e.g. {examples}")]
    MissingTensors {
        arch: String,
        count: usize,
        examples: String,
    },
    #[error("the weights do not fit a {arch} model: {count} unexpected tensor(s), e.g. {examples}")]
    UnexpectedTensors {
        arch: String,
        count: usize,
        examples: String,
    },
    #[error("tensor {name} has shape {found:?}, the {arch} model needs {expected:?}")]
    ShapeMismatch {
        arch: String,
        name: String,
        expected: Vec<usize>,
        found: Vec<usize>,
    },
    #[error("inference engine: {0}")]
    Engine(String),
    #[error("invalid input image: {0}")]
    Input(String),
}

impl DetectError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn format(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        Self::WeightsFormat {
            path: path.into(),
            reason: reason.into(),
        }
    }
}
