//! Cases translated from argoproj/argo-rollouts v1.9.1
//! `rollout/trafficrouting/istio/istio_test.go`, with rules read from
//! `istio.go` at that tag (processRoutes, getHttpRouteIndexesToPatch,
//! ValidateHTTPRoutes, validateDestinationRule, UpdateHash), run against the
//! model's own functions (`zonechaos::model::rollout`: `write_weights`,
//! `validate_routing`, `update_destination_rule_hashes`). Each case is data:
//! the Rollout's references, the VirtualService's http routes, the desired
//! canary weight, and upstream's result (weights, or the error text).
//!
//! Upstream tests not expressible, and why:
//! - TLS and TCP routes (TestTls*/TestTcp*, the tls/tcp halves of
//!   TestReconcileWeightsBaseCase, TestReconcileInferredSingleRoute,
//!   TestMultipleVirtualServiceReconcileWeightsBaseCase,
//!   TestSingleTlsRouteReconcile, TestValidateTLSRoutes/TCPRoutes): the
//!   model routes HTTP only.
//! - Header routes, mirror routes and managedRoutes (TestHttpReconcileHeader*,
//!   TestReconcileUpdateHeader, TestReconcileHeaderRouteAvoidDuplicates,
//!   TestHttpReconcileMirrorRoute*, TestReconcileUpdateMirror): not modelled
//!   (a setHeaderRoute or setMirrorRoute step passes as a no-op).
//! - Ping-pong services (TestReconcileWeightsPingPongBaseCase) and
//!   experiments (TestReconcileVirtualServiceExperimentStep,
//!   TestHostSplitExperimentStep, TestUpdateHashWithAdditionalDestinations):
//!   not modelled.
//! - `additionalSubsetNames`: TestHttpReconcileMultipleDestRule is
//!   translated; UpdateHash still drops such subsets from the Rollout's own
//!   DestinationRule (upstream keeps only canary, stable and experiment
//!   subsets there: the additional ones live in other rules).
//! - ReplicaSet-availability delays of the DestinationRule switch
//!   (TestUpdateHashNoReadyReplicaSets, TestUpdateHashAbortScenarios,
//!   TestShouldDelayDestinationRuleUpdate): only apply without canary and
//!   stable Services, which the model's Rollouts always have with a DR.
//! - API-call counts with and without listers, cast errors in patches,
//!   undecodable routes, Type(): properties of the client code, not of the
//!   routing.

use std::path::Path;
use std::sync::Arc;

use zonechaos::model::World;
use zonechaos::model::mesh_config::MeshConfig;
use zonechaos::model::rollout::{
    AMBIGUOUS_ROUTES, RolloutState, update_destination_rule_hashes, validate_routing, write_weights,
};
use zonechaos::model::world::ClusterTiming;
use zonechaos::profile::ClusterProfile;
use zonechaos::topology::{Loaded, Topology, load_text};

/// istio_test.go's fixtures: `regularVsvc` (routes primary and secondary,
/// each stable=100 canary=0), `singleRouteVsvc` (one unnamed route).
const REGULAR: &str = "[{name: primary, route: [{destination: {host: stable}, weight: 100}, {destination: {host: canary}, weight: 0}]}, {name: secondary, route: [{destination: {host: stable}, weight: 100}, {destination: {host: canary}, weight: 0}]}]";
const SINGLE: &str = "[{route: [{destination: {host: stable}, weight: 100}, {destination: {host: canary}, weight: 0}]}]";

/// A topology: Services stable and canary, VirtualServices `vs` (name,
/// http routes in YAML flow form), an optional DestinationRule
/// `istio-destrule` (subsets in flow form), and Rollout `rollout` whose
/// `trafficRouting.istio` is `routing` (flow form).
fn topology(vs: &[(&str, &str)], dr: Option<&str>, routing: &str) -> Topology {
    let mut yaml = String::new();
    for svc in ["stable", "canary"] {
        yaml.push_str(&format!(
            "apiVersion: v1\nkind: Service\nmetadata: {{name: {svc}, namespace: default}}\nspec: {{selector: {{app: r}}, ports: [{{port: 80}}]}}\n---\n"
        ));
    }
    for (name, http) in vs {
        yaml.push_str(&format!(
            "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {{name: {name}, namespace: default}}\nspec: {{hosts: [stable], http: {http}}}\n---\n"
        ));
    }
    if let Some(subsets) = dr {
        yaml.push_str(&format!(
            "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {{name: istio-destrule, namespace: default}}\nspec: {{host: stable, trafficPolicy: {{loadBalancer: {{simple: LEAST_REQUEST}}}}, subsets: {subsets}}}\n---\n"
        ));
    }
    yaml.push_str(&format!(
        "apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: {{name: rollout, namespace: default}}\nspec:\n  replicas: 1\n  selector: {{matchLabels: {{app: r}}}}\n  template:\n    metadata: {{labels: {{app: r}}}}\n    spec: {{containers: [{{name: app, image: 'app:v1'}}]}}\n  strategy:\n    canary:\n      stableService: stable\n      canaryService: canary\n      trafficRouting: {{istio: {routing}}}\n      steps: [{{setWeight: 10}}]\n"
    ));
    let mut l = Loaded::default();
    load_text(Arc::from(Path::new("istio_test.yaml")), &yaml, &mut l);
    assert!(l.issues.is_empty(), "{:?}\n{yaml}", l.issues);
    Topology::new(l.objects)
}

/// The Rollout's state (hashes, spec) and the mesh as first stored.
fn rollout_and_mesh(t: &Topology) -> (RolloutState, Arc<MeshConfig>) {
    let w = World::new(t, &ClusterProfile::builtin(), ClusterTiming::default());
    let r = RolloutState::clone(&w.rollouts[w.rollout_index("rollout").unwrap()]);
    (r, Arc::new(MeshConfig::from_topology(t)))
}

/// `vs/route: host[/subset]=weight ...` for every route, in order.
fn weights(mesh: &MeshConfig) -> Vec<String> {
    let mut out = Vec::new();
    for vs in &mesh.virtual_services {
        for (i, r) in vs.spec.http.iter().enumerate() {
            let dests: Vec<String> = r
                .route
                .iter()
                .map(|d| {
                    let name = match &d.destination.subset {
                        Some(s) => format!("{}/{s}", d.destination.host),
                        None => d.destination.host.clone(),
                    };
                    format!("{name}={}", d.weight.map_or("-".into(), |w| w.to_string()))
                })
                .collect();
            let route = r.name.clone().unwrap_or_else(|| format!("#{i}"));
            out.push(format!("{}/{route}: {}", vs.name.name, dests.join(" ")));
        }
    }
    out
}

struct WeightCase {
    /// Upstream test.
    test: &'static str,
    vs: &'static [(&'static str, &'static str)],
    dr: Option<&'static str>,
    routing: &'static str,
    desired: i32,
    want: &'static [&'static str],
}

const WEIGHT_CASES: &[WeightCase] = &[
    WeightCase {
        test: "TestHttpReconcileWeightsBaseCase",
        vs: &[("vsvc", REGULAR)],
        dr: None,
        routing: "{virtualService: {name: vsvc, routes: [primary]}}",
        desired: 10,
        want: &[
            "vsvc/primary: stable=90 canary=10",
            "vsvc/secondary: stable=100 canary=0",
        ],
    },
    WeightCase {
        test: "TestReconcileWeightsBaseCase (http part)",
        vs: &[("vsvc", REGULAR)],
        dr: None,
        routing: "{virtualService: {name: vsvc, routes: [primary]}}",
        desired: 20,
        want: &[
            "vsvc/primary: stable=80 canary=20",
            "vsvc/secondary: stable=100 canary=0",
        ],
    },
    WeightCase {
        test: "TestHttpReconcileInferredSingleRoute",
        vs: &[("vsvc", SINGLE)],
        dr: None,
        routing: "{virtualService: {name: vsvc}}",
        desired: 10,
        want: &["vsvc/#0: stable=90 canary=10"],
    },
    WeightCase {
        test: "TestMultipleVirtualServiceReconcileInferredSingleRoute",
        vs: &[("vsvc1", SINGLE), ("vsvc2", SINGLE)],
        dr: None,
        routing: "{virtualServices: [{name: vsvc1}, {name: vsvc2}]}",
        desired: 10,
        want: &[
            "vsvc1/#0: stable=90 canary=10",
            "vsvc2/#0: stable=90 canary=10",
        ],
    },
    WeightCase {
        test: "TestMultipleVirtualServiceReconcileWeightsBaseCase (http part)",
        vs: &[("vsvc", REGULAR)],
        dr: None,
        routing: "{virtualServices: [{name: vsvc, routes: [secondary]}]}",
        desired: 20,
        want: &[
            "vsvc/primary: stable=100 canary=0",
            "vsvc/secondary: stable=80 canary=20",
        ],
    },
    WeightCase {
        test: "TestGetHttpRouteIndexesToPatch ([foo, bar] on [foo, bar])",
        vs: &[(
            "vsvc",
            "[{name: foo, route: [{destination: {host: stable}}, {destination: {host: canary}}]}, {name: bar, route: [{destination: {host: stable}}, {destination: {host: canary}}]}]",
        )],
        dr: None,
        routing: "{virtualService: {name: vsvc, routes: [foo, bar]}}",
        desired: 30,
        want: &[
            "vsvc/foo: stable=70 canary=30",
            "vsvc/bar: stable=70 canary=30",
        ],
    },
    WeightCase {
        // processRoutes: a destination neither canary nor stable is deleted
        // (invalidVsvc's example-service).
        test: "processRoutes (invalidVsvc: other destinations deleted)",
        vs: &[(
            "vsvc",
            "[{route: [{destination: {host: stable}, weight: 75}, {destination: {host: canary}, weight: 0}, {destination: {host: example-service}, weight: 25}]}]",
        )],
        dr: None,
        routing: "{virtualService: {name: vsvc}}",
        desired: 10,
        want: &["vsvc/#0: stable=90 canary=10"],
    },
    WeightCase {
        // processRoutes/getHost: a host starting with '.' names no Service;
        // upstream neither weights nor deletes it.
        test: "processRoutes (getHost empty: left alone)",
        vs: &[(
            "vsvc",
            "[{route: [{destination: {host: stable}, weight: 80}, {destination: {host: canary}, weight: 0}, {destination: {host: .odd}, weight: 20}]}]",
        )],
        dr: None,
        routing: "{virtualService: {name: vsvc}}",
        desired: 10,
        want: &["vsvc/#0: stable=90 canary=10 .odd=20"],
    },
    WeightCase {
        // processRoutes: canary is recognised by its Service host *or*
        // its subset, and before stable, whether or not a DestinationRule
        // is configured: a destination whose host is the canary Service
        // gets the canary weight whatever its subset says.
        test: "processRoutes (canary by host or subset, canary first)",
        vs: &[(
            "vsvc",
            "[{name: primary, route: [{destination: {host: canary, subset: stable}, weight: 100}, {destination: {host: stable, subset: canary}, weight: 0}]}]",
        )],
        dr: Some("[{name: stable, labels: {}}, {name: canary, labels: {}}]"),
        routing: "{virtualService: {name: vsvc, routes: [primary]}, destinationRule: {name: istio-destrule, canarySubsetName: canary, stableSubsetName: stable}}",
        desired: 10,
        want: &["vsvc/primary: canary/stable=10 stable/canary=10"],
    },
    WeightCase {
        // An additionalSubsetNames destination keeps its weight, which
        // comes off stable: 100 - 10 - 20 = 70.
        test: "TestHttpReconcileMultipleDestRule",
        vs: &[(
            "vsvc",
            "[{route: [{destination: {host: rollout-service, subset: stable}, weight: 100}, {destination: {host: rollout-service, subset: canary}, weight: 0}, {destination: {host: additional-service, subset: stable-subset}, weight: 20}]}]",
        )],
        dr: Some("[{name: stable, labels: {}}, {name: canary, labels: {}}]"),
        routing: "{virtualService: {name: vsvc}, destinationRule: {name: istio-destrule, canarySubsetName: canary, stableSubsetName: stable, additionalSubsetNames: [stable-subset]}}",
        desired: 10,
        want: &[
            "vsvc/#0: rollout-service/stable=70 rollout-service/canary=10 additional-service/stable-subset=20",
        ],
    },
    WeightCase {
        // processRoutes: a stable share below 0 is written as 0 (Istio
        // refuses negative weights); the additional weight stays.
        test: "processRoutes (additional subsets: stable floored at 0)",
        vs: &[(
            "vsvc",
            "[{route: [{destination: {host: rollout-service, subset: stable}, weight: 5}, {destination: {host: rollout-service, subset: canary}, weight: 0}, {destination: {host: additional-service, subset: stable-subset}, weight: 95}]}]",
        )],
        dr: Some("[{name: stable, labels: {}}, {name: canary, labels: {}}]"),
        routing: "{virtualService: {name: vsvc}, destinationRule: {name: istio-destrule, canarySubsetName: canary, stableSubsetName: stable, additionalSubsetNames: [stable-subset]}}",
        desired: 10,
        want: &[
            "vsvc/#0: rollout-service/stable=0 rollout-service/canary=10 additional-service/stable-subset=95",
        ],
    },
    WeightCase {
        // Without additionalSubsetNames the same destination is deleted.
        test: "processRoutes (the same route without additionalSubsetNames)",
        vs: &[(
            "vsvc",
            "[{route: [{destination: {host: rollout-service, subset: stable}, weight: 100}, {destination: {host: rollout-service, subset: canary}, weight: 0}, {destination: {host: additional-service, subset: stable-subset}, weight: 20}]}]",
        )],
        dr: Some("[{name: stable, labels: {}}, {name: canary, labels: {}}]"),
        routing: "{virtualService: {name: vsvc}, destinationRule: {name: istio-destrule, canarySubsetName: canary, stableSubsetName: stable}}",
        desired: 10,
        want: &["vsvc/#0: rollout-service/stable=90 rollout-service/canary=10"],
    },
];

#[test]
fn weights_after_set_weight_as_upstream_expects() {
    for c in WEIGHT_CASES {
        let t = topology(c.vs, c.dr, c.routing);
        let (r, mut mesh) = rollout_and_mesh(&t);
        assert_eq!(validate_routing(&r, &mesh), Ok(()), "{}", c.test);
        write_weights(&r, &mut mesh, c.desired);
        assert_eq!(weights(&mesh), c.want, "{}", c.test);
    }
}

#[test]
fn set_weight_writes_nothing_when_nothing_changes() {
    // TestReconcileNoChanges, TestMultipleVirtualServiceReconcileNoChanges:
    // weights already as desired: only a GET, no update (istio.go
    // appendPatch). Argo never marks a VirtualService as its own, so a
    // fresh one counts too.
    for (vs, routing) in [
        (
            &[("vsvc", REGULAR)][..],
            "{virtualService: {name: vsvc, routes: [primary]}}",
        ),
        (
            &[("vsvc1", REGULAR), ("vsvc2", SINGLE)][..],
            "{virtualServices: [{name: vsvc1, routes: [primary, secondary]}, {name: vsvc2}]}",
        ),
    ] {
        let t = topology(vs, None, routing);
        let (r, mut mesh) = rollout_and_mesh(&t);
        let before = Arc::clone(&mesh);
        write_weights(&r, &mut mesh, 0);
        assert!(Arc::ptr_eq(&before, &mesh), "{routing}: written");
        // TestReconcileUpdateVirtualService: weight 10 is an update.
        write_weights(&r, &mut mesh, 10);
        assert!(!Arc::ptr_eq(&before, &mesh), "{routing}: not written");
    }
}

struct ErrorCase {
    test: &'static str,
    vs: &'static [(&'static str, &'static str)],
    dr: Option<&'static str>,
    routing: &'static str,
    /// None: valid.
    want: Option<&'static str>,
}

const SUBSET_ROUTE: &str = "[{name: primary, route: [{destination: {host: rollout, subset: stable}}, {destination: {host: rollout, subset: canary}}]}]";
const SUBSETS: &str = "[{name: stable, labels: {}}, {name: canary, labels: {}}]";
const DR_ROUTING: &str = "{virtualService: {name: vsvc, routes: [primary]}, destinationRule: {name: istio-destrule, canarySubsetName: canary, stableSubsetName: stable}}";

const ERROR_CASES: &[ErrorCase] = &[
    ErrorCase {
        test: "TestReconcileInvalidValidation",
        vs: &[("vsvc", REGULAR)],
        dr: None,
        routing: "{virtualService: {name: vsvc, routes: [route-not-found]}}",
        want: Some("HTTP Route 'route-not-found' is not found in the defined Virtual Service."),
    },
    ErrorCase {
        test: "TestMultipleVirtualServiceReconcileInvalidValidation",
        vs: &[("vsvc1", REGULAR), ("vsvc2", REGULAR)],
        dr: None,
        routing: "{virtualServices: [{name: vsvc1, routes: [route-not-found]}, {name: vsvc2, routes: [route-not-found]}]}",
        want: Some("HTTP Route 'route-not-found' is not found in the defined Virtual Service."),
    },
    ErrorCase {
        test: "TestHttpReconcileInvalidVsvc (routes [primary] on one unnamed route)",
        vs: &[("vsvc", SINGLE)],
        dr: None,
        routing: "{virtualService: {name: vsvc, routes: [primary]}}",
        want: Some("HTTP Route 'primary' is not found in the defined Virtual Service."),
    },
    ErrorCase {
        test: "TestReconcileAmbiguousRoutes",
        vs: &[("vsvc", REGULAR)],
        dr: None,
        routing: "{virtualService: {name: vsvc}}",
        want: Some(AMBIGUOUS_ROUTES),
    },
    ErrorCase {
        test: "TestMultipleVirtualServiceReconcileAmbiguousRoutes",
        vs: &[("vsvc1", REGULAR), ("vsvc2", SINGLE)],
        dr: None,
        routing: "{virtualServices: [{name: vsvc1}, {name: vsvc2}]}",
        want: Some(AMBIGUOUS_ROUTES),
    },
    ErrorCase {
        // getHttpRouteIndexesToPatch: `routes: []` counts as omitted.
        test: "getHttpRouteIndexesToPatch (routes: [] is omitted)",
        vs: &[("vsvc", SINGLE)],
        dr: None,
        routing: "{virtualService: {name: vsvc, routes: []}}",
        want: None,
    },
    ErrorCase {
        test: "TestValidateHTTPRoutes (found)",
        vs: &[(
            "vsvc",
            "[{name: test, route: [{destination: {host: stable}}, {destination: {host: canary}}]}]",
        )],
        dr: None,
        routing: "{virtualService: {name: vsvc, routes: [test]}}",
        want: None,
    },
    ErrorCase {
        test: "TestValidateHTTPRoutes (not found)",
        vs: &[(
            "vsvc",
            "[{name: test, route: [{destination: {host: stable}}, {destination: {host: canary}}]}]",
        )],
        dr: None,
        routing: "{virtualService: {name: vsvc, routes: [not-found-route]}}",
        want: Some("HTTP Route 'not-found-route' is not found in the defined Virtual Service."),
    },
    ErrorCase {
        test: "TestGetHttpRouteIndexesToPatch ([bar] on [foo])",
        vs: &[(
            "vsvc",
            "[{name: foo, route: [{destination: {host: stable}}, {destination: {host: canary}}]}]",
        )],
        dr: None,
        routing: "{virtualService: {name: vsvc, routes: [bar]}}",
        want: Some("HTTP Route 'bar' is not found in the defined Virtual Service."),
    },
    ErrorCase {
        test: "TestValidateHosts (stable, canary)",
        vs: &[("vsvc", SINGLE)],
        dr: None,
        routing: "{virtualService: {name: vsvc}}",
        want: None,
    },
    ErrorCase {
        test: "TestValidateHosts (hosts with namespace)",
        vs: &[(
            "vsvc",
            "[{route: [{destination: {host: stable.namespace}}, {destination: {host: canary.namespace}}]}]",
        )],
        dr: None,
        routing: "{virtualService: {name: vsvc}}",
        want: None,
    },
    ErrorCase {
        test: "TestValidateHosts (stable not found)",
        vs: &[(
            "vsvc",
            "[{route: [{destination: {host: not-found-stable}}, {destination: {host: canary}}]}]",
        )],
        dr: None,
        routing: "{virtualService: {name: vsvc}}",
        want: Some("Stable Service 'stable' not found in route"),
    },
    ErrorCase {
        test: "TestValidateHosts (canary not found)",
        vs: &[(
            "vsvc",
            "[{route: [{destination: {host: stable}}, {destination: {host: not-found-canary}}]}]",
        )],
        dr: None,
        routing: "{virtualService: {name: vsvc}}",
        want: Some("Canary Service 'canary' not found in route"),
    },
    ErrorCase {
        test: "TestValidateHTTPRoutesSubsets (found)",
        vs: &[("vsvc", SUBSET_ROUTE)],
        dr: Some(SUBSETS),
        routing: DR_ROUTING,
        want: None,
    },
    ErrorCase {
        test: "TestValidateHTTPRoutesSubsets (stable subset doesntexist)",
        vs: &[("vsvc", SUBSET_ROUTE)],
        dr: Some(SUBSETS),
        routing: "{virtualService: {name: vsvc, routes: [primary]}, destinationRule: {name: istio-destrule, canarySubsetName: canary, stableSubsetName: doesntexist}}",
        want: Some("Stable DestinationRule subset 'doesntexist' not found in route"),
    },
    ErrorCase {
        test: "TestValidateHTTPRoutesSubsets (both doesntexist: canary first)",
        vs: &[("vsvc", SUBSET_ROUTE)],
        dr: Some(SUBSETS),
        routing: "{virtualService: {name: vsvc, routes: [primary]}, destinationRule: {name: istio-destrule, canarySubsetName: doesntexist, stableSubsetName: doesntexist}}",
        want: Some("Canary DestinationRule subset 'doesntexist' not found in route"),
    },
    ErrorCase {
        test: "TestReconcileVirtualServiceNotFound",
        vs: &[],
        dr: None,
        routing: "{virtualService: {name: vsvc, routes: [primary]}}",
        want: Some("virtualservices.networking.istio.io \"vsvc\" not found"),
    },
    ErrorCase {
        test: "TestUpdateHashDestinationRuleNotFound",
        vs: &[("vsvc", SUBSET_ROUTE)],
        dr: None,
        routing: DR_ROUTING,
        want: Some("destinationrules.networking.istio.io \"istio-destrule\" not found"),
    },
    ErrorCase {
        // UpdateHash neither checks nor creates a subset the rule lacks.
        test: "UpdateHash (a subset the rule lacks is no error)",
        vs: &[("vsvc", SUBSET_ROUTE)],
        dr: Some("[{name: stable, labels: {}}]"),
        routing: DR_ROUTING,
        want: None,
    },
];

#[test]
fn validation_errors_in_upstreams_order_and_words() {
    for c in ERROR_CASES {
        let t = topology(c.vs, c.dr, c.routing);
        let (r, mesh) = rollout_and_mesh(&t);
        assert_eq!(
            validate_routing(&r, &mesh).err().as_deref(),
            c.want,
            "{}",
            c.test
        );
    }
}

#[test]
fn update_hash_labels_the_rollouts_subsets_and_drops_the_rest() {
    // TestUpdateHashWithListers / TestUpdateHashAdditionalFieldsWithListers:
    // the canary and stable subsets get rollouts-pod-template-hash (other
    // labels kept), the rule is marked managed by the Rollout, its traffic
    // policy is kept; every other subset is dropped.
    let subsets = "[{name: stable, labels: {version: v3}}, {name: canary, labels: {}}, {name: other, labels: {}}]";
    let t = topology(&[("vsvc", SUBSET_ROUTE)], Some(subsets), DR_ROUTING);
    let (r, mut mesh) = rollout_and_mesh(&t);
    update_destination_rule_hashes(&r, &mut mesh, "abc123");
    let dr = mesh.destination_rule("default", "istio-destrule").unwrap();
    let got: Vec<(String, Vec<(String, String)>)> = dr
        .spec
        .subsets
        .iter()
        .map(|s| {
            let labels = s
                .labels
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            (s.name.clone(), labels)
        })
        .collect();
    let hash = |h: &str| ("rollouts-pod-template-hash".to_owned(), h.to_owned());
    assert_eq!(
        got,
        [
            (
                "stable".to_owned(),
                vec![hash(&r.stable_hash), ("version".into(), "v3".into())]
            ),
            ("canary".to_owned(), vec![hash("abc123")]),
        ]
    );
    assert_eq!(dr.managed_by.as_deref(), Some("rollout"));
    assert!(dr.spec.traffic_policy.is_some());
    // TestUpdateHashNoChange: already so: no write at all.
    let before = Arc::clone(&mesh);
    update_destination_rule_hashes(&r, &mut mesh, "abc123");
    assert!(Arc::ptr_eq(&before, &mesh));
}
