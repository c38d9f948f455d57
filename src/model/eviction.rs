//! PodDisruptionBudgets, their status as the disruption controller computes
//! it, and the policy/v1 Eviction API that consults them (SEMANTICS.md §1).

use k8s_openapi::api::policy::v1::PodDisruptionBudgetSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use serde::Serialize;

use crate::model::World;
use crate::model::pod::{Pod, PodId};
use crate::model::world::EventKind;
use crate::topology::ObjectName;
use crate::topology::label_index::Constraint;
use crate::topology::labels::selector_matches;
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
        /// The PDB.
        pdb: String,
    },
    /// HTTP 500: more than one PDB covers the pod.
    TooManyBudgets,
}

impl World {
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
        // A missing selector reads as the empty one (no copy per call).
        let empty = LabelSelector::default();
        let selector = b.spec.selector.as_ref().unwrap_or(&empty);
        // Expected pods: the scale of every owner whose pods the selector
        // matches; the label index narrows the owners to look at.
        let in_ns = self.workload_candidates(&b.name.namespace, Constraint::of_selector(selector));
        let expected: i32 = in_ns
            .iter()
            .map(|&w| &self.workloads[w])
            .filter(|w| selector_matches(selector, &w.labels))
            .map(|w| w.replicas)
            .sum();
        let healthy = in_ns
            .iter()
            .flat_map(|&w| self.workload_pods(w))
            .filter(|(_, p)| selector_matches(selector, &p.labels) && self.pod_ready(p))
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
        self.delete_pod(id, crate::model::world::DeletionReason::Evicted);
        self.log(EventKind::Evicted, format!("pod {name} evicted"));
        self.reconcile_replica_sets();
        self.schedule_pending();
        Ok(())
    }

    /// Index of a PDB by name (any namespace when the name is unique).
    pub fn pdb_index(&self, name: &str) -> Option<usize> {
        self.pdbs.iter().position(|b| b.name.name == name)
    }
}
