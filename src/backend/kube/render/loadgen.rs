//! One `zonechaos loadgen` Deployment per target Service and zone, pinned
//! to that zone's load-client node on kind, or to its on-demand nodes on
//! an existing cluster (so a Spot loss or a drain leaves the zone's clients
//! running), with an Istio sidecar (locality routing happens in the
//! client's proxy) and Prometheus annotations on its metrics port.
//!
//! Target Services are those a VirtualService names as a host; when no
//! VirtualService names one, every Service.

use serde_json::{Value, json};

use super::workload::{downward_env, observe, readiness, require_capacity};
use super::{ClientPlacement, LOADGEN_METRICS_PORT, RenderOptions, image_tag};
use crate::backend::kube::cluster::kind_config::{
    ALSO_CAPACITY_TYPE_LABEL, LOAD_CLIENT_POOL, LOAD_CLIENT_TAINT, POOL_LABEL,
};
use crate::profile::ClusterProfile;
use crate::topology::{Object, Resource};

use crate::topology::labels::Labels;
use crate::topology::load_client;
pub use crate::topology::load_client::{CLIENT_ZONE_LABEL, LOADGEN_ROLE, ROLE_LABEL};

/// A Service the clients call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Service name.
    pub service: String,
    /// Its first port.
    pub port: i32,
}

/// The Services the load clients call, in topology order.
pub fn targets(objects: &[Object]) -> Vec<Target> {
    let services: Vec<Target> = objects
        .iter()
        .filter_map(|o| match &o.resource {
            Resource::Service(spec) => Some(Target {
                service: o.name.name.clone(),
                port: spec
                    .ports
                    .as_ref()
                    .and_then(|p| p.first())
                    .map_or(80, |p| p.port),
            }),
            _ => None,
        })
        .collect();
    let named: Vec<Target> = services
        .iter()
        .filter(|t| {
            objects.iter().any(|o| match &o.resource {
                Resource::VirtualService(vs) => vs
                    .hosts
                    .iter()
                    .any(|h| h == &t.service || h.split('.').next() == Some(t.service.as_str())),
                _ => false,
            })
        })
        .cloned()
        .collect();
    if named.is_empty() { services } else { named }
}

/// The load client Deployment of `service` in the zone with alias `short`
/// (also its Istio workload name, `source_workload` in telemetry).
pub fn deployment_name(service: &str, short: &str) -> String {
    format!("loadgen-{service}-{short}")
}

/// The Deployments.
pub fn deployments(
    objects: &[Object],
    profile: &ClusterProfile,
    options: &RenderOptions,
) -> Vec<Value> {
    let mut out = Vec::new();
    for target in targets(objects) {
        for zone in &profile.zones {
            out.push(deployment(
                &target,
                zone.name.as_str(),
                &zone.short,
                profile,
                options,
            ));
        }
    }
    out
}

fn deployment(
    target: &Target,
    zone: &str,
    short: &str,
    profile: &ClusterProfile,
    options: &RenderOptions,
) -> Value {
    let name = deployment_name(&target.service, short);
    let app = format!("loadgen-{}", target.service);
    let url = format!(
        "http://{}.{}.svc.cluster.local:{}/",
        target.service, options.namespace, target.port
    );
    let selector = json!({"app": app, CLIENT_ZONE_LABEL: zone});
    // The suite's proxy labels go on the pod only; the selector stays the
    // harness's own labels.
    let mut template = json!({
        "metadata": {"labels": load_client::pod_labels(zone, app.clone(), &options.proxy_labels)},
        "spec": {
            "containers": [{
                "name": "loadgen",
                "image": options.image,
                "imagePullPolicy": "IfNotPresent",
                "args": [
                    "loadgen", "--zone", zone, "--target", url,
                    "--rps", options.rps.to_string(),
                    "--listen", format!("0.0.0.0:{LOADGEN_METRICS_PORT}")
                ],
                "env": downward_env(image_tag(&options.image)),
                "ports": [{"name": "metrics", "containerPort": LOADGEN_METRICS_PORT}],
                "readinessProbe": readiness(LOADGEN_METRICS_PORT)
            }]
        }
    });
    observe(&mut template, LOADGEN_METRICS_PORT);
    match options.clients {
        ClientPlacement::ClientNodes => {
            let spec = &mut template["spec"];
            spec["nodeSelector"] = json!({
                profile.node_labels.zone.as_str(): zone,
                POOL_LABEL: LOAD_CLIENT_POOL,
            });
            spec["tolerations"] = json!([{
                "key": LOAD_CLIENT_TAINT, "operator": "Exists", "effect": "NoSchedule"
            }]);
        }
        ClientPlacement::Capacity => require_capacity(
            &mut template["spec"],
            zone,
            profile.placement.load_clients,
            profile,
            Some(ALSO_CAPACITY_TYPE_LABEL),
        ),
    }
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": name,
            "namespace": options.namespace,
            "labels": load_client::pod_labels(zone, app, &Labels::new())
        },
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": selector},
            "template": template
        }
    })
}
