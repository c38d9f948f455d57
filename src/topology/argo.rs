//! Argo Rollouts (`argoproj.io/v1alpha1`) resources: only the fields
//! zonechaos reads.

use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::Deserialize;

/// `Rollout.spec`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct RolloutSpec {
    /// Desired pods (default 1).
    pub replicas: Option<i32>,
    /// Pod selector.
    pub selector: Option<LabelSelector>,
    /// Pod template.
    pub template: Option<PodTemplateSpec>,
    /// Reference to a Deployment providing the template.
    pub workload_ref: Option<serde_json::Value>,
    /// Update strategy.
    pub strategy: RolloutStrategy,
    /// Seconds before a stuck rollout is Degraded (default 600).
    pub progress_deadline_seconds: Option<i32>,
}

/// `spec.strategy`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct RolloutStrategy {
    /// Canary strategy.
    pub canary: Option<CanaryStrategy>,
    /// Blue-green strategy (not modelled).
    pub blue_green: Option<serde_json::Value>,
}

/// `spec.strategy.canary`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct CanaryStrategy {
    /// Service selecting canary pods.
    pub canary_service: Option<String>,
    /// Service selecting stable pods.
    pub stable_service: Option<String>,
    /// Traffic router configuration.
    pub traffic_routing: Option<TrafficRouting>,
    /// Canary steps.
    pub steps: Vec<CanaryStep>,
    /// Delay before scaling an aborted canary down (default 30).
    pub abort_scale_down_delay_seconds: Option<i32>,
    /// Scale stable down as the canary grows.
    pub dynamic_stable_scale: Option<bool>,
}

/// `trafficRouting`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct TrafficRouting {
    /// Istio router.
    pub istio: Option<IstioTrafficRouting>,
}

/// `trafficRouting.istio`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct IstioTrafficRouting {
    /// A single VirtualService.
    pub virtual_service: Option<IstioVirtualServiceRef>,
    /// Several VirtualServices.
    pub virtual_services: Vec<IstioVirtualServiceRef>,
    /// Subset-level routing.
    pub destination_rule: Option<IstioDestinationRuleRef>,
}

impl IstioTrafficRouting {
    /// Every VirtualService reference, single or list form, with its index
    /// in `virtualServices` (None for the single form).
    pub fn virtual_service_refs(&self) -> Vec<(Option<usize>, &IstioVirtualServiceRef)> {
        let single = self.virtual_service.iter().map(|v| (None, v));
        let many = self
            .virtual_services
            .iter()
            .enumerate()
            .map(|(i, v)| (Some(i), v));
        single.chain(many).collect()
    }
}

/// A VirtualService named by a Rollout.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct IstioVirtualServiceRef {
    /// `name` or `name.namespace`.
    pub name: String,
    /// HTTP route names to rewrite; `None` = the VirtualService's only route.
    pub routes: Option<Vec<String>>,
}

/// A DestinationRule named by a Rollout.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct IstioDestinationRuleRef {
    /// `name` or `name.namespace`.
    pub name: String,
    /// Subset holding canary pods.
    pub canary_subset_name: String,
    /// Subset holding stable pods.
    pub stable_subset_name: String,
    /// Subsets (of other DestinationRules) whose route weights Argo keeps
    /// as they are, taking them out of the stable share.
    pub additional_subset_names: Vec<String>,
}

/// Splits Argo's `name.namespace` reference form.
pub fn split_ref<'a>(reference: &'a str, default_namespace: &'a str) -> (&'a str, &'a str) {
    match reference.split_once('.') {
        Some((name, ns)) => (name, ns),
        None => (reference, default_namespace),
    }
}

/// One canary step; steps zonechaos does not model are kept as raw JSON.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct CanaryStep {
    /// `setWeight: N`.
    pub set_weight: Option<i32>,
    /// `pause: {}` or `pause: {duration: 5m}`.
    pub pause: Option<RolloutPause>,
    /// `analysis`, `setHeaderRoute`, `experiment`, ... (not modelled).
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

/// `pause`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub struct RolloutPause {
    /// Seconds as an integer, or a duration string (`5m`); none = wait for promote.
    pub duration: Option<IntOrString>,
}

/// `AnalysisTemplate.spec` (named only).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct AnalysisTemplateSpec {
    /// Template arguments.
    pub args: Vec<serde_json::Value>,
    /// Metrics.
    pub metrics: Vec<serde_json::Value>,
}
