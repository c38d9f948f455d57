//! `kubectl cordon` and `kubectl drain`: evictions through the Eviction API,
//! refusals retried until a deadline (SEMANTICS.md §1).

use serde::Serialize;

use crate::model::World;
use crate::model::clock::{SimDuration, SimTime};
use crate::model::eviction::EvictionRefusal;
use crate::model::node::NodeId;
use crate::model::pod::{PodId, PodPhase};
use crate::model::world::EventKind;

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
    /// The index in the world's budgets of each refusing budget, one entry
    /// per refusal that names one.
    #[serde(skip)]
    pub refused_by: Vec<usize>,
    /// Finished (all pods gone or deadline passed).
    pub finished: Option<bool>,
    /// Nodes to take down when the deadline passes (Spot notice cut-off).
    pub then_lose: bool,
}

impl World {
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
            refused_by: Vec::new(),
            finished: None,
            then_lose,
        });
        let id = self.drains.len() - 1;
        self.step_drains();
        id
    }

    /// The pods not deleted that are bound to one of `nodes`, in order.
    pub fn active_pods_on(&self, nodes: &[NodeId]) -> Vec<PodId> {
        self.pods
            .iter()
            .enumerate()
            .filter(|(_, p)| p.is_active() && p.node.is_some_and(|n| nodes.contains(&n)))
            .map(|(i, _)| PodId(i))
            .collect()
    }

    /// One round of every running drain whose retry is due: finish it when
    /// its nodes are empty or its deadline passed, else evict what is left.
    pub(super) fn step_drains(&mut self) {
        for d in 0..self.drains.len() {
            if self.drains[d].finished.is_some() || self.now < self.drains[d].next_try {
                continue;
            }
            let nodes = self.drains[d].nodes.clone();
            let on_nodes = self.active_pods_on(&nodes);
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
            // Node load once the round's first eviction has run every
            // controller; later evictions replace only their own pod, so a
            // round costs its evictions, not evictions x pods.
            let mut load: Option<Vec<usize>> = None;
            for id in on_nodes {
                let name = self.pods[id.0].name.clone();
                let was_running = self.pods[id.0].phase == PodPhase::Running;
                match self.evict_only(id) {
                    Ok(()) => {
                        match &mut load {
                            None => {
                                self.reconcile_replica_sets();
                                self.schedule_pending();
                                load = Some(self.node_load());
                            }
                            Some(load) => {
                                if let (true, Some(n)) = (was_running, self.pods[id.0].node) {
                                    load[n.0] = load[n.0].saturating_sub(1);
                                }
                                let workload = self.pods[id.0].workload;
                                self.reconcile_workload(workload);
                                self.schedule_workload(workload, load);
                            }
                        }
                        self.drains[d].evicted.push(name);
                    }
                    Err(refusal) => {
                        let pdb = match &refusal {
                            EvictionRefusal::Budget { pdb, index } => {
                                self.drains[d].refused_by.push(*index);
                                Some(pdb.clone())
                            }
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
}

#[cfg(test)]
mod tests {
    use crate::model::clock::{SimDuration, SimTime};
    use crate::model::pod::PodPhase;
    use crate::model::world::fixtures::{PINNED, ready_count, world_from};
    use crate::zone::Zone;

    /// Two unpinned Rollouts (their replacements bind in other zones, by
    /// node load) and a budget that lets some evictions through.
    const SPREAD: &str = "apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: {name: web, namespace: default}\nspec:\n  replicas: 7\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers: [{name: app, image: web:v1}]\n---\napiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: {name: api, namespace: default}\nspec:\n  replicas: 5\n  selector: {matchLabels: {app: api}}\n  template:\n    metadata: {labels: {app: api}}\n    spec:\n      containers: [{name: app, image: api:v1}]\n---\napiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: web-pdb, namespace: default}\nspec:\n  minAvailable: 6\n  selector: {matchLabels: {app: web}}\n";

    /// The pods as (name, node, phase), and the pod and cordon events.
    fn observable(w: &crate::model::World) -> (Vec<String>, Vec<String>) {
        use crate::model::world::EventKind as K;
        let pods = w
            .pods
            .iter()
            .map(|p| format!("{} {:?} {:?}", p.name, p.node, p.phase))
            .collect();
        let events = w
            .events
            .iter()
            .filter(|e| {
                matches!(
                    e.kind,
                    K::PodScheduled
                        | K::PodPending
                        | K::PodDeleted { .. }
                        | K::Evicted
                        | K::Cordoned
                )
            })
            .map(|e| format!("{:?} {}", e.at, e.message))
            .collect();
        (pods, events)
    }

    /// A drain round runs the ReplicaSet controller and the scheduler in
    /// full once, then per eviction for the evicted pod's workload only.
    /// It must leave what `kubectl drain` through [`World::evict`] leaves,
    /// where every eviction is followed by every controller (the
    /// disruption and ReplicaSet controllers react to each deletion:
    /// kubernetes pkg/controller/replicaset/replica_set.go syncReplicaSet).
    #[test]
    fn a_drain_round_equals_evictions_one_by_one() {
        for (name, yaml) in [("pinned", PINNED), ("spread", SPREAD)] {
            let mut round = world_from(yaml);
            let mut one_by_one = round.clone();
            let nodes = round.zone_nodes(&Zone::from("us-east-1a"), None);
            round.start_drain(nodes.clone(), SimDuration::secs(60), false);
            one_by_one.cordon(&nodes);
            let on_nodes = one_by_one.active_pods_on(&nodes);
            assert!(
                on_nodes.len() >= 2,
                "{name}: the round must evict several pods"
            );
            for id in on_nodes {
                let _ = one_by_one.evict(id);
            }
            assert!(
                !round.drains[0].evicted.is_empty(),
                "{name}: nothing evicted"
            );
            assert_eq!(observable(&round), observable(&one_by_one), "{name}");
        }
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
}
