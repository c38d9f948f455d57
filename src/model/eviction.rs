//! PodDisruptionBudgets, their status as the disruption controller computes
//! it, and the policy/v1 Eviction API that consults them (SEMANTICS.md §1).

use std::collections::HashMap;

use k8s_openapi::api::policy::v1::PodDisruptionBudgetSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use serde::Serialize;

use crate::model::World;
use crate::model::pod::{Pod, PodId, PodPhase};
use crate::model::world::EventKind;
use crate::topology::ObjectName;
use crate::topology::label_index::Constraint;
use crate::topology::labels::{Labels, SharedLabelsMemo, selector_matches};
use crate::topology::pdb::{
    BadBudgetValue, ExpectedFrom, UnhealthyPodEvictionPolicy, desired_healthy, disruptions_allowed,
};

/// A PodDisruptionBudget in the model.
#[derive(Debug, Clone, PartialEq)]
pub struct Pdb {
    /// Namespace and name.
    pub name: ObjectName,
    /// The spec.
    pub spec: PodDisruptionBudgetSpec,
}

/// What the disruption controller would publish in `.status`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
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
        /// The PDB, as [`World::pdb_name`] gives it.
        pdb: String,
        /// Its index in the world's budgets.
        #[serde(skip)]
        index: usize,
    },
    /// HTTP 500: more than one PDB covers the pod.
    TooManyBudgets,
}

/// What the disruption controller counts for one budget.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BudgetCounts {
    /// Summed scale of the controllers of the pods it selects (each once).
    pub controller_scale: i32,
    /// Pods it selects.
    pub matching_pods: i32,
    /// Of those, the Ready ones.
    pub healthy: i32,
}

/// A budget's status from what the disruption controller counted
/// (pkg/controller/disruption/disruption.go getExpectedPodCount,
/// updatePdbStatus): expected pods from the controllers' scale or from the
/// matching pods ([`ExpectedFrom`]), desired healthy from the spec, and
/// the disruptions allowed.
pub fn budget_status(
    spec: &PodDisruptionBudgetSpec,
    counts: BudgetCounts,
) -> Result<PdbStatus, BadBudgetValue> {
    let expected = match ExpectedFrom::of(spec) {
        ExpectedFrom::ControllerScale => counts.controller_scale,
        ExpectedFrom::MatchingPods => counts.matching_pods,
        ExpectedFrom::Nothing => 0,
    };
    Ok(PdbStatus {
        expected_pods: expected,
        current_healthy: counts.healthy,
        desired_healthy: desired_healthy(spec, expected)?,
        disruptions_allowed: disruptions_allowed(spec, expected, counts.healthy)?,
    })
}

/// What the Eviction API looks at in the pod it is asked to evict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PodState {
    /// Pending, Succeeded, Failed or already terminating: deleted without
    /// looking at budgets (eviction.go canIgnorePDB).
    pub ignores_budgets: bool,
    /// Its Ready condition.
    pub ready: bool,
}

/// The Eviction API's answer for a pod covered by one budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvictionVerdict {
    /// Deleted without consuming the budget (a pod that ignores budgets,
    /// or a not-Ready one the unhealthy-pod policy lets go).
    DeletedFree,
    /// Deleted, consuming one disruption.
    DeletedCounted,
    /// 429: the budget allows no disruption now.
    Refused,
}

/// How pkg/registry/core/pod/storage/eviction.go decides, from the pod and
/// the budget's published status: pods that ignore budgets go; a not-Ready
/// pod goes free when the policy allows it
/// ([`UnhealthyPodEvictionPolicy::lets_unready_go`]); any other pod needs
/// `disruptionsAllowed > 0`.
pub fn eviction_verdict(
    pod: PodState,
    status: &PdbStatus,
    policy: UnhealthyPodEvictionPolicy,
) -> EvictionVerdict {
    if pod.ignores_budgets
        || (!pod.ready && policy.lets_unready_go(status.current_healthy, status.desired_healthy))
    {
        EvictionVerdict::DeletedFree
    } else if status.disruptions_allowed > 0 {
        EvictionVerdict::DeletedCounted
    } else {
        EvictionVerdict::Refused
    }
}

/// Which workloads each budget may cover, found once when the world is
/// built: workloads and their template labels never change afterwards, so
/// a budget's status and a pod's covering budgets need no namespace scan.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PdbCoverage {
    /// Per budget: workloads whose pods its selector may match (the label
    /// index's superset; pods are still matched one by one).
    candidates: Vec<Vec<usize>>,
    /// Per workload: budgets listing it as a candidate.
    by_workload: Vec<Vec<usize>>,
    /// Per budget: its name, qualified with the namespace only when another
    /// namespace has a budget of the same name (so reports keep the short
    /// name users wrote, and two budgets never share a key).
    display: Vec<String>,
}

impl PdbCoverage {
    /// The coverage of `world`'s budgets over its workloads.
    pub fn of(world: &World) -> PdbCoverage {
        let empty = LabelSelector::default();
        let mut by_workload = vec![Vec::new(); world.workloads.len()];
        let mut candidates = Vec::new();
        for (i, b) in world.pdbs.iter().enumerate() {
            // A missing selector reads as the empty one: every workload.
            let selector = b.spec.selector.as_ref().unwrap_or(&empty);
            let found = world
                .workload_candidates(&b.name.namespace, Constraint::of_selector(selector))
                .to_vec();
            for &w in &found {
                by_workload[w].push(i);
            }
            candidates.push(found);
        }
        let mut namesakes: HashMap<&str, usize> = HashMap::new();
        for b in world.pdbs.iter() {
            *namesakes.entry(b.name.name.as_str()).or_default() += 1;
        }
        let display = world
            .pdbs
            .iter()
            .map(|b| match namesakes[b.name.name.as_str()] {
                1 => b.name.name.clone(),
                _ => b.name.to_string(),
            })
            .collect();
        PdbCoverage {
            candidates,
            by_workload,
            display,
        }
    }
}

impl World {
    /// PDBs whose selector matches a pod (same namespace).
    pub fn pdbs_covering(&self, pod: &Pod) -> Vec<usize> {
        self.pdb_coverage
            .by_workload
            .get(pod.workload)
            .into_iter()
            .flatten()
            .copied()
            .filter(|&b| {
                self.pdbs[b]
                    .spec
                    .selector
                    .as_ref()
                    .is_some_and(|s| selector_matches(s, &pod.labels))
            })
            .collect()
    }

    /// A budget's name in statuses, refusals and reports: `name`, or
    /// `namespace/name` when another namespace has a budget of that name.
    pub fn pdb_name(&self, pdb: usize) -> &str {
        &self.pdb_coverage.display[pdb]
    }

    /// The budget's status as the disruption controller computes it.
    pub fn pdb_status(&self, pdb: usize) -> Result<PdbStatus, BadBudgetValue> {
        let b = &self.pdbs[pdb];
        // A missing selector reads as the empty one (no copy per call).
        let empty = LabelSelector::default();
        let selector = b.spec.selector.as_ref().unwrap_or(&empty);
        let mut selects = SharedLabelsMemo::new(|l: &Labels| selector_matches(selector, l));
        let mut counts = BudgetCounts::default();
        for &w in &self.pdb_coverage.candidates[pdb] {
            let mut controls_a_pod = false;
            for (_, p) in self.workload_pods(w) {
                if selects.get(&p.labels) {
                    counts.matching_pods += 1;
                    counts.healthy += i32::from(self.pod_ready(p));
                    controls_a_pod = true;
                }
            }
            // The controller is found through its pods: one without a
            // matching pod adds no scale.
            if controls_a_pod {
                counts.controller_scale += self.workloads[w].replicas;
            }
        }
        budget_status(&b.spec, counts)
    }

    /// The policy/v1 Eviction API: refused with 429 when a covering budget
    /// allows no disruption; otherwise the pod is deleted gracefully (it
    /// leaves the endpoints at once) and its ReplicaSet replaces it.
    pub fn evict(&mut self, id: PodId) -> Result<(), EvictionRefusal> {
        self.evict_only(id)?;
        self.reconcile_replica_sets();
        self.schedule_pending();
        Ok(())
    }

    /// The Eviction API's check and the deletion, without the controllers
    /// that follow it (a drain round runs them itself, see
    /// [`World::step_drains`]).
    pub(super) fn evict_only(&mut self, id: PodId) -> Result<(), EvictionRefusal> {
        let covering = self.pdbs_covering(&self.pods[id.0]);
        if covering.len() > 1 {
            return Err(EvictionRefusal::TooManyBudgets);
        }
        if let Some(&b) = covering.first() {
            let pod = &self.pods[id.0];
            let state = PodState {
                // The model deletes at once: no pod is ever terminating.
                ignores_budgets: pod.phase == PodPhase::Pending,
                ready: self.pod_ready(pod),
            };
            // A budget whose values cannot be read allows nothing.
            let status = self.pdb_status(b).unwrap_or_default();
            let policy = UnhealthyPodEvictionPolicy::of(&self.pdbs[b].spec);
            if eviction_verdict(state, &status, policy) == EvictionVerdict::Refused {
                return Err(EvictionRefusal::Budget {
                    pdb: self.pdb_name(b).to_owned(),
                    index: b,
                });
            }
        }
        let name = self.pods[id.0].name.clone();
        self.delete_pod(id, crate::model::world::DeletionReason::Evicted);
        self.log(EventKind::Evicted, format!("pod {name} evicted"));
        Ok(())
    }

    /// Index of a PDB by the name [`World::pdb_name`] gives it.
    pub fn pdb_index(&self, name: &str) -> Option<usize> {
        self.pdb_coverage.display.iter().position(|d| d == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::clock::SimTime;
    use crate::model::world::fixtures::{PINNED, world_from};
    use crate::zone::Zone;

    /// `yaml`'s world 60 s after zone a's nodes were lost: past the
    /// node-monitor grace, every test-a pod is Running but not Ready.
    fn zone_a_unready(yaml: &str) -> (World, PodId) {
        let mut w = world_from(yaml);
        let nodes = w.zone_nodes(&Zone::from("us-east-1a"), None);
        w.lose_nodes(&nodes);
        for s in 1..=60 {
            w.advance(SimTime(s * 1000));
        }
        let (id, pod) = w.workload_pods(0).next().expect("a test-a pod");
        assert_eq!(pod.phase, PodPhase::Running);
        assert!(!w.pod_ready(pod));
        let status = w.pdb_status(0).unwrap();
        assert_eq!((status.current_healthy, status.desired_healthy), (0, 1));
        (w, id)
    }

    /// eviction.go under the default policy (IfHealthyBudget): a not-Ready
    /// pod of an unhealthy budget (0 of 1 healthy) must pass the budget,
    /// which allows nothing; under AlwaysAllow it goes. (The model used to
    /// let every not-Ready pod go, which is AlwaysAllow.)
    #[test]
    fn unready_pods_of_an_unhealthy_budget_go_only_under_always_allow() {
        let (mut w, id) = zone_a_unready(PINNED);
        assert!(matches!(w.evict(id), Err(EvictionRefusal::Budget { .. })));
        let always = format!("{PINNED}  unhealthyPodEvictionPolicy: AlwaysAllow\n");
        let (mut w, id) = zone_a_unready(&always);
        assert_eq!(w.evict(id), Ok(()));
    }

    /// disruption.go getExpectedPodCount: an integer minAvailable expects
    /// the pods the selector matches (here the 3 pods, whatever the
    /// Rollout's scale), a percentage the owners' scale.
    #[test]
    fn expected_pods_follow_the_budget_kind() {
        let w = world_from(PINNED);
        assert_eq!(w.pdb_status(0).unwrap().expected_pods, 3);
        let pct = PINNED.replace("minAvailable: 1", "minAvailable: 50%");
        let w = world_from(&pct);
        let s = w.pdb_status(0).unwrap();
        assert_eq!((s.expected_pods, s.desired_healthy), (3, 2));
    }
}
