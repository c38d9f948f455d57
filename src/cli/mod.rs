//! The `zonechaos` command line: argument parsing, logging, exit codes.
//!
//! `main.rs` only calls [`main`]; each subcommand lives in its own file
//! (`lint.rs`, `rules.rs`) and returns a [`Status`] or a [`CliError`].
//! Nothing here panics on bad input: every failure becomes `error: ...`
//! with a hint on stderr and exit code 2 (bad input or usage) or 3
//! (infrastructure).

pub mod app;
pub mod cluster;
pub mod crds;
pub mod kube;
pub mod lint;
pub mod proxy_config;
pub mod render;
pub mod rules;
pub mod run;
pub mod run_args;
pub mod whatif;

use std::fmt;
use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::{ArgAction, Parser, Subcommand};
use tracing_subscriber::EnvFilter;

/// Exit status of a `zonechaos` run (DESIGN.md, Conventions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// 0: nothing at or above the failure threshold.
    Clean,
    /// 1: findings at or above the failure threshold.
    Findings,
    /// 2: bad input or usage.
    BadInput,
    /// 3: infrastructure failure (tool missing, cluster down, stdout not
    /// writable).
    Infrastructure,
    /// 130 (SIGINT) or 143 (SIGTERM): the run was stopped early, its
    /// finally steps run and its report marked interrupted.
    Interrupted(crate::interrupt::Signal),
}

impl Status {
    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            Status::Clean => 0,
            Status::Findings => 1,
            Status::BadInput => 2,
            Status::Infrastructure => 3,
            Status::Interrupted(signal) => signal.exit_code(),
        }
    }
}

impl From<Status> for ExitCode {
    fn from(status: Status) -> ExitCode {
        ExitCode::from(status.code())
    }
}

/// A failure to report to the user: `error: message` and `  hint: hint`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliError {
    /// Exit status (2 or 3).
    pub status: Status,
    /// What went wrong, naming the path or value concerned.
    pub message: String,
    /// How to fix it.
    pub hint: String,
}

impl CliError {
    /// Bad input or usage (exit 2).
    pub fn usage(message: impl Into<String>, hint: impl Into<String>) -> CliError {
        CliError {
            status: Status::BadInput,
            message: message.into(),
            hint: hint.into(),
        }
    }

    /// Infrastructure failure (exit 3).
    pub fn infrastructure(message: impl Into<String>, hint: impl Into<String>) -> CliError {
        CliError {
            status: Status::Infrastructure,
            message: message.into(),
            hint: hint.into(),
        }
    }
}

impl CliError {
    /// The same error with `context: ` before its message.
    pub fn context(mut self, context: &str) -> CliError {
        self.message = format!("{context}: {}", self.message);
        self
    }
}

impl From<crate::backend::BackendError> for CliError {
    /// A backend's error keeps its hint and its exit status.
    fn from(e: crate::backend::BackendError) -> CliError {
        let (message, hint) = (e.to_string(), e.hint());
        match e.exit_code() {
            2 => CliError::usage(message, hint),
            _ => CliError::infrastructure(message, hint),
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The last line of defence against echoing a whole value back.
        write!(f, "error: {}", crate::spec::cut_echoes(&self.message))?;
        if !self.hint.is_empty() {
            write!(f, "\n  hint: {}", crate::spec::cut_echoes(&self.hint))?;
        }
        Ok(())
    }
}

impl std::error::Error for CliError {}

const AFTER_HELP: &str = "\
Exit codes: 0 clean, 1 findings at or above --fail-on, 2 bad input or usage, 3 infrastructure failure.
Logging: -v info, -vv debug, -q errors only (default: warnings); RUST_LOG overrides.

Backends: sim (the model), local (real Envoy + Prometheus processes), kind (a kind cluster with
Istio, Argo Rollouts, Prometheus; needs Docker) and existing (an allow-listed context); see README.
render writes deployable manifests; cluster up|down|status manages the harness's kind cluster;
conformance runs many suites into one combined report; crds fetch caches the CRDs lint checks against.";

/// `zonechaos`: chaos and conformance harness for zone-aware progressive
/// delivery on Kubernetes.
#[derive(Debug, Parser)]
#[command(
    name = "zonechaos",
    version,
    about = "Chaos and conformance harness for zone-aware progressive delivery on Kubernetes",
    long_about = "Chaos and conformance harness for zone-aware progressive delivery on Kubernetes \
                  (Argo Rollouts per zone, Istio locality routing, PodDisruptionBudgets per zone, \
                  Spot capacity that can vanish a zone at a time).",
    after_help = AFTER_HELP,
    arg_required_else_help = true,
    propagate_version = true
)]
pub struct Cli {
    /// More log output on stderr (-v info, -vv debug); `lint -v` also
    /// reports objects of kinds zonechaos does not model.
    #[arg(short, long, action = ArgAction::Count, global = true, conflicts_with = "quiet", help_heading = "Global options")]
    pub verbose: u8,
    /// Only log errors on stderr.
    #[arg(short, long, global = true, help_heading = "Global options")]
    pub quiet: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check manifests statically against a cluster profile (and CRD schemas).
    Lint(lint::LintArgs),
    /// List the lint rules: ID, severity, name, summary.
    Rules,
    /// Run suites (waits, chaos steps, assertions) and write reports.
    Run(run_args::RunArgs),
    /// Run every suite of the given files or directories on one backend and
    /// write one combined report (`conformance.junit.xml`, `.json`, `.html`)
    /// beside each suite's own.
    Conformance(run_args::RunArgs),
    /// Predict losing zones: routes, serving zones, errors, PDBs, Rollouts, failover latency.
    Whatif(whatif::WhatIfArgs),
    /// What istiod would send each client zone's proxy (routes, clusters, endpoints with
    /// locality, priority, weight, health and ejection), in the shape of `istioctl proxy-config`.
    ProxyConfig(proxy_config::ProxyConfigArgs),
    /// Test backend: HTTP echo of zone, pod and version, with faults, /healthz and /metrics.
    #[command(disable_version_flag = true)]
    Echo(app::EchoArgs),
    /// Open-loop HTTP load generator recording serving zones; exports /metrics.
    Loadgen(app::LoadgenArgs),
    /// Write the deployable manifests of a topology plus the echo app, load clients and Prometheus.
    Render(render::RenderArgs),
    /// Create, delete or inspect the harness's kind cluster (Istio, Argo Rollouts, Prometheus).
    Cluster(cluster::ClusterArgs),
    /// Check this machine for the kind backend before anything is created: Docker engine,
    /// its CPUs, memory and disk, kind, kubectl, istioctl, inotify limits, the Argo pin
    /// (exit 0 ready, 3 not).
    Doctor(cluster::KindArgs),
    /// Download the pinned Istio and Argo Rollouts CRDs lint validates against, or show the cache.
    Crds(crds::CrdsArgs),
}

/// The log level for the given flags (`RUST_LOG` aside).
pub fn log_level(verbose: u8, quiet: bool) -> tracing::Level {
    match (quiet, verbose) {
        (true, _) => tracing::Level::ERROR,
        (false, 0) => tracing::Level::WARN,
        (false, 1) => tracing::Level::INFO,
        (false, 2) => tracing::Level::DEBUG,
        (false, _) => tracing::Level::TRACE,
    }
}

/// True when stdout is a terminal and `NO_COLOR` is unset or empty.
pub fn stdout_color() -> bool {
    std::io::stdout().is_terminal() && no_color_unset()
}

fn no_color_unset() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Logs to stderr: the flags' level, unless `RUST_LOG` is set and valid.
fn init_logging(verbose: u8, quiet: bool) {
    let level = log_level(verbose, quiet);
    let mut bad_rust_log = None;
    let filter = match std::env::var("RUST_LOG") {
        Ok(spec) if !spec.trim().is_empty() => match EnvFilter::try_new(&spec) {
            Ok(filter) => filter,
            Err(err) => {
                bad_rust_log = Some(format!("ignoring RUST_LOG={spec:?}: {err}"));
                EnvFilter::new(level.as_str())
            }
        },
        _ => EnvFilter::new(level.as_str()),
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal() && no_color_unset())
        .without_time()
        .with_target(false)
        .try_init();
    if let Some(message) = bad_rust_log {
        tracing::warn!("{message}");
    }
}

/// Writes to stderr, ignoring failures (a closed stderr must not panic).
pub(crate) fn eprint_line(text: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "{text}");
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> Result<Status, CliError> {
    match cli.command {
        Command::Lint(args) => lint::run(&args, cli.verbose > 0),
        Command::Rules => rules::run(),
        Command::Whatif(args) => whatif::run(&args),
        Command::Run(args) => run::run(&args, cli.quiet, cli.verbose > 0),
        Command::Conformance(args) => {
            run::run_all(&args, cli.quiet, cli.verbose > 0, Some("conformance"))
        }
        Command::ProxyConfig(args) => proxy_config::run(&args),
        Command::Echo(args) => app::run_echo(&args),
        Command::Loadgen(args) => app::run_loadgen(&args),
        Command::Render(args) => render::run(&args),
        Command::Cluster(args) => cluster::run(&args),
        Command::Doctor(args) => cluster::doctor(&args),
        Command::Crds(args) => crds::run(&args),
    }
}

/// Entry point of the binary: parses `std::env::args`, runs, and turns the
/// outcome into an exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // --help and --version are "errors" with exit code 0; usage
            // errors exit 2. Printing may fail (closed pipe): ignore.
            let _ = err.print();
            return ExitCode::from(u8::try_from(err.exit_code()).unwrap_or(2));
        }
    };
    init_logging(cli.verbose, cli.quiet);
    match run(cli) {
        Ok(status) => status.into(),
        Err(err) => {
            eprint_line(&err.to_string());
            err.status.into()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn exit_codes() {
        let codes: Vec<u8> = [
            Status::Clean,
            Status::Findings,
            Status::BadInput,
            Status::Infrastructure,
        ]
        .into_iter()
        .map(Status::code)
        .collect();
        assert_eq!(codes, [0, 1, 2, 3]);
    }

    #[test]
    fn verbosity_flags_map_to_levels() {
        assert_eq!(log_level(0, false), tracing::Level::WARN);
        assert_eq!(log_level(1, false), tracing::Level::INFO);
        assert_eq!(log_level(2, false), tracing::Level::DEBUG);
        assert_eq!(log_level(0, true), tracing::Level::ERROR);
    }

    #[test]
    fn verbose_and_quiet_conflict() {
        let err = Cli::try_parse_from(["zonechaos", "-v", "-q", "rules"]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        let cli = Cli::try_parse_from(["zonechaos", "lint", "x.yaml", "-vv"]).unwrap();
        assert_eq!(cli.verbose, 2);
    }

    #[test]
    fn every_subcommand_of_the_design_exists() {
        let help = Cli::command().render_long_help().to_string();
        assert!(!help.contains("Planned, not in this version"), "{help}");
        for now in [
            "lint",
            "whatif",
            "run",
            "render",
            "cluster",
            "conformance",
            "crds",
        ] {
            let err = Cli::try_parse_from(["zonechaos", now]).unwrap_err();
            assert_ne!(
                err.kind(),
                clap::error::ErrorKind::InvalidSubcommand,
                "{now}"
            );
        }
        assert_eq!(
            Cli::try_parse_from(["zonechaos", "chaos-monkey"])
                .unwrap_err()
                .kind(),
            clap::error::ErrorKind::InvalidSubcommand
        );
    }

    #[test]
    fn error_display_has_hint_line() {
        let err = CliError::usage("cannot read x.yaml", "check the path");
        assert_eq!(
            err.to_string(),
            "error: cannot read x.yaml\n  hint: check the path"
        );
        assert_eq!(CliError::infrastructure("m", "").to_string(), "error: m");
    }
}
