//! Everything that can go wrong bringing a cluster up or down; each message
//! names the command or file and [`ClusterError::hint`] says what to do.

use std::path::PathBuf;

use super::tool::Tool;
use crate::download::DownloadError;

/// A cluster lifecycle failure.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The cluster name does not identify it as the harness's.
    #[error("'{name}' is not a harness cluster name")]
    BadName {
        /// The name given.
        name: String,
    },
    /// The user's own kubeconfig was named.
    #[error("{} is the user's kubeconfig; the harness never writes to it", path.display())]
    UserKubeconfig {
        /// The path given.
        path: PathBuf,
    },
    /// The profile's Kubernetes version has no pinned node image.
    #[error("no kindest/node image is pinned for Kubernetes {version} (kind {kind})")]
    NoNodeImage {
        /// The profile's version.
        version: String,
        /// The kind release.
        kind: &'static str,
    },
    /// Required programs are not on PATH.
    #[error("missing tools: {}", tools.iter().map(|t| t.program()).collect::<Vec<_>>().join(", "))]
    MissingTools {
        /// What is missing.
        tools: Vec<Tool>,
    },
    /// The cluster exists and `--reuse` was not given.
    #[error("kind cluster {name} already exists")]
    ClusterExists {
        /// Its name.
        name: String,
    },
    /// A command exited unsuccessfully (or could not start).
    #[error("{0}")]
    CommandFailed(Box<CommandFailure>),
    /// A downloaded file has another digest than the pin.
    #[error("{} has sha256 {actual}, expected {expected}", path.display())]
    DigestMismatch {
        /// The file.
        path: PathBuf,
        /// Its digest.
        actual: String,
        /// The pinned digest.
        expected: String,
    },
    /// A pinned file no longer holds the text a plan step rewrites.
    #[error("{} holds {found} occurrences of {text:?}, expected exactly one", path.display())]
    UnexpectedContent {
        /// The file.
        path: PathBuf,
        /// The text looked for.
        text: String,
        /// How often it occurs.
        found: usize,
    },
    /// A file could not be read or written.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// `read`, `write`, `create directory`.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A download failed (see [`DownloadError`]).
    #[error("{0}")]
    Download(DownloadError),
    /// A generated document could not be serialized.
    #[error("cannot write {what} as YAML: {message}")]
    Yaml {
        /// What was serialized.
        what: String,
        /// The serializer's message.
        message: String,
    },
}

/// A failed step: which, what it ran, how it ended, its stderr, a hint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "step {step} ({purpose}) failed: `{command}` {outcome}{}",
    stderr_tail(stderr)
)]
pub struct CommandFailure {
    /// 1-based step number.
    pub step: usize,
    /// What the step was for.
    pub purpose: String,
    /// The command line, quoted for display.
    pub command: String,
    /// `exited with code N`, `was killed by a signal` or `could not start: …`.
    pub outcome: String,
    /// The last lines of its stderr.
    pub stderr: String,
    /// What to try.
    pub hint: String,
}

fn stderr_tail(stderr: &str) -> String {
    if stderr.trim().is_empty() {
        String::new()
    } else {
        format!("\n  stderr (last lines):\n{}", indent(stderr))
    }
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

impl ClusterError {
    /// What the user can do about it.
    pub fn hint(&self) -> String {
        match self {
            ClusterError::BadName { .. } => {
                "cluster names start with zonechaos- and use lowercase letters, digits and '-' \
                 (at most 40 characters), e.g. zonechaos-three-zones"
                    .into()
            }
            ClusterError::UserKubeconfig { .. } => {
                "leave --kubeconfig out: the harness writes ~/.cache/zonechaos/kind-<name>.kubeconfig".into()
            }
            ClusterError::NoNodeImage { .. } => format!(
                "set kubernetesVersion in the profile to one of {} or add the node image \
                 (with its digest from the kind release notes) to src/pins.rs",
                crate::pins::KIND_NODE_IMAGES
                    .iter()
                    .map(|p| p.tag)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            ClusterError::MissingTools { tools } => tools
                .iter()
                .map(|t| format!("{}: {}", t.program(), t.install_hint()))
                .collect::<Vec<_>>()
                .join("; "),
            ClusterError::ClusterExists { name } => format!(
                "pass --reuse to use it as it is, or delete it first: zonechaos cluster down --name {name}"
            ),
            ClusterError::CommandFailed(failure) => failure.hint.clone(),
            ClusterError::DigestMismatch { path, .. } => format!(
                "delete {} and run again; if it still differs, the upstream file changed: \
                 check it and update the pin in src/pins.rs",
                path.display()
            ),
            ClusterError::UnexpectedContent { path, .. } => format!(
                "{} passed its sha256 check, so the pin and this rewrite disagree: \
                 this is a bug in zonechaos; please report it",
                path.display()
            ),
            ClusterError::Io { .. } => "check the path and its permissions".into(),
            ClusterError::Download(err) => err.hint(),
            ClusterError::Yaml { .. } => "this is a bug in zonechaos; please report it".into(),
        }
    }

    /// True for failures of the environment (exit code 3) rather than of
    /// the user's input (exit code 2).
    pub fn is_infrastructure(&self) -> bool {
        !matches!(
            self,
            ClusterError::BadName { .. }
                | ClusterError::UserKubeconfig { .. }
                | ClusterError::NoNodeImage { .. }
        )
    }
}

/// A failed check keeps the cluster's messages: an unreadable file is
/// [`ClusterError::Io`], another digest [`ClusterError::DigestMismatch`].
impl From<DownloadError> for ClusterError {
    fn from(err: DownloadError) -> ClusterError {
        match err {
            DownloadError::Io {
                action,
                path,
                source,
            } => ClusterError::Io {
                action,
                path,
                source,
            },
            DownloadError::Mismatch {
                path,
                expected,
                actual,
            } => ClusterError::DigestMismatch {
                path,
                actual,
                expected,
            },
            other => ClusterError::Download(other),
        }
    }
}
