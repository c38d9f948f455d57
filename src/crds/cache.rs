//! The cache's files: their state, downloading them, loading them verified.

use std::path::{Path, PathBuf};

use super::{CrdsError, Source};
use crate::download::{self, Sha256Hex};
use crate::lint::schema::CrdSchemas;
use crate::pins::{CRD_PINS, CrdPin};

/// What the cache holds for one pin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PinState {
    /// The file, with the pinned digest.
    Verified,
    /// No file.
    Missing,
    /// A file with another digest (changed, truncated or replaced).
    Mismatch {
        /// Its digest.
        actual: Sha256Hex,
    },
}

/// What [`fetch_pin`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchOutcome {
    /// The cached file was verified and kept.
    AlreadyVerified,
    /// The file was downloaded and verified.
    Downloaded,
    /// A cached file with another digest was replaced by the verified
    /// download.
    Replaced {
        /// The digest of the file replaced.
        previous: Sha256Hex,
    },
}

/// A cached file read once: its bytes are what was hashed.
enum Cached {
    Missing,
    Verified(Vec<u8>),
    Mismatch(Sha256Hex),
}

fn path_of(dir: &Path, pin: &CrdPin) -> PathBuf {
    dir.join(pin.relative_path())
}

fn read(path: &Path, pin: &CrdPin) -> Result<Cached, CrdsError> {
    // Like every input: regular files only, within the size limit.
    match crate::fsread::read_limited(path, crate::fsread::MAX_FILE_BYTES) {
        Ok(bytes) => {
            let actual = Sha256Hex::of(&bytes);
            Ok(if actual.matches(pin.sha256) {
                Cached::Verified(bytes)
            } else {
                Cached::Mismatch(actual)
            })
        }
        Err(err) if err.is_not_found() => Ok(Cached::Missing),
        Err(source) => Err(CrdsError::Unreadable {
            path: path.to_owned(),
            source,
        }),
    }
}

/// Whether the cache `dir` holds `pin` with its digest.
pub fn pin_state(dir: &Path, pin: &CrdPin) -> Result<PinState, CrdsError> {
    Ok(match read(&path_of(dir, pin), pin)? {
        Cached::Verified(_) => PinState::Verified,
        Cached::Missing => PinState::Missing,
        Cached::Mismatch(actual) => PinState::Mismatch { actual },
    })
}

/// Makes the cache `dir` hold `pin` verified: a cached file with the
/// pinned digest is kept; otherwise the file is downloaded from `source`
/// (see [`download::download_verified`]: nothing that does not match is
/// kept).
pub fn fetch_pin(dir: &Path, pin: &CrdPin, source: &Source) -> Result<FetchOutcome, CrdsError> {
    let path = path_of(dir, pin);
    let outcome = match read(&path, pin)? {
        Cached::Verified(_) => return Ok(FetchOutcome::AlreadyVerified),
        Cached::Missing => FetchOutcome::Downloaded,
        Cached::Mismatch(previous) => FetchOutcome::Replaced { previous },
    };
    download::download_verified(&source.url(pin), &path, pin.sha256)?;
    Ok(outcome)
}

/// The schemas of every pin in the cache `dir`, each file verified as it
/// is read; `None` when some file is missing (then lint runs without
/// schemas). A file with another digest is an error naming it.
pub fn load_verified(dir: &Path) -> Result<Option<CrdSchemas>, CrdsError> {
    let mut texts = Vec::new();
    let mut missing = Vec::new();
    for pin in CRD_PINS {
        let path = path_of(dir, pin);
        match read(&path, pin)? {
            Cached::Verified(bytes) => {
                texts.push((path, String::from_utf8_lossy(&bytes).into_owned()));
            }
            Cached::Missing => missing.push(pin.relative_path().display().to_string()),
            Cached::Mismatch(actual) => {
                return Err(CrdsError::Tampered {
                    path,
                    expected: pin.sha256.to_owned(),
                    actual: actual.to_string(),
                });
            }
        }
    }
    if missing.len() == CRD_PINS.len() {
        tracing::info!("no CRDs cached in {}", dir.display());
        return Ok(None);
    }
    if !missing.is_empty() {
        tracing::warn!(
            "the CRD cache {} lacks {}; schemas are not checked (run `zonechaos crds fetch`)",
            dir.display(),
            missing.join(", ")
        );
        return Ok(None);
    }
    tracing::info!("CRD schemas: the verified cache in {}", dir.display());
    CrdSchemas::from_texts(dir, &texts)
        .map(Some)
        .map_err(CrdsError::Schema)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A cache holding `text` for every pin.
    fn cache_with(text: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for pin in CRD_PINS {
            let path = path_of(dir.path(), pin);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        dir
    }

    #[test]
    fn an_empty_cache_is_missing_everything_and_loads_nothing() {
        let dir = tempfile::tempdir().unwrap();
        for pin in CRD_PINS {
            assert_eq!(pin_state(dir.path(), pin).unwrap(), PinState::Missing);
        }
        assert!(load_verified(dir.path()).unwrap().is_none());
        assert!(load_verified(&dir.path().join("absent")).unwrap().is_none());
    }

    #[test]
    fn a_changed_file_is_a_mismatch_and_an_error_naming_it() {
        let dir = cache_with("kind: Other\n");
        let pin = &CRD_PINS[2];
        assert_eq!(
            pin_state(dir.path(), pin).unwrap(),
            PinState::Mismatch {
                actual: Sha256Hex::of(b"kind: Other\n")
            }
        );
        let err = load_verified(dir.path()).unwrap_err();
        let path = path_of(dir.path(), &CRD_PINS[0]);
        assert!(
            matches!(&err, CrdsError::Tampered { path: p, .. } if p == &path),
            "{err}"
        );
        assert!(err.to_string().contains(CRD_PINS[0].sha256), "{err}");
        assert!(
            err.hint().contains("zonechaos crds fetch"),
            "{}",
            err.hint()
        );
        assert!(!err.is_usage());
    }

    /// issue 10 item 6: the cache is read like every input, so a FIFO
    /// planted at a cached path is refused at once instead of blocking,
    /// and a directory there is named as one.
    #[cfg(unix)]
    #[test]
    fn a_cached_path_that_is_not_a_regular_file_is_refused() {
        let dir = cache_with("x");
        let fifo = path_of(dir.path(), &CRD_PINS[0]);
        std::fs::remove_file(&fifo).unwrap();
        let c_path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: mkfifo reads the NUL-terminated path it is given.
        #[allow(unsafe_code)]
        let made = unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) };
        assert_eq!(made, 0, "mkfifo");
        let err = pin_state(dir.path(), &CRD_PINS[0]).unwrap_err();
        assert!(
            matches!(&err, CrdsError::Unreadable { path, .. } if path == &fifo),
            "{err}"
        );
        assert!(
            err.to_string().contains("FIFO, not a regular file"),
            "{err}"
        );
        let as_dir = path_of(dir.path(), &CRD_PINS[1]);
        std::fs::remove_file(&as_dir).unwrap();
        std::fs::create_dir(&as_dir).unwrap();
        let err = pin_state(dir.path(), &CRD_PINS[1]).unwrap_err();
        assert!(err.to_string().contains("directory"), "{err}");
    }

    #[test]
    fn a_tampered_file_is_an_error_even_when_another_is_missing() {
        let dir = cache_with("x");
        std::fs::remove_file(path_of(dir.path(), &CRD_PINS[0])).unwrap();
        assert!(matches!(
            load_verified(dir.path()),
            Err(CrdsError::Tampered { .. })
        ));
    }

    #[test]
    fn a_failed_fetch_keeps_nothing_and_says_how_to_use_a_mirror() {
        let dir = tempfile::tempdir().unwrap();
        let mirror: super::super::Mirror =
            format!("file://{}", dir.path().join("nowhere").display())
                .parse()
                .unwrap();
        let cache = dir.path().join("cache");
        let err = fetch_pin(&cache, &CRD_PINS[0], &Source::Mirror(mirror)).unwrap_err();
        assert!(err.to_string().contains("nowhere"), "{err}");
        assert!(err.hint().contains("--mirror"), "{}", err.hint());
        assert_eq!(pin_state(&cache, &CRD_PINS[0]).unwrap(), PinState::Missing);
    }
}
