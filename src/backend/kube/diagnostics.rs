//! What a failed kind or existing-cluster run leaves for the person who
//! has to find out why: one file per question, written into
//! `<report dir>/<suite>/diagnostics/` before the namespace is deleted,
//! and linked from the HTML report.
//!
//! Every file is the output of one `kubectl` or `istioctl` command, run
//! through the same [`CommandRunner`] as the cluster plans. A command that
//! fails leaves its error in its file; collection never stops a run or
//! hides its verdict.

use std::path::{Path, PathBuf};

use crate::backend::kube::cluster::actions::MONITORING_NAMESPACE;
use crate::backend::kube::cluster::{CommandRunner, PlannedCommand, Tool};
use crate::backend::kube::render::loadgen::{LOADGEN_ROLE, ROLE_LABEL};
use crate::backend::kube::render::prometheus::PROMETHEUS_PORT;

/// How kubectl and istioctl reach the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClusterAccess {
    /// The harness's own kubeconfig (kind).
    Kubeconfig(PathBuf),
    /// A context of the user's kubeconfig (existing clusters).
    Context {
        /// The allow-listed context.
        context: String,
        /// `--kubeconfig`, when given.
        kubeconfig: Option<PathBuf>,
    },
}

impl ClusterAccess {
    /// The flags both tools take.
    fn flags(&self) -> Vec<String> {
        match self {
            ClusterAccess::Kubeconfig(path) => {
                vec!["--kubeconfig".into(), path.display().to_string()]
            }
            ClusterAccess::Context {
                context,
                kubeconfig,
            } => {
                let mut flags = vec!["--context".into(), context.clone()];
                if let Some(path) = kubeconfig {
                    flags.extend(["--kubeconfig".into(), path.display().to_string()]);
                }
                flags
            }
        }
    }
}

/// One file of the diagnostics and the command that fills it.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    /// File name inside the diagnostics directory.
    pub file: String,
    /// The command whose output it holds.
    pub command: PlannedCommand,
}

/// `tool args` reaching the cluster through `access`.
pub fn command_for(
    access: &ClusterAccess,
    tool: Tool,
    args: &[&str],
    purpose: &str,
) -> PlannedCommand {
    let mut command = PlannedCommand::new(tool, args, purpose);
    command.args.extend(access.flags());
    if let ClusterAccess::Kubeconfig(path) = access {
        // As the plans do: never fall back to ~/.kube/config.
        command
            .env
            .insert("KUBECONFIG".into(), path.display().to_string());
    }
    command
}

fn diagnostic(
    access: &ClusterAccess,
    file: impl Into<String>,
    tool: Tool,
    args: &[&str],
    purpose: &str,
) -> Diagnostic {
    Diagnostic {
        file: file.into(),
        command: command_for(access, tool, args, purpose),
    }
}

/// The diagnostics of a run in `namespace` whose load clients are the
/// Deployments `load_clients`.
pub fn plan(access: &ClusterAccess, namespace: &str, load_clients: &[String]) -> Vec<Diagnostic> {
    use Tool::{Istioctl, Kubectl};
    let clients = format!("{ROLE_LABEL}={LOADGEN_ROLE}");
    let targets = format!(
        "/api/v1/namespaces/{MONITORING_NAMESPACE}/services/prometheus:{PROMETHEUS_PORT}/proxy/api/v1/targets"
    );
    let mut out = vec![
        diagnostic(
            access,
            "nodes.txt",
            Kubectl,
            &["get", "nodes", "-o", "wide", "--show-labels"],
            "nodes, their labels and readiness",
        ),
        diagnostic(
            access,
            "nodes-describe.txt",
            Kubectl,
            &["describe", "nodes"],
            "node conditions, taints and pods",
        ),
        diagnostic(
            access,
            "events.txt",
            Kubectl,
            &["get", "events", "-A", "--sort-by=.lastTimestamp"],
            "events of every namespace, oldest first",
        ),
        diagnostic(
            access,
            "pods.txt",
            Kubectl,
            &["get", "pods", "-A", "-o", "wide"],
            "pods with their nodes",
        ),
        diagnostic(
            access,
            "rollouts.txt",
            Kubectl,
            &["-n", namespace, "describe", "rollouts.argoproj.io"],
            "the Rollouts, described",
        ),
        diagnostic(
            access,
            "istiod.log",
            Kubectl,
            &["-n", "istio-system", "logs", "deploy/istiod", "--tail=2000"],
            "istiod's log",
        ),
        diagnostic(
            access,
            "argo-rollouts.log",
            Kubectl,
            &[
                "-n",
                "argo-rollouts",
                "logs",
                "deploy/argo-rollouts",
                "--tail=2000",
            ],
            "the Argo Rollouts controller's log",
        ),
        diagnostic(
            access,
            "load-clients.log",
            Kubectl,
            &[
                "-n",
                namespace,
                "logs",
                "-l",
                &clients,
                "--all-containers",
                "--prefix",
                "--tail=500",
            ],
            "the load clients' logs (application and sidecar)",
        ),
        diagnostic(
            access,
            "prometheus.log",
            Kubectl,
            &[
                "-n",
                MONITORING_NAMESPACE,
                "logs",
                "deploy/prometheus",
                "--tail=2000",
            ],
            "Prometheus's log",
        ),
        diagnostic(
            access,
            "prometheus-targets.json",
            Kubectl,
            &["get", "--raw", &targets],
            "Prometheus's scrape targets and their health",
        ),
    ];
    for client in load_clients {
        let target = format!("deploy/{client}");
        out.push(diagnostic(
            access,
            format!("endpoints-{client}.json"),
            Istioctl,
            &[
                "proxy-config",
                "endpoint",
                &target,
                "-n",
                namespace,
                "-o",
                "json",
            ],
            "the endpoints, priorities and health this load client's Envoy really has",
        ));
    }
    out
}

/// What was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collected {
    /// The directory.
    pub dir: PathBuf,
    /// Files whose command failed (their error is in the file).
    pub failed: Vec<String>,
    /// Files written.
    pub files: Vec<String>,
}

/// Runs every diagnostic into `dir` (created), plus `index.txt` naming
/// each file's command. An existing directory's files are replaced.
pub fn collect(
    diagnostics: &[Diagnostic],
    runner: &dyn CommandRunner,
    dir: &Path,
) -> std::io::Result<Collected> {
    std::fs::create_dir_all(dir)?;
    let mut index = String::new();
    let mut failed = Vec::new();
    let mut files = Vec::new();
    for d in diagnostics {
        let line = d.command.command_line();
        let text = match runner.run(&d.command) {
            Ok(output) if output.success() => output.stdout,
            Ok(output) => {
                failed.push(d.file.clone());
                format!(
                    "$ {line}\nexit {}\n{}{}",
                    output
                        .code
                        .map_or_else(|| "by a signal".to_owned(), |c| c.to_string()),
                    output.stdout,
                    output.stderr
                )
            }
            Err(e) => {
                failed.push(d.file.clone());
                format!("$ {line}\ncould not start: {e}\n")
            }
        };
        std::fs::write(dir.join(&d.file), text)?;
        index.push_str(&format!("{}\t{}\t$ {line}\n", d.file, d.command.purpose));
        files.push(d.file.clone());
    }
    std::fs::write(dir.join("index.txt"), index)?;
    files.push("index.txt".into());
    Ok(Collected {
        dir: dir.to_owned(),
        failed,
        files,
    })
}
