//! Where the model meets real istiod: each load client's real Envoy
//! configuration (its sidecar's `/config_dump?include_eds`, read with
//! `kubectl exec ... -c istio-proxy -- pilot-agent request GET ...`, as
//! `istioctl proxy-config` does through the agent) compared with the model's
//! view of the same proxy ([`crate::mesh::proxy_config`]). Every difference
//! in route, priority, locality weight, endpoint count or health is
//! reported; kind and existing runs put the result in the report.
//!
//! The sidecar's admin port listens on localhost only (Istio's bootstrap
//! binds 127.0.0.1:15000), so neither the API server's pod proxy nor a
//! Service reaches it: exec through the agent is the way in.

use crate::backend::kube::cluster::{CommandRunner, PlannedCommand, Tool};
use crate::backend::kube::diagnostics::{ClusterAccess, command_for};
use crate::backend::kube::render::loadgen::deployment_name;
use crate::mesh::proxy_config::{Observed, ProxyConfig, ProxyFidelity, compare, proxy_config};
use crate::mesh::proxy_dump::{RouteKey, from_config_dump};
use crate::model::World;
use crate::suite::Suite;

/// The Istio sidecar's container name.
pub const SIDECAR: &str = "istio-proxy";

/// The command that prints `workload`'s real Envoy configuration.
pub fn dump_command(access: &ClusterAccess, namespace: &str, workload: &str) -> PlannedCommand {
    let target = format!("deploy/{workload}");
    command_for(
        access,
        Tool::Kubectl,
        &[
            "-n",
            namespace,
            "exec",
            &target,
            "-c",
            SIDECAR,
            "--",
            "pilot-agent",
            "request",
            "GET",
            "config_dump?include_eds",
        ],
        "the load client's real Envoy configuration, endpoints included",
    )
}

/// The model's view of each load client's proxy at the start of `suite`
/// (before any step), with Service names as rendered into `namespace`.
pub fn model_proxies(suite: &Suite, namespace: &str) -> Vec<ProxyConfig> {
    let world = World::new(&suite.topology, &suite.profile, suite.timing);
    let Some(target) = world
        .mesh
        .service(&suite.load.namespace, &suite.load.service)
        .cloned()
    else {
        return Vec::new();
    };
    suite
        .load
        .zones
        .iter()
        .map(|z| {
            let client = suite.load.client(&world, z, suite.load.rps);
            proxy_config(&world, &client, &target, &Observed::NONE).in_namespace(namespace)
        })
        .collect()
}

/// Compares every load client's real proxy with the model's `proxies`.
/// Never fails: what cannot be read is reported per client.
pub fn check(
    runner: &dyn CommandRunner,
    access: &ClusterAccess,
    namespace: &str,
    suite: &Suite,
    proxies: &[ProxyConfig],
) -> Vec<ProxyFidelity> {
    proxies
        .iter()
        .map(|model| {
            let short = suite
                .profile
                .zone(&model.client_zone)
                .map_or(model.client_zone.as_str(), |z| z.short.as_str());
            let workload = deployment_name(&suite.load.service, short);
            let real = read_real(runner, &dump_command(access, namespace, &workload), model);
            let (differences, error) = match real {
                Ok(real) => (compare(model, &real), None),
                Err(e) => (Vec::new(), Some(e)),
            };
            ProxyFidelity {
                client_zone: model.client_zone.clone(),
                workload,
                differences,
                error,
            }
        })
        .collect()
}

/// Runs `command` and reads its output as a config dump, for the route and
/// clusters `model` has.
fn read_real(
    runner: &dyn CommandRunner,
    command: &PlannedCommand,
    model: &ProxyConfig,
) -> Result<ProxyConfig, String> {
    let line = command.command_line();
    let out = runner
        .run(command)
        .map_err(|e| format!("cannot run `{line}`: {e}"))?;
    if !out.success() {
        // kubectl logs its retries first; the last line says what failed.
        let last = out.stderr.lines().rev().find(|l| !l.trim().is_empty());
        return Err(format!(
            "`{line}` failed: {}",
            crate::spec::cut_echoes(last.unwrap_or("no error output").trim())
        ));
    }
    let dump: serde_json::Value = serde_json::from_str(&out.stdout)
        .map_err(|e| format!("`{line}` printed no JSON config dump: {e}"))?;
    let key = RouteKey {
        route_config: &model.route.route_config,
        virtual_host: &model.route.virtual_host,
        name: &model.route.name,
    };
    from_config_dump(&dump, &model.client_zone, key, &model.cluster_names())
        .map_err(|e| e.to_string())
}
