//! What istiod sends one client proxy for requests to a Service, in the
//! shape of `istioctl proxy-config`: the route (with its weighted clusters),
//! the clusters (`outbound|PORT|SUBSET|HOST`) and each cluster's endpoints
//! with locality, priority, locality weight and health.
//!
//! It is the one description of a proxy's configuration: the local backend
//! spells it as Envoy JSON ([`crate::backend::local::envoy`]), `zonechaos
//! proxy-config` prints it, and [`crate::mesh::proxy_dump`] reads a real
//! Envoy's `/config_dump` back into it, so the model and a real proxy are
//! compared field by field ([`compare`]).

use std::collections::BTreeMap;
use std::fmt;

use crate::mesh::cluster::{ClusterView, OutlierSettings, build_cluster, proxy_locality};
use crate::mesh::locality::Locality;
use crate::mesh::proxy::Client;
use crate::mesh::route::{ClientRoute, DEFAULT_ROUTE_NAME, Split, resolve};
use crate::mesh::routing::select_route;
use crate::model::World;
use crate::model::mesh_config::MeshService;
use crate::model::pod::PodId;
use crate::zone::Zone;

/// An Envoy locality (`region`/`zone`/`subzone`; empty parts are unset).
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct LocalityName {
    /// `topology.kubernetes.io/region`.
    pub region: String,
    /// `topology.kubernetes.io/zone`.
    pub zone: String,
    /// `topology.istio.io/subzone`.
    pub subzone: String,
}

impl From<Locality<'_>> for LocalityName {
    fn from(l: Locality<'_>) -> LocalityName {
        LocalityName {
            region: l.region.to_owned(),
            zone: l.zone.to_owned(),
            subzone: l.subzone.to_owned(),
        }
    }
}

impl fmt::Display for LocalityName {
    /// `region/zone/subzone`, as istioctl prints a locality.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.region, self.zone, self.subzone)
    }
}

/// What a route does with a request.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RouteAction {
    /// Every request to one cluster.
    Cluster {
        /// The cluster's name.
        cluster: String,
    },
    /// Each request to one of several clusters, picked by weight.
    Weighted {
        /// The clusters with positive weight, in route order.
        clusters: Vec<WeightedCluster>,
    },
    /// Answered by the proxy itself (404 no route, 503 all weights zero).
    Direct {
        /// The status.
        status: u16,
    },
}

/// One cluster of a weighted route.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct WeightedCluster {
    /// The cluster's name.
    pub name: String,
    /// Its weight.
    pub weight: u32,
}

/// The route the proxy takes for requests to the target Service.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RouteEntry {
    /// The RDS route configuration's name (the Service's port).
    pub route_config: String,
    /// The virtual host, `FQDN:PORT`.
    pub virtual_host: String,
    /// The route's name (`default` for istiod's default route; empty for
    /// an unnamed VirtualService http route).
    pub name: String,
    /// The VirtualService it comes from, `namespace/name`.
    pub virtual_service: Option<String>,
    /// What it does.
    pub action: RouteAction,
}

/// A cluster's endpoint health in EDS. istiod sends only ready endpoints,
/// all `HEALTHY`; Envoy's own view (outlier ejection) is [`EndpointEntry::ejected`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EdsHealth {
    /// `HEALTHY` (or Envoy's `UNKNOWN`, which it treats alike).
    Healthy,
    /// `UNHEALTHY`, `DRAINING`, `TIMEOUT` or `DEGRADED`.
    Unhealthy,
}

/// One endpoint of a cluster as the proxy has it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct EndpointEntry {
    /// The pod (empty when read from a real proxy, which knows addresses).
    pub pod: String,
    /// `IP:PORT`, when known.
    pub address: Option<String>,
    /// Its locality.
    pub locality: LocalityName,
    /// Its priority for this proxy (0 first).
    pub priority: u32,
    /// The locality's load-balancing weight (`distribute`), if set.
    pub weight: Option<u32>,
    /// EDS health.
    pub health: EdsHealth,
    /// Ejected by outlier detection now (only the model's running data plane knows).
    pub ejected: bool,
    /// The process answers (the model's truth; a real proxy cannot tell).
    pub answers: bool,
}

/// One cluster as the proxy has it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ClusterEntry {
    /// `outbound|PORT|SUBSET|HOST`.
    pub name: String,
    /// Outlier detection, if the DestinationRule sets it.
    pub outlier: Option<OutlierSettings>,
    /// Envoy picks a locality by weight first (`distribute`).
    pub locality_weighted: bool,
    /// The endpoints, by priority, locality and pod.
    pub endpoints: Vec<EndpointEntry>,
}

/// What istiod sends one client proxy for requests to one Service.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ProxyConfig {
    /// The client's zone.
    pub client_zone: Zone,
    /// The proxy's locality.
    pub locality: LocalityName,
    /// The route for requests to the target Service.
    pub route: RouteEntry,
    /// The clusters the route names that istiod builds, in route order.
    pub clusters: Vec<ClusterEntry>,
}

/// What the builder knows beyond the world: the address each pod answers
/// on (local), and which hosts the running data plane has ejected.
pub struct Observed<'a> {
    /// The address of a pod's stand-in, if the backend has one.
    pub address: &'a dyn Fn(PodId) -> Option<String>,
    /// True when the proxy has the pod ejected from the cluster.
    pub ejected: &'a dyn Fn(&ClusterView, PodId) -> bool,
}

impl Observed<'_> {
    /// Nothing observed: no addresses, nothing ejected (a static topology).
    pub const NONE: Observed<'static> = Observed {
        address: &|_| None,
        ejected: &|_, _| false,
    };
}

/// The configuration istiod sends `client`'s proxy for requests to `target`,
/// in the world as it is now.
pub fn proxy_config(
    world: &World,
    client: &Client,
    target: &MeshService,
    observed: &Observed<'_>,
) -> ProxyConfig {
    let choice = select_route(&world.mesh, &client.proxy, target);
    let resolved = resolve(&world.mesh, choice, target);
    let mut clusters: Vec<ClusterEntry> = Vec::new();
    // A host that names no Service has no cluster; a cluster the model says
    // istiod does not build is left out too: the route still names them, so
    // Envoy answers 503 NC.
    for d in resolved.destinations() {
        let Some(service) = d.service() else {
            continue;
        };
        let view = build_cluster(world, &world.mesh, &client.proxy, service, d.subset);
        let name = view.key.to_string();
        if !view.exists || clusters.iter().any(|c| c.name == name) {
            continue;
        }
        clusters.push(cluster_entry(world, &view, observed));
    }
    ProxyConfig {
        client_zone: client.zone.clone(),
        locality: LocalityName::from(proxy_locality(&client.proxy)),
        route: route_entry(target, &resolved),
        clusters,
    }
}

/// The route entry of a resolved route.
fn route_entry(target: &MeshService, route: &ClientRoute<'_>) -> RouteEntry {
    let fqdn = format!(
        "{}.{}.svc.cluster.local",
        target.name.name, target.name.namespace
    );
    let (name, virtual_service, action) = match route {
        // No VirtualService route applies: istiod's default route to the
        // Service's own cluster (all endpoints, no subset, no weights).
        ClientRoute::Default(d) => (
            DEFAULT_ROUTE_NAME.to_owned(),
            None,
            RouteAction::Cluster {
                cluster: d.cluster().to_string(),
            },
        ),
        ClientRoute::NoRoute => (
            "no-route".to_owned(),
            None,
            RouteAction::Direct { status: 404 },
        ),
        ClientRoute::Http(r) => {
            let action = match r.split() {
                Split::Single(d) => RouteAction::Cluster {
                    cluster: d.cluster().to_string(),
                },
                Split::Weighted(ds) => RouteAction::Weighted {
                    clusters: ds
                        .iter()
                        .map(|d| WeightedCluster {
                            name: d.cluster().to_string(),
                            weight: d.weight.get(),
                        })
                        .collect(),
                },
                // Every weight 0: the model answers 503 (Envoy would reject
                // an empty weighted_clusters, so say it directly).
                Split::Nothing => RouteAction::Direct { status: 503 },
            };
            (
                r.name.envoy().to_owned(),
                Some(r.virtual_service.to_string()),
                action,
            )
        }
    };
    RouteEntry {
        route_config: target.port.to_string(),
        virtual_host: format!("{fqdn}:{}", target.port),
        name,
        virtual_service,
        action,
    }
}

/// The entry of a cluster istiod builds.
fn cluster_entry(world: &World, view: &ClusterView, observed: &Observed<'_>) -> ClusterEntry {
    let locality_weighted = view.hosts.iter().any(|h| h.weight.is_some());
    // Hosts per (priority, locality): a locality's weight is its `to` weight
    // (shared by the localities it matches), or its host count when
    // `distribute` leaves it unnamed; Envoy wants a positive integer and
    // istiod rounds up as well.
    let mut per_group: BTreeMap<(u32, &str), (Option<f64>, usize)> = BTreeMap::new();
    for h in &view.hosts {
        let g = per_group
            .entry((h.priority, &h.endpoint.locality))
            .or_insert((h.weight, 0));
        g.1 += 1;
    }
    let mut endpoints: Vec<EndpointEntry> = view
        .hosts
        .iter()
        .map(|h| {
            let (weight, count) = per_group[&(h.priority, &*h.endpoint.locality)];
            let pod = &world.pods[h.endpoint.pod.0];
            EndpointEntry {
                pod: pod.name.clone(),
                address: (observed.address)(h.endpoint.pod),
                locality: LocalityName::from(Locality::of_name(&h.endpoint.locality)),
                priority: h.priority,
                weight: locality_weighted
                    .then(|| weight.unwrap_or(count as f64).ceil().max(1.0) as u32),
                health: EdsHealth::Healthy,
                ejected: (observed.ejected)(view, h.endpoint.pod),
                answers: h.endpoint.serving,
            }
        })
        .collect();
    endpoints.sort_by(|a, b| {
        (a.priority, &a.locality, &a.pod, &a.address).cmp(&(
            b.priority,
            &b.locality,
            &b.pod,
            &b.address,
        ))
    });
    ClusterEntry {
        name: view.key.to_string(),
        outlier: view.outlier,
        locality_weighted,
        endpoints,
    }
}

impl ProxyConfig {
    /// The same configuration with every Service host moved into
    /// `namespace` (`name.<ns>.svc.cluster.local`), as the kind backend
    /// renders a topology into the harness's namespace.
    pub fn in_namespace(mut self, namespace: &str) -> ProxyConfig {
        let host = |name: &mut String| {
            if let Some(fqdn_at) = name.rfind('|').map_or(Some(0), |i| Some(i + 1))
                && let Some(rest) = name[fqdn_at..].strip_suffix(".svc.cluster.local")
                && let Some((service, _)) = rest.split_once('.')
            {
                *name = format!(
                    "{}{service}.{namespace}.svc.cluster.local",
                    &name[..fqdn_at]
                );
            }
        };
        // The virtual host is `FQDN:PORT`.
        if let Some((fqdn, port)) = self.route.virtual_host.rsplit_once(':') {
            let mut fqdn = fqdn.to_owned();
            host(&mut fqdn);
            self.route.virtual_host = format!("{fqdn}:{port}");
        }
        match &mut self.route.action {
            RouteAction::Cluster { cluster } => host(cluster),
            RouteAction::Weighted { clusters } => {
                clusters.iter_mut().for_each(|c| host(&mut c.name))
            }
            RouteAction::Direct { .. } => {}
        }
        for c in &mut self.clusters {
            host(&mut c.name);
        }
        self
    }

    /// The names of its clusters.
    pub fn cluster_names(&self) -> Vec<&str> {
        self.clusters.iter().map(|c| c.name.as_str()).collect()
    }
}

impl ClusterEntry {
    /// The endpoints grouped as EDS sends them: one group per (priority,
    /// locality), with the group's weight and its endpoints.
    pub fn groups(&self) -> Vec<LocalityGroup<'_>> {
        let mut groups: Vec<LocalityGroup<'_>> = Vec::new();
        for e in &self.endpoints {
            match groups
                .iter_mut()
                .find(|g| g.priority == e.priority && g.locality == &e.locality)
            {
                Some(g) => g.endpoints.push(e),
                None => groups.push(LocalityGroup {
                    priority: e.priority,
                    locality: &e.locality,
                    weight: e.weight,
                    endpoints: vec![e],
                }),
            }
        }
        groups
    }
}

/// The endpoints of one (priority, locality) of a cluster.
#[derive(Debug, Clone, PartialEq)]
pub struct LocalityGroup<'a> {
    /// Priority.
    pub priority: u32,
    /// Locality.
    pub locality: &'a LocalityName,
    /// Locality weight, if any.
    pub weight: Option<u32>,
    /// Its endpoints.
    pub endpoints: Vec<&'a EndpointEntry>,
}

/// One way a real proxy's configuration differs from the model's.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct Difference {
    /// The cluster (or `route`).
    pub cluster: String,
    /// What differs, e.g. `us-east-1/us-east-1a/ priority 1: endpoints`.
    pub what: String,
    /// The model's value.
    pub model: String,
    /// The real proxy's value.
    pub real: String,
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: model {}, real {}",
            self.cluster, self.what, self.model, self.real
        )
    }
}

/// Every difference in route, priority, weight, endpoint count, health or
/// address between the model's configuration of a proxy and a real one's.
/// Clusters the real proxy has beyond the model's are not differences (a
/// real sidecar has a cluster per Service of the mesh). Pod names and
/// ejections are not compared: a real configuration has neither.
pub fn compare(model: &ProxyConfig, real: &ProxyConfig) -> Vec<Difference> {
    let mut out = Vec::new();
    let diff = |cluster: &str, what: String, m: String, r: String| Difference {
        cluster: cluster.to_owned(),
        what,
        model: m,
        real: r,
    };
    if model.route.action != real.route.action {
        out.push(diff(
            "route",
            format!("{} action", model.route.virtual_host),
            action_text(&model.route.action),
            action_text(&real.route.action),
        ));
    }
    for m in &model.clusters {
        let Some(r) = real.clusters.iter().find(|r| r.name == m.name) else {
            out.push(diff(
                &m.name,
                "cluster".into(),
                "present".into(),
                "absent".into(),
            ));
            continue;
        };
        if m.locality_weighted != r.locality_weighted {
            out.push(diff(
                &m.name,
                "locality-weighted balancing".into(),
                m.locality_weighted.to_string(),
                r.locality_weighted.to_string(),
            ));
        }
        let summary = |c: &ClusterEntry| -> BTreeMap<(u32, LocalityName), GroupSummary> {
            c.groups()
                .into_iter()
                .map(|g| ((g.priority, g.locality.clone()), GroupSummary::of(&g)))
                .collect()
        };
        let (ms, rs) = (summary(m), summary(r));
        let keys: std::collections::BTreeSet<&(u32, LocalityName)> =
            ms.keys().chain(rs.keys()).collect();
        for key @ (priority, locality) in keys {
            let none = GroupSummary::default();
            let (a, b) = (ms.get(key).unwrap_or(&none), rs.get(key).unwrap_or(&none));
            let at = format!("{locality} priority {priority}");
            for (what, x, y) in a.fields(b) {
                out.push(diff(&m.name, format!("{at}: {what}"), x, y));
            }
        }
    }
    out.sort();
    out
}

/// A locality group's comparable facts.
#[derive(Debug, Default, PartialEq)]
struct GroupSummary {
    endpoints: usize,
    weight: Option<u32>,
    unhealthy: usize,
    addresses: Vec<String>,
}

impl GroupSummary {
    fn of(g: &LocalityGroup<'_>) -> GroupSummary {
        let mut addresses: Vec<String> = g
            .endpoints
            .iter()
            .filter_map(|e| e.address.clone())
            .collect();
        addresses.sort();
        GroupSummary {
            endpoints: g.endpoints.len(),
            weight: g.weight,
            unhealthy: g
                .endpoints
                .iter()
                .filter(|e| e.health == EdsHealth::Unhealthy)
                .count(),
            addresses,
        }
    }

    /// (field, mine, theirs) for each field that differs; addresses only
    /// when both sides know them.
    fn fields(&self, other: &GroupSummary) -> Vec<(&'static str, String, String)> {
        let mut out = Vec::new();
        if self.endpoints != other.endpoints {
            out.push((
                "endpoints",
                self.endpoints.to_string(),
                other.endpoints.to_string(),
            ));
        }
        if self.weight != other.weight {
            let w = |w: Option<u32>| w.map_or("unset".to_owned(), |w| w.to_string());
            out.push(("weight", w(self.weight), w(other.weight)));
        }
        if self.unhealthy != other.unhealthy {
            out.push((
                "unhealthy endpoints",
                self.unhealthy.to_string(),
                other.unhealthy.to_string(),
            ));
        }
        let both_know = self.addresses.len() == self.endpoints
            && other.addresses.len() == other.endpoints
            && self.endpoints == other.endpoints;
        if both_know && self.addresses != other.addresses {
            out.push((
                "addresses",
                self.addresses.join(","),
                other.addresses.join(","),
            ));
        }
        out
    }
}

/// One load client's proxy: the model's view against the real one (the
/// report's fidelity section).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ProxyFidelity {
    /// The client's zone.
    pub client_zone: Zone,
    /// Its Deployment.
    pub workload: String,
    /// Every difference found (empty: the model agrees).
    pub differences: Vec<Difference>,
    /// Why the real configuration could not be read or compared.
    pub error: Option<String>,
}

impl ProxyFidelity {
    /// True when the real proxy was read and agrees with the model.
    pub fn agrees(&self) -> bool {
        self.error.is_none() && self.differences.is_empty()
    }
}

/// The report's lines for a comparison: one per client, differences indented.
pub fn fidelity_text(results: &[ProxyFidelity]) -> String {
    let mut out = String::new();
    for r in results {
        match (&r.error, r.differences.is_empty()) {
            (Some(e), _) => out.push_str(&format!(
                "{} ({}): not compared: {e}\n",
                r.client_zone, r.workload
            )),
            (None, true) => out.push_str(&format!(
                "{} ({}): agrees with the model\n",
                r.client_zone, r.workload
            )),
            (None, false) => {
                out.push_str(&format!(
                    "{} ({}): {} difference(s)\n",
                    r.client_zone,
                    r.workload,
                    r.differences.len()
                ));
                for d in &r.differences {
                    out.push_str(&format!("  {d}\n"));
                }
            }
        }
    }
    out
}

/// A route action in one line: `cluster X`, `X 90, Y 10`, `direct 404`.
pub fn action_text(a: &RouteAction) -> String {
    match a {
        RouteAction::Cluster { cluster } => cluster.clone(),
        RouteAction::Weighted { clusters } => clusters
            .iter()
            .map(|c| format!("{} {}", c.name, c.weight))
            .collect::<Vec<_>>()
            .join(", "),
        RouteAction::Direct { status } => format!("direct {status}"),
    }
}
