//! Every ZC2xxx rule on small hand-written manifests (one case that fires,
//! one that must not), and the seed topologies.

use std::path::Path;
use std::sync::Arc;

use super::check;
use crate::lint::context::LintContext;
use crate::lint::finding::{Finding, Findings, Severity};
use crate::profile::ClusterProfile;
use crate::topology::{Loaded, Topology, load_text};

// ---- harness -------------------------------------------------------------

/// Runs the Argo rules on one YAML text.
fn lint(yaml: &str) -> Vec<Finding> {
    let mut loaded = Loaded::default();
    load_text(Arc::from(Path::new("test.yaml")), yaml, &mut loaded);
    assert!(
        loaded.issues.is_empty(),
        "test manifest does not load: {:?}",
        loaded.issues
    );
    let topology = Topology::new(loaded.objects);
    let profile = ClusterProfile::load(
        concat!(env!("CARGO_MANIFEST_DIR"), "/clusters/three-zones.yaml").as_ref(),
    )
    .expect("cluster profile");
    let ctx = LintContext::new(&topology, &profile);
    let mut out = Findings::default();
    check(&ctx, &mut out);
    out.into_sorted()
}

/// Runs the Argo rules on a seed of `suites/fixtures/source-design`.
fn lint_seed(name: &str) -> Vec<Finding> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("suites/fixtures/source-design")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    lint(&text)
}

fn of<'f>(findings: &'f [Finding], id: &str) -> Vec<&'f Finding> {
    findings.iter().filter(|f| f.rule.id == id).collect()
}

fn render(findings: &[Finding]) -> String {
    findings
        .iter()
        .map(|f| {
            format!(
                "  {} {} line {}: {}",
                f.rule.id,
                f.object.as_deref().unwrap_or("-"),
                f.loc.pos.line,
                f.message
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Asserts exactly one finding of `id`, at `line`, whose message contains
/// every part; returns it.
fn one<'f>(findings: &'f [Finding], id: &str, line: u32, parts: &[&str]) -> &'f Finding {
    let hits = of(findings, id);
    assert_eq!(
        hits.len(),
        1,
        "expected one {id}, got:\n{}",
        render(findings)
    );
    let f = hits[0];
    assert_eq!(
        f.loc.pos.line,
        line,
        "{id} at the wrong line:\n{}",
        render(findings)
    );
    for part in parts {
        assert!(
            f.message.contains(part),
            "{id} message lacks {part:?}: {}",
            f.message
        );
    }
    assert!(!f.message.contains('\n') && !f.hint.is_empty(), "{f:?}");
    f
}

fn none(findings: &[Finding], id: &str) {
    assert!(
        of(findings, id).is_empty(),
        "unexpected {id}:\n{}",
        render(findings)
    );
}

/// 1-based line of the first `needle` after the first `anchor`.
fn line_after(text: &str, anchor: &str, needle: &str) -> u32 {
    let start = text.find(anchor).unwrap_or_else(|| panic!("no {anchor:?}"));
    let at = start
        + text[start..]
            .find(needle)
            .unwrap_or_else(|| panic!("no {needle:?} after {anchor:?}"));
    u32::try_from(text[..at].matches('\n').count() + 1).unwrap()
}

/// Anchor for [`line_after`]: the Rollout of that name.
fn rollout_at(name: &str) -> String {
    format!("kind: Rollout\nmetadata:\n  name: {name}\n")
}

// ---- manifest builders ---------------------------------------------------

fn service(name: &str, selector: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\n  namespace: default\nspec:\n  selector: {selector}\n  ports:\n    - port: 80\n---\n"
    )
}

/// A canary Rollout; `canary` holds the lines under `spec.strategy.canary`
/// (indented six spaces).
fn rollout(name: &str, labels: &str, canary: &str) -> String {
    format!(
        "apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: {name}
  namespace: default
spec:
  replicas: 3
  selector:
    matchLabels: {labels}
  template:
    metadata:
      labels: {labels}
    spec:
      containers:
        - name: app
          image: app:v1
  strategy:
    canary:
{canary}
      steps:
        - setWeight: 10
---
"
    )
}

/// `routes:` lines of a virtualService reference (empty = omitted).
fn routes(names: &[&str]) -> String {
    if names.is_empty() {
        return String::new();
    }
    let mut s = "            routes:\n".to_owned();
    for n in names {
        s += &format!("              - {n}\n");
    }
    s
}

/// Subset-level routing (destinationRule mode).
fn dr_mode(vs: &str, route_names: &[&str], dr: &str, stable: &str, canary: &str) -> String {
    format!(
        "      trafficRouting:
        istio:
          virtualService:
            name: {vs}
{}          destinationRule:
            name: {dr}
            stableSubsetName: {stable}
            canarySubsetName: {canary}",
        routes(route_names)
    )
}

/// Host-level routing (Service mode).
fn svc_mode(stable: &str, canary: &str, vs: &str, route_names: &[&str]) -> String {
    format!(
        "      stableService: {stable}
      canaryService: {canary}
      trafficRouting:
        istio:
          virtualService:
            name: {vs}
{}",
        routes(route_names)
    )
}

type Dest<'a> = (&'a str, Option<&'a str>, Option<i64>);

fn http_route(name: Option<&str>, dests: &[Dest<'_>]) -> String {
    let mut s = match name {
        Some(n) => format!("    - name: {n}\n      route:\n"),
        None => "    - route:\n".to_owned(),
    };
    for (host, subset, weight) in dests {
        s += &format!("        - destination:\n            host: {host}\n");
        if let Some(subset) = subset {
            s += &format!("            subset: {subset}\n");
        }
        if let Some(weight) = weight {
            s += &format!("          weight: {weight}\n");
        }
    }
    s
}

fn virtual_service(name: &str, http: &[String]) -> String {
    format!(
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata:\n  name: {name}\n  namespace: default\nspec:\n  hosts: [web]\n  http:\n{}---\n",
        http.concat()
    )
}

fn destination_rule(name: &str, host: &str, subsets: &[&str]) -> String {
    let mut s = format!(
        "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata:\n  name: {name}\n  namespace: default\nspec:\n  host: {host}\n  subsets:\n"
    );
    for subset in subsets {
        s += &format!("    - name: {subset}\n      labels: {{app: web}}\n");
    }
    s + "---\n"
}

fn zone_route(zone: &str) -> String {
    let (stable, canary) = (format!("stable-{zone}"), format!("canary-{zone}"));
    http_route(
        Some(&format!("zone-{zone}")),
        &[
            ("web", Some(&stable), Some(90)),
            ("web", Some(&canary), Some(10)),
        ],
    )
}

const LABELS_A: &str = "{app: web, zone: a}";
const LABELS_B: &str = "{app: web, zone: b}";

/// Two zone Rollouts done right: one named route and one DestinationRule
/// (same host) each.
fn zone_topology() -> String {
    [
        service("web", "{app: web}"),
        virtual_service("web", &[zone_route("a"), zone_route("b")]),
        destination_rule("web-a", "web", &["stable-a", "canary-a"]),
        destination_rule("web-b", "web", &["stable-b", "canary-b"]),
        rollout(
            "web-a",
            LABELS_A,
            &dr_mode("web", &["zone-a"], "web-a", "stable-a", "canary-a"),
        ),
        rollout(
            "web-b",
            LABELS_B,
            &dr_mode("web", &["zone-b"], "web-b", "stable-b", "canary-b"),
        ),
    ]
    .concat()
}

/// One Rollout routing by Service host.
fn service_topology(primary: &[Dest<'_>]) -> String {
    [
        service("web-stable", "{app: web}"),
        service("web-canary", "{app: web}"),
        virtual_service("web", &[http_route(Some("primary"), primary)]),
        rollout(
            "web",
            "{app: web}",
            &svc_mode("web-stable", "web-canary", "web", &["primary"]),
        ),
    ]
    .concat()
}

const SERVICE_ROUTE: &[Dest<'static>] = &[
    ("web-stable", None, Some(100)),
    ("web-canary", None, Some(0)),
];

#[test]
fn correct_topologies_are_quiet() {
    let findings = lint(&zone_topology());
    assert!(findings.is_empty(), "{}", render(&findings));
    let findings = lint(&service_topology(SERVICE_ROUTE));
    assert!(findings.is_empty(), "{}", render(&findings));
}

// ---- ZC2001 route-not-found ---------------------------------------------

#[test]
fn zc2001_fires_on_an_unknown_route_name() {
    let text = zone_topology().replace("              - zone-b\n", "              - zone-x\n");
    let findings = lint(&text);
    one(
        &findings,
        "ZC2001",
        line_after(&text, &rollout_at("web-b"), "- zone-x"),
        &[
            "Rollout default/web-b",
            "HTTP Route 'zone-x' is not found in the defined Virtual Service.",
            "'zone-a' and 'zone-b'",
        ],
    );
}

#[test]
fn zc2001_quiet_when_every_route_exists() {
    let text = zone_topology().replace(
        "              - zone-b\n",
        "              - zone-b\n              - zone-a\n",
    );
    let findings = lint(&text);
    none(&findings, "ZC2001");
}

// ---- ZC2002 route-missing-destination -----------------------------------

#[test]
fn zc2002_fires_when_the_route_lacks_the_canary_subset() {
    let text = [
        service("web", "{app: web}"),
        virtual_service(
            "web",
            &[http_route(
                Some("zone-a"),
                &[("web", Some("stable-a"), None)],
            )],
        ),
        destination_rule("web-a", "web", &["stable-a", "canary-a"]),
        rollout(
            "web-a",
            LABELS_A,
            &dr_mode("web", &["zone-a"], "web-a", "stable-a", "canary-a"),
        ),
    ]
    .concat();
    let findings = lint(&text);
    one(
        &findings,
        "ZC2002",
        line_after(&text, "kind: Rollout", "- zone-a"),
        &[
            "Rollout default/web-a",
            "Canary DestinationRule subset 'canary-a' not found in route 'zone-a'",
        ],
    );
}

#[test]
fn zc2002_fires_when_the_route_lacks_the_canary_service() {
    let text = service_topology(&[("web-stable", None, None)]);
    let findings = lint(&text);
    one(
        &findings,
        "ZC2002",
        line_after(&text, "kind: Rollout", "- primary"),
        &["Canary Service 'web-canary' not found in route 'primary' of VirtualService default/web"],
    );
}

#[test]
fn zc2002_quiet_for_fqdn_hosts_of_the_services() {
    let text = service_topology(&[
        ("web-stable.default.svc.cluster.local", None, Some(100)),
        ("web-canary.default", None, Some(0)),
    ]);
    let findings = lint(&text);
    assert!(findings.is_empty(), "{}", render(&findings));
}

#[test]
fn zc2002_fires_when_the_host_only_looks_like_the_service() {
    // Argo accepts it (first DNS label), Istio routes to another namespace.
    let text = service_topology(&[
        ("web-stable", None, Some(100)),
        ("web-canary.other", None, Some(0)),
    ]);
    let findings = lint(&text);
    one(
        &findings,
        "ZC2002",
        line_after(&text, "kind: Rollout", "- primary"),
        &[
            "only as host 'web-canary.other'",
            "Service other/web-canary rather than Service default/web-canary",
        ],
    );
    // Argo does not delete it: it matches canaryService by first label.
    none(&findings, "ZC2010");
}

// ---- ZC2003 route-shared --------------------------------------------------

#[test]
fn zc2003_fires_when_two_rollouts_name_one_route() {
    let text = zone_topology().replace("              - zone-b\n", "              - zone-a\n");
    let findings = lint(&text);
    let f = one(
        &findings,
        "ZC2003",
        line_after(&text, &rollout_at("web-b"), "- zone-a"),
        &[
            "Rollout default/web-b: route 'zone-a' of VirtualService default/web is also managed by Rollout default/web-a",
            "overwrite each other's weights",
        ],
    );
    assert_eq!(f.object.as_deref(), Some("Rollout default/web-b"));
}

#[test]
fn zc2003_fires_when_routes_are_omitted_on_a_single_route() {
    let text = [
        service("web", "{app: web}"),
        virtual_service("web", &[zone_route("a")]),
        destination_rule("web-a", "web", &["stable-a", "canary-a"]),
        rollout(
            "web-a",
            LABELS_A,
            &dr_mode("web", &[], "web-a", "stable-a", "canary-a"),
        ),
        rollout(
            "web-a2",
            LABELS_A,
            &dr_mode("web", &[], "web-a", "stable-a", "canary-a"),
        ),
    ]
    .concat();
    let findings = lint(&text);
    one(
        &findings,
        "ZC2003",
        line_after(&text, &rollout_at("web-a2"), "virtualService:"),
        &[
            "Rollout default/web-a2: route 'zone-a'",
            "also managed by Rollout default/web-a;",
        ],
    );
}

#[test]
fn zc2003_quiet_for_one_route_per_rollout() {
    none(&lint(&zone_topology()), "ZC2003");
}

// ---- ZC2004 destinationrule-shared --------------------------------------

#[test]
fn zc2004_fires_once_on_a_shared_destination_rule() {
    let text = zone_topology()
        .replace(
            "name: web-a\n            stableSubsetName",
            "name: web\n            stableSubsetName",
        )
        .replace(
            "name: web-b\n            stableSubsetName",
            "name: web\n            stableSubsetName",
        )
        + &destination_rule(
            "web",
            "web",
            &["stable-a", "canary-a", "stable-b", "canary-b"],
        );
    let findings = lint(&text);
    let f = one(
        &findings,
        "ZC2004",
        line_after(
            &text,
            "name: web\n  namespace: default\nspec:\n  host: web",
            "subsets:",
        ),
        &[
            "DestinationRule default/web is used by 2 Rollouts (Rollout default/web-a and Rollout default/web-b)",
            "drops the other Rollouts' subsets",
        ],
    );
    assert_eq!(f.object.as_deref(), Some("DestinationRule default/web"));
    assert!(
        f.hint.contains("its own DestinationRule for host 'web'"),
        "{}",
        f.hint
    );
}

#[test]
fn zc2004_quiet_for_one_destination_rule_per_rollout() {
    none(&lint(&zone_topology()), "ZC2004");
}

// ---- ZC2005 subset-not-found --------------------------------------------

#[test]
fn zc2005_fires_on_a_subset_the_destination_rule_lacks() {
    // Rename the subset in web-b's DestinationRule only.
    let text = zone_topology().replacen("    - name: stable-b\n", "    - name: stable-bee\n", 1);
    let findings = lint(&text);
    one(
        &findings,
        "ZC2005",
        line_after(&text, &rollout_at("web-b"), "stableSubsetName: stable-b"),
        &[
            "Rollout default/web-b: stableSubsetName 'stable-b' is not a subset of DestinationRule default/web-b",
            "'stable-bee' and 'canary-b'",
        ],
    );
}

#[test]
fn zc2005_quiet_when_both_subsets_exist() {
    none(&lint(&zone_topology()), "ZC2005");
}

// ---- ZC2006 routes-omitted -----------------------------------------------

#[test]
fn zc2006_fires_when_routes_are_omitted_on_several_routes() {
    let text = zone_topology().replace("            routes:\n              - zone-a\n", "");
    let findings = lint(&text);
    one(
        &findings,
        "ZC2006",
        line_after(&text, &rollout_at("web-a"), "virtualService:"),
        &[
            "Rollout default/web-a: the reference to VirtualService default/web lists no routes but it has 2 http routes ('zone-a' and 'zone-b')",
        ],
    );
    // Argo rejects the reference: nothing else is checked on it.
    none(&findings, "ZC2002");
    none(&findings, "ZC2003");
}

#[test]
fn zc2006_quiet_when_routes_are_omitted_on_a_single_route() {
    let text = [
        service("web", "{app: web}"),
        virtual_service(
            "web",
            &[http_route(
                None,
                &[
                    ("web", Some("stable-a"), Some(100)),
                    ("web", Some("canary-a"), None),
                ],
            )],
        ),
        destination_rule("web-a", "web", &["stable-a", "canary-a"]),
        rollout(
            "web-a",
            LABELS_A,
            &dr_mode("web", &[], "web-a", "stable-a", "canary-a"),
        ),
    ]
    .concat();
    let findings = lint(&text);
    assert!(findings.is_empty(), "{}", render(&findings));
}

#[test]
fn zc2006_fires_on_an_empty_routes_list() {
    // Argo treats `routes: []` like omitted routes.
    let text = zone_topology().replace(
        "            routes:\n              - zone-a\n",
        "            routes: []\n",
    );
    let findings = lint(&text);
    one(
        &findings,
        "ZC2006",
        line_after(&text, &rollout_at("web-a"), "routes: []"),
        &["lists no routes but it has 2 http routes"],
    );
}

// ---- ZC2007 service-not-found --------------------------------------------

#[test]
fn zc2007_fires_on_a_missing_service() {
    let text =
        service_topology(SERVICE_ROUTE).replace("  name: web-canary\n", "  name: web-canary-old\n");
    let findings = lint(&text);
    one(
        &findings,
        "ZC2007",
        line_after(&text, "kind: Rollout", "canaryService: web-canary"),
        &["Rollout default/web: canaryService 'web-canary' does not exist in namespace default"],
    );
    // The route still names it: no second error for the same cause.
    none(&findings, "ZC2002");
}

#[test]
fn zc2007_applies_without_traffic_routing() {
    let text = rollout(
        "web",
        "{app: web}",
        "      stableService: web-stable\n      canaryService: web-canary",
    );
    let findings = lint(&text);
    assert_eq!(of(&findings, "ZC2007").len(), 2, "{}", render(&findings));
    assert_eq!(findings.len(), 2, "{}", render(&findings));
}

#[test]
fn zc2007_quiet_when_the_services_exist() {
    none(&lint(&service_topology(SERVICE_ROUTE)), "ZC2007");
}

// ---- ZC2008 service-selector-mismatch ------------------------------------

#[test]
fn zc2008_fires_when_the_selector_is_not_on_the_pods() {
    let text = service_topology(SERVICE_ROUTE).replacen(
        "  selector: {app: web}\n",
        "  selector: {app: web, track: stable}\n",
        1,
    );
    let findings = lint(&text);
    one(
        &findings,
        "ZC2008",
        line_after(&text, "kind: Rollout", "stableService: web-stable"),
        &[
            "stableService default/web-stable selects track=stable but the pod template labels are {app=web}",
            "unmatch label \"track\"",
        ],
    );
}

#[test]
fn zc2008_ignores_the_pod_template_hash_key() {
    let text = service_topology(SERVICE_ROUTE).replacen(
        "  selector: {app: web}\n",
        "  selector: {app: web, rollouts-pod-template-hash: 5d8f7c}\n",
        1,
    );
    none(&lint(&text), "ZC2008");
}

#[test]
fn zc2008_reads_the_pod_labels_of_a_workload_ref() {
    let deployment = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web-deploy
  namespace: default
spec:
  selector:
    matchLabels: {app: web-v2}
  template:
    metadata:
      labels: {app: web-v2}
    spec:
      containers:
        - name: app
          image: app:v1
---
";
    let canary = svc_mode("web-stable", "web-canary", "web", &["primary"]);
    let rollout = format!(
        "apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata:\n  name: web\n  namespace: default\nspec:\n  workloadRef:\n    apiVersion: apps/v1\n    kind: Deployment\n    name: web-deploy\n  strategy:\n    canary:\n{canary}\n---\n"
    );
    let text = [
        service("web-stable", "{app: web}"),
        service("web-canary", "{app: web-v2}"),
        virtual_service("web", &[http_route(Some("primary"), SERVICE_ROUTE)]),
        deployment.to_owned(),
        rollout,
    ]
    .concat();
    let findings = lint(&text);
    one(
        &findings,
        "ZC2008",
        line_after(&text, &rollout_at("web"), "stableService: web-stable"),
        &[
            "stableService default/web-stable selects app=web but the pod template labels are {app=web-v2}",
        ],
    );
}

// ---- ZC2009 service-shared ------------------------------------------------

#[test]
fn zc2009_fires_when_two_rollouts_share_a_service() {
    let text = service_topology(SERVICE_ROUTE)
        + &service("web2-canary", "{app: web}")
        + &rollout(
            "web2",
            "{app: web}",
            "      stableService: web-stable\n      canaryService: web2-canary",
        );
    let findings = lint(&text);
    let f = one(
        &findings,
        "ZC2009",
        line_after(&text, &rollout_at("web2"), "stableService: web-stable"),
        &[
            "Rollout default/web2: stableService default/web-stable is also the stableService of Rollout default/web;",
            "is managed by another Rollout",
        ],
    );
    assert_eq!(f.object.as_deref(), Some("Rollout default/web2"));
}

#[test]
fn zc2009_quiet_for_own_services() {
    let text = service_topology(SERVICE_ROUTE)
        + &service("web2-stable", "{app: web}")
        + &service("web2-canary", "{app: web}")
        + &rollout(
            "web2",
            "{app: web}",
            "      stableService: web2-stable\n      canaryService: web2-canary",
        );
    none(&lint(&text), "ZC2009");
}

// ---- ZC2010 route-foreign-destination ------------------------------------

fn legacy_topology(additional: &str) -> String {
    let route = http_route(
        Some("zone-a"),
        &[
            ("web", Some("stable-a"), Some(90)),
            ("web", Some("canary-a"), Some(10)),
            ("web", Some("legacy"), Some(0)),
        ],
    );
    [
        service("web", "{app: web}"),
        virtual_service("web", &[route]),
        destination_rule("web-a", "web", &["stable-a", "canary-a", "legacy"]),
        rollout(
            "web-a",
            LABELS_A,
            &(dr_mode("web", &["zone-a"], "web-a", "stable-a", "canary-a") + additional),
        ),
    ]
    .concat()
}

#[test]
fn zc2010_fires_on_a_destination_argo_deletes() {
    let text = legacy_topology("");
    let findings = lint(&text);
    let f = one(
        &findings,
        "ZC2010",
        line_after(&text, "subset: canary-a", "- destination:"),
        &[
            "VirtualService default/web: destination host web subset legacy of route 'zone-a' is neither the stable nor the canary of Rollout default/web-a",
        ],
    );
    assert_eq!(f.severity(), Severity::Warning);
}

#[test]
fn zc2010_quiet_for_additional_subsets() {
    let text = legacy_topology("\n            additionalSubsetNames: [legacy]");
    let findings = lint(&text);
    assert!(findings.is_empty(), "{}", render(&findings));
}

#[test]
fn zc2010_quiet_when_argo_rejects_the_route() {
    // The route lacks canary-b for web-b: Argo patches nothing, deletes nothing.
    let text = zone_topology().replace("              - zone-b\n", "              - zone-a\n");
    let findings = lint(&text);
    assert!(!of(&findings, "ZC2002").is_empty(), "{}", render(&findings));
    none(&findings, "ZC2010");
}

// ---- ZC2011 route-weight-sum ---------------------------------------------

#[test]
fn zc2011_fires_when_weights_do_not_sum_to_100() {
    let text = zone_topology().replacen("weight: 10\n", "weight: 5\n", 1);
    let findings = lint(&text);
    one(
        &findings,
        "ZC2011",
        line_after(&text, "- name: zone-a", "route:"),
        &[
            "VirtualService default/web: the 2 destination weights of route 'zone-a' sum to 95, not 100",
            "the first destination gets 94.7% rather than 90%",
        ],
    );
}

#[test]
fn zc2011_fires_on_weights_summing_to_zero_even_unmanaged() {
    let text = virtual_service(
        "other",
        &[http_route(None, &[("a", None, None), ("b", None, None)])],
    );
    let findings = lint(&text);
    one(
        &findings,
        "ZC2011",
        line_after(&text, "http:", "route:"),
        &["route http[0] sum to 0", "total destination weight = 0"],
    );
}

#[test]
fn zc2011_quiet_for_a_single_destination_without_weight() {
    let text = virtual_service(
        "other",
        &[
            http_route(None, &[("a", None, None)]),
            http_route(None, &[("a", None, Some(100)), ("b", None, None)]),
        ],
    );
    let findings = lint(&text);
    assert!(findings.is_empty(), "{}", render(&findings));
}

// ---- ZC2012 virtualservice-not-found -------------------------------------

#[test]
fn zc2012_fires_on_a_missing_virtual_service() {
    let text = zone_topology().replacen(
        "            name: web\n            routes:\n              - zone-b",
        "            name: web.prod\n            routes:\n              - zone-b",
        1,
    );
    let findings = lint(&text);
    one(
        &findings,
        "ZC2012",
        line_after(&text, &rollout_at("web-b"), "name: web.prod"),
        &[
            "Rollout default/web-b: VirtualService 'web.prod' does not exist (looked up in namespace prod)",
        ],
    );
    // Nothing that needs the VirtualService is checked.
    assert_eq!(findings.len(), 1, "{}", render(&findings));
}

#[test]
fn zc2012_quiet_for_name_namespace_and_list_form() {
    let text = zone_topology().replacen(
        "          virtualService:\n            name: web\n            routes:\n              - zone-b\n",
        "          virtualServices:\n            - name: web.default\n              routes: [zone-b]\n",
        1,
    );
    assert!(text.contains("virtualServices:"));
    let findings = lint(&text);
    assert!(findings.is_empty(), "{}", render(&findings));
}

#[test]
fn list_form_findings_point_into_the_list() {
    let text = zone_topology().replacen(
        "          virtualService:\n            name: web\n            routes:\n              - zone-b\n",
        "          virtualServices:\n            - name: web.default\n              routes: [zone-b]\n            - name: web\n              routes:\n                - zone-q\n",
        1,
    );
    let findings = lint(&text);
    one(
        &findings,
        "ZC2001",
        line_after(&text, "virtualServices:", "- zone-q"),
        &["HTTP Route 'zone-q'"],
    );
}

// ---- ZC2013 destinationrule-not-found ------------------------------------

#[test]
fn zc2013_fires_on_a_missing_destination_rule() {
    let text = zone_topology().replace(
        "name: web-b\n            stableSubsetName",
        "name: web-bee\n            stableSubsetName",
    );
    let findings = lint(&text);
    one(
        &findings,
        "ZC2013",
        line_after(
            &text,
            "destinationRule:\n            name: web-bee",
            "name: web-bee",
        ),
        &["Rollout default/web-b: destinationRule 'web-bee' does not exist in namespace default"],
    );
    // No subset check without the DestinationRule.
    none(&findings, "ZC2005");
}

#[test]
fn zc2013_fires_on_the_name_namespace_form_argo_does_not_read() {
    let text = zone_topology().replace(
        "name: web-b\n            stableSubsetName",
        "name: web-b.default\n            stableSubsetName",
    );
    let findings = lint(&text);
    one(
        &findings,
        "ZC2013",
        line_after(
            &text,
            "destinationRule:\n            name: web-b.default",
            "name: web-b.default",
        ),
        &[
            "destinationRule 'web-b.default' does not exist",
            "does not read the name.namespace form",
        ],
    );
}

#[test]
fn zc2013_quiet_when_the_destination_rule_exists() {
    none(&lint(&zone_topology()), "ZC2013");
}

// ---- seeds ---------------------------------------------------------------

#[test]
fn seed_zone_aware_topology_shares_its_destination_rule() {
    let findings = lint_seed("zone-aware-topology.yaml");
    let shared = of(&findings, "ZC2004");
    assert_eq!(shared.len(), 1, "{}", render(&findings));
    for r in ["default/test-a", "default/test-b", "default/test-c"] {
        assert!(shared[0].message.contains(r), "{}", shared[0].message);
    }
    none(&findings, "ZC2001");
    none(&findings, "ZC2003");
    assert_eq!(findings.len(), 1, "{}", render(&findings));
}

#[test]
fn seed_zone_aware_shared_route() {
    let findings = lint_seed("zone-aware-shared-route.yaml");
    let shared = of(&findings, "ZC2003");
    let on: Vec<_> = shared
        .iter()
        .map(|f| f.object.as_deref().unwrap())
        .collect();
    assert_eq!(
        on,
        ["Rollout default/test-b", "Rollout default/test-c"],
        "{}",
        render(&findings)
    );
    let missing = of(&findings, "ZC2002");
    for (rollout, zone) in [("test-b", "b"), ("test-c", "c")] {
        for subset in [
            format!("Canary DestinationRule subset 'canary-{zone}'"),
            format!("Stable DestinationRule subset 'stable-{zone}'"),
        ] {
            assert!(
                missing.iter().any(|f| f.object.as_deref()
                    == Some(&format!("Rollout default/{rollout}"))
                    && f.message.contains(&subset)),
                "no ZC2002 {subset} for {rollout}:\n{}",
                render(&findings)
            );
        }
    }
    assert_eq!(missing.len(), 4, "{}", render(&findings));
    assert!(
        missing
            .iter()
            .all(|f| f.object.as_deref() != Some("Rollout default/test-a"))
    );
    assert_eq!(of(&findings, "ZC2004").len(), 1, "{}", render(&findings));
}

#[test]
fn seed_basic_istio_canary_has_no_error() {
    let findings = lint_seed("basic-istio-canary.yaml");
    assert!(
        findings.iter().all(|f| f.severity() < Severity::Error),
        "{}",
        render(&findings)
    );
}

#[test]
fn seed_api_server_lacks_its_services_and_destination_rule() {
    let findings = lint_seed("api-server-canary-analysis.yaml");
    let missing: Vec<_> = of(&findings, "ZC2007")
        .iter()
        .map(|f| f.message.clone())
        .collect();
    assert_eq!(missing.len(), 2, "{}", render(&findings));
    assert!(
        missing
            .iter()
            .any(|m| m.contains("canaryService 'api-server-canary'"))
    );
    assert!(
        missing
            .iter()
            .any(|m| m.contains("stableService 'api-server-stable'"))
    );
    assert_eq!(of(&findings, "ZC2013").len(), 1, "{}", render(&findings));
    assert_eq!(findings.len(), 3, "{}", render(&findings));
}

#[test]
fn seed_flagger_has_nothing_for_argo() {
    assert!(lint_seed("catalog-flagger.yaml").is_empty());
}
