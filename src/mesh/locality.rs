//! Locality load balancing as istiod translates a DestinationRule for one
//! client proxy (pilot/pkg/networking/core/loadbalancer, SEMANTICS.md §3):
//! which endpoints are kept, their priority, and their locality weight.

use crate::topology::istio::LocalityLbSetting;
use crate::topology::labels::{Labels, SharedLabelsMemo};
use crate::zone::LocalityPattern;

/// A locality: region, zone, subzone ("" where unset). Borrowed: it is
/// built for every endpoint of every cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Locality<'a> {
    /// Region.
    pub region: &'a str,
    /// Zone.
    pub zone: &'a str,
    /// Subzone.
    pub subzone: &'a str,
}

impl<'a> Locality<'a> {
    /// The locality an Envoy locality name `region/zone/subzone` spells
    /// (an endpoint's [`crate::mesh::endpoints::Endpoint::locality`]);
    /// missing parts are "".
    pub fn of_name(name: &'a str) -> Locality<'a> {
        let mut parts = name.splitn(3, '/');
        let mut next = || parts.next().unwrap_or("");
        Locality {
            region: next(),
            zone: next(),
            subzone: next(),
        }
    }
}

/// The settings in force for one cluster: the DestinationRule's, or the
/// mesh default `{enabled: true}`.
#[derive(Debug, Clone, PartialEq)]
pub struct EffectiveLocality<'a> {
    /// Locality LB on at all.
    pub enabled: bool,
    /// The setting (empty lists for the mesh default).
    pub setting: std::borrow::Cow<'a, LocalityLbSetting>,
    /// Outlier detection is configured (priorities are assigned only then).
    pub outlier_detection: bool,
}

/// What the client proxy does with one endpoint.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Placement {
    /// Envoy priority (0 = preferred), after renumbering.
    pub priority: u32,
    /// Locality weight from `distribute` (None = no locality weighting).
    pub weight: Option<f64>,
}

/// Priorities and weights for endpoints seen from `client`. `None` for an
/// endpoint means it is dropped (distribute with no matching `to`).
pub fn place(
    eff: &EffectiveLocality<'_>,
    client: &Locality<'_>,
    client_labels: &Labels,
    endpoints: &[(Locality<'_>, &Labels)],
) -> Vec<Option<Placement>> {
    if !eff.enabled {
        return vec![
            Some(Placement {
                priority: 0,
                weight: None
            });
            endpoints.len()
        ];
    }
    let s = &eff.setting;
    if !s.distribute.is_empty() {
        return distribute(s, client, endpoints);
    }
    if !eff.outlier_detection {
        // No outlier detection: no priorities, every endpoint equal.
        return vec![
            Some(Placement {
                priority: 0,
                weight: None
            });
            endpoints.len()
        ];
    }
    // Endpoints of one ReplicaSet in one zone share their label map.
    // A proxy without labels gets no failoverPriority priorities at all
    // (loadbalancer.go applyFailoverPriorities returns at once), only the
    // locality ones when `failover` is set too.
    let mut by_labels_of = SharedLabelsMemo::new(|labels: &Labels| {
        (!s.failover_priority.is_empty()).then(|| {
            if client_labels.is_empty() {
                0
            } else {
                failover_priority(&s.failover_priority, client_labels, labels)
            }
        })
    });
    let raw: Vec<u32> = endpoints
        .iter()
        .map(|(loc, labels)| {
            let by_labels = by_labels_of.get(labels);
            match by_labels {
                // failoverPriority alone replaces the locality priorities.
                Some(p) if s.failover.is_empty() => p,
                Some(p) => p * 5 + locality_priority(s, client, loc),
                None => locality_priority(s, client, loc),
            }
        })
        .collect();
    renumber(&raw)
        .into_iter()
        .map(|priority| {
            Some(Placement {
                priority,
                weight: None,
            })
        })
        .collect()
}

pub use crate::topology::istio_labels::{HOSTNAME_LABEL, NETWORK_LABEL, SUBZONE_LABEL};
use crate::topology::istio_labels::{REGION_LABEL, ZONE_LABEL};

/// The setting istiod derives from a Service's `trafficDistribution` when
/// no DestinationRule sets one (istio 1.30.3 loadbalancer.go
/// GetLocalityLbSetting): failoverPriority over network, region and zone
/// for `PreferClose` and `PreferSameZone`; network, region, zone, subzone
/// and hostname for `PreferSameNode`; failover on whether or not outlier
/// detection is set. The keys are the well-known ones istiod writes on
/// endpoints and proxies, whatever the profile's node label keys. `None`
/// for other values.
pub fn traffic_distribution_setting(traffic_distribution: &str) -> Option<LocalityLbSetting> {
    let labels: &[&str] = match traffic_distribution {
        "PreferClose" | "PreferSameZone" => &[NETWORK_LABEL, REGION_LABEL, ZONE_LABEL],
        "PreferSameNode" => &[
            NETWORK_LABEL,
            REGION_LABEL,
            ZONE_LABEL,
            SUBZONE_LABEL,
            HOSTNAME_LABEL,
        ],
        _ => return None,
    };
    Some(LocalityLbSetting {
        enabled: Some(true),
        failover_priority: labels.iter().map(|l| (*l).to_owned()).collect(),
        ..LocalityLbSetting::default()
    })
}

/// Mesh config's default locality setting when the mesh config names
/// none (istio 1.30.3 pkg/config/mesh/mesh.go DefaultMeshConfig).
pub static MESH_DEFAULT_SETTING: LocalityLbSetting = LocalityLbSetting {
    enabled: Some(true),
    distribute: Vec::new(),
    failover: Vec::new(),
    failover_priority: Vec::new(),
};

/// The setting in force for a cluster, in istiod's order (istio 1.30.3
/// loadbalancer.go GetLocalityLbSetting): the DestinationRule's; else the
/// one the Service's `trafficDistribution` derives, with failover forced
/// on (the `bool`); else the mesh config's. `None` when locality load
/// balancing is off: `enabled: false` where the setting was taken, or no
/// mesh setting at all.
pub fn locality_setting<'a>(
    mesh: Option<&'a LocalityLbSetting>,
    rule: Option<&'a LocalityLbSetting>,
    traffic_distribution: Option<&str>,
) -> Option<(std::borrow::Cow<'a, LocalityLbSetting>, bool)> {
    use std::borrow::Cow;
    if let Some(r) = rule {
        return (r.enabled != Some(false)).then_some((Cow::Borrowed(r), false));
    }
    if let Some(derived) = traffic_distribution.and_then(traffic_distribution_setting) {
        return Some((Cow::Owned(derived), true));
    }
    let m = mesh?;
    (m.enabled != Some(false)).then_some((Cow::Borrowed(m), false))
}

/// failoverPriority: 0 when every label matches the client's, else N - j
/// with j the first label that does not; `key=value` entries compare the
/// endpoint's label with the literal value. A label absent on both the
/// proxy and the endpoint matches: istiod compares the two values and an
/// absent label reads as "" on both sides (loadbalancer.go
/// applyFailoverPriorityPerLocality), which is how `trafficDistribution`'s
/// list starting with `topology.istio.io/network` still prefers the zone in
/// a single-network mesh.
fn failover_priority(labels: &[String], client: &Labels, endpoint: &Labels) -> u32 {
    let n = labels.len() as u32;
    for (j, entry) in labels.iter().enumerate() {
        let matches = match entry.split_once('=') {
            Some((key, wanted)) => label_value(endpoint, key) == wanted,
            None => label_value(client, entry) == label_value(endpoint, entry),
        };
        if !matches {
            return n - j as u32;
        }
    }
    0
}

/// A label's value as istiod reads it: "" when absent.
fn label_value<'a>(labels: &'a Labels, key: &str) -> &'a str {
    labels.get(key).map_or("", String::as_str)
}

/// Default priorities: same region+zone+subzone 0, same region+zone 1, same
/// region 2, another region named by a matching failover entry 3, any other
/// region 4.
fn locality_priority(s: &LocalityLbSetting, client: &Locality<'_>, ep: &Locality<'_>) -> u32 {
    if ep.region == client.region {
        if ep.zone == client.zone {
            return if ep.subzone == client.subzone { 0 } else { 1 };
        }
        return 2;
    }
    let named = s
        .failover
        .iter()
        .any(|f| f.from == client.region && f.to == ep.region);
    if named { 3 } else { 4 }
}

/// Renumbers priorities to 0..N without gaps, keeping order.
fn renumber(raw: &[u32]) -> Vec<u32> {
    let mut distinct: Vec<u32> = raw.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    raw.iter()
        .map(|p| distinct.iter().position(|d| d == p).unwrap_or(0) as u32)
        .collect()
}

/// distribute: the first entry whose `from` matches the client applies;
/// endpoints matching no `to` key are dropped; a `to` weight is shared by
/// the localities it matches in proportion to their endpoints, rounded up
/// (loadbalancer.go applyLocalityWeights: a locality's weight starts as its
/// endpoint count, becomes ceil(count x weight / total count), and stays
/// the count when that is 0).
fn distribute(
    s: &LocalityLbSetting,
    client: &Locality<'_>,
    endpoints: &[(Locality<'_>, &Labels)],
) -> Vec<Option<Placement>> {
    let entry = s.distribute.iter().find(|d| {
        LocalityPattern::parse(&d.from)
            .is_ok_and(|p| p.matches(client.region, client.zone, client.subzone))
    });
    let Some(entry) = entry else {
        return vec![
            Some(Placement {
                priority: 0,
                weight: None
            });
            endpoints.len()
        ];
    };
    let patterns: Vec<(LocalityPattern, i64)> = entry
        .to
        .iter()
        .filter_map(|(k, w)| LocalityPattern::parse(k).ok().map(|p| (p, *w)))
        .collect();
    // Which `to` key each endpoint's locality falls under (first match).
    let key_of = |l: &Locality<'_>| {
        patterns
            .iter()
            .position(|(p, _)| p.matches(l.region, l.zone, l.subzone))
    };
    let mut in_locality: std::collections::HashMap<&Locality<'_>, usize> =
        std::collections::HashMap::new();
    let mut endpoints_per_key = vec![0usize; patterns.len()];
    for (loc, _) in endpoints {
        *in_locality.entry(loc).or_default() += 1;
        if let Some(k) = key_of(loc) {
            endpoints_per_key[k] += 1;
        }
    }
    endpoints
        .iter()
        .map(|(loc, _)| {
            key_of(loc).map(|k| {
                let count = in_locality[loc] as i64;
                let total = endpoints_per_key[k].max(1) as i64;
                let share = (count * patterns[k].1 + total - 1) / total;
                Placement {
                    priority: 0,
                    weight: Some(if share > 0 { share } else { count } as f64),
                }
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::istio::{LocalityDistribute, LocalityFailover};

    fn loc(z: &str) -> Locality<'_> {
        Locality {
            region: "us-east-1",
            zone: z,
            subzone: "",
        }
    }

    fn labels(z: &str) -> Labels {
        [
            ("topology.kubernetes.io/zone".to_string(), z.to_string()),
            (
                "topology.kubernetes.io/region".to_string(),
                "us-east-1".to_string(),
            ),
        ]
        .into()
    }

    fn eff(setting: LocalityLbSetting, outlier: bool) -> EffectiveLocality<'static> {
        EffectiveLocality {
            enabled: true,
            setting: std::borrow::Cow::Owned(setting),
            outlier_detection: outlier,
        }
    }

    fn priorities(e: &EffectiveLocality<'_>, client: &str) -> Vec<Option<u32>> {
        let zones = ["us-east-1a", "us-east-1b", "us-east-1c"];
        let ls: Vec<Labels> = zones.iter().map(|z| labels(z)).collect();
        let eps: Vec<(Locality, &Labels)> =
            zones.iter().zip(&ls).map(|(z, l)| (loc(z), l)).collect();
        place(e, &loc(client), &labels(client), &eps)
            .into_iter()
            .map(|p| p.map(|p| p.priority))
            .collect()
    }

    #[test]
    fn default_is_own_zone_first_then_the_rest_equally() {
        let e = eff(LocalityLbSetting::default(), true);
        assert_eq!(
            priorities(&e, "us-east-1b"),
            vec![Some(1), Some(0), Some(1)]
        );
    }

    #[test]
    fn no_outlier_detection_means_no_priorities() {
        let e = eff(LocalityLbSetting::default(), false);
        assert_eq!(
            priorities(&e, "us-east-1b"),
            vec![Some(0), Some(0), Some(0)]
        );
    }

    #[test]
    fn failover_priority_on_zone_and_key_value() {
        let e = eff(
            LocalityLbSetting {
                failover_priority: vec!["topology.kubernetes.io/zone".into()],
                ..Default::default()
            },
            true,
        );
        assert_eq!(
            priorities(&e, "us-east-1c"),
            vec![Some(1), Some(1), Some(0)]
        );
        // key=value: endpoints in zone b first for everyone.
        let e = eff(
            LocalityLbSetting {
                failover_priority: vec!["topology.kubernetes.io/zone=us-east-1b".into()],
                ..Default::default()
            },
            true,
        );
        assert_eq!(
            priorities(&e, "us-east-1a"),
            vec![Some(1), Some(0), Some(1)]
        );
    }

    #[test]
    fn failover_with_priority_combines_times_five() {
        let s = LocalityLbSetting {
            failover_priority: vec!["app=x".into()],
            failover: vec![LocalityFailover {
                from: "us-east-1".into(),
                to: "us-west-2".into(),
            }],
            ..Default::default()
        };
        // app=x never matches: all get 1*5 + locality priority (0 own zone, 2 others) -> renumbered 0/1.
        assert_eq!(
            priorities(&eff(s, true), "us-east-1a"),
            vec![Some(0), Some(1), Some(1)]
        );
    }

    #[test]
    fn distribute_drops_unlisted_localities() {
        let s = LocalityLbSetting {
            distribute: vec![LocalityDistribute {
                from: "us-east-1/us-east-1a/*".into(),
                to: [("us-east-1/us-east-1a/*".to_string(), 100)].into(),
            }],
            ..Default::default()
        };
        assert_eq!(
            priorities(&eff(s.clone(), false), "us-east-1a"),
            vec![Some(0), None, None]
        );
        // A client the entry does not match keeps everything.
        assert_eq!(
            priorities(&eff(s, false), "us-east-1b"),
            vec![Some(0), Some(0), Some(0)]
        );
    }
}
