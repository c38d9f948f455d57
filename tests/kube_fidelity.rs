//! The kind comparison of the model with real istiod (issue 12 item 3),
//! up to the cluster boundary: the command that reads each load client's
//! sidecar, and what the comparison reports for a sidecar that agrees,
//! one that differs, and one that cannot be read.
//!
//! The fake sidecar answers what `pilot-agent request GET
//! config_dump?include_eds` prints: Envoy's admin config dump
//! (envoy/admin/v3 config_dump_shared.proto), with clusters named as istiod
//! names them (pilot/pkg/model/service.go BuildSubsetKey) after the
//! topology is rendered into the harness namespace. Its contents are the
//! local backend's generated configuration, which real Envoy loads and
//! dumps back identically (tests/envoy_config.rs).

use std::net::SocketAddr;
use std::path::PathBuf;

use serde_json::Value;
use zonechaos::backend::kube::cluster::{Output, RecordingRunner};
use zonechaos::backend::kube::diagnostics::ClusterAccess;
use zonechaos::backend::kube::fidelity::{check, model_proxies};
use zonechaos::backend::local::envoy::proxy_config;
use zonechaos::mesh::proxy::Client;
use zonechaos::mesh::proxy_config::fidelity_text as render;
use zonechaos::model::World;
use zonechaos::model::pod::PodId;
use zonechaos::suite::{Suite, load_suite};

const NAMESPACE: &str = "zonechaos-test";

fn suite() -> Suite {
    load_suite(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("suites/zone-c-spot-loss.yaml"))
        .unwrap()
}

fn access() -> ClusterAccess {
    ClusterAccess::Kubeconfig(PathBuf::from("/cache/zonechaos-three-zones.kubeconfig"))
}

/// What a zone's sidecar would dump: the generated configuration, its
/// hosts in the harness namespace.
fn sidecar_dump(suite: &Suite, zone: &str) -> Value {
    let world = World::new(&suite.topology, &suite.profile, suite.timing);
    let client = Client::new(&world, &zone.into(), "default", 50.0);
    let target = world.mesh.service("default", "test").unwrap();
    let addr = |p: PodId| SocketAddr::from(([10, 244, 0, p.0 as u8], 8080));
    let cfg = proxy_config(
        &world,
        &client,
        target,
        &addr,
        "127.0.0.1:15001".parse().unwrap(),
        "127.0.0.1:15000".parse().unwrap(),
    );
    let text = serde_json::to_string(&cfg.as_config_dump())
        .unwrap()
        .replace(
            ".default.svc.cluster.local",
            &format!(".{NAMESPACE}.svc.cluster.local"),
        );
    serde_json::from_str(&text).unwrap()
}

fn exec_line(workload: &str) -> String {
    format!(
        "kubectl -n {NAMESPACE} exec deploy/{workload} -c istio-proxy -- pilot-agent request GET 'config_dump?include_eds' --kubeconfig /cache/zonechaos-three-zones.kubeconfig"
    )
}

#[test]
fn every_load_client_agrees_when_its_sidecar_has_what_the_model_says() {
    let suite = suite();
    let mut runner = RecordingRunner::new();
    for (zone, short) in [
        ("us-east-1a", "a"),
        ("us-east-1b", "b"),
        ("us-east-1c", "c"),
    ] {
        let dump = sidecar_dump(&suite, zone);
        runner = runner.answer(
            &exec_line(&format!("loadgen-test-{short}")),
            Output::ok(&dump.to_string()),
        );
    }
    let proxies = model_proxies(&suite, NAMESPACE);
    assert_eq!(proxies.len(), 3);
    assert!(
        proxies[0].clusters[0]
            .name
            .ends_with("|test.zonechaos-test.svc.cluster.local"),
        "{}",
        proxies[0].clusters[0].name
    );
    let results = check(&runner, &access(), NAMESPACE, &suite, &proxies);
    assert!(results.iter().all(|r| r.agrees()), "{}", render(&results));
    assert_eq!(
        runner.calls(),
        ["a", "b", "c"].map(|s| exec_line(&format!("loadgen-test-{s}")))
    );
    insta::assert_snapshot!(render(&results), @r"
    us-east-1a (loadgen-test-a): agrees with the model
    us-east-1b (loadgen-test-b): agrees with the model
    us-east-1c (loadgen-test-c): agrees with the model
    ");
}

#[test]
fn a_sidecar_that_differs_is_reported_by_cluster_locality_and_priority() {
    let suite = suite();
    // Zone c's sidecar has zone b's endpoints one priority lower than the
    // model says (as a failoverPriority list the model misread would).
    let mut dump = sidecar_dump(&suite, "us-east-1c");
    for cfg in dump["configs"].as_array_mut().unwrap() {
        for e in cfg["dynamic_endpoint_configs"]
            .as_array_mut()
            .into_iter()
            .flatten()
        {
            for l in e["endpoint_config"]["endpoints"].as_array_mut().unwrap() {
                if l["locality"]["zone"] == "us-east-1b" {
                    l["priority"] = 2.into();
                }
            }
        }
    }
    let runner = RecordingRunner::new()
        .answer(&exec_line("loadgen-test-c"), Output::ok(&dump.to_string()))
        .answer(
            &exec_line("loadgen-test-a"),
            Output::failed(1, "error: container istio-proxy not found in pod"),
        );
    let proxies = model_proxies(&suite, NAMESPACE);
    let results = check(&runner, &access(), NAMESPACE, &suite, &proxies);
    let c = results
        .iter()
        .find(|r| r.workload == "loadgen-test-c")
        .unwrap();
    let lines: Vec<String> = c.differences.iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        [
            "outbound|8080||test.zonechaos-test.svc.cluster.local us-east-1/us-east-1b/ priority 1: endpoints: model 3, real 0",
            "outbound|8080||test.zonechaos-test.svc.cluster.local us-east-1/us-east-1b/ priority 2: endpoints: model 0, real 3",
        ]
    );
    let a = results
        .iter()
        .find(|r| r.workload == "loadgen-test-a")
        .unwrap();
    let error = a.error.as_deref().unwrap();
    assert!(error.contains("container istio-proxy not found"), "{error}");
    assert!(!a.agrees());
    // Zone b's fake answers nothing: no JSON, said so.
    let b = results
        .iter()
        .find(|r| r.workload == "loadgen-test-b")
        .unwrap();
    assert!(
        b.error
            .as_deref()
            .unwrap()
            .contains("printed no JSON config dump"),
        "{b:?}"
    );
}
