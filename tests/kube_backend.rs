//! The kind/existing backend (`KubeBackend`) against the scripted mock API
//! server: each suite action becomes exactly the API calls a real cluster
//! would see, and the state the assertions read comes back from the API.

mod common;

use std::path::Path;
use std::time::Duration;

use common::mock::*;
use serde_json::{Value, json};
use zonechaos::backend::Backend;
use zonechaos::backend::kube::api::NodeName;
use zonechaos::backend::kube::backend::{EmulatedLoss, KubeBackend, KubeSettings, NodeLifecycle};
use zonechaos::backend::kube::node_loss::LossMode;
use zonechaos::model::rollout::RolloutPhase;
use zonechaos::spec::{Action, DrainSpec, RolloutArg, SpotLossSpec, ZoneArg};
use zonechaos::suite::load_suite;
use zonechaos::telemetry::query::PromQuery;
use zonechaos::zone::Zone;

const NS: &str = "zonechaos-test";
const MERGE: &str = "application/merge-patch+json";

fn settings(emulate_loss: bool) -> KubeSettings {
    KubeSettings {
        name: if emulate_loss { "existing" } else { "kind" },
        namespace: NS.into(),
        node_gone_after: Duration::from_secs(1),
        node_ready_within: Duration::from_secs(5),
        emulate_loss,
        canary_image: None,
        workload_zones: Default::default(),
    }
}

/// A node lifecycle that records what it was asked to do; `deletes` as a
/// kind node's (the cloud controller's deletion of lost Node objects).
#[derive(Default)]
struct Recorder(std::sync::Arc<std::sync::Mutex<Vec<String>>>, bool);

impl Recorder {
    /// A recorder whose nodes' objects are deleted after a loss, as kind's.
    fn default_deleting() -> Recorder {
        Recorder(Default::default(), true)
    }
}

impl NodeLifecycle for Recorder {
    fn lose(
        &mut self,
        nodes: &[NodeName],
        mode: LossMode,
    ) -> Result<Value, zonechaos::backend::BackendError> {
        let mut log = self.0.lock().unwrap();
        log.extend(nodes.iter().map(|n| format!("lose {} {mode:?}", n.0)));
        Ok(json!({"recorded": true}))
    }
    fn restore(&mut self, nodes: &[NodeName]) -> Result<(), zonechaos::backend::BackendError> {
        let mut log = self.0.lock().unwrap();
        log.extend(nodes.iter().map(|n| format!("restore {}", n.0)));
        Ok(())
    }
    fn reregister(&mut self, nodes: &[NodeName]) -> Result<(), zonechaos::backend::BackendError> {
        let mut log = self.0.lock().unwrap();
        log.extend(nodes.iter().map(|n| format!("reregister {}", n.0)));
        Ok(())
    }
    fn deletes_node_objects(&self) -> bool {
        self.1
    }
}

fn node(name: &str, ready: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Node",
           "metadata": {"name": name, "labels": {"topology.kubernetes.io/zone": "us-east-1c",
                                                 "karpenter.sh/capacity-type": "spot"}},
           "status": {"conditions": [{"type": "Ready", "status": ready}]}})
}

fn list(kind: &str, items: Vec<Value>) -> Value {
    json!({"apiVersion": "v1", "kind": kind, "metadata": {"resourceVersion": "1"}, "items": items})
}

fn nodes_of_zone(selector: &str, names: &[&str]) -> Exchange {
    get("/api/v1/nodes")
        .query(&[("labelSelector", selector)])
        .reply(
            200,
            list("NodeList", names.iter().map(|n| node(n, "True")).collect()),
        )
}

fn cordon_patch(name: &str, on: bool) -> Exchange {
    patch(&format!("/api/v1/nodes/{name}"))
        .content_type(MERGE)
        .body(json!({"spec": {"unschedulable": on}}))
        .reply(200, node(name, "True"))
}

/// Runs `test` against a backend whose API server plays `script`, then
/// checks the script was played exactly.
fn with_backend(
    script: Vec<Exchange>,
    emulate_loss: bool,
    nodes: Box<dyn NodeLifecycle>,
    test: impl FnOnce(&mut KubeBackend),
) {
    with_backend_on("zone-c-drain", settings(emulate_loss), script, nodes, test);
}

/// [`with_backend`] for a given suite and settings.
fn with_backend_on(
    suite: &str,
    settings: KubeSettings,
    script: Vec<Exchange>,
    nodes: Box<dyn NodeLifecycle>,
    test: impl FnOnce(&mut KubeBackend),
) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let (client, server) = {
        let _guard = runtime.enter();
        scripted(script)
    };
    let suite =
        load_suite(&Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("suites/{suite}.yaml")))
            .expect("suite loads");
    // Nothing listens there: these tests never read traffic.
    let prometheus = PromQuery::new("http://127.0.0.1:9", Duration::from_secs(1)).unwrap();
    // One scripted server behind both clients: the tests read the requests,
    // not which client sent them (tests/kube_client_retry.rs does that).
    let clients = zonechaos::backend::kube::api::Clients {
        api: client.clone(),
        evictions: client,
    };
    let mut backend = KubeBackend::new(
        runtime.handle().clone(),
        clients,
        settings,
        nodes,
        prometheus,
        &suite,
    );
    test(&mut backend);
    drop(backend);
    if let Err(e) = runtime.block_on(server) {
        std::panic::resume_unwind(e.into_panic());
    }
}

/// Zone c's nodes without its load-client node (issue 11 item 5).
const ZONE_C: &str = "topology.kubernetes.io/zone=us-east-1c,zonechaos.dev/pool!=load-clients";
const ZONE_C_SPOT: &str = "topology.kubernetes.io/zone=us-east-1c,zonechaos.dev/pool!=load-clients,karpenter.sh/capacity-type=spot";

#[test]
fn cordon_patches_every_node_of_the_zone() {
    with_backend(
        vec![
            nodes_of_zone(ZONE_C, &["w5", "w6"]),
            cordon_patch("w5", true),
            cordon_patch("w6", true),
        ],
        false,
        Box::new(EmulatedLoss),
        |b| {
            let ev = cordon_zone_c(b);
            assert_eq!(ev["cordoned"], json!(["w5", "w6"]));
        },
    );
}

/// On a cluster the harness does not own, a node its owners had cordoned
/// (`spec.unschedulable`, as `kubectl cordon` sets it) is left cordoned:
/// the cordon skips it and the restore uncordons only what the run cordoned.
#[test]
fn a_restore_uncordons_only_the_nodes_the_run_cordoned() {
    let mut w6 = node("w6", "True");
    w6["spec"] = json!({"unschedulable": true});
    let zone_c = get("/api/v1/nodes")
        .query(&[("labelSelector", ZONE_C)])
        .reply(200, list("NodeList", vec![node("w5", "True"), w6]));
    with_backend(
        vec![
            zone_c.clone(),
            cordon_patch("w5", true),
            // restore: the zone listed again, only w5 uncordoned
            zone_c,
            cordon_patch("w5", false),
        ],
        false,
        Box::new(EmulatedLoss),
        |b| {
            let ev = cordon_zone_c(b);
            assert_eq!(ev["cordoned"], json!(["w5"]));
            assert_eq!(ev["alreadyCordoned"], json!(["w6"]));
            let ev = restore_zone_c(b);
            assert_eq!(ev["uncordoned"], json!(["w5"]));
        },
    );
}

#[test]
fn a_zone_without_nodes_is_an_error_saying_which_labels() {
    with_backend(
        vec![nodes_of_zone(ZONE_C, &[])],
        false,
        Box::new(EmulatedLoss),
        |b| {
            let e = b
                .apply(&Action::Cordon(ZoneArg {
                    zone: "us-east-1c".into(),
                }))
                .unwrap_err();
            let zonechaos::backend::BackendError::Cluster { message, hint } = &e else {
                panic!("not a cluster error: {e:?}")
            };
            assert!(message.contains("no nodes in zone us-east-1c"), "{e}");
            assert!(hint.contains("topology.kubernetes.io/zone"), "{e}");
        },
    );
}

#[test]
fn spot_loss_on_kind_stops_only_the_spot_nodes_and_restore_brings_them_back() {
    let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    with_backend(
        vec![
            nodes_of_zone(ZONE_C_SPOT, &["w5", "w6"]),
            // restore: the Node objects are still there, and Ready
            node_is("w5", "True"),
            node_is("w6", "True"),
            // listed in their zone; nothing to uncordon, as the harness
            // cordoned none of them (a Spot loss stops nodes, no cordon)
            nodes_of_zone(ZONE_C, &["w5", "w6", "w7"]),
        ],
        false,
        Box::new(Recorder(log.clone(), false)),
        |b| {
            lose_zone_c(b);
            restore_zone_c(b);
        },
    );
    assert_eq!(
        *log.lock().unwrap(),
        [
            "lose w5 Blackhole",
            "lose w6 Blackhole",
            "restore w5",
            "restore w6"
        ]
    );
}

/// A read of one Node: `ready` is its Ready condition's status.
fn node_is(name: &str, ready: &str) -> Exchange {
    get(&format!("/api/v1/nodes/{name}")).reply(200, node(name, ready))
}

/// A read of a Node that is gone.
fn node_gone(name: &str) -> Exchange {
    get(&format!("/api/v1/nodes/{name}")).fail(
        404,
        "NotFound",
        &format!("nodes \"{name}\" not found"),
    )
}

fn lose_zone_c(b: &mut KubeBackend) {
    b.apply(&Action::SpotLoss(SpotLossSpec {
        zone: "us-east-1c".into(),
        notice: None,
        mode: Some(zonechaos::spec::SpotLossMode::Blackhole),
    }))
    .expect("spot loss works");
}

fn cordon_zone_c(b: &mut KubeBackend) -> Value {
    b.apply(&Action::Cordon(ZoneArg {
        zone: "us-east-1c".into(),
    }))
    .expect("cordon works")
}

fn restore_zone_c(b: &mut KubeBackend) -> Value {
    b.apply(&Action::Restore(ZoneArg {
        zone: "us-east-1c".into(),
    }))
    .expect("restore works")
}

/// issue 11 item 1: a restore cancels the cloud controller's pending
/// deletion of the lost Node objects (before, it ran on and deleted the
/// Nodes of the restarted kubelets, which register only once per process:
/// kubernetes pkg/kubelet/kubelet_node_status.go registerWithAPIServer),
/// restarts the kubelet of a node whose object is already gone, and
/// returns only when every node is Ready in its zone. The mock server
/// fails on any request after the script, so a deletion still running
/// after the restore fails the test.
#[test]
fn restore_cancels_pending_node_deletions_and_reregisters_deleted_nodes() {
    let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    with_backend(
        vec![
            nodes_of_zone(ZONE_C_SPOT, &["w5", "w6"]),
            // restore: w6's Node was deleted while it was away
            node_is("w5", "True"),
            node_gone("w6"),
            // its kubelet restarted: registering, then Ready
            node_is("w5", "True"),
            node_gone("w6"),
            node_is("w5", "True"),
            node_is("w6", "True"),
            nodes_of_zone(ZONE_C, &["w5", "w6"]),
        ],
        false,
        Box::new(Recorder(log.clone(), true)),
        |b| {
            lose_zone_c(b);
            let ev = restore_zone_c(b);
            assert_eq!(ev["reregistered"], json!(["w6"]));
            // Longer than the deletion's deadline (1 s) and its first poll.
            std::thread::sleep(Duration::from_secs(3));
        },
    );
    assert_eq!(
        *log.lock().unwrap(),
        [
            "lose w5 Blackhole",
            "lose w6 Blackhole",
            "restore w5",
            "restore w6",
            "reregister w6"
        ]
    );
}

/// Without a restore the lost Node objects are deleted, as the cloud
/// controller deletes a Node whose instance is gone (kubernetes
/// staging/src/k8s.io/cloud-provider/controllers/nodelifecycle).
#[test]
fn lost_nodes_are_deleted_once_not_ready() {
    with_backend(
        vec![
            nodes_of_zone(ZONE_C_SPOT, &["w5", "w6"]),
            node_is("w5", "False"),
            delete("/api/v1/nodes/w5").reply(200, node("w5", "False")),
            node_is("w6", "Unknown"),
            delete("/api/v1/nodes/w6").reply(200, node("w6", "Unknown")),
        ],
        false,
        Box::new(Recorder::default_deleting()),
        |b| {
            lose_zone_c(b);
            std::thread::sleep(Duration::from_secs(3));
        },
    );
}

/// A restored node that never turns Ready fails the restore, naming it.
#[test]
fn a_restored_node_that_stays_not_ready_fails_the_restore() {
    let mut script = vec![nodes_of_zone(ZONE_C_SPOT, &["w5"])];
    // node_ready_within is 5 s, polled every 2 s: looks at 0, 2, 4 and 6 s
    // (a second from the deadline either way).
    script.extend((0..4).map(|_| node_is("w5", "False")));
    with_backend(script, false, Box::new(Recorder::default()), |b| {
        lose_zone_c(b);
        let e = b
            .apply(&Action::Restore(ZoneArg {
                zone: "us-east-1c".into(),
            }))
            .unwrap_err();
        assert!(e.to_string().contains("w5 (NotReady)"), "{e}");
    });
}

#[test]
fn spot_loss_on_an_existing_cluster_cordons_and_force_deletes_the_pods() {
    with_backend(
        vec![
            nodes_of_zone(ZONE_C_SPOT, &["w5"]),
            cordon_patch("w5", true),
            get(&format!("/api/v1/namespaces/{NS}/pods"))
                .query(&[("fieldSelector", "spec.nodeName=w5")])
                .reply(
                    200,
                    list(
                        "PodList",
                        vec![
                            json!({"metadata": {"name": "test-c-1", "namespace": NS}}),
                            // A load client that landed here (e.g. rendered with
                            // `--clients capacity`): never deleted by chaos. The
                            // mock fails on any request it did not expect.
                            json!({"metadata": {"name": "loadgen-test-c-1", "namespace": NS,
                                "labels": {"zonechaos.dev/role": "loadgen"}}}),
                        ],
                    ),
                ),
            delete(&format!("/api/v1/namespaces/{NS}/pods/test-c-1"))
                .body_subset(json!({"gracePeriodSeconds": 0}))
                .reply(200, json!({"metadata": {"name": "test-c-1"}})),
        ],
        true,
        Box::new(EmulatedLoss),
        |b| {
            let ev = b
                .apply(&Action::SpotLoss(SpotLossSpec {
                    zone: "us-east-1c".into(),
                    notice: None,
                    mode: None,
                }))
                .expect("spot loss works");
            assert_eq!(ev["forceDeleted"], json!(["test-c-1"]));
        },
    );
}

#[test]
fn promote_and_abort_patch_the_rollout_status() {
    let status_path = format!("/apis/argoproj.io/v1alpha1/namespaces/{NS}/rollouts/test-c/status");
    with_backend(
        vec![
            patch(&status_path)
                .content_type(MERGE)
                .body(json!({"status": {"pauseConditions": null}}))
                .reply(200, json!({"metadata": {"name": "test-c"}})),
            patch(&status_path)
                .content_type(MERGE)
                .body(json!({"status": {"abort": true}}))
                .reply(200, json!({"metadata": {"name": "test-c"}})),
        ],
        false,
        Box::new(EmulatedLoss),
        |b| {
            let arg = RolloutArg {
                rollout: "test-c".into(),
            };
            b.apply(&Action::Promote(arg.clone())).expect("promote");
            b.apply(&Action::Abort(arg)).expect("abort");
        },
    );
}

#[test]
fn rollout_status_and_route_weights_come_back_from_the_api() {
    let rollout = json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
        "metadata": {"name": "test-c", "namespace": NS, "generation": 3},
        "status": {"phase": "Paused", "message": "CanaryPauseStep", "currentStepIndex": 1,
                   "observedGeneration": "3", "stableRS": "abc",
                   "canary": {"weights": {"canary": {"weight": 10}, "stable": {"weight": 90}}}}});
    let vs = json!({"apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
        "metadata": {"name": "test", "namespace": NS},
        "spec": {"hosts": ["test"], "http": [
            {"name": "zone-c-route", "route": [
                {"destination": {"host": "test", "subset": "stable-c"}, "weight": 90},
                {"destination": {"host": "test", "subset": "canary-c"}, "weight": 10}]},
            {"route": [{"destination": {"host": "test"}}]}]}});
    with_backend(
        vec![
            get(&format!(
                "/apis/argoproj.io/v1alpha1/namespaces/{NS}/rollouts/test-c"
            ))
            .reply(200, rollout),
            get(&format!(
                "/apis/networking.istio.io/v1/namespaces/{NS}/virtualservices"
            ))
            .reply(200, list("VirtualServiceList", vec![vs])),
        ],
        false,
        Box::new(EmulatedLoss),
        |b| {
            let s = b.rollout_status("test-c").expect("status read");
            assert_eq!(s.phase, RolloutPhase::Paused);
            assert_eq!((s.canary_weight, s.stable_weight), (10, 90));
            assert_eq!(s.current_step_index, Some(1));
            let w = b.route_weights();
            assert_eq!(
                w[&("test".to_owned(), "zone-c-route".to_owned())],
                vec![
                    ("test/stable-c".to_owned(), 90),
                    ("test/canary-c".to_owned(), 10)
                ]
            );
            assert_eq!(
                w[&("test".to_owned(), "#1".to_owned())],
                vec![("test".to_owned(), 100)]
            );
        },
    );
}

#[test]
fn a_drain_runs_in_the_background_and_reports_when_done() {
    let pdbs = json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudgetList",
        "metadata": {}, "items": []});
    with_backend(
        vec![
            nodes_of_zone(ZONE_C, &["w5"]),
            get(&format!(
                "/apis/policy/v1/namespaces/{NS}/poddisruptionbudgets"
            ))
            .reply(200, pdbs),
            cordon_patch("w5", true),
            get(&format!("/api/v1/namespaces/{NS}/pods"))
                .query(&[("fieldSelector", "spec.nodeName=w5")])
                .reply(200, list("PodList", vec![])),
        ],
        false,
        Box::new(EmulatedLoss),
        |b| {
            b.apply(&Action::Drain(DrainSpec {
                zone: "us-east-1c".into(),
                timeout: zonechaos::model::SimDuration::secs(30),
            }))
            .expect("drain starts");
            let zone = Zone("us-east-1c".into());
            let mut report = b.last_drain(&zone).expect("a drain is known");
            for _ in 0..50 {
                if report.finished.is_some() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
                report = b.last_drain(&zone).expect("a drain is known");
            }
            assert_eq!(report.finished, Some(true), "{report:?}");
            assert_eq!(report.pods_left, 0);
        },
    );
}

#[test]
fn a_canary_sets_the_canary_image_and_the_suite_s_version_in_one_patch() {
    let path = format!("/apis/argoproj.io/v1alpha1/namespaces/{NS}/rollouts/test-c");
    let rollout = json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
        "metadata": {"name": "test-c", "namespace": NS, "resourceVersion": "41"},
        "spec": {"template": {"spec": {"containers": [{"name": "test", "image": "zonechaos:0.1.0",
            "env": [{"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                    {"name": "ZONECHAOS_VERSION", "value": "0.1.0"}]}]}}}});
    let mut s = settings(false);
    s.canary_image = Some("zonechaos:0.1.0-canary".into());
    with_backend_on(
        "canary-zone-isolation",
        s,
        vec![
            get(&path).reply(200, rollout),
            patch(&path)
                .content_type(MERGE)
                .body(json!({"metadata": {"resourceVersion": "41"},
                    "spec": {"template": {"spec": {"containers": [{"name": "test",
                        "image": "zonechaos:0.1.0-canary",
                        "env": [{"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                                {"name": "ZONECHAOS_VERSION", "value": "myapp:v2"}]}]}}}}))
                .reply(200, json!({"metadata": {"name": "test-c"}})),
        ],
        Box::new(EmulatedLoss),
        |b| {
            let ev = b
                .apply(&Action::Canary(zonechaos::spec::CanarySpec {
                    rollout: "test-c".into(),
                    image: "myapp:v2".into(),
                }))
                .expect("canary starts");
            assert_eq!(ev["image"], "zonechaos:0.1.0-canary");
        },
    );
}

#[test]
fn every_rendered_workload_has_its_zone_for_the_istio_cross_check() {
    let suite =
        load_suite(&Path::new(env!("CARGO_MANIFEST_DIR")).join("suites/zone-c-spot-loss.yaml"))
            .expect("suite loads");
    let zones = zonechaos::backend::kube::session::workload_zones(&suite);
    for (workload, zone) in [
        ("test-a", "us-east-1a"),
        ("test-b", "us-east-1b"),
        ("test-c", "us-east-1c"),
        ("loadgen-test-a", "us-east-1a"),
        ("loadgen-test-c", "us-east-1c"),
    ] {
        assert_eq!(
            zones.get(workload).map(|z| z.as_str()),
            Some(zone),
            "{workload}: {zones:?}"
        );
    }
    assert_eq!(zones.len(), 6, "{zones:?}");
}

/// A SIGINT/SIGTERM during a wait on a real cluster ends the wait at once
/// with `Interrupted` (so the runner goes on to the `finally` steps), and
/// no request reaches the API server (the script is empty). Each nextest
/// test is its own process, so the recorded signal touches this test only.
#[test]
fn a_signal_ends_a_wait_on_the_cluster_as_interrupted() {
    with_backend(vec![], false, Box::new(EmulatedLoss), |b| {
        zonechaos::interrupt::record(zonechaos::interrupt::Signal::Term);
        let err = b
            .advance(zonechaos::model::clock::SimDuration::secs(3600))
            .unwrap_err();
        assert!(
            matches!(
                err,
                zonechaos::backend::BackendError::Interrupted(zonechaos::interrupt::Signal::Term)
            ),
            "{err:?}"
        );
    });
}
