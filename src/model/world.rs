//! The control-plane model's state: nodes, workloads and their ReplicaSets,
//! pods, budgets, drains, the mesh objects and the event log, on a virtual
//! clock (SEMANTICS.md §1); its construction and [`World::advance`], which
//! runs the controllers in order. Each controller is its own module:
//! [`crate::model::node_controller`], [`crate::model::drain`],
//! [`crate::model::eviction`], [`crate::model::replica_set`],
//! [`crate::model::scheduler`] and [`crate::model::controller`] (Argo).

use std::collections::BTreeSet;
use std::sync::Arc;

use serde::Serialize;

use crate::model::clock::{SimDuration, SimTime};
use crate::model::drain::Drain;
use crate::model::eviction::{Pdb, PdbCoverage};
use crate::model::mesh_config::MeshConfig;
use crate::model::node::{Node, NodeId, nodes_from_profile};
use crate::model::pod::{Pod, PodId, PodPhase};
use crate::model::rollout::RolloutState;
use crate::profile::{CapacityType, ClusterProfile};
use crate::topology::label_index::{Constraint, LabelIndex};
use crate::topology::labels::Labels;
use crate::topology::{ObjectName, Topology, Workload as TopologyWorkload};
use crate::zone::Zone;

/// Timing knobs of the cluster, defaults as in recent Kubernetes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ClusterTiming {
    /// Node controller marks a silent node NotReady after this (50 s since
    /// Kubernetes 1.32; 40 s before).
    pub node_monitor_grace: SimDuration,
    /// Pods of a NotReady node are deleted after the taint toleration (300 s).
    pub not_ready_toleration: SimDuration,
    /// From scheduling to passing the readiness probe.
    pub pod_startup: SimDuration,
    /// `kubectl drain` retries a refused eviction every 5 s.
    pub drain_retry: SimDuration,
}

impl Default for ClusterTiming {
    fn default() -> Self {
        ClusterTiming {
            node_monitor_grace: SimDuration::secs(50),
            not_ready_toleration: SimDuration::secs(300),
            pod_startup: SimDuration::secs(5),
            drain_retry: SimDuration::secs(5),
        }
    }
}

/// A ReplicaSet of a workload.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReplicaSet {
    /// Pod-template hash.
    pub hash: String,
    /// Container image(s) of the template, for reports.
    pub image: String,
    /// Desired pods.
    pub desired: i32,
}

/// A Rollout or Deployment in the model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Workload {
    /// Namespace and name.
    pub name: ObjectName,
    /// `Rollout` or `Deployment`.
    pub kind: String,
    /// spec.replicas.
    pub replicas: i32,
    /// Pod template labels.
    pub labels: Labels,
    /// Zones the pods may run in; `None` = any.
    pub zones: Option<BTreeSet<Zone>>,
    /// Capacity type the pods require.
    pub capacity: CapacityType,
    /// ReplicaSets, stable first.
    pub replica_sets: Vec<ReplicaSet>,
    /// `rollouts-pod-template-hash` for Rollouts, `pod-template-hash` for Deployments.
    pub hash_label: &'static str,
}

/// One entry of the model's event log (also the report timeline).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    /// When.
    pub at: SimTime,
    /// What, for humans.
    pub message: String,
    /// Category.
    pub kind: EventKind,
}

/// Why a pod was deleted: every path that deletes one names itself, so
/// tests and reports read the reason, not the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeletionReason {
    /// The Eviction API let it go (a drain).
    Evicted,
    /// The ReplicaSet controller scaled its ReplicaSet down.
    ScaledDown,
    /// It belonged to an old ReplicaSet being scaled away.
    OldReplicaSet,
    /// Its node was lost and replaced (Spot loss, node GC).
    NodeReplaced,
    /// Its node stayed NotReady past the pod's toleration (taint manager).
    TaintEviction,
}

impl DeletionReason {
    /// The words of the event message.
    pub fn describe(self) -> &'static str {
        match self {
            DeletionReason::Evicted => "evicted",
            DeletionReason::ScaledDown => "scaled down",
            DeletionReason::OldReplicaSet => "scaled down (old ReplicaSet)",
            DeletionReason::NodeReplaced => "node replaced",
            DeletionReason::TaintEviction => "node NotReady past the toleration (taint manager)",
        }
    }

    /// True when the pod went because its node was lost.
    pub fn is_node_loss(self) -> bool {
        matches!(
            self,
            DeletionReason::NodeReplaced | DeletionReason::TaintEviction
        )
    }
}

/// Event categories.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum EventKind {
    /// A pod was bound.
    PodScheduled,
    /// A pod could not be bound.
    PodPending,
    /// A pod was deleted.
    PodDeleted {
        /// Which controller deleted it, and why.
        reason: DeletionReason,
    },
    /// An eviction succeeded.
    Evicted,
    /// An eviction was refused.
    EvictionRefused {
        /// The pod.
        pod: String,
        /// The budget that refused it.
        pdb: Option<String>,
    },
    /// Nodes were cordoned.
    Cordoned,
    /// Nodes vanished.
    NodesLost,
    /// The node controller noticed.
    NodeNotReady,
    /// Nodes came back.
    Restored,
    /// A drain ended.
    DrainFinished {
        /// All pods left the zone.
        completed: bool,
    },
    /// Controller activity (Argo).
    Controller,
}

/// The world: everything the control plane knows.
#[derive(Debug, Clone)]
pub struct World {
    /// Virtual time.
    pub now: SimTime,
    /// Timing knobs.
    pub timing: ClusterTiming,
    /// The profile.
    pub profile: ClusterProfile,
    /// Nodes.
    pub nodes: Vec<Node>,
    /// Workloads (each shared between copies of the world until written).
    pub workloads: Vec<Arc<Workload>>,
    /// Pods, including deleted ones.
    pub pods: Vec<Pod>,
    /// Budgets (fixed after build; shared between copies of the world).
    pub pdbs: Arc<Vec<Pdb>>,
    /// The workloads each budget may cover (fixed after build).
    pub(super) pdb_coverage: Arc<PdbCoverage>,
    /// Drains, running and finished.
    pub drains: Vec<Drain>,
    /// Event log.
    pub events: Vec<Event>,
    /// Each Rollout's routing after each move of its canary
    /// ([`crate::model::reconciled`]).
    pub reconciled: Vec<crate::model::reconciled::ReconciledRouting>,
    /// Mesh objects as stored in the cluster (Argo rewrites them). Shared
    /// between copies of the world until one writes (`Arc::make_mut`), so
    /// `whatif` scenarios do not copy every mesh object.
    pub mesh: Arc<MeshConfig>,
    /// Argo Rollouts controller state, one per Rollout (each shared between
    /// copies of the world until written).
    pub rollouts: Vec<Arc<RolloutState>>,
    /// Pod indices per workload (pods are never removed, so this only grows).
    pods_by_workload: Vec<Vec<usize>>,
    /// Workload indices by namespace and template label, so Services and
    /// PDBs find their workloads without scanning the namespace.
    workload_labels: Arc<LabelIndex>,
    pod_seq: u64,
}

/// The labels a ReplicaSet adds to its pods: `hash_label` of a [`Workload`].
const TEMPLATE_HASH_LABELS: [&str; 2] = ["rollouts-pod-template-hash", "pod-template-hash"];

/// FNV-1a, enough for stable, short template hashes.
pub fn template_hash(text: &str) -> String {
    let mut h: u32 = 0x811c_9dc5;
    for b in text.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    // Kubernetes renders hashes with a consonant-heavy alphabet; hex is enough here.
    format!("{h:08x}")
}

fn workload_image(w: &TopologyWorkload<'_>) -> String {
    w.pod_spec()
        .map(|s| {
            s.containers
                .iter()
                .filter_map(|c| c.image.clone())
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default()
}

impl World {
    /// Builds the world from a topology and profile: nodes from the profile,
    /// one stable ReplicaSet per workload, every pod scheduled and ready at t=0.
    pub fn new(topology: &Topology, profile: &ClusterProfile, timing: ClusterTiming) -> World {
        let zone_key = profile.node_labels.zone.clone();
        let capacity_key = profile.node_labels.capacity_type.clone();
        let mut world = World {
            now: SimTime(0),
            timing,
            profile: profile.clone(),
            nodes: nodes_from_profile(profile),
            workloads: Vec::new(),
            pods: Vec::new(),
            pdbs: Arc::default(),
            pdb_coverage: Arc::default(),
            drains: Vec::new(),
            events: Vec::new(),
            reconciled: Vec::new(),
            mesh: Arc::new(MeshConfig::from_topology(topology)),
            rollouts: Vec::new(),
            pods_by_workload: Vec::new(),
            workload_labels: Arc::default(),
            pod_seq: 0,
        };
        for w in topology.workloads() {
            let image = workload_image(&w);
            let template_json = w
                .template
                .map(|t| serde_json::to_string(t).unwrap_or_default())
                .unwrap_or_default();
            let capacity = w
                .pod_spec()
                .and_then(|s| crate::topology::workload::pinned_zones(s, &capacity_key))
                .and_then(|set| {
                    set.iter().find_map(|v| match v.as_str() {
                        "spot" => Some(CapacityType::Spot),
                        "on-demand" => Some(CapacityType::OnDemand),
                        _ => None,
                    })
                })
                .unwrap_or(profile.placement.workloads);
            let is_rollout = w.rollout.is_some();
            let hash = template_hash(&template_json);
            if let Some(spec) = w.rollout {
                world.rollouts.push(Arc::new(RolloutState::new(
                    world.workloads.len(),
                    w.object.name.clone(),
                    spec.clone(),
                    hash.clone(),
                    image.clone(),
                )));
            }
            world.pods_by_workload.push(Vec::new());
            Arc::make_mut(&mut world.workload_labels).insert(
                world.workloads.len(),
                &w.object.name.namespace,
                w.pod_labels_ref(),
            );
            world.workloads.push(Arc::new(Workload {
                name: w.object.name.clone(),
                kind: w.object.kind_name.clone(),
                replicas: w.replicas,
                labels: w.pod_labels(),
                zones: w
                    .pinned_zones(&zone_key)
                    .map(|z| z.into_iter().map(Zone::from).collect()),
                capacity,
                replica_sets: vec![ReplicaSet {
                    hash,
                    image,
                    desired: w.replicas,
                }],
                hash_label: if is_rollout {
                    TEMPLATE_HASH_LABELS[0]
                } else {
                    TEMPLATE_HASH_LABELS[1]
                },
            }));
        }
        world.pdbs = Arc::new(
            topology
                .pdbs()
                .map(|(o, spec)| Pdb {
                    name: o.name.clone(),
                    spec: spec.clone(),
                })
                .collect(),
        );
        world.pdb_coverage = Arc::new(PdbCoverage::of(&world));
        world.reconcile_replica_sets();
        world.schedule_pending();
        world.reconcile_rollouts();
        // Start warm: the initial pods are ready at t=0.
        for pod in &mut world.pods {
            if pod.phase == PodPhase::Running {
                pod.ready_at = Some(SimTime(0));
            }
        }
        world.reconcile_rollouts();
        world.events.clear();
        world
    }

    /// Appends to the event log at the current time (every controller
    /// module reports through here).
    pub(super) fn log(&mut self, kind: EventKind, message: String) {
        self.events.push(Event {
            at: self.now,
            message,
            kind,
        });
    }

    /// Nodes of a zone, optionally of one capacity type.
    pub fn zone_nodes(&self, zone: &Zone, capacity: Option<CapacityType>) -> Vec<NodeId> {
        self.nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| &n.zone == zone && capacity.is_none_or(|c| n.capacity == c))
            .map(|(i, _)| NodeId(i))
            .collect()
    }

    /// True when the pod's process answers requests: started and its node runs.
    pub fn pod_serving(&self, pod: &Pod) -> bool {
        pod.started(self.now) && pod.node.is_some_and(|n| self.nodes[n.0].is_up())
    }

    /// True when Kubernetes reports the pod Ready (so it is in the mesh's
    /// endpoints and counts as healthy for PDBs): started, and its node not
    /// yet noticed as lost.
    pub fn pod_ready(&self, pod: &Pod) -> bool {
        pod.started(self.now)
            && pod.node.is_some_and(|n| match self.nodes[n.0].lost_at {
                None => true,
                Some(lost) => self.now < lost + self.timing.node_monitor_grace,
            })
    }

    /// Zone a pod runs in.
    pub fn pod_zone(&self, pod: &Pod) -> Option<&Zone> {
        pod.node.map(|n| &self.nodes[n.0].zone)
    }

    /// Active pods of a workload.
    pub fn workload_pods(&self, workload: usize) -> impl Iterator<Item = (PodId, &Pod)> {
        self.pods_by_workload
            .get(workload)
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .map(|&i| (PodId(i), &self.pods[i]))
            .filter(|(_, p)| p.is_active())
    }

    /// Indices of the workloads of a namespace.
    pub fn workloads_in(&self, namespace: &str) -> &[usize] {
        self.workload_labels.in_namespace(namespace)
    }

    /// Indices of the workloads of a namespace whose pods may meet every
    /// constraint, in order: a superset the caller still matches pod by pod
    /// (see [`LabelIndex::candidates`]).
    pub fn workload_candidates<'c>(
        &self,
        namespace: &str,
        constraints: impl IntoIterator<Item = Constraint<'c>>,
    ) -> &[usize] {
        // Pods carry the template-hash label besides the template's labels,
        // so a constraint on it says nothing about the template.
        let on_template = constraints
            .into_iter()
            .filter(|c| !TEMPLATE_HASH_LABELS.contains(&c.key()));
        self.workload_labels.candidates(namespace, on_template)
    }

    /// Indices of a workload's pods, deleted ones included.
    pub(super) fn pod_indices(&self, workload: usize) -> Vec<usize> {
        self.pods_by_workload
            .get(workload)
            .cloned()
            .unwrap_or_default()
    }

    /// Adds a Pending pod of a workload's ReplicaSet. Pod creation and
    /// deletion stay here because they keep the per-workload index, which
    /// only this module may touch.
    pub(super) fn create_pod(&mut self, workload: usize, hash: &str) -> PodId {
        self.pod_seq += 1;
        let w = &self.workloads[workload];
        // Pods of one ReplicaSet share one label map, so selectors are
        // evaluated once per ReplicaSet (`SharedLabelsTest`); the newest
        // pod of the workload is nearly always of the same hash.
        let same_set = self.pods_by_workload[workload]
            .iter()
            .rev()
            .map(|&i| &self.pods[i])
            .find(|p| p.template_hash == hash);
        let labels = match same_set {
            Some(p) => std::sync::Arc::clone(&p.labels),
            None => {
                let mut labels = w.labels.clone();
                labels.insert(w.hash_label.to_owned(), hash.to_owned());
                std::sync::Arc::new(labels)
            }
        };
        let pod = Pod {
            name: format!("{}-{}-{}", w.name.name, hash, self.pod_seq),
            workload,
            template_hash: hash.to_owned(),
            labels,
            node: None,
            phase: PodPhase::Pending,
            created: self.now,
            ready_at: None,
            deleted_at: None,
            pending_reported: false,
            endpoint_labels: None,
            locality: std::sync::Arc::default(),
        };
        self.pods.push(pod);
        let id = self.pods.len() - 1;
        self.pods_by_workload[workload].push(id);
        PodId(id)
    }

    /// Marks a pod Deleted (once) and logs why; pods are never removed, so
    /// indices stay valid.
    pub(super) fn delete_pod(&mut self, id: PodId, reason: DeletionReason) {
        let pod = &mut self.pods[id.0];
        if pod.phase == PodPhase::Deleted {
            return;
        }
        pod.phase = PodPhase::Deleted;
        pod.deleted_at = Some(self.now);
        let message = format!("pod {} deleted: {}", pod.name, reason.describe());
        self.log(EventKind::PodDeleted { reason }, message);
    }

    /// Advances virtual time, running the node controller, the drains, the
    /// ReplicaSet controller and the scheduler.
    pub fn advance(&mut self, to: SimTime) {
        if to < self.now {
            return;
        }
        let before = self.now;
        self.now = to;
        // The node controller first, so pods it deletes are replaced in
        // this same step.
        self.run_node_controller(before);
        self.step_drains();
        self.reconcile_rollouts();
        self.reconcile_replica_sets();
        self.schedule_pending();
    }

    /// The zones whose nodes hold at least one ready pod of a workload.
    pub fn workload_ready_zones(&self, workload: usize) -> BTreeSet<Zone> {
        self.workload_pods(workload)
            .filter(|(_, p)| self.pod_ready(p))
            .filter_map(|(_, p)| self.pod_zone(p).cloned())
            .collect()
    }

    /// Index of a workload by name.
    pub fn workload_index(&self, namespace: &str, name: &str) -> Option<usize> {
        self.workloads
            .iter()
            .position(|w| w.name.namespace == namespace && w.name.name == name)
    }
}

/// Test fixtures shared by the model's controller modules.
#[cfg(test)]
pub(crate) mod fixtures {
    use super::*;
    use crate::topology::{Loaded, load_text};
    use std::path::Path;
    use std::sync::Arc;

    /// A world of a YAML text with the builtin profile and default timing.
    pub(crate) fn world_from(yaml: &str) -> World {
        let mut loaded = Loaded::default();
        load_text(Arc::from(Path::new("t.yaml")), yaml, &mut loaded);
        assert!(loaded.issues.is_empty(), "{:?}", loaded.issues);
        World::new(
            &Topology::new(loaded.objects),
            &ClusterProfile::builtin(),
            ClusterTiming::default(),
        )
    }

    /// A Rollout of 3 pinned to us-east-1a with a minAvailable-1 budget.
    pub(crate) const PINNED: &str = "apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: {name: test-a, namespace: default}\nspec:\n  replicas: 3\n  selector: {matchLabels: {app: test, zone: a}}\n  template:\n    metadata: {labels: {app: test, zone: a}}\n    spec:\n      containers: [{name: app, image: myapp:v1}]\n      affinity:\n        nodeAffinity:\n          requiredDuringSchedulingIgnoredDuringExecution:\n            nodeSelectorTerms:\n              - matchExpressions:\n                  - {key: topology.kubernetes.io/zone, operator: In, values: [us-east-1a]}\n---\napiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: test-a-pdb, namespace: default}\nspec:\n  minAvailable: 1\n  selector: {matchLabels: {app: test, zone: a}}\n";

    /// Active pods Kubernetes reports Ready.
    pub(crate) fn ready_count(w: &World) -> usize {
        w.pods
            .iter()
            .filter(|p| p.is_active() && w.pod_ready(p))
            .count()
    }
}
