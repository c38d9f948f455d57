//! The in-cluster Prometheus: a Deployment on the control-plane node (out
//! of reach of zone chaos, no sidecar) in its own namespace, scraping every
//! pod annotated `prometheus.io/scrape: "true"`. With Istio's metric
//! merging, an injected pod's annotations point at its sidecar
//! (`:15020/stats/prometheus`), which serves the app's metrics (loadgen,
//! echo) and Envoy's `istio_requests_total` together.

use serde_json::{Value, json};

use super::{RenderError, RenderedManifest, manifest};
use crate::backend::kube::cluster::actions::{MONITORING_NAMESPACE, infra_placement_json};
use crate::pins::PROMETHEUS_IMAGE;

/// Port of the Prometheus server.
pub const PROMETHEUS_PORT: i64 = 9090;

/// The label of the Prometheus pod, and the selector that finds it (for
/// the port-forward).
pub const POD_LABEL: (&str, &str) = ("app", "prometheus");

/// [`POD_LABEL`] as a label selector.
pub const POD_SELECTOR: &str = "app=prometheus";

/// `prometheus.yml`: one job over annotated pods, scraped at
/// [`crate::telemetry::Scrape::CLUSTER`] (the suites measure failover in
/// seconds).
pub fn scrape_config() -> Value {
    let keep = |label: &str, regex: &str| json!({"sourceLabels": [label], "action": "keep", "regex": regex});
    let copy = |label: &str, target: &str| json!({"sourceLabels": [label], "targetLabel": target, "action": "replace"});
    let mut relabel = vec![
        keep(
            "__meta_kubernetes_pod_annotation_prometheus_io_scrape",
            "true",
        ),
        json!({
            "sourceLabels": ["__meta_kubernetes_pod_annotation_prometheus_io_path"],
            "action": "replace", "targetLabel": "__metrics_path__", "regex": "(.+)"
        }),
        json!({
            "sourceLabels": ["__address__", "__meta_kubernetes_pod_annotation_prometheus_io_port"],
            "action": "replace", "regex": "([^:]+)(?::\\d+)?;(\\d+)",
            "replacement": "$1:$2", "targetLabel": "__address__"
        }),
        copy("__meta_kubernetes_namespace", "namespace"),
        copy("__meta_kubernetes_pod_name", "pod"),
        copy("__meta_kubernetes_pod_node_name", "node"),
    ];
    // Prometheus spells these snake_case.
    for rule in &mut relabel {
        rename(rule, "sourceLabels", "source_labels");
        rename(rule, "targetLabel", "target_label");
    }
    json!({
        "global": {
            "scrape_interval": crate::telemetry::Scrape::CLUSTER.interval_text(),
            "evaluation_interval": crate::telemetry::Scrape::CLUSTER.interval_text(),
        },
        "scrape_configs": [{
            "job_name": "pods",
            "kubernetes_sd_configs": [{"role": "pod"}],
            "relabel_configs": relabel
        }]
    })
}

fn rename(rule: &mut Value, from: &str, to: &str) {
    if let Some(map) = rule.as_object_mut()
        && let Some(value) = map.remove(from)
    {
        map.insert(to.to_owned(), value);
    }
}

/// The Prometheus manifests (`30-prometheus.yaml`), as applied by `cluster up`.
pub fn prometheus_manifest() -> Result<RenderedManifest, RenderError> {
    let config = serde_saphyr::to_string(&scrape_config()).map_err(|e| RenderError::Yaml {
        file: "prometheus.yml".into(),
        message: e.to_string(),
    })?;
    let ns = MONITORING_NAMESPACE;
    let labels = json!({POD_LABEL.0: POD_LABEL.1});
    let mut pod_spec = json!({
        "serviceAccountName": "prometheus",
        "containers": [{
            "name": "prometheus",
            "image": PROMETHEUS_IMAGE.tag_reference(),
            "imagePullPolicy": "IfNotPresent",
            "args": [
                "--config.file=/etc/prometheus/prometheus.yml",
                "--storage.tsdb.path=/prometheus",
                "--storage.tsdb.retention.time=6h",
                "--web.enable-lifecycle"
            ],
            "ports": [{"name": "web", "containerPort": PROMETHEUS_PORT}],
            "readinessProbe": {"httpGet": {"path": "/-/ready", "port": PROMETHEUS_PORT}, "periodSeconds": 2},
            "volumeMounts": [
                {"name": "config", "mountPath": "/etc/prometheus"},
                {"name": "data", "mountPath": "/prometheus"}
            ]
        }],
        "volumes": [
            {"name": "config", "configMap": {"name": "prometheus-config"}},
            {"name": "data", "emptyDir": {}}
        ]
    });
    if let (Some(spec), Value::Object(placement)) =
        (pod_spec.as_object_mut(), infra_placement_json())
    {
        spec.extend(placement);
    }
    let docs = [
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": {"istio-injection": "disabled"}}}),
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "prometheus", "namespace": ns}}),
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": "zonechaos-prometheus"},
            "rules": [{"apiGroups": [""], "resources": ["pods", "services", "endpoints", "nodes"], "verbs": ["get", "list", "watch"]}]
        }),
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": "zonechaos-prometheus"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "zonechaos-prometheus"},
            "subjects": [{"kind": "ServiceAccount", "name": "prometheus", "namespace": ns}]
        }),
        json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "prometheus-config", "namespace": ns},
            "data": {"prometheus.yml": config}
        }),
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "prometheus", "namespace": ns, "labels": labels},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels, "annotations": {"sidecar.istio.io/inject": "false"}},
                    "spec": pod_spec
                }
            }
        }),
        json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "prometheus", "namespace": ns},
            "spec": {"selector": labels, "ports": [{"name": "web", "port": PROMETHEUS_PORT, "targetPort": PROMETHEUS_PORT}]}
        }),
    ];
    manifest(
        "30-prometheus.yaml",
        "in-cluster Prometheus and its scrape config",
        &docs,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pod_selector_selects_the_rendered_pod() {
        assert_eq!(POD_SELECTOR, format!("{}={}", POD_LABEL.0, POD_LABEL.1));
        let yaml = prometheus_manifest().unwrap().yaml;
        assert!(
            yaml.contains(&format!("{}: {}", POD_LABEL.0, POD_LABEL.1)),
            "{yaml}"
        );
    }

    #[test]
    fn scrape_config_uses_prometheus_spelling() {
        let text = serde_saphyr::to_string(&scrape_config()).unwrap();
        assert!(text.contains("source_labels"), "{text}");
        assert!(!text.contains("sourceLabels"), "{text}");
        assert!(text.contains("__meta_kubernetes_pod_annotation_prometheus_io_scrape"));
    }
}
