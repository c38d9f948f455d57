//! `zonechaos lint` on the project's fixtures of the source design
//! (`suites/fixtures/source-design/`): every defect of SEMANTICS.md §6 is
//! reported, with file:line and a hint, in text (snapshot), JSON and SARIF.
//! With the pinned CRDs (`../shared/crds`, tests only) schema conformance is
//! checked too; without them these tests are skipped, not passed.

use std::path::Path;

use zonechaos::lint::output::{Format, render};
use zonechaos::lint::schema::CrdSchemas;
use zonechaos::lint::{LintOptions, LintReport, Severity, lint};
use zonechaos::profile::ClusterProfile;
use zonechaos::topology::load_paths;

/// Lints a fixture the way `zonechaos lint FIXTURE --crds ../shared/crds`
/// does (or without `--crds` when `with_crds` is false), with the path
/// relative to the repository so snapshots are stable.
fn lint_fixture(name: &str, with_crds: bool) -> LintReport {
    std::env::set_current_dir(env!("CARGO_MANIFEST_DIR")).expect("cd to the repository");
    let path = Path::new("suites/fixtures/source-design").join(name);
    let loaded = load_paths(&[path]).expect("fixture readable");
    let schemas = with_crds.then(|| {
        CrdSchemas::load(Path::new(env!("ZONECHAOS_SHARED_CRDS_DIR"))).expect("CRDs load")
    });
    lint(
        loaded,
        &ClusterProfile::builtin(),
        schemas.as_ref(),
        &LintOptions::default(),
    )
}

/// The semantic rules need no CRDs: these tests run on every machine.
fn lint_seed(name: &str) -> LintReport {
    lint_fixture(name, false)
}

fn ids(r: &LintReport) -> Vec<&'static str> {
    r.findings.iter().map(|f| f.rule.id).collect()
}

#[test]
fn zone_aware_topology_reports_defects_1_to_7() {
    let r = lint_seed("zone-aware-topology.yaml");
    let got = ids(&r);
    // defect: rule
    for (defect, id) in [
        ("1 distribute with failover", "ZC1001"),
        ("2 failover names zones", "ZC1002"),
        ("3 consecutiveErrors ignored", "ZC1012"),
        ("4 distribute keeps only the own zone", "ZC1010"),
        ("5 one DestinationRule shared by three Rollouts", "ZC2004"),
        ("6 zone-pinned subsets cannot fail over", "ZC3001"),
        ("7 no catch-all route", "ZC3002"),
    ] {
        assert!(
            got.contains(&id),
            "defect {defect} ({id}) not reported: {got:?}"
        );
    }
    assert!(
        r.findings
            .iter()
            .all(|f| f.loc.pos.line > 0 && !f.hint.is_empty())
    );
}

#[test]
#[cfg_attr(
    not(zonechaos_shared_crds),
    ignore = "needs the pinned CRDs in ../shared/crds"
)]
fn zone_aware_topology_text_with_crds() {
    let r = lint_fixture("zone-aware-topology.yaml", true);
    insta::assert_snapshot!("zone_aware_topology_text", render(&r, Format::Text));
}

#[test]
#[cfg_attr(
    not(zonechaos_shared_crds),
    ignore = "needs the pinned CRDs in ../shared/crds"
)]
fn zone_aware_topology_json_and_sarif_carry_every_finding() {
    let r = lint_fixture("zone-aware-topology.yaml", true);
    let json: serde_json::Value = serde_json::from_str(&render(&r, Format::Json)).expect("JSON");
    assert_eq!(
        json["findings"].as_array().map(Vec::len),
        Some(r.findings.len())
    );
    assert!(
        json["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["rule"] == "ZC1001" && f["line"] == 210)
    );
    let sarif: serde_json::Value = serde_json::from_str(&render(&r, Format::Sarif)).expect("SARIF");
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), r.findings.len());
    let failover = results.iter().find(|f| f["ruleId"] == "ZC3001").unwrap();
    assert_eq!(failover["level"], "error");
    assert_eq!(
        failover["locations"][0]["physicalLocation"]["region"]["startLine"],
        153
    );
}

#[test]
fn shared_route_reports_defect_8() {
    let r = lint_seed("zone-aware-shared-route.yaml");
    let shared: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.rule.id == "ZC2003")
        .collect();
    assert_eq!(
        shared.len(),
        2,
        "test-b and test-c share test-a's route: {:?}",
        ids(&r)
    );
    assert!(
        shared
            .iter()
            .any(|f| f.message.contains("Rollout default/test-b"))
    );
    assert!(ids(&r).contains(&"ZC2004"));
}

#[test]
fn basic_istio_canary_has_no_error() {
    let r = lint_seed("basic-istio-canary.yaml");
    assert_eq!(r.count(Severity::Error), 0, "{:#?}", r.findings);
    assert!(!r.fails(Severity::Error));
}

#[test]
fn every_fixture_lints_without_bad_input() {
    for name in [
        "api-server-blue-green.yaml",
        "api-server-canary-analysis.yaml",
        "basic-istio-canary.yaml",
        "catalog-flagger.yaml",
        "zone-aware-alerts.yaml",
        "zone-aware-shared-route.yaml",
        "zone-aware-topology.yaml",
    ] {
        let r = lint_seed(name);
        assert!(!r.bad_input, "{name}");
        assert!(r.objects > 0, "{name}");
    }
}
