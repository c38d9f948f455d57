//! JUnit XML for CI: one `testsuite` per run, one `testcase` per assertion.
//!
//! JUnit knows no expected failures: an assertion that failed as
//! `expect: fail` said is a success whose `system-out` says so. Steps that
//! are not assertions appear only when they errored, so that a broken run
//! is visible in CI rather than a suite of skipped assertions.

use std::time::Duration;

use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};

use super::model::{RunReport, StepResult, StepStatus};
use super::step_duration;

/// Why a JUnit report could not be written.
pub type JunitError = quick_junit::SerializeError;

/// Seconds as a [`Duration`]; `None` for NaN, infinite, negative or
/// absurdly large values (which `Duration` would panic on).
fn duration(secs: f64) -> Option<Duration> {
    if secs.is_finite() && secs >= 0.0 {
        Duration::try_from_secs_f64(secs).ok()
    } else {
        None
    }
}

/// The evidence as indented JSON, or nothing when there is none.
fn evidence_text(step: &StepResult) -> Option<String> {
    if step.evidence.is_null() {
        return None;
    }
    Some(
        serde_json::to_string_pretty(&step.evidence)
            .unwrap_or_else(|e| format!("(evidence not serialisable: {e})")),
    )
}

/// The text node of a failure or error: the message, then the evidence.
fn description(step: &StepResult, lead: Option<String>) -> String {
    let mut text = String::new();
    if let Some(lead) = lead {
        text.push_str(&lead);
        text.push('\n');
    }
    text.push_str(&step.message);
    if let Some(evidence) = evidence_text(step) {
        text.push_str("\n\nevidence:\n");
        text.push_str(&evidence);
    }
    text
}

fn non_success(kind: NonSuccessKind, ty: &str, message: &str, text: String) -> TestCaseStatus {
    let mut status = TestCaseStatus::non_success(kind);
    status
        .set_type(ty)
        .set_message(message)
        .set_description(text);
    status
}

/// The test case of one step, or `None` when the step is not reported.
fn test_case(suite: &str, step: &StepResult) -> Option<TestCase> {
    if !step.is_assertion && step.status != StepStatus::Error {
        return None;
    }
    let reason = step.expected_failure_reason.as_deref();
    let mut system_out = None;
    let status = match step.status {
        StepStatus::Passed => TestCaseStatus::success(),
        StepStatus::ExpectedFailure => {
            system_out = Some(format!(
                "expected failure: {}\n{}",
                reason.unwrap_or("(no reason given)"),
                step.message
            ));
            TestCaseStatus::success()
        }
        StepStatus::Failed => non_success(
            NonSuccessKind::Failure,
            "assertion-failed",
            &step.message,
            description(step, None),
        ),
        StepStatus::UnexpectedPass => non_success(
            NonSuccessKind::Failure,
            "unexpected-pass",
            &format!("passed although expected to fail: {}", step.message),
            description(
                step,
                Some(format!(
                    "expected to fail: {}",
                    reason.unwrap_or("(no reason given)")
                )),
            ),
        ),
        StepStatus::Error => non_success(
            NonSuccessKind::Error,
            &format!("{}-error", step.kind),
            &step.message,
            description(step, None),
        ),
        StepStatus::Skipped => {
            let mut status = TestCaseStatus::skipped();
            status.set_message(if step.message.is_empty() {
                "not run: an earlier step errored"
            } else {
                &step.message
            });
            status
        }
    };
    let mut case = TestCase::new(format!("{}: {}", step.index, step.title), status);
    case.set_classname(suite);
    if let Some(time) = step_duration(step).and_then(duration) {
        case.set_time(time);
    }
    if let Some(out) = system_out {
        case.set_system_out(out);
    }
    case.add_property(Property::new("kind", step.kind.as_str()));
    case.add_property(Property::new("line", step.line.to_string()));
    if step.finally {
        case.add_property(Property::new("finally", "true"));
    }
    Some(case)
}

/// The run as JUnit XML: one `testsuite` named after the suite, with the
/// backend, profile, seed, file, topology and verdict as properties.
pub fn junit_xml(report: &RunReport) -> Result<String, JunitError> {
    combined_junit_xml(std::slice::from_ref(report))
}

/// Several runs in one JUnit file (`zonechaos conformance`): one
/// `testsuite` per run, in the given order.
pub fn combined_junit_xml(reports: &[RunReport]) -> Result<String, JunitError> {
    let mut junit = Report::new("zonechaos");
    junit.add_test_suites(reports.iter().map(test_suite));
    junit.to_string()
}

fn test_suite(report: &RunReport) -> TestSuite {
    let mut suite = TestSuite::new(report.suite.as_str());
    suite.add_properties([
        Property::new("backend", report.backend.as_str()),
        Property::new("profile", report.profile.as_str()),
        Property::new("seed", report.seed.to_string()),
        Property::new("file", report.file.as_str()),
        Property::new("topology", report.topology.join(", ")),
        Property::new("verdict", super::verdict_word(report.verdict)),
    ]);
    if let Some(time) = duration(report.duration_s) {
        suite.set_time(time);
    }
    suite.add_test_cases(
        report
            .steps
            .iter()
            .filter_map(|step| test_case(&report.suite, step)),
    );
    if let Some(signal) = report.interrupted {
        suite.add_property(Property::new("interrupted", signal.name()));
        suite.add_test_case(interrupted_case(&report.suite, signal));
    }
    suite
}

/// An interrupted run is not a verdict: CI must show it as an error even
/// when the step that was cut short was no assertion.
fn interrupted_case(suite: &str, signal: crate::interrupt::Signal) -> TestCase {
    let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
    status.set_type("interrupted");
    status.set_message(format!(
        "interrupted by {signal}: the steps after it were skipped, the finally steps ran"
    ));
    let mut case = TestCase::new("run interrupted", status);
    case.set_classname(suite);
    case
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::testdata;

    #[test]
    fn junit_of_the_sample_run() {
        insta::assert_snapshot!(junit_xml(&testdata::sample()).unwrap());
    }

    #[test]
    fn counts_match_the_statuses() {
        let xml = junit_xml(&testdata::sample()).unwrap();
        let parsed = Report::deserialize_from_str(&xml).unwrap();
        assert_eq!(parsed.test_suites.len(), 1);
        let suite = &parsed.test_suites[0];
        assert_eq!(suite.name.as_str(), "spot-zone-loss");
        assert_eq!(suite.tests, 6);
        assert_eq!(suite.failures, 2);
        assert_eq!(suite.errors, 0);
        assert_eq!(suite.skipped, 0);
        assert!(
            suite
                .properties
                .iter()
                .any(|p| p.name.as_str() == "backend" && p.value.as_str() == "kind")
        );
        let xfail = suite
            .test_cases
            .iter()
            .find(|c| c.name.as_str() == "6: PDB keeps 2 pods of checkout in us-east-1c")
            .unwrap();
        assert!(matches!(xfail.status, TestCaseStatus::Success { .. }));
        assert!(
            xfail
                .system_out
                .as_ref()
                .unwrap()
                .as_str()
                .starts_with("expected failure: the PDB counts pods per region")
        );
        let failed = suite
            .test_cases
            .iter()
            .find(|c| c.name.as_str().starts_with("5: "))
            .unwrap();
        assert_eq!(
            failed.classname.as_ref().unwrap().as_str(),
            "spot-zone-loss"
        );
        assert_eq!(failed.time, Some(Duration::from_secs(30)));
        match &failed.status {
            TestCaseStatus::NonSuccess {
                kind, description, ..
            } => {
                assert_eq!(*kind, NonSuccessKind::Failure);
                let text = description.as_ref().unwrap().as_str();
                assert!(text.contains("\"requests\": 3551"), "{text}");
            }
            other => panic!("not a failure: {other:?}"),
        }
    }

    #[test]
    fn errored_steps_become_error_cases_and_skipped_assertions_skipped() {
        let mut report = testdata::sample();
        report.steps[2].status = StepStatus::Error; // spot-loss, not an assertion
        report.steps[2].message = "timed out draining nodes".to_owned();
        report.steps[3].status = StepStatus::Skipped;
        report.steps[3].message = String::new();
        let xml = junit_xml(&report).unwrap();
        let parsed = Report::deserialize_from_str(&xml).unwrap();
        let suite = &parsed.test_suites[0];
        assert_eq!(suite.tests, 7);
        assert_eq!(suite.errors, 1);
        assert_eq!(suite.skipped, 1);
        let error = suite
            .test_cases
            .iter()
            .find(|c| c.name.as_str() == "3: spot-loss us-east-1c (refuse)")
            .unwrap();
        assert!(matches!(
            error.status,
            TestCaseStatus::NonSuccess {
                kind: NonSuccessKind::Error,
                ..
            }
        ));
    }

    #[test]
    fn odd_times_and_text_are_written() {
        let mut report = testdata::empty();
        report.duration_s = f64::NAN;
        report.suite = "a <b> & \"c\"".to_owned();
        let mut step = testdata::sample().steps[1].clone();
        step.started_s = 10.0;
        step.ended_s = 5.0;
        step.status = StepStatus::Failed;
        step.message = "bad \u{1b}[31m\u{0} <xml> & stuff".to_owned();
        step.evidence = serde_json::json!({"x": f64::NAN});
        let mut huge = step.clone();
        huge.index = 3;
        huge.started_s = 0.0;
        huge.ended_s = f64::MAX;
        report.steps = vec![step, huge];
        let xml = junit_xml(&report).unwrap();
        let parsed = Report::deserialize_from_str(&xml).unwrap();
        let suite = &parsed.test_suites[0];
        assert_eq!(suite.name.as_str(), "a <b> & \"c\"");
        assert!(suite.time.is_none());
        assert!(suite.test_cases.iter().all(|c| c.time.is_none()));
        assert!(
            xml.contains("message=\"bad  &lt;xml&gt; &amp; stuff\""),
            "{xml}"
        );

        let empty = junit_xml(&testdata::empty()).unwrap();
        let parsed = Report::deserialize_from_str(&empty).unwrap();
        assert_eq!(parsed.test_suites[0].tests, 0);
    }
}
