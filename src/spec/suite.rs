//! The top level of a suite file: what to deploy, the load, timing, steps.

use serde::Deserialize;

use crate::model::clock::SimDuration;
use crate::model::world::ClusterTiming;
use crate::zone::Zone;

/// A whole suite file. Steps stay untyped here: the loader types each one
/// on its own so an error points at that step (see [`super::step`]).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SuiteFile {
    /// Suite name (reports and test names).
    pub name: String,
    /// What the suite shows, for readers.
    #[serde(default)]
    pub description: Option<String>,
    /// Manifest files or directories, relative to the suite file.
    pub topology: Vec<String>,
    /// Cluster profile, relative to the suite file (default: the built-in three-zones profile).
    #[serde(default)]
    pub profile: Option<String>,
    /// Seed of the model's random choices.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// The load.
    pub load: LoadSpec,
    /// Cluster timing overrides.
    #[serde(default)]
    pub timing: TimingSpec,
    /// Steps in order.
    pub steps: Vec<serde_json::Value>,
    /// Steps that always run at the end, even after a failure.
    #[serde(default)]
    pub finally: Vec<serde_json::Value>,
}

/// The model's random choices repeat run after run unless a suite says otherwise.
fn default_seed() -> u64 {
    1
}

/// Zone-aware load: one load client per zone on an on-demand node.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoadSpec {
    /// Target Service.
    pub service: String,
    /// Its namespace.
    #[serde(default = "default_namespace")]
    pub namespace: String,
    /// Requests per second per client zone.
    pub rps: f64,
    /// Client zones (empty: every zone of the profile).
    #[serde(default)]
    pub zones: Vec<Zone>,
    /// Extra labels on every load client's pod, so its proxy matches
    /// `sourceLabels` routes and failoverPriority as the user's own
    /// clients would.
    #[serde(default)]
    pub proxy_labels: std::collections::BTreeMap<String, String>,
}

/// Kubernetes' own default namespace.
fn default_namespace() -> String {
    "default".into()
}

/// Overrides of Kubernetes timing; each default is the profile's
/// ([`crate::profile::ClusterProfile::cluster_timing`]), which defaults to
/// Kubernetes' own.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TimingSpec {
    /// Node-monitor grace period (default 50s).
    pub node_monitor_grace: Option<SimDuration>,
    /// Pod start-up until ready (default 5s).
    pub pod_startup: Option<SimDuration>,
    /// Taint toleration of NotReady nodes (default 300s).
    pub not_ready_toleration: Option<SimDuration>,
}

impl TimingSpec {
    /// The cluster timing: the overrides over `defaults` (the profile's).
    pub fn resolve(&self, defaults: ClusterTiming) -> ClusterTiming {
        ClusterTiming {
            node_monitor_grace: self
                .node_monitor_grace
                .unwrap_or(defaults.node_monitor_grace),
            pod_startup: self.pod_startup.unwrap_or(defaults.pod_startup),
            not_ready_toleration: self
                .not_ready_toleration
                .unwrap_or(defaults.not_ready_toleration),
            drain_retry: defaults.drain_retry,
        }
    }
}
