//! `kind` and `existing`: the suites against a real Kubernetes cluster with
//! real Istio, Argo Rollouts and Prometheus.
//!
//! - [`cluster`]: the cluster's lifecycle (kind config from the profile,
//!   pinned installs, the command plan and its execution through duct).
//! - [`render`]: the deployable manifests of a topology plus the app.
//! - [`api`]: everything the harness does through the Kubernetes API
//!   (kube-rs): apply, cordon, drain, node loss, Rollout patches, read-back,
//!   readiness waits, the port-forward to Prometheus.

pub mod api;
pub mod backend;
pub mod cluster;
pub mod diagnostics;
pub mod fidelity;
pub mod guard;
pub mod node_loss;
pub mod render;
pub mod session;
