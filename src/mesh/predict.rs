//! Instant, analytic predictions (no request simulation): where a client
//! zone's requests go given the current world, and how long failover takes
//! after a loss. `whatif` is built on this; `sim` measures the same things
//! by simulating requests.

use smol_str::SmolStr;
use std::collections::BTreeMap;
use std::fmt;

use crate::mesh::cluster::{ClusterKey, ClusterView, build_cluster_in};
use crate::mesh::endpoints::EndpointMemo;
use crate::mesh::lb::{LocalityHost, host_pick_weights, priority_loads};
use crate::mesh::outlier::max_ejectable_hosts;
use crate::mesh::proxy::{CONNECT_TIMEOUT, Client, DEFAULT_RETRIES, UPDATE_MERGE_WINDOW};
use crate::mesh::route::{ClientRoute, Split, client_route};
use crate::model::World;
use crate::model::mesh_config::MeshService;
use crate::zone::Zone;

/// Where one client zone's requests go.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Prediction {
    /// The route taken: `vs/route`, `default route`, or `404 (no route)`.
    pub route: String,
    /// Share of requests per outcome: "us-east-1a" for a serving zone, or
    /// "503 UH", "503 NC", "404 NR", "503 UF". Keys are inline strings: a
    /// zone's name is copied, not allocated.
    pub shares: BTreeMap<SmolStr, f64>,
    /// Clusters used, with their priorities by zone.
    pub clusters: Vec<ClusterUse>,
}

/// A cluster a prediction used: written `KEY [P0:ZONExN ...]` (Display and
/// JSON), kept as data so predicting does not format text nobody may read.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterUse {
    /// The cluster.
    pub key: ClusterKey,
    /// Hosts per (priority, zone).
    pub zones: Vec<(u32, Zone, usize)>,
}

impl fmt::Display for ClusterUse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} [", self.key)?;
        for (i, (p, z, n)) in self.zones.iter().enumerate() {
            let sep = if i == 0 { "" } else { " " };
            write!(f, "{sep}P{p}:{z}x{n}")?;
        }
        f.write_str("]")
    }
}

impl serde::Serialize for ClusterUse {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl Prediction {
    /// Share of requests served (any zone).
    pub fn success(&self) -> f64 {
        self.shares
            .iter()
            .filter(|(k, _)| !k.starts_with(char::is_numeric))
            .map(|(_, v)| v)
            .sum()
    }
}

/// Steady-state distribution of a cluster: hosts that do not serve are
/// assumed ejected (or gone from EDS).
fn cluster_shares(cluster: &ClusterView, weight: f64, shares: &mut BTreeMap<SmolStr, f64>) {
    if !cluster.exists {
        *shares.entry("503 NC".into()).or_default() += weight;
        return;
    }
    let Some(max_p) = cluster.hosts.iter().map(|h| h.priority).max() else {
        *shares.entry("503 UH".into()).or_default() += weight;
        return;
    };
    let mut health = vec![(0u32, 0u32); max_p as usize + 1];
    for h in &cluster.hosts {
        health[h.priority as usize].1 += 1;
        if h.endpoint.serving {
            health[h.priority as usize].0 += 1;
        }
    }
    let loads = priority_loads(&health);
    if loads.iter().all(|l| *l <= 0.0) {
        *shares.entry("503 UH".into()).or_default() += weight;
        return;
    }
    for (p, load) in loads.iter().enumerate() {
        let of_p: Vec<_> = cluster
            .hosts
            .iter()
            .filter(|h| h.priority as usize == p)
            .collect();
        let picks = host_pick_weights(
            &of_p
                .iter()
                .map(|h| LocalityHost {
                    locality: &h.endpoint.locality,
                    locality_weight: h.weight,
                    healthy: h.endpoint.serving,
                })
                .collect::<Vec<_>>(),
        );
        let total: f64 = picks.iter().sum();
        for (h, pick) in of_p.iter().zip(&picks) {
            if *pick > 0.0 {
                let share = weight * load * pick / total;
                *shares.entry(h.endpoint.zone.0.clone()).or_default() += share;
            }
        }
    }
}

/// Where `client`'s requests to `target` go in the current world.
pub fn predict(world: &World, client: &Client, target: &MeshService) -> Prediction {
    predict_in(&EndpointMemo::new(world), client, target)
}

/// [`predict`] with the world's endpoints memoized, for predicting many
/// clients of one world state.
pub fn predict_in(memo: &EndpointMemo<'_>, client: &Client, target: &MeshService) -> Prediction {
    let world = memo.world();
    let route = client_route(&world.mesh, &client.proxy, target);
    let split = route.split();
    let mut shares = BTreeMap::new();
    match (&route, &split) {
        (ClientRoute::NoRoute, _) => {
            shares.insert("404 NR".into(), 1.0);
        }
        // Every weight 0: the data plane answers 503 NR.
        (_, Split::Nothing) => {
            shares.insert("503 NR".into(), 1.0);
        }
        _ => {}
    }
    let fractions = split.fractions();
    // The share whose host names no Service: no cluster at all.
    let missing: f64 = fractions
        .iter()
        .filter(|(_, d)| d.service().is_none())
        .map(|(f, _)| f)
        .sum();
    if missing > 0.0 {
        shares.insert("503 NC".into(), missing);
    }
    let mut clusters = Vec::new();
    for (w, d) in fractions {
        let Some(svc) = d.service() else {
            continue;
        };
        let c = build_cluster_in(memo, &client.proxy, svc, d.subset);
        cluster_shares(&c, w, &mut shares);
        let zones = c.zones_by_priority();
        clusters.push(ClusterUse { key: c.key, zones });
    }
    Prediction {
        route: route.to_string(),
        shares,
        clusters,
    }
}

/// Predicted seconds from an abrupt loss to failover for one client, given
/// the world right after the loss (dead endpoints still in EDS): outlier
/// detection must eject every dead host of each cluster the client uses;
/// each request makes up to 1 + retries attempts, all failing until then.
/// Without outlier detection (or when maxEjectionPercent cannot eject them
/// all), the dead endpoints leave only at the node-monitor grace period.
/// Blackholed hosts (connects time out) fail only after the connect
/// timeout, so ejection starts that much later.
pub fn abrupt_failover_seconds(world: &World, client: &Client, target: &MeshService) -> f64 {
    abrupt_failover_seconds_in(&EndpointMemo::new(world), client, target)
}

/// [`abrupt_failover_seconds`] with the world's endpoints memoized.
pub fn abrupt_failover_seconds_in(
    memo: &EndpointMemo<'_>,
    client: &Client,
    target: &MeshService,
) -> f64 {
    let world = memo.world();
    let route = client_route(&world.mesh, &client.proxy, target);
    let attempts_per_s = client.rps * f64::from(1 + DEFAULT_RETRIES);
    let grace = world.timing.node_monitor_grace.as_secs_f64();
    let mut worst: f64 = 0.0;
    for (_, d) in route.split().parts() {
        let Some(svc) = d.service() else {
            continue;
        };
        let c = build_cluster_in(memo, &client.proxy, svc, d.subset);
        // Only dead hosts in priorities that receive traffic matter: before
        // ejection (Envoy still counts them healthy) or once it is done.
        let Some(max_p) = c.hosts.iter().map(|h| h.priority).max() else {
            continue;
        };
        let mut unaware = vec![(0u32, 0u32); max_p as usize + 1];
        let mut settled = unaware.clone();
        for h in &c.hosts {
            let p = h.priority as usize;
            unaware[p] = (unaware[p].0 + 1, unaware[p].1 + 1);
            settled[p].1 += 1;
            settled[p].0 += u32::from(h.endpoint.serving);
        }
        let (before, after) = (priority_loads(&unaware), priority_loads(&settled));
        // Dead hosts per priority, in priorities that receive traffic.
        let dead_in: Vec<u32> = (0..unaware.len())
            .map(|p| {
                let carries = before[p] > 0.0 || after[p] > 0.0;
                if carries {
                    unaware[p].1 - settled[p].0
                } else {
                    0
                }
            })
            .collect();
        let dead: u32 = dead_in.iter().sum();
        if dead == 0 {
            continue;
        }
        // Connects to blackholed hosts fail only at the connect timeout.
        let hang = if c.hosts.iter().any(|h| h.endpoint.blackholed) {
            CONNECT_TIMEOUT.as_secs_f64()
        } else {
            0.0
        };
        let secs = match c.outlier {
            Some(o)
                if max_ejectable_hosts(c.hosts.len() as u32, o.max_ejection_percent) >= dead =>
            {
                let threshold = o.consecutive_5xx.or(o.consecutive_gateway).unwrap_or(5);
                let ejected_by = |n: u32| {
                    // f64: `n * threshold` overflows u32 for hostile thresholds.
                    hang + f64::from(n) * f64::from(threshold)
                        / attempts_per_s.max(f64::MIN_POSITIVE)
                };
                // Ejections after a priority's first reach the load
                // balancer only when Envoy's update merge window ends.
                let merged = if dead_in.iter().any(|&n| n >= 2) {
                    ejected_by(2) + UPDATE_MERGE_WINDOW.as_secs_f64()
                } else {
                    0.0
                };
                ejected_by(dead).max(merged).min(grace)
            }
            _ => grace,
        };
        worst = worst.max(secs);
    }
    worst
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::world::ClusterTiming;
    use crate::profile::ClusterProfile;
    use crate::topology::{Topology, load_paths};
    use crate::zone::Zone;
    use std::path::Path;

    fn world(path: &str) -> World {
        let loaded = load_paths(&[Path::new(env!("CARGO_MANIFEST_DIR")).join(path)]).unwrap();
        World::new(
            &Topology::new(loaded.objects),
            &ClusterProfile::builtin(),
            ClusterTiming::default(),
        )
    }

    #[test]
    fn failover_topology_before_and_after() {
        let mut w = world("suites/topologies/zone-failover.yaml");
        let target = w.mesh.service("default", "test").unwrap().clone();
        let c = Client::new(&w, &Zone::from("us-east-1c"), "default", 50.0);
        let before = predict(&w, &c, &target);
        assert_eq!(before.route, "test/primary");
        assert_eq!(before.shares.get("us-east-1c").copied(), Some(1.0));
        w.spot_loss(&Zone::from("us-east-1c"), None);
        // Right after the loss: 3 dead hosts x 3 failures / (50 rps x 3
        // attempts) = 0.06 s to eject them all, but the load balancer sees
        // the second and third ejections only when Envoy's update merge
        // window (1 s) after the second ends: 2 x 3 / 150 + 1 = 1.04 s
        // (real Envoy on local: 1.02-1.07 s, from the flight recorder).
        let t = abrupt_failover_seconds(&w, &c, &target);
        assert!((t - 1.04).abs() < 1e-9, "{t}");
        let after_grace = w.now + w.timing.node_monitor_grace;
        w.advance(after_grace);
        let after = predict(&w, &c, &target);
        assert!((after.shares["us-east-1a"] - 0.5).abs() < 1e-9, "{after:?}");
        assert!((after.shares["us-east-1b"] - 0.5).abs() < 1e-9);
        assert!((after.success() - 1.0).abs() < 1e-9);
    }

    #[test]
    fn blackholed_hosts_add_the_connect_timeout() {
        let mut w = world("suites/topologies/zone-failover.yaml");
        let target = w.mesh.service("default", "test").unwrap().clone();
        let c = Client::new(&w, &Zone::from("us-east-1c"), "default", 50.0);
        let zone = Zone::from("us-east-1c");
        let spot = w.zone_nodes(&zone, Some(crate::profile::CapacityType::Spot));
        w.spot_loss(&zone, None);
        for n in spot {
            w.nodes[n.0].blackholes = true;
        }
        // The connect timeout, then the merged ejections as above.
        let t = abrupt_failover_seconds(&w, &c, &target);
        assert!((t - 11.04).abs() < 1e-9, "{t}");
    }

    #[test]
    fn pinned_topology_gives_no_healthy_upstream() {
        let mut w = world("suites/topologies/zone-pinned.yaml");
        let target = w.mesh.service("default", "test").unwrap().clone();
        let c = Client::new(&w, &Zone::from("us-east-1c"), "default", 50.0);
        w.spot_loss(&Zone::from("us-east-1c"), None);
        let t = w.now + w.timing.node_monitor_grace;
        w.advance(t);
        let after = predict(&w, &c, &target);
        assert_eq!(after.route, "test/zone-c-route");
        assert_eq!(after.shares.get("503 UH").copied(), Some(1.0), "{after:?}");
    }

    #[test]
    fn seed_without_admitted_rule_has_no_cluster() {
        let w = world("suites/fixtures/source-design/zone-aware-topology.yaml");
        let target = w.mesh.service("default", "test").unwrap().clone();
        let c = Client::new(&w, &Zone::from("us-east-1a"), "default", 50.0);
        let p = predict(&w, &c, &target);
        assert_eq!(p.shares.get("503 NC").copied(), Some(1.0), "{p:?}");
    }
}
