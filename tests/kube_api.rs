//! The Kubernetes API layer (`zonechaos::backend::kube::api`) against a
//! scripted mock API server (tower-test): each test lists the exact
//! requests it expects (method, path, query, content type, body) and the
//! canned answers; the server task asserts every request in order and the
//! test fails if a request differs, is missing or is extra.
//!
//! Time-dependent code (drain backoff and deadline, readiness waits) runs
//! under `tokio::time::pause`, so no test sleeps for real.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use zonechaos::backend::kube::api::apply::{ApplyOptions, apply_yaml};
use zonechaos::backend::kube::api::drain::{
    Backoff, DrainOptions, PodScope, RefusalKind, SkipReason, drain_nodes, drain_zone,
};
use zonechaos::backend::kube::api::error::ApiError;
use zonechaos::backend::kube::api::nodes::{
    NodeFilter, NodeReadiness, cordon, delete_node, node_readiness, uncordon,
};
use zonechaos::backend::kube::api::pdbs::read_pdb_statuses;
use zonechaos::backend::kube::api::portforward::find_pod;
use zonechaos::backend::kube::api::rollouts::{
    PhaseReading, abort, promote, read_rollout, retry, set_image,
};
use zonechaos::backend::kube::api::types::{NodeName, PodRef, Presence};
use zonechaos::backend::kube::api::wait::{
    WaitOptions, wait_crd_established, wait_deployment_available, wait_node_gone, wait_pods_ready,
    wait_rollout_phase,
};
use zonechaos::backend::kube::render::prometheus::POD_SELECTOR as PROMETHEUS_SELECTOR;
use zonechaos::model::clock::SimTime;
use zonechaos::model::eviction::PdbStatus;
use zonechaos::model::rollout::RolloutPhase;
use zonechaos::zone::Zone;

mod common;
use common::mock::*;

// ---------------------------------------------------------------- fixtures

const NS: &str = "zc";
const MERGE: &str = "application/merge-patch+json";
const BUDGET_MSG: &str = "Cannot evict pod as it would violate the pod's disruption budget.";

fn node(name: &str, ready: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Node",
           "metadata": {"name": name, "labels": {"topology.kubernetes.io/zone": "c"}},
           "status": {"conditions": [{"type": "Ready", "status": ready}]}})
}

fn pod(name: &str, labels: Value) -> Value {
    json!({"metadata": {"name": name, "namespace": NS, "labels": labels,
           "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs",
                                "uid": "u1", "controller": true}]},
           "spec": {"nodeName": "w1", "containers": [{"name": "echo", "image": "echo:1"}]}})
}

fn daemonset_pod(name: &str) -> Value {
    json!({"metadata": {"name": name, "namespace": NS,
           "ownerReferences": [{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "ds",
                                "uid": "u2", "controller": true}]},
           "spec": {"containers": [{"name": "x", "image": "x"}]}})
}

fn list(kind: &str, items: Vec<Value>) -> Value {
    json!({"apiVersion": "v1", "kind": kind, "metadata": {"resourceVersion": "1"}, "items": items})
}

fn pdb(name: &str, zone: &str, allowed: i32) -> Value {
    json!({"metadata": {"name": name, "namespace": NS},
           "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "echo", "zone": zone}}},
           "status": {"currentHealthy": 2 + allowed, "desiredHealthy": 2,
                      "disruptionsAllowed": allowed, "expectedPods": 2 + allowed}})
}

fn pdb_list(items: Vec<Value>) -> Exchange {
    get("/apis/policy/v1/namespaces/zc/poddisruptionbudgets")
        .reply(200, list("PodDisruptionBudgetList", items))
}

fn cordon_of(node_name: &str) -> Exchange {
    patch(&format!("/api/v1/nodes/{node_name}"))
        .content_type(MERGE)
        .body(json!({"spec": {"unschedulable": true}}))
        .reply(200, node(node_name, "True"))
}

fn pods_on(node_name: &str, items: Vec<Value>) -> Exchange {
    get("/api/v1/namespaces/zc/pods")
        .query(&[("fieldSelector", &format!("spec.nodeName={node_name}"))])
        .reply(200, list("PodList", items))
}

fn eviction(pod_name: &str) -> Exchange {
    // kube-rs 5 posts `{"delete_options":null,"metadata":{"name":…}}`
    // (no apiVersion/kind; the server takes them from the endpoint).
    post(&format!("/api/v1/namespaces/zc/pods/{pod_name}/eviction"))
        .body_subset(json!({"metadata": {"name": pod_name}}))
}

fn evicted(pod_name: &str) -> Exchange {
    eviction(pod_name).reply(
        201,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}),
    )
}

/// 429 naming the budget in the cause, as the API server writes it.
fn refused_by(pod_name: &str, budget: &str) -> Exchange {
    let mut s = status(429, "TooManyRequests", BUDGET_MSG);
    s["details"] = json!({"causes": [{"reason": "DisruptionBudget",
        "message": format!("The disruption budget {budget} needs 2 healthy pods and has 2 currently")}]});
    eviction(pod_name).reply(429, s)
}

/// 429 without a cause: the budget must be found by selector.
fn refused_bare(pod_name: &str) -> Exchange {
    eviction(pod_name).fail(429, "TooManyRequests", BUDGET_MSG)
}

fn opts(timeout_s: u64) -> DrainOptions {
    DrainOptions {
        scope: PodScope::Namespace(NS.into()),
        timeout: Duration::from_secs(timeout_s),
        backoff: Backoff {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(5),
        },
    }
}

fn echo_c() -> Value {
    json!({"app": "echo", "zone": "c"})
}

// ---------------------------------------------------------------- nodes

#[tokio::test]
async fn cordon_and_uncordon_send_the_merge_patch() {
    let (client, server) = scripted(vec![
        cordon_of("w1"),
        patch("/api/v1/nodes/w1")
            .content_type(MERGE)
            .body(json!({"spec": {"unschedulable": false}}))
            .reply(200, node("w1", "True")),
    ]);
    let w1 = NodeName::from("w1");
    assert_eq!(cordon(&client, &w1).await.unwrap(), Presence::Present);
    assert_eq!(uncordon(&client, &w1).await.unwrap(), Presence::Present);
    finish(client, server).await;
}

#[tokio::test]
async fn a_vanished_node_is_gone_not_an_error() {
    let (client, server) = scripted(vec![
        patch("/api/v1/nodes/w9").fail(404, "NotFound", "nodes \"w9\" not found"),
        delete("/api/v1/nodes/w9").fail(404, "NotFound", "nodes \"w9\" not found"),
        delete("/api/v1/nodes/w1").reply(200, node("w1", "Unknown")),
        get("/api/v1/nodes/w9").fail(404, "NotFound", "nodes \"w9\" not found"),
        get("/api/v1/nodes/w1").reply(200, node("w1", "Unknown")),
        patch("/api/v1/nodes/w2").fail(403, "Forbidden", "nodes \"w2\" is forbidden"),
    ]);
    let w9 = NodeName::from("w9");
    assert_eq!(cordon(&client, &w9).await.unwrap(), Presence::Gone);
    assert_eq!(delete_node(&client, &w9).await.unwrap(), Presence::Gone);
    assert_eq!(
        delete_node(&client, &NodeName::from("w1")).await.unwrap(),
        Presence::Present
    );
    assert_eq!(
        node_readiness(&client, &w9).await.unwrap(),
        NodeReadiness::Gone
    );
    assert_eq!(
        node_readiness(&client, &NodeName::from("w1"))
            .await
            .unwrap(),
        NodeReadiness::Unknown
    );
    let err = cordon(&client, &NodeName::from("w2")).await.unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("cordon Node w2") && text.contains("403") && text.contains("RBAC"),
        "{text}"
    );
    finish(client, server).await;
}

// ---------------------------------------------------------------- drain

#[tokio::test(start_paused = true)]
async fn drain_retries_429s_then_evicts() {
    let mirror = json!({"metadata": {"name": "static-x", "namespace": NS,
        "annotations": {"kubernetes.io/config.mirror": "abc"}}, "spec": {"containers": []}});
    let (client, server) = scripted(vec![
        pdb_list(vec![pdb("echo-c", "c", 0), pdb("echo-a", "a", 1)]),
        cordon_of("w1"),
        pods_on(
            "w1",
            vec![
                pod("echo-c-1", echo_c()),
                daemonset_pod("ztunnel-1"),
                mirror,
                pod("echo-c-2", echo_c()),
            ],
        ),
        // round 0 at t=0
        refused_by("echo-c-1", "echo-c"),
        evicted("echo-c-2"),
        // round 1 at t=1s: no cause, found by selector
        refused_bare("echo-c-1"),
        // round 2 at t=3s
        evicted("echo-c-1"),
    ]);
    let started = tokio::time::Instant::now();
    let out = drain_nodes(&client, &[NodeName::from("w1")], &opts(60))
        .await
        .unwrap();
    finish(client, server).await;

    assert!(out.completed);
    assert_eq!(out.elapsed, Duration::from_secs(3));
    assert_eq!(started.elapsed(), Duration::from_secs(3));
    let evicted: Vec<(u64, &str)> = out
        .evicted
        .iter()
        .map(|e| (e.after.as_secs(), e.pod.name.as_str()))
        .collect();
    assert_eq!(evicted, vec![(0, "echo-c-2"), (3, "echo-c-1")]);
    assert_eq!(
        out.skipped,
        vec![
            (PodRef::new(NS, "ztunnel-1"), SkipReason::DaemonSet),
            (PodRef::new(NS, "static-x"), SkipReason::Mirror),
        ]
    );
    let refusals: Vec<(u64, &str, Option<&str>)> = out
        .refusals
        .iter()
        .map(|r| (r.after.as_secs(), r.pod.name.as_str(), r.pdb.as_deref()))
        .collect();
    assert_eq!(
        refusals,
        vec![
            (0, "echo-c-1", Some("echo-c")),
            (1, "echo-c-1", Some("echo-c")),
        ]
    );
    assert!(out.refusals.iter().all(|r| r.kind == RefusalKind::Budget));
    assert!(out.pods_left.is_empty());

    let events = out.events(SimTime(10_000));
    let timeline: Vec<(u64, &str)> = events
        .iter()
        .map(|e| (e.at.0, e.message.as_str()))
        .collect();
    assert_eq!(
        timeline,
        vec![
            (10_000, "cordoned w1"),
            (10_000, "pod echo-c-2 evicted"),
            (
                10_000,
                "eviction of echo-c-1 refused (429): PodDisruptionBudget echo-c allows no disruption"
            ),
            (
                11_000,
                "eviction of echo-c-1 refused (429): PodDisruptionBudget echo-c allows no disruption"
            ),
            (13_000, "pod echo-c-1 evicted"),
            (13_000, "drain completed: every pod evicted"),
        ]
    );

    let report = out.into_report(Zone::from("c"), SimTime(10_000));
    assert_eq!(report.finished, Some(true));
    assert_eq!(report.pods_left, 0);
    assert_eq!(report.evicted, vec!["echo-c-2", "echo-c-1"]);
    assert_eq!(
        report.refusals,
        vec![
            (
                SimTime(10_000),
                "echo-c-1".to_string(),
                Some("echo-c".to_string())
            ),
            (
                SimTime(11_000),
                "echo-c-1".to_string(),
                Some("echo-c".to_string())
            ),
        ]
    );
    assert_eq!(
        report.budgets_before.get("echo-c"),
        Some(&PdbStatus {
            expected_pods: 2,
            current_healthy: 2,
            desired_healthy: 2,
            disruptions_allowed: 0
        })
    );
    assert_eq!(report.budgets_before.len(), 2);
}

#[tokio::test(start_paused = true)]
async fn drain_blocked_by_a_pdb_gives_up_at_the_deadline() {
    // Zone c has two nodes; w2 vanishes (Spot) before it can be cordoned.
    let nodes = list("NodeList", vec![node("w1", "True"), node("w2", "Unknown")]);
    let mut script = vec![
        get("/api/v1/nodes")
            .query(&[(
                "labelSelector",
                "topology.kubernetes.io/zone=c,zonechaos.dev/pool!=load-clients,karpenter.sh/capacity-type=spot",
            )])
            .reply(200, nodes),
        pdb_list(vec![pdb("echo-c", "c", 0)]),
        cordon_of("w1"),
        patch("/api/v1/nodes/w2").fail(404, "NotFound", "nodes \"w2\" not found"),
        pods_on("w1", vec![pod("echo-c-1", echo_c())]),
        pods_on("w2", vec![]),
    ];
    // Rounds at t = 0, 1, 3, 7 s (backoff 1, 2, 4); the next (5 s later)
    // would pass the 10 s deadline.
    for _ in 0..4 {
        script.push(refused_by("echo-c-1", "echo-c"));
    }
    let (client, server) = scripted(script);
    let filter = NodeFilter::zone(Zone::from("c")).capacity("spot");
    let out = drain_zone(&client, &filter, &opts(10)).await.unwrap();
    finish(client, server).await;

    assert!(!out.completed);
    assert_eq!(out.cordoned, vec![NodeName::from("w1")]);
    assert_eq!(out.vanished, vec![NodeName::from("w2")]);
    assert_eq!(out.elapsed, Duration::from_secs(10));
    assert_eq!(out.pods_left, vec![PodRef::new(NS, "echo-c-1")]);
    assert!(out.evicted.is_empty());
    let times: Vec<u64> = out.refusals.iter().map(|r| r.after.as_secs()).collect();
    assert_eq!(times, vec![0, 1, 3, 7]);
    assert!(
        out.refusals
            .iter()
            .all(|r| r.pdb.as_deref() == Some("echo-c") && r.message == BUDGET_MSG)
    );
    let report = out.into_report(Zone::from("c"), SimTime(0));
    assert_eq!(report.finished, Some(false));
    assert_eq!(report.pods_left, 1);
    assert_eq!(report.refusals.len(), 4);
}

#[tokio::test(start_paused = true)]
async fn eviction_404_counts_and_multiple_pdbs_are_a_distinct_refusal() {
    let overlapping = json!({"metadata": {"name": "echo-all", "namespace": NS},
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app": "echo"}}}});
    let (client, server) = scripted(vec![
        pdb_list(vec![pdb("echo-c", "c", 1), overlapping]),
        cordon_of("w1"),
        pods_on(
            "w1",
            vec![pod("gone-1", echo_c()), pod("echo-c-2", echo_c())],
        ),
        eviction("gone-1").fail(404, "NotFound", "pods \"gone-1\" not found"),
        eviction("echo-c-2").fail(
            500,
            "InternalError",
            "Internal error occurred: This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.",
        ),
        // API priority and fairness throttling: retried, not a budget refusal.
        eviction("echo-c-2").fail(
            429,
            "TooManyRequests",
            "Too many requests, please try again later.",
        ),
        evicted("echo-c-2"),
    ]);
    let out = drain_nodes(&client, &[NodeName::from("w1")], &opts(30))
        .await
        .unwrap();
    finish(client, server).await;
    assert!(out.completed);
    let evicted: Vec<(&str, bool)> = out
        .evicted
        .iter()
        .map(|e| (e.pod.name.as_str(), e.already_gone))
        .collect();
    assert_eq!(evicted, vec![("gone-1", true), ("echo-c-2", false)]);
    let kinds: Vec<(u64, &RefusalKind, Option<&str>)> = out
        .refusals
        .iter()
        .map(|r| (r.after.as_secs(), &r.kind, r.pdb.as_deref()))
        .collect();
    // Two budgets cover the pod: none is named.
    assert_eq!(
        kinds,
        vec![
            (0, &RefusalKind::MultipleBudgets, None),
            (1, &RefusalKind::Throttled, None)
        ]
    );
    // A PDB without status reads as zeros.
    assert_eq!(out.budgets_before["echo-all"].disruptions_allowed, 0);
    let report = out.into_report(Zone::from("c"), SimTime(0));
    assert_eq!(
        report.refusals,
        vec![(SimTime(0), "echo-c-2".to_string(), None)]
    );
    assert_eq!(report.finished, Some(true));
}

#[tokio::test(start_paused = true)]
async fn drain_stops_on_an_unexpected_eviction_error() {
    let (client, server) = scripted(vec![
        pdb_list(vec![]),
        cordon_of("w1"),
        pods_on("w1", vec![pod("echo-c-1", echo_c())]),
        eviction("echo-c-1").fail(403, "Forbidden", "pods/eviction is forbidden"),
    ]);
    let err = drain_nodes(&client, &[NodeName::from("w1")], &opts(30))
        .await
        .unwrap_err();
    finish(client, server).await;
    let text = err.to_string();
    assert!(text.contains("evict Pod zc/echo-c-1"), "{text}");
    assert_eq!(err.code(), Some(403));
}

// ---------------------------------------------------------------- rollouts

const RO: &str = "/apis/argoproj.io/v1alpha1/namespaces/zc/rollouts/echo-c";

fn rollout(rv: &str, generation: i64, status: Value) -> Value {
    json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
           "metadata": {"name": "echo-c", "namespace": NS, "resourceVersion": rv, "generation": generation},
           "spec": {"replicas": 3, "template": {"spec": {"containers": [
               {"name": "echo", "image": "zonechaos:v1", "args": ["echo"]},
               {"name": "sidecar-helper", "image": "helper:1"}
           ]}}, "strategy": {"canary": {"steps": [{"setWeight": 20}, {"pause": {}}]}}},
           "status": status})
}

#[tokio::test]
async fn promote_abort_retry_send_the_semantics_patches_to_status() {
    let status_path = format!("{RO}/status");
    let ro = rollout("5", 2, json!({}));
    let (client, server) = scripted(vec![
        patch(&status_path)
            .content_type(MERGE)
            .body(json!({"status": {"pauseConditions": null}}))
            .reply(200, ro.clone()),
        patch(&status_path)
            .content_type(MERGE)
            .body(json!({"status": {"abort": true}}))
            .reply(200, ro.clone()),
        patch(&status_path)
            .content_type(MERGE)
            .body(json!({"status": {"abort": false}}))
            .fail(409, "Conflict", "the object has been modified"),
        patch(&status_path)
            .content_type(MERGE)
            .body(json!({"status": {"abort": false}}))
            .reply(200, ro),
        patch("/apis/argoproj.io/v1alpha1/namespaces/zc/rollouts/nope/status").fail(
            404,
            "NotFound",
            "rollouts.argoproj.io \"nope\" not found",
        ),
    ]);
    promote(&client, NS, "echo-c").await.unwrap();
    abort(&client, NS, "echo-c").await.unwrap();
    retry(&client, NS, "echo-c").await.unwrap();
    let err = promote(&client, NS, "nope").await.unwrap_err();
    finish(client, server).await;
    let text = err.to_string();
    assert!(
        text.contains("promote Rollout zc/nope") && text.contains("CRD installed"),
        "{text}"
    );
}

#[tokio::test]
async fn image_patch_is_retried_after_a_409() {
    let body_for = |rv: &str| {
        json!({"metadata": {"resourceVersion": rv},
        "spec": {"template": {"spec": {"containers": [
            {"name": "echo", "image": "zonechaos:v2", "args": ["echo"]},
            {"name": "sidecar-helper", "image": "helper:1"}
        ]}}}})
    };
    let (client, server) = scripted(vec![
        get(RO).reply(200, rollout("7", 2, json!({}))),
        patch(RO)
            .content_type(MERGE)
            .body(body_for("7"))
            .fail(409, "Conflict", "the object has been modified; please apply your changes to the latest version and try again"),
        get(RO).reply(200, rollout("8", 2, json!({}))),
        patch(RO)
            .content_type(MERGE)
            .body(body_for("8"))
            .reply(200, rollout("9", 3, json!({}))),
        get(RO).reply(200, rollout("9", 3, json!({}))),
    ]);
    set_image(&client, NS, "echo-c", "echo", "zonechaos:v2")
        .await
        .unwrap();
    let err = set_image(&client, NS, "echo-c", "missing", "x:1")
        .await
        .unwrap_err();
    finish(client, server).await;
    let text = err.to_string();
    assert!(
        text.contains("Rollout zc/echo-c")
            && text.contains("'missing'")
            && text.contains("echo, sidecar-helper"),
        "{text}"
    );
}

#[tokio::test]
async fn image_patch_gives_up_after_repeated_conflicts() {
    let mut script = Vec::new();
    for i in 0..5 {
        script.push(get(RO).reply(200, rollout(&i.to_string(), 2, json!({}))));
        script.push(patch(RO).fail(409, "Conflict", "modified"));
    }
    let (client, server) = scripted(script);
    let err = set_image(&client, NS, "echo-c", "echo", "zonechaos:v2")
        .await
        .unwrap_err();
    finish(client, server).await;
    assert!(
        matches!(err, ApiError::Conflict { attempts: 5, .. }),
        "{err}"
    );
}

#[tokio::test]
async fn rollout_status_is_read_back_and_trusted_only_when_observed() {
    let paused = json!({"phase": "Paused", "message": "CanaryPauseStep", "observedGeneration": "2",
        "currentStepIndex": 1, "stableRS": "6d4f", "currentPodHash": "7b9c", "abort": false,
        "pauseConditions": [{"reason": "CanaryPauseStep"}],
        "canary": {"weights": {"canary": {"weight": 20, "podTemplateHash": "7b9c"},
                               "stable": {"weight": 80, "podTemplateHash": "6d4f"}}}});
    let mut stale = paused.clone();
    stale["observedGeneration"] = json!("1");
    let (client, server) = scripted(vec![
        get(RO).reply(200, rollout("5", 2, paused)),
        get(RO).reply(200, rollout("6", 2, stale)),
    ]);
    let ro = read_rollout(&client, NS, "echo-c").await.unwrap();
    assert_eq!(ro.phase, PhaseReading::Observed(RolloutPhase::Paused));
    let st = ro.to_status().expect("trusted");
    assert_eq!(st.phase, RolloutPhase::Paused);
    assert_eq!(st.message, "CanaryPauseStep");
    assert_eq!(st.current_step_index, Some(1));
    assert_eq!((st.canary_weight, st.stable_weight), (20, 80));
    assert_eq!(st.stable_rs, "6d4f");
    assert_eq!(st.current_pod_hash, "7b9c");
    assert!(!st.abort);
    assert_eq!(st.observed_generation, "2");

    let ro = read_rollout(&client, NS, "echo-c").await.unwrap();
    finish(client, server).await;
    assert_eq!(
        ro.phase,
        PhaseReading::NotYetObserved {
            generation: Some(2),
            observed_generation: Some("1".into())
        }
    );
    assert!(ro.to_status().is_none());
    assert_eq!(ro.canary_weight, 20);
}

// ---------------------------------------------------------------- PDBs

#[tokio::test]
async fn pdb_statuses_are_read_back() {
    let (client, server) = scripted(vec![pdb_list(vec![
        pdb("echo-a", "a", 1),
        pdb("echo-c", "c", 0),
    ])]);
    let pdbs = read_pdb_statuses(&client, NS).await.unwrap();
    finish(client, server).await;
    let want: BTreeMap<String, PdbStatus> = [
        (
            "echo-a".to_string(),
            PdbStatus {
                expected_pods: 3,
                current_healthy: 3,
                desired_healthy: 2,
                disruptions_allowed: 1,
            },
        ),
        (
            "echo-c".to_string(),
            PdbStatus {
                expected_pods: 2,
                current_healthy: 2,
                desired_healthy: 2,
                disruptions_allowed: 0,
            },
        ),
    ]
    .into();
    assert_eq!(pdbs, want);
}

// ---------------------------------------------------------------- waits

#[tokio::test(start_paused = true)]
async fn a_readiness_wait_times_out_with_what_it_saw() {
    let unavailable = json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "istiod", "namespace": "istio-system"},
        "status": {"conditions": [{"type": "Available", "status": "False",
            "message": "Deployment does not have minimum availability."}]}});
    // Polls at t = 0..=5 s, then gives up.
    let script = (0..6)
        .map(|_| {
            get("/apis/apps/v1/namespaces/istio-system/deployments/istiod")
                .reply(200, unavailable.clone())
        })
        .collect();
    let (client, server) = scripted(script);
    let start = tokio::time::Instant::now();
    let opts = WaitOptions {
        interval: Duration::from_secs(1),
        timeout: Duration::from_secs(5),
    };
    let err = wait_deployment_available(&client, "istio-system", "istiod", opts)
        .await
        .unwrap_err();
    finish(client, server).await;
    assert_eq!(start.elapsed(), Duration::from_secs(5));
    match &err {
        ApiError::Timeout { what, waited, last } => {
            assert_eq!(what, "Deployment istio-system/istiod Available");
            assert_eq!(*waited, Duration::from_secs(5));
            assert_eq!(
                last,
                "Available=False (Deployment does not have minimum availability.)"
            );
        }
        other => panic!("expected a timeout, got {other}"),
    }
    assert!(err.to_string().contains("gave up waiting for Deployment"));
}

#[tokio::test(start_paused = true)]
async fn waits_for_a_node_to_vanish_and_a_rollout_to_be_observed_healthy() {
    let healthy = json!({"phase": "Healthy", "observedGeneration": "3"});
    let (client, server) = scripted(vec![
        get("/api/v1/nodes/w2").reply(200, node("w2", "Unknown")),
        // The API server hiccups: polled through.
        get("/api/v1/nodes/w2").fail(503, "ServiceUnavailable", "etcd leader changed"),
        get("/api/v1/nodes/w2").fail(404, "NotFound", "nodes \"w2\" not found"),
        // Healthy but of an older generation: not yet.
        get(RO).reply(200, rollout("1", 4, healthy.clone())),
        get(RO).reply(200, rollout("2", 3, healthy)),
        get("/api/v1/namespaces/zc/pods")
            .query(&[("labelSelector", "app=echo")])
            .reply(
                200,
                list(
                    "PodList",
                    vec![json!({"metadata": {"name": "p1"},
                    "status": {"conditions": [{"type": "Ready", "status": "True"}]}})],
                ),
            ),
    ]);
    let opts = WaitOptions {
        interval: Duration::from_millis(500),
        timeout: Duration::from_secs(30),
    };
    let start = tokio::time::Instant::now();
    wait_node_gone(&client, &NodeName::from("w2"), opts)
        .await
        .unwrap();
    assert_eq!(start.elapsed(), Duration::from_secs(1));
    wait_rollout_phase(&client, NS, "echo-c", RolloutPhase::Healthy, opts)
        .await
        .unwrap();
    assert_eq!(
        wait_pods_ready(&client, NS, "app=echo", 1, opts)
            .await
            .unwrap(),
        1
    );
    finish(client, server).await;
}

#[tokio::test(start_paused = true)]
async fn a_wait_forbidden_by_rbac_fails_at_once() {
    let (client, server) = scripted(vec![
        get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/rollouts.argoproj.io").fail(
            403,
            "Forbidden",
            "customresourcedefinitions.apiextensions.k8s.io \"rollouts.argoproj.io\" is forbidden",
        ),
    ]);
    let err = wait_crd_established(
        &client,
        "rollouts.argoproj.io",
        WaitOptions::timeout(Duration::from_secs(60)),
    )
    .await
    .unwrap_err();
    finish(client, server).await;
    let text = err.to_string();
    assert!(
        text.contains("wait for CustomResourceDefinition rollouts.argoproj.io Established")
            && text.contains("RBAC"),
        "{text}"
    );
}

// ---------------------------------------------------------------- port-forward

#[tokio::test]
async fn the_prometheus_pod_is_found_by_label_and_readiness() {
    let prom = |name: &str, ready: &str| {
        json!({"metadata": {"name": name, "namespace": "istio-system"},
               "status": {"conditions": [{"type": "Ready", "status": ready}]}})
    };
    let pods_of = || {
        get("/api/v1/namespaces/istio-system/pods").query(&[("labelSelector", PROMETHEUS_SELECTOR)])
    };
    let (client, server) = scripted(vec![
        pods_of().reply(
            200,
            list(
                "PodList",
                vec![
                    prom("prometheus-old", "False"),
                    prom("prometheus-new", "True"),
                ],
            ),
        ),
        pods_of().reply(200, list("PodList", vec![prom("prometheus-old", "False")])),
    ]);
    let name = find_pod(&client, "istio-system", PROMETHEUS_SELECTOR)
        .await
        .unwrap();
    assert_eq!(name, "prometheus-new");
    let err = find_pod(&client, "istio-system", PROMETHEUS_SELECTOR)
        .await
        .unwrap_err();
    finish(client, server).await;
    let text = err.to_string();
    assert!(text.contains("no Ready pod among 1"), "{text}");
}

// ---------------------------------------------------------------- apply

const MANIFEST: &str = "\
apiVersion: v1
kind: Namespace
metadata:
  name: zc
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: echo
spec:
  hosts: [echo]
  http:
    - route:
        - destination: {host: echo}
          weight: 100
";

#[tokio::test]
async fn server_side_apply_uses_the_field_manager_and_reports_webhook_denials() {
    let apply_q = [("fieldManager", "zonechaos"), ("force", "true")];
    let denial = "admission webhook \"validation.istio.io\" denied the request: configuration is invalid: total destination weight 90 != 100";
    let (client, server) = scripted(vec![
        patch("/api/v1/namespaces/zc")
            .query(&apply_q)
            .content_type("application/apply-patch+yaml")
            .body(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "zc"}}))
            .reply(
                200,
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "zc"}}),
            ),
        patch("/apis/networking.istio.io/v1/namespaces/zc/virtualservices/echo")
            .query(&apply_q)
            .content_type("application/apply-patch+yaml")
            .body_subset(json!({"kind": "VirtualService",
                "metadata": {"name": "echo", "namespace": "zc"},
                "spec": {"hosts": ["echo"]}}))
            .fail(400, "BadRequest", denial),
    ]);
    let file = Path::new("out/app.yaml");
    let report = apply_yaml(&client, MANIFEST, Some(file), &ApplyOptions::new(NS))
        .await
        .unwrap();
    finish(client, server).await;
    assert_eq!(report.applied, vec!["Namespace zc"]);
    assert_eq!(report.denied.len(), 1);
    let d = &report.denied[0];
    assert_eq!(d.object, "VirtualService zc/echo");
    assert_eq!(d.line, 6);
    assert_eq!(d.code, 400);
    assert_eq!(d.webhook.as_deref(), Some("validation.istio.io"));
    assert!(d.hint.contains("zonechaos lint"), "{}", d.hint);
    let f = d.to_finding();
    assert_eq!(f.rule.id, "ZC0900");
    assert_eq!(f.object.as_deref(), Some("VirtualService zc/echo"));
    assert_eq!(f.loc.to_string(), "out/app.yaml:6:1");
    assert!(f.message.contains("total destination weight 90"));
}

#[tokio::test]
async fn apply_refuses_a_kind_outside_the_table() {
    let (client, server) = scripted(vec![]);
    let err = apply_yaml(
        &client,
        "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n",
        None,
        &ApplyOptions::new(NS),
    )
    .await
    .unwrap_err();
    finish(client, server).await;
    let text = err.to_string();
    assert!(
        text.contains("Widget w") && text.contains("kind table"),
        "{text}"
    );
}

// ---------------------------------------------------------------- timing

/// kubeadm's controller-manager static pod carries the grace as a
/// `--node-monitor-grace-period=…` command flag (kubernetes
/// cmd/kubeadm/app/phases/controlplane/manifests.go); without the flag the
/// Kubernetes default holds; no such pod (managed control planes) means
/// unknown.
#[tokio::test]
async fn the_clusters_node_monitor_grace_is_read_from_the_controller_manager() {
    use zonechaos::backend::kube::api::timing::{ClusterGrace, read_cluster_grace};
    use zonechaos::model::SimDuration;
    let controller_manager = |command: Vec<&str>| {
        get("/api/v1/namespaces/kube-system/pods")
            .query(&[("labelSelector", "component=kube-controller-manager")])
            .reply(
                200,
                list(
                    "PodList",
                    vec![json!({"metadata": {"name": "kube-controller-manager-cp", "namespace": "kube-system"},
                        "spec": {"containers": [{"name": "kube-controller-manager", "command": command}]}})],
                ),
            )
    };
    let (client, server) = scripted(vec![
        controller_manager(vec![
            "kube-controller-manager",
            "--leader-elect=true",
            "--node-monitor-grace-period=35s",
        ]),
        controller_manager(vec!["kube-controller-manager", "--leader-elect=true"]),
        get("/api/v1/namespaces/kube-system/pods")
            .query(&[("labelSelector", "component=kube-controller-manager")])
            .reply(200, list("PodList", vec![])),
    ]);
    assert_eq!(
        read_cluster_grace(&client).await.unwrap(),
        ClusterGrace::Flag(SimDuration::secs(35))
    );
    assert_eq!(
        read_cluster_grace(&client).await.unwrap(),
        ClusterGrace::KubernetesDefault
    );
    assert_eq!(
        read_cluster_grace(&client).await.unwrap(),
        ClusterGrace::Unknown
    );
    finish(client, server).await;
}
