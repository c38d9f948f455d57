//! ZC1015-ZC1016: DestinationRules per client workload (`workloadSelector`),
//! the way the ring-failover topology gives each client zone its own
//! failover order. Which rule a proxy gets is
//! [`crate::topology::dr_selection`], the same code the mesh model uses.

use std::collections::{BTreeMap, BTreeSet};

use crate::lint::catalog;
use crate::lint::context::LintContext;
use crate::lint::finding::Findings;
use crate::mesh::proxy::load_client_labels;
use crate::mesh::validation;
use crate::topology::ObjectName;
use crate::topology::dr_selection::{NamespacedRule, rule_for_proxy};
use crate::topology::istio_labels::augment_labels;
use crate::topology::labels::Labels;
use crate::zone::Zone;

/// Runs the rules.
pub fn check(ctx: &LintContext<'_>, out: &mut Findings) {
    let clients = ClientsByNamespace::of_selector_namespaces(ctx);
    check_selects_nothing(ctx, &clients, out);
    check_zone_clients_reach_outlier_detection(ctx, &clients, out);
}

/// [`candidates`] of every namespace holding a DestinationRule with a
/// workloadSelector, built once for both rules.
struct ClientsByNamespace<'t>(BTreeMap<&'t str, Vec<Candidate>>);

impl<'t> ClientsByNamespace<'t> {
    fn of_selector_namespaces(ctx: &LintContext<'t>) -> Self {
        let mut by_namespace = BTreeMap::new();
        for (object, dr) in ctx.topology.destination_rules() {
            if dr.workload_selector.is_some() {
                let namespace = object.name.namespace.as_str();
                by_namespace
                    .entry(namespace)
                    .or_insert_with(|| candidates(ctx, namespace));
            }
        }
        ClientsByNamespace(by_namespace)
    }

    fn of(&self, namespace: &str) -> &[Candidate] {
        self.0.get(namespace).map_or(&[], Vec::as_slice)
    }
}

/// A proxy that may call a host: its zone, istiod-augmented labels and
/// what it is, for messages.
struct Candidate {
    zone: Zone,
    labels: Labels,
    who: String,
}

/// The client proxies of a namespace: the harness's load client of every
/// zone (the harness deploys them next to the topology) and each workload's
/// pods in every zone they may run in, with the locality labels istiod adds
/// from the node (pilot/pkg/model AugmentLabels).
fn candidates(ctx: &LintContext<'_>, namespace: &str) -> Vec<Candidate> {
    let profile = ctx.profile;
    let mut out: Vec<Candidate> = profile
        .zones
        .iter()
        .map(|z| Candidate {
            zone: z.name.clone(),
            labels: load_client_labels(profile, &z.name, &Labels::new()),
            who: "the harness's load client".to_owned(),
        })
        .collect();
    for w in ctx.topology.workloads_in(namespace) {
        let pod_labels = w.pod_labels();
        for zone in ctx.workload_zones(&w) {
            out.push(Candidate {
                labels: augment_labels(&pod_labels, &profile.node_labels_in(&zone), ""),
                zone,
                who: w.object.display_name(),
            });
        }
    }
    out
}

fn selector_text(labels: &BTreeMap<String, String>) -> String {
    labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// ZC1015: a workloadSelector no client proxy of its namespace matches.
fn check_selects_nothing(
    ctx: &LintContext<'_>,
    clients: &ClientsByNamespace<'_>,
    out: &mut Findings,
) {
    for (object, dr) in ctx.topology.destination_rules() {
        let Some(selector) = &dr.workload_selector else {
            continue;
        };
        let rule = NamespacedRule {
            namespace: &object.name.namespace,
            spec: dr,
        };
        let namespace = &object.name.namespace;
        if clients
            .of(namespace)
            .iter()
            .any(|c| rule.selects(namespace, &c.labels))
        {
            continue;
        }
        let zones: Vec<&str> = ctx.profile.zone_names().map(Zone::as_str).collect();
        out.at(
            &catalog::WORKLOAD_SELECTOR_SELECTS_NOTHING,
            object,
            &crate::path!["spec", "workloadSelector", "matchLabels"],
            format!(
                "{}: workloadSelector {{{}}} matches no client in namespace {namespace} (pod labels plus the locality labels istiod adds: topology.kubernetes.io/region, topology.kubernetes.io/zone, topology.istio.io/subzone), nor the harness's load clients; the rule applies to no proxy",
                object.display_name(),
                selector_text(&selector.match_labels)
            ),
            format!(
                "select on a client workload's pod labels in {namespace}, or on topology.kubernetes.io/zone with a zone of the profile ({}); selectors do not cross namespaces",
                zones.join(", ")
            ),
        );
    }
}

/// ZC1016: a host with per-client rules whose clients in some zone get no
/// rule with outlierDetection.
fn check_zone_clients_reach_outlier_detection(
    ctx: &LintContext<'_>,
    clients: &ClientsByNamespace<'_>,
    out: &mut Findings,
) {
    let mut hosts: Vec<ObjectName> = Vec::new();
    for (object, dr) in ctx.topology.destination_rules() {
        if dr.workload_selector.is_none() {
            continue;
        }
        if let Some(s) = ctx.resolve_host(&dr.host, &object.name.namespace)
            && !hosts.contains(&s)
        {
            hosts.push(s);
        }
    }
    for service in hosts {
        let by_host = ctx.destination_rules_for(&service);
        let rules: Vec<NamespacedRule<'_>> = by_host
            .iter()
            .map(|(o, spec)| NamespacedRule {
                namespace: &o.name.namespace,
                spec,
            })
            .collect();
        let Some(anchor) = by_host
            .iter()
            .find(|(_, dr)| dr.workload_selector.is_some())
            .map(|(o, _)| *o)
        else {
            continue;
        };
        let namespaces: BTreeSet<&str> = rules
            .iter()
            .filter(|r| r.spec.workload_selector.is_some())
            .map(|r| r.namespace)
            .collect();
        // Zone -> (clients, whether any rule applied to them at all).
        let mut unprotected: BTreeMap<Zone, (Vec<String>, bool)> = BTreeMap::new();
        for namespace in namespaces {
            for c in clients.of(namespace) {
                let rule = rule_for_proxy(&rules, namespace, &c.labels);
                let protected = rule.as_deref().is_some_and(|r| {
                    validation::policies(r)
                        .iter()
                        .any(|(_, p)| p.outlier_detection.is_some())
                });
                if protected {
                    continue;
                }
                let entry = unprotected.entry(c.zone.clone()).or_default();
                if !entry.0.contains(&c.who) {
                    entry.0.push(c.who.clone());
                }
                entry.1 |= rule.is_some();
            }
        }
        for (zone, (who, had_rule)) in unprotected {
            let what = if had_rule {
                "a DestinationRule without outlierDetection"
            } else {
                "no DestinationRule at all (no workloadSelector matches them and there is no rule without one)"
            };
            out.at(
                &catalog::ZONE_CLIENT_WITHOUT_OUTLIER,
                anchor,
                &crate::path!["spec", "workloadSelector"],
                format!(
                    "{service}: clients in {zone} ({}) get {what}: their requests get no locality priorities, spread over every zone and are not failed over when a zone is lost",
                    who.join(", ")
                ),
                format!(
                    "add a DestinationRule for {} with workloadSelector {{topology.kubernetes.io/zone: {zone}}}, outlierDetection and failoverPriority, or a catch-all rule (no workloadSelector) with outlierDetection",
                    service.name
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::lint::LintReport;
    use crate::lint::test_support::{ids, lint_str};

    fn ring() -> String {
        std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("suites/topologies/ring-failover.yaml"),
        )
        .expect("ring topology readable")
    }

    /// The ring topology with its documents edited by `edit` (`None` drops one).
    fn ring_with(edit: impl Fn(&str) -> Option<String>) -> String {
        ring()
            .split("\n---\n")
            .filter_map(edit)
            .collect::<Vec<_>>()
            .join("\n---\n")
    }

    /// Fails naming the first phrase the finding leaves out.
    fn assert_mentions(finding: &str, phrases: &[&str]) {
        for phrase in phrases {
            assert!(finding.contains(phrase), "no {phrase:?} in: {finding}");
        }
    }

    fn of<'r>(r: &'r LintReport, id: &str) -> Vec<&'r str> {
        r.findings
            .iter()
            .filter(|f| f.rule.id == id)
            .map(|f| f.message.as_str())
            .collect()
    }

    #[test]
    fn the_ring_topology_has_no_finding() {
        let r = lint_str(&ring());
        assert!(
            !ids(&r).iter().any(|id| id.starts_with("ZC1")),
            "{:?}",
            r.findings
        );
    }

    // sidecar.go DestinationRule: without test-from-c and without a
    // catch-all, zone c's proxies get no rule for the host at all.
    #[test]
    fn a_zone_without_its_rule_is_reported() {
        let r = lint_str(&ring_with(|d| {
            (!d.contains("name: test-from-c")).then(|| d.to_owned())
        }));
        let found = of(&r, "ZC1016");
        assert_eq!(found.len(), 1, "{:?}", r.findings);
        assert_mentions(
            found[0],
            &[
                "clients in us-east-1c",
                "the harness's load client",
                "Rollout default/test-c",
                "no DestinationRule at all",
            ],
        );
        assert!(of(&r, "ZC1015").is_empty());
    }

    #[test]
    fn a_zone_rule_without_outlier_detection_is_reported() {
        let r = lint_str(&ring_with(|d| {
            Some(if d.contains("name: test-from-b") {
                d.replace("outlierDetection:", "connectionPool:")
                    .replace("consecutive5xxErrors: 3", "tcp: {maxConnections: 10}")
                    .lines()
                    .filter(|l| {
                        !l.contains("interval")
                            && !l.contains("EjectionTime")
                            && !l.contains("maxEjectionPercent")
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            } else {
                d.to_owned()
            })
        }));
        let found = of(&r, "ZC1016");
        assert_eq!(found.len(), 1, "{:?}", r.findings);
        assert_mentions(
            found[0],
            &["clients in us-east-1b", "without outlierDetection"],
        );
    }

    // A catch-all with outlier detection protects whoever no selector picks.
    #[test]
    fn a_catch_all_with_outlier_detection_covers_the_rest() {
        let catch_all = "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: test-rest, namespace: default}\nspec:\n  host: test\n  trafficPolicy:\n    outlierDetection: {consecutive5xxErrors: 3, maxEjectionPercent: 100}\n    loadBalancer: {localityLbSetting: {enabled: true, failoverPriority: [topology.kubernetes.io/zone]}}";
        let yaml = ring_with(|d| (!d.contains("name: test-from-c")).then(|| d.to_owned()));
        let r = lint_str(&format!("{yaml}\n---\n{catch_all}\n"));
        assert!(of(&r, "ZC1016").is_empty(), "{:?}", r.findings);
    }

    #[test]
    fn a_selector_of_an_unknown_zone_or_label_selects_nothing() {
        let r = lint_str(&ring_with(|d| {
            Some(if d.contains("name: test-from-c") {
                d.replace(
                    "topology.kubernetes.io/zone: us-east-1c",
                    "topology.kubernetes.io/zone: us-east-1d",
                )
            } else if d.contains("name: test-from-a") {
                d.replace("topology.kubernetes.io/zone: us-east-1a", "app: frontend")
            } else {
                d.to_owned()
            })
        }));
        let nothing = of(&r, "ZC1015");
        assert_eq!(nothing.len(), 2, "{:?}", r.findings);
        assert!(
            nothing
                .iter()
                .any(|m| m.contains("test-from-c") && m.contains("us-east-1d"))
        );
        assert!(
            nothing
                .iter()
                .any(|m| m.contains("test-from-a") && m.contains("app=frontend"))
        );
        let f = r.findings.iter().find(|f| f.rule.id == "ZC1015").unwrap();
        assert!(f.loc.pos.line > 1, "located at the selector: {:?}", f.loc);
        // Zones a and c are now unprotected too.
        let unprotected = of(&r, "ZC1016");
        assert_eq!(unprotected.len(), 2, "{unprotected:?}");
    }

    // The selector matches the harness's load client only through a label
    // the harness sets on every backend.
    #[test]
    fn the_harness_labels_count_as_clients() {
        let r = lint_str(&ring_with(|d| {
            Some(if d.contains("name: test-from-c") {
                d.replace(
                    "topology.kubernetes.io/zone: us-east-1c",
                    "zonechaos.dev/client-zone: us-east-1c",
                )
            } else {
                d.to_owned()
            })
        }));
        assert!(of(&r, "ZC1015").is_empty(), "{:?}", r.findings);
        // test-c's own pods in c are no longer selected by test-from-c.
        let found = of(&r, "ZC1016");
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].contains("Rollout default/test-c") && !found[0].contains("load client"));
    }
}
