//! `zonechaos cluster up|down|status`: the harness's kind cluster (see
//! [`crate::backend::kube::cluster`]).

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::lint::load_profile;
use super::{CliError, Status};
use crate::backend::kube::cluster::doctor::{Needs, SystemHost};
use crate::backend::kube::cluster::{
    ClusterError, ClusterName, ClusterOptions, ClusterSize, ImageSource, KindCluster, StepOutcome,
    SystemRunner,
};

/// What to do with the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ClusterAction {
    /// Create it (or reuse it) and install Istio, Argo Rollouts, Prometheus and the harness image.
    Up,
    /// Delete it.
    Down,
    /// Say whether it exists; list its nodes and infrastructure (exit 3 when it does not exist).
    Status,
}

/// Arguments of `zonechaos cluster`.
#[derive(Debug, Args)]
pub struct ClusterArgs {
    /// up, down or status.
    #[arg(value_enum)]
    pub action: ClusterAction,
    /// Print the plan (every command and its arguments) and exit without running it.
    #[arg(long, alias = "dry-run")]
    pub plan: bool,
    /// Which cluster and how to treat it.
    #[command(flatten)]
    pub kind: KindArgs,
}

/// The kind cluster's flags, shared by `cluster` and `run --backend kind`.
#[derive(Debug, Args)]
pub struct KindArgs {
    /// Cluster profile (default `clusters/three-zones.yaml`, else the built-in copy).
    #[arg(long, value_name = "FILE")]
    pub profile: Option<PathBuf>,
    /// One worker per zone (laptops) instead of every node of the profile.
    #[arg(long)]
    pub small: bool,
    /// Cluster name (must start with `zonechaos-`; default `zonechaos-<profile>[-small]`).
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Use an existing cluster of that name instead of refusing.
    #[arg(long)]
    pub reuse: bool,
    /// Keep the cluster when `up` fails (default: a cluster `up` created is deleted again).
    #[arg(long)]
    pub keep: bool,
    /// Directory of kubeconfigs, generated files and downloads (default ~/.cache/zonechaos).
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Docker build context with the Dockerfile (default: the current directory).
    #[arg(long, value_name = "DIR")]
    pub build_context: Option<PathBuf>,
    /// Compile the harness image from the checkout's Dockerfile inside
    /// Docker instead of copying this binary into it (the default on Linux).
    #[arg(long)]
    pub image_from_source: bool,
}

fn cluster_error(err: ClusterError) -> CliError {
    let hint = err.hint();
    if err.is_infrastructure() {
        CliError::infrastructure(err.to_string(), hint)
    } else {
        CliError::usage(err.to_string(), hint)
    }
}

/// Builds the cluster object from the flags.
pub fn cluster_from_args(args: &KindArgs) -> Result<KindCluster, CliError> {
    let profile = load_profile(args.profile.as_deref())?;
    let name = args
        .name
        .as_deref()
        .map(ClusterName::parse)
        .transpose()
        .map_err(cluster_error)?;
    let options = ClusterOptions {
        size: if args.small {
            ClusterSize::Small
        } else {
            ClusterSize::Full
        },
        name,
        cache_dir: args.cache_dir.clone(),
        project_dir: args.build_context.clone(),
        image_source: args.image_from_source.then_some(ImageSource::Checkout),
        reuse: args.reuse,
        keep: args.keep,
        ..ClusterOptions::default()
    };
    KindCluster::new(&profile, options).map_err(cluster_error)
}

/// `zonechaos doctor`: prints every check; exit 3 when one failed.
pub fn doctor(args: &KindArgs) -> Result<Status, CliError> {
    let cluster = cluster_from_args(args)?;
    let report = cluster.doctor(&SystemRunner::new(), &SystemHost);
    super::lint::write_output(
        None,
        &format!(
            "{} ({} nodes)\n{report}",
            cluster.name(),
            Needs::of(cluster.profile(), cluster.size()).nodes
        ),
    )?;
    Ok(if report.ready() {
        Status::Clean
    } else {
        Status::Infrastructure
    })
}

/// Runs the doctor before a cluster is created: its report on stderr when
/// a check failed, then an error (exit 3) naming the failures.
pub fn require_ready(cluster: &KindCluster) -> Result<(), CliError> {
    let report = cluster.doctor(&SystemRunner::new(), &SystemHost);
    if report.ready() {
        return Ok(());
    }
    super::eprint_line(&report.to_string());
    Err(CliError::infrastructure(
        format!("this machine is not ready for kind: {}", report.failures()),
        "fix the FAIL lines of the doctor's report above, then run `zonechaos doctor` again",
    ))
}

/// Runs the action.
pub fn run(args: &ClusterArgs) -> Result<Status, CliError> {
    let cluster = cluster_from_args(&args.kind)?;
    if args.plan {
        let plan = match args.action {
            ClusterAction::Up => cluster.up_plan().map_err(cluster_error)?,
            ClusterAction::Down => cluster.down_plan(),
            ClusterAction::Status => cluster.status_plan(),
        };
        super::lint::write_output(None, &plan.display())?;
        return Ok(Status::Clean);
    }
    let runner = SystemRunner::new();
    match args.action {
        ClusterAction::Up => {
            require_ready(&cluster)?;
            let report = cluster.up(&runner).map_err(cluster_error)?;
            let skipped = report
                .steps
                .iter()
                .filter(|(_, o)| matches!(o, StepOutcome::Skipped(_)))
                .count();
            super::lint::write_output(
                None,
                &format!(
                    "kind cluster {} is up ({} steps, {skipped} skipped as already done)\n\
                     kubeconfig: {}\ndelete it with: zonechaos cluster down --name {}\n",
                    cluster.name(),
                    report.steps.len(),
                    cluster.kubeconfig(),
                    cluster.name()
                ),
            )?;
            Ok(Status::Clean)
        }
        ClusterAction::Down => {
            let report = cluster.down(&runner).map_err(cluster_error)?;
            let deleted = report
                .steps
                .iter()
                .any(|(_, o)| matches!(o, StepOutcome::Done { .. }));
            let what = if deleted { "deleted" } else { "did not exist" };
            super::lint::write_output(None, &format!("kind cluster {}: {what}\n", cluster.name()))?;
            Ok(Status::Clean)
        }
        ClusterAction::Status => {
            let status = cluster.status(&runner).map_err(cluster_error)?;
            let mut text = format!(
                "kind cluster {}: {}\nkubeconfig: {} ({})\n",
                cluster.name(),
                if status.exists {
                    "exists"
                } else {
                    "does not exist"
                },
                cluster.kubeconfig(),
                if status.kubeconfig_exists {
                    "present"
                } else {
                    "missing"
                }
            );
            text.push_str(&status.details);
            super::lint::write_output(None, &text)?;
            Ok(if status.exists {
                Status::Clean
            } else {
                Status::Infrastructure
            })
        }
    }
}
