//! Service endpoints as istiod's EDS sees them: ready pods selected by the
//! Service, each with its locality and labels.

use std::sync::Arc;

use crate::model::World;
use crate::model::mesh_config::MeshService;
use crate::model::pod::PodId;
use crate::topology::label_index::Constraint;
use crate::topology::labels::{Labels, map_matches};
use crate::zone::Zone;

/// One endpoint of a Service.
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    /// The pod.
    pub pod: PodId,
    /// Zone of its node.
    pub zone: Zone,
    /// Pod labels plus the node's topology labels (istiod adds them).
    pub labels: Arc<Labels>,
    /// The process answers (false: connect failure).
    pub serving: bool,
    /// Not serving because its node's address drops packets: connects
    /// time out instead of being refused (Spot loss in mode `blackhole`).
    pub blackholed: bool,
}

/// Ready endpoints of a Service (not-ready pods are not in EDS).
pub fn service_endpoints(world: &World, service: &MeshService) -> Vec<Endpoint> {
    if service.selector.is_empty() {
        return Vec::new();
    }
    // Through the world's label index: a Service costs its own workloads'
    // pods, not the namespace's (issue 10 item 13).
    world
        .workload_candidates(
            &service.name.namespace,
            Constraint::of_map(&service.selector),
        )
        .iter()
        .flat_map(|&w| world.workload_pods(w))
        .filter(|(_, p)| map_matches(&service.selector, &p.labels) && world.pod_ready(p))
        .filter_map(|(PodId(i), p)| {
            let node = &world.nodes[p.node?.0];
            Some(Endpoint {
                pod: PodId(i),
                zone: node.zone.clone(),
                labels: p.endpoint_labels.clone()?,
                serving: world.pod_serving(p),
                blackholed: !node.is_up() && node.blackholes,
            })
        })
        .collect()
}
