//! `run --backend kind|existing`: the suites against a real cluster
//! through a [`KubeSession`] (see [`crate::backend::kube::session`]).

use super::CliError;
use super::run_args::{BackendKind, RunArgs, progress};
use crate::backend::kube::guard;
use crate::backend::kube::session::{KubeSession, Target, plan};
use crate::report::RunReport;
use crate::suite::Suite;
use crate::suite::runner;

fn target(args: &RunArgs) -> Result<Target, CliError> {
    match args.backend {
        BackendKind::Kind => Ok(Target::Kind(Box::new(super::cluster::cluster_from_args(
            &args.kind,
        )?))),
        _ => {
            let context = args.existing.context.as_deref().ok_or_else(|| {
                CliError::usage(
                    "--backend existing needs --context NAME",
                    "name the kubeconfig context to run against; it must be allow-listed (--allow-context)",
                )
            })?;
            // Refused before anything, --plan included: a plan for a context
            // that may not be touched is a plan for an accident.
            let file = guard::default_allow_file();
            let allowed = guard::allow_list(
                &args.existing.allow_context,
                std::env::var(guard::ALLOW_ENV).ok().as_deref(),
                &file,
            )
            .map_err(|e| CliError::usage(e.to_string(), "fix or remove the allow-list file"))?;
            let context = guard::check_context(context, &allowed, &file).map_err(|e| {
                CliError::usage(
                    e.to_string(),
                    "chaos runs only against contexts you allow-listed",
                )
            })?;
            Ok(Target::Existing {
                context,
                kubeconfig: args.existing.kubeconfig.clone(),
            })
        }
    }
}

/// Runs the suites on the cluster; `None` when `--plan` only printed the plan.
pub fn run_on_cluster(
    args: &RunArgs,
    suites: &[Suite],
    quiet: bool,
    verbose: bool,
) -> Result<Option<Vec<RunReport>>, CliError> {
    let target = target(args)?;
    guard::check_namespace(&args.namespace, None).map_err(|e| {
        CliError::usage(
            e.to_string(),
            "pass --namespace zonechaos (or zonechaos-<something>)",
        )
    })?;
    if args.plan {
        super::lint::write_output(None, &plan(&target, &args.namespace, suites))?;
        return Ok(None);
    }
    if !quiet {
        super::eprint_line(&format!(
            "running {} suite(s) on the {} backend (real Kubernetes, Istio, Argo Rollouts, Prometheus; wall clock)",
            suites.len(),
            target.name()
        ));
    }
    // Refused before a cluster is touched (issue 11 item 7).
    for suite in suites {
        super::run::refuse_short_windows(
            suite,
            crate::backend::kube::backend::KubeBackend::TELEMETRY,
            target.name(),
        )?;
    }
    let session =
        KubeSession::open(target, &args.namespace, args.existing.image.clone()).map_err(|e| {
            CliError::infrastructure(
                e.to_string(),
                "zonechaos run --plan shows every step; zonechaos cluster status tells what exists",
            )
        })?;
    let mut reports = Vec::new();
    let mut failure = None;
    for suite in suites {
        match session.deploy(suite) {
            Ok(mut backend) => {
                let mut report = runner::run(suite, &mut backend, &mut progress(verbose));
                report.queries = crate::backend::kube::backend::KubeBackend::queries();
                drop(backend);
                reports.push(report);
            }
            Err(e) => {
                failure = Some(CliError::infrastructure(
                    format!("suite {}: {e}", suite.name),
                    "the cluster is kept for inspection only with --keep",
                ));
            }
        }
        // Each suite starts from an empty namespace.
        if let Err(e) = session.clean() {
            failure.get_or_insert(CliError::infrastructure(e.to_string(), ""));
        }
        if failure.is_some() {
            break;
        }
    }
    let closed = session.close();
    if let Some(f) = failure {
        return Err(f);
    }
    closed.map_err(|e| {
        CliError::infrastructure(e.to_string(), "zonechaos cluster down deletes it")
    })?;
    Ok(Some(reports))
}
