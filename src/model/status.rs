//! Read-only status of the world as backends and `whatif` report it:
//! every budget's status by name, and the pods a drain has left.

use std::collections::BTreeMap;

use crate::model::World;
use crate::model::eviction::PdbStatus;

impl World {
    /// Every PodDisruptionBudget's status by [`World::pdb_name`] (namespaced
    /// when two namespaces share a name); a budget whose values
    /// cannot be read is left out.
    pub fn pdb_statuses(&self) -> BTreeMap<String, PdbStatus> {
        self.pdbs
            .iter()
            .enumerate()
            .filter_map(|(i, _)| {
                self.pdb_status(i)
                    .ok()
                    .map(|s| (self.pdb_name(i).to_owned(), s))
            })
            .collect()
    }

    /// Pods still active on the nodes of the `drain`-th drain (None: no
    /// such drain).
    pub fn pods_left_by_drain(&self, drain: usize) -> Option<usize> {
        let d = self.drains.get(drain)?;
        Some(
            self.pods
                .iter()
                .filter(|p| p.is_active() && p.node.is_some_and(|n| d.nodes.contains(&n)))
                .count(),
        )
    }
}

#[cfg(test)]
mod tests {
    use crate::model::world::ClusterTiming;
    use crate::model::{SimDuration, SimTime, World};
    use crate::profile::ClusterProfile;
    use crate::topology::{Topology, load_paths};
    use crate::zone::Zone;
    use std::path::Path;

    #[test]
    fn budgets_by_name_and_pods_left_by_a_blocked_drain() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("suites/topologies/zone-pinned.yaml");
        let loaded = load_paths(&[path]).unwrap();
        let mut w = World::new(
            &Topology::new(loaded.objects),
            &ClusterProfile::builtin(),
            ClusterTiming::default(),
        );
        w.advance(SimTime(30_000));
        let budgets = w.pdb_statuses();
        assert_eq!(
            budgets.keys().map(String::as_str).collect::<Vec<_>>(),
            ["test-a-pdb", "test-b-pdb", "test-c-pdb"]
        );
        // minAvailable 1 of three ready pods each.
        assert!(budgets.values().all(|b| b.disruptions_allowed == 2));
        assert_eq!(w.pods_left_by_drain(0), None);
        let nodes = w.zone_nodes(&Zone::from("us-east-1c"), None);
        w.start_drain(nodes, SimDuration::secs(60), false);
        while w.drains[0].finished.is_none() {
            let next = w.now + w.timing.drain_retry;
            w.advance(next);
        }
        // The zone's budget keeps one of its pods on the drained nodes
        // (their replacements cannot schedule in the cordoned zone).
        assert_eq!(w.pods_left_by_drain(0), Some(1));
    }
}
