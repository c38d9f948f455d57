//! ZC3xxx: zone topology (SEMANTICS.md §1, §2): zone routes, zone pinning,
//! per-zone PodDisruptionBudgets.

use std::collections::{BTreeSet, HashSet};

use k8s_openapi::api::policy::v1::PodDisruptionBudgetSpec;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::lint::catalog;
use crate::lint::context::LintContext;
use crate::lint::finding::Findings;
use crate::topology::label_index::Selection;
use crate::topology::pdb::desired_healthy;
use crate::topology::{Object, Workload};
use crate::zone::Zone;

/// Runs the zone rules.
pub fn check(ctx: &LintContext<'_>, out: &mut Findings) {
    check_zone_routes(ctx, out);
    check_workload_labels(ctx, out);
    check_pdbs(ctx, out);
    check_common_services(ctx, out);
}

/// Who asks for locality failover for the host: a DestinationRule of it,
/// or, when none of its rules sets `localityLbSetting`, the mesh config
/// (the profile's `mesh.localityLbSetting`, which istiod uses then).
fn failover_configured(
    ctx: &LintContext<'_>,
    service: &crate::topology::ObjectName,
) -> Option<String> {
    let asks = |lb: &crate::topology::istio::LocalityLbSetting| {
        lb.enabled != Some(false) && (!lb.failover.is_empty() || !lb.failover_priority.is_empty())
    };
    let mut any_rule_setting = false;
    let by_rule = ctx
        .destination_rules_for(service)
        .iter()
        .find_map(|(o, dr)| {
            crate::mesh::validation::policies(dr)
                .iter()
                .find_map(|(_, p)| {
                    let lb = p.load_balancer.as_ref()?.locality_lb_setting.as_ref()?;
                    any_rule_setting = true;
                    asks(lb).then(|| o.display_name())
                })
        });
    by_rule.or_else(|| {
        let mesh = ctx.profile.mesh.locality_lb_setting.as_ref()?;
        (!any_rule_setting && asks(mesh))
            .then(|| format!("the mesh config of profile {}", ctx.profile.name))
    })
}

fn check_zone_routes(ctx: &LintContext<'_>, out: &mut Findings) {
    let zone_key = ctx.zone_key();
    for (object, vs) in ctx.topology.virtual_services() {
        let mut has_zone_route = false;
        for (i, route) in vs.http.iter().enumerate() {
            let route_name = route.name.as_deref().unwrap_or("(unnamed)");
            // Unknown zones in sourceLabels: the route never applies.
            let mut client_zones = BTreeSet::new();
            for (m, cond) in route.matches.iter().enumerate() {
                let Some(value) = cond.source_labels.get(zone_key) else {
                    continue;
                };
                has_zone_route = true;
                match ctx.profile.zones.iter().find(|z| z.name.as_str() == value) {
                    Some(z) => {
                        client_zones.insert(z.name.clone());
                    }
                    None => out.at(
                        &catalog::UNKNOWN_SOURCE_ZONE,
                        object,
                        &crate::path!["spec", "http", i, "match", m, "sourceLabels", zone_key],
                        format!(
                            "{}: route {route_name} matches clients in zone '{value}', which is not a zone of profile {} ({})",
                            object.display_name(),
                            ctx.profile.name,
                            ctx.profile.zone_names().map(Zone::as_str).collect::<Vec<_>>().join(", ")
                        ),
                        "sourceLabels see the node's full zone name (topology.kubernetes.io/zone: us-east-1a), not a short alias",
                    ),
                }
            }
            if client_zones.is_empty() {
                continue;
            }
            // Where do this route's destinations have endpoints?
            let mut endpoint_zones: BTreeSet<Zone> = BTreeSet::new();
            let mut failover_from = None;
            let mut targets = Vec::new();
            for dest in &route.route {
                let Some(service) =
                    ctx.resolve_host(&dest.destination.host, &object.name.namespace)
                else {
                    continue;
                };
                failover_from = failover_from.or_else(|| failover_configured(ctx, &service));
                let subset_labels = dest.destination.subset.as_ref().and_then(|name| {
                    ctx.destination_rules_for(&service)
                        .iter()
                        .find_map(|(_, dr)| dr.subsets.iter().find(|s| &s.name == name))
                        .map(|s| &s.labels)
                });
                for group in ctx.endpoints(&service, subset_labels) {
                    endpoint_zones.extend(group.zones);
                }
                targets.push(
                    dest.destination
                        .subset
                        .clone()
                        .unwrap_or_else(|| dest.destination.host.clone()),
                );
            }
            if endpoint_zones.len() != 1 {
                continue;
            }
            let Some(dr_name) = failover_from else {
                continue;
            };
            let zone = endpoint_zones.first().map(Zone::as_str).unwrap_or_default();
            out.at(
                &catalog::ZONE_ROUTE_SINGLE_ZONE,
                object,
                &crate::path!["spec", "http", i, "route"],
                format!(
                    "{}: route {route_name} sends its clients only to endpoints in {zone} ({}); {dr_name} configures failover, but locality failover cannot leave a subset, so these clients get 503 UH when {zone} is lost",
                    object.display_name(),
                    targets.join(", ")
                ),
                "route to subsets that span every zone (or the bare host) and let failoverPriority on the zone keep traffic local; keep zone-pinned subsets only for per-zone canaries and accept no failover",
            );
        }
        if has_zone_route && !vs.http.iter().any(|r| r.is_catch_all()) {
            out.at(
                &catalog::ZONE_ROUTES_NO_CATCH_ALL,
                object,
                &crate::path!["spec", "http"],
                format!(
                    "{}: every HTTP route matches on the client's zone and none is a catch-all: proxies without a matching zone (another region, a node without the label) get the default route to all endpoints, with no subsets and no canary weights",
                    object.display_name()
                ),
                "add a last route without match conditions that sends such clients to the stable subsets",
            );
        }
    }
}

/// Zone-pinned workloads whose zone labels disagree with their affinity.
fn check_workload_labels(ctx: &LintContext<'_>, out: &mut Findings) {
    // Workloads some PDB of their namespace selects, found from the PDBs'
    // side through the label index rather than every PDB per workload.
    let covered: HashSet<*const Object> = ctx
        .topology
        .pdbs()
        .filter_map(|(o, pdb)| Some((o, pdb.selector.as_ref()?)))
        .flat_map(|(o, selector)| {
            ctx.topology
                .workloads_selected(&o.name.namespace, Selection::Selector(selector))
        })
        .map(|w| std::ptr::from_ref(w.object))
        .collect();
    let pdb_selected = |w: &Workload<'_>| covered.contains(&std::ptr::from_ref(w.object));
    for w in ctx.topology.workloads() {
        let Some(pinned) = w.pinned_zones(ctx.zone_key()) else {
            continue;
        };
        if pinned.len() != 1 {
            continue;
        }
        let pinned_zone = pinned.first().cloned().unwrap_or_default();
        for (key, value) in w.pod_labels() {
            if !ctx.profile.pod_zone_labels.contains(&key) {
                continue;
            }
            let named = ctx.zone_of_label_value(&value);
            if named.is_some_and(|z| z.as_str() == pinned_zone) {
                continue;
            }
            let what = named.map_or_else(
                || format!("'{value}', which is no zone of the profile"),
                |z| z.to_string(),
            );
            out.at(
                &catalog::ZONE_LABEL_AFFINITY_MISMATCH,
                w.object,
                &crate::path!["spec", "template", "metadata", "labels", key.as_str()],
                format!(
                    "{}: pod label {key}: {value} names {what}, but node affinity pins the pods to {pinned_zone}",
                    w.object.display_name()
                ),
                "make the label and the affinity name the same zone; subsets and PDBs select on the label, the scheduler on the affinity",
            );
        }
        if w.rollout.is_some() && !pdb_selected(&w) {
            out.at(
                &catalog::ZONE_PINNED_WITHOUT_PDB,
                w.object,
                &crate::path!["spec", "template", "metadata", "labels"],
                format!(
                    "{}: pinned to {pinned_zone} with no PodDisruptionBudget: draining {pinned_zone} may evict all {} pods at once",
                    w.object.display_name(),
                    w.replicas
                ),
                "add a PodDisruptionBudget (minAvailable: 1 or maxUnavailable: 1) selecting exactly this Rollout's pods",
            );
        }
    }
}

fn check_pdbs(ctx: &LintContext<'_>, out: &mut Findings) {
    for (object, pdb) in ctx.topology.pdbs() {
        let selector = pdb.selector.clone().unwrap_or_default();
        let selected: Vec<Workload<'_>> = ctx
            .topology
            .workloads_selected(&object.name.namespace, Selection::Selector(&selector))
            .collect();
        if selected.is_empty() {
            out.at(
                &catalog::PDB_SELECTS_NOTHING,
                object,
                &crate::path!["spec", "selector"],
                format!(
                    "{}: selects no pod of any Rollout or Deployment in namespace {}",
                    object.display_name(),
                    object.name.namespace
                ),
                "match the selector to the pod template labels of the workload it protects",
            );
            continue;
        }
        let zones: BTreeSet<Zone> = selected
            .iter()
            .flat_map(|w| ctx.workload_zones(w))
            .collect();
        if zones.len() > 1 {
            let names: Vec<String> = selected.iter().map(|w| w.object.display_name()).collect();
            out.at(
                &catalog::PDB_SPANS_ZONES,
                object,
                &crate::path!["spec", "selector"],
                format!(
                    "{}: selects pods in {} zones ({}) of {}: a zone drain is budgeted against pods of other zones",
                    object.display_name(),
                    zones.len(),
                    zones.iter().map(Zone::as_str).collect::<Vec<_>>().join(", "),
                    names.join(", ")
                ),
                "add the zone label to the selector, one PodDisruptionBudget per zone",
            );
        }
        let replicas: i32 = selected.iter().map(|w| w.replicas).sum();
        check_never_evicts(object, pdb, replicas, out);
    }
}

fn check_never_evicts(
    object: &Object,
    pdb: &PodDisruptionBudgetSpec,
    replicas: i32,
    out: &mut Findings,
) {
    let (field, blocked) = match (&pdb.min_available, &pdb.max_unavailable) {
        (Some(_), _) => (
            "minAvailable",
            desired_healthy(pdb, replicas).is_ok_and(|d| d >= replicas),
        ),
        (None, Some(max)) => (
            "maxUnavailable",
            matches!(max, IntOrString::Int(0))
                || desired_healthy(pdb, replicas).is_ok_and(|d| d >= replicas),
        ),
        (None, None) => return,
    };
    if !blocked {
        return;
    }
    out.at(
        &catalog::PDB_BLOCKS_ALL_EVICTIONS,
        object,
        &crate::path!["spec", field],
        format!(
            "{}: {field} leaves no disruption for the {replicas} pods it selects: every eviction gets 429 and a drain never completes",
            object.display_name()
        ),
        "allow at least one disruption (minAvailable below the replica count, or maxUnavailable >= 1)",
    );
}

/// Services that are not a Rollout's stable or canary Service but select on a zone label.
fn check_common_services(ctx: &LintContext<'_>, out: &mut Findings) {
    let managed: HashSet<(String, String)> = ctx
        .topology
        .rollouts()
        .flat_map(|(o, r)| {
            let canary = r.strategy.canary.as_ref();
            [
                canary.and_then(|c| c.stable_service.clone()),
                canary.and_then(|c| c.canary_service.clone()),
            ]
            .into_iter()
            .flatten()
            .map(move |s| (o.name.namespace.clone(), s))
        })
        .collect();
    let mut zone_keys: Vec<&str> = ctx
        .profile
        .pod_zone_labels
        .iter()
        .map(String::as_str)
        .collect();
    zone_keys.push(ctx.zone_key());
    for (object, svc) in ctx.topology.services() {
        if managed.contains(&(object.name.namespace.clone(), object.name.name.clone())) {
            continue;
        }
        let Some(key) = svc
            .selector
            .iter()
            .flatten()
            .map(|(k, _)| k.as_str())
            .find(|k| zone_keys.contains(k))
        else {
            continue;
        };
        out.at(
            &catalog::COMMON_SERVICE_ZONE_SELECTOR,
            object,
            &crate::path!["spec", "selector", key],
            format!(
                "{}: selector includes the zone label {key}, so the Service reaches one zone only and clients cannot fail over through it",
                object.display_name()
            ),
            "drop the zone label from the common Service's selector; keep zone-specific selection in Rollout stable/canary Services or DestinationRule subsets",
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::lint::test_support::{ids, lint_seed, lint_str};

    fn count(report: &crate::lint::LintReport, id: &str) -> usize {
        report.findings.iter().filter(|f| f.rule.id == id).count()
    }

    #[test]
    fn seed_reports_defects_6_and_7() {
        let r = lint_seed("zone-aware-topology.yaml");
        assert_eq!(count(&r, "ZC3001"), 3, "{:?}", ids(&r));
        assert_eq!(count(&r, "ZC3002"), 1);
        let f = r.findings.iter().find(|f| f.rule.id == "ZC3001").unwrap();
        assert_eq!(f.loc.pos.line, 153);
        assert!(
            f.message.contains("only to endpoints in us-east-1a"),
            "{}",
            f.message
        );
        // The seed's PDBs are per zone, labels agree with affinity, common Service is fine.
        for id in [
            "ZC3003", "ZC3004", "ZC3005", "ZC3006", "ZC3007", "ZC3008", "ZC3009",
        ] {
            assert_eq!(count(&r, id), 0, "{id} fired: {:?}", r.findings);
        }
    }

    const ROLLOUT: &str = "apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: {name: test-a, namespace: default}\nspec:\n  replicas: 3\n  selector: {matchLabels: {app: test, zone: a}}\n  template:\n    metadata:\n      labels: {app: test, zone: LABEL}\n    spec:\n      containers: [{name: app, image: i}]\n      affinity:\n        nodeAffinity:\n          requiredDuringSchedulingIgnoredDuringExecution:\n            nodeSelectorTerms:\n              - matchExpressions:\n                  - {key: topology.kubernetes.io/zone, operator: In, values: [us-east-1a]}\n---\n";

    fn pdb(spec: &str) -> String {
        format!(
            "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {{name: p, namespace: default}}\nspec:\n{spec}"
        )
    }

    #[test]
    fn label_affinity_mismatch_and_missing_pdb() {
        let r = lint_str(&ROLLOUT.replace("LABEL", "b"));
        assert_eq!(ids(&r), vec!["ZC3008", "ZC3004"], "{:?}", r.findings);
        assert_eq!(r.findings[1].loc.pos.line, 9);
        assert!(r.findings[1].message.contains("names us-east-1b"));
        let ok = format!(
            "{}{}",
            ROLLOUT.replace("LABEL", "a"),
            pdb("  minAvailable: 1\n  selector: {matchLabels: {app: test, zone: a}}\n")
        );
        assert!(
            lint_str(&ok).findings.is_empty(),
            "{:?}",
            lint_str(&ok).findings
        );
    }

    #[test]
    fn pdb_rules() {
        let base = ROLLOUT.replace("LABEL", "a");
        let nothing = format!(
            "{base}{}",
            pdb("  minAvailable: 1\n  selector: {matchLabels: {app: other}}\n")
        );
        assert!(ids(&lint_str(&nothing)).contains(&"ZC3005"));
        let blocks = format!(
            "{base}{}",
            pdb("  minAvailable: 3\n  selector: {matchLabels: {app: test}}\n")
        );
        let r = lint_str(&blocks);
        assert_eq!(ids(&r), vec!["ZC3007"], "{:?}", r.findings);
        let zero = format!(
            "{base}{}",
            pdb("  maxUnavailable: 0\n  selector: {matchLabels: {app: test}}\n")
        );
        assert_eq!(ids(&lint_str(&zero)), vec!["ZC3007"]);
        let pct = format!(
            "{base}{}",
            pdb("  minAvailable: \"50%\"\n  selector: {matchLabels: {app: test}}\n")
        );
        assert!(lint_str(&pct).findings.is_empty());
        let spanning = format!(
            "{base}{}{}",
            ROLLOUT
                .replace("LABEL", "b")
                .replace("test-a", "test-b")
                .replace("us-east-1a", "us-east-1b")
                .replace("zone: a}", "zone: b}"),
            pdb("  minAvailable: 1\n  selector: {matchLabels: {app: test}}\n")
        );
        let r = lint_str(&spanning);
        assert_eq!(ids(&r), vec!["ZC3006"], "{:?}", r.findings);
        assert!(r.findings[0].message.contains("us-east-1a, us-east-1b"));
    }

    const VS: &str = "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: v, namespace: default}\nspec:\n  hosts: [test]\n  http:\n    - name: a\n      match: [{sourceLabels: {topology.kubernetes.io/zone: ZONE}}]\n      route: [{destination: {host: test}}]\nCATCHALL";

    #[test]
    fn unknown_source_zone_and_catch_all() {
        let r = lint_str(&VS.replace("ZONE", "a").replace("CATCHALL", ""));
        assert_eq!(ids(&r), vec!["ZC3002", "ZC3003"], "{:?}", r.findings);
        assert_eq!(r.findings[1].loc.pos.line, 8);
        let ok = VS
            .replace("ZONE", "us-east-1a")
            .replace("CATCHALL", "    - route: [{destination: {host: test}}]\n");
        assert!(
            lint_str(&ok).findings.is_empty(),
            "{:?}",
            lint_str(&ok).findings
        );
    }

    #[test]
    fn zone_route_single_zone_needs_failover_configured() {
        let seed_like = "apiVersion: v1\nkind: Service\nmetadata: {name: test, namespace: default}\nspec: {selector: {app: test}}\n---\n";
        let vs = VS
            .replace("ZONE", "us-east-1a")
            .replace("CATCHALL", "    - route: [{destination: {host: test}}]\n");
        let dr = "---\napiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: d, namespace: default}\nspec:\n  host: test\n  trafficPolicy:\n    outlierDetection: {consecutive5xxErrors: 3, maxEjectionPercent: 100}\n    loadBalancer: {localityLbSetting: {failoverPriority: [topology.kubernetes.io/zone]}}\n";
        let pinned = format!("{seed_like}{}{vs}{dr}", ROLLOUT.replace("LABEL", "a"));
        let r = lint_str(&pinned);
        assert!(ids(&r).contains(&"ZC3001"), "{:?}", r.findings);
        // Without failover configured the single-zone route is a choice, not a defect.
        let no_failover = format!("{seed_like}{}{vs}", ROLLOUT.replace("LABEL", "a"));
        assert!(!ids(&lint_str(&no_failover)).contains(&"ZC3001"));
    }

    #[test]
    fn common_service_with_zone_selector() {
        let svc = "apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: default}\nspec: {selector: {app: test, zone: a}}\n";
        let r = lint_str(svc);
        assert_eq!(ids(&r), vec!["ZC3009"]);
        assert!(lint_str(&svc.replace(", zone: a", "")).findings.is_empty());
    }
}
