//! Errors of the library, one enum per phase (as cargo-nextest does).

use std::path::PathBuf;

/// A path could not be read at all.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// Missing file, permission denied, ...
    #[error("cannot read {path}: {source}")]
    Read {
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Not a regular file, too large, not text (see [`crate::fsread`]).
    #[error(transparent)]
    Input(#[from] crate::fsread::ReadError),
}
