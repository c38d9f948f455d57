//! What can go wrong with the CRD cache; [`CrdsError::hint`] says what to do.

use std::path::PathBuf;

use crate::download::DownloadError;
use crate::lint::schema::SchemaLoadError;

/// A CRD cache failure.
#[derive(Debug, thiserror::Error)]
pub enum CrdsError {
    /// `--mirror` (or `ZONECHAOS_CRDS_MIRROR`) is not a base URL.
    #[error("bad CRD mirror {value:?}: {reason}")]
    BadMirror {
        /// The value given.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A download failed or did not match its pin (nothing was kept).
    #[error("{0}")]
    Download(#[from] DownloadError),
    /// A cached file is not the pinned one (changed, truncated, replaced).
    #[error(
        "cached CRD {} has sha256 {actual}, expected {expected} (the pinned digest)",
        path.display()
    )]
    Tampered {
        /// The cached file.
        path: PathBuf,
        /// The pinned digest.
        expected: String,
        /// Its digest.
        actual: String,
    },
    /// A cached file exists but cannot be read (or is not a regular file,
    /// or is over the input size limit).
    #[error("cannot read cached CRD {}: {}", path.display(), source.reason())]
    Unreadable {
        /// The cached file.
        path: PathBuf,
        /// Why.
        #[source]
        source: crate::fsread::ReadError,
    },
    /// The verified files do not compile into schemas.
    #[error("the cached CRDs cannot be used: {0}")]
    Schema(SchemaLoadError),
}

impl CrdsError {
    /// What the user can do about it.
    pub fn hint(&self) -> String {
        match self {
            CrdsError::BadMirror { .. } => format!(
                "pass --mirror (or {}) as the base URL of a copy of the bundles, holding \
                 BASE/<bundle>/<file>, e.g. file:///srv/crds or https://mirror.example/crds",
                super::MIRROR_ENV
            ),
            CrdsError::Download(err @ DownloadError::Curl { .. }) => format!(
                "{}; without access to raw.githubusercontent.com, copy the files to a mirror \
                 and pass --mirror BASE (or {}) serving BASE/<bundle>/<file>",
                err.hint(),
                super::MIRROR_ENV
            ),
            CrdsError::Download(err) => err.hint(),
            CrdsError::Tampered { .. } => {
                "rerun `zonechaos crds fetch` (it downloads the file again \
                 and keeps it only with the pinned digest), or pass --crds none to lint without \
                 schemas"
                    .into()
            }
            CrdsError::Unreadable { .. } => {
                "check its permissions, or delete it and rerun `zonechaos crds fetch`".into()
            }
            CrdsError::Schema(_) => {
                "the pinned files do not load: this is a bug in zonechaos; please report it".into()
            }
        }
    }

    /// True for bad input (exit code 2) rather than a failure of the
    /// environment (exit code 3).
    pub fn is_usage(&self) -> bool {
        matches!(self, CrdsError::BadMirror { .. })
    }
}
