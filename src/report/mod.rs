//! Reports of a run: terminal summary, JUnit XML, JSON, and a
//! self-contained HTML page with an SVG timeline per client zone.
//!
//! Every format renders the same [`RunReport`]; [`write_all`] writes the
//! three file formats next to each other.

mod chart;
pub mod combined;
pub mod html;
pub mod json;
pub mod junit;
mod markup;
pub mod model;
pub mod terminal;

use std::io;
use std::path::{Path, PathBuf};

use crate::fswrite::write_atomic;

pub use combined::{CombinedPaths, write_combined};
pub use html::html;
pub use json::json;
pub use junit::junit_xml;
pub use model::{
    FailoverLatency, RunReport, StepResult, StepStatus, Timeline, TimelinePoint, Verdict,
};
pub use terminal::summary;

/// Where [`write_all`] put the report files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportPaths {
    /// `<dir>/<suite>.junit.xml`.
    pub junit: PathBuf,
    /// `<dir>/<suite>.json`.
    pub json: PathBuf,
    /// `<dir>/<suite>.html`.
    pub html: PathBuf,
}

/// Writes `<suite>.junit.xml`, `<suite>.json` and `<suite>.html` into
/// `dir` (created when missing), the suite name made safe for file names.
pub fn write_all(report: &RunReport, dir: &Path) -> io::Result<ReportPaths> {
    write_all_as(report, dir, &file_stem(&report.suite))
}

/// Writes `<stem>.junit.xml`, `<stem>.json` and `<stem>.html` into `dir`
/// (created when missing), each atomically and never through a symlink
/// ([`crate::fswrite::write_atomic`]); `stem` from [`unique_stems`] when
/// several runs share the directory.
pub fn write_all_as(report: &RunReport, dir: &Path, stem: &str) -> io::Result<ReportPaths> {
    std::fs::create_dir_all(dir)?;
    let paths = ReportPaths {
        junit: dir.join(format!("{stem}.junit.xml")),
        json: dir.join(format!("{stem}.json")),
        html: dir.join(format!("{stem}.html")),
    };
    let xml = junit_xml(report).map_err(io::Error::other)?;
    write_atomic(&paths.junit, xml.as_bytes())?;
    write_atomic(&paths.json, json(report).as_bytes())?;
    write_atomic(&paths.html, html(report).as_bytes())?;
    Ok(paths)
}

/// One file stem per suite, in order, for runs whose reports share a
/// directory: the [`file_stem`], with `-2`, `-3`, ... added when an earlier
/// suite took it (`a/b` and `a_b` both sanitize to `a_b`), and never
/// `reserved` (the combined report's stem, so that a suite named
/// `conformance` cannot overwrite `conformance.json`).
pub fn unique_stems<'a>(
    suites: impl IntoIterator<Item = &'a str>,
    reserved: Option<&str>,
) -> Vec<String> {
    let mut used: std::collections::HashSet<String> = reserved.map(file_stem).into_iter().collect();
    suites
        .into_iter()
        .map(|suite| {
            let base = file_stem(suite);
            let stem = (1..)
                .map(|n| {
                    if n == 1 {
                        base.clone()
                    } else {
                        format!("{base}-{n}")
                    }
                })
                .find(|s| !used.contains(s))
                .expect("an unbounded range finds an unused name");
            used.insert(stem.clone());
            stem
        })
        .collect()
}

/// The suite name as a file name: ASCII letters, digits, `-`, `_` and `.`
/// kept, anything else `_`; no leading dot (no hidden files, no `..`); at
/// most 100 characters; `report` when nothing is left.
pub fn file_stem(suite: &str) -> String {
    let mapped: String = suite
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .take(100)
        .collect();
    let stem = mapped.trim_start_matches('.');
    if stem.is_empty() || stem.chars().all(|c| c == '_') {
        "report".to_owned()
    } else {
        stem.to_owned()
    }
}

/// The word for a step outcome, as the terminal and HTML show it.
pub(crate) fn status_word(status: StepStatus) -> &'static str {
    match status {
        StepStatus::Passed => "passed",
        StepStatus::Failed => "FAILED",
        StepStatus::ExpectedFailure => "expected failure",
        StepStatus::UnexpectedPass => "UNEXPECTED PASS",
        StepStatus::Error => "ERROR",
        StepStatus::Skipped => "skipped",
    }
}

/// `PASSED`, `FAILED`, `ERROR`.
pub(crate) fn verdict_word(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Passed => "PASSED",
        Verdict::Failed => "FAILED",
        Verdict::Error => "ERROR",
        Verdict::Skipped => "SKIPPED",
    }
}

/// Seconds for people: `4.2s`, `2m10s`, `1h02m10s`; `-` when not a number.
pub(crate) fn fmt_secs(secs: f64) -> String {
    if !secs.is_finite() {
        return "-".to_owned();
    }
    let sign = if secs < 0.0 { "-" } else { "" };
    let abs = secs.abs();
    if abs < 59.95 {
        return format!("{sign}{abs:.1}s");
    }
    // Whole seconds from here; `as` saturates, and 1e15 s is enough for anyone.
    let total = abs.round().min(1e15) as u64;
    let (h, m, s) = (total / 3600, total / 60 % 60, total % 60);
    if h == 0 {
        format!("{sign}{m}m{s:02}s")
    } else {
        format!("{sign}{h}h{m:02}m{s:02}s")
    }
}

/// Optional seconds (failover latency): `n/a` when absent.
pub(crate) fn fmt_opt_secs(secs: Option<f64>) -> String {
    secs.map_or_else(|| "n/a".to_owned(), fmt_secs)
}

/// The failover table's columns, as every format shows them.
pub(crate) const FAILOVER_COLUMNS: [&str; 5] = [
    "zone",
    "predicted",
    "measured",
    "lost (model)",
    "lost (measured)",
];

/// One failover row's cells, in [`FAILOVER_COLUMNS`] order: a latency from
/// the flight recorder to the millisecond, the others as seconds.
pub(crate) fn failover_cells(f: &model::FailoverLatency) -> [String; 5] {
    let measured = match (f.measured_s, f.measured_from) {
        (Some(s), Some("flight-recorder")) => format!("{s:.3}s"),
        (s, _) => fmt_opt_secs(s),
    };
    [
        f.zone.as_str().to_owned(),
        fmt_opt_secs(f.predicted_s),
        measured,
        f.predicted_lost.to_string(),
        f.measured_lost
            .map_or_else(|| "n/a".to_owned(), |n| n.to_string()),
    ]
}

/// How long a step took; `None` when its clock readings make no sense.
pub(crate) fn step_duration(step: &StepResult) -> Option<f64> {
    let d = step.ended_s - step.started_s;
    (d.is_finite() && d >= 0.0).then_some(d)
}

/// A step's duration as text, `-` when unknown.
pub(crate) fn fmt_step_duration(step: &StepResult) -> String {
    step_duration(step).map_or_else(|| "-".to_owned(), fmt_secs)
}

/// Wall milliseconds: `850ms`, `1.834s`, `2m10s`.
pub(crate) fn fmt_wall(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        format!("{}.{:03}s", ms / 1000, ms % 1000)
    } else {
        fmt_secs(ms as f64 / 1000.0)
    }
}

/// `1 assertion`, `2 assertions`.
pub(crate) fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Counts behind the verdict line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Tally {
    /// Assertion steps.
    pub assertions: usize,
    /// Assertions that failed as `expect: fail` said.
    pub expected_failures: usize,
    /// Assertions that failed or passed unexpectedly.
    pub failed: usize,
    /// Of `failed`, those that passed while expected to fail.
    pub unexpected_passes: usize,
    /// Steps of any kind that errored.
    pub errors: usize,
    /// Steps of any kind not run.
    pub skipped: usize,
}

impl Tally {
    pub(crate) fn of(report: &RunReport) -> Tally {
        let mut t = Tally::default();
        for step in &report.steps {
            match step.status {
                StepStatus::Error => t.errors += 1,
                StepStatus::Skipped => t.skipped += 1,
                _ => {}
            }
            if !step.is_assertion {
                continue;
            }
            t.assertions += 1;
            match step.status {
                StepStatus::ExpectedFailure => t.expected_failures += 1,
                StepStatus::Failed => t.failed += 1,
                StepStatus::UnexpectedPass => {
                    t.failed += 1;
                    t.unexpected_passes += 1;
                }
                _ => {}
            }
        }
        t
    }
}

/// `FAILED: 6 assertions (1 expected failure), 2 failed (1 unexpected pass), 1 error`.
pub(crate) fn verdict_line(report: &RunReport) -> String {
    let t = Tally::of(report);
    let mut line = format!(
        "{}: {}",
        verdict_word(report.verdict),
        plural(t.assertions, "assertion", "assertions")
    );
    if t.expected_failures > 0 {
        line.push_str(&format!(
            " ({})",
            plural(t.expected_failures, "expected failure", "expected failures")
        ));
    }
    line.push_str(&format!(", {} failed", t.failed));
    if t.unexpected_passes > 0 {
        line.push_str(&format!(
            " ({})",
            plural(t.unexpected_passes, "unexpected pass", "unexpected passes")
        ));
    }
    if t.errors > 0 {
        line.push_str(&format!(", {}", plural(t.errors, "error", "errors")));
    }
    if t.skipped > 0 {
        line.push_str(&format!(", {} skipped", t.skipped));
    }
    if let Some(signal) = report.interrupted {
        line.push_str(&format!(
            "; INTERRUPTED by {signal} (steps after it skipped, finally steps run)"
        ));
    }
    line
}

/// A realistic run for the tests of every format: three zones, Spot loss
/// of us-east-1c at second 40, restore at 100.
#[cfg(test)]
pub(crate) mod testdata {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::model::*;
    use crate::zone::Zone;

    pub(crate) const A: &str = "us-east-1a";
    pub(crate) const B: &str = "us-east-1b";
    pub(crate) const C: &str = "us-east-1c";

    /// How often `needle` occurs in `haystack` (tags in a rendered page).
    pub(crate) fn count(haystack: &str, needle: &str) -> usize {
        haystack.matches(needle).count()
    }

    #[allow(clippy::too_many_arguments)]
    fn step(
        index: usize,
        kind: &str,
        title: &str,
        line: u32,
        (started_s, ended_s): (f64, f64),
        status: StepStatus,
        message: &str,
        is_assertion: bool,
    ) -> StepResult {
        StepResult {
            index,
            kind: kind.to_owned(),
            title: title.to_owned(),
            line,
            started_s,
            ended_s,
            status,
            message: message.to_owned(),
            expected_failure_reason: None,
            is_assertion,
            finally: false,
            evidence: serde_json::Value::Null,
        }
    }

    fn point(served: &[(&str, u64)], errors: &[(&str, u64)]) -> TimelinePoint {
        TimelinePoint {
            served: served.iter().map(|(z, n)| (Zone::from(*z), *n)).collect(),
            errors: errors.iter().map(|(k, n)| ((*k).to_owned(), *n)).collect(),
        }
    }

    /// Clients of a zone that never lose it: ~100 rps served locally.
    fn steady(zone: &str, len: usize, phase: u64) -> Vec<TimelinePoint> {
        (0..len as u64)
            .map(|t| point(&[(zone, 98 + (t * 7 + phase) % 5)], &[]))
            .collect()
    }

    /// Clients of us-east-1c: local, then ~5 s of 503s, then a and b,
    /// then local again after the restore.
    fn lost_zone(len: usize) -> Vec<TimelinePoint> {
        (0..len as u64)
            .map(|t| {
                let wobble = (t * 3) % 4;
                match t {
                    0..40 => point(&[(C, 99 + wobble)], &[]),
                    40 => point(&[], &[("503 UF", 40), ("503 UH", 60)]),
                    41 => point(&[(A, 5), (B, 5)], &[("503 UF", 30), ("503 UH", 61)]),
                    42 => point(&[(A, 15), (B, 14)], &[("503 UF", 22), ("503 UH", 49)]),
                    43 => point(&[(A, 30), (B, 28)], &[("503 UF", 12), ("503 UH", 31)]),
                    44 => point(&[(A, 42), (B, 40)], &[("503 UF", 4), ("503 UH", 14)]),
                    45..103 => point(&[(A, 50 + wobble), (B, 49)], &[]),
                    103 => point(&[(A, 25), (B, 25), (C, 50)], &[]),
                    _ => point(&[(C, 99 + wobble)], &[]),
                }
            })
            .collect()
    }

    pub(crate) fn sample() -> RunReport {
        let zones: Vec<Zone> = [A, B, C].into_iter().map(Zone::from).collect();
        let mut series = BTreeMap::new();
        series.insert(Zone::from(A), steady(A, 120, 0));
        series.insert(Zone::from(B), steady(B, 120, 2));
        series.insert(Zone::from(C), lost_zone(120));

        let mut failover = step(
            4,
            "assert-failover",
            "us-east-1c clients fail over within 10s",
            31,
            (40.0, 50.0),
            StepStatus::Passed,
            "first second with >= 99% success at +5s (predicted 5.0s)",
            true,
        );
        failover.evidence =
            json!({"zone": C, "chaos_at_s": 40, "recovered_at_s": 45, "within_s": 10});

        let mut error_rate = step(
            5,
            "assert-error-rate",
            "error rate of us-east-1c clients below 1%",
            36,
            (40.0, 70.0),
            StepStatus::Failed,
            "error rate 9.1% over 30s, limit 1% (503 UF: 108, 503 UH: 215)",
            true,
        );
        error_rate.evidence = json!({
            "client_zone": C,
            "window_s": [40, 70],
            "requests": 3551,
            "errors": {"503 UF": 108, "503 UH": 215},
            "limit": 0.01
        });

        let mut pdb = step(
            6,
            "assert-pdb",
            "PDB keeps 2 pods of checkout in us-east-1c",
            42,
            (40.0, 41.0),
            StepStatus::ExpectedFailure,
            "0 of 2 pods available in us-east-1c after the Spot loss",
            true,
        );
        pdb.expected_failure_reason =
            Some("the PDB counts pods per region, not per zone (design defect ZC1301)".to_owned());
        pdb.evidence =
            json!({"pdb": "shop/checkout", "zone": C, "available": 0, "min_available": 2});

        let mut cross = step(
            7,
            "assert-no-cross-zone",
            "no cross-zone traffic from us-east-1a",
            48,
            (41.0, 70.0),
            StepStatus::UnexpectedPass,
            "0 cross-zone requests from us-east-1a clients",
            true,
        );
        cross.expected_failure_reason =
            Some("outlier detection ejects local endpoints on 503s".to_owned());
        cross.evidence = json!({"client_zone": A, "cross_zone_requests": 0});

        let mut restore = step(
            9,
            "restore",
            "restore us-east-1c",
            60,
            (100.0, 100.0),
            StepStatus::Passed,
            "Spot capacity back in us-east-1c",
            false,
        );
        restore.finally = true;
        let mut back = step(
            10,
            "assert-traffic",
            "us-east-1c clients served locally again",
            63,
            (100.0, 120.0),
            StepStatus::Passed,
            "99.6% of us-east-1c requests served in us-east-1c over the last 15s",
            true,
        );
        back.finally = true;
        back.evidence = json!({"client_zone": C, "local_share": 0.996});

        let mut local = step(
            2,
            "assert-traffic",
            "traffic stays in zone before chaos",
            18,
            (30.0, 40.0),
            StepStatus::Passed,
            "100.0% of requests served in the client's zone",
            true,
        );
        local.evidence = json!({"local_share": {A: 1.0, B: 1.0, C: 1.0}});

        let steps = vec![
            step(
                1,
                "wait",
                "wait 30s for steady traffic",
                12,
                (0.0, 30.0),
                StepStatus::Passed,
                "30s elapsed",
                false,
            ),
            local,
            step(
                3,
                "spot-loss",
                "spot-loss us-east-1c (refuse)",
                25,
                (40.0, 40.0),
                StepStatus::Passed,
                "3 Spot nodes removed in us-east-1c, connections refused",
                false,
            ),
            failover,
            error_rate,
            pdb,
            cross,
            step(
                8,
                "wait",
                "wait 30s",
                55,
                (70.0, 100.0),
                StepStatus::Passed,
                "30s elapsed",
                false,
            ),
            restore,
            back,
        ];

        RunReport {
            suite: "spot-zone-loss".to_owned(),
            file: "suites/spot-zone-loss.yaml".to_owned(),
            backend: "kind".to_owned(),
            topology: vec![
                "topologies/shop.yaml".to_owned(),
                "topologies/mesh.yaml".to_owned(),
            ],
            profile: "aws-3az".to_owned(),
            seed: 42,
            verdict: RunReport::verdict_of(&steps),
            duration_s: 120.0,
            wall_ms: 131_834,
            steps,
            timeline: Timeline {
                zones,
                series,
                marks: vec![
                    (40.0, "spot-loss us-east-1c".to_owned()),
                    (100.0, "restore".to_owned()),
                ],
                seconds_per_point: 1,
            },
            failover: vec![
                FailoverLatency {
                    zone: Zone::from(C),
                    predicted_s: Some(5.0),
                    measured_s: Some(5.4),
                    predicted_lost: 300,
                    measured_lost: Some(323),
                    measured_from: Some("flight-recorder"),
                    lost_requests: 323,
                },
                FailoverLatency {
                    zone: Zone::from(B),
                    predicted_s: Some(4.5),
                    measured_s: None,
                    predicted_lost: 0,
                    measured_lost: None,
                    measured_from: None,
                    lost_requests: 0,
                },
            ],
            queries: vec![
                "sum by (source_zone, destination_zone) (rate(istio_requests_total{reporter=\"source\", destination_service=\"checkout.shop.svc.cluster.local\"}[10s]))".to_owned(),
                "sum by (response_code, response_flags) (rate(istio_requests_total{reporter=\"source\", response_code=~\"5..\"}[10s]))".to_owned(),
            ],
            events: vec![
                json!({"at_s": 40, "kind": "NodeDeleted", "zone": C, "count": 3}),
                json!({"at_s": 100, "kind": "NodeAdded", "zone": C, "count": 3}),
            ],
            interrupted: None,
            diagnostics: None,
            fidelity: None,
            reconciled: Vec::new(),
        }
    }

    /// A report with nothing in it.
    pub(crate) fn empty() -> RunReport {
        RunReport {
            suite: "empty".to_owned(),
            file: "suites/empty.yaml".to_owned(),
            backend: "sim".to_owned(),
            topology: vec![],
            profile: "aws-3az".to_owned(),
            seed: 0,
            verdict: Verdict::Passed,
            duration_s: 0.0,
            wall_ms: 0,
            steps: vec![],
            timeline: Timeline::default(),
            failover: vec![],
            queries: vec![],
            events: vec![],
            interrupted: None,
            diagnostics: None,
            fidelity: None,
            reconciled: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_stem_keeps_safe_names_and_replaces_the_rest() {
        assert_eq!(file_stem("spot-zone-loss"), "spot-zone-loss");
        assert_eq!(file_stem("a/b c:d"), "a_b_c_d");
        assert_eq!(file_stem("../../etc/passwd"), "_.._etc_passwd");
        assert_eq!(file_stem("..."), "report");
        assert_eq!(file_stem(""), "report");
        assert_eq!(file_stem("///"), "report");
        assert_eq!(file_stem(&"x".repeat(300)).len(), 100);
    }

    #[test]
    fn seconds_are_readable() {
        assert_eq!(fmt_secs(0.0), "0.0s");
        assert_eq!(fmt_secs(4.24), "4.2s");
        assert_eq!(fmt_secs(59.99), "1m00s");
        assert_eq!(fmt_secs(130.0), "2m10s");
        assert_eq!(fmt_secs(3730.0), "1h02m10s");
        assert_eq!(fmt_secs(-2.0), "-2.0s");
        assert_eq!(fmt_secs(f64::NAN), "-");
        assert_eq!(fmt_secs(f64::INFINITY), "-");
        assert_eq!(fmt_opt_secs(None), "n/a");
        assert_eq!(fmt_wall(850), "850ms");
        assert_eq!(fmt_wall(1834), "1.834s");
        assert_eq!(fmt_wall(131_834), "2m12s");
        assert!(!fmt_wall(u64::MAX).is_empty());
    }

    #[test]
    fn verdict_line_counts_assertions_and_failures() {
        let report = testdata::sample();
        assert_eq!(
            verdict_line(&report),
            "FAILED: 6 assertions (1 expected failure), 2 failed (1 unexpected pass)"
        );
        assert_eq!(
            verdict_line(&testdata::empty()),
            "PASSED: 0 assertions, 0 failed"
        );

        let mut broken = testdata::sample();
        broken.steps[0].status = StepStatus::Error;
        broken.steps[1].status = StepStatus::Skipped;
        broken.verdict = RunReport::verdict_of(&broken.steps);
        assert_eq!(
            verdict_line(&broken),
            "ERROR: 6 assertions (1 expected failure), 2 failed (1 unexpected pass), 1 error, 1 skipped"
        );
    }

    #[test]
    fn write_all_writes_three_files_named_after_the_suite() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("nested/reports");
        let mut report = testdata::sample();
        report.suite = "spot zone/loss".to_owned();
        let paths = write_all(&report, &out).unwrap();
        assert_eq!(paths.junit, out.join("spot_zone_loss.junit.xml"));
        assert_eq!(paths.json, out.join("spot_zone_loss.json"));
        assert_eq!(paths.html, out.join("spot_zone_loss.html"));
        let xml = std::fs::read_to_string(&paths.junit).unwrap();
        assert!(xml.contains("<testsuite name=\"spot zone/loss\""), "{xml}");
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&paths.json).unwrap()).unwrap();
        assert_eq!(json["suite"], "spot zone/loss");
        let html = std::fs::read_to_string(&paths.html).unwrap();
        assert!(html.starts_with("<!DOCTYPE html>"));
    }

    /// issue 10 item 7: suites named `a/b`, `a_b` and `conformance` under a
    /// combined report `conformance` get distinct stems, none the combined one.
    #[test]
    fn colliding_suite_names_get_distinct_stems() {
        let stems = unique_stems(["a/b", "a_b", "conformance", "a_b-2"], Some("conformance"));
        assert_eq!(stems, ["a_b", "a_b-2", "conformance-2", "a_b-2-2"]);
        assert_eq!(unique_stems(["x", "y"], None), ["x", "y"]);
    }

    /// issue 10 item 9: an interrupted run says so in every format: the
    /// JSON field, a JUnit error, the HTML banner and the terminal line.
    #[test]
    fn an_interrupted_run_is_marked_in_every_format() {
        let mut report = testdata::sample();
        report.interrupted = Some(crate::interrupt::Signal::Term);
        let doc: serde_json::Value = serde_json::from_str(&json(&report)).unwrap();
        assert_eq!(doc["interrupted"], "SIGTERM");
        let xml = junit_xml(&report).unwrap();
        assert!(xml.contains("type=\"interrupted\""), "{xml}");
        assert!(xml.contains("interrupted by SIGTERM"), "{xml}");
        assert!(html(&report).contains("INTERRUPTED by SIGTERM"));
        assert!(summary(&report, false).contains("INTERRUPTED by SIGTERM"));
        let plain: serde_json::Value = serde_json::from_str(&json(&testdata::sample())).unwrap();
        assert!(
            plain.get("interrupted").is_none(),
            "absent when not interrupted"
        );
    }
}
