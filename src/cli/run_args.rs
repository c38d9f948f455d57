//! The arguments of `zonechaos run` and `conformance`, and the progress
//! lines they print: shared by the run on the model or local processes
//! (`run.rs`) and the run on a cluster (`kube.rs`), which thus do not
//! import each other's internals.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::suite::runner::Progress;

/// The rungs of the ladder `run` can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendKind {
    /// The model alone, on a virtual clock (milliseconds).
    Sim,
    /// The model as control plane, real Envoy + Prometheus + echo/load processes (wall clock).
    Local,
    /// A kind cluster the harness creates: real Istio, Argo Rollouts, Prometheus (Docker and kind needed).
    Kind,
    /// A cluster the harness did not create (an allow-listed kubeconfig context).
    Existing,
}

/// Arguments of `zonechaos run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Suite files, or directories of them.
    #[arg(required = true, value_name = "SUITE")]
    pub suites: Vec<PathBuf>,
    /// Where to run.
    #[arg(long, value_enum, default_value = "sim")]
    pub backend: BackendKind,
    /// Directory for JUnit, JSON and HTML reports.
    #[arg(long, value_name = "DIR", default_value = "reports")]
    pub report_dir: PathBuf,
    /// Override the suite's seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// kind/existing: print every action the run would take (cluster
    /// commands, applies, API calls per step) and exit.
    #[arg(long)]
    pub plan: bool,
    /// kind/existing: the harness's namespace (must start with `zonechaos`).
    #[arg(long, value_name = "NS", default_value = crate::backend::kube::render::HARNESS_NAMESPACE)]
    pub namespace: String,
    /// The kind cluster (`--backend kind`).
    #[command(flatten)]
    pub kind: super::cluster::KindArgs,
    /// The existing cluster (`--backend existing`).
    #[command(flatten)]
    pub existing: ExistingArgs,
}

/// Flags of `--backend existing`.
#[derive(Debug, Args)]
pub struct ExistingArgs {
    /// Kubeconfig context to run against (must be allow-listed).
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
    /// Allow chaos against this context (repeatable; also
    /// ZONECHAOS_ALLOWED_CONTEXTS and ~/.config/zonechaos/allowed-contexts).
    #[arg(long, value_name = "NAME")]
    pub allow_context: Vec<String>,
    /// Kubeconfig file (default $KUBECONFIG or ~/.kube/config; only read).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// The harness image the cluster's nodes can pull (existing clusters).
    #[arg(long, value_name = "IMAGE")]
    pub image: Option<String>,
}

/// Step lines on stderr with `-v` (the summary table follows on stdout).
#[derive(Debug)]
pub struct StderrProgress {
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

/// Step lines on stderr with `-v` (the summary table follows on stdout).
pub fn progress(verbose: bool) -> StderrProgress {
    StderrProgress { verbose }
}
