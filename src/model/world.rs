//! The control-plane model: nodes, workloads and their ReplicaSets, pods, a
//! scheduler, PodDisruptionBudgets, the Eviction API, drain, Spot loss and
//! restore, on a virtual clock (SEMANTICS.md §1).

use std::collections::BTreeSet;

use serde::Serialize;

use crate::model::clock::{SimDuration, SimTime};
use crate::model::mesh_config::MeshConfig;
use crate::model::node::{Node, NodeId, nodes_from_profile};
use crate::model::pod::{Pod, PodId, PodPhase};
use crate::model::rollout::RolloutState;
use crate::profile::{CapacityType, ClusterProfile};
use crate::topology::labels::{Labels, selector_matches};
use crate::topology::pdb::{BadBudgetValue, desired_healthy};
use crate::topology::{ObjectName, Topology, Workload as TopologyWorkload};
use crate::zone::Zone;

use k8s_openapi::api::policy::v1::PodDisruptionBudgetSpec;

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

/// A PodDisruptionBudget in the model.
#[derive(Debug, Clone, PartialEq)]
pub struct Pdb {
    /// Namespace and name.
    pub name: ObjectName,
    /// The spec.
    pub spec: PodDisruptionBudgetSpec,
}

/// What the disruption controller would publish in `.status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PdbStatus {
    /// Pods the owners want.
    pub expected_pods: i32,
    /// Ready pods selected.
    pub current_healthy: i32,
    /// Pods that must stay ready.
    pub desired_healthy: i32,
    /// Evictions allowed now.
    pub disruptions_allowed: i32,
}

/// Why an eviction was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum EvictionRefusal {
    /// HTTP 429: the budget allows no disruption.
    Budget {
        /// The PDB.
        pdb: String,
    },
    /// HTTP 500: more than one PDB covers the pod.
    TooManyBudgets,
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

/// Event categories.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum EventKind {
    /// A pod was bound.
    PodScheduled,
    /// A pod could not be bound.
    PodPending,
    /// A pod was deleted.
    PodDeleted,
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

/// A drain in progress: cordon done, evictions retried until a deadline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Drain {
    /// Nodes being drained.
    pub nodes: Vec<NodeId>,
    /// Give up at.
    pub deadline: SimTime,
    /// Next eviction round.
    pub next_try: SimTime,
    /// Evictions that succeeded.
    pub evicted: Vec<String>,
    /// Refused evictions: (time, pod, pdb).
    pub refusals: Vec<(SimTime, String, Option<String>)>,
    /// Finished (all pods gone or deadline passed).
    pub finished: Option<bool>,
    /// Nodes to take down when the deadline passes (Spot notice cut-off).
    pub then_lose: bool,
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
    /// Workloads.
    pub workloads: Vec<Workload>,
    /// Pods, including deleted ones.
    pub pods: Vec<Pod>,
    /// Budgets.
    pub pdbs: Vec<Pdb>,
    /// Drains, running and finished.
    pub drains: Vec<Drain>,
    /// Event log.
    pub events: Vec<Event>,
    /// Mesh objects as stored in the cluster (Argo rewrites them).
    pub mesh: MeshConfig,
    /// Argo Rollouts controller state, one per Rollout.
    pub rollouts: Vec<RolloutState>,
    /// Pod indices per workload (pods are never removed, so this only grows).
    pods_by_workload: Vec<Vec<usize>>,
    /// Workload indices per namespace.
    workloads_by_ns: std::collections::HashMap<String, Vec<usize>>,
    pod_seq: u64,
}

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
            pdbs: Vec::new(),
            drains: Vec::new(),
            events: Vec::new(),
            mesh: MeshConfig::from_topology(topology),
            rollouts: Vec::new(),
            pods_by_workload: Vec::new(),
            workloads_by_ns: Default::default(),
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
                world.rollouts.push(RolloutState::new(
                    world.workloads.len(),
                    w.object.name.clone(),
                    spec.clone(),
                    hash.clone(),
                    image.clone(),
                ));
            }
            world.pods_by_workload.push(Vec::new());
            world
                .workloads_by_ns
                .entry(w.object.name.namespace.clone())
                .or_default()
                .push(world.workloads.len());
            world.workloads.push(Workload {
                name: w.object.name.clone(),
                kind: w.object.kind_name.clone(),
                replicas: w.replicas,
                labels: w.pod_labels(),
                zones: w
                    .pinned_zones(&zone_key)
                    .map(|z| z.into_iter().map(Zone).collect()),
                capacity,
                replica_sets: vec![ReplicaSet {
                    hash,
                    image,
                    desired: w.replicas,
                }],
                hash_label: if is_rollout {
                    "rollouts-pod-template-hash"
                } else {
                    "pod-template-hash"
                },
            });
        }
        for (o, spec) in topology.pdbs() {
            world.pdbs.push(Pdb {
                name: o.name.clone(),
                spec: spec.clone(),
            });
        }
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

    fn log(&mut self, kind: EventKind, message: String) {
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
        self.workloads_by_ns
            .get(namespace)
            .map_or(&[], Vec::as_slice)
    }

    /// Indices of a workload's pods, deleted ones included.
    fn pod_indices(&self, workload: usize) -> Vec<usize> {
        self.pods_by_workload
            .get(workload)
            .cloned()
            .unwrap_or_default()
    }

    /// Creates or deletes pods so each ReplicaSet has its desired count.
    pub fn reconcile_replica_sets(&mut self) {
        for wi in 0..self.workloads.len() {
            let rs_list = self.workloads[wi].replica_sets.clone();
            let live_hashes: BTreeSet<&str> = rs_list.iter().map(|r| r.hash.as_str()).collect();
            // Pods of ReplicaSets that no longer exist go away.
            let orphans: Vec<usize> = self
                .pod_indices(wi)
                .into_iter()
                .filter(|&i| {
                    let p = &self.pods[i];
                    p.is_active() && !live_hashes.contains(p.template_hash.as_str())
                })
                .collect();
            for i in orphans {
                self.delete_pod(PodId(i), "scaled down (old ReplicaSet)");
            }
            for rs in &rs_list {
                let mut active: Vec<usize> = self
                    .pod_indices(wi)
                    .into_iter()
                    .filter(|&i| self.pods[i].is_active() && self.pods[i].template_hash == rs.hash)
                    .collect();
                let desired = usize::try_from(rs.desired.max(0)).unwrap_or(0);
                while active.len() < desired {
                    let id = self.create_pod(wi, &rs.hash);
                    active.push(id.0);
                }
                if active.len() > desired {
                    // Scale down: Pending first, then not-ready, then newest.
                    active.sort_by_key(|&i| {
                        let p = &self.pods[i];
                        (
                            p.phase == PodPhase::Running,
                            self.pod_ready(p),
                            std::cmp::Reverse(p.created),
                        )
                    });
                    for &i in active.iter().take(active.len() - desired) {
                        self.delete_pod(PodId(i), "scaled down");
                    }
                }
            }
        }
    }

    fn create_pod(&mut self, workload: usize, hash: &str) -> PodId {
        self.pod_seq += 1;
        let w = &self.workloads[workload];
        let mut labels = w.labels.clone();
        labels.insert(w.hash_label.to_owned(), hash.to_owned());
        let pod = Pod {
            name: format!("{}-{}-{}", w.name.name, hash, self.pod_seq),
            workload,
            template_hash: hash.to_owned(),
            labels: std::sync::Arc::new(labels),
            node: None,
            phase: PodPhase::Pending,
            created: self.now,
            ready_at: None,
            deleted_at: None,
            pending_reported: false,
            endpoint_labels: None,
        };
        self.pods.push(pod);
        let id = self.pods.len() - 1;
        self.pods_by_workload[workload].push(id);
        PodId(id)
    }

    fn delete_pod(&mut self, id: PodId, reason: &str) {
        let pod = &mut self.pods[id.0];
        if pod.phase == PodPhase::Deleted {
            return;
        }
        pod.phase = PodPhase::Deleted;
        pod.deleted_at = Some(self.now);
        let message = format!("pod {} deleted: {reason}", pod.name);
        self.log(EventKind::PodDeleted, message);
    }

    /// Binds Pending pods to nodes that fit: schedulable, in an allowed zone,
    /// of the required capacity type; least-loaded node first.
    pub fn schedule_pending(&mut self) {
        let mut load: Vec<usize> = vec![0; self.nodes.len()];
        for p in self.pods.iter().filter(|p| p.phase == PodPhase::Running) {
            if let Some(n) = p.node {
                load[n.0] += 1;
            }
        }
        for i in 0..self.pods.len() {
            if self.pods[i].phase != PodPhase::Pending {
                continue;
            }
            let w = &self.workloads[self.pods[i].workload];
            let best = self
                .nodes
                .iter()
                .enumerate()
                .filter(|(_, n)| {
                    n.schedulable()
                        && n.capacity == w.capacity
                        && w.zones.as_ref().is_none_or(|z| z.contains(&n.zone))
                })
                .min_by_key(|(ni, _)| (load[*ni], *ni))
                .map(|(ni, _)| ni);
            match best {
                Some(ni) => {
                    load[ni] += 1;
                    let ready_at = self.now + self.timing.pod_startup;
                    let keys = &self.profile.node_labels;
                    let mut endpoint_labels = (*self.pods[i].labels).clone();
                    for key in [&keys.zone, &keys.region] {
                        if let Some(v) = self.nodes[ni].labels.get(key) {
                            endpoint_labels.insert(key.clone(), v.clone());
                        }
                    }
                    let pod = &mut self.pods[i];
                    pod.endpoint_labels = Some(std::sync::Arc::new(endpoint_labels));
                    pod.node = Some(NodeId(ni));
                    pod.phase = PodPhase::Running;
                    pod.ready_at = Some(ready_at);
                    let message = format!("pod {} scheduled on {}", pod.name, self.nodes[ni].name);
                    self.log(EventKind::PodScheduled, message);
                }
                None => {
                    if !self.pods[i].pending_reported {
                        self.pods[i].pending_reported = true;
                        let message = format!(
                            "pod {} Pending: no schedulable node fits its zone and capacity type",
                            self.pods[i].name
                        );
                        self.log(EventKind::PodPending, message);
                    }
                }
            }
        }
    }

    /// PDBs whose selector matches a pod (same namespace).
    pub fn pdbs_covering(&self, pod: &Pod) -> Vec<usize> {
        let ns = &self.workloads[pod.workload].name.namespace;
        self.pdbs
            .iter()
            .enumerate()
            .filter(|(_, b)| {
                &b.name.namespace == ns
                    && b.spec
                        .selector
                        .as_ref()
                        .is_some_and(|s| selector_matches(s, &pod.labels))
            })
            .map(|(i, _)| i)
            .collect()
    }

    /// The budget's status as the disruption controller computes it.
    pub fn pdb_status(&self, pdb: usize) -> Result<PdbStatus, BadBudgetValue> {
        let b = &self.pdbs[pdb];
        let selector = b.spec.selector.clone().unwrap_or_default();
        // Expected pods: the scale of every owner whose pods the selector matches.
        let in_ns = self.workloads_in(&b.name.namespace);
        let expected: i32 = in_ns
            .iter()
            .map(|&w| &self.workloads[w])
            .filter(|w| selector_matches(&selector, &w.labels))
            .map(|w| w.replicas)
            .sum();
        let healthy = in_ns
            .iter()
            .flat_map(|&w| self.workload_pods(w))
            .filter(|(_, p)| selector_matches(&selector, &p.labels) && self.pod_ready(p))
            .count() as i32;
        let desired = desired_healthy(&b.spec, expected)?;
        Ok(PdbStatus {
            expected_pods: expected,
            current_healthy: healthy,
            desired_healthy: desired,
            disruptions_allowed: (healthy - desired).max(0),
        })
    }

    /// The policy/v1 Eviction API: refused with 429 when a covering budget
    /// allows no disruption; otherwise the pod is deleted gracefully (it
    /// leaves the endpoints at once) and its ReplicaSet replaces it.
    pub fn evict(&mut self, id: PodId) -> Result<(), EvictionRefusal> {
        let covering = self.pdbs_covering(&self.pods[id.0]);
        if covering.len() > 1 {
            return Err(EvictionRefusal::TooManyBudgets);
        }
        if let Some(&b) = covering.first() {
            let allowed = self
                .pdb_status(b)
                .map(|s| s.disruptions_allowed)
                .unwrap_or(0);
            // A pod that is not ready does not consume the budget.
            if allowed <= 0 && self.pod_ready(&self.pods[id.0]) {
                return Err(EvictionRefusal::Budget {
                    pdb: self.pdbs[b].name.name.clone(),
                });
            }
        }
        let name = self.pods[id.0].name.clone();
        self.delete_pod(id, "evicted");
        self.log(EventKind::Evicted, format!("pod {name} evicted"));
        self.reconcile_replica_sets();
        self.schedule_pending();
        Ok(())
    }

    /// `kubectl cordon` for nodes.
    pub fn cordon(&mut self, nodes: &[NodeId]) {
        for n in nodes {
            self.nodes[n.0].cordoned = true;
        }
        let names: Vec<&str> = nodes
            .iter()
            .map(|n| self.nodes[n.0].name.as_str())
            .collect();
        let message = format!("cordoned {}", names.join(", "));
        self.log(EventKind::Cordoned, message);
    }

    /// Starts `kubectl drain` of nodes: cordon, then evict every pod,
    /// retrying refusals until `timeout`. Progress happens in [`World::advance`].
    pub fn start_drain(
        &mut self,
        nodes: Vec<NodeId>,
        timeout: SimDuration,
        then_lose: bool,
    ) -> usize {
        self.cordon(&nodes);
        self.drains.push(Drain {
            nodes,
            deadline: self.now + timeout,
            next_try: self.now,
            evicted: Vec::new(),
            refusals: Vec::new(),
            finished: None,
            then_lose,
        });
        let id = self.drains.len() - 1;
        self.step_drains();
        id
    }

    fn step_drains(&mut self) {
        for d in 0..self.drains.len() {
            if self.drains[d].finished.is_some() || self.now < self.drains[d].next_try {
                continue;
            }
            let nodes = self.drains[d].nodes.clone();
            let on_nodes: Vec<PodId> = self
                .pods
                .iter()
                .enumerate()
                .filter(|(_, p)| p.is_active() && p.node.is_some_and(|n| nodes.contains(&n)))
                .map(|(i, _)| PodId(i))
                .collect();
            let past_deadline = self.now >= self.drains[d].deadline;
            if on_nodes.is_empty() || past_deadline {
                let completed = on_nodes.is_empty();
                self.drains[d].finished = Some(completed);
                let message = if completed {
                    "drain completed: every pod evicted".to_owned()
                } else {
                    format!("drain timed out with {} pods left", on_nodes.len())
                };
                self.log(EventKind::DrainFinished { completed }, message);
                if self.drains[d].then_lose {
                    self.lose_nodes(&nodes);
                }
                continue;
            }
            for id in on_nodes {
                let name = self.pods[id.0].name.clone();
                match self.evict(id) {
                    Ok(()) => self.drains[d].evicted.push(name),
                    Err(refusal) => {
                        let pdb = match &refusal {
                            EvictionRefusal::Budget { pdb } => Some(pdb.clone()),
                            EvictionRefusal::TooManyBudgets => None,
                        };
                        self.drains[d]
                            .refusals
                            .push((self.now, name.clone(), pdb.clone()));
                        let message = match &pdb {
                            Some(b) => format!(
                                "eviction of {name} refused (429): PodDisruptionBudget {b} allows no disruption"
                            ),
                            None => format!(
                                "eviction of {name} refused (500): more than one PodDisruptionBudget covers it"
                            ),
                        };
                        self.log(EventKind::EvictionRefused { pod: name, pdb }, message);
                    }
                }
            }
            self.drains[d].next_try = self.now + self.timing.drain_retry;
        }
    }

    /// Abrupt loss: the instances vanish; pods stop at once without eviction
    /// (PDBs are not consulted).
    pub fn lose_nodes(&mut self, nodes: &[NodeId]) {
        for n in nodes {
            if self.nodes[n.0].lost_at.is_none() {
                self.nodes[n.0].lost_at = Some(self.now);
            }
        }
        let names: Vec<&str> = nodes
            .iter()
            .map(|n| self.nodes[n.0].name.as_str())
            .collect();
        let message = format!("nodes lost: {}", names.join(", "));
        self.log(EventKind::NodesLost, message);
    }

    /// Spot loss of a zone's Spot nodes: with a notice, a drain runs until
    /// the notice ends and is then cut off by the loss.
    pub fn spot_loss(&mut self, zone: &Zone, notice: Option<SimDuration>) {
        let nodes = self.zone_nodes(zone, Some(CapacityType::Spot));
        match notice {
            Some(n) if n.0 > 0 => {
                self.start_drain(nodes, n, true);
            }
            _ => self.lose_nodes(&nodes),
        }
    }

    /// New instances replace the zone's lost nodes and cordons are lifted:
    /// pods still bound to lost nodes are garbage-collected, Pending pods schedule.
    pub fn restore(&mut self, zone: &Zone) {
        let nodes = self.zone_nodes(zone, None);
        let stale: Vec<PodId> = self
            .pods
            .iter()
            .enumerate()
            .filter(|(_, p)| {
                p.is_active()
                    && p.node
                        .is_some_and(|n| nodes.contains(&n) && !self.nodes[n.0].is_up())
            })
            .map(|(i, _)| PodId(i))
            .collect();
        for id in stale {
            self.delete_pod(id, "node replaced");
        }
        for n in &nodes {
            self.nodes[n.0].lost_at = None;
            self.nodes[n.0].cordoned = false;
            self.nodes[n.0].blackholes = false;
        }
        // A restore ends any drain of those nodes.
        for d in &mut self.drains {
            if d.finished.is_none() && d.nodes.iter().any(|n| nodes.contains(n)) {
                d.finished = Some(false);
                d.then_lose = false;
            }
        }
        self.log(EventKind::Restored, format!("zone {zone} restored"));
        self.reconcile_replica_sets();
        self.schedule_pending();
    }

    /// Advances virtual time, running the node controller, the drains, the
    /// ReplicaSet controller and the scheduler.
    pub fn advance(&mut self, to: SimTime) {
        if to < self.now {
            return;
        }
        let before = self.now;
        self.now = to;
        // Node controller: lost nodes noticed after the grace period, their
        // pods deleted after the NotReady toleration.
        let grace = self.timing.node_monitor_grace;
        let toleration = self.timing.not_ready_toleration;
        for ni in 0..self.nodes.len() {
            let Some(lost) = self.nodes[ni].lost_at else {
                continue;
            };
            let noticed = lost + grace;
            if before < noticed && noticed <= to {
                let message = format!(
                    "node {} NotReady: its pods' endpoints leave the mesh",
                    self.nodes[ni].name
                );
                self.log(EventKind::NodeNotReady, message);
            }
            if noticed + toleration <= to {
                let doomed: Vec<PodId> = self
                    .pods
                    .iter()
                    .enumerate()
                    .filter(|(_, p)| p.is_active() && p.node == Some(NodeId(ni)))
                    .map(|(i, _)| PodId(i))
                    .collect();
                for id in doomed {
                    self.delete_pod(id, "node NotReady past the toleration (taint manager)");
                }
            }
        }
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

    /// Index of a PDB by name (any namespace when the name is unique).
    pub fn pdb_index(&self, name: &str) -> Option<usize> {
        self.pdbs.iter().position(|b| b.name.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::{Loaded, load_text};
    use std::path::Path;
    use std::sync::Arc;

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

    pub(crate) const PINNED: &str = "apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: {name: test-a, namespace: default}\nspec:\n  replicas: 3\n  selector: {matchLabels: {app: test, zone: a}}\n  template:\n    metadata: {labels: {app: test, zone: a}}\n    spec:\n      containers: [{name: app, image: myapp:v1}]\n      affinity:\n        nodeAffinity:\n          requiredDuringSchedulingIgnoredDuringExecution:\n            nodeSelectorTerms:\n              - matchExpressions:\n                  - {key: topology.kubernetes.io/zone, operator: In, values: [us-east-1a]}\n---\napiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: test-a-pdb, namespace: default}\nspec:\n  minAvailable: 1\n  selector: {matchLabels: {app: test, zone: a}}\n";

    fn ready_count(w: &World) -> usize {
        w.pods
            .iter()
            .filter(|p| p.is_active() && w.pod_ready(p))
            .count()
    }

    #[test]
    fn pinned_pods_land_on_spot_nodes_of_their_zone() {
        let w = world_from(PINNED);
        assert_eq!(ready_count(&w), 3);
        for p in w.pods.iter() {
            let n = &w.nodes[p.node.unwrap().0];
            assert_eq!(n.zone.as_str(), "us-east-1a");
            assert_eq!(n.capacity, CapacityType::Spot);
        }
        let s = w.pdb_status(0).unwrap();
        assert_eq!(
            (s.expected_pods, s.current_healthy, s.disruptions_allowed),
            (3, 3, 2)
        );
    }

    #[test]
    fn zone_drain_blocks_at_min_available_and_records_refusals() {
        let mut w = world_from(PINNED);
        let nodes = w.zone_nodes(&Zone::from("us-east-1a"), None);
        w.start_drain(nodes, SimDuration::secs(60), false);
        for s in 1..=70 {
            w.advance(SimTime(s * 1000));
        }
        let d = &w.drains[0];
        assert_eq!(d.finished, Some(false), "drain cannot complete");
        assert_eq!(d.evicted.len(), 2);
        assert!(!d.refusals.is_empty());
        assert!(
            d.refusals
                .iter()
                .all(|(_, _, pdb)| pdb.as_deref() == Some("test-a-pdb"))
        );
        // One pod left running; replacements Pending (zone cordoned).
        assert_eq!(ready_count(&w), 1);
        let pending = w
            .pods
            .iter()
            .filter(|p| p.phase == PodPhase::Pending)
            .count();
        assert_eq!(pending, 2);
        assert_eq!(w.pdb_status(0).unwrap().disruptions_allowed, 0);
    }

    #[test]
    fn spot_loss_ignores_pdbs_and_endpoints_linger_for_the_grace_period() {
        let mut w = world_from(PINNED);
        w.spot_loss(&Zone::from("us-east-1a"), None);
        // Pods stop serving at once...
        assert!(
            w.pods
                .iter()
                .filter(|p| p.is_active())
                .all(|p| !w.pod_serving(p))
        );
        // ...but Kubernetes still calls them Ready until the grace period.
        w.advance(SimTime(49_000));
        assert_eq!(ready_count(&w), 3);
        w.advance(SimTime(50_000));
        assert_eq!(ready_count(&w), 0);
        // After the toleration they are deleted; replacements stay Pending.
        w.advance(SimTime(351_000));
        assert_eq!(
            w.pods
                .iter()
                .filter(|p| p.phase == PodPhase::Pending)
                .count(),
            3
        );
        w.restore(&Zone::from("us-east-1a"));
        w.advance(SimTime(360_000));
        assert_eq!(ready_count(&w), 3);
    }

    #[test]
    fn spot_notice_drains_then_cuts_off() {
        let mut w = world_from(PINNED);
        w.spot_loss(&Zone::from("us-east-1a"), Some(SimDuration::secs(120)));
        w.advance(SimTime(60_000));
        assert!(w.nodes.iter().all(|n| n.is_up()));
        w.advance(SimTime(121_000));
        assert!(
            w.zone_nodes(&Zone::from("us-east-1a"), Some(CapacityType::Spot))
                .iter()
                .all(|n| !w.nodes[n.0].is_up())
        );
        assert_eq!(w.drains[0].finished, Some(false));
    }
}
