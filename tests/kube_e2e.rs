//! The real end-to-end runs: every suite on a kind cluster with Istio, Argo
//! Rollouts and Prometheus, through the `zonechaos` binary exactly as a
//! user runs it. They need Docker, kind, kubectl and istioctl and take
//! minutes, so they are ignored by default and run with
//! `ZONECHAOS_E2E=1 make test-e2e` (nextest profile `e2e`, one at a time,
//! sharing one cluster that the first test creates and the last leaves for
//! `zonechaos cluster down`).
//!
//! Run explicitly without `ZONECHAOS_E2E=1` they fail, saying so: an
//! end-to-end test that silently passes without a cluster proves nothing.

use std::path::Path;

#[path = "common/output.rs"]
mod output;

fn opted_in() {
    assert!(
        std::env::var("ZONECHAOS_E2E").is_ok_and(|v| v == "1"),
        "end-to-end tests need Docker and kind: run them with ZONECHAOS_E2E=1 make test-e2e"
    );
}

/// `--small` when `ZONECHAOS_E2E_SMALL=1`: the nightly job runs these on
/// the small cluster `make conformance` left (`CONFORMANCE_FLAGS`), so one
/// cluster serves both.
fn size_flags() -> &'static [&'static str] {
    if std::env::var("ZONECHAOS_E2E_SMALL").is_ok_and(|v| v == "1") {
        &["--small"]
    } else {
        &[]
    }
}

fn zonechaos(args: &[&str]) -> (i32, String) {
    let (code, stdout, stderr) =
        output::run(output::zonechaos_command().args(args).args(size_flags()));
    (code, format!("{stdout}{stderr}"))
}

fn run_suite(name: &str) {
    opted_in();
    let suite = Path::new("suites").join(format!("{name}.yaml"));
    let (code, text) = zonechaos(&[
        "run",
        suite.to_str().expect("utf-8 path"),
        "--backend",
        "kind",
        "--reuse",
        "--report-dir",
        "reports/e2e",
    ]);
    assert_eq!(code, 0, "suite {name} on kind:\n{text}");
    assert!(text.contains("backend   kind"), "{text}");
}

#[test]
#[ignore = "needs Docker and kind: ZONECHAOS_E2E=1 make test-e2e"]
fn e2e_cluster_up_is_idempotent() {
    opted_in();
    for _ in 0..2 {
        let (code, text) = zonechaos(&["cluster", "up", "--reuse"]);
        assert_eq!(code, 0, "{text}");
    }
    let (code, text) = zonechaos(&["cluster", "status"]);
    assert_eq!(code, 0, "{text}");
}

#[test]
#[ignore = "needs Docker and kind: ZONECHAOS_E2E=1 make test-e2e"]
fn e2e_zone_c_spot_loss() {
    run_suite("zone-c-spot-loss");
}

#[test]
#[ignore = "needs Docker and kind: ZONECHAOS_E2E=1 make test-e2e"]
fn e2e_zone_c_drain() {
    run_suite("zone-c-drain");
}

#[test]
#[ignore = "needs Docker and kind: ZONECHAOS_E2E=1 make test-e2e"]
fn e2e_canary_zone_isolation() {
    run_suite("canary-zone-isolation");
}

#[test]
#[ignore = "needs Docker and kind: ZONECHAOS_E2E=1 make test-e2e"]
fn e2e_zone_c_spot_loss_pinned() {
    run_suite("zone-c-spot-loss-pinned");
}
