//! The one error type of the API layer: every variant names the object
//! concerned and says what to do about it.

use std::time::Duration;

/// A failed Kubernetes API operation.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The API server answered with an error status.
    #[error("{action} {object}: the API server answered {code} {reason}: {message}; {hint}")]
    Api {
        /// What was attempted (`cordon`, `evict`, `patch status of`).
        action: &'static str,
        /// The object (`Node zc-worker3`, `Rollout zonechaos/echo-c`).
        object: String,
        /// HTTP status code.
        code: u16,
        /// Kubernetes reason (`NotFound`, `Forbidden`).
        reason: String,
        /// The server's message.
        message: String,
        /// What to do about it.
        hint: &'static str,
    },
    /// The API server could not be reached or its answer not read.
    #[error(
        "{action} {object}: no usable answer from the API server ({source}); check that the cluster is up and the kubeconfig points at it"
    )]
    Transport {
        /// What was attempted.
        action: &'static str,
        /// The object.
        object: String,
        /// The client error.
        #[source]
        source: kube::Error,
    },
    /// The object exists but lacks what the operation needs.
    #[error("{object}: {problem}; {hint}")]
    Invalid {
        /// The object.
        object: String,
        /// What is wrong.
        problem: String,
        /// What to do about it.
        hint: String,
    },
    /// A readiness wait ran out of time.
    #[error(
        "gave up waiting for {what} after {waited:?}; last observed: {last}; check the object with kubectl describe and the controller's logs"
    )]
    Timeout {
        /// What was awaited (`Deployment istio-system/istiod Available`).
        what: String,
        /// How long it waited.
        waited: Duration,
        /// The last state seen.
        last: String,
    },
    /// Optimistic-concurrency conflicts (409) on every attempt.
    #[error(
        "{action} {object}: 409 Conflict on all {attempts} attempts (someone else keeps writing it); retry later or stop the other writer"
    )]
    Conflict {
        /// What was attempted.
        action: &'static str,
        /// The object.
        object: String,
        /// Attempts made.
        attempts: u32,
    },
}

impl ApiError {
    /// Wraps a kube error for `action` on `object`, with a hint chosen by status code.
    pub fn from_kube(
        action: &'static str,
        object: impl Into<String>,
        err: kube::Error,
    ) -> ApiError {
        let object = object.into();
        match err {
            kube::Error::Api(status) => ApiError::Api {
                action,
                object,
                code: status.code,
                hint: hint_for(status.code),
                reason: status.reason,
                message: status.message,
            },
            source => ApiError::Transport {
                action,
                object,
                source,
            },
        }
    }

    /// The HTTP status code when the server answered with an error status.
    pub fn code(&self) -> Option<u16> {
        match self {
            ApiError::Api { code, .. } => Some(*code),
            _ => None,
        }
    }
}

/// The HTTP status of a kube error, when the server answered with one.
pub fn status_code(err: &kube::Error) -> Option<u16> {
    match err {
        kube::Error::Api(status) => Some(status.code),
        _ => None,
    }
}

/// Whether a kube error may pass by itself (transport failure, 429, 5xx):
/// waits keep polling through them.
pub fn is_transient(err: &kube::Error) -> bool {
    match status_code(err) {
        None => true,
        Some(code) => code == 429 || code >= 500,
    }
}

/// A kube error in a few words, for "last observed" texts.
pub fn brief(err: &kube::Error) -> String {
    match err {
        kube::Error::Api(status) => {
            format!(
                "API error {} {}: {}",
                status.code, status.reason, status.message
            )
        }
        other => format!("API server unreachable: {other}"),
    }
}

fn hint_for(code: u16) -> &'static str {
    match code {
        401 => "the kubeconfig's credentials were refused; refresh them",
        403 => "RBAC forbids it; grant the harness's user this verb on this resource",
        404 => "it does not exist: was it applied, is its CRD installed, is the namespace right?",
        409 => "it changed underneath us; read it again and retry",
        400 | 422 => "the server rejected the object as invalid; fix the manifest",
        429 => "the server is throttling or a disruption budget refused; retry later",
        500..=599 => "the API server failed; check its health and retry",
        _ => "see the message",
    }
}
