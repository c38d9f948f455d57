//! One topology object made deployable in the harness namespace: the
//! namespace (and namespaced host names) rewritten, and each Rollout or
//! Deployment's pod template running `zonechaos echo` for its zone.

use serde_json::{Map, Value, json};

use super::{DEFAULT_APP_PORT, RenderError, RenderOptions, image_tag};
use crate::backend::kube::cluster::kind_config::ALSO_CAPACITY_TYPE_LABEL;
use crate::profile::{CapacityType, ClusterProfile};
use crate::topology::{Kind, Object, Workload};

/// Environment variable carrying the served version (the image tag). A
/// canary that changes the image must change this value in the same patch.
pub const VERSION_ENV: &str = "ZONECHAOS_VERSION";

/// The object as deployable JSON.
pub fn transform(
    object: &Object,
    profile: &ClusterProfile,
    options: &RenderOptions,
) -> Result<Value, RenderError> {
    let mut doc = object.node.to_json();
    let old_namespace = object.name.namespace.clone();
    if let Some(metadata) = doc.get_mut("metadata").and_then(Value::as_object_mut) {
        metadata.insert("namespace".into(), Value::String(options.namespace.clone()));
    }
    match object.kind {
        Kind::VirtualService | Kind::DestinationRule => {
            if let Some(spec) = doc.get_mut("spec") {
                rewrite_hosts(spec, &old_namespace, &options.namespace);
            }
        }
        Kind::Rollout | Kind::Deployment => {
            let zone = zone_of(object, profile)?;
            let template = doc
                .pointer_mut("/spec/template")
                .filter(|t| t.pointer("/spec/containers/0").is_some())
                .ok_or_else(|| RenderError::NoContainer {
                    file: object.file.to_path_buf(),
                    object: object.display_name(),
                })?;
            pod_template(template, &object.name.name, &zone, profile, options);
        }
        _ => {}
    }
    Ok(doc)
}

/// The one zone a workload's pods run in (from its node affinity or selector on
/// the zone label, else its pod labels), as a zone name of the profile.
pub fn zone_of(object: &Object, profile: &ClusterProfile) -> Result<String, RenderError> {
    let unknown = || RenderError::UnknownZone {
        file: object.file.to_path_buf(),
        object: object.display_name(),
    };
    let workload = Workload::of(object).ok_or_else(unknown)?;
    if let Some(zones) = workload.pinned_zones(&profile.node_labels.zone) {
        let mut known = zones.iter().filter_map(|z| profile.zone_for_label_value(z));
        return match (known.next(), known.next()) {
            (Some(zone), None) => Ok(zone.as_str().to_owned()),
            _ => Err(unknown()),
        };
    }
    let labels = workload.pod_labels();
    profile
        .pod_zone_labels
        .iter()
        .find_map(|key| labels.get(key))
        .and_then(|value| profile.zone_for_label_value(value))
        .map(|zone| zone.as_str().to_owned())
        .ok_or_else(unknown)
}

/// `name.<old>.svc.cluster.local` and `name.<old>` become `.<new>` in every
/// `host`/`hosts` string below `value`.
fn rewrite_hosts(value: &mut Value, old: &str, new: &str) {
    let rewrite = |host: &mut Value| {
        if let Value::String(text) = host {
            for suffix in [format!(".{old}.svc.cluster.local"), format!(".{old}")] {
                if let Some(short) = text.strip_suffix(suffix.as_str()) {
                    *text = format!("{short}{}", suffix.replacen(old, new, 1));
                    break;
                }
            }
        }
    };
    match value {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                match (key.as_str(), child) {
                    ("host", host @ Value::String(_)) => rewrite(host),
                    ("hosts", Value::Array(hosts)) => hosts.iter_mut().for_each(rewrite),
                    (_, child) => rewrite_hosts(child, old, new),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| rewrite_hosts(i, old, new)),
        _ => {}
    }
}

/// The object at `key` of `value`, created (or replacing a non-object)
/// as needed, so that nothing below can panic on odd input.
pub(crate) fn child<'a>(value: &'a mut Value, key: &str) -> &'a mut Value {
    if !value.is_object() {
        *value = Value::Object(Map::new());
    }
    let Value::Object(map) = value else {
        unreachable!("made an object above")
    };
    let entry = map.entry(key).or_insert(Value::Null);
    if !entry.is_object() {
        *entry = Value::Object(Map::new());
    }
    entry
}

/// Pod labels and annotations that let Istio inject a sidecar and
/// Prometheus scrape the pod (Istio's metric merging then serves the app's
/// and Envoy's metrics together on the sidecar's port 15020).
pub(crate) fn observe(template: &mut Value, metrics_port: i64) {
    let metadata = child(template, "metadata");
    child(metadata, "labels")["sidecar.istio.io/inject"] = json!("true");
    let annotations = child(metadata, "annotations");
    annotations["prometheus.io/scrape"] = json!("true");
    annotations["prometheus.io/port"] = json!(metrics_port.to_string());
    annotations["prometheus.io/path"] = json!("/metrics");
}

/// Requires `capacity` on every required nodeAffinity term of the pod spec
/// (adding a zone-only term when there is none), unless a term already
/// constrains the capacity type. With `also_label`, each term is doubled
/// into one requiring `also_label: capacity` instead (Small clusters).
pub(crate) fn require_capacity(
    spec: &mut Value,
    zone: &str,
    capacity: CapacityType,
    profile: &ClusterProfile,
    also_label: Option<&str>,
) {
    let keys = &profile.node_labels;
    let terms_pointer =
        "/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms";
    let existing: Vec<Value> = spec
        .pointer(terms_pointer)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_else(|| {
            vec![json!({"matchExpressions": [
                {"key": keys.zone, "operator": "In", "values": [zone]}
            ]})]
        });
    let mut terms = Vec::new();
    for term in existing {
        let exprs = term
            .get("matchExpressions")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let constrains_capacity = |e: &Value| {
            e.get("key")
                .and_then(Value::as_str)
                .is_some_and(|k| k == keys.capacity_type || k == ALSO_CAPACITY_TYPE_LABEL)
        };
        if exprs.iter().any(constrains_capacity) {
            terms.push(term);
            continue;
        }
        for key in std::iter::once(keys.capacity_type.as_str()).chain(also_label) {
            let mut term = term.clone();
            let mut exprs = exprs.clone();
            exprs.push(json!({"key": key, "operator": "In", "values": [capacity.label_value()]}));
            term["matchExpressions"] = Value::Array(exprs);
            terms.push(term);
        }
    }
    let affinity = child(child(spec, "affinity"), "nodeAffinity");
    child(affinity, "requiredDuringSchedulingIgnoredDuringExecution")["nodeSelectorTerms"] =
        Value::Array(terms);
}

/// Environment from the downward API plus the version.
pub(crate) fn downward_env(version: &str) -> Value {
    let field = |name: &str, path: &str| json!({"name": name, "valueFrom": {"fieldRef": {"fieldPath": path}}});
    json!([
        field("POD_NAME", "metadata.name"),
        field("POD_NAMESPACE", "metadata.namespace"),
        field("NODE_NAME", "spec.nodeName"),
        {"name": VERSION_ENV, "value": version}
    ])
}

/// An HTTP readiness probe on `/healthz`.
pub(crate) fn readiness(port: i64) -> Value {
    json!({
        "httpGet": {"path": "/healthz", "port": port},
        "periodSeconds": 2,
        "failureThreshold": 2
    })
}

fn pod_template(
    template: &mut Value,
    name: &str,
    zone: &str,
    profile: &ClusterProfile,
    options: &RenderOptions,
) {
    let spec = child(template, "spec");
    let first = spec.pointer("/containers/0").cloned().unwrap_or_default();
    let port = first
        .pointer("/ports/0/containerPort")
        .and_then(Value::as_i64)
        .unwrap_or(DEFAULT_APP_PORT);
    let container = json!({
        "name": first.get("name").and_then(Value::as_str).unwrap_or("app"),
        "image": options.image,
        "imagePullPolicy": "IfNotPresent",
        "args": [
            "echo", "--zone", zone, "--pod", "$(POD_NAME)", "--rollout", name,
            "--version", format!("$({VERSION_ENV})"), "--listen", format!("0.0.0.0:{port}")
        ],
        "env": downward_env(image_tag(&options.image)),
        "ports": [{"name": "http", "containerPort": port}],
        "readinessProbe": readiness(port)
    });
    spec["containers"] = json!([container]);
    require_capacity(spec, zone, profile.placement.workloads, profile, None);
    observe(template, port);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_move_with_the_namespace() {
        let mut spec = json!({
            "hosts": ["test", "test.default.svc.cluster.local"],
            "http": [{"route": [{"destination": {"host": "test.default"}}]}],
            "host": "other.elsewhere.svc.cluster.local"
        });
        rewrite_hosts(&mut spec, "default", "zonechaos");
        assert_eq!(spec["hosts"][1], "test.zonechaos.svc.cluster.local");
        assert_eq!(
            spec["http"][0]["route"][0]["destination"]["host"],
            "test.zonechaos"
        );
        assert_eq!(spec["host"], "other.elsewhere.svc.cluster.local");
        assert_eq!(spec["hosts"][0], "test");
    }

    #[test]
    fn capacity_is_added_to_every_term_once() {
        let profile = ClusterProfile::builtin();
        let mut spec = json!({});
        require_capacity(
            &mut spec,
            "us-east-1a",
            CapacityType::OnDemand,
            &profile,
            Some(ALSO_CAPACITY_TYPE_LABEL),
        );
        let terms = spec.pointer("/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms").unwrap();
        assert_eq!(terms.as_array().unwrap().len(), 2);
        assert_eq!(
            terms[0]["matchExpressions"][1]["key"],
            "karpenter.sh/capacity-type"
        );
        assert_eq!(
            terms[1]["matchExpressions"][1]["key"],
            ALSO_CAPACITY_TYPE_LABEL
        );
        let before = spec.clone();
        require_capacity(&mut spec, "us-east-1a", CapacityType::Spot, &profile, None);
        assert_eq!(
            spec, before,
            "terms that already constrain the capacity type are kept"
        );
    }
}
