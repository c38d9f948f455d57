//! The ReplicaSet controller: each ReplicaSet's pod count follows its
//! desired count (SEMANTICS.md §1).

use std::collections::BTreeSet;

use crate::model::World;
use crate::model::pod::{PodId, PodPhase};

impl World {
    /// Creates or deletes pods so each ReplicaSet has its desired count.
    pub fn reconcile_replica_sets(&mut self) {
        for wi in 0..self.workloads.len() {
            self.reconcile_workload(wi);
        }
    }

    /// The ReplicaSet controller for one workload's ReplicaSets.
    pub(super) fn reconcile_workload(&mut self, wi: usize) {
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
            self.delete_pod(PodId(i), crate::model::world::DeletionReason::OldReplicaSet);
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
                    self.delete_pod(PodId(i), crate::model::world::DeletionReason::ScaledDown);
                }
            }
        }
    }
}
