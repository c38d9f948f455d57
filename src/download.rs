//! Files checked against a pinned sha256, and the one way zonechaos
//! downloads them: curl (through duct, from an argument vector) into a
//! temporary file beside the destination, renamed into place only when its
//! digest is the pinned one. A download that does not match is deleted.
//!
//! The kind cluster's plan executor checks its downloads with
//! [`verify_sha256`]; `zonechaos crds fetch` downloads with
//! [`download_verified`].

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// Lines of curl's stderr kept in an error message.
const STDERR_TAIL_LINES: usize = 5;

/// A failed check or download; [`DownloadError::hint`] says what to do.
#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    /// A file or directory could not be read, written or renamed.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// `read`, `create directory`, `create a temporary file in`, ...
        action: &'static str,
        /// The path concerned.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A file on disk has another digest than its pin.
    #[error("{} has sha256 {actual}, expected {expected}", path.display())]
    Mismatch {
        /// The file.
        path: PathBuf,
        /// The pinned digest.
        expected: String,
        /// Its digest.
        actual: String,
    },
    /// curl is not on PATH.
    #[error("cannot download {url}: curl is not on PATH")]
    CurlMissing {
        /// What was to be downloaded.
        url: String,
    },
    /// curl ran and failed.
    #[error("curl could not download {url}: {outcome}{}", stderr_lines(stderr))]
    Curl {
        /// The URL.
        url: String,
        /// `exited with code N`, `was killed by a signal` or `could not start: ...`.
        outcome: String,
        /// The last lines of curl's stderr.
        stderr: String,
    },
    /// The downloaded file is not the pinned one; it was deleted.
    #[error(
        "{url} has sha256 {actual}, expected {expected} (the pinned digest); \
         the download was deleted"
    )]
    DownloadMismatch {
        /// The URL.
        url: String,
        /// The pinned digest.
        expected: String,
        /// The digest of what was downloaded.
        actual: String,
    },
}

fn stderr_lines(stderr: &str) -> String {
    if stderr.trim().is_empty() {
        String::new()
    } else {
        format!(": {}", stderr.trim())
    }
}

impl DownloadError {
    /// What the user can do about it.
    pub fn hint(&self) -> String {
        match self {
            DownloadError::Io { .. } => "check the path and its permissions".into(),
            DownloadError::Mismatch { path, .. } => format!(
                "{} is not the pinned file: delete it and download it again",
                path.display()
            ),
            DownloadError::CurlMissing { .. } => {
                "install curl (https://curl.se/download.html or your package manager)".into()
            }
            DownloadError::Curl { .. } => {
                "check the network and the URL (curl's message says why it failed)".into()
            }
            DownloadError::DownloadMismatch { .. } => {
                "the server sent another file than the pinned one: if it is a mirror, copy the \
                 upstream file into it again; if upstream changed, check the new file and update \
                 its digest in src/pins.rs"
                    .into()
            }
        }
    }
}

/// A lowercase hex sha256 digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sha256Hex(String);

impl Sha256Hex {
    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Sha256Hex {
        Sha256Hex(hex(&Sha256::digest(bytes)))
    }

    /// The hex text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True when `expected` (any case, surrounding blanks ignored) names
    /// this digest.
    pub fn matches(&self, expected: &str) -> bool {
        self.0.eq_ignore_ascii_case(expected.trim())
    }
}

impl fmt::Display for Sha256Hex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The sha256 of a file, read in chunks.
pub fn sha256_file(path: &Path) -> Result<Sha256Hex, DownloadError> {
    let io = |source| DownloadError::Io {
        action: "read",
        path: path.to_owned(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut hasher = Sha256::new();
    let mut buffer = [0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buffer).map_err(io)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(Sha256Hex(hex(&hasher.finalize())))
}

/// Checks a file against the hex digest `expected` (any case).
pub fn verify_sha256(path: &Path, expected: &str) -> Result<(), DownloadError> {
    let actual = sha256_file(path)?;
    if actual.matches(expected) {
        Ok(())
    } else {
        Err(DownloadError::Mismatch {
            path: path.to_owned(),
            expected: expected.trim().to_ascii_lowercase(),
            actual: actual.0,
        })
    }
}

/// Downloads `url` to `dest` (creating its directory) with
/// `curl -fsSL --retry 2`, through a temporary file in the same directory
/// that is renamed to `dest` only when its sha256 is `expected`; otherwise
/// the temporary file is deleted and `dest` is left as it was.
pub fn download_verified(url: &str, dest: &Path, expected: &str) -> Result<(), DownloadError> {
    let dir = dest
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|source| DownloadError::Io {
        action: "create directory",
        path: dir.to_owned(),
        source,
    })?;
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // A hidden name: CRD loaders skip it while it is being written.
    let partial = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".part")
        .tempfile_in(dir)
        .map_err(|source| DownloadError::Io {
            action: "create a temporary file in",
            path: dir.to_owned(),
            source,
        })?;
    curl(url, partial.path())?;
    let actual = sha256_file(partial.path())?;
    if !actual.matches(expected) {
        // Dropping `partial` deletes it.
        return Err(DownloadError::DownloadMismatch {
            url: url.to_owned(),
            expected: expected.trim().to_ascii_lowercase(),
            actual: actual.0,
        });
    }
    partial
        .persist(dest)
        .map_err(|err| DownloadError::Io {
            action: "rename the download to",
            path: dest.to_owned(),
            source: err.error,
        })
        .map(drop)
}

/// `curl -fsSL --retry 2 -o <out> <url>`.
fn curl(url: &str, out: &Path) -> Result<(), DownloadError> {
    let args: [&std::ffi::OsStr; 6] = [
        "-fsSL".as_ref(),
        "--retry".as_ref(),
        "2".as_ref(),
        "-o".as_ref(),
        out.as_os_str(),
        url.as_ref(),
    ];
    tracing::debug!("$ curl -fsSL --retry 2 -o {} {url}", out.display());
    let output = duct::cmd("curl", args)
        .stdin_null()
        .stdout_null()
        .stderr_capture()
        .unchecked()
        .run()
        .map_err(|err| match err.kind() {
            std::io::ErrorKind::NotFound => DownloadError::CurlMissing {
                url: url.to_owned(),
            },
            _ => DownloadError::Curl {
                url: url.to_owned(),
                outcome: format!("could not start: {err}"),
                stderr: String::new(),
            },
        })?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    Err(DownloadError::Curl {
        url: url.to_owned(),
        outcome: match output.status.code() {
            Some(code) => format!("exited with code {code}"),
            None => "was killed by a signal".to_owned(),
        },
        stderr: lines[lines.len().saturating_sub(STDERR_TAIL_LINES)..].join("\n"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// sha256("abc").
    const ABC: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    fn file_url(path: &Path) -> String {
        format!("file://{}", path.display())
    }

    /// The `file://` URL of a file in `dir` holding `text`.
    fn source(dir: &Path, text: &str) -> String {
        let path = dir.join("source.yaml");
        std::fs::write(&path, text).unwrap();
        file_url(&path)
    }

    #[test]
    fn digests_are_checked_in_any_case() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, "abc").unwrap();
        assert_eq!(sha256_file(&file).unwrap().as_str(), ABC);
        assert_eq!(Sha256Hex::of(b"abc").as_str(), ABC);
        assert!(verify_sha256(&file, &ABC.to_uppercase()).is_ok());
        let err = verify_sha256(&file, &ABC[..10]).unwrap_err();
        assert!(
            matches!(&err, DownloadError::Mismatch { actual, .. } if actual == ABC),
            "{err}"
        );
        assert!(err.hint().contains("delete it"), "{}", err.hint());
        let missing = verify_sha256(&dir.path().join("nope"), ABC).unwrap_err();
        assert!(
            matches!(missing, DownloadError::Io { action: "read", .. }),
            "{missing}"
        );
    }

    #[test]
    fn a_matching_download_is_renamed_into_place() {
        let dir = tempfile::tempdir().unwrap();
        let url = source(dir.path(), "abc");
        let dest = dir.path().join("cache/bundle/file.yaml");
        download_verified(&url, &dest, ABC).unwrap();
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), "abc");
        let left: Vec<_> = std::fs::read_dir(dest.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, ["file.yaml"], "no temporary file is left");
    }

    #[test]
    fn a_mismatching_download_is_deleted_and_named() {
        let dir = tempfile::tempdir().unwrap();
        let url = source(dir.path(), "abd");
        let cache = dir.path().join("cache");
        let err = download_verified(&url, &cache.join("file.yaml"), ABC).unwrap_err();
        let message = err.to_string();
        assert!(message.contains(&url), "{message}");
        assert!(message.contains(ABC), "{message}");
        assert!(
            message.contains(Sha256Hex::of(b"abd").as_str()),
            "{message}"
        );
        assert!(err.hint().contains("mirror"), "{}", err.hint());
        assert_eq!(
            std::fs::read_dir(&cache).unwrap().count(),
            0,
            "nothing is kept"
        );
    }

    #[test]
    fn a_failed_download_names_the_url_and_curls_message() {
        let dir = tempfile::tempdir().unwrap();
        let url = file_url(&dir.path().join("absent.yaml"));
        let err = download_verified(&url, &dir.path().join("out/f.yaml"), ABC).unwrap_err();
        match &err {
            DownloadError::Curl {
                url: u, outcome, ..
            } => {
                assert_eq!(u, &url);
                assert!(outcome.starts_with("exited with code "), "{outcome}");
            }
            // Without curl on the machine the message says so instead.
            DownloadError::CurlMissing { url: u } => assert_eq!(u, &url),
            other => panic!("unexpected error {other}"),
        }
        assert_eq!(
            std::fs::read_dir(dir.path().join("out")).unwrap().count(),
            0
        );
    }
}
