//! The route a client proxy's requests to a Service take, resolved the way
//! istiod turns a VirtualService http route into the sidecar's Envoy route
//! (SEMANTICS.md §2): its name, its destinations, each one's [`Weight`],
//! the Service and cluster each names, and how the route splits requests
//! among them ([`Split`]). The analytic predictions, the simulated data
//! plane, the Envoy translator and the route-weight reports all read a
//! route through this module.
//!
//! Read in istio/istio `pilot/pkg/networking/core/route/route.go`
//! (TranslateRoute, applyHTTPRouteDestination, processDestination,
//! processWeightedDestination, GetDestinationCluster, DefaultRouteName)
//! and `pkg/config/validation/validation.go` (validateWeight,
//! validateHTTPRouteDestinations).

use std::fmt;

use crate::mesh::cluster::{ClusterKey, write_subset_key};
use crate::mesh::routing::{ClientProxy, RouteChoice, select_route};
use crate::model::mesh_config::{MeshConfig, MeshService};
use crate::topology::ObjectName;
use crate::topology::istio::{Destination, HttpRoute};

/// The weight of one destination of an http route, as the model reads it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct Weight(u32);

impl Weight {
    /// No traffic.
    pub const ZERO: Weight = Weight(0);
    /// All of it: what a lone destination without a weight reads as.
    pub const FULL: Weight = Weight(100);

    /// The weight written on a destination of a route with `destinations`
    /// destinations. Unset: 100 for a lone destination (it receives every
    /// request) and 0 among several (the proto default, which istiod reads
    /// as 0). Negative: 0 (Istio's webhook rejects it, validation.go
    /// validateWeight "weight %d < 0"; the model reads it as no traffic).
    pub fn read(written: Option<i64>, destinations: usize) -> Weight {
        match written {
            None if destinations == 1 => Weight::FULL,
            None => Weight::ZERO,
            Some(w) => Weight(u32::try_from(w.max(0)).unwrap_or(u32::MAX)),
        }
    }

    /// The weight as a number.
    pub fn get(self) -> u32 {
        self.0
    }

    /// True when the destination gets no traffic from a weighted route.
    pub fn is_zero(self) -> bool {
        self.0 == 0
    }
}

impl From<Weight> for f64 {
    fn from(w: Weight) -> f64 {
        f64::from(w.0)
    }
}

impl From<Weight> for i64 {
    fn from(w: Weight) -> i64 {
        i64::from(w.0)
    }
}

/// Every destination of an http route as written, with its [`Weight`].
pub fn destination_weights(route: &HttpRoute) -> impl Iterator<Item = (&Destination, Weight)> {
    let n = route.route.len();
    route
        .route
        .iter()
        .map(move |d| (&d.destination, Weight::read(d.weight, n)))
}

/// Which http route of a VirtualService: its position and its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteName<'m> {
    /// Index in `spec.http`.
    pub index: usize,
    /// `name`, if the route has one.
    pub name: Option<&'m str>,
}

impl<'m> RouteName<'m> {
    /// The name of the `index`-th http route.
    pub fn of(index: usize, route: &'m HttpRoute) -> RouteName<'m> {
        RouteName {
            index,
            name: route.name.as_deref(),
        }
    }

    /// The Envoy route's name as istiod sets it: the http route's name,
    /// empty when it has none (route.go TranslateRoute `routeName :=
    /// in.Name`; istiod appends `.` and the match's name when the match has
    /// one, which the model does not read).
    pub fn envoy(&self) -> &'m str {
        self.name.unwrap_or("")
    }
}

/// The route in reports (route weights, predictions): its name, or
/// `#index` when it has none.
impl fmt::Display for RouteName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name {
            Some(n) => f.write_str(n),
            None => write!(f, "#{}", self.index),
        }
    }
}

/// What the host of a destination names.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DestinationHost<'m> {
    /// A Service of the mesh.
    Service(&'m MeshService),
    /// A host that names no Service: istiod still names its cluster but
    /// builds none, so requests sent there get 503 NC.
    Unknown {
        /// The host as written.
        host: &'m str,
        /// The VirtualService's namespace (short hosts are in it).
        namespace: &'m str,
        /// `destination.port`, else the port the route listens on.
        port: u32,
    },
}

/// One destination of a resolved route.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RouteDestination<'m> {
    /// What the host names.
    pub host: DestinationHost<'m>,
    /// The DestinationRule subset, if any.
    pub subset: Option<&'m str>,
    /// Its weight.
    pub weight: Weight,
}

impl<'m> RouteDestination<'m> {
    /// The Service the host names (None: no such Service).
    pub fn service(&self) -> Option<&'m MeshService> {
        match self.host {
            DestinationHost::Service(s) => Some(s),
            DestinationHost::Unknown { .. } => None,
        }
    }

    /// The cluster the destination names, known or not.
    pub fn cluster(&self) -> ClusterName<'m> {
        match self.host {
            DestinationHost::Service(s) => ClusterName::Known(ClusterKey {
                service: s.name.clone(),
                port: s.port,
                subset: self.subset.map(str::to_owned),
            }),
            DestinationHost::Unknown {
                host,
                namespace,
                port,
            } => ClusterName::Unknown {
                host,
                namespace,
                port,
                subset: self.subset,
            },
        }
    }
}

/// The name of the Envoy cluster a destination sends to.
#[derive(Debug, Clone, PartialEq)]
pub enum ClusterName<'m> {
    /// The cluster of a Service (istiod builds it unless the subset is
    /// undefined).
    Known(ClusterKey),
    /// The cluster istiod names for a host that is no Service
    /// (route.go GetDestinationCluster: the host taken as written, short
    /// names completed in the VirtualService's namespace).
    Unknown {
        /// The host as written.
        host: &'m str,
        /// The VirtualService's namespace.
        namespace: &'m str,
        /// The port.
        port: u32,
        /// The subset.
        subset: Option<&'m str>,
    },
}

impl fmt::Display for ClusterName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClusterName::Known(key) => key.fmt(f),
            ClusterName::Unknown {
                host,
                namespace,
                port,
                subset,
            } => {
                if host.contains('.') {
                    write_subset_key(f, *port, *subset, host)
                } else {
                    let fqdn = format_args!("{host}.{namespace}.svc.cluster.local");
                    write_subset_key(f, *port, *subset, fqdn)
                }
            }
        }
    }
}

/// How a route divides requests among its destinations, as istiod writes
/// the Envoy route action (route.go applyHTTPRouteDestination).
#[derive(Debug, Clone, PartialEq)]
pub enum Split<'r, 'm> {
    /// A lone destination gets every request: a plain `cluster`, its weight
    /// unused (processDestination).
    Single(&'r RouteDestination<'m>),
    /// Several destinations: `weighted_clusters` of those with a positive
    /// weight, each request picked by weight; zero weights are dropped
    /// ("Ignore 0 weighted clusters if there are other clusters in the
    /// route", processWeightedDestination).
    Weighted(Vec<&'r RouteDestination<'m>>),
    /// No destination, or several whose weights are all 0: Istio's webhook
    /// rejects the latter (validateHTTPRouteDestinations "total destination
    /// weight = 0") and Envoy would reject the empty `weighted_clusters`;
    /// the model answers 503.
    Nothing,
}

impl<'r, 'm> Split<'r, 'm> {
    /// Of `destinations`, in order.
    pub fn of(destinations: &'r [RouteDestination<'m>]) -> Split<'r, 'm> {
        match destinations {
            [one] => Split::Single(one),
            several => {
                let weighted: Vec<_> = several.iter().filter(|d| !d.weight.is_zero()).collect();
                if weighted.is_empty() {
                    Split::Nothing
                } else {
                    Split::Weighted(weighted)
                }
            }
        }
    }

    /// The destinations that receive requests, each with the weight it is
    /// picked by ([`Weight::FULL`] for a lone destination).
    pub fn parts(&self) -> Vec<(Weight, &'r RouteDestination<'m>)> {
        match self {
            Split::Single(d) => vec![(Weight::FULL, *d)],
            Split::Weighted(ds) => ds.iter().map(|d| (d.weight, *d)).collect(),
            Split::Nothing => Vec::new(),
        }
    }

    /// The same with each weight as its share of the requests (summing to 1).
    pub fn fractions(&self) -> Vec<(f64, &'r RouteDestination<'m>)> {
        let parts = self.parts();
        let total: f64 = parts.iter().map(|(w, _)| f64::from(*w)).sum();
        parts
            .into_iter()
            .map(|(w, d)| (f64::from(w) / total, d))
            .collect()
    }
}

/// An http route of a VirtualService with its destinations resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedRoute<'m> {
    /// The VirtualService.
    pub virtual_service: &'m ObjectName,
    /// Which of its http routes.
    pub name: RouteName<'m>,
    /// Every destination, in order (zero weights included: istiod still
    /// builds their clusters).
    pub destinations: Vec<RouteDestination<'m>>,
}

impl<'m> ResolvedRoute<'m> {
    /// How the route splits requests.
    pub fn split(&self) -> Split<'_, 'm> {
        Split::of(&self.destinations)
    }
}

/// Where a plain request from a client proxy to a Service is routed.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientRoute<'m> {
    /// No VirtualService route applies: istiod's default route to the
    /// Service's own cluster (all endpoints, no subset, no weights).
    Default(RouteDestination<'m>),
    /// Routes apply to the proxy but none matches the request: 404 NR.
    NoRoute,
    /// This http route.
    Http(ResolvedRoute<'m>),
}

/// The Envoy name of istiod's default route (route.go DefaultRouteName).
pub const DEFAULT_ROUTE_NAME: &str = "default";

impl<'m> ClientRoute<'m> {
    /// Every destination the route names (none for 404).
    pub fn destinations(&self) -> &[RouteDestination<'m>] {
        match self {
            ClientRoute::Default(d) => std::slice::from_ref(d),
            ClientRoute::NoRoute => &[],
            ClientRoute::Http(r) => &r.destinations,
        }
    }

    /// How the route splits requests (404: [`Split::Nothing`]).
    pub fn split(&self) -> Split<'_, 'm> {
        Split::of(self.destinations())
    }
}

/// The route in reports: `default route`, `404 (no route)`, or
/// `<VirtualService>/<route>`.
impl fmt::Display for ClientRoute<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientRoute::Default(_) => f.write_str("default route"),
            ClientRoute::NoRoute => f.write_str("404 (no route)"),
            ClientRoute::Http(r) => write!(f, "{}/{}", r.virtual_service.name, r.name),
        }
    }
}

/// Resolves a route decision for requests to `target`: each destination's
/// host is looked up from the VirtualService's namespace.
pub fn resolve<'m>(
    mesh: &'m MeshConfig,
    choice: RouteChoice,
    target: &'m MeshService,
) -> ClientRoute<'m> {
    let (vs, index) = match choice {
        RouteChoice::Default => {
            return ClientRoute::Default(RouteDestination {
                host: DestinationHost::Service(target),
                subset: None,
                weight: Weight::FULL,
            });
        }
        RouteChoice::NoRoute => return ClientRoute::NoRoute,
        RouteChoice::Route { vs, route } => (vs, route),
    };
    let Some((v, r)) = mesh
        .virtual_services
        .get(vs)
        .and_then(|v| v.spec.http.get(index).map(|r| (v, r)))
    else {
        // A choice from another mesh: nothing matches here.
        return ClientRoute::NoRoute;
    };
    let namespace = v.name.namespace.as_str();
    let destinations = destination_weights(r)
        .map(|(d, weight)| RouteDestination {
            host: match mesh.resolve_host(&d.host, namespace) {
                Some(s) => DestinationHost::Service(s),
                None => DestinationHost::Unknown {
                    host: &d.host,
                    namespace,
                    port: d
                        .port
                        .as_ref()
                        .and_then(|p| p.number)
                        .unwrap_or(u32::from(target.port)),
                },
            },
            subset: d.subset.as_deref(),
            weight,
        })
        .collect();
    ClientRoute::Http(ResolvedRoute {
        virtual_service: &v.name,
        name: RouteName::of(index, r),
        destinations,
    })
}

/// The route a plain request from `proxy` to `target` takes, resolved.
pub fn client_route<'m>(
    mesh: &'m MeshConfig,
    proxy: &ClientProxy,
    target: &'m MeshService,
) -> ClientRoute<'m> {
    resolve(mesh, select_route(mesh, proxy, target), target)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::{Loaded, Topology, load_text};
    use std::path::Path;
    use std::sync::Arc;

    /// A mesh with Service default/test (port 8080) and one VirtualService
    /// `v` whose only http route has these destinations (YAML flow list).
    fn mesh(route: &str) -> MeshConfig {
        let yaml = format!(
            "apiVersion: v1\nkind: Service\nmetadata: {{name: test, namespace: default}}\nspec: {{selector: {{app: test}}, ports: [{{port: 8080}}]}}\n---\napiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {{name: v, namespace: default}}\nspec:\n  hosts: [test]\n  http:\n    - name: r\n      route: {route}\n    - route: [{{destination: {{host: test}}}}]\n"
        );
        let mut l = Loaded::default();
        load_text(Arc::from(Path::new("t.yaml")), &yaml, &mut l);
        assert!(l.issues.is_empty(), "{:?}", l.issues);
        MeshConfig::from_topology(&Topology::new(l.objects))
    }

    fn first_route(m: &MeshConfig) -> ResolvedRoute<'_> {
        route_at(m, 0)
    }

    fn route_at(m: &MeshConfig, route: usize) -> ResolvedRoute<'_> {
        match resolve(m, RouteChoice::Route { vs: 0, route }, &m.services[0]) {
            ClientRoute::Http(r) => r,
            other => panic!("not an http route: {other:?}"),
        }
    }

    /// (cluster, weight) of every destination that receives requests.
    fn split(r: &ResolvedRoute<'_>) -> Vec<(String, u32)> {
        r.split()
            .parts()
            .iter()
            .map(|(w, d)| (d.cluster().to_string(), w.get()))
            .collect()
    }

    const STABLE: &str = "outbound|8080|stable|test.default.svc.cluster.local";
    const CANARY: &str = "outbound|8080|canary|test.default.svc.cluster.local";

    /// Table of weight rules, each with the istiod behaviour it encodes
    /// (route.go applyHTTPRouteDestination unless said otherwise):
    /// destinations as written -> weights read, then the split.
    #[test]
    fn weights_and_split_follow_istiod() {
        type Case = (
            &'static str,
            &'static str,
            Vec<u32>,
            Vec<(&'static str, u32)>,
        );
        let cases: Vec<Case> = vec![
            (
                "a lone destination without weight gets every request (processDestination: plain cluster)",
                "[{destination: {host: test, subset: stable}}]",
                vec![100],
                vec![(STABLE, 100)],
            ),
            (
                "a lone destination's weight is not used, even 0 (processDestination)",
                "[{destination: {host: test, subset: stable}, weight: 0}]",
                vec![0],
                vec![(STABLE, 100)],
            ),
            (
                "several weighted destinations split by weight (processWeightedDestination)",
                "[{destination: {host: test, subset: stable}, weight: 90}, {destination: {host: test, subset: canary}, weight: 10}]",
                vec![90, 10],
                vec![(STABLE, 90), (CANARY, 10)],
            ),
            (
                "among several, a destination without weight reads 0 and is dropped (\"Ignore 0 weighted clusters\")",
                "[{destination: {host: test, subset: stable}, weight: 100}, {destination: {host: test, subset: canary}}]",
                vec![100, 0],
                vec![(STABLE, 100)],
            ),
            (
                "a negative weight reads 0 (validation.go validateWeight rejects it) and is dropped",
                "[{destination: {host: test, subset: stable}, weight: 100}, {destination: {host: test, subset: canary}, weight: -10}]",
                vec![100, 0],
                vec![(STABLE, 100)],
            ),
            (
                "several destinations all weight 0 send nowhere (validateHTTPRouteDestinations: total destination weight = 0)",
                "[{destination: {host: test, subset: stable}, weight: 0}, {destination: {host: test, subset: canary}}]",
                vec![0, 0],
                vec![],
            ),
        ];
        for (what, route, weights, expected) in cases {
            let m = mesh(route);
            let r = first_route(&m);
            let read: Vec<u32> = r.destinations.iter().map(|d| d.weight.get()).collect();
            assert_eq!(read, weights, "{what}: weights");
            let expected: Vec<(String, u32)> = expected
                .iter()
                .map(|(c, w)| ((*c).to_owned(), *w))
                .collect();
            assert_eq!(split(&r), expected, "{what}: split");
            // Zero weights keep their destination (istiod builds its cluster).
            assert_eq!(r.destinations.len(), weights.len(), "{what}");
        }
    }

    #[test]
    fn all_zero_is_nothing_and_fractions_sum_to_one() {
        let m = mesh("[{destination: {host: test}, weight: 0}, {destination: {host: test}}]");
        assert_eq!(first_route(&m).split(), Split::Nothing);
        let m = mesh(
            "[{destination: {host: test, subset: stable}, weight: 30}, {destination: {host: test, subset: canary}, weight: 10}]",
        );
        let r = first_route(&m);
        let fractions: Vec<f64> = r.split().fractions().iter().map(|(f, _)| *f).collect();
        assert_eq!(fractions, vec![0.75, 0.25]);
    }

    /// Cluster names (route.go GetDestinationCluster, service.go
    /// BuildSubsetKey): `outbound|PORT|SUBSET|FQDN`, the subset empty when
    /// there is none; a host naming no Service keeps its name (short names
    /// completed in the VirtualService's namespace) and the destination's
    /// port, else the route's.
    #[test]
    fn destinations_name_their_service_and_subset_cluster() {
        let m = mesh(
            "[{destination: {host: test.default.svc.cluster.local, subset: stable}, weight: 50}, {destination: {host: test}, weight: 20}, {destination: {host: other, subset: s}, weight: 20}, {destination: {host: api.example.com, port: {number: 443}}, weight: 10}]",
        );
        let r = first_route(&m);
        let names: Vec<String> = r
            .destinations
            .iter()
            .map(|d| d.cluster().to_string())
            .collect();
        assert_eq!(
            names,
            [
                STABLE,
                "outbound|8080||test.default.svc.cluster.local",
                "outbound|8080|s|other.default.svc.cluster.local",
                "outbound|443||api.example.com",
            ]
        );
        let services: Vec<Option<String>> = r
            .destinations
            .iter()
            .map(|d| d.service().map(|s| s.name.to_string()))
            .collect();
        assert_eq!(
            services,
            [
                Some("default/test".to_owned()),
                Some("default/test".to_owned()),
                None,
                None
            ]
        );
        assert_eq!(r.destinations[0].subset, Some("stable"));
    }

    /// Route names: Envoy gets the http route's name, empty when unset
    /// (route.go TranslateRoute); reports show `#index` for an unnamed one;
    /// the default route is istiod's `default` (route.go DefaultRouteName).
    #[test]
    fn route_names_for_envoy_and_for_reports() {
        let m = mesh("[{destination: {host: test}}]");
        let named = first_route(&m);
        assert_eq!(named.name.envoy(), "r");
        assert_eq!(named.name.to_string(), "r");
        assert_eq!(ClientRoute::Http(named).to_string(), "v/r");
        let unnamed = route_at(&m, 1);
        assert_eq!(unnamed.name.envoy(), "");
        assert_eq!(unnamed.name.to_string(), "#1");
        assert_eq!(ClientRoute::Http(unnamed).to_string(), "v/#1");
        let default = resolve(&m, RouteChoice::Default, &m.services[0]);
        assert_eq!(default.to_string(), "default route");
        assert_eq!(
            default
                .split()
                .parts()
                .iter()
                .map(|(w, d)| (d.cluster().to_string(), w.get()))
                .collect::<Vec<_>>(),
            vec![(
                "outbound|8080||test.default.svc.cluster.local".to_owned(),
                100
            )]
        );
        let none = resolve(&m, RouteChoice::NoRoute, &m.services[0]);
        assert_eq!(none.to_string(), "404 (no route)");
        assert!(none.destinations().is_empty());
        assert_eq!(none.split(), Split::Nothing);
    }

    #[test]
    fn a_choice_outside_the_mesh_resolves_to_no_route() {
        let m = mesh("[{destination: {host: test}}]");
        let choice = RouteChoice::Route { vs: 3, route: 0 };
        assert_eq!(resolve(&m, choice, &m.services[0]), ClientRoute::NoRoute);
    }
}
