//! Pods, as the model tracks them: which ReplicaSet, where, and the three
//! different notions of "up" that matter for chaos.

use crate::model::clock::SimTime;
use crate::model::node::NodeId;
use crate::topology::labels::Labels;

/// Index of a pod in the world (pods are never removed, only marked deleted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct PodId(pub usize);

/// Lifecycle phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum PodPhase {
    /// Not bound to a node (nothing fits, or not scheduled yet).
    Pending,
    /// Bound to a node.
    Running,
    /// Deleted (evicted, scaled down, garbage-collected).
    Deleted,
}

/// One pod.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Pod {
    /// `<workload>-<hash>-<n>`.
    pub name: String,
    /// Index of the owning workload.
    pub workload: usize,
    /// Pod-template hash of its ReplicaSet.
    pub template_hash: String,
    /// Template labels plus the template-hash label (shared: never changes).
    pub labels: std::sync::Arc<Labels>,
    /// Bound node.
    pub node: Option<NodeId>,
    /// Phase.
    pub phase: PodPhase,
    /// Creation time.
    pub created: SimTime,
    /// When the app answers its readiness probe.
    pub ready_at: Option<SimTime>,
    /// When it was deleted.
    pub deleted_at: Option<SimTime>,
    /// Labels as the mesh sees the endpoint: pod labels plus the node's
    /// locality, cluster and hostname (istiod adds them); set when the pod
    /// is bound.
    #[serde(skip)]
    pub endpoint_labels: Option<std::sync::Arc<Labels>>,
    /// Its node's Envoy locality, `region/zone/subzone` ("" parts unset);
    /// set when the pod is bound.
    #[serde(skip)]
    pub locality: std::sync::Arc<str>,
    /// Its Pending state has been logged once.
    #[serde(skip)]
    pub pending_reported: bool,
}

impl Pod {
    /// Not deleted.
    pub fn is_active(&self) -> bool {
        self.phase != PodPhase::Deleted
    }

    /// Bound and past its start-up time (whether or not its node still runs).
    pub fn started(&self, now: SimTime) -> bool {
        self.phase == PodPhase::Running && self.ready_at.is_some_and(|t| t <= now)
    }
}
