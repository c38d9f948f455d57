//! What Argo Rollouts has written into the mesh, recorded each time a
//! Rollout's canary moves (a new revision, a step passed, a weight set, an
//! abort, a promotion): the managed VirtualService routes with their
//! weights and the DestinationRule's subsets with their pod-template-hash
//! labels, as the Argo controller left them (rollout/trafficrouting/istio
//! istio.go: reconcileVirtualService, UpdateHash). The report shows them
//! step by step.

use std::collections::BTreeMap;

use crate::mesh::route::{RouteName, destination_weights};
use crate::model::clock::SimTime;
use crate::model::mesh_config::MeshConfig;
use crate::model::rollout::RolloutState;
use crate::topology::argo::split_ref;

/// A Rollout's canary position: a new record is kept when it changes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CanaryPosition {
    /// The canary step Argo is at (index into `strategy.canary.steps`).
    pub step_index: usize,
    /// The canary weight written.
    pub weight: i32,
    /// The stable ReplicaSet's pod-template hash.
    pub stable_hash: String,
    /// The current (canary, when one runs) pod-template hash.
    pub current_hash: String,
    /// The update was aborted.
    pub aborted: bool,
}

impl CanaryPosition {
    /// True when `r` is at this position (compared in place: the
    /// controller asks on every reconcile of every Rollout).
    pub fn is_of(&self, r: &RolloutState) -> bool {
        self.step_index == r.step_index
            && self.weight == r.weight
            && self.aborted == r.aborted_at.is_some()
            && self.stable_hash == r.stable_hash
            && self.current_hash == r.current_hash
    }

    /// The position of `r`.
    pub fn of(r: &RolloutState) -> CanaryPosition {
        CanaryPosition {
            step_index: r.step_index,
            weight: r.weight,
            stable_hash: r.stable_hash.clone(),
            current_hash: r.current_hash.clone(),
            aborted: r.aborted_at.is_some(),
        }
    }
}

/// One destination of a reconciled route.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RoutedDestination {
    /// `host`.
    pub host: String,
    /// `subset`, if any.
    pub subset: Option<String>,
    /// The weight in force (as istiod reads an unset one).
    pub weight: i64,
}

/// One route of a VirtualService the Rollout manages.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReconciledRoute {
    /// The VirtualService, `namespace/name`.
    pub virtual_service: String,
    /// The route's name (`#index` when it has none).
    pub route: String,
    /// Its destinations, in order.
    pub destinations: Vec<RoutedDestination>,
}

/// The Rollout's DestinationRule as reconciled.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReconciledRule {
    /// `namespace/name`.
    pub destination_rule: String,
    /// Each subset's labels (the Rollout's subsets carry
    /// `rollouts-pod-template-hash`).
    pub subsets: BTreeMap<String, BTreeMap<String, String>>,
}

/// What one Rollout's routing looked like after its canary moved.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ReconciledRouting {
    /// When, in seconds since the run started.
    pub at_s: f64,
    /// The Rollout.
    pub rollout: String,
    /// Its canary position.
    pub position: CanaryPosition,
    /// The routes of the VirtualServices it names (all of their http
    /// routes: a route Argo leaves alone shows that it did).
    pub routes: Vec<ReconciledRoute>,
    /// Its DestinationRule, when it names one that exists.
    pub destination_rule: Option<ReconciledRule>,
}

/// The routing of `r` in `mesh` at `now`.
pub fn reconciled_routing(r: &RolloutState, mesh: &MeshConfig, now: SimTime) -> ReconciledRouting {
    let istio = r
        .spec
        .strategy
        .canary
        .as_ref()
        .and_then(|c| c.traffic_routing.as_ref())
        .and_then(|t| t.istio.as_ref());
    let mut routes = Vec::new();
    let mut destination_rule = None;
    if let Some(istio) = istio {
        for (_, vref) in istio.virtual_service_refs() {
            let (name, ns) = split_ref(&vref.name, &r.name.namespace);
            let Some(vs) = mesh.virtual_service(ns, name) else {
                continue;
            };
            for (i, route) in vs.spec.http.iter().enumerate() {
                routes.push(ReconciledRoute {
                    virtual_service: vs.name.to_string(),
                    route: RouteName::of(i, route).to_string(),
                    destinations: destination_weights(route)
                        .map(|(d, w)| RoutedDestination {
                            host: d.host.clone(),
                            subset: d.subset.clone(),
                            weight: i64::from(w),
                        })
                        .collect(),
                });
            }
        }
        if let Some(dref) = &istio.destination_rule {
            let (name, ns) = split_ref(&dref.name, &r.name.namespace);
            destination_rule = mesh.destination_rule(ns, name).map(|dr| ReconciledRule {
                destination_rule: dr.name.to_string(),
                subsets: dr
                    .spec
                    .subsets
                    .iter()
                    .map(|s| (s.name.clone(), s.labels.clone()))
                    .collect(),
            });
        }
    }
    ReconciledRouting {
        at_s: now.as_secs_f64(),
        rollout: r.name.name.clone(),
        position: CanaryPosition::of(r),
        routes,
        destination_rule,
    }
}

#[cfg(test)]
mod tests {
    use crate::model::World;
    use crate::model::clock::SimTime;
    use crate::model::world::ClusterTiming;
    use crate::profile::ClusterProfile;
    use crate::topology::{Topology, load_paths};
    use std::path::Path;

    fn pinned() -> World {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("suites/topologies/zone-pinned.yaml");
        let loaded = load_paths(&[path]).unwrap();
        World::new(
            &Topology::new(loaded.objects),
            &ClusterProfile::builtin(),
            ClusterTiming::default(),
        )
    }

    /// (rollout, step, weight, aborted, zone-c-route weights, canary-c hash).
    type Row = (String, usize, i32, bool, Vec<(String, i64)>, String);

    fn rows(w: &World) -> Vec<Row> {
        w.reconciled
            .iter()
            .filter(|r| r.rollout == "test-c")
            .map(|r| {
                let route = r.routes.iter().find(|x| x.route == "zone-c-route").unwrap();
                let rule = r.destination_rule.as_ref().unwrap();
                (
                    r.rollout.clone(),
                    r.position.step_index,
                    r.position.weight,
                    r.position.aborted,
                    route
                        .destinations
                        .iter()
                        .map(|d| (d.subset.clone().unwrap_or_default(), d.weight))
                        .collect(),
                    rule.subsets["canary-c"]["rollouts-pod-template-hash"].clone(),
                )
            })
            .collect()
    }

    #[test]
    fn each_move_of_a_canary_keeps_the_routes_and_subsets_argo_wrote() {
        let mut w = pinned();
        w.advance(SimTime(1000));
        let start = rows(&w);
        assert_eq!(start.len(), 1, "{start:?}");
        let stable_hash = start[0].5.clone();
        assert_eq!(
            start[0].4,
            [("stable-c".into(), 100), ("canary-c".into(), 0)]
        );
        // Nothing moves: nothing new is kept, however long it runs.
        w.advance(SimTime(20_000));
        assert_eq!(rows(&w).len(), 1);

        w.set_image("test-c", "myapp:v2").unwrap();
        for s in 21..=60 {
            w.advance(SimTime(s * 1000));
        }
        w.abort("test-c").unwrap();
        w.advance(SimTime(61_000));
        let rows = rows(&w);
        let summary: Vec<(usize, i32, bool, i64, bool)> = rows
            .iter()
            .map(|r| (r.1, r.2, r.3, r.4[1].1, r.5 == stable_hash))
            .collect();
        // New revision (canary subset re-hashed, weight 0), setWeight 10
        // written (step 1: the pause), abort (weight back to 0).
        assert_eq!(
            summary,
            [
                (0, 0, false, 0, true),
                (0, 0, false, 0, false),
                (1, 10, false, 10, false),
                (1, 0, true, 0, false),
            ]
        );
        // The other zones' Rollouts never touch zone c's route.
        assert!(
            w.reconciled
                .iter()
                .filter(|r| r.rollout != "test-c")
                .all(|r| r.position.step_index == 0 && r.position.weight == 0)
        );
    }
}
