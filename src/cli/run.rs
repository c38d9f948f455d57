//! `zonechaos run SUITE --backend sim`: runs a suite and writes the reports.

use std::path::PathBuf;

use super::run_args::{BackendKind, RunArgs, progress};
use super::{CliError, Status};
use crate::backend::sim::SimBackend;
use crate::report::{RunReport, Verdict};
use crate::suite::load_suite;
use crate::suite::runner;

/// Runs every suite; the exit status is the worst verdict.
pub fn run(args: &RunArgs, quiet: bool, verbose: bool) -> Result<Status, CliError> {
    run_all(args, quiet, verbose, None)
}

/// Runs every suite and, with `combined`, also writes one combined report
/// of that name (`zonechaos conformance`).
pub fn run_all(
    args: &RunArgs,
    quiet: bool,
    verbose: bool,
    combined: Option<&str>,
) -> Result<Status, CliError> {
    if !args.plan {
        // --plan writes no report.
        check_report_dir(&args.report_dir)?;
    }
    let mut suites = Vec::new();
    for path in &suite_files(&args.suites)? {
        let mut suite = load_suite(path)
            .map_err(|e| CliError::usage(format!("{}: {}", e.loc, e.message), e.hint))?;
        if let Some(seed) = args.seed {
            suite.seed = seed;
        }
        suites.push(suite);
    }
    let reports = match args.backend {
        BackendKind::Sim | BackendKind::Local => {
            if args.plan {
                return Err(CliError::usage(
                    "--plan is for the kind and existing backends",
                    "sim and local start nothing outside this machine: run them directly",
                ));
            }
            // Ctrl-C or SIGTERM ends the run in order (crate::interrupt).
            crate::interrupt::install().map_err(|e| {
                CliError::infrastructure(format!("cannot catch SIGINT/SIGTERM: {e}"), "")
            })?;
            let mut reports = Vec::new();
            for (i, suite) in suites.iter().enumerate() {
                reports.push(run_here(args, suite, quiet, verbose)?);
                if let Some(signal) = crate::interrupt::received() {
                    let left: Vec<&str> = suites[i + 1..].iter().map(|s| s.name.as_str()).collect();
                    if !left.is_empty() {
                        super::eprint_line(&format!(
                            "interrupted by {signal}: not run: {}",
                            left.join(", ")
                        ));
                    }
                    break;
                }
            }
            reports
        }
        BackendKind::Kind | BackendKind::Existing => {
            match super::kube::run_on_cluster(args, &suites, quiet, verbose, combined.is_some())? {
                Some(reports) => reports,
                None => return Ok(Status::Clean), // --plan
            }
        }
    };
    // Reports share the directory: distinct names, none the combined one's.
    let stems = crate::report::unique_stems(reports.iter().map(|r| r.suite.as_str()), combined);
    let mut worst = Status::Clean;
    for (report, stem) in reports.iter().zip(&stems) {
        let status = write_reports(args, report, stem, quiet)?;
        if status.code() > worst.code() {
            worst = status;
        }
    }
    if let Some(name) = combined {
        let paths = crate::report::write_combined(name, &reports, &stems, &args.report_dir)
            .map_err(|e| report_dir_error(args, e))?;
        if !quiet {
            announce("combined report", [&paths.junit, &paths.json, &paths.html]);
        }
    }
    if let Some(signal) = reports.iter().find_map(|r| r.interrupted) {
        return Ok(Status::Interrupted(signal));
    }
    Ok(worst)
}

/// The suite files named: files as given, directories as their `*.yaml`
/// files (not hidden ones), sorted.
fn suite_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, CliError> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let files = crate::fsread::yaml_entries(p).map_err(|e| {
                CliError::usage(
                    e.to_string(),
                    "pass suite files or a readable directory of regular suite files",
                )
            })?;
            if files.is_empty() {
                return Err(CliError::usage(
                    format!("no suite files (*.yaml) in {}", p.display()),
                    "pass suite files or a directory of them, e.g. suites",
                ));
            }
            out.extend(files);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

fn run_here(
    args: &RunArgs,
    suite: &crate::suite::Suite,
    quiet: bool,
    verbose: bool,
) -> Result<RunReport, CliError> {
    Ok(match args.backend {
        BackendKind::Local => run_local(suite, quiet, verbose)?,
        _ => {
            if !quiet {
                super::eprint_line(&format!(
                    "running {} on the sim backend (the model alone, virtual clock)",
                    suite.name
                ));
            }
            let mut backend = SimBackend::new(suite);
            runner::run(suite, &mut backend, &mut progress(verbose))
        }
    })
}

/// Exit 2 for evidence windows the backend's telemetry cannot judge
/// ([`crate::suite::Suite::check_windows`]), before anything starts.
pub(super) fn refuse_short_windows(
    suite: &crate::suite::Suite,
    telemetry: crate::telemetry::TelemetrySource,
    backend: &str,
) -> Result<(), CliError> {
    suite.check_windows(telemetry, backend).map_err(|m| {
        CliError::usage(
            m,
            "a window must hold three scrapes of the backend's Prometheus",
        )
    })
}

fn run_local(
    suite: &crate::suite::Suite,
    quiet: bool,
    verbose: bool,
) -> Result<RunReport, CliError> {
    refuse_short_windows(
        suite,
        crate::backend::local::LocalBackend::TELEMETRY,
        "local",
    )?;
    // One process per pod: refuse before starting any (issue 10 item 5).
    crate::limits::check_topology(&suite.topology, crate::limits::MAX_LOCAL_PODS)
        .map_err(|e| CliError::from(e).context(&suite.name))?;
    let repo = std::env::current_dir().unwrap_or_default();
    let app = std::env::current_exe().map_err(|e| {
        CliError::infrastructure(format!("cannot find the zonechaos binary: {e}"), "")
    })?;
    let binaries = crate::backend::local::Binaries::find(app, &repo).map_err(CliError::from)?;
    if !quiet {
        super::eprint_line(&format!(
            "running {} on the local backend (real Envoy {}, Prometheus {}, echo and load processes; wall clock)",
            suite.name,
            binaries.envoy.display(),
            binaries.prometheus.display()
        ));
    }
    let starting = std::time::Instant::now();
    let mut backend = crate::backend::local::LocalBackend::start(suite, binaries)
        .map_err(|e| CliError::from(e).context("local backend did not start"))?;
    if !quiet {
        super::eprint_line(&format!(
            "local mesh ready in {} ms (Prometheus, {} pods, {} Envoys, {} load clients); files in {}",
            starting.elapsed().as_millis(),
            backend.pod_count(),
            suite.load.zones.len(),
            suite.load.zones.len(),
            backend.dir().display()
        ));
    }
    let cpu_before = crate::process::own_cpu_seconds();
    let ran = std::time::Instant::now();
    let mut report = runner::run(suite, &mut backend, &mut progress(verbose));
    report.queries = crate::backend::local::LocalBackend::queries();
    if !quiet {
        let wall = ran.elapsed().as_secs_f64();
        let cpu = crate::process::own_cpu_seconds() - cpu_before;
        super::eprint_line(&format!(
            "harness CPU while the suite ran: {cpu:.2} s in {wall:.1} s wall ({:.1}% of one core; children not counted)",
            100.0 * cpu / wall.max(0.001)
        ));
    }
    Ok(report)
}

/// Creates the report directory and a probe file in it before anything
/// runs: a run of minutes must not end in "cannot write reports", with the
/// verdict lost.
fn check_report_dir(dir: &std::path::Path) -> Result<(), CliError> {
    let probe = || -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        // Removed when dropped.
        tempfile::Builder::new()
            .prefix(".zonechaos-probe-")
            .tempfile_in(dir)
            .map(drop)
    };
    probe().map_err(|e| {
        CliError::usage(
            format!(
                "cannot write reports to {}: {e} (checked before the run)",
                dir.display()
            ),
            "pass --report-dir with a writable directory",
        )
    })
}

fn report_dir_error(args: &RunArgs, e: std::io::Error) -> CliError {
    CliError::usage(
        format!("cannot write reports to {}: {e}", args.report_dir.display()),
        "pass --report-dir with a writable directory",
    )
}

/// `label: a, b, c` on stderr.
fn announce(label: &str, paths: [&std::path::Path; 3]) {
    let list: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    super::eprint_line(&format!("{label}: {}", list.join(", ")));
}

/// Prints the summary, writes the report files, and maps the verdict to an
/// exit status.
pub(super) fn write_reports(
    args: &RunArgs,
    report: &RunReport,
    stem: &str,
    quiet: bool,
) -> Result<Status, CliError> {
    super::lint::write_output(None, &crate::report::summary(report, super::stdout_color()))?;
    let paths = crate::report::write_all_as(report, &args.report_dir, stem)
        .map_err(|e| report_dir_error(args, e))?;
    if !quiet {
        announce("reports", [&paths.junit, &paths.json, &paths.html]);
    }
    Ok(match report.verdict {
        // A skipped suite says so in its reports; it fails nothing.
        Verdict::Passed | Verdict::Skipped => Status::Clean,
        Verdict::Failed => Status::Findings,
        Verdict::Error => Status::Infrastructure,
    })
}
