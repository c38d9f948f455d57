//! The kube API layer against a real API server: k3s in a container
//! (testcontainers' k3s module), where a Docker engine answers (the
//! nightly workflow, a laptop). Eviction against a real
//! PodDisruptionBudget (the 429 the disruption controller's status causes),
//! cordon and uncordon, server-side apply twice (idempotent), label
//! selectors as the API server reads them, readiness waits on real pods,
//! and Rollout `/status` patches against the pinned Argo Rollouts CRD.
//!
//! Without an engine each test is listed as ignored (nextest reports it
//! skipped, never passed); `ZONECHAOS_REQUIRE_DOCKER=1` makes that a
//! failure instead. The scripted and fake servers (tests/kube_api.rs,
//! tests/kube_fake_cluster.rs) encode the same behaviour from upstream's
//! source; this checks it against upstream's binaries.

#[path = "common/real.rs"]
mod real;

use std::time::Duration;

use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use real::Need;
use serde_json::json;
use testcontainers_modules::k3s::{K3s, KUBE_SECURE_PORT};
use testcontainers_modules::testcontainers::runners::AsyncRunner;
use testcontainers_modules::testcontainers::{ContainerAsync, ImageExt};
use zonechaos::backend::kube::api::drain::{DrainOptions, RefusalKind, drain_nodes};
use zonechaos::backend::kube::api::rollouts::rollout_resource;
use zonechaos::backend::kube::api::wait::{WaitOptions, wait_crd_established, wait_pods_ready};
use zonechaos::backend::kube::api::{
    ApplyOptions, Clients, NodeFilter, NodeName, abort, apply_yaml, clients_for, list_nodes,
    promote, uncordon,
};
use zonechaos::zone::Zone;

/// k3s of the Kubernetes minor the kind node image pins (v1.34).
const K3S_TAG: &str = "v1.34.1-k3s1";
const NS: &str = "zc-k3s";
const ZONE: &str = "us-east-1c";

fn main() {
    let docker = [Need::DockerEngine];
    real::run(vec![
        real::test(
            "eviction_cordon_apply_and_waits_against_k3s",
            &docker,
            eviction_cordon_apply_and_waits,
        ),
        real::test(
            "rollout_status_patches_against_k3s",
            &[Need::DockerEngine, Need::ArgoRolloutCrd],
            rollout_status_patches,
        ),
    ]);
}

/// A started k3s and the harness's two clients for it (built from its
/// kubeconfig, so kube-rs's whole client stack is in play).
async fn k3s(conf: &std::path::Path) -> (ContainerAsync<K3s>, Clients) {
    let container = K3s::default()
        .with_conf_mount(conf)
        .with_tag(K3S_TAG)
        .with_privileged(true)
        .with_userns_mode("host")
        .start()
        .await
        .expect("k3s starts (is the Docker engine able to run privileged containers?)");
    let port = container
        .get_host_port_ipv4(KUBE_SECURE_PORT)
        .await
        .expect("API port");
    let yaml = container
        .image()
        .read_kube_config()
        .expect("k3s kubeconfig");
    let mut kubeconfig = kube::config::Kubeconfig::from_yaml(&yaml).expect("kubeconfig parses");
    for cluster in &mut kubeconfig.clusters {
        if let Some(c) = cluster.cluster.as_mut() {
            c.server = Some(format!("https://127.0.0.1:{port}"));
        }
    }
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .expect("config");
    (container, clients_for(config).expect("clients"))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// The one k3s node, labelled into zone c (kind gives its nodes the label
/// at creation; k3s does not).
async fn zone_node(clients: &Clients) -> NodeName {
    let nodes: Api<Node> = Api::all(clients.api.clone());
    let node = nodes.list(&Default::default()).await.expect("nodes").items[0]
        .metadata
        .name
        .clone()
        .expect("node name");
    let label = json!({"metadata": {"labels": {"topology.kubernetes.io/zone": ZONE}}});
    nodes
        .patch(&node, &PatchParams::default(), &Patch::Merge(&label))
        .await
        .expect("label the node");
    NodeName(node)
}

const WORKLOAD: &str = r#"
apiVersion: v1
kind: Namespace
metadata: {name: zc-k3s}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: test-c, namespace: zc-k3s}
spec:
  replicas: 3
  selector: {matchLabels: {app: test, zone: c}}
  template:
    metadata: {labels: {app: test, zone: c}}
    spec:
      terminationGracePeriodSeconds: 0
      containers:
      - {name: pause, image: "registry.k8s.io/pause:3.10"}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: test-c-pdb, namespace: zc-k3s}
spec:
  minAvailable: 2
  selector: {matchLabels: {app: test, zone: c}}
"#;

fn eviction_cordon_apply_and_waits() {
    let conf = tempfile::tempdir().expect("tempdir");
    runtime().block_on(async {
        let (_k3s, clients) = k3s(conf.path()).await;
        let node = zone_node(&clients).await;

        // The selector the backend sends (zone, not a load-client node) as
        // the real API server reads it.
        let listed = list_nodes(&clients.api, &NodeFilter::zone(Zone::from(ZONE)))
            .await
            .expect("list");
        assert_eq!(listed.iter().map(|n| &n.name).collect::<Vec<_>>(), [&node]);

        // Server-side apply, twice: the second is a no-op, not a conflict.
        let opts = ApplyOptions::new(NS);
        for _ in 0..2 {
            let report = apply_yaml(&clients.api, WORKLOAD, None, &opts)
                .await
                .expect("apply");
            assert!(report.denied.is_empty(), "{:?}", report.denied);
            assert_eq!(report.applied.len(), 3, "{:?}", report.applied);
        }
        let ready = wait_pods_ready(
            &clients.api,
            NS,
            "app=test",
            3,
            WaitOptions::timeout(Duration::from_secs(240)),
        )
        .await
        .expect("three Ready pods (the pause image pulls)");
        assert!(ready >= 3);

        // minAvailable 2 of 3 allows one eviction; its replacement cannot
        // schedule on the cordoned node, so every later eviction is refused
        // with 429 (eviction.go) until the drain gives up.
        let drain = DrainOptions::namespace(NS, Duration::from_secs(20));
        let outcome = drain_nodes(&clients.evictions, std::slice::from_ref(&node), &drain)
            .await
            .expect("drain");
        assert_eq!(outcome.cordoned, std::slice::from_ref(&node));
        assert_eq!(outcome.evicted.len(), 1, "{outcome:?}");
        assert!(!outcome.completed, "{outcome:?}");
        assert_eq!(outcome.pods_left.len(), 2, "{outcome:?}");
        assert!(!outcome.refusals.is_empty());
        for r in &outcome.refusals {
            assert_eq!(r.kind, RefusalKind::Budget, "{r:?}");
            assert_eq!(r.pdb.as_deref(), Some("test-c-pdb"), "{r:?}");
        }
        let budget = &outcome.budgets_before["test-c-pdb"];
        assert_eq!(
            (
                budget.current_healthy,
                budget.desired_healthy,
                budget.disruptions_allowed
            ),
            (3, 2, 1)
        );

        // Uncordon: the node is schedulable and the replacement runs.
        uncordon(&clients.api, &node).await.expect("uncordon");
        let nodes: Api<Node> = Api::all(clients.api.clone());
        let n = nodes.get(&node.0).await.expect("node");
        assert!(!n.spec.and_then(|s| s.unschedulable).unwrap_or(false));
        wait_pods_ready(
            &clients.api,
            NS,
            "app=test",
            3,
            WaitOptions::timeout(Duration::from_secs(120)),
        )
        .await
        .expect("the replacement runs after the uncordon");
    });
}

const ROLLOUT: &str = r#"
apiVersion: v1
kind: Namespace
metadata: {name: zc-k3s}
---
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: test-c, namespace: zc-k3s}
spec:
  replicas: 1
  selector: {matchLabels: {app: test}}
  template:
    metadata: {labels: {app: test}}
    spec:
      containers:
      - {name: pause, image: "registry.k8s.io/pause:3.10"}
  strategy:
    canary:
      steps:
      - setWeight: 20
      - pause: {}
"#;

/// Promote and abort are merge patches on the `/status` subresource: with
/// no controller running, what the API server stores is exactly what the
/// patches wrote.
fn rollout_status_patches() {
    let crd = std::fs::read_to_string(real::argo_rollout_crd().expect("checked by the need"))
        .expect("CRD");
    let conf = tempfile::tempdir().expect("tempdir");
    runtime().block_on(async {
        let (_k3s, clients) = k3s(conf.path()).await;
        let opts = ApplyOptions::new(NS);
        apply_yaml(&clients.api, &crd, None, &opts)
            .await
            .expect("apply the CRD");
        wait_crd_established(
            &clients.api,
            "rollouts.argoproj.io",
            WaitOptions::timeout(Duration::from_secs(60)),
        )
        .await
        .expect("CRD established");
        let report = apply_yaml(&clients.api, ROLLOUT, None, &opts)
            .await
            .expect("apply the Rollout");
        assert!(report.denied.is_empty(), "{:?}", report.denied);

        let rollouts: Api<DynamicObject> =
            Api::namespaced_with(clients.api.clone(), NS, &rollout_resource());
        let paused = json!({"status": {"pauseConditions": [
            {"reason": "CanaryPauseStep", "startTime": "2026-01-01T00:00:00Z"}]}});
        rollouts
            .patch_status("test-c", &PatchParams::default(), &Patch::Merge(&paused))
            .await
            .expect("set a pause as the controller would");

        promote(&clients.api, NS, "test-c").await.expect("promote");
        let status = rollouts.get_status("test-c").await.expect("read").data["status"].clone();
        assert!(status.get("pauseConditions").is_none(), "{status}");

        abort(&clients.api, NS, "test-c").await.expect("abort");
        let status = rollouts.get_status("test-c").await.expect("read").data["status"].clone();
        assert_eq!(status["abort"], json!(true), "{status}");
        // The spec is untouched by status patches.
        let spec = rollouts.get("test-c").await.expect("read").data["spec"].clone();
        assert_eq!(spec["replicas"], json!(1));
    });
}
