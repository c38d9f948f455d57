//! Nodes going and coming: abrupt loss and Spot loss (with or without a
//! notice), the node controller noticing a lost node (node-monitor grace,
//! NotReady, taint eviction) and the restore of a zone (SEMANTICS.md §1).

use crate::model::World;
use crate::model::clock::{SimDuration, SimTime};
use crate::model::node::NodeId;
use crate::model::pod::PodId;
use crate::model::world::EventKind;
use crate::profile::CapacityType;
use crate::zone::Zone;

impl World {
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
            self.delete_pod(id, crate::model::world::DeletionReason::NodeReplaced);
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

    /// The node controller's work for the step from `before` to now: lost
    /// nodes turn NotReady after the grace period, and the taint manager
    /// deletes their pods after the NotReady toleration.
    pub(super) fn run_node_controller(&mut self, before: SimTime) {
        let to = self.now;
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
                    self.delete_pod(id, crate::model::world::DeletionReason::TaintEviction);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::model::clock::{SimDuration, SimTime};
    use crate::model::pod::PodPhase;
    use crate::model::world::fixtures::{PINNED, ready_count, world_from};
    use crate::profile::CapacityType;
    use crate::zone::Zone;

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
