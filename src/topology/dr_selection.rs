//! Which DestinationRule of a host a proxy gets: written once for the mesh
//! model and lint.
//!
//! Upstream (istio 1.30.3): pilot/pkg/model/destination_rule.go
//! `mergeDestinationRule` keeps rules with a `workloadSelector` apart and
//! merges the others (subsets concatenated, a repeated subset name dropped,
//! the oldest rule's trafficPolicy kept); pilot/pkg/model/sidecar.go
//! `DestinationRule` returns the first selector rule whose labels are a
//! subset of the proxy's labels, else the merged catch-all. The API
//! reference (networking/v1 destination_rule.proto, `workloadSelector`)
//! adds that selectors do not cross namespaces.

use std::borrow::Cow;

use super::istio::DestinationRuleSpec;
use super::labels::{Labels, map_matches};

/// A rule of a host together with the namespace it lives in.
#[derive(Debug, Clone, Copy)]
pub struct NamespacedRule<'a> {
    /// The DestinationRule's namespace.
    pub namespace: &'a str,
    /// Its spec.
    pub spec: &'a DestinationRuleSpec,
}

impl NamespacedRule<'_> {
    /// True when the rule's `workloadSelector` selects a proxy with these
    /// labels in `proxy_namespace` (false for rules without selector).
    pub fn selects(&self, proxy_namespace: &str, proxy_labels: &Labels) -> bool {
        self.namespace == proxy_namespace
            && self
                .spec
                .workload_selector
                .as_ref()
                .is_some_and(|w| map_matches(&w.match_labels, proxy_labels))
    }
}

/// The rule in force for a proxy, from a host's admitted rules in age order:
/// the first selecting rule, else the merge of the rules without selector
/// (`None` when there are none).
pub fn rule_for_proxy<'a>(
    rules: &[NamespacedRule<'a>],
    proxy_namespace: &str,
    proxy_labels: &Labels,
) -> Option<Cow<'a, DestinationRuleSpec>> {
    if let Some(r) = rules
        .iter()
        .find(|r| r.selects(proxy_namespace, proxy_labels))
    {
        return Some(Cow::Borrowed(r.spec));
    }
    // Borrowed while one rule applies; copied only when rules merge.
    let mut merged: Option<Cow<'a, DestinationRuleSpec>> = None;
    for r in rules.iter().filter(|r| r.spec.workload_selector.is_none()) {
        match &mut merged {
            None => merged = Some(Cow::Borrowed(r.spec)),
            Some(m) => {
                let m = m.to_mut();
                for s in &r.spec.subsets {
                    if !m.subsets.iter().any(|x| x.name == s.name) {
                        m.subsets.push(s.clone());
                    }
                }
            }
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::istio::{Subset, WorkloadSelector};
    use crate::topology::labels::labels;

    fn rule(selector: Option<(&str, &str)>, subsets: &[&str]) -> DestinationRuleSpec {
        DestinationRuleSpec {
            host: "test".into(),
            workload_selector: selector.map(|(k, v)| WorkloadSelector {
                match_labels: [(k.to_owned(), v.to_owned())].into(),
            }),
            subsets: subsets
                .iter()
                .map(|n| Subset {
                    name: (*n).to_owned(),
                    ..Subset::default()
                })
                .collect(),
            ..DestinationRuleSpec::default()
        }
    }

    // sidecar.go DestinationRule: the selector rule wins over the catch-all;
    // a proxy it does not select falls back (pilot's
    // TestSidecarDestinationRuleWithWorkloadSelector covers the same split).
    #[test]
    fn selector_rule_wins_and_others_fall_back() {
        let zone_a = rule(Some(("topology.kubernetes.io/zone", "a")), &["s"]);
        let catch_all = rule(None, &["c"]);
        let rules = [
            NamespacedRule {
                namespace: "ns",
                spec: &zone_a,
            },
            NamespacedRule {
                namespace: "ns",
                spec: &catch_all,
            },
        ];
        let in_a = labels(&[("topology.kubernetes.io/zone", "a"), ("app", "x")]);
        let in_b = labels(&[("topology.kubernetes.io/zone", "b")]);
        assert_eq!(
            rule_for_proxy(&rules, "ns", &in_a).unwrap().subsets[0].name,
            "s"
        );
        assert_eq!(
            rule_for_proxy(&rules, "ns", &in_b).unwrap().subsets[0].name,
            "c"
        );
        // Selectors do not cross namespaces.
        assert_eq!(
            rule_for_proxy(&rules, "other", &in_a).unwrap().subsets[0].name,
            "c"
        );
    }

    // destination_rule.go mergeDestinationRule: catch-alls merge, the first
    // definition of a subset name stays; no rule at all gives None.
    #[test]
    fn catch_alls_merge_subsets_first_wins() {
        let first = rule(None, &["stable", "canary"]);
        let second = rule(None, &["canary", "extra"]);
        let only_selector = rule(Some(("app", "y")), &["s"]);
        let rules = [
            NamespacedRule {
                namespace: "ns",
                spec: &first,
            },
            NamespacedRule {
                namespace: "ns",
                spec: &second,
            },
        ];
        let merged = rule_for_proxy(&rules, "ns", &Labels::new()).unwrap();
        let names: Vec<_> = merged.subsets.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["stable", "canary", "extra"]);
        let none = [NamespacedRule {
            namespace: "ns",
            spec: &only_selector,
        }];
        assert!(rule_for_proxy(&none, "ns", &Labels::new()).is_none());
    }
}
