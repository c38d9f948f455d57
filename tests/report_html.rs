//! The report files through the public API: `write_all` writes JUnit, JSON
//! and a self-contained HTML page for a run built here by hand.

use std::collections::BTreeMap;

use zonechaos::report::{
    FailoverLatency, RunReport, StepResult, StepStatus, Timeline, TimelinePoint, Verdict, write_all,
};
use zonechaos::zone::Zone;

fn step(index: usize, status: StepStatus, is_assertion: bool, message: &str) -> StepResult {
    StepResult {
        index,
        kind: if is_assertion {
            "assert-traffic"
        } else {
            "wait"
        }
        .to_owned(),
        title: format!("step {index}"),
        line: index as u32 * 4,
        started_s: index as f64,
        ended_s: index as f64 + 1.5,
        status,
        message: message.to_owned(),
        expected_failure_reason: (status == StepStatus::ExpectedFailure)
            .then(|| "zone PDB missing".to_owned()),
        is_assertion,
        finally: false,
        evidence: serde_json::json!({"index": index}),
    }
}

fn run() -> RunReport {
    let zones: Vec<Zone> = ["z-a", "z-b"].into_iter().map(Zone::from).collect();
    let served = |zone: &str, n: u64| TimelinePoint {
        served: BTreeMap::from([(Zone::from(zone), n)]),
        errors: BTreeMap::new(),
    };
    let mut series = BTreeMap::new();
    series.insert(Zone::from("z-a"), vec![served("z-a", 10); 20]);
    series.insert(
        Zone::from("z-b"),
        (0..20)
            .map(|t| {
                if t < 8 {
                    served("z-b", 10)
                } else {
                    TimelinePoint {
                        served: BTreeMap::from([(Zone::from("z-a"), 8)]),
                        errors: BTreeMap::from([("503 UH".to_owned(), 2)]),
                    }
                }
            })
            .collect(),
    );
    let steps = vec![
        step(1, StepStatus::Passed, false, "10s elapsed"),
        step(2, StepStatus::Passed, true, "all local"),
        step(3, StepStatus::Failed, true, "<script>alert(1)</script>"),
        step(4, StepStatus::ExpectedFailure, true, "0 pods"),
    ];
    RunReport {
        suite: "two zones/one lost".to_owned(),
        file: "suites/two.yaml".to_owned(),
        backend: "sim".to_owned(),
        topology: vec!["t.yaml".to_owned()],
        profile: "two-az".to_owned(),
        seed: 7,
        verdict: RunReport::verdict_of(&steps),
        duration_s: 20.0,
        wall_ms: 12,
        steps,
        timeline: Timeline {
            zones,
            series,
            marks: vec![(8.0, "spot-loss z-b & friends".to_owned())],
            seconds_per_point: 1,
        },
        failover: vec![FailoverLatency {
            zone: Zone::from("z-b"),
            predicted_s: Some(3.0),
            measured_s: None,
            predicted_lost: 16,
            measured_lost: None,
            measured_from: None,
            lost_requests: 16,
        }],
        queries: vec![],
        events: vec![],
        interrupted: None,
        diagnostics: None,
        fidelity: None,
        reconciled: Vec::new(),
    }
}

#[test]
fn write_all_produces_three_consistent_files() {
    let dir = tempfile::tempdir().unwrap();
    let report = run();
    assert_eq!(report.verdict, Verdict::Failed);
    let paths = write_all(&report, dir.path()).unwrap();

    assert_eq!(
        paths.html.file_name().unwrap().to_str(),
        Some("two_zones_one_lost.html")
    );
    let html = std::fs::read_to_string(&paths.html).unwrap();
    assert_eq!(html.matches("<svg ").count(), 2);
    assert!(html.contains(">spot-loss z-b &amp; friends</text>"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!html.contains("<script"));
    assert!(html.contains("expected failure: zone PDB missing"));
    insta::assert_snapshot!("two_zones_page", html);
    let outside = html.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
    assert!(!outside.contains("http://") && !outside.contains("https://"));

    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&paths.json).unwrap()).unwrap();
    assert_eq!(json["version"], 1);
    assert_eq!(json["suite"], "two zones/one lost");
    assert_eq!(json["steps"].as_array().map(Vec::len), Some(4));

    let xml = std::fs::read_to_string(&paths.junit).unwrap();
    assert!(xml.contains("tests=\"3\""), "{xml}");
    assert!(xml.contains("failures=\"1\""), "{xml}");
    assert!(xml.contains("<testcase name=\"3: step 3\" classname=\"two zones/one lost\""));
}

#[test]
fn an_empty_run_writes_too() {
    let dir = tempfile::tempdir().unwrap();
    let mut report = run();
    report.steps.clear();
    report.failover.clear();
    report.timeline = Timeline::default();
    report.suite = String::new();
    let paths = write_all(&report, &dir.path().join("new")).unwrap();
    assert_eq!(
        paths.junit.file_name().unwrap().to_str(),
        Some("report.junit.xml")
    );
    let html = std::fs::read_to_string(&paths.html).unwrap();
    assert!(!html.contains("<svg"));
    assert!(html.contains("No traffic timeline was recorded."));
}
