//! The scheduler: binds Pending pods to nodes (SEMANTICS.md §1).

use std::collections::HashMap;

use crate::model::World;
use crate::model::node::NodeId;
use crate::model::pod::PodPhase;
use crate::model::world::EventKind;
use crate::topology::labels::Labels;

impl World {
    /// Binds Pending pods to nodes that fit: schedulable, in an allowed zone,
    /// of the required capacity type; least-loaded node first.
    pub fn schedule_pending(&mut self) {
        let mut load = self.node_load();
        self.schedule(0..self.pods.len(), &mut load);
    }

    /// Running pods per node, the scheduler's measure of load.
    pub(super) fn node_load(&self) -> Vec<usize> {
        let mut load: Vec<usize> = vec![0; self.nodes.len()];
        for p in self.pods.iter().filter(|p| p.phase == PodPhase::Running) {
            if let Some(n) = p.node {
                load[n.0] += 1;
            }
        }
        load
    }

    /// Binds the Pending pods of one workload, with `load` (from
    /// [`World::node_load`]) kept up to date by the caller and by this call.
    /// A drain's evictions use it: after the round's first full pass every
    /// other Pending pod has no node that fits, and an eviction changes no
    /// node's fit, so only the evicted pods' replacements can bind.
    pub(super) fn schedule_workload(&mut self, workload: usize, load: &mut [usize]) {
        let pods = self.pod_indices(workload);
        self.schedule(pods, load);
    }

    /// Binds the Pending pods among `candidates`, in order.
    fn schedule(&mut self, candidates: impl IntoIterator<Item = usize>, load: &mut [usize]) {
        // Pods of one ReplicaSet on one node see the same endpoint labels
        // (the hostname is one of them): one shared map each, so the mesh
        // matches it once, not per pod. The key holds the pod labels' `Arc`,
        // so its address stays theirs.
        type Shared = (std::sync::Arc<Labels>, std::sync::Arc<Labels>);
        let mut shared: HashMap<(usize, usize), Shared> = HashMap::new();
        let mut localities: HashMap<usize, std::sync::Arc<str>> = HashMap::new();
        for i in candidates {
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
                    // What istiod puts on the endpoint: the pod's labels
                    // with its node's locality, cluster and hostname
                    // (topology::istio_labels), shared by the pods of one
                    // label map on one node.
                    let node = &self.nodes[ni];
                    let pod_labels = &self.pods[i].labels;
                    let key = (std::sync::Arc::as_ptr(pod_labels) as usize, ni);
                    let endpoint_labels = shared
                        .entry(key)
                        .or_insert_with(|| {
                            let labels = crate::topology::istio_labels::augment_labels(
                                pod_labels,
                                &node.labels,
                                &node.name,
                            );
                            (pod_labels.clone(), std::sync::Arc::new(labels))
                        })
                        .1
                        .clone();
                    // The endpoint's Envoy locality is its node's
                    // (getPodLocality), whatever topology labels the pod
                    // itself carries.
                    let locality = localities
                        .entry(ni)
                        .or_insert_with(|| {
                            let [r, z, s] =
                                crate::topology::istio_labels::node_locality(&node.labels)
                                    .unwrap_or_default();
                            std::sync::Arc::from(format!("{r}/{z}/{s}"))
                        })
                        .clone();
                    let pod = &mut self.pods[i];
                    pod.endpoint_labels = Some(endpoint_labels);
                    pod.locality = locality;
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
