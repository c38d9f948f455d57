//! `zonechaos proxy-config endpoints|clusters|routes|all TOPOLOGY...
//! [--client-zone Z] [--suite FILE --after-step N] [--format text|json]`:
//! what istiod would send each client zone's proxy, in the shape of
//! `istioctl proxy-config` ([`crate::mesh::proxy_config`]).

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::lint::{load_profile, write_output};
use super::{CliError, Status};
use crate::backend::sim::SimBackend;
use crate::mesh::proxy::Client;
use crate::mesh::proxy_config::{Observed, ProxyConfig, action_text, proxy_config};
use crate::model::World;
use crate::model::mesh_config::MeshService;
use crate::suite::{Suite, load_suite, runner};
use crate::whatif::{default_target, table};
use crate::zone::Zone;

/// What to print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Section {
    /// Each cluster's endpoints: locality, priority, weight, health, ejection.
    Endpoints,
    /// The clusters the route names: subset, endpoints, outlier detection.
    Clusters,
    /// The route for requests to the target Service and its weighted clusters.
    Routes,
    /// All three.
    All,
}

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Tables, one block per client zone.
    Text,
    /// One JSON document: a list of proxies.
    Json,
}

/// Arguments of `zonechaos proxy-config`.
#[derive(Debug, Args)]
pub struct ProxyConfigArgs {
    /// What to print.
    #[arg(value_enum)]
    pub section: Section,
    /// Manifest files or directories (not with --suite, which names its own).
    #[arg(
        value_name = "PATH",
        required_unless_present = "suite",
        conflicts_with = "suite"
    )]
    pub paths: Vec<PathBuf>,
    /// Only this client zone's proxy (full name or alias) [default: every zone].
    #[arg(long, value_name = "ZONE")]
    pub client_zone: Option<String>,
    /// Take topology, profile, load and seed from this suite, run on sim.
    #[arg(long, value_name = "FILE")]
    pub suite: Option<PathBuf>,
    /// With --suite: the configuration after its first N steps (0: before any).
    #[arg(long, value_name = "N", requires = "suite", default_value_t = 0)]
    pub after_step: usize,
    /// Cluster profile (without --suite) [default: clusters/three-zones.yaml, else built-in].
    #[arg(long, value_name = "FILE", conflicts_with = "suite")]
    pub profile: Option<PathBuf>,
    /// Target Service as namespace/name [default: the suite's load, else the
    /// first VirtualService host].
    #[arg(long, value_name = "NS/NAME")]
    pub service: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Compare the model's view (at the suite's start) with each load
    /// client's real Envoy in a cluster where the suite is deployed, read
    /// with `kubectl exec ... pilot-agent request GET config_dump`; every
    /// difference in route, priority, weight, endpoint count or health is
    /// printed (exit 1 when any, 3 when a proxy cannot be read).
    #[arg(long, requires_all = ["suite", "namespace"])]
    pub compare: bool,
    /// With --compare: the harness namespace the suite is deployed in.
    #[arg(long, value_name = "NS", requires = "compare")]
    pub namespace: Option<String>,
    /// With --compare: the kubeconfig (kind: the harness's own).
    #[arg(long, value_name = "FILE", requires = "compare")]
    pub kubeconfig: Option<PathBuf>,
    /// With --compare: the kubeconfig context.
    #[arg(long, value_name = "NAME", requires = "compare")]
    pub context: Option<String>,
}

/// Runs `proxy-config`.
pub fn run(args: &ProxyConfigArgs) -> Result<Status, CliError> {
    if args.compare {
        return compare_with_cluster(args);
    }
    let proxies = match &args.suite {
        Some(path) => from_suite(args, path)?,
        None => from_topology(args)?,
    };
    let text = match args.format {
        Format::Text => render(&proxies, args.section),
        Format::Json => {
            serde_json::to_string_pretty(&proxies)
                .map_err(|e| CliError::infrastructure(e.to_string(), ""))?
                + "\n"
        }
    };
    write_output(None, &text)?;
    Ok(Status::Clean)
}

/// `--compare`: the suite's load clients' real proxies against the model.
fn compare_with_cluster(args: &ProxyConfigArgs) -> Result<Status, CliError> {
    use crate::backend::kube::cluster::SystemRunner;
    use crate::backend::kube::diagnostics::ClusterAccess;
    use crate::backend::kube::fidelity::{check, model_proxies};
    let (Some(path), Some(namespace)) = (&args.suite, &args.namespace) else {
        return Err(CliError::usage(
            "--compare needs --suite and --namespace",
            "name the suite deployed and its namespace",
        ));
    };
    let suite = load_suite(path)
        .map_err(|e| CliError::usage(format!("{}: {}", e.loc, e.message), e.hint))?;
    let access = match (&args.context, &args.kubeconfig) {
        (Some(context), kubeconfig) => ClusterAccess::Context {
            context: context.clone(),
            kubeconfig: kubeconfig.clone(),
        },
        (None, Some(path)) => ClusterAccess::Kubeconfig(path.clone()),
        (None, None) => {
            return Err(CliError::usage(
                "--compare needs --kubeconfig or --context",
                "kind: --kubeconfig with the harness's kubeconfig (zonechaos cluster status shows it)",
            ));
        }
    };
    let mut proxies = model_proxies(&suite, namespace);
    if let Some(z) = &args.client_zone {
        let zone = suite
            .profile
            .resolve_zone(z)
            .map_err(|e| CliError::usage(e.to_string(), e.hint()))?;
        proxies.retain(|p| p.client_zone == zone);
    }
    let results = check(&SystemRunner::new(), &access, namespace, &suite, &proxies);
    let text = match args.format {
        Format::Text => crate::mesh::proxy_config::fidelity_text(&results),
        Format::Json => {
            serde_json::to_string_pretty(&results)
                .map_err(|e| CliError::infrastructure(e.to_string(), ""))?
                + "\n"
        }
    };
    write_output(None, &text)?;
    Ok(if results.iter().any(|r| r.error.is_some()) {
        Status::Infrastructure
    } else if results.iter().all(|r| r.agrees()) {
        Status::Clean
    } else {
        Status::Findings
    })
}

/// The target named by `--service`, else `fallback`.
fn target(
    world: &World,
    service: Option<&str>,
    fallback: Option<MeshService>,
) -> Result<MeshService, CliError> {
    let Some(s) = service else {
        return fallback.ok_or_else(|| {
            CliError::usage(
                "the topology has no Service to send requests to",
                "add a Service, or pass --service namespace/name",
            )
        });
    };
    let (ns, name) = s.split_once('/').ok_or_else(|| {
        CliError::usage(
            format!("--service '{s}' is not namespace/name"),
            "write e.g. --service default/test",
        )
    })?;
    world.mesh.service(ns, name).cloned().ok_or_else(|| {
        CliError::usage(
            format!("no Service {ns}/{name} in the topology"),
            "pass --service namespace/name of a Service in the topology",
        )
    })
}

/// The zones to show: `--client-zone`, else `all`.
fn client_zones(world: &World, only: Option<&str>, all: Vec<Zone>) -> Result<Vec<Zone>, CliError> {
    match only {
        None => Ok(all),
        Some(z) => {
            let zone = world
                .profile
                .resolve_zone(z)
                .map_err(|e| CliError::usage(e.to_string(), e.hint()))?;
            if all.contains(&zone) {
                Ok(vec![zone])
            } else {
                Err(CliError::usage(
                    format!("no load client in zone {zone}"),
                    "pass one of the suite's load zones",
                ))
            }
        }
    }
}

/// A static topology: every proxy as istiod configures it at the start.
fn from_topology(args: &ProxyConfigArgs) -> Result<Vec<ProxyConfig>, CliError> {
    let profile = load_profile(args.profile.as_deref())?;
    let topology = super::whatif::load_model_topology(&args.paths)?;
    let world = World::new(&topology, &profile, Default::default());
    let target = target(&world, args.service.as_deref(), default_target(&world))?;
    let zones = client_zones(
        &world,
        args.client_zone.as_deref(),
        profile.zone_names().cloned().collect(),
    )?;
    Ok(zones
        .iter()
        .map(|z| {
            let client = Client::new(&world, z, &target.name.namespace, 0.0);
            proxy_config(&world, &client, &target, &Observed::NONE)
        })
        .collect())
}

/// A suite run on sim through its first `--after-step` steps: the proxies
/// then, with the data plane's ejections.
fn from_suite(
    args: &ProxyConfigArgs,
    path: &std::path::Path,
) -> Result<Vec<ProxyConfig>, CliError> {
    let suite = load_suite(path)
        .map_err(|e| CliError::usage(format!("{}: {}", e.loc, e.message), e.hint))?;
    if args.after_step > suite.steps.len() {
        return Err(CliError::usage(
            format!(
                "--after-step {}: {} has {} steps",
                args.after_step,
                path.display(),
                suite.steps.len()
            ),
            "pass a number from 0 (before any step) to the number of steps",
        ));
    }
    let prefix = Suite {
        steps: suite.steps[..args.after_step].to_vec(),
        finally: Vec::new(),
        ..suite.clone()
    };
    let mut backend = SimBackend::new(&prefix);
    let report = runner::run(&prefix, &mut backend, &mut ());
    if let Some(broken) = report
        .steps
        .iter()
        .find(|s| s.status == crate::report::StepStatus::Error)
    {
        return Err(CliError::usage(
            format!(
                "{}:{}: step {} could not run: {}",
                path.display(),
                broken.line,
                broken.index + 1,
                broken.message
            ),
            "fix the step, or stop before it with a smaller --after-step",
        ));
    }
    let world = &backend.world;
    let fallback = world
        .mesh
        .service(&suite.load.namespace, &suite.load.service)
        .cloned();
    let target = target(world, args.service.as_deref(), fallback)?;
    let dp = &backend.data_plane;
    let zones = client_zones(
        world,
        args.client_zone.as_deref(),
        dp.clients.iter().map(|c| c.zone.clone()).collect(),
    )?;
    Ok(dp
        .clients
        .iter()
        .enumerate()
        .filter(|(_, c)| zones.contains(&c.zone))
        .map(|(ci, client)| {
            let observed = Observed {
                ejected: &|view, pod| dp.is_ejected(ci, &view.key, pod, world.now),
                ..Observed::NONE
            };
            proxy_config(world, client, &target, &observed)
        })
        .collect())
}

/// The proxies as tables, one block per client zone.
pub fn render(proxies: &[ProxyConfig], section: Section) -> String {
    let mut out = String::new();
    for p in proxies {
        out.push_str(&format!(
            "client zone {} (proxy locality {})\n",
            p.client_zone, p.locality
        ));
        if matches!(section, Section::Routes | Section::All) {
            out.push_str(&routes(p));
        }
        if matches!(section, Section::Clusters | Section::All) {
            out.push_str(&clusters(p));
        }
        if matches!(section, Section::Endpoints | Section::All) {
            out.push_str(&endpoints(p));
        }
        out.push('\n');
    }
    out
}

fn routes(p: &ProxyConfig) -> String {
    let r = &p.route;
    table(&[
        [
            "NAME",
            "VIRTUAL HOST",
            "ROUTE",
            "VIRTUAL SERVICE",
            "CLUSTERS",
        ]
        .map(String::from),
        [
            r.route_config.clone(),
            r.virtual_host.clone(),
            r.name.clone(),
            r.virtual_service.clone().unwrap_or_else(|| "-".into()),
            action_text(&r.action),
        ],
    ])
}

fn clusters(p: &ProxyConfig) -> String {
    let mut rows = vec![
        [
            "CLUSTER",
            "ENDPOINTS",
            "PRIORITIES",
            "OUTLIER DETECTION",
            "LOCALITY WEIGHTED",
        ]
        .map(String::from),
    ];
    for c in &p.clusters {
        let mut priorities: Vec<u32> = c.endpoints.iter().map(|e| e.priority).collect();
        priorities.dedup();
        rows.push([
            c.name.clone(),
            c.endpoints.len().to_string(),
            priorities
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(","),
            c.outlier.map_or("off".into(), |o| {
                format!(
                    "5xx {}, every {}, eject {}, max {}%",
                    o.consecutive_5xx.map_or("off".into(), |n| n.to_string()),
                    o.interval,
                    o.base_ejection_time,
                    o.max_ejection_percent
                )
            }),
            if c.locality_weighted { "yes" } else { "no" }.into(),
        ]);
    }
    if p.clusters.is_empty() {
        return "no cluster: the route names none istiod builds (503 NC)\n".into();
    }
    table(&rows)
}

fn endpoints(p: &ProxyConfig) -> String {
    let mut rows = vec![
        [
            "ENDPOINT",
            "LOCALITY",
            "PRIORITY",
            "WEIGHT",
            "STATUS",
            "OUTLIER CHECK",
            "ANSWERS",
            "CLUSTER",
        ]
        .map(String::from),
    ];
    for c in &p.clusters {
        for e in &c.endpoints {
            rows.push([
                e.address.clone().unwrap_or_else(|| e.pod.clone()),
                e.locality.to_string(),
                e.priority.to_string(),
                e.weight.map_or("-".into(), |w| w.to_string()),
                match e.health {
                    crate::mesh::proxy_config::EdsHealth::Healthy => "HEALTHY",
                    crate::mesh::proxy_config::EdsHealth::Unhealthy => "UNHEALTHY",
                }
                .into(),
                if e.ejected { "FAILED" } else { "OK" }.into(),
                // The model's truth, which no real proxy shows: a dead
                // node's endpoints stay HEALTHY and OK until Envoy learns.
                if e.answers { "yes" } else { "no" }.into(),
                c.name.clone(),
            ]);
        }
    }
    table(&rows)
}
