//! `zonechaos run SUITE --backend sim`: runs a suite and writes the reports.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::{CliError, Status};
use crate::backend::sim::SimBackend;
use crate::report::{RunReport, Verdict};
use crate::suite::load_suite;
use crate::suite::runner::{self, Progress};

/// The rungs of the ladder `run` can use in this version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendKind {
    /// The model alone, on a virtual clock (milliseconds).
    Sim,
    /// The model as control plane, real Envoy + Prometheus + echo/load processes (wall clock).
    Local,
}

/// Arguments of `zonechaos run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Suite files.
    #[arg(required = true, value_name = "SUITE")]
    pub suites: Vec<PathBuf>,
    /// Where to run. Planned: kind, existing.
    #[arg(long, value_enum, default_value = "sim")]
    pub backend: BackendKind,
    /// Directory for JUnit, JSON and HTML reports.
    #[arg(long, value_name = "DIR", default_value = "reports")]
    pub report_dir: PathBuf,
    /// Override the suite's seed.
    #[arg(long)]
    pub seed: Option<u64>,
}

/// Step lines on stderr with `-v` (the summary table follows on stdout).
struct StderrProgress {
    verbose: bool,
}

impl Progress for StderrProgress {
    fn step_finished(&mut self, r: &crate::report::StepResult) {
        if self.verbose {
            super::eprint_line(&format!(
                "  [{:>6.1}s] {:?} {}: {}",
                r.ended_s, r.status, r.title, r.message
            ));
        }
    }
}

/// Runs every suite; the exit status is the worst verdict.
pub fn run(args: &RunArgs, quiet: bool, verbose: bool) -> Result<Status, CliError> {
    let mut worst = Status::Clean;
    for path in &args.suites {
        let mut suite = load_suite(path)
            .map_err(|e| CliError::usage(format!("{}: {}", e.loc, e.message), e.hint))?;
        if let Some(seed) = args.seed {
            suite.seed = seed;
        }
        let report: RunReport = match args.backend {
            BackendKind::Sim => {
                if !quiet {
                    super::eprint_line(&format!(
                        "running {} on the sim backend (the model alone, virtual clock)",
                        suite.name
                    ));
                }
                let mut backend = SimBackend::new(&suite);
                runner::run(&suite, &mut backend, &mut StderrProgress { verbose })
            }
            BackendKind::Local => {
                let repo = std::env::current_dir().unwrap_or_default();
                let app = std::env::current_exe().map_err(|e| {
                    CliError::infrastructure(format!("cannot find the zonechaos binary: {e}"), "")
                })?;
                let binaries = crate::backend::local::Binaries::find(app, &repo).map_err(|e| {
                    CliError::infrastructure(
                        e,
                        "scripts/install-deps.sh installs Envoy and Prometheus",
                    )
                })?;
                if !quiet {
                    super::eprint_line(&format!(
                        "running {} on the local backend (real Envoy {}, Prometheus {}, echo and load processes; wall clock)",
                        suite.name,
                        binaries.envoy.display(),
                        binaries.prometheus.display()
                    ));
                }
                let starting = std::time::Instant::now();
                let mut backend = crate::backend::local::LocalBackend::start(&suite, binaries)
                    .map_err(|e| {
                        CliError::infrastructure(
                            format!("local backend did not start: {e}"),
                            "scripts/install-deps.sh installs what is missing",
                        )
                    })?;
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
                let mut report = runner::run(&suite, &mut backend, &mut StderrProgress { verbose });
                report.queries = crate::backend::local::LocalBackend::queries();
                if !quiet {
                    let wall = ran.elapsed().as_secs_f64();
                    let cpu = crate::process::own_cpu_seconds() - cpu_before;
                    super::eprint_line(&format!(
                        "harness CPU while the suite ran: {cpu:.2} s in {wall:.1} s wall ({:.1}% of one core; children not counted)",
                        100.0 * cpu / wall.max(0.001)
                    ));
                }
                report
            }
        };
        super::lint::write_output(
            None,
            &crate::report::summary(&report, super::stdout_color()),
        )?;
        let paths = crate::report::write_all(&report, &args.report_dir).map_err(|e| {
            CliError::usage(
                format!("cannot write reports to {}: {e}", args.report_dir.display()),
                "pass --report-dir with a writable directory",
            )
        })?;
        if !quiet {
            super::eprint_line(&format!(
                "reports: {}, {}, {}",
                paths.junit.display(),
                paths.json.display(),
                paths.html.display()
            ));
        }
        let status = match report.verdict {
            Verdict::Passed => Status::Clean,
            Verdict::Failed => Status::Findings,
            Verdict::Error => Status::Infrastructure,
        };
        if status.code() > worst.code() {
            worst = status;
        }
    }
    Ok(worst)
}
