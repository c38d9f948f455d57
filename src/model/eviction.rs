//! PodDisruptionBudgets, their status as the disruption controller computes
//! it, and the policy/v1 Eviction API that consults them (SEMANTICS.md §1).

use std::collections::HashMap;

use k8s_openapi::api::policy::v1::PodDisruptionBudgetSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use serde::Serialize;

use crate::model::World;
use crate::model::pod::{Pod, PodId};
use crate::model::world::EventKind;
use crate::topology::ObjectName;
use crate::topology::label_index::Constraint;
use crate::topology::labels::{Labels, SharedLabelsMemo, selector_matches};
use crate::topology::pdb::{BadBudgetValue, desired_healthy};

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
        /// The PDB, as [`World::pdb_name`] gives it.
        pdb: String,
        /// Its index in the world's budgets.
        #[serde(skip)]
        index: usize,
    },
    /// HTTP 500: more than one PDB covers the pod.
    TooManyBudgets,
}

/// Which workloads each budget may cover, found once when the world is
/// built: workloads and their template labels never change afterwards, so
/// a budget's status and a pod's covering budgets need no namespace scan.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PdbCoverage {
    /// Per budget: workloads whose pods its selector may match (the label
    /// index's superset; pods are still matched one by one).
    candidates: Vec<Vec<usize>>,
    /// Per budget: the candidates whose template labels it matches, whose
    /// scale makes its expected pods.
    owners: Vec<Vec<usize>>,
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
        let (mut candidates, mut owners) = (Vec::new(), Vec::new());
        for (i, b) in world.pdbs.iter().enumerate() {
            // A missing selector reads as the empty one: every workload.
            let selector = b.spec.selector.as_ref().unwrap_or(&empty);
            let found = world
                .workload_candidates(&b.name.namespace, Constraint::of_selector(selector))
                .to_vec();
            for &w in &found {
                by_workload[w].push(i);
            }
            owners.push(
                found
                    .iter()
                    .copied()
                    .filter(|&w| selector_matches(selector, &world.workloads[w].labels))
                    .collect(),
            );
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
            owners,
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
        // Expected pods: the scale of every owner whose pods the selector
        // matches (found when the world was built).
        let expected: i32 = self.pdb_coverage.owners[pdb]
            .iter()
            .map(|&w| self.workloads[w].replicas)
            .sum();
        let mut selects = SharedLabelsMemo::new(|l: &Labels| selector_matches(selector, l));
        let healthy = self.pdb_coverage.candidates[pdb]
            .iter()
            .flat_map(|&w| self.workload_pods(w))
            .filter(|(_, p)| selects.get(&p.labels) && self.pod_ready(p))
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
            let allowed = self
                .pdb_status(b)
                .map(|s| s.disruptions_allowed)
                .unwrap_or(0);
            // A pod that is not ready does not consume the budget.
            if allowed <= 0 && self.pod_ready(&self.pods[id.0]) {
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
