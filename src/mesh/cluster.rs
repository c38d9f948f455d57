//! One Envoy cluster as istiod builds it for a client proxy:
//! `outbound|PORT|SUBSET|HOST`, its endpoints with priorities and locality
//! weights, and its outlier-detection settings.

use std::borrow::Cow;
use std::fmt;

use crate::mesh::endpoints::{Endpoint, EndpointMemo, service_endpoints};
use crate::mesh::locality::{
    EffectiveLocality, Locality, MESH_DEFAULT_SETTING, locality_setting, place,
};
use crate::mesh::outlier::DEFAULT_MAX_EJECTION_PERCENT;
use crate::mesh::routing::ClientProxy;
use crate::model::World;
use crate::model::clock::{SimDuration, parse_duration};
use crate::model::mesh_config::{MeshConfig, MeshService};
use crate::model::pod::PodId;
use crate::topology::ObjectName;
use crate::topology::dr_selection::{NamespacedRule, rule_for_proxy};
use crate::topology::istio::{
    DestinationRuleSpec, LoadBalancerSettings, LocalityLbSetting, OutlierDetection, Subset,
};
use crate::topology::labels::{Labels, SharedLabelsMemo, map_matches};
use crate::zone::Zone;

/// Identity of a cluster.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct ClusterKey {
    /// The Service.
    pub service: ObjectName,
    /// Its port.
    pub port: u16,
    /// The subset, if any.
    pub subset: Option<String>,
}

impl fmt::Display for ClusterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fqdn = format_args!(
            "{}.{}.svc.cluster.local",
            self.service.name, self.service.namespace
        );
        write_subset_key(f, u32::from(self.port), self.subset.as_deref(), fqdn)
    }
}

/// istiod's name of an outbound cluster, `outbound|PORT|SUBSET|HOST`
/// (istio/istio pilot/pkg/model/service.go BuildSubsetKey).
pub fn write_subset_key(
    f: &mut fmt::Formatter<'_>,
    port: u32,
    subset: Option<&str>,
    host: impl fmt::Display,
) -> fmt::Result {
    write!(f, "outbound|{port}|{}|{host}", subset.unwrap_or(""))
}

/// Outlier detection as Envoy applies it.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct OutlierSettings {
    /// Consecutive 5xx (connect failures count) before ejection; None = off.
    pub consecutive_5xx: Option<u32>,
    /// Consecutive gateway errors (502/503/504, connect failures); None = off.
    pub consecutive_gateway: Option<u32>,
    /// Sweep interval (un-ejection is checked on it).
    pub interval: SimDuration,
    /// Base ejection time (multiplied by the number of ejections).
    pub base_ejection_time: SimDuration,
    /// Max share of hosts ejected at once.
    pub max_ejection_percent: i64,
}

impl OutlierSettings {
    /// Istio's translation: consecutive5xxErrors (Envoy default 5 when
    /// unset, 0 disables), consecutiveGatewayErrors (off unless set),
    /// interval 10s, baseEjectionTime 30s, maxEjectionPercent 10.
    /// `consecutiveErrors` is ignored (deprecated since Istio 1.7).
    pub fn from_istio(od: &OutlierDetection) -> OutlierSettings {
        let positive = |v: Option<i64>| v.and_then(|n| u32::try_from(n).ok()).filter(|n| *n > 0);
        let dur = |s: &Option<String>, default: u64| {
            s.as_deref()
                .and_then(|d| parse_duration(d).ok())
                .unwrap_or(SimDuration::secs(default))
        };
        OutlierSettings {
            consecutive_5xx: match od.consecutive_5xx_errors {
                None => Some(5),
                v => positive(v),
            },
            consecutive_gateway: positive(od.consecutive_gateway_errors),
            interval: dur(&od.interval, 10),
            base_ejection_time: dur(&od.base_ejection_time, 30),
            max_ejection_percent: od
                .max_ejection_percent
                .unwrap_or(DEFAULT_MAX_EJECTION_PERCENT),
        }
    }
}

/// A host of a cluster as one proxy sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Host {
    /// The endpoint.
    pub endpoint: Endpoint,
    /// Priority for this proxy.
    pub priority: u32,
    /// Locality weight (distribute), if any.
    pub weight: Option<f64>,
}

/// A cluster as built for one proxy.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterView {
    /// Identity.
    pub key: ClusterKey,
    /// False when the subset is not defined by any admitted DestinationRule
    /// (istiod builds no cluster: 503 NC).
    pub exists: bool,
    /// Hosts kept for this proxy (distribute may drop some).
    pub hosts: Vec<Host>,
    /// Outlier detection, if configured.
    pub outlier: Option<OutlierSettings>,
}

/// The DestinationRule in force for a host, seen from a proxy
/// ([`rule_for_proxy`]: a selecting rule in the client namespace wins, else
/// the rules without selector merge). Rejected rules do not exist.
pub fn effective_rule<'a>(
    mesh: &'a MeshConfig,
    proxy: &ClientProxy,
    service: &MeshService,
) -> Option<Cow<'a, DestinationRuleSpec>> {
    let rules: Vec<NamespacedRule<'a>> = mesh
        .destination_rules_for(&service.name)
        .map(|d| NamespacedRule {
            namespace: &d.name.namespace,
            spec: &d.spec,
        })
        .collect();
    rule_for_proxy(&rules, &proxy.namespace, &proxy.labels)
}

/// The fields of a traffic policy a cluster uses, borrowed from the rule.
struct Policy<'a> {
    load_balancer: Option<&'a LoadBalancerSettings>,
    outlier_detection: Option<&'a OutlierDetection>,
}

/// Subset fields override the top-level policy field by field.
fn effective_policy<'a>(
    rule: Option<&'a DestinationRuleSpec>,
    subset: Option<&'a Subset>,
) -> Policy<'a> {
    let top = rule.and_then(|r| r.traffic_policy.as_ref());
    let sub = subset.and_then(|s| s.traffic_policy.as_ref());
    Policy {
        load_balancer: sub
            .and_then(|p| p.load_balancer.as_ref())
            .or_else(|| top.and_then(|p| p.load_balancer.as_ref())),
        outlier_detection: sub
            .and_then(|p| p.outlier_detection.as_ref())
            .or_else(|| top.and_then(|p| p.outlier_detection.as_ref())),
    }
}

/// The proxy's locality, from the topology labels istiod gave it
/// (localityFromProxyLabels).
pub fn proxy_locality(proxy: &ClientProxy) -> Locality<'_> {
    let [region, zone, subzone] = crate::topology::istio_labels::labels_locality(&proxy.labels);
    Locality {
        region,
        zone,
        subzone,
    }
}

/// Builds the cluster for `service` (and `subset`) as `proxy` receives it.
pub fn build_cluster(
    world: &World,
    mesh: &MeshConfig,
    proxy: &ClientProxy,
    service: &MeshService,
    subset: Option<&str>,
) -> ClusterView {
    build_cluster_of(
        world,
        mesh,
        proxy,
        service,
        subset,
        &service_endpoints(world, service),
    )
}

/// [`build_cluster`] in the memo's world, reusing its Service endpoints.
pub fn build_cluster_in(
    memo: &EndpointMemo<'_>,
    proxy: &ClientProxy,
    service: &MeshService,
    subset: Option<&str>,
) -> ClusterView {
    let world = memo.world();
    build_cluster_of(
        world,
        &world.mesh,
        proxy,
        service,
        subset,
        &memo.of(service),
    )
}

/// [`build_cluster`] from the Service's endpoints, already computed (see
/// [`crate::mesh::endpoints::EndpointMemo`]).
fn build_cluster_of(
    world: &World,
    mesh: &MeshConfig,
    proxy: &ClientProxy,
    service: &MeshService,
    subset: Option<&str>,
    endpoints: &[Endpoint],
) -> ClusterView {
    let key = ClusterKey {
        service: service.name.clone(),
        port: service.port,
        subset: subset.map(str::to_owned),
    };
    let rule = effective_rule(mesh, proxy, service);
    let subset_spec = subset.and_then(|name| {
        rule.as_deref()
            .and_then(|r| r.subsets.iter().find(|s| s.name == name))
    });
    if subset.is_some() && subset_spec.is_none() {
        return ClusterView {
            key,
            exists: false,
            hosts: Vec::new(),
            outlier: None,
        };
    }
    let policy = effective_policy(rule.as_deref(), subset_spec);
    let mut in_subset =
        SharedLabelsMemo::new(|l: &Labels| subset_spec.is_none_or(|s| map_matches(&s.labels, l)));
    let endpoints: Vec<&Endpoint> = endpoints
        .iter()
        .filter(|e| in_subset.get(&e.labels))
        .collect();
    let outlier = policy.outlier_detection.map(OutlierSettings::from_istio);
    let setting = policy
        .load_balancer
        .and_then(|l| l.locality_lb_setting.as_ref());
    let eff = effective_locality(world, service, setting, outlier.is_some());
    let client = proxy_locality(proxy);
    let localities: Vec<(Locality<'_>, &crate::topology::labels::Labels)> = endpoints
        .iter()
        .map(|e| (Locality::of_name(&e.locality), &*e.labels))
        .collect();
    let placements = place(&eff, &client, &proxy.labels, &localities);
    drop(localities);
    let hosts = endpoints
        .into_iter()
        .zip(placements)
        .filter_map(|(e, p)| {
            p.map(|p| Host {
                endpoint: e.clone(),
                priority: p.priority,
                weight: p.weight,
            })
        })
        .collect();
    ClusterView {
        key,
        exists: true,
        hosts,
        outlier,
    }
}

/// The locality setting in force for one cluster ([`locality_setting`]),
/// with the profile's `mesh.localityLbSetting` as the mesh config's.
fn effective_locality<'a>(
    world: &'a World,
    service: &MeshService,
    rule_setting: Option<&'a LocalityLbSetting>,
    outlier_detection: bool,
) -> EffectiveLocality<'a> {
    let mesh = world
        .profile
        .mesh
        .locality_lb_setting
        .as_ref()
        .unwrap_or(&MESH_DEFAULT_SETTING);
    let chosen = locality_setting(
        Some(mesh),
        rule_setting,
        service.traffic_distribution.as_deref(),
    );
    match chosen {
        Some((setting, forced)) => EffectiveLocality {
            enabled: true,
            setting,
            outlier_detection: outlier_detection || forced,
        },
        None => EffectiveLocality {
            enabled: false,
            setting: Cow::default(),
            outlier_detection,
        },
    }
}

impl ClusterView {
    /// Hosts per priority: (priority, zone) counts, for reports and whatif.
    pub fn zones_by_priority(&self) -> Vec<(u32, Zone, usize)> {
        let mut out: Vec<(u32, Zone, usize)> = Vec::new();
        for h in &self.hosts {
            match out
                .iter_mut()
                .find(|(p, z, _)| *p == h.priority && z == &h.endpoint.zone)
            {
                Some(e) => e.2 += 1,
                None => out.push((h.priority, h.endpoint.zone.clone(), 1)),
            }
        }
        out.sort();
        out
    }

    /// The pods of the cluster.
    pub fn pods(&self) -> impl Iterator<Item = PodId> + '_ {
        self.hosts.iter().map(|h| h.endpoint.pod)
    }
}
