//! The model's mesh state translated to Envoy v3 configuration for one
//! client proxy, the way istiod configures that proxy's sidecar for one
//! target Service: a listener with the route the client gets, one EDS cluster
//! per destination of that route, and the endpoints with the priorities and
//! locality weights the model computes.
//!
//! Every Istio decision comes from the model ([`select_route`], the
//! resolved route of [`crate::mesh::route`], [`build_cluster`], the connect
//! timeout); this file only spells the result in Envoy's terms.
//! The istiod behaviour mirrored here was read in istio/istio
//! `pilot/pkg/networking/core/route/route.go` (applyHTTPRouteDestination),
//! `route/retry/retry.go` (defaultPolicy) and `cluster_traffic_policy.go`
//! (applyOutlierDetection, applyLoadBalancer, circuit-breaker defaults).
//!
//! xDS is served from files (no control plane): the bootstrap points CDS and
//! LDS at `cds.json` and `lds.json`, each cluster at its own `eds.*.json` and
//! the listener at `rds.json`, all as `path_config_source` with
//! `watched_directory` set to the config directory. With a watched directory
//! Envoy reloads a path whenever an entry is *moved into* that directory, so
//! [`write_atomically`] writes every file under a temporary name and renames
//! it over the old one: Envoy never reads a half-written file.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::net::SocketAddr;
use std::path::Path;

use serde_json::{Value, json};

use crate::app::recorder::FLAGS_HEADER;
use crate::mesh::cluster::{OutlierSettings, proxy_locality};
use crate::mesh::lb::OVERPROVISIONING;
use crate::mesh::proxy::{
    CONNECT_TIMEOUT, Client, DEFAULT_RETRIES, HOST_SELECTION_RETRY_MAX_ATTEMPTS,
};
use crate::mesh::proxy_config::{
    ClusterEntry, LocalityName, Observed, RouteAction, RouteEntry, proxy_config as model_view,
};
use crate::mesh::proxy_dump as dump;
use crate::mesh::routing::{RouteChoice, select_route};
use crate::model::World;
use crate::model::clock::SimDuration;
use crate::model::mesh_config::MeshService;
use crate::model::pod::PodId;
use crate::model::world::template_hash;

/// Istio's default retry conditions (retry.go defaultPolicy).
pub const RETRY_ON: &str =
    "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes";

/// Status codes retried by default (503; istiod's Exclude503FromDefaultRetries is off).
pub const RETRIABLE_STATUS_CODES: [u32; 1] = [503];

/// Retry host predicate: never retry on a host already tried.
pub const PREVIOUS_HOSTS_PREDICATE: &str = "envoy.retry_host_predicates.previous_hosts";

/// Names of the files [`EnvoyConfig::files`] produces (besides `eds.*.json`).
pub const BOOTSTRAP_FILE: &str = "bootstrap.json";
/// Cluster discovery.
pub const CDS_FILE: &str = "cds.json";
/// Listener discovery.
pub const LDS_FILE: &str = "lds.json";
/// Route discovery.
pub const RDS_FILE: &str = "rds.json";

const TYPE_CLUSTER: &str = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
const TYPE_LOAD_ASSIGNMENT: &str =
    "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";
const TYPE_LISTENER: &str = "type.googleapis.com/envoy.config.listener.v3.Listener";
const TYPE_ROUTE_CONFIGURATION: &str =
    "type.googleapis.com/envoy.config.route.v3.RouteConfiguration";
const TYPE_HCM: &str = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";
const TYPE_ROUTER: &str = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router";
const TYPE_PREVIOUS_HOSTS: &str =
    "type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate";

/// The configuration of one client proxy, independent of where its files
/// live: [`EnvoyConfig::files`] renders it for a directory.
#[derive(Debug, Clone, PartialEq)]
pub struct EnvoyConfig {
    /// The bootstrap `node`: id, cluster, locality of the client.
    pub node: Value,
    /// Admin interface (`/stats/prometheus`, `/config_dump`, ...).
    pub admin: SocketAddr,
    /// Where the outbound listener for the target Service listens.
    pub listen: SocketAddr,
    /// The route decision the model made for this client.
    pub route_choice: RouteChoice,
    /// The RDS `RouteConfiguration`.
    pub route: Value,
    /// The CDS clusters, in route order; their `eds_config` is added by
    /// [`EnvoyConfig::files`].
    pub clusters: Vec<Value>,
    /// One `ClusterLoadAssignment` per cluster, by cluster name.
    pub endpoints: BTreeMap<String, Value>,
}

/// Builds the configuration istiod would send to `client`'s sidecar for
/// requests to `target`, given the world as it is now. `addrs` maps a pod to
/// the address its stand-in listens on.
pub fn proxy_config(
    world: &World,
    client: &Client,
    target: &MeshService,
    addrs: &dyn Fn(PodId) -> SocketAddr,
    listen: SocketAddr,
    admin: SocketAddr,
) -> EnvoyConfig {
    let observed = Observed {
        address: &|pod| Some(addrs(pod).to_string()),
        ..Observed::NONE
    };
    let view = model_view(world, client, target, &observed);
    EnvoyConfig {
        node: node(client, listen),
        admin,
        listen,
        route_choice: select_route(&world.mesh, &client.proxy, target),
        route: route_configuration(&view.route),
        clusters: view.clusters.iter().map(cluster).collect(),
        endpoints: view
            .clusters
            .iter()
            .map(|c| (c.name.clone(), load_assignment(c)))
            .collect(),
    }
}

/// The Envoy route for the proxy's route entry.
fn envoy_route(route: &RouteEntry) -> Value {
    match &route.action {
        RouteAction::Cluster { cluster } => forward(&route.name, json!({ "cluster": cluster })),
        RouteAction::Weighted { clusters } => {
            let weighted: Vec<Value> = clusters
                .iter()
                .map(|c| json!({ "name": c.name, "weight": c.weight }))
                .collect();
            forward(
                &route.name,
                json!({ "weighted_clusters": { "clusters": weighted } }),
            )
        }
        RouteAction::Direct { status } => direct(&route.name, *status),
    }
}

/// A route forwarding every request with `action` (a cluster specifier),
/// with istiod's defaults: no timeout, the default retry policy.
fn forward(name: &str, mut action: Value) -> Value {
    action["timeout"] = json!("0s");
    action["retry_policy"] = retry_policy();
    json!({ "name": name, "match": { "prefix": "/" }, "route": action })
}

/// A route answering every request with `status`.
fn direct(name: &str, status: u16) -> Value {
    json!({ "name": name, "match": { "prefix": "/" }, "direct_response": { "status": status } })
}

/// istiod's default retry policy (retry.go defaultPolicy + DefaultPolicy).
pub fn retry_policy() -> Value {
    json!({
        "retry_on": RETRY_ON,
        "num_retries": DEFAULT_RETRIES,
        "retriable_status_codes": RETRIABLE_STATUS_CODES,
        "retry_host_predicate": [{
            "name": PREVIOUS_HOSTS_PREDICATE,
            "typed_config": { "@type": TYPE_PREVIOUS_HOSTS },
        }],
        "host_selection_retry_max_attempts": HOST_SELECTION_RETRY_MAX_ATTEMPTS,
    })
}

fn route_configuration(route: &RouteEntry) -> Value {
    json!({
        "@type": TYPE_ROUTE_CONFIGURATION,
        "name": route.route_config,
        // Routes may name clusters istiod did not build (503 NC), as in Istio.
        "validate_clusters": false,
        // For the load client's flight recorder (issue 13): Envoy's
        // response flags (UH, UF, NC, ...) on every answer, local replies
        // included. Harness-only; istiod sends no such header.
        "response_headers_to_add": [{
            "header": { "key": FLAGS_HEADER, "value": "%RESPONSE_FLAGS%" },
            "append_action": "OVERWRITE_IF_EXISTS_OR_ADD",
        }],
        "virtual_hosts": [{
            "name": route.virtual_host,
            // The listener serves this one Service: every Host header is it.
            "domains": ["*"],
            "routes": [envoy_route(route)],
        }],
    })
}

/// A CDS cluster for a cluster of the model.
fn cluster(view: &ClusterEntry) -> Value {
    let name = &view.name;
    let mut common = serde_json::Map::new();
    let mut c = json!({
        "@type": TYPE_CLUSTER,
        "name": name,
        "type": "EDS",
        "eds_cluster_config": { "service_name": name },
        // Istio's default `connectTimeout` (mesh config), as the model waits it out.
        "connect_timeout": duration(CONNECT_TIMEOUT),
        // istiod's default LB algorithm.
        "lb_policy": "LEAST_REQUEST",
        // istiod's default thresholds: no circuit breaking, and in particular
        // no cap on concurrent retries (Envoy's default would be 3).
        "circuit_breakers": { "thresholds": [{
            "max_connections": u32::MAX,
            "max_pending_requests": u32::MAX,
            "max_requests": u32::MAX,
            "max_retries": u32::MAX,
            "track_remaining": true,
        }]},
    });
    if let Some(o) = &view.outlier {
        c["outlier_detection"] = outlier_detection(o);
        // Verified in istio cluster_traffic_policy.go applyOutlierDetection:
        // whenever a DestinationRule sets outlierDetection, istiod sets
        // healthy_panic_threshold to minHealthPercent, which defaults to 0,
        // i.e. panic mode off. Priorities other than 0 only exist with
        // outlier detection (or with trafficDistribution, where no host can
        // turn unhealthy, so the threshold never matters): with failover an
        // Envoy with no healthy host answers 503 UH instead of spraying
        // traffic over dead hosts, which is what the model predicts.
        common.insert("healthy_panic_threshold".into(), json!({ "value": 0.0 }));
    }
    if view.locality_weighted {
        // `distribute` weights: Envoy picks a locality by weight first.
        common.insert("locality_weighted_lb_config".into(), json!({}));
    }
    if !common.is_empty() {
        c["common_lb_config"] = Value::Object(common);
    }
    c
}

/// Envoy outlier detection from the model's settings, spelled as istiod does.
fn outlier_detection(o: &OutlierSettings) -> Value {
    let mut v = json!({
        // istiod always turns success-rate ejection off.
        "enforcing_success_rate": 0,
        "interval": duration(o.interval),
        "base_ejection_time": duration(o.base_ejection_time),
    });
    match o.consecutive_5xx {
        Some(n) => {
            v["consecutive_5xx"] = json!(n);
            v["enforcing_consecutive_5xx"] = json!(100);
        }
        // consecutive5xxErrors: 0 in the DestinationRule: off.
        None => {
            v["consecutive_5xx"] = json!(0);
            v["enforcing_consecutive_5xx"] = json!(0);
        }
    }
    if let Some(n) = o.consecutive_gateway {
        v["consecutive_gateway_failure"] = json!(n);
        v["enforcing_consecutive_gateway_failure"] = json!(100);
    }
    if o.max_ejection_percent > 0 {
        v["max_ejection_percent"] = json!(o.max_ejection_percent.min(100));
    }
    v
}

/// A protobuf JSON duration (`"5s"`, `"0.250s"`).
pub fn duration(d: SimDuration) -> String {
    let (s, ms) = (d.0 / 1000, d.0 % 1000);
    if ms == 0 {
        format!("{s}s")
    } else {
        format!("{s}.{ms:03}s")
    }
}

/// The overprovisioning factor the model assumes, in percent (140).
pub fn overprovisioning_factor() -> u32 {
    (OVERPROVISIONING * 100.0).round() as u32
}

/// The EDS `ClusterLoadAssignment` of a cluster: one
/// `locality_lb_endpoints` per (priority, locality) of its endpoints.
fn load_assignment(view: &ClusterEntry) -> Value {
    let localities: Vec<Value> = view
        .groups()
        .into_iter()
        .map(|g| {
            let mut l = json!({
                "locality": locality(g.locality),
                "priority": g.priority,
                "lb_endpoints": g.endpoints.iter().map(|e| {
                    let address = e.address.as_deref().and_then(|a| a.parse::<SocketAddr>().ok());
                    json!({
                        "endpoint": { "address": address.map(socket_address) },
                        "health_status": "HEALTHY",
                    })
                }).collect::<Vec<_>>(),
            });
            if let Some(w) = g.weight {
                l["load_balancing_weight"] = json!(w);
            }
            l
        })
        .collect();
    json!({
        "@type": TYPE_LOAD_ASSIGNMENT,
        "cluster_name": view.name,
        "endpoints": localities,
        "policy": { "overprovisioning_factor": overprovisioning_factor() },
    })
}

/// An Envoy `Locality`, unset parts left out.
fn locality(l: &LocalityName) -> Value {
    let mut v = serde_json::Map::new();
    for (key, part) in [
        ("region", &l.region),
        ("zone", &l.zone),
        ("sub_zone", &l.subzone),
    ] {
        if !part.is_empty() {
            v.insert(key.into(), json!(part));
        }
    }
    Value::Object(v)
}

/// `{socket_address: {address, port_value}}`.
pub fn socket_address(a: SocketAddr) -> Value {
    json!({ "socket_address": { "address": a.ip().to_string(), "port_value": a.port() } })
}

/// The bootstrap node: named like an Istio sidecar of the client workload,
/// in the client's locality.
fn node(client: &Client, listen: SocketAddr) -> Value {
    let own = LocalityName::from(proxy_locality(&client.proxy));
    let ns = &client.proxy.namespace;
    let workload = client
        .proxy
        .labels
        .get("app")
        .cloned()
        .unwrap_or_else(|| format!("loadgen-{}", client.zone));
    json!({
        "id": format!("sidecar~{}~{workload}.{ns}~{ns}.svc.cluster.local", listen.ip()),
        "cluster": format!("{workload}.{ns}"),
        "locality": locality(&own),
        "metadata": { "NAMESPACE": ns, "LABELS": client.proxy.labels },
    })
}

/// Stats tagging. Envoy's default `envoy.cluster_name` extractor ends the
/// name at its first dot, so `cluster.outbound|8080||test.default.svc.
/// cluster.local.upstream_rq_total` would come out as a metric named after
/// the domain, for a cluster `outbound|8080||test`; and with the defaults on,
/// the default extractor wins over a custom one of the same name (checked on
/// Envoy 1.40). So the defaults are off, the cluster name is taken whole
/// (`outbound|PORT|SUBSET|HOST`, HOST ending in `.svc.cluster.local`, as
/// Istio's sidecar bootstrap does), and the other default tags the local
/// backend reads are named back (no `regex`: Envoy's own). Prometheus then
/// shows `envoy_cluster_upstream_rq_total{envoy_cluster_name="outbound|..."}`.
fn stats_config() -> Value {
    let defaults = [
        "envoy.http_conn_manager_prefix",
        "envoy.listener_address",
        "envoy.response_code_class",
        "envoy.response_code",
        "envoy.worker_id",
    ];
    let mut tags = vec![json!({
        "tag_name": "envoy.cluster_name",
        "regex": r"^cluster\.((outbound\|[0-9]+\|[^|]*\|[^|]+?\.svc\.cluster\.local)\.)",
    })];
    tags.extend(defaults.iter().map(|t| json!({ "tag_name": t })));
    json!({ "use_all_default_tags": false, "stats_tags": tags })
}

/// A file-based config source in `dir`: reloaded when an entry is moved
/// into `dir` (Envoy's `watched_directory`).
fn path_source(dir: &Path, file: &str) -> Value {
    json!({
        "path_config_source": {
            "path": dir.join(file).to_string_lossy(),
            "watched_directory": { "path": dir.to_string_lossy() },
        },
        "resource_api_version": "V3",
    })
}

/// The EDS file of a cluster: its name with every character that is not
/// alphanumeric, `-` or `.` replaced by `_`, so `outbound|8080|s|h` becomes
/// `eds.outbound_8080_s_h.json`.
pub fn eds_file(cluster: &str) -> String {
    let safe: String = cluster
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("eds.{safe}.json")
}

/// A discovery response as the file-based subscription reads it.
fn discovery(resources: Vec<Value>) -> Value {
    let text = serde_json::to_string(&resources).unwrap_or_default();
    json!({ "version_info": template_hash(&text), "resources": resources })
}

impl EnvoyConfig {
    /// The configuration as Envoy's admin `/config_dump?include_eds` lists
    /// it once loaded (envoy/admin/v3 config_dump_shared.proto): for tests
    /// and fakes; tests/envoy_config.rs reads a real Envoy's.
    pub fn as_config_dump(&self) -> Value {
        let wrap = |field: &str, v: &Value| json!({ field: v });
        json!({ "configs": [
            {
                "@type": dump::BOOTSTRAP_DUMP,
                "bootstrap": { "node": self.node },
            },
            {
                "@type": dump::CLUSTERS_DUMP,
                "dynamic_active_clusters":
                    self.clusters.iter().map(|c| wrap("cluster", c)).collect::<Vec<_>>(),
            },
            {
                "@type": dump::ROUTES_DUMP,
                "dynamic_route_configs": [wrap("route_config", &self.route)],
            },
            {
                "@type": dump::ENDPOINTS_DUMP,
                "dynamic_endpoint_configs":
                    self.endpoints.values().map(|e| wrap("endpoint_config", e)).collect::<Vec<_>>(),
            },
        ]})
    }

    /// The listener name istiod would use.
    pub fn listener_name(&self) -> String {
        format!("{}_{}", self.listen.ip(), self.listen.port())
    }

    /// The listener's HTTP stat prefix, `outbound_<ip>_<port>` with every
    /// `.` and `:` of the address made `_`: Envoy's default tag extractor
    /// cuts `http.<prefix>.` at the first dot.
    pub fn stat_prefix(&self) -> String {
        format!("outbound_{}", self.listener_name()).replace(['.', ':'], "_")
    }

    /// The RDS route configuration name (the target port, as in istiod).
    pub fn route_name(&self) -> &str {
        self.route["name"].as_str().unwrap_or_default()
    }

    /// The LDS listener, reading its routes from `dir`.
    pub fn listener(&self, dir: &Path) -> Value {
        let name = self.listener_name();
        json!({
            "@type": TYPE_LISTENER,
            "name": name,
            "address": socket_address(self.listen),
            "traffic_direction": "OUTBOUND",
            "filter_chains": [{ "filters": [{
                "name": "envoy.filters.network.http_connection_manager",
                "typed_config": {
                    "@type": TYPE_HCM,
                    "stat_prefix": self.stat_prefix(),
                    "codec_type": "AUTO",
                    "rds": {
                        "route_config_name": self.route_name(),
                        "config_source": path_source(dir, RDS_FILE),
                    },
                    "http_filters": [{
                        "name": "envoy.filters.http.router",
                        "typed_config": { "@type": TYPE_ROUTER },
                    }],
                },
            }]}],
        })
    }

    /// The CDS clusters, each reading its endpoints from `dir`.
    pub fn cds(&self, dir: &Path) -> Vec<Value> {
        self.clusters
            .iter()
            .map(|c| {
                let mut c = c.clone();
                let file = eds_file(c["name"].as_str().unwrap_or_default());
                c["eds_cluster_config"]["eds_config"] = path_source(dir, &file);
                c
            })
            .collect()
    }

    /// The bootstrap: node, admin, CDS and LDS from files in `dir`.
    pub fn bootstrap(&self, dir: &Path) -> Value {
        json!({
            "node": self.node,
            "admin": { "address": socket_address(self.admin) },
            "stats_config": stats_config(),
            "dynamic_resources": {
                "cds_config": path_source(dir, CDS_FILE),
                "lds_config": path_source(dir, LDS_FILE),
            },
        })
    }

    /// The same configuration as one static bootstrap (routes inline in the
    /// listener, endpoints inline in STATIC clusters), for `envoy --mode
    /// validate`: validation mode does not read file-based xDS, so the
    /// dynamic bootstrap alone would leave every resource unchecked, while
    /// static resources are parsed strictly (unknown fields are errors).
    pub fn validation_bootstrap(&self) -> Value {
        let strip = |v: &Value| {
            let mut v = v.clone();
            if let Some(o) = v.as_object_mut() {
                o.remove("@type");
            }
            v
        };
        let mut listener = strip(&self.listener(Path::new("/")));
        let hcm = &mut listener["filter_chains"][0]["filters"][0]["typed_config"];
        if let Some(o) = hcm.as_object_mut() {
            o.remove("rds");
            o.insert("route_config".into(), strip(&self.route));
        }
        let clusters: Vec<Value> = self
            .clusters
            .iter()
            .map(|c| {
                let mut c = strip(c);
                let name = c["name"].as_str().unwrap_or_default().to_owned();
                if let Some(o) = c.as_object_mut() {
                    o.remove("eds_cluster_config");
                    o.insert("type".into(), json!("STATIC"));
                    if let Some(cla) = self.endpoints.get(&name) {
                        o.insert("load_assignment".into(), strip(cla));
                    }
                }
                c
            })
            .collect();
        json!({
            "node": self.node,
            "admin": { "address": socket_address(self.admin) },
            "stats_config": stats_config(),
            "static_resources": { "listeners": [listener], "clusters": clusters },
        })
    }

    /// Every file for `dir`, in the order they must appear: endpoints before
    /// the clusters naming them, clusters before the routes naming them,
    /// routes before the listener, the bootstrap last.
    pub fn files(&self, dir: &Path) -> Vec<(String, Value)> {
        let mut out: Vec<(String, Value)> = self
            .endpoints
            .iter()
            .map(|(name, cla)| (eds_file(name), discovery(vec![cla.clone()])))
            .collect();
        out.push((CDS_FILE.into(), discovery(self.cds(dir))));
        out.push((RDS_FILE.into(), discovery(vec![self.route.clone()])));
        out.push((LDS_FILE.into(), discovery(vec![self.listener(dir)])));
        out.push((BOOTSTRAP_FILE.into(), self.bootstrap(dir)));
        out
    }
}

/// Writes `config`'s files into `dir` so Envoy only ever sees complete
/// files: each changed file is written to a hidden temporary name in `dir`
/// and renamed over the old one (the rename is what Envoy's watched
/// directory reacts to). Unchanged files are left alone, and `eds.*.json`
/// files of clusters that no longer exist are removed once the new CDS is
/// in place.
pub fn write_atomically(dir: &Path, config: &EnvoyConfig) -> io::Result<()> {
    fs::create_dir_all(dir)?;
    let files = config.files(dir);
    for (name, value) in &files {
        let mut text = serde_json::to_string_pretty(value).map_err(io::Error::other)?;
        text.push('\n');
        let path = dir.join(name);
        if fs::read(&path).is_ok_and(|old| old == text.as_bytes()) {
            continue;
        }
        let tmp = dir.join(format!(".{name}.tmp"));
        fs::write(&tmp, text.as_bytes())?;
        fs::rename(&tmp, &path)?;
    }
    for entry in fs::read_dir(dir)? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if name.starts_with("eds.")
            && name.ends_with(".json")
            && !files.iter().any(|(f, _)| *f == name)
        {
            fs::remove_file(dir.join(&name))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mesh::cluster::{ClusterView, build_cluster};
    use crate::mesh::route::client_route;
    use crate::model::clock::SimTime;
    use crate::model::world::ClusterTiming;
    use crate::profile::ClusterProfile;
    use crate::topology::istio::{LocalityDistribute, LocalityLbSetting};
    use crate::topology::{Loaded, Topology, load_paths, load_text};
    use crate::zone::Zone;
    use std::collections::BTreeSet;
    use std::sync::Arc;

    const PINNED: &str = "suites/topologies/zone-pinned.yaml";
    const FAILOVER: &str = "suites/topologies/zone-failover.yaml";
    const SEED: &str = "suites/fixtures/source-design/zone-aware-topology.yaml";

    fn world(path: &str) -> World {
        let loaded = load_paths(&[Path::new(env!("CARGO_MANIFEST_DIR")).join(path)]).unwrap();
        World::new(
            &Topology::new(loaded.objects),
            &ClusterProfile::builtin(),
            ClusterTiming::default(),
        )
    }

    fn world_from(yaml: &str) -> World {
        let mut l = Loaded::default();
        load_text(Arc::from(Path::new("t.yaml")), yaml, &mut l);
        assert!(l.issues.is_empty(), "{:?}", l.issues);
        World::new(
            &Topology::new(l.objects),
            &ClusterProfile::builtin(),
            ClusterTiming::default(),
        )
    }

    fn addr(p: PodId) -> SocketAddr {
        SocketAddr::from(([10, 0, (p.0 / 256) as u8, (p.0 % 256) as u8], 8080))
    }

    fn client(w: &World, zone: &str) -> Client {
        Client::new(w, &Zone::from(zone), "default", 10.0)
    }

    fn config(w: &World, c: &Client) -> EnvoyConfig {
        let target = w.mesh.service("default", "test").unwrap();
        proxy_config(
            w,
            c,
            target,
            &addr,
            "127.0.0.1:15001".parse().unwrap(),
            "127.0.0.1:15000".parse().unwrap(),
        )
    }

    fn zones(w: &World) -> Vec<String> {
        w.profile.zone_names().map(|z| z.to_string()).collect()
    }

    /// What an endpoint looks like to Envoy: (priority, zone, locality weight).
    type Placed = (u64, String, Option<u64>);

    /// Endpoint address -> placement, read back from a ClusterLoadAssignment.
    fn eds_placements(cla: &Value) -> BTreeMap<String, Placed> {
        let mut out = BTreeMap::new();
        for loc in cla["endpoints"].as_array().unwrap() {
            let priority = loc["priority"].as_u64().unwrap_or(0);
            let zone = loc["locality"]["zone"].as_str().unwrap().to_owned();
            let weight = loc["load_balancing_weight"].as_u64();
            for e in loc["lb_endpoints"].as_array().unwrap() {
                let sa = &e["endpoint"]["address"]["socket_address"];
                let a = format!(
                    "{}:{}",
                    sa["address"].as_str().unwrap(),
                    sa["port_value"].as_u64().unwrap()
                );
                assert!(
                    out.insert(a.clone(), (priority, zone.clone(), weight))
                        .is_none(),
                    "{a} twice"
                );
            }
        }
        out
    }

    /// The same, straight from the model.
    fn model_placements(view: &ClusterView) -> BTreeMap<String, Placed> {
        view.hosts
            .iter()
            .map(|h| {
                (
                    addr(h.endpoint.pod).to_string(),
                    (
                        u64::from(h.priority),
                        h.endpoint.zone.to_string(),
                        h.weight.map(|w| w.ceil() as u64),
                    ),
                )
            })
            .collect()
    }

    /// The model's clusters for the client's route: (name, view; None when
    /// the host names no Service).
    fn model_destinations(w: &World, c: &Client) -> Vec<(String, Option<ClusterView>)> {
        let target = w.mesh.service("default", "test").unwrap();
        client_route(&w.mesh, &c.proxy, target)
            .destinations()
            .iter()
            .map(|d| {
                let view = d
                    .service()
                    .map(|s| build_cluster(w, &w.mesh, &c.proxy, s, d.subset));
                (d.cluster().to_string(), view)
            })
            .collect()
    }

    /// The model's split of the client's route: (cluster, weight).
    fn model_split(w: &World, c: &Client) -> Vec<(String, u64)> {
        let target = w.mesh.service("default", "test").unwrap();
        client_route(&w.mesh, &c.proxy, target)
            .split()
            .parts()
            .iter()
            .map(|(weight, d)| (d.cluster().to_string(), u64::from(weight.get())))
            .collect()
    }

    /// (cluster, weight) pairs the Envoy route sends traffic to.
    fn route_split(cfg: &EnvoyConfig) -> Vec<(String, u64)> {
        let routes = cfg.route["virtual_hosts"][0]["routes"].as_array().unwrap();
        assert_eq!(routes.len(), 1);
        let action = &routes[0]["route"];
        if let Some(c) = action["cluster"].as_str() {
            return vec![(c.to_owned(), 100)];
        }
        action["weighted_clusters"]["clusters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["name"].as_str().unwrap().to_owned(),
                    c["weight"].as_u64().unwrap(),
                )
            })
            .collect()
    }

    fn cluster_names(cfg: &EnvoyConfig) -> BTreeSet<String> {
        cfg.clusters
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_owned())
            .collect()
    }

    /// Every client zone of a topology: the CDS clusters are exactly the
    /// existing clusters of the route, each EDS endpoint has the priority,
    /// zone and weight the model gives its pod, and the route's split is the
    /// VirtualService's.
    fn assert_matches_model(w: &World) {
        for zone in zones(w) {
            let c = client(w, &zone);
            let cfg = config(w, &c);
            let dests = model_destinations(w, &c);
            assert!(!dests.is_empty(), "{zone}: no destination");
            let existing: BTreeSet<String> = dests
                .iter()
                .filter(|(_, v)| v.as_ref().is_some_and(|v| v.exists))
                .map(|(n, _)| n.clone())
                .collect();
            assert_eq!(cluster_names(&cfg), existing, "{zone}: clusters");
            for (name, view) in &dests {
                let Some(view) = view.as_ref().filter(|v| v.exists) else {
                    continue;
                };
                let cla = &cfg.endpoints[name];
                assert_eq!(cla["cluster_name"], json!(name));
                assert_eq!(
                    eds_placements(cla),
                    model_placements(view),
                    "{zone}: endpoints of {name}"
                );
                assert!(!view.hosts.is_empty(), "{zone}: {name} has hosts");
            }
            assert_eq!(route_split(&cfg), model_split(w, &c), "{zone}: route");
        }
    }

    #[test]
    fn pinned_topology_matches_the_model_for_every_zone() {
        let w = world(PINNED);
        assert_matches_model(&w);
        // Concretely: zone c clients use stable-c only, all in zone c, priority 0.
        let cfg = config(&w, &client(&w, "us-east-1c"));
        assert_eq!(
            route_split(&cfg),
            vec![(
                "outbound|8080|stable-c|test.default.svc.cluster.local".to_owned(),
                100
            )]
        );
        let cla = &cfg.endpoints["outbound|8080|stable-c|test.default.svc.cluster.local"];
        let placed = eds_placements(cla);
        assert_eq!(placed.len(), 3);
        assert!(
            placed
                .values()
                .all(|(p, z, w)| *p == 0 && z == "us-east-1c" && w.is_none())
        );
        // The zero-weight canary cluster exists (istiod builds it) but gets
        // no traffic from the route.
        assert!(
            cluster_names(&cfg).contains("outbound|8080|canary-c|test.default.svc.cluster.local")
        );
    }

    #[test]
    fn failover_topology_matches_the_model_for_every_zone() {
        let w = world(FAILOVER);
        assert_matches_model(&w);
        for zone in zones(&w) {
            let cfg = config(&w, &client(&w, &zone));
            let cla = &cfg.endpoints["outbound|8080||test.default.svc.cluster.local"];
            let placed = eds_placements(cla);
            assert_eq!(placed.len(), 9);
            for (p, z, weight) in placed.values() {
                assert_eq!(*p, u64::from(*z != zone), "{zone}: {z}");
                assert!(weight.is_none());
            }
            // One locality per (priority, zone), with the client's region.
            let locs = cla["endpoints"].as_array().unwrap();
            assert_eq!(locs.len(), 3);
            assert!(locs.iter().all(|l| l["locality"]["region"] == "us-east-1"));
            assert_eq!(cla["policy"]["overprovisioning_factor"], json!(140));
            assert_eq!(cfg.node["locality"]["zone"], json!(zone));
            assert_eq!(cfg.node["locality"]["region"], json!("us-east-1"));
        }
    }

    #[test]
    fn eds_follows_the_model_after_a_zone_loss() {
        let mut w = world(FAILOVER);
        w.spot_loss(&Zone::from("us-east-1c"), None);
        // Dead endpoints stay in EDS until the node is marked NotReady.
        let cfg = config(&w, &client(&w, "us-east-1c"));
        let cla = &cfg.endpoints["outbound|8080||test.default.svc.cluster.local"];
        assert_eq!(eds_placements(cla).len(), 9);
        let t = w.now + w.timing.node_monitor_grace;
        w.advance(t);
        assert_matches_model(&w);
        let cfg = config(&w, &client(&w, "us-east-1c"));
        let cla = &cfg.endpoints["outbound|8080||test.default.svc.cluster.local"];
        let placed = eds_placements(cla);
        assert_eq!(placed.len(), 6);
        // a and b are renumbered to priority 0 for zone c clients.
        assert!(
            placed
                .values()
                .all(|(p, z, _)| *p == 0 && z != "us-east-1c")
        );
    }

    #[test]
    fn canary_weights_written_by_argo_reach_the_route() {
        let mut w = world(PINNED);
        w.set_image("test-c", "myapp:v2").unwrap();
        for s in 1..=30 {
            w.advance(SimTime(s * 1000));
        }
        let vs = w.mesh.virtual_service("default", "test").unwrap();
        let r = vs
            .spec
            .http
            .iter()
            .find(|r| r.name.as_deref() == Some("zone-c-route"))
            .unwrap();
        let model: Vec<i64> = r.route.iter().map(|d| d.weight.unwrap()).collect();
        assert_eq!(model, vec![90, 10], "Argo wrote the canary weight");
        let c = client(&w, "us-east-1c");
        let cfg = config(&w, &c);
        assert_eq!(
            route_split(&cfg),
            vec![
                (
                    "outbound|8080|stable-c|test.default.svc.cluster.local".to_owned(),
                    90
                ),
                (
                    "outbound|8080|canary-c|test.default.svc.cluster.local".to_owned(),
                    10
                ),
            ]
        );
        assert_matches_model(&w);
        // The canary cluster holds exactly the canary pod(s).
        let cla = &cfg.endpoints["outbound|8080|canary-c|test.default.svc.cluster.local"];
        let canary: BTreeSet<String> = w
            .pods
            .iter()
            .enumerate()
            .filter(|(i, p)| p.is_active() && w.is_canary_pod(PodId(*i)) && w.pod_ready(p))
            .map(|(i, _)| addr(PodId(i)).to_string())
            .collect();
        assert!(!canary.is_empty());
        assert_eq!(
            eds_placements(cla).into_keys().collect::<BTreeSet<_>>(),
            canary
        );
        // Other zones keep their own 100/0 routes.
        let a = config(&w, &client(&w, "us-east-1a"));
        assert_eq!(route_split(&a).len(), 1);
    }

    #[test]
    fn rejected_rule_leaves_subset_clusters_out() {
        let w = world(SEED);
        assert!(
            w.mesh
                .destination_rules
                .iter()
                .all(|d| d.rejected.is_some())
        );
        for zone in zones(&w) {
            let c = client(&w, &zone);
            let cfg = config(&w, &c);
            assert!(matches!(cfg.route_choice, RouteChoice::Route { .. }));
            // The route still names the subset clusters (Envoy: 503 NC)...
            let split = route_split(&cfg);
            assert!(!split.is_empty());
            assert!(
                split
                    .iter()
                    .all(|(n, _)| n.contains("|stable-") || n.contains("|canary-"))
            );
            // ...but none of them is defined.
            assert!(cfg.clusters.is_empty(), "{zone}: {:?}", cluster_names(&cfg));
            assert!(cfg.endpoints.is_empty());
        }
        assert_matches_model(&w);
    }

    #[test]
    fn default_route_without_a_zone_match() {
        // A proxy in a zone no route matches gets the default route: the
        // Service's cluster, every endpoint, no subset, no weights.
        let w = world(SEED);
        let c = client(&w, "us-east-1d");
        let cfg = config(&w, &c);
        assert_eq!(cfg.route_choice, RouteChoice::Default);
        let name = "outbound|8080||test.default.svc.cluster.local";
        assert_eq!(route_split(&cfg), vec![(name.to_owned(), 100)]);
        assert_eq!(cluster_names(&cfg), BTreeSet::from([name.to_owned()]));
        let placed = eds_placements(&cfg.endpoints[name]);
        assert_eq!(placed.len(), 9);
        // No admitted rule: no outlier detection, so no priorities.
        assert!(placed.values().all(|(p, _, w)| *p == 0 && w.is_none()));
        assert!(cfg.clusters[0].get("outlier_detection").is_none());
        assert!(cfg.clusters[0].get("common_lb_config").is_none());
        let view = build_cluster(
            &w,
            &w.mesh,
            &c.proxy,
            w.mesh.service("default", "test").unwrap(),
            None,
        );
        assert_eq!(placed, model_placements(&view));
    }

    #[test]
    fn routes_that_apply_but_do_not_match_answer_404() {
        let w = world_from(
            "apiVersion: v1\nkind: Service\nmetadata: {name: test, namespace: default}\nspec: {selector: {app: test}, ports: [{port: 9090}]}\n---\napiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: v, namespace: default}\nspec:\n  hosts: [test]\n  http:\n    - name: api\n      match: [{uri: {prefix: /api}}]\n      route: [{destination: {host: test}}]\n",
        );
        let cfg = config(&w, &client(&w, "us-east-1a"));
        assert_eq!(cfg.route_choice, RouteChoice::NoRoute);
        let route = &cfg.route["virtual_hosts"][0]["routes"][0];
        assert_eq!(route["direct_response"]["status"], json!(404));
        assert!(route.get("route").is_none());
        assert!(cfg.clusters.is_empty());
        assert_eq!(cfg.route_name(), "9090");
    }

    #[test]
    fn istio_default_retry_policy_and_no_timeout() {
        let w = world(FAILOVER);
        let cfg = config(&w, &client(&w, "us-east-1a"));
        let action = &cfg.route["virtual_hosts"][0]["routes"][0]["route"];
        assert_eq!(action["timeout"], json!("0s"));
        let r = &action["retry_policy"];
        assert_eq!(
            r["retry_on"],
            json!("connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes")
        );
        assert_eq!(r["num_retries"], json!(2));
        assert_eq!(r["retriable_status_codes"], json!([503]));
        assert_eq!(
            r["retry_host_predicate"][0]["name"],
            json!("envoy.retry_host_predicates.previous_hosts")
        );
        assert_eq!(r["host_selection_retry_max_attempts"], json!(5));
        assert_eq!(cfg.route["validate_clusters"], json!(false));
    }

    #[test]
    fn outlier_detection_and_panic_threshold_from_the_rule() {
        let w = world(FAILOVER);
        let cfg = config(&w, &client(&w, "us-east-1b"));
        let c = &cfg.clusters[0];
        assert_eq!(c["type"], json!("EDS"));
        assert_eq!(c["connect_timeout"], json!("10s"));
        let o = &c["outlier_detection"];
        assert_eq!(o["consecutive_5xx"], json!(3));
        assert_eq!(o["enforcing_consecutive_5xx"], json!(100));
        assert_eq!(o["interval"], json!("5s"));
        assert_eq!(o["base_ejection_time"], json!("30s"));
        assert_eq!(o["max_ejection_percent"], json!(100));
        assert_eq!(o["enforcing_success_rate"], json!(0));
        assert!(o.get("consecutive_gateway_failure").is_none());
        assert_eq!(
            c["common_lb_config"]["healthy_panic_threshold"]["value"],
            json!(0.0)
        );
        assert!(
            c["common_lb_config"]
                .get("locality_weighted_lb_config")
                .is_none()
        );
    }

    #[test]
    fn outlier_settings_spelled_for_envoy() {
        let s = OutlierSettings {
            consecutive_5xx: None,
            consecutive_gateway: Some(4),
            interval: SimDuration::millis(1500),
            base_ejection_time: SimDuration::secs(60),
            max_ejection_percent: 250,
        };
        let o = outlier_detection(&s);
        assert_eq!(o["consecutive_5xx"], json!(0));
        assert_eq!(o["enforcing_consecutive_5xx"], json!(0));
        assert_eq!(o["consecutive_gateway_failure"], json!(4));
        assert_eq!(o["enforcing_consecutive_gateway_failure"], json!(100));
        assert_eq!(o["interval"], json!("1.500s"));
        assert_eq!(o["base_ejection_time"], json!("60s"));
        assert_eq!(o["max_ejection_percent"], json!(100));
        assert_eq!(duration(SimDuration::millis(250)), "0.250s");
    }

    #[test]
    fn distribute_weights_become_locality_weights() {
        let mut w = world(FAILOVER);
        let rule = std::sync::Arc::make_mut(&mut w.mesh)
            .destination_rule_mut("default", "test")
            .unwrap();
        let tp = rule.spec.traffic_policy.as_mut().unwrap();
        tp.load_balancer.as_mut().unwrap().locality_lb_setting = Some(LocalityLbSetting {
            distribute: vec![LocalityDistribute {
                from: "us-east-1/us-east-1c/*".into(),
                to: [
                    ("us-east-1/us-east-1c/*".to_owned(), 60),
                    ("us-east-1/us-east-1a/*".to_owned(), 40),
                ]
                .into(),
            }],
            ..Default::default()
        });
        assert_matches_model(&w);
        let cfg = config(&w, &client(&w, "us-east-1c"));
        let c = &cfg.clusters[0];
        assert_eq!(
            c["common_lb_config"]["locality_weighted_lb_config"],
            json!({})
        );
        let cla = &cfg.endpoints["outbound|8080||test.default.svc.cluster.local"];
        let weights: BTreeMap<String, u64> = cla["endpoints"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| {
                (
                    l["locality"]["zone"].as_str().unwrap().to_owned(),
                    l["load_balancing_weight"].as_u64().unwrap(),
                )
            })
            .collect();
        // Zone b matches no `to` key: dropped for this client.
        assert_eq!(
            weights,
            BTreeMap::from([("us-east-1a".to_owned(), 40), ("us-east-1c".to_owned(), 60)])
        );
        // A client the entry does not match keeps everything, unweighted.
        let a = config(&w, &client(&w, "us-east-1a"));
        assert!(
            a.clusters[0]["common_lb_config"]
                .get("locality_weighted_lb_config")
                .is_none()
        );
    }

    #[test]
    fn files_wire_file_based_xds_through_the_watched_directory() {
        let w = world(PINNED);
        let cfg = config(&w, &client(&w, "us-east-1a"));
        let dir = Path::new("/run/zonechaos/envoy-a");
        let files = cfg.files(dir);
        let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            &names[names.len() - 4..],
            &[CDS_FILE, RDS_FILE, LDS_FILE, BOOTSTRAP_FILE]
        );
        let get = |n: &str| &files.iter().find(|(f, _)| f == n).unwrap().1;
        let watched = |src: &Value, file: &str| {
            assert_eq!(
                src["path_config_source"]["path"],
                json!(format!("/run/zonechaos/envoy-a/{file}"))
            );
            assert_eq!(
                src["path_config_source"]["watched_directory"]["path"],
                json!("/run/zonechaos/envoy-a")
            );
            assert_eq!(src["resource_api_version"], json!("V3"));
        };
        let boot = get(BOOTSTRAP_FILE);
        watched(&boot["dynamic_resources"]["cds_config"], CDS_FILE);
        watched(&boot["dynamic_resources"]["lds_config"], LDS_FILE);
        assert_eq!(
            boot["admin"]["address"]["socket_address"]["port_value"],
            json!(15000)
        );
        assert_eq!(boot["node"]["locality"]["zone"], json!("us-east-1a"));
        // Whole cluster names as the Prometheus cluster tag.
        assert_eq!(boot["stats_config"]["use_all_default_tags"], json!(false));
        assert_eq!(
            boot["stats_config"]["stats_tags"][0]["tag_name"],
            json!("envoy.cluster_name")
        );
        // Every cluster reads its own EDS file, which is among the files.
        for c in get(CDS_FILE)["resources"].as_array().unwrap() {
            let name = c["name"].as_str().unwrap();
            assert_eq!(c["eds_cluster_config"]["service_name"], json!(name));
            let file = eds_file(name);
            assert!(!file.contains('|'));
            watched(&c["eds_cluster_config"]["eds_config"], &file);
            let eds = get(&file);
            assert_eq!(eds["resources"][0]["cluster_name"], json!(name));
            assert_eq!(eds["resources"][0]["@type"], json!(TYPE_LOAD_ASSIGNMENT));
        }
        let listener = &get(LDS_FILE)["resources"][0];
        assert_eq!(
            listener["address"]["socket_address"]["port_value"],
            json!(15001)
        );
        let hcm = &listener["filter_chains"][0]["filters"][0]["typed_config"];
        assert_eq!(hcm["rds"]["route_config_name"], json!("8080"));
        watched(&hcm["rds"]["config_source"], RDS_FILE);
        assert_eq!(get(RDS_FILE)["resources"][0]["name"], json!("8080"));
        // Versions change with content only.
        assert_eq!(
            get(CDS_FILE)["version_info"],
            cfg.files(dir)[files.len() - 4].1["version_info"]
        );
    }

    #[test]
    fn validation_bootstrap_inlines_every_resource() {
        let w = world(FAILOVER);
        let cfg = config(&w, &client(&w, "us-east-1c"));
        let v = cfg.validation_bootstrap();
        let s = &v["static_resources"];
        let hcm = &s["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"];
        assert!(hcm.get("rds").is_none());
        assert_eq!(hcm["route_config"]["name"], json!("8080"));
        let c = &s["clusters"][0];
        assert_eq!(c["type"], json!("STATIC"));
        assert!(c.get("@type").is_none() && c.get("eds_cluster_config").is_none());
        assert_eq!(
            c["load_assignment"]["endpoints"].as_array().unwrap().len(),
            3
        );
    }

    #[test]
    fn write_atomically_replaces_changed_files_only() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let mut w = world(FAILOVER);
        let c = client(&w, "us-east-1c");
        let cfg = config(&w, &c);
        write_atomically(dir.path(), &cfg).unwrap();
        let ino = |f: &str| fs::metadata(dir.path().join(f)).unwrap().ino();
        let eds = eds_file("outbound|8080||test.default.svc.cluster.local");
        let before: Vec<u64> = [CDS_FILE, LDS_FILE, RDS_FILE, BOOTSTRAP_FILE, &eds]
            .iter()
            .map(|f| ino(f))
            .collect();
        let on_disk: Value =
            serde_json::from_slice(&fs::read(dir.path().join(&eds)).unwrap()).unwrap();
        assert_eq!(
            on_disk["resources"][0],
            cfg.endpoints.values().next().unwrap().clone()
        );
        // Same config again: nothing is rewritten.
        write_atomically(dir.path(), &cfg).unwrap();
        let again: Vec<u64> = [CDS_FILE, LDS_FILE, RDS_FILE, BOOTSTRAP_FILE, &eds]
            .iter()
            .map(|f| ino(f))
            .collect();
        assert_eq!(before, again);
        // After the zone is noticed lost, only the endpoints change.
        w.spot_loss(&Zone::from("us-east-1c"), None);
        let t = w.now + w.timing.node_monitor_grace;
        w.advance(t);
        write_atomically(dir.path(), &config(&w, &c)).unwrap();
        assert_ne!(ino(&eds), before[4], "EDS replaced");
        assert_eq!(ino(CDS_FILE), before[0]);
        assert_eq!(ino(LDS_FILE), before[1]);
        assert_eq!(ino(RDS_FILE), before[2]);
        let on_disk: Value =
            serde_json::from_slice(&fs::read(dir.path().join(&eds)).unwrap()).unwrap();
        let placed = eds_placements(&on_disk["resources"][0]);
        assert_eq!(placed.len(), 6);
        // No temporary file is left behind.
        let names: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");
    }

    #[test]
    fn write_atomically_removes_endpoints_of_dropped_clusters() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = world(PINNED);
        let c = client(&w, "us-east-1c");
        write_atomically(dir.path(), &config(&w, &c)).unwrap();
        let canary = dir.path().join(eds_file(
            "outbound|8080|canary-c|test.default.svc.cluster.local",
        ));
        assert!(canary.exists());
        // Drop the canary subset from every rule: its cluster disappears.
        for name in ["test-a", "test-b", "test-c"] {
            let d = std::sync::Arc::make_mut(&mut w.mesh)
                .destination_rule_mut("default", name)
                .unwrap();
            d.spec.subsets.retain(|s| !s.name.starts_with("canary"));
        }
        let cfg = config(&w, &c);
        assert!(!cluster_names(&cfg).iter().any(|n| n.contains("canary")));
        write_atomically(dir.path(), &cfg).unwrap();
        assert!(!canary.exists());
        assert!(
            dir.path()
                .join(eds_file(
                    "outbound|8080|stable-c|test.default.svc.cluster.local"
                ))
                .exists()
        );
    }

    #[test]
    fn the_generated_config_reads_back_as_the_model_view() {
        let mut lost = world(FAILOVER);
        lost.spot_loss(&Zone::from("us-east-1c"), None);
        lost.advance(SimTime(60_000));
        let mut canary = world(PINNED);
        canary.set_image("test-c", "myapp:v2").unwrap();
        for s in 1..=30 {
            canary.advance(SimTime(s * 1000));
        }
        for (what, w) in [
            ("failover", world(FAILOVER)),
            ("failover, c lost", lost),
            ("pinned canary", canary),
            ("seed", world(SEED)),
        ] {
            for zone in zones(&w) {
                let c = client(&w, &zone);
                let cfg = config(&w, &c);
                let target = w.mesh.service("default", "test").unwrap();
                let observed = Observed {
                    address: &|pod| Some(addr(pod).to_string()),
                    ..Observed::NONE
                };
                let model = model_view(&w, &c, target, &observed);
                let key = crate::mesh::proxy_dump::RouteKey {
                    route_config: &model.route.route_config,
                    virtual_host: &model.route.virtual_host,
                    name: &model.route.name,
                };
                let back = crate::mesh::proxy_dump::from_config_dump(
                    &cfg.as_config_dump(),
                    &c.zone,
                    key,
                    &model.cluster_names(),
                )
                .unwrap();
                assert_eq!(
                    crate::mesh::proxy_config::compare(&model, &back),
                    [],
                    "{what} {zone}"
                );
                assert_eq!(back.route.action, model.route.action, "{what} {zone}");
                assert_eq!(back.locality, model.locality, "{what} {zone}");
                let outliers = |p: &crate::mesh::proxy_config::ProxyConfig| {
                    p.clusters.iter().map(|c| c.outlier).collect::<Vec<_>>()
                };
                assert_eq!(outliers(&back), outliers(&model), "{what} {zone}");
            }
        }
    }
}
