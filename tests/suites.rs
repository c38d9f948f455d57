//! Every suite file under `suites/` is its own test (libtest-mimic), run on
//! the sim backend: it passes when every assertion holds or fails exactly as
//! its `expect: fail` says.

use std::path::{Path, PathBuf};

use libtest_mimic::{Arguments, Failed, Trial};
use zonechaos::backend::sim::SimBackend;
use zonechaos::report::{StepStatus, Verdict};
use zonechaos::suite::{load_suite, runner};

fn suite_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("suites");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("suites/ exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .filter(|p| {
            !p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with('.'))
        })
        .collect();
    files.sort();
    files
}

fn run_sim(path: &Path) -> Result<(), Failed> {
    let suite = load_suite(path).map_err(|e| Failed::from(e.to_string()))?;
    let mut backend = SimBackend::new(&suite);
    let report = runner::run(&suite, &mut backend, &mut ());
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
