//! The scheduler: binds Pending pods to nodes (SEMANTICS.md §1).

use crate::model::World;
use crate::model::node::NodeId;
use crate::model::pod::PodPhase;
use crate::model::world::EventKind;

impl World {
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
}

#[cfg(test)]
mod tests {
    use crate::model::world::fixtures::{PINNED, ready_count, world_from};
    use crate::profile::CapacityType;

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
}
