//! `zonechaos proxy-config` end to end: what each client zone's proxy gets
//! on a static topology and part-way through a suite on sim, and clear
//! errors for bad input.

use serde_json::Value;

#[path = "common/output.rs"]
mod output;
use output::{run, zonechaos_command};

fn proxy_config(args: &[&str]) -> (i32, String, String) {
    run(zonechaos_command().arg("proxy-config").args(args))
}

fn json(args: &[&str]) -> Vec<Value> {
    let mut all = args.to_vec();
    all.extend(["--format", "json"]);
    let (code, out, err) = proxy_config(&all);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).expect("JSON list of proxies")
}

/// (priority, zone, ejected, answers) of every endpoint of the first cluster.
fn endpoints(proxy: &Value) -> Vec<(u64, String, bool, bool)> {
    proxy["clusters"][0]["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["priority"].as_u64().unwrap(),
                e["locality"]["zone"].as_str().unwrap().to_owned(),
                e["ejected"].as_bool().unwrap(),
                e["answers"].as_bool().unwrap(),
            )
        })
        .collect()
}

#[test]
fn every_section_of_a_zone_c_proxy_on_the_failover_topology() {
    let (code, out, err) = proxy_config(&[
        "all",
        "suites/topologies/zone-failover.yaml",
        "--client-zone",
        "c",
    ]);
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!(out);
}

#[test]
fn one_proxy_per_profile_zone_without_client_zone() {
    let proxies = json(&["endpoints", "suites/topologies/zone-failover.yaml"]);
    let zones: Vec<&str> = proxies
        .iter()
        .map(|p| p["client_zone"].as_str().unwrap())
        .collect();
    assert_eq!(zones, ["us-east-1a", "us-east-1b", "us-east-1c"]);
    // Each proxy's own zone is its priority 0 (locality failover).
    for p in &proxies {
        let own = p["client_zone"].as_str().unwrap();
        for (priority, zone, ..) in endpoints(p) {
            assert_eq!(priority == 0, zone == own, "{p}");
        }
    }
}

#[test]
fn after_a_spot_loss_the_lost_zone_is_ejected_and_silent() {
    // zone-c-spot-loss: step 4 loses zone c (refused connects), step 5
    // waits for its clients to fail over.
    let before = json(&[
        "endpoints",
        "--suite",
        "suites/zone-c-spot-loss.yaml",
        "--after-step",
        "3",
        "--client-zone",
        "c",
    ]);
    assert!(
        endpoints(&before[0])
            .iter()
            .all(|(_, _, ejected, answers)| !ejected && *answers),
        "{before:?}"
    );
    let after = json(&[
        "endpoints",
        "--suite",
        "suites/zone-c-spot-loss.yaml",
        "--after-step",
        "5",
        "--client-zone",
        "c",
    ]);
    let eps = endpoints(&after[0]);
    let lost: Vec<_> = eps.iter().filter(|e| e.1 == "us-east-1c").collect();
    assert_eq!(lost.len(), 3, "{eps:?}");
    assert!(
        lost.iter()
            .all(|(p, _, ejected, answers)| *p == 0 && *ejected && !answers)
    );
    assert!(
        eps.iter()
            .filter(|e| e.1 != "us-east-1c")
            .all(|(p, _, ejected, answers)| *p == 1 && !ejected && *answers),
        "{eps:?}"
    );
}

#[test]
fn a_canary_step_shows_as_a_weighted_route() {
    let route = |step: &str| {
        json(&[
            "routes",
            "--suite",
            "suites/canary-zone-isolation.yaml",
            "--after-step",
            step,
            "--client-zone",
            "c",
        ])[0]["route"]
            .clone()
    };
    let weights = |route: &Value| -> Vec<(String, u64)> {
        assert_eq!(route["action"]["kind"], "weighted", "{route}");
        route["action"]["clusters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                let subset = c["name"].as_str().unwrap().split('|').nth(2).unwrap();
                (subset.to_owned(), c["weight"].as_u64().unwrap())
            })
            .collect()
    };
    // Before the canary: stable 100, canary 0; istiod drops the zero
    // weight from weighted_clusters (route.go processWeightedDestination).
    assert_eq!(weights(&route("2")), [("stable-c".to_owned(), 100)]);
    // After `canary` and 20 s: Argo's first step, 90/10.
    assert_eq!(
        weights(&route("4")),
        [("stable-c".to_owned(), 90), ("canary-c".to_owned(), 10)]
    );
}

#[test]
fn bad_input_names_what_to_do() {
    let cases: [(&[&str], &str); 5] = [
        (
            &[
                "routes",
                "--suite",
                "suites/zone-c-spot-loss.yaml",
                "--after-step",
                "99",
            ],
            "--after-step 99: suites/zone-c-spot-loss.yaml has 11 steps",
        ),
        (
            &[
                "routes",
                "suites/topologies/zone-pinned.yaml",
                "--client-zone",
                "q",
            ],
            "'q' is not a zone of profile three-zones",
        ),
        (
            &[
                "routes",
                "suites/topologies/zone-pinned.yaml",
                "--service",
                "default/nope",
            ],
            "no Service default/nope in the topology",
        ),
        (&["routes", "no-such-dir/x.yaml"], "no-such-dir/x.yaml"),
        (&["routes"], "required"),
    ];
    for (args, message) in cases {
        let (code, out, err) = proxy_config(args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(out.is_empty(), "{args:?}: {out}");
        assert!(err.contains(message), "{args:?}: {err}");
    }
}

#[test]
fn compare_needs_a_cluster_and_says_when_it_cannot_read_a_proxy() {
    let suite = [
        "routes",
        "--suite",
        "suites/zone-c-spot-loss.yaml",
        "--compare",
    ];
    let (code, _, err) = proxy_config(&[&suite[..], &["--namespace", "zc"]].concat());
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("--compare needs --kubeconfig or --context"),
        "{err}"
    );
    // No kubectl on PATH: every client is reported, the run exits 3.
    let empty = tempfile::tempdir().unwrap();
    let (code, out, err) = run(zonechaos_command()
        .env("PATH", empty.path())
        .arg("proxy-config")
        .args(suite)
        .args([
            "--namespace",
            "zc",
            "--kubeconfig",
            "/nonexistent/kubeconfig",
        ]));
    assert_eq!(code, 3, "{out}{err}");
    assert_eq!(out.lines().count(), 3, "{out}");
    for short in ["a", "b", "c"] {
        assert!(
            out.contains(&format!("(loadgen-test-{short}): not compared: cannot run `kubectl -n zc exec deploy/loadgen-test-{short} -c istio-proxy")),
            "{out}"
        );
    }
}
