//! Every error the suite loader can give, as a table: each bad suite names
//! the line and column of the problem, says what is wrong and how to fix
//! it. The whole table is one snapshot, so a changed message shows as a
//! diff; each row also checks its own line, so a wrong position fails even
//! when the snapshot is accepted carelessly.

use std::fmt::Write;
use std::path::Path;

use zonechaos::suite::load_suite_str;

/// A valid suite on the zone-pinned reference topology; rows replace one
/// line of it (`{STEP}` is the step under test).
const BASE: &str = "\
name: t
topology: [topologies/zone-pinned.yaml]
load: {service: test, namespace: default, rps: 50}
steps:
  - {STEP}
";

/// (row name, whole suite text or a step for BASE, line of the error).
const ROWS: &[(&str, &str, u32)] = &[
    ("yaml syntax", "name: t\nsteps: [\n", 2),
    ("two documents", "name: a\n---\nname: b\n", 0),
    ("not a mapping", "- wait: 30s\n", 1),
    (
        "missing name",
        "topology: [x]\nload: {service: test, rps: 1}\nsteps: []\n",
        1,
    ),
    (
        "unknown top-level key",
        "name: t\ntopolgy: [topologies/zone-pinned.yaml]\n",
        2,
    ),
    (
        "topology path missing",
        "name: t\ntopology: [topologies/nope.yaml]\nload: {service: test, rps: 1}\nsteps: [{wait: 1s}]\n",
        2,
    ),
    (
        "profile unreadable",
        "name: t\ntopology: [topologies/zone-pinned.yaml]\nprofile: nope.yaml\nload: {service: test, rps: 1}\nsteps: [{wait: 1s}]\n",
        3,
    ),
    (
        "service not in topology",
        "name: t\ntopology: [topologies/zone-pinned.yaml]\nload: {service: other, rps: 1}\nsteps: [{wait: 1s}]\n",
        3,
    ),
    (
        "rps zero",
        "name: t\ntopology: [topologies/zone-pinned.yaml]\nload: {service: test, rps: 0}\nsteps: [{wait: 1s}]\n",
        3,
    ),
    (
        "rps not a number",
        "name: t\ntopology: [topologies/zone-pinned.yaml]\nload: {service: test, rps: lots}\nsteps: [{wait: 1s}]\n",
        3,
    ),
    (
        "load zone unknown",
        "name: t\ntopology: [topologies/zone-pinned.yaml]\nload: {service: test, rps: 1, zones: [a, d]}\nsteps: [{wait: 1s}]\n",
        3,
    ),
    (
        "proxy label key invalid",
        "name: t\ntopology: [topologies/zone-pinned.yaml]\nload:\n  service: test\n  rps: 1\n  proxyLabels: {\"bad key\": x}\nsteps: [{wait: 1s}]\n",
        6,
    ),
    (
        "proxy label value invalid",
        "name: t\ntopology: [topologies/zone-pinned.yaml]\nload:\n  service: test\n  rps: 1\n  proxyLabels:\n    team: \"a b\"\nsteps: [{wait: 1s}]\n",
        7,
    ),
    (
        "proxy label set by istiod",
        "name: t\ntopology: [topologies/zone-pinned.yaml]\nload:\n  service: test\n  rps: 1\n  proxyLabels:\n    team: x\n    topology.kubernetes.io/zone: us-east-1a\nsteps: [{wait: 1s}]\n",
        8,
    ),
    (
        "proxy label set by the harness",
        "name: t\ntopology: [topologies/zone-pinned.yaml]\nload:\n  service: test\n  rps: 1\n  proxyLabels: {app: mine}\nsteps: [{wait: 1s}]\n",
        6,
    ),
    (
        "timing not a duration",
        "name: t\ntopology: [topologies/zone-pinned.yaml]\nload: {service: test, rps: 1}\ntiming: {nodeMonitorGrace: soon}\nsteps: [{wait: 1s}]\n",
        4,
    ),
    (
        "timing overflows",
        "name: t\ntopology: [topologies/zone-pinned.yaml]\nload: {service: test, rps: 1}\ntiming: {podStartup: \"18446744073709552\"}\nsteps: [{wait: 1s}]\n",
        4,
    ),
    (
        "no steps",
        "name: t\ntopology: [topologies/zone-pinned.yaml]\nload: {service: test, rps: 1}\nsteps: []\n",
        4,
    ),
    ("step not a mapping", "wait", 5),
    ("unknown step key", "{wiat: 30s}", 5),
    ("two actions", "{wait: 30s, cordon: {zone: c}}", 5),
    ("no action", "{name: nothing}", 5),
    (
        "expect on an action",
        "{cordon: {zone: c}, expect: fail, reason: r}",
        5,
    ),
    (
        "expect fail without reason",
        "{assert-error-budget: {}, expect: fail}",
        5,
    ),
    (
        "expect not pass or fail",
        "{assert-error-budget: {}, expect: maybe}",
        5,
    ),
    (
        "step timeout not a duration",
        "{assert-error-budget: {}, timeout: 30}",
        5,
    ),
    ("wait a bare number", "{wait: 30}", 5),
    ("wait overflows", "{wait: \"18446744073709552\"}", 5),
    ("wait until unknown", "{wait: {until: calm}}", 5),
    ("wait until extra key", "{wait: {until: steady, x: 1}}", 5),
    ("spot-loss zone unknown", "{spot-loss: {zone: d}}", 5),
    (
        "spot-loss mode unknown",
        "{spot-loss: {zone: c, mode: drop}}",
        5,
    ),
    (
        "spot-loss notice bad",
        "{spot-loss: {zone: c, notice: 2min}}",
        5,
    ),
    (
        "spot-loss field unknown",
        "{spot-loss: {zone: c, how: now}}",
        5,
    ),
    (
        "drain timeout bad",
        "{drain: {zone: c, timeout: forever}}",
        5,
    ),
    ("cordon without zone", "{cordon: {}}", 5),
    (
        "canary Rollout unknown",
        "{canary: {rollout: nope, image: x}}",
        5,
    ),
    ("promote Rollout unknown", "{promote: {rollout: nope}}", 5),
    (
        "failover target unknown",
        "{assert-failover: {zone: c, to: [a, d]}}",
        5,
    ),
    (
        "failover share above 100%",
        "{assert-failover: {zone: c, to: [a], success: 120%}}",
        5,
    ),
    (
        "cross-zone share not a share",
        "{assert-no-cross-zone: {maxShare: none}}",
        5,
    ),
    (
        "cross-zone field unknown",
        "{assert-no-cross-zone: {zone: c}}",
        5,
    ),
    (
        "error budget minRequests negative",
        "{assert-error-budget: {minRequests: -1}}",
        5,
    ),
    (
        "pdb unknown",
        "{assert-pdb: {drainOf: c, blockedBy: nope}}",
        5,
    ),
    (
        "pdb podsLeft negative",
        "{assert-pdb: {drainOf: c, blockedBy: test-c-pdb, podsLeft: -1}}",
        5,
    ),
    (
        "rollout phase unknown",
        "{assert-rollout: {rollout: test-c, phase: Done}}",
        5,
    ),
    ("rollout unknown", "{assert-rollout: {rollout: nope}}", 5),
    (
        "isolation Rollout unknown",
        "{assert-route-isolation: {rollout: nope}}",
        5,
    ),
    (
        "recovery share bad",
        "{assert-recovery: {zone: c, localShare: 1.5}}",
        5,
    ),
    // issue 10: each row below was accepted (or ran into a timeout) before.
    (
        "item 2: topology field of the wrong type",
        "name: t\ntopology: [../tests/fixtures/hostile/replicas-three.yaml]\nload: {service: test, rps: 5}\nsteps: [{wait: 1s}]\n",
        105,
    ),
    (
        "item 5: replicas beyond the limit",
        "name: t\ntopology: [../tests/fixtures/hostile/replicas-huge.yaml]\nload: {service: test, rps: 5}\nsteps: [{wait: 1s}]\n",
        105,
    ),
    (
        "item 8: every replica count 0",
        "name: t\ntopology: [../tests/fixtures/hostile/replicas-zero.yaml]\nload: {service: test, rps: 5}\nsteps: [{wait: 1s}]\n",
        3,
    ),
    (
        "item 8: a topology without Rollouts",
        "name: t\ntopology: [../tests/fixtures/hostile/service-only.yaml]\nload: {service: test, rps: 5}\nsteps: [{wait: 1s}]\n",
        3,
    ),
    (
        "item 8: rps too low to judge",
        "name: t\ntopology: [topologies/zone-pinned.yaml]\nload: {service: test, rps: 0.0001}\nsteps: [{wait: 1s}]\n",
        3,
    ),
    (
        "item 12: load zones repeated",
        "name: t\ntopology: [topologies/zone-pinned.yaml]\nload: {service: test, rps: 5, zones: [c, c, c]}\nsteps: [{wait: 1s}]\n",
        3,
    ),
    (
        "item 12: failover targets repeated",
        "{assert-failover: {zone: c, to: [a, us-east-1a]}}",
        5,
    ),
    ("item 3: wait beyond the cap", "{wait: 1000001h}", 5),
    (
        "item 4: wait that overflows",
        "{wait: \"18446744073709552\"}",
        5,
    ),
    ("item 12: duplicate key", "name: t\nsteps: []\nname: u\n", 3),
];

fn text_of(row: &str) -> String {
    if row.contains('\n') {
        row.to_owned()
    } else {
        BASE.replace("{STEP}", row)
    }
}

#[test]
fn every_loader_error_names_its_line_and_a_fix() {
    // Relative paths, so messages read the same on every machine.
    std::env::set_current_dir(env!("CARGO_MANIFEST_DIR")).expect("cd to the repository");
    let file = Path::new("suites/t.yaml");
    let mut table = String::new();
    let mut wrong = Vec::new();
    for (name, row, line) in ROWS {
        let err = match load_suite_str(&text_of(row), file) {
            Ok(_) => {
                wrong.push(format!("{name}: loaded, expected an error"));
                continue;
            }
            Err(e) => e,
        };
        if err.loc.pos.line != *line {
            wrong.push(format!(
                "{name}: error at line {}, expected {line}: {}",
                err.loc.pos.line, err.message
            ));
        }
        if err.hint.trim().is_empty() {
            wrong.push(format!("{name}: no hint"));
        }
        writeln!(
            table,
            "{name}\n  {}:{}: {}\n  hint: {}",
            err.loc.pos.line, err.loc.pos.column, err.message, err.hint
        )
        .unwrap();
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    insta::assert_snapshot!(table);
}

#[test]
fn the_base_suite_and_every_default_load() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("suites/t.yaml");
    let suite = load_suite_str(&BASE.replace("{STEP}", "wait: 30s"), &file).unwrap();
    assert_eq!(suite.steps.len(), 1);
    assert_eq!(suite.load.zones.len(), 3);
    // Aliases resolve to the profile's full zone names.
    let suite = load_suite_str(
        &BASE.replace("{STEP}", "assert-failover: {zone: c, to: [a, b]}"),
        &file,
    )
    .unwrap();
    let zonechaos::spec::Action::AssertFailover(f) = &suite.steps[0].action else {
        panic!("not a failover step")
    };
    assert_eq!(f.zone.as_str(), "us-east-1c");
    assert_eq!(f.to[1].as_str(), "us-east-1b");
}

/// issue 11 item 7: a traffic assertion's window must hold three scrape
/// intervals of a scraped backend (kind, existing, local: 1 s scrapes, so
/// 3 s); the model judges any window. The message names the file and line.
#[test]
fn windows_shorter_than_three_scrapes_are_refused_for_scraped_backends() {
    use zonechaos::telemetry::{Scrape, TelemetrySource};
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("suites/t.yaml");
    let step = "assert-error-budget: {zones: [us-east-1a], maxErrors: 1%, window: 2s}";
    let suite = load_suite_str(&BASE.replace("{STEP}", step), &file).unwrap();
    let kind = TelemetrySource::Scraped(Scrape::CLUSTER);
    let err = suite.check_windows(kind, "kind").unwrap_err();
    assert!(err.contains("suites/t.yaml:5:"), "{err}");
    assert!(err.contains("window 2s"), "{err}");
    assert!(err.contains("window: 3s or longer"), "{err}");
    assert!(suite.check_windows(TelemetrySource::Model, "sim").is_ok());
    let step = "assert-error-budget: {zones: [us-east-1a], maxErrors: 1%, window: 3s}";
    let suite = load_suite_str(&BASE.replace("{STEP}", step), &file).unwrap();
    assert!(suite.check_windows(kind, "kind").is_ok());
}

/// issue 11 item 8: a suite states the node-monitor grace its predictions
/// assume; against a cluster whose controller manager runs another one it
/// is refused (run) or skipped (conformance), with the suite's file:line.
/// Without a `timing:` key the suite takes the profile's grace.
#[test]
fn a_suite_whose_grace_differs_from_the_clusters_is_refused_or_skipped() {
    use zonechaos::model::SimDuration;
    use zonechaos::report::model::{StepStatus, Verdict};
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let blackhole =
        zonechaos::suite::load_suite(&repo.join("suites/zone-c-spot-loss-blackhole.yaml")).unwrap();
    let fifty = SimDuration::secs(50);
    let message = blackhole.timing_mismatch(fifty).expect("35s is not 50s");
    assert!(
        message.contains("suites/zone-c-spot-loss-blackhole.yaml:20:"),
        "{message}"
    );
    assert!(message.contains("35s"), "{message}");
    assert!(message.contains("50s"), "{message}");
    assert_eq!(blackhole.timing_mismatch(SimDuration::secs(35)), None);

    let plain = load_suite_str(
        &BASE.replace("{STEP}", "wait: 30s"),
        &repo.join("suites/t.yaml"),
    )
    .unwrap();
    assert_eq!(plain.timing_mismatch(fifty), None, "the profile says 50s");
    assert!(plain.timing_mismatch(SimDuration::secs(40)).is_some());

    let report = zonechaos::suite::runner::skipped(&blackhole, "kind", &message);
    assert_eq!(report.verdict, Verdict::Skipped);
    assert_eq!(
        report.steps.len(),
        blackhole.steps.len() + blackhole.finally.len()
    );
    for step in &report.steps {
        assert_eq!(step.status, StepStatus::Skipped, "{step:?}");
        assert!(step.message.contains(&message), "{}", step.message);
    }
}
