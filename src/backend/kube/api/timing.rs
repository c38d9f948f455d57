//! The running cluster's node-monitor grace period, read from the
//! kube-controller-manager's own command line, so a suite that states
//! another one is refused (or skipped) instead of asserting against
//! timing the cluster does not have (issue 11 item 8).
//!
//! kubeadm runs the controller manager as a static pod in `kube-system`
//! labelled `component=kube-controller-manager`, its flags in the
//! container's `command` (kubernetes cmd/kubeadm/app/phases/controlplane/
//! manifests.go: `getControllerManagerCommand`, the ClusterConfiguration's
//! `controllerManager.extraArgs` appended as `--key=value`). Managed
//! control planes (EKS, GKE, AKS) show no such pod: the grace is then
//! unknown and nothing is refused.

use k8s_openapi::api::core::v1::Pod;
use kube::Client;
use kube::api::{Api, ListParams};

use super::error::ApiError;
use crate::model::{SimDuration, parse_duration};

/// The flag read.
pub const GRACE_FLAG: &str = "--node-monitor-grace-period";

/// Label selector of kubeadm's controller-manager static pod.
pub const CONTROLLER_MANAGER_SELECTOR: &str = "component=kube-controller-manager";

/// What the cluster says about its node-monitor grace period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClusterGrace {
    /// The controller manager runs with this flag value.
    Flag(SimDuration),
    /// The controller manager runs without the flag: Kubernetes' default.
    KubernetesDefault,
    /// No controller manager is visible (a managed control plane).
    Unknown,
}

impl ClusterGrace {
    /// The grace the cluster runs with, when it can be told (`default`
    /// stands for Kubernetes' own default of the server's version).
    pub fn known(self, default: SimDuration) -> Option<SimDuration> {
        match self {
            ClusterGrace::Flag(d) => Some(d),
            ClusterGrace::KubernetesDefault => Some(default),
            ClusterGrace::Unknown => None,
        }
    }
}

/// The grace in a controller-manager command line (`--flag=v` or `--flag v`).
pub fn grace_in_args<'a>(args: impl IntoIterator<Item = &'a str>) -> Result<ClusterGrace, String> {
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let value = match arg.strip_prefix(GRACE_FLAG) {
            Some(rest) if rest.starts_with('=') => &rest[1..],
            Some("") => args.next().unwrap_or_default(),
            _ => continue,
        };
        return parse_duration(value)
            .map(ClusterGrace::Flag)
            .map_err(|e| format!("kube-controller-manager {GRACE_FLAG}: {e}"));
    }
    Ok(ClusterGrace::KubernetesDefault)
}

/// Reads the grace from the controller-manager pod (the first one listed;
/// kubeadm gives every control-plane node the same flags).
pub async fn read_cluster_grace(client: &Client) -> Result<ClusterGrace, ApiError> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), "kube-system");
    let list = pods
        .list(&ListParams::default().labels(CONTROLLER_MANAGER_SELECTOR))
        .await
        .map_err(|e| {
            ApiError::from_kube("list", format!("Pods {CONTROLLER_MANAGER_SELECTOR}"), e)
        })?;
    let Some(container) = list
        .items
        .iter()
        .filter_map(|p| p.spec.as_ref())
        .flat_map(|s| s.containers.iter())
        .next()
    else {
        return Ok(ClusterGrace::Unknown);
    };
    let args = container
        .command
        .iter()
        .flatten()
        .chain(container.args.iter().flatten())
        .map(String::as_str);
    grace_in_args(args).map_err(|problem| ApiError::Invalid {
        object: format!("Pod kube-system/{CONTROLLER_MANAGER_SELECTOR}"),
        problem,
        hint: "give the flag a Go duration (35s, 1m)".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The command kubeadm writes for kind's ClusterConfiguration patch
    /// (kubernetes cmd/kubeadm/app/phases/controlplane/manifests.go).
    #[test]
    fn the_flag_is_read_in_both_spellings() {
        let kubeadm = [
            "kube-controller-manager",
            "--allocate-node-cidrs=true",
            "--node-monitor-grace-period=35s",
            "--use-service-account-credentials=true",
        ];
        assert_eq!(
            grace_in_args(kubeadm),
            Ok(ClusterGrace::Flag(SimDuration::secs(35)))
        );
        assert_eq!(
            grace_in_args(["kcm", "--node-monitor-grace-period", "1m"]),
            Ok(ClusterGrace::Flag(SimDuration::secs(60)))
        );
        assert_eq!(
            grace_in_args(["kcm", "--node-monitor-period=5s"]),
            Ok(ClusterGrace::KubernetesDefault)
        );
        assert!(grace_in_args(["kcm", "--node-monitor-grace-period=soon"]).is_err());
        // A longer flag sharing the prefix is not this one.
        assert_eq!(
            grace_in_args(["kcm", "--node-monitor-grace-periodx=3s"]),
            Ok(ClusterGrace::KubernetesDefault)
        );
    }

    #[test]
    fn an_unknown_grace_is_not_assumed() {
        let default = SimDuration::secs(50);
        assert_eq!(ClusterGrace::Unknown.known(default), None);
        assert_eq!(
            ClusterGrace::KubernetesDefault.known(default),
            Some(default)
        );
    }
}
