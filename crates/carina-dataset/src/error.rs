//! Errors that stop a whole operation (the input cannot be read at all).
//! Problems of single rows are not errors: they go into an
//! [`ImportReport`](crate::report::ImportReport).

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: the file is empty", path.display())]
    Empty { path: PathBuf },
    /// A problem of the file's structure (header, required columns) at a line.
    #[error("{}: line {line}: {message}", path.display())]
    Format {
        path: PathBuf,
        line: u64,
        message: String,
    },
    #[error("{}: invalid JSON at line {line}, column {column}: {message}", path.display())]
    Json {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    /// A bad argument or a dataset that cannot be processed as asked.
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Output(#[from] OutputError),
}

/// Why a prepared dataset could not be written to its output folder
/// ([`crate::prepare::PreparedWriter`]).
#[derive(Debug, thiserror::Error)]
#[error("output folder {}: {message}", path.display())]
pub struct OutputError {
    /// The output folder.
    pub path: PathBuf,
    pub message: String,
}

impl DatasetError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn json(path: impl Into<PathBuf>, e: &serde_json::Error) -> Self {
        Self::Json {
            path: path.into(),
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        }
    }
}
