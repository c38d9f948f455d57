//! A common view of the pod-owning kinds (Rollout, Deployment): replicas,
//! selector, pod labels and the zones the pods are pinned to.

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::{PodSpec, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use super::argo::RolloutSpec;
use super::labels::Labels;
use super::object::{Object, Resource};

/// A Rollout or a Deployment.
#[derive(Debug, Clone, Copy)]
pub struct Workload<'a> {
    /// The object.
    pub object: &'a Object,
    /// Pod selector.
    pub selector: Option<&'a LabelSelector>,
    /// Pod template.
    pub template: Option<&'a PodTemplateSpec>,
    /// Desired replicas (default 1).
    pub replicas: i32,
    /// The Rollout spec, when this is a Rollout.
    pub rollout: Option<&'a RolloutSpec>,
}

impl<'a> Workload<'a> {
    /// The workload view of an object, if it owns pods.
    pub fn of(object: &'a Object) -> Option<Workload<'a>> {
        match &object.resource {
            Resource::Rollout(spec) => Some(Workload {
                object,
                selector: spec.selector.as_ref(),
                template: spec.template.as_ref(),
                replicas: spec.replicas.unwrap_or(1),
                rollout: Some(spec),
            }),
            Resource::Deployment(spec) => Some(Workload {
                object,
                selector: Some(&spec.selector),
                template: Some(&spec.template),
                replicas: spec.replicas.unwrap_or(1),
                rollout: None,
            }),
            _ => None,
        }
    }

    /// Labels of the pods this workload creates.
    pub fn pod_labels(&self) -> Labels {
        self.pod_labels_ref().clone()
    }

    /// Labels of the pods this workload creates, borrowed (empty when the
    /// template has none).
    pub fn pod_labels_ref(&self) -> &'a Labels {
        static NONE: Labels = Labels::new();
        self.template
            .and_then(|t| t.metadata.as_ref())
            .and_then(|m| m.labels.as_ref())
            .unwrap_or(&NONE)
    }

    /// The pod spec of the template.
    pub fn pod_spec(&self) -> Option<&'a PodSpec> {
        self.template.and_then(|t| t.spec.as_ref())
    }

    /// Zones the pods can be scheduled in, from nodeSelector and required
    /// nodeAffinity on `zone_key`; `None` when the pods are not pinned.
    pub fn pinned_zones(&self, zone_key: &str) -> Option<BTreeSet<String>> {
        self.pod_spec()
            .and_then(|spec| pinned_zones(spec, zone_key))
    }
}

/// Zones a pod spec allows on `zone_key`: nodeSelector and every required
/// nodeAffinity term (terms are ORed, expressions inside a term ANDed).
/// `None` when nothing constrains the zone.
pub fn pinned_zones(spec: &PodSpec, zone_key: &str) -> Option<BTreeSet<String>> {
    let from_selector: Option<BTreeSet<String>> = spec
        .node_selector
        .as_ref()
        .and_then(|sel| sel.get(zone_key))
        .map(|z| BTreeSet::from([z.clone()]));
    let terms = spec
        .affinity
        .as_ref()
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|na| {
            na.required_during_scheduling_ignored_during_execution
                .as_ref()
        })
        .map(|req| req.node_selector_terms.as_slice())
        .unwrap_or_default();
    let mut from_affinity: Option<BTreeSet<String>> = None;
    for term in terms {
        let mut term_zones: Option<BTreeSet<String>> = None;
        for expr in term.match_expressions.iter().flatten() {
            if expr.key != zone_key || expr.operator != "In" {
                continue;
            }
            let values: BTreeSet<String> = expr.values.iter().flatten().cloned().collect();
            term_zones = Some(match term_zones {
                Some(z) => z.intersection(&values).cloned().collect(),
                None => values,
            });
        }
        match term_zones {
            // One unconstrained term lets the pod go anywhere.
            None => return from_selector,
            Some(z) => from_affinity.get_or_insert_with(BTreeSet::new).extend(z),
        }
    }
    match (from_selector, from_affinity) {
        (Some(a), Some(b)) => Some(a.intersection(&b).cloned().collect()),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(yaml: &str) -> PodSpec {
        let node: crate::topology::yaml::Node = crate::topology::yaml::parse_documents(yaml)
            .unwrap()
            .remove(0);
        serde_json::from_value(node.to_json()).unwrap()
    }

    #[test]
    fn affinity_pins_zone() {
        let s = spec(
            "containers: []\naffinity:\n  nodeAffinity:\n    requiredDuringSchedulingIgnoredDuringExecution:\n      nodeSelectorTerms:\n        - matchExpressions:\n            - {key: topology.kubernetes.io/zone, operator: In, values: [us-east-1a]}\n",
        );
        assert_eq!(
            pinned_zones(&s, "topology.kubernetes.io/zone"),
            Some(BTreeSet::from(["us-east-1a".to_string()]))
        );
    }

    #[test]
    fn node_selector_and_unpinned() {
        let s = spec("containers: []\nnodeSelector: {topology.kubernetes.io/zone: us-east-1b}\n");
        assert_eq!(
            pinned_zones(&s, "topology.kubernetes.io/zone"),
            Some(BTreeSet::from(["us-east-1b".to_string()]))
        );
        let s = spec("containers: []\n");
        assert_eq!(pinned_zones(&s, "topology.kubernetes.io/zone"), None);
    }

    #[test]
    fn an_unconstrained_term_unpins() {
        let s = spec(
            "containers: []\naffinity:\n  nodeAffinity:\n    requiredDuringSchedulingIgnoredDuringExecution:\n      nodeSelectorTerms:\n        - matchExpressions:\n            - {key: topology.kubernetes.io/zone, operator: In, values: [us-east-1a]}\n        - matchExpressions:\n            - {key: kubernetes.io/arch, operator: In, values: [arm64]}\n",
        );
        assert_eq!(pinned_zones(&s, "topology.kubernetes.io/zone"), None);
    }
}
