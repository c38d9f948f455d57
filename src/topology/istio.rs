//! Istio `networking.istio.io` resources: only the fields zonechaos reads.
//! Unknown fields are tolerated here; schema conformance checks them against
//! the CRDs separately.

use std::collections::BTreeMap;

use serde::Deserialize;

/// The `(namespace, name)` of the Service an Istio host names, seen from
/// `namespace`: a short name, `name.ns`, `name.ns.svc` or
/// `name.ns.svc.cluster.local`. `None` for external hosts.
pub fn service_of_host<'a>(host: &'a str, namespace: &'a str) -> Option<(&'a str, &'a str)> {
    let trimmed = host.strip_suffix(".cluster.local").unwrap_or(host);
    let trimmed = trimmed.strip_suffix(".svc").unwrap_or(trimmed);
    match trimmed.split_once('.') {
        Some((name, ns)) if !ns.contains('.') => Some((ns, name)),
        Some(_) => None,
        None => Some((namespace, trimmed)),
    }
}

/// `VirtualService.spec`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct VirtualServiceSpec {
    /// Destination hosts the routes apply to.
    pub hosts: Vec<String>,
    /// Gateways (`mesh` is implied when empty).
    pub gateways: Vec<String>,
    /// HTTP routes, evaluated in order.
    pub http: Vec<HttpRoute>,
}

/// One `spec.http[]` entry.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct HttpRoute {
    /// Route name (Argo Rollouts finds routes by it).
    pub name: Option<String>,
    /// Match conditions; the route applies when any one matches. Empty = catch-all.
    #[serde(rename = "match")]
    pub matches: Vec<HttpMatchRequest>,
    /// Weighted destinations.
    pub route: Vec<HttpRouteDestination>,
}

impl HttpRoute {
    /// A route without match conditions catches every request.
    pub fn is_catch_all(&self) -> bool {
        self.matches.is_empty() || self.matches.iter().any(HttpMatchRequest::is_empty)
    }
}

/// One `match[]` condition.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct HttpMatchRequest {
    /// Match name.
    pub name: Option<String>,
    /// Labels of the client workload (istiod adds the node's topology labels).
    pub source_labels: BTreeMap<String, String>,
    /// Client namespace.
    pub source_namespace: Option<String>,
    /// Request matchers zonechaos does not interpret (uri, headers, ...).
    pub uri: Option<serde_json::Value>,
    /// Header matchers.
    pub headers: Option<serde_json::Value>,
    /// Gateway restriction.
    pub gateways: Vec<String>,
}

impl HttpMatchRequest {
    /// True when the condition restricts nothing.
    pub fn is_empty(&self) -> bool {
        self.source_labels.is_empty()
            && self.source_namespace.is_none()
            && self.uri.is_none()
            && self.headers.is_none()
            && self.gateways.is_empty()
    }

    /// True when the condition only looks at who the client is (labels,
    /// namespace), so it is decided once per proxy rather than per request.
    pub fn is_source_only(&self) -> bool {
        self.uri.is_none() && self.headers.is_none()
    }
}

/// One weighted destination of a route.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct HttpRouteDestination {
    /// Where to send the request.
    pub destination: Destination,
    /// Share of traffic; Istio treats a single destination without weight as 100.
    pub weight: Option<i64>,
}

/// A host, optionally a subset and a port: one Envoy cluster.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "camelCase", default)]
pub struct Destination {
    /// Service host (short name or FQDN).
    pub host: String,
    /// DestinationRule subset name.
    pub subset: Option<String>,
    /// Port selector.
    pub port: Option<PortSelector>,
}

/// `destination.port`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(default)]
pub struct PortSelector {
    /// Port number.
    pub number: Option<u32>,
}

/// `DestinationRule.spec`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct DestinationRuleSpec {
    /// The service host the rule applies to.
    pub host: String,
    /// Policy for every subset unless a subset overrides it.
    pub traffic_policy: Option<TrafficPolicy>,
    /// Named subsets (label sets).
    pub subsets: Vec<Subset>,
    /// Restricts the rule to some client workloads (Istio >= 1.14).
    pub workload_selector: Option<WorkloadSelector>,
    /// Namespaces the rule is visible in.
    pub export_to: Vec<String>,
}

/// `workloadSelector`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct WorkloadSelector {
    /// Labels the client workload must carry.
    pub match_labels: BTreeMap<String, String>,
}

/// A named subset of a host's endpoints.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct Subset {
    /// Subset name.
    pub name: String,
    /// Endpoint labels selecting the subset.
    pub labels: BTreeMap<String, String>,
    /// Subset-level policy overriding the top-level one.
    pub traffic_policy: Option<TrafficPolicy>,
}

/// `trafficPolicy`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct TrafficPolicy {
    /// Load balancer settings.
    pub load_balancer: Option<LoadBalancerSettings>,
    /// Outlier detection (gates locality priorities).
    pub outlier_detection: Option<OutlierDetection>,
    /// Per-port overrides.
    pub port_level_settings: Vec<serde_json::Value>,
}

/// `loadBalancer`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct LoadBalancerSettings {
    /// ROUND_ROBIN, LEAST_REQUEST, ...
    pub simple: Option<String>,
    /// Locality-weighted load balancing.
    pub locality_lb_setting: Option<LocalityLbSetting>,
}

/// `localityLbSetting`.
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", default)]
pub struct LocalityLbSetting {
    /// `false` turns locality load balancing off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Explicit traffic shares per locality.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub distribute: Vec<LocalityDistribute>,
    /// Region-to-region failover.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failover: Vec<LocalityFailover>,
    /// Ordered labels deciding failover priority.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failover_priority: Vec<String>,
}

/// One `distribute[]` entry.
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize, PartialEq, Eq)]
#[serde(default)]
pub struct LocalityDistribute {
    /// Client locality (`region/zone/subzone`, `*` wildcards).
    pub from: String,
    /// Endpoint locality -> weight.
    pub to: BTreeMap<String, i64>,
}

/// One `failover[]` entry.
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize, PartialEq, Eq)]
#[serde(default)]
pub struct LocalityFailover {
    /// Client region.
    pub from: String,
    /// Region to fail over to.
    pub to: String,
}

/// `outlierDetection`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct OutlierDetection {
    /// Deprecated and ignored since Istio 1.7.
    pub consecutive_errors: Option<i64>,
    /// Envoy `consecutive_5xx`.
    #[serde(rename = "consecutive5xxErrors")]
    pub consecutive_5xx_errors: Option<i64>,
    /// Envoy `consecutive_gateway_failure`.
    pub consecutive_gateway_errors: Option<i64>,
    /// Connect failures count as local-origin errors when split.
    pub consecutive_local_origin_failures: Option<i64>,
    /// Ejection sweep interval (default 10s).
    pub interval: Option<String>,
    /// Base ejection time (default 30s).
    pub base_ejection_time: Option<String>,
    /// Upper bound on ejected hosts, percent (default 10).
    pub max_ejection_percent: Option<i64>,
    /// Below this share of healthy hosts, ejection stops (default 0).
    pub min_health_percent: Option<i64>,
}

/// `Gateway.spec` (kept for completeness; lint only names it).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct GatewaySpec {
    /// Gateway pod selector.
    pub selector: BTreeMap<String, String>,
    /// Listeners.
    pub servers: Vec<serde_json::Value>,
}
