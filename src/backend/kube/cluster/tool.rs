//! The programs the cluster plans call, and how to install each: a leaf
//! that the plans and the errors both name (so neither imports the other).

use crate::pins;

/// A program the plans call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tool {
    /// The Docker CLI (and an engine answering it).
    Docker,
    /// kind.
    Kind,
    /// kubectl.
    Kubectl,
    /// istioctl.
    Istioctl,
    /// curl (downloads).
    Curl,
}

impl Tool {
    /// The executable name looked up on PATH.
    pub fn program(self) -> &'static str {
        match self {
            Tool::Docker => "docker",
            Tool::Kind => "kind",
            Tool::Kubectl => "kubectl",
            Tool::Istioctl => "istioctl",
            Tool::Curl => "curl",
        }
    }

    /// What to install, with a link.
    pub fn install_hint(self) -> String {
        match self {
            Tool::Docker => "install Docker Engine or Docker Desktop and start it \
                             (https://docs.docker.com/engine/install/)"
                .into(),
            Tool::Kind => format!(
                "install kind {} ({})",
                pins::KIND_VERSION,
                pins::KIND_INSTALL_URL
            ),
            Tool::Kubectl => {
                "install kubectl (https://kubernetes.io/docs/tasks/tools/#kubectl)".into()
            }
            Tool::Istioctl => format!(
                "install istioctl {v}: curl -L https://istio.io/downloadIstio | ISTIO_VERSION={v} sh - \
                 (https://istio.io/latest/docs/setup/additional-setup/download-istio-release/)",
                v = pins::ISTIO_VERSION
            ),
            Tool::Curl => "install curl (Debian/Ubuntu: apt-get install curl)".into(),
        }
    }
}
