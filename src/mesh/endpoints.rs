//! Service endpoints as istiod's EDS sees them: ready pods selected by the
//! Service, each with its locality and labels.

use foldhash::HashMap;
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

use crate::model::World;
use crate::model::mesh_config::MeshService;
use crate::model::pod::PodId;
use crate::topology::ObjectName;
use crate::topology::label_index::Constraint;
use crate::topology::labels::{Labels, SharedLabelsMemo, map_matches};
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
    /// Its node's Envoy locality `region/zone/subzone`: the load
    /// balancers' unit.
    pub locality: Arc<str>,
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
    let mut selects = SharedLabelsMemo::new(|l: &Labels| map_matches(&service.selector, l));
    world
        .workload_candidates(
            &service.name.namespace,
            Constraint::of_map(&service.selector),
        )
        .iter()
        .flat_map(|&w| world.workload_pods(w))
        .filter(|(_, p)| selects.get(&p.labels) && world.pod_ready(p))
        .filter_map(|(PodId(i), p)| {
            let node = &world.nodes[p.node?.0];
            Some(Endpoint {
                pod: PodId(i),
                zone: node.zone.clone(),
                labels: p.endpoint_labels.clone()?,
                locality: p.locality.clone(),
                serving: world.pod_serving(p),
                blackholed: !node.is_up() && node.blackholes,
            })
        })
        .collect()
}

/// A world's Service endpoints, each Service's computed at most once: the
/// clusters of every client zone (and subset) of a Service share them.
/// It borrows the world, so the world cannot change while it is in use.
pub struct EndpointMemo<'w> {
    world: &'w World,
    by_service: RefCell<HashMap<ObjectName, Rc<[Endpoint]>>>,
}

impl<'w> EndpointMemo<'w> {
    /// An empty memo of `world`.
    pub fn new(world: &'w World) -> EndpointMemo<'w> {
        EndpointMemo {
            world,
            by_service: RefCell::default(),
        }
    }

    /// The world it reads.
    pub fn world(&self) -> &'w World {
        self.world
    }

    /// [`service_endpoints`] of `service`, from the memo after the first call.
    pub fn of(&self, service: &MeshService) -> Rc<[Endpoint]> {
        if let Some(e) = self.by_service.borrow().get(&service.name) {
            return Rc::clone(e);
        }
        let endpoints: Rc<[Endpoint]> = service_endpoints(self.world, service).into();
        self.by_service
            .borrow_mut()
            .insert(service.name.clone(), Rc::clone(&endpoints));
        endpoints
    }
}
