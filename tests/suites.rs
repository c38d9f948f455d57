//! Every suite file under `suites/` is its own test (libtest-mimic), run on
//! the sim backend: it passes when every assertion holds or fails exactly as
//! its `expect: fail` says.

use std::path::Path;

#[path = "common/files.rs"]
mod files;

use files::suite_files;
use libtest_mimic::{Arguments, Failed, Trial};
use zonechaos::backend::sim::SimBackend;
use zonechaos::report::{StepStatus, Verdict};
use zonechaos::suite::{load_suite, runner};

fn run_sim(path: &Path) -> Result<(), Failed> {
    let suite = load_suite(path).map_err(|e| Failed::from(e.to_string()))?;
    let mut backend = SimBackend::new(&suite);
    let report = runner::run(&suite, &mut backend, &mut ());
    // The whole JSON report, as users' tools read it (wall time aside): any
    // change of a step, verdict, evidence or figure shows as a diff.
    let mut json: serde_json::Value =
        serde_json::from_str(&zonechaos::report::json::json(&report)).map_err(|e| e.to_string())?;
    json["wall_ms"] = serde_json::Value::from(0);
    let name = format!("report_{}", suite.name);
    std::panic::catch_unwind(|| insta::assert_json_snapshot!(name, json)).map_err(|_| {
        Failed::from(format!(
            "the JSON report of {} changed (cargo insta review)",
            suite.name
        ))
    })?;
    if report.verdict == Verdict::Passed {
        return Ok(());
    }
    let failed: Vec<String> = report
        .steps
        .iter()
        .filter(|s| s.status.is_failure() || s.status == StepStatus::Skipped)
        .map(|s| {
            format!(
                "step {} (line {}) {:?}: {}: {}",
                s.index, s.line, s.status, s.title, s.message
            )
        })
        .collect();
    Err(Failed::from(failed.join("\n")))
}

fn main() {
    let args = Arguments::from_args();
    let trials = suite_files()
        .into_iter()
        .map(|path| {
            let name = format!(
                "sim::{}",
                path.file_stem().unwrap_or_default().to_string_lossy()
            );
            Trial::test(name, move || run_sim(&path))
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}
