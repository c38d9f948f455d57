//! ZC1xxx: DestinationRule locality load balancing and outlier detection
//! (SEMANTICS.md §3). Validation itself lives in [`crate::mesh::validation`]
//! so that lint and the mesh model agree on what Istio rejects.

use std::collections::BTreeMap;

use crate::lint::catalog;
use crate::lint::context::LintContext;
use crate::lint::finding::{Findings, Rule};
use crate::mesh::outlier::{DEFAULT_MAX_EJECTION_PERCENT, max_ejectable_hosts};
use crate::mesh::validation::{self, Violation};
use crate::topology::istio::{DestinationRuleSpec, TrafficPolicy};
use crate::topology::yaml::PathSeg;
use crate::topology::{Object, ObjectName};
use crate::zone::{LocalityPattern, Zone};

/// Runs the locality rules.
pub fn check(ctx: &LintContext<'_>, out: &mut Findings) {
    for (object, dr) in ctx.topology.destination_rules() {
        check_validation(object, dr, out);
        for (path, policy) in validation::policies(dr) {
            check_deprecated_consecutive_errors(object, &path, policy, out);
            check_distribute_own_zone(ctx, object, &path, policy, out);
        }
        check_max_ejection(ctx, object, dr, out);
    }
    check_zone_routes_without_outlier(ctx, out);
}

fn rule_for(v: Violation) -> &'static Rule {
    match v {
        Violation::DistributeWithFailover => &catalog::DISTRIBUTE_WITH_FAILOVER,
        Violation::FailoverNotRegion => &catalog::FAILOVER_NOT_REGION,
        Violation::FailoverSameRegion => &catalog::FAILOVER_SAME_REGION,
        Violation::FailoverWildcard => &catalog::FAILOVER_WILDCARD,
        Violation::FailoverWithTopologyPriority => &catalog::FAILOVER_WITH_TOPOLOGY_PRIORITY,
        Violation::DistributeWeightRange => &catalog::DISTRIBUTE_WEIGHT_RANGE,
        Violation::DistributeWeightSum => &catalog::DISTRIBUTE_WEIGHT_SUM,
        Violation::DistributeBadWildcard => &catalog::DISTRIBUTE_BAD_WILDCARD,
        Violation::DistributeOverlap => &catalog::DISTRIBUTE_OVERLAP,
        Violation::FailoverWithoutOutlier => &catalog::FAILOVER_WITHOUT_OUTLIER,
    }
}

fn hint_for(v: Violation) -> &'static str {
    match v {
        Violation::DistributeWithFailover => {
            "keep one: failoverPriority [topology.kubernetes.io/zone] (with outlierDetection) for zone failover, or distribute for fixed shares"
        }
        Violation::FailoverNotRegion => {
            "failover only moves between regions; for zone-to-zone failover use failoverPriority: [topology.kubernetes.io/zone] with outlierDetection"
        }
        Violation::FailoverSameRegion => "name two different regions, or drop the entry",
        Violation::FailoverWildcard => "name concrete regions in failover",
        Violation::FailoverWithTopologyPriority => {
            "drop failover, or use key=value entries in failoverPriority"
        }
        Violation::DistributeWeightRange => {
            "give every locality a weight from 1 to 100; leave a locality out to send it nothing"
        }
        Violation::DistributeWeightSum => "make the weights of this entry add up to exactly 100",
        Violation::DistributeBadWildcard => "use at most one '*', as the last part (region/zone/*)",
        Violation::DistributeOverlap => {
            "list specific localities before wildcards and do not repeat a locality"
        }
        Violation::FailoverWithoutOutlier => {
            "add outlierDetection (e.g. consecutive5xxErrors: 3, interval: 5s, baseEjectionTime: 30s, maxEjectionPercent: 100) to the same trafficPolicy"
        }
    }
}

/// Every violation Istio's webhook finds (errors: the rule is rejected).
fn check_validation(object: &Object, dr: &DestinationRuleSpec, out: &mut Findings) {
    for f in validation::validate_destination_rule(dr) {
        let consequence = if f.violation.is_warning() {
            "accepted with a warning"
        } else {
            "rejected by Istio's webhook"
        };
        out.at(
            rule_for(f.violation),
            object,
            &f.path,
            format!("{}: {} ({consequence})", object.display_name(), f.message),
            hint_for(f.violation),
        );
    }
}

fn check_deprecated_consecutive_errors(
    object: &Object,
    path: &[PathSeg],
    policy: &TrafficPolicy,
    out: &mut Findings,
) {
    let Some(od) = &policy.outlier_detection else {
        return;
    };
    let Some(n) = od.consecutive_errors else {
        return;
    };
    let fallback = if od.consecutive_5xx_errors.is_some() || od.consecutive_gateway_errors.is_some()
    {
        "the other consecutive* fields decide ejection"
    } else {
        "ejection falls back to Envoy's default of 5 consecutive 5xx"
    };
    let mut at: Vec<PathSeg> = path.to_vec();
    at.extend(crate::path!["outlierDetection", "consecutiveErrors"]);
    out.at(
        &catalog::DEPRECATED_CONSECUTIVE_ERRORS,
        object,
        &at,
        format!(
            "{}: outlierDetection.consecutiveErrors: {n} is deprecated and ignored since Istio 1.7; {fallback}",
            object.display_name()
        ),
        format!("replace it with consecutive5xxErrors: {n} (or consecutiveGatewayErrors for 502/503/504 and connect failures)"),
    );
}

/// `distribute` entries whose targets are all inside the client's own zone.
fn check_distribute_own_zone(
    ctx: &LintContext<'_>,
    object: &Object,
    path: &[PathSeg],
    policy: &TrafficPolicy,
    out: &mut Findings,
) {
    let Some(lb) = policy
        .load_balancer
        .as_ref()
        .and_then(|l| l.locality_lb_setting.as_ref())
    else {
        return;
    };
    for (i, entry) in lb.distribute.iter().enumerate() {
        let Ok(from) = LocalityPattern::parse(&entry.from) else {
            continue;
        };
        let Some(own_zone) = from.zone.as_deref().filter(|z| *z != "*") else {
            continue;
        };
        let only_own = !entry.to.is_empty()
            && entry.to.keys().all(|to| {
                LocalityPattern::parse(to)
                    .is_ok_and(|p| p.region == from.region && p.zone.as_deref() == Some(own_zone))
            });
        if !only_own {
            continue;
        }
        let dropped: Vec<&str> = ctx
            .profile
            .zones
            .iter()
            .filter(|z| ctx.profile.region_of(z).as_str() == from.region)
            .map(|z| z.name.as_str())
            .filter(|z| *z != own_zone)
            .collect();
        let mut at: Vec<PathSeg> = path.to_vec();
        at.extend(crate::path![
            "loadBalancer",
            "localityLbSetting",
            "distribute",
            i,
            "to"
        ]);
        out.at(
            &catalog::DISTRIBUTE_OWN_ZONE_ONLY,
            object,
            &at,
            format!(
                "{}: distribute sends clients in {own_zone} only to {own_zone}; {} are dropped for them, so losing {own_zone} gives 503 UH instead of failover",
                object.display_name(),
                if dropped.is_empty() { "other zones".to_owned() } else { dropped.join(", ") }
            ),
            "to keep zone affinity with failover, drop distribute and use failoverPriority: [topology.kubernetes.io/zone] with outlierDetection; or give other zones a share in `to`",
        );
    }
}

/// An Envoy cluster of a DestinationRule: label, subset labels, effective
/// outlier detection and where it is set.
type EjectionCluster<'a> = (
    String,
    Option<&'a BTreeMap<String, String>>,
    Option<&'a crate::topology::istio::OutlierDetection>,
    Vec<PathSeg>,
);

/// maxEjectionPercent too low to eject one whole zone of a subset's hosts.
fn check_max_ejection(
    ctx: &LintContext<'_>,
    object: &Object,
    dr: &DestinationRuleSpec,
    out: &mut Findings,
) {
    let Some(service) = ctx.resolve_host(&dr.host, &object.name.namespace) else {
        return;
    };
    let top = dr
        .traffic_policy
        .as_ref()
        .and_then(|p| p.outlier_detection.as_ref());
    // One Envoy cluster per subset, plus the bare host.
    let mut clusters: Vec<EjectionCluster<'_>> = vec![(
        "host".into(),
        None,
        top,
        crate::path!["spec", "trafficPolicy", "outlierDetection"].to_vec(),
    )];
    for (i, subset) in dr.subsets.iter().enumerate() {
        let own = subset
            .traffic_policy
            .as_ref()
            .and_then(|p| p.outlier_detection.as_ref());
        let path = if own.is_some() {
            crate::path!["spec", "subsets", i, "trafficPolicy", "outlierDetection"].to_vec()
        } else {
            crate::path!["spec", "trafficPolicy", "outlierDetection"].to_vec()
        };
        clusters.push((
            format!("subset {}", subset.name),
            Some(&subset.labels),
            own.or(top),
            path,
        ));
    }
    for (label, subset_labels, od, path) in clusters {
        let Some(od) = od else { continue };
        let per_zone = hosts_per_zone(ctx, &service, subset_labels);
        let total: u32 = per_zone.values().sum();
        let Some((zone, largest)) = per_zone.iter().max_by_key(|(_, n)| **n) else {
            continue;
        };
        let pct = od
            .max_ejection_percent
            .unwrap_or(DEFAULT_MAX_EJECTION_PERCENT);
        let ejectable = max_ejectable_hosts(total, pct);
        if ejectable >= *largest {
            continue;
        }
        let mut at = path;
        if od.max_ejection_percent.is_some() {
            at.push(PathSeg::from("maxEjectionPercent"));
        }
        out.at(
            &catalog::MAX_EJECTION_TOO_LOW,
            object,
            &at,
            format!(
                "{}: {label} has {total} hosts, {largest} in {zone}; maxEjectionPercent {pct} ejects at most {ejectable}, so a lost {zone} keeps receiving traffic",
                object.display_name()
            ),
            format!(
                "set maxEjectionPercent to at least {} (100 for zone-pinned subsets)",
                (u64::from(*largest) * 100).div_ceil(u64::from(total.max(1)))
            ),
        );
    }
}

/// Expected hosts per zone behind a host or subset: pinned workloads put all
/// replicas in their zones, spread ones split them evenly (topology spread).
pub(crate) fn hosts_per_zone(
    ctx: &LintContext<'_>,
    service: &ObjectName,
    subset: Option<&BTreeMap<String, String>>,
) -> BTreeMap<Zone, u32> {
    let mut per_zone: BTreeMap<Zone, u32> = BTreeMap::new();
    for group in ctx.endpoints(service, subset) {
        let replicas = u32::try_from(group.workload.replicas.max(0)).unwrap_or(0);
        let n = u32::try_from(group.zones.len()).unwrap_or(1).max(1);
        for (i, zone) in group.zones.iter().enumerate() {
            let share = replicas / n + u32::from((i as u32) < replicas % n);
            *per_zone.entry(zone.clone()).or_default() += share;
        }
    }
    per_zone
}

/// Zone routes exist but no DestinationRule of their hosts sets outlierDetection.
fn check_zone_routes_without_outlier(ctx: &LintContext<'_>, out: &mut Findings) {
    let zone_key = ctx.zone_key();
    for (object, vs) in ctx.topology.virtual_services() {
        for (i, route) in vs.http.iter().enumerate() {
            let zone_route = route
                .matches
                .iter()
                .any(|m| m.source_labels.contains_key(zone_key));
            if !zone_route {
                continue;
            }
            for (j, dest) in route.route.iter().enumerate() {
                let Some(service) =
                    ctx.resolve_host(&dest.destination.host, &object.name.namespace)
                else {
                    continue;
                };
                let any_outlier = ctx.destination_rules_for(&service).iter().any(|(_, dr)| {
                    validation::policies(dr)
                        .iter()
                        .any(|(_, p)| p.outlier_detection.is_some())
                });
                if any_outlier {
                    continue;
                }
                out.at(
                    &catalog::ZONE_ROUTES_WITHOUT_OUTLIER,
                    object,
                    &crate::path!["spec", "http", i, "route", j, "destination", "host"],
                    format!(
                        "{}: route {} pins clients by zone, but no DestinationRule of {} sets outlierDetection: every endpoint is priority 0 and traffic spreads over all zones",
                        object.display_name(),
                        route.name.as_deref().unwrap_or("(unnamed)"),
                        service
                    ),
                    "add outlierDetection to the host's DestinationRule so Istio assigns locality priorities",
                );
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::lint::test_support::{ids, lint_seed, lint_str};

    const DR_HEAD: &str = "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: d, namespace: default}\nspec:\n  host: test\n  trafficPolicy:\n";

    fn dr(policy: &str) -> String {
        format!("{DR_HEAD}{policy}")
    }

    #[test]
    fn seed_reports_defects_1_to_4() {
        let r = lint_seed("zone-aware-topology.yaml");
        let got = ids(&r);
        for id in ["ZC1001", "ZC1002", "ZC1012", "ZC1010"] {
            assert!(got.contains(&id), "{id} missing from {got:?}");
        }
        let f = r.findings.iter().find(|f| f.rule.id == "ZC1001").unwrap();
        assert_eq!(f.loc.pos.line, 210);
        assert!(f.message.contains("DestinationRule default/test"));
        // Three failover entries each name zones.
        assert_eq!(
            r.findings.iter().filter(|f| f.rule.id == "ZC1002").count(),
            3
        );
        assert_eq!(
            r.findings.iter().filter(|f| f.rule.id == "ZC1010").count(),
            3
        );
        assert!(!got.contains(&"ZC1014"), "maxEjectionPercent 100 is enough");
    }

    #[test]
    fn each_validation_rule_fires_and_valid_policy_does_not() {
        let bad = dr(
            "    outlierDetection: {consecutive5xxErrors: 1}\n    loadBalancer:\n      localityLbSetting:\n        failoverPriority: [topology.kubernetes.io/zone]\n        failover:\n          - {from: us-east-1, to: us-east-1}\n          - {from: \"*\", to: us-west-2}\n",
        );
        let got = ids(&lint_str(&bad));
        for id in ["ZC1003", "ZC1004", "ZC1005"] {
            assert!(got.contains(&id), "{id} missing from {got:?}");
        }
        let weights = dr(
            "    loadBalancer:\n      localityLbSetting:\n        distribute:\n          - from: us-east-1/*/x\n            to: {\"us-east-1/us-east-1a/*\": 0, \"us-east-1/us-east-1b/*\": 90}\n          - from: us-east-1/*\n            to: {\"us-east-1/*\": 100}\n          - from: us-east-1/us-east-1a/*\n            to: {\"us-east-1/*\": 100}\n",
        );
        let got = ids(&lint_str(&weights));
        for id in ["ZC1006", "ZC1007", "ZC1008", "ZC1009"] {
            assert!(got.contains(&id), "{id} missing from {got:?}");
        }
        let no_outlier = dr(
            "    loadBalancer:\n      localityLbSetting:\n        failoverPriority: [topology.kubernetes.io/zone]\n",
        );
        let r = lint_str(&no_outlier);
        assert_eq!(ids(&r), vec!["ZC1011"]);
        assert_eq!(r.findings[0].loc.pos.line, 8);

        let good = dr(
            "    outlierDetection: {consecutive5xxErrors: 3, interval: 5s, maxEjectionPercent: 100}\n    loadBalancer:\n      localityLbSetting:\n        enabled: true\n        failoverPriority: [topology.kubernetes.io/zone]\n",
        );
        assert!(
            lint_str(&good).findings.is_empty(),
            "{:?}",
            lint_str(&good).findings
        );
    }

    #[test]
    fn deprecated_consecutive_errors() {
        let r = lint_str(&dr("    outlierDetection: {consecutiveErrors: 3}\n"));
        assert_eq!(ids(&r), vec!["ZC1012"]);
        assert!(r.findings[0].message.contains("Envoy's default of 5"));
        assert!(
            lint_str(&dr("    outlierDetection: {consecutive5xxErrors: 3}\n"))
                .findings
                .is_empty()
        );
    }

    #[test]
    fn distribute_own_zone_only_fires_only_for_own_zone() {
        let own = dr(
            "    loadBalancer:\n      localityLbSetting:\n        distribute:\n          - from: us-east-1/us-east-1a/*\n            to: {\"us-east-1/us-east-1a/*\": 100}\n",
        );
        let r = lint_str(&own);
        assert_eq!(ids(&r), vec!["ZC1010"]);
        assert!(
            r.findings[0].message.contains("us-east-1b, us-east-1c"),
            "{}",
            r.findings[0].message
        );
        let shared = dr(
            "    loadBalancer:\n      localityLbSetting:\n        distribute:\n          - from: us-east-1/us-east-1a/*\n            to: {\"us-east-1/us-east-1a/*\": 80, \"us-east-1/us-east-1b/*\": 20}\n",
        );
        assert!(lint_str(&shared).findings.is_empty());
    }

    const WORKLOADS: &str = "apiVersion: v1\nkind: Service\nmetadata: {name: test, namespace: default}\nspec:\n  selector: {app: test}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: w, namespace: default}\nspec:\n  replicas: 9\n  selector: {matchLabels: {app: test}}\n  template:\n    metadata: {labels: {app: test}}\n    spec: {containers: [{name: c, image: i}]}\n---\n";

    #[test]
    fn max_ejection_percent_against_zone_share() {
        let low = format!(
            "{WORKLOADS}{}",
            dr("    outlierDetection: {consecutive5xxErrors: 3, maxEjectionPercent: 10}\n")
        );
        let r = lint_str(&low);
        assert_eq!(ids(&r), vec!["ZC1014"], "{:?}", r.findings);
        assert!(
            r.findings[0].message.contains("9 hosts, 3 in"),
            "{}",
            r.findings[0].message
        );
        assert_eq!(r.findings[0].loc.pos.line, 23);
        let ok = format!(
            "{WORKLOADS}{}",
            dr("    outlierDetection: {consecutive5xxErrors: 3, maxEjectionPercent: 34}\n")
        );
        assert!(
            lint_str(&ok).findings.is_empty(),
            "{:?}",
            lint_str(&ok).findings
        );
    }

    #[test]
    fn zone_routes_without_outlier_detection() {
        let vs = "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: v, namespace: default}\nspec:\n  hosts: [test]\n  http:\n    - name: a\n      match: [{sourceLabels: {topology.kubernetes.io/zone: us-east-1a}}]\n      route: [{destination: {host: test}}]\n    - route: [{destination: {host: test}}]\n---\n";
        let without = format!(
            "{WORKLOADS}{vs}{}",
            dr("    loadBalancer: {simple: ROUND_ROBIN}\n")
        );
        let r = lint_str(&without);
        assert!(ids(&r).contains(&"ZC1013"), "{:?}", r.findings);
        let with = format!(
            "{WORKLOADS}{vs}{}",
            dr("    outlierDetection: {consecutive5xxErrors: 3, maxEjectionPercent: 100}\n")
        );
        assert!(!ids(&lint_str(&with)).contains(&"ZC1013"));
    }
}
