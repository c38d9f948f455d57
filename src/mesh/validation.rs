//! Istio's apply-time validation of DestinationRule locality settings
//! (istio pkg/config/validation/agent ValidateLocalityLbSetting,
//! SEMANTICS.md §3). Lint reports every violation; the mesh model treats a
//! DestinationRule with any error as rejected by the webhook, i.e. absent.
//!
//! Upstream stops at the first error in some branches; here every violation
//! is listed so a user fixes them all in one pass.

use crate::topology::istio::{DestinationRuleSpec, LocalityLbSetting, TrafficPolicy};
use crate::topology::yaml::PathSeg;
use crate::zone::LocalityPattern;

/// The kinds of violation, one per lint rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Violation {
    /// distribute and failover together.
    DistributeWithFailover,
    /// failover names a zone.
    FailoverNotRegion,
    /// failover from == to.
    FailoverSameRegion,
    /// failover with `*`.
    FailoverWildcard,
    /// failover + topology label in failoverPriority.
    FailoverWithTopologyPriority,
    /// weight outside 1..100.
    DistributeWeightRange,
    /// weights not summing to 100.
    DistributeWeightSum,
    /// bad wildcard or empty part.
    DistributeBadWildcard,
    /// overlapping localities.
    DistributeOverlap,
    /// failover without outlierDetection (a warning upstream).
    FailoverWithoutOutlier,
}

impl Violation {
    /// Upstream treats this as a warning: the rule is accepted.
    pub fn is_warning(self) -> bool {
        matches!(self, Violation::FailoverWithoutOutlier)
    }
}

/// One violation with the field it concerns (relative to the object root).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Which check.
    pub violation: Violation,
    /// Field path from the document root.
    pub path: Vec<PathSeg>,
    /// Message, close to Istio's wording.
    pub message: String,
}

/// Topology labels that failoverPriority may not name together with failover.
pub const TOPOLOGY_LABELS: [&str; 3] = [
    "topology.kubernetes.io/region",
    "topology.kubernetes.io/zone",
    "topology.istio.io/subzone",
];

/// Every traffic policy of a DestinationRule with its path: the top-level
/// one and each subset's.
pub fn policies(spec: &DestinationRuleSpec) -> Vec<(Vec<PathSeg>, &TrafficPolicy)> {
    let mut out = Vec::new();
    if let Some(p) = &spec.traffic_policy {
        out.push((crate::path!["spec", "trafficPolicy"].to_vec(), p));
    }
    for (i, subset) in spec.subsets.iter().enumerate() {
        if let Some(p) = &subset.traffic_policy {
            out.push((
                crate::path!["spec", "subsets", i, "trafficPolicy"].to_vec(),
                p,
            ));
        }
    }
    out
}

/// Validates every locality setting of a DestinationRule.
pub fn validate_destination_rule(spec: &DestinationRuleSpec) -> Vec<Finding> {
    let mut out = Vec::new();
    for (path, policy) in policies(spec) {
        if let Some(lb) = policy
            .load_balancer
            .as_ref()
            .and_then(|l| l.locality_lb_setting.as_ref())
        {
            let mut base = path.clone();
            base.extend(crate::path!["loadBalancer", "localityLbSetting"]);
            validate_locality(lb, policy.outlier_detection.is_some(), &base, &mut out);
        }
    }
    out
}

/// Validates one locality setting found at `base`. Mesh config's
/// `localityLbSetting` is checked as if outlier detection were set (istio
/// 1.30.3 pkg/config/validation/agent/validation.go ValidateMeshConfig
/// passes an empty OutlierDetection), so it never gets the warning.
pub fn validate_locality_setting(
    lb: &LocalityLbSetting,
    has_outlier: bool,
    base: &[PathSeg],
) -> Vec<Finding> {
    let mut out = Vec::new();
    validate_locality(lb, has_outlier, base, &mut out);
    out
}

/// True when Istio's webhook would reject the DestinationRule.
pub fn is_rejected(spec: &DestinationRuleSpec) -> bool {
    validate_destination_rule(spec)
        .iter()
        .any(|f| !f.violation.is_warning())
}

fn at(base: &[PathSeg], tail: &[PathSeg]) -> Vec<PathSeg> {
    base.iter().chain(tail).cloned().collect()
}

fn validate_locality(
    lb: &LocalityLbSetting,
    has_outlier: bool,
    base: &[PathSeg],
    out: &mut Vec<Finding>,
) {
    let mut push = |violation, path: Vec<PathSeg>, message: String| {
        out.push(Finding {
            violation,
            path,
            message,
        })
    };
    if !lb.distribute.is_empty() && !lb.failover.is_empty() {
        push(
            Violation::DistributeWithFailover,
            at(base, &crate::path!["failover"]),
            "can not simultaneously specify 'distribute' and 'failover'".into(),
        );
    }
    if !lb.failover.is_empty() {
        for (i, label) in lb.failover_priority.iter().enumerate() {
            if TOPOLOGY_LABELS.contains(&label.as_str()) {
                push(
                    Violation::FailoverWithTopologyPriority,
                    at(base, &crate::path!["failoverPriority", i]),
                    format!(
                        "can not simultaneously set 'failover' and topology label '{label}' in 'failover_priority'"
                    ),
                );
            }
        }
    }
    let mut sources = Vec::new();
    for (i, entry) in lb.distribute.iter().enumerate() {
        sources.push((
            entry.from.clone(),
            at(base, &crate::path!["distribute", i, "from"]),
        ));
        let mut total: i64 = 0;
        for (locality, weight) in &entry.to {
            if !(1..=100).contains(weight) {
                push(
                    Violation::DistributeWeightRange,
                    at(
                        base,
                        &crate::path!["distribute", i, "to", locality.as_str()],
                    ),
                    format!("locality weight must be in range [1, 100], '{locality}' has {weight}"),
                );
            }
            total += weight;
        }
        if total != 100 {
            push(
                Violation::DistributeWeightSum,
                at(base, &crate::path!["distribute", i, "to"]),
                format!("total locality weight {total} != 100"),
            );
        }
        let targets: Vec<(String, Vec<PathSeg>)> = entry
            .to
            .keys()
            .map(|k| {
                (
                    k.clone(),
                    at(base, &crate::path!["distribute", i, "to", k.as_str()]),
                )
            })
            .collect();
        validate_localities(&targets, true, &mut push);
    }
    validate_localities(&sources, false, &mut push);
    if (!lb.failover.is_empty() || !lb.failover_priority.is_empty()) && !has_outlier {
        push(
            Violation::FailoverWithoutOutlier,
            at(base, &[]),
            "outlier detection policy must be provided for failover".into(),
        );
    }
    for (i, f) in lb.failover.iter().enumerate() {
        let here = at(base, &crate::path!["failover", i]);
        if f.from == f.to {
            push(
                Violation::FailoverSameRegion,
                here.clone(),
                format!(
                    "locality lb failover settings must specify different regions (from and to are both '{}')",
                    f.from
                ),
            );
        }
        if f.from.contains('/') || f.to.contains('/') {
            push(
                Violation::FailoverNotRegion,
                here.clone(),
                format!(
                    "locality lb failover only specify region ('{}' -> '{}' names zones)",
                    f.from, f.to
                ),
            );
        }
        if f.from.contains('*') || f.to.contains('*') {
            push(
                Violation::FailoverWildcard,
                here,
                "locality lb failover region should not contain '*' wildcard".into(),
            );
        }
    }
}

/// Wildcards and overlaps of one list of localities. Upstream checks in list
/// order (a wildcard must come after the specific entries). The keys of a
/// `to` map reach upstream in Go's random map order, so there (`unordered`)
/// an overlap in either direction is reported: the rule may be rejected.
fn validate_localities(
    localities: &[(String, Vec<PathSeg>)],
    unordered: bool,
    push: &mut impl FnMut(Violation, Vec<PathSeg>, String),
) {
    let mut seen: Vec<(LocalityPattern, &str)> = Vec::new();
    for (text, path) in localities {
        let stars = text.matches('*').count();
        if stars > 1 || (stars == 1 && !text.ends_with('*')) {
            push(
                Violation::DistributeBadWildcard,
                path.clone(),
                format!(
                    "locality {text} wildcard '*' number can not exceed 1 and must be in the end"
                ),
            );
            continue;
        }
        let pattern = match LocalityPattern::parse(text) {
            Ok(p) => p,
            Err(_) => {
                push(
                    Violation::DistributeBadWildcard,
                    path.clone(),
                    format!("locality {text} must not contain empty region/zone/subzone info"),
                );
                continue;
            }
        };
        let clash = |p: &LocalityPattern| p.covers(&pattern) || (unordered && pattern.covers(p));
        if let Some((_, other)) = seen.iter().find(|(p, _)| clash(p)) {
            push(
                Violation::DistributeOverlap,
                path.clone(),
                format!("locality {text} overlap with previous specified ones ({other})"),
            );
        }
        seen.push((pattern, text));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dr(yaml: &str) -> DestinationRuleSpec {
        let node = crate::topology::yaml::parse_documents(yaml)
            .unwrap()
            .remove(0);
        serde_json::from_value(node.to_json()).unwrap()
    }

    fn kinds(spec: &DestinationRuleSpec) -> Vec<Violation> {
        validate_destination_rule(spec)
            .into_iter()
            .map(|f| f.violation)
            .collect()
    }

    #[test]
    fn valid_failover_priority_is_accepted() {
        let s = dr(
            "host: t\ntrafficPolicy:\n  outlierDetection: {consecutive5xxErrors: 1}\n  loadBalancer:\n    localityLbSetting:\n      enabled: true\n      failoverPriority: [topology.kubernetes.io/zone]\n",
        );
        assert!(kinds(&s).is_empty());
        assert!(!is_rejected(&s));
    }

    #[test]
    fn seed_defects_are_all_listed() {
        let s = dr(
            "host: t\ntrafficPolicy:\n  outlierDetection: {consecutiveErrors: 3}\n  loadBalancer:\n    localityLbSetting:\n      distribute:\n        - from: r/r-a/*\n          to: {\"r/r-a/*\": 100}\n      failover:\n        - {from: r/r-a, to: r/r-b}\n",
        );
        let k = kinds(&s);
        assert!(k.contains(&Violation::DistributeWithFailover));
        assert!(k.contains(&Violation::FailoverNotRegion));
        assert!(is_rejected(&s));
    }

    #[test]
    fn distribute_weights_and_wildcards() {
        let s = dr(
            "host: t\ntrafficPolicy:\n  loadBalancer:\n    localityLbSetting:\n      distribute:\n        - from: \"r/*/x\"\n          to: {\"r/a\": 0, \"r/b\": 90}\n        - from: r/*\n          to: {\"r/*\": 100}\n        - from: r/a\n          to: {\"r/a\": 100}\n",
        );
        let k = kinds(&s);
        assert!(k.contains(&Violation::DistributeWeightRange));
        assert!(k.contains(&Violation::DistributeWeightSum));
        assert!(k.contains(&Violation::DistributeBadWildcard));
        assert!(k.contains(&Violation::DistributeOverlap));
    }

    #[test]
    fn specific_then_wildcard_is_accepted_in_from_order() {
        let s = dr(
            "host: t\ntrafficPolicy:\n  loadBalancer:\n    localityLbSetting:\n      distribute:\n        - from: r/a/*\n          to: {\"r/a/*\": 80, \"r/b/*\": 20}\n        - from: r/*\n          to: {\"r/*\": 100}\n",
        );
        assert!(kinds(&s).is_empty(), "{:?}", kinds(&s));
        let s = dr(
            "host: t\ntrafficPolicy:\n  loadBalancer:\n    localityLbSetting:\n      distribute:\n        - from: r/a/*\n          to: {\"r/*\": 50, \"r/a\": 50}\n",
        );
        assert_eq!(kinds(&s), vec![Violation::DistributeOverlap]);
    }

    #[test]
    fn failover_checks_and_warning_only_is_not_rejected() {
        let s = dr(
            "host: t\ntrafficPolicy:\n  loadBalancer:\n    localityLbSetting:\n      failover:\n        - {from: r1, to: r2}\n",
        );
        assert_eq!(kinds(&s), vec![Violation::FailoverWithoutOutlier]);
        assert!(!is_rejected(&s));
        let s = dr(
            "host: t\ntrafficPolicy:\n  outlierDetection: {}\n  loadBalancer:\n    localityLbSetting:\n      failoverPriority: [topology.kubernetes.io/zone]\n      failover:\n        - {from: r1, to: r1}\n        - {from: \"*\", to: r2}\n",
        );
        let k = kinds(&s);
        assert!(k.contains(&Violation::FailoverSameRegion));
        assert!(k.contains(&Violation::FailoverWildcard));
        assert!(k.contains(&Violation::FailoverWithTopologyPriority));
    }
}
