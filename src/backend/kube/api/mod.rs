//! Everything the kind and existing backends do through the Kubernetes API
//! (kube-rs), one job per module, all async on a [`kube::Client`]:
//!
//! - [`nodes`]: list a zone's nodes, cordon/uncordon, delete Node objects
//!   (Spot loss), readiness.
//! - [`drain`]: cordon + evict through policy/v1 Eviction, honouring PDBs,
//!   every refusal recorded; converts to [`crate::backend::DrainReport`].
//! - [`rollouts`]: Argo Rollout image, promote/abort/retry, status read-back
//!   (converts to [`crate::model::rollout::RolloutStatus`]).
//! - [`pdbs`]: PDB read-back as [`crate::model::eviction::PdbStatus`].
//! - [`wait`]: readiness waits (`await_condition` with small conditions).
//! - [`apply`]: server-side apply of multi-document YAML; admission denials
//!   as lint-style diagnostics.
//! - [`timing`]: the controller manager's node-monitor grace period.
//! - [`portforward`]: a local TCP listener forwarding to a pod (Prometheus).
//!
//! Errors are one type, [`ApiError`], naming the object and what to do.

pub mod apply;
pub mod clients;
pub mod drain;
pub mod error;
pub mod nodes;
pub mod pdbs;
pub mod portforward;
pub mod rollouts;
pub mod timing;
pub mod types;
pub mod wait;

pub use apply::{AdmissionDiagnostic, ApplyOptions, ApplyReport, apply_yaml};
pub use clients::{Clients, clients_for};
pub use drain::{
    Backoff, DrainOptions, DrainOutcome, PodScope, Refusal, RefusalKind, drain_nodes, drain_zone,
};
pub use error::ApiError;
pub use nodes::{NodeFilter, NodeInfo, NodeReadiness, cordon, delete_node, list_nodes, uncordon};
pub use pdbs::read_pdb_statuses;
pub use portforward::{PortForward, find_pod, port_forward};
pub use rollouts::{ObservedRollout, PhaseReading, abort, promote, read_rollout, retry, set_image};
pub use types::{NodeName, PodRef, Presence};
pub use wait::{Verdict, WaitOptions, await_condition};
