//! `run --backend kind|existing`: the suites against a real cluster
//! through a [`KubeSession`] (see [`crate::backend::kube::session`]).

use super::CliError;
use super::run_args::{BackendKind, RunArgs, progress};
use crate::backend::kube::guard;
use crate::backend::kube::session::{KubeSession, Target, plan};
use crate::report::RunReport;
use crate::report::model::Verdict;
use crate::suite::Suite;
use crate::suite::runner;

fn timing_hint() -> String {
    "set the profile's timing.nodeMonitorGrace to the suite's and create the cluster from it \
     (zonechaos cluster down, then up), or run the suite on sim or local, which take any timing"
        .into()
}

/// Refuses a suite whose node-monitor grace is not `cluster_grace`.
fn refuse_timing(suite: &Suite, cluster_grace: crate::model::SimDuration) -> Result<(), CliError> {
    match suite.timing_mismatch(cluster_grace) {
        Some(reason) => Err(CliError::usage(reason, timing_hint())),
        None => Ok(()),
    }
}

/// Writes the diagnostics of a failed suite under `report_dir`; the
/// directory relative to it, or `None` (said on stderr) when it could not
/// be written.
fn diagnose(
    session: &KubeSession,
    suite: &Suite,
    report_dir: &std::path::Path,
    quiet: bool,
) -> Option<String> {
    let relative = format!("{}/diagnostics", crate::report::file_stem(&suite.name));
    match session.diagnose(suite, &report_dir.join(&relative)) {
        Ok(collected) => {
            if !quiet {
                super::eprint_line(&format!(
                    "diagnostics of {}: {}{}",
                    suite.name,
                    collected.dir.display(),
                    if collected.failed.is_empty() {
                        String::new()
                    } else {
                        format!(" (failed, error inside: {})", collected.failed.join(", "))
                    }
                ));
            }
            Some(relative)
        }
        Err(e) => {
            super::eprint_line(&format!(
                "cannot write the diagnostics of {} under {}: {e}",
                suite.name,
                report_dir.display()
            ));
            None
        }
    }
}

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
                file.as_deref(),
            )
            .map_err(|e| CliError::usage(e.to_string(), "fix or remove the allow-list file"))?;
            let context =
                guard::check_context(context, &allowed, file.as_deref()).map_err(|e| {
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
///
/// A suite whose timing the cluster does not run with is refused (exit 2)
/// by `run`, and skipped (reported, every step skipped with the reason) by
/// `conformance` (`skip_mismatched`), which runs every suite on one cluster.
pub fn run_on_cluster(
    args: &RunArgs,
    suites: &[Suite],
    quiet: bool,
    verbose: bool,
    skip_mismatched: bool,
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
    // Refused before a cluster is touched (issue 11 items 7 and 8; a kind
    // cluster gets its profile's grace, checked again on the live cluster).
    for suite in suites {
        super::run::refuse_short_windows(
            suite,
            crate::backend::kube::backend::KubeBackend::TELEMETRY,
            target.name(),
        )?;
        if let (Target::Kind(cluster), false) = (&target, skip_mismatched) {
            refuse_timing(suite, cluster.profile().node_monitor_grace())?;
        }
    }
    if let Target::Kind(cluster) = &target {
        super::cluster::require_ready(cluster)?;
    }
    let target_name = target.name();
    let session =
        KubeSession::open(target, &args.namespace, args.existing.image.clone()).map_err(|e| {
            CliError::infrastructure(
                e.to_string(),
                "zonechaos run --plan shows every step; zonechaos cluster status tells what exists",
            )
        })?;
    // An unreadable grace (no kube-system read access on an existing
    // cluster) is said, not fatal: it only guards the suites' timing.
    let grace = session.node_monitor_grace().unwrap_or_else(|e| {
        if !quiet {
            super::eprint_line(&format!(
                "cannot read the cluster's node-monitor grace: {e}"
            ));
        }
        None
    });
    if grace.is_none() && !quiet {
        super::eprint_line(
            "the cluster's node-monitor grace period is unknown (a managed control plane \
             shows no kube-controller-manager pod): the suites' timing is not checked",
        );
    }
    // From here SIGINT/SIGTERM end the run in order (crate::interrupt): the
    // suite's steps left are skipped, its finally steps run (a restore
    // uncordons what the harness cordoned), then the namespace is deleted
    // and a kind cluster the run created with it.
    if let Err(e) = crate::interrupt::install() {
        let _ = session.close();
        return Err(CliError::infrastructure(
            format!("cannot catch SIGINT/SIGTERM: {e}"),
            "",
        ));
    }
    let mut reports = Vec::new();
    let mut failure = None;
    for suite in suites {
        if crate::interrupt::received().is_some() {
            break;
        }
        if let Some(reason) = grace.and_then(|g| suite.timing_mismatch(g)) {
            if skip_mismatched {
                reports.push(runner::skipped(suite, target_name, &reason));
                continue;
            }
            failure = Some(CliError::usage(reason, timing_hint()));
            break;
        }
        match session.deploy(suite) {
            Ok(mut backend) => {
                let fidelity = session.compare_proxies(suite);
                let mut report = runner::run(suite, &mut backend, &mut progress(verbose));
                report.fidelity = Some(fidelity);
                report.queries = crate::backend::kube::backend::KubeBackend::queries();
                drop(backend);
                if matches!(report.verdict, Verdict::Failed | Verdict::Error) {
                    report.diagnostics = diagnose(&session, suite, &args.report_dir, quiet);
                }
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
