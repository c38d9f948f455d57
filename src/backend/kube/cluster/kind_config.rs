//! The kind `Cluster` config (kind.x-k8s.io/v1alpha4) generated from a
//! [`ClusterProfile`]: one control-plane node plus, per zone, the workers
//! of the profile's pools, labelled with zone, region and capacity type.
//!
//! [`ClusterSize::Small`] (laptops) has ONE worker per zone. Workload pods
//! run on spot nodes and, rendered with `--clients capacity`, load clients
//! on on-demand nodes, so that worker carries both: its capacity-type label is the workloads' type
//! (`spot` by default: chaos that looks for "the zone's spot nodes" finds
//! it) and [`ALSO_CAPACITY_TYPE_LABEL`] names the load clients' type
//! (`on-demand`). The rendered manifests (`render`) accept either label in
//! their node affinity (two ORed nodeSelectorTerms), so the same manifests
//! run on both sizes.
//!
//! Both sizes add one load-client node per zone ([`LOAD_CLIENT_POOL`]):
//! the zone's `zonechaos loadgen` pods run there and nothing else (a
//! NoSchedule taint only they tolerate), and zone chaos never selects it
//! (issue 11 item 5). The clients stand for traffic that originates in the
//! zone, which keeps coming while the zone's capacity is drained or lost,
//! as on `sim` and `local`.
//!
//! The controller manager gets the profile's node-monitor grace period
//! explicitly (a cluster-level `kubeadmConfigPatches` entry; kind v0.30.0
//! writes kubeadm `v1beta3`, whose `extraArgs` is a map: kind
//! pkg/cluster/internal/kubeadm/config.go), so the cluster's timing is
//! known, not assumed.

use std::collections::BTreeMap;

use crate::topology::istio_labels::SUBZONE_LABEL;
use serde::{Deserialize, Serialize};

use super::error::ClusterError;
use crate::profile::ClusterProfile;

/// `apiVersion` of the kind config.
pub const KIND_API_VERSION: &str = "kind.x-k8s.io/v1alpha4";

/// Node label naming the profile pool a worker belongs to.
pub const POOL_LABEL: &str = "zonechaos.dev/pool";

/// [`POOL_LABEL`] value of the per-zone load-client nodes.
pub const LOAD_CLIENT_POOL: &str = "load-clients";

/// Taint key (effect NoSchedule) keeping everything but the load clients
/// off the load-client nodes.
pub const LOAD_CLIENT_TAINT: &str = "zonechaos.dev/load-clients";

/// Node label of a Small worker naming the second capacity type it stands in for.
pub const ALSO_CAPACITY_TYPE_LABEL: &str = "zonechaos.dev/also-capacity-type";

/// How many workers the cluster gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClusterSize {
    /// Every node of every pool of the profile.
    #[default]
    Full,
    /// One worker per zone, standing in for both capacity types.
    Small,
}

/// A node's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NodeRole {
    /// The API server, etcd, scheduler (tainted NoSchedule when workers exist).
    ControlPlane,
    /// Runs pods.
    Worker,
}

/// One node of the kind config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KindNode {
    /// Control plane or worker.
    pub role: NodeRole,
    /// Node labels kind applies at creation.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// kubeadm config patches of this node (the load-client taint).
    #[serde(
        default,
        rename = "kubeadmConfigPatches",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub kubeadm_config_patches: Vec<String>,
}

impl KindNode {
    fn new(role: NodeRole, labels: BTreeMap<String, String>) -> KindNode {
        KindNode {
            role,
            labels,
            kubeadm_config_patches: Vec::new(),
        }
    }

    /// True for the per-zone load-client nodes.
    pub fn is_load_client(&self) -> bool {
        self.labels.get(POOL_LABEL).map(String::as_str) == Some(LOAD_CLIENT_POOL)
    }
}

/// The kubeadm patch that taints a load-client node at registration.
fn load_client_taint_patch() -> String {
    format!(
        "kind: JoinConfiguration\nnodeRegistration:\n  taints:\n  - key: {LOAD_CLIENT_TAINT}\n    value: \"true\"\n    effect: NoSchedule\n"
    )
}

/// The kubeadm patch that sets the controller manager's node-monitor grace.
fn node_monitor_grace_patch(grace: crate::model::SimDuration) -> String {
    format!(
        "kind: ClusterConfiguration\ncontrollerManager:\n  extraArgs:\n    node-monitor-grace-period: \"{}s\"\n",
        grace.as_secs_f64()
    )
}

/// A kind `Cluster` config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KindClusterConfig {
    /// Always `Cluster`.
    pub kind: String,
    /// Always [`KIND_API_VERSION`].
    pub api_version: String,
    /// Cluster-wide kubeadm config patches (the controller manager's flags).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kubeadm_config_patches: Vec<String>,
    /// Control plane first, then workers zone by zone, each zone's
    /// load-client node last.
    pub nodes: Vec<KindNode>,
}

impl KindClusterConfig {
    /// The config for a profile at a size.
    pub fn from_profile(profile: &ClusterProfile, size: ClusterSize) -> KindClusterConfig {
        let keys = &profile.node_labels;
        let mut nodes = vec![KindNode::new(NodeRole::ControlPlane, BTreeMap::new())];
        for zone in &profile.zones {
            let base = |capacity: &str, pool: &str, subzone: Option<&String>| {
                let mut labels = profile.zone_node_labels(zone);
                labels.insert(keys.capacity_type.clone(), capacity.to_owned());
                labels.insert(POOL_LABEL.to_owned(), pool.to_owned());
                if let Some(subzone) = subzone {
                    labels.insert(SUBZONE_LABEL.to_owned(), subzone.clone());
                }
                labels
            };
            match size {
                ClusterSize::Full => {
                    for pool in &zone.pools {
                        for _ in 0..pool.nodes {
                            let mut labels = base(
                                pool.capacity_type.label_value(),
                                &pool.name,
                                pool.subzone.as_ref(),
                            );
                            labels.extend(pool.labels.clone());
                            nodes.push(KindNode::new(NodeRole::Worker, labels));
                        }
                    }
                }
                ClusterSize::Small => {
                    let primary = profile.placement.workloads;
                    let also = profile.placement.load_clients;
                    // The pool of the primary type lends its name and labels.
                    let pool = zone
                        .pools
                        .iter()
                        .find(|p| p.capacity_type == primary && p.nodes > 0);
                    let mut labels = base(
                        primary.label_value(),
                        pool.map_or(primary.label_value(), |p| p.name.as_str()),
                        pool.and_then(|p| p.subzone.as_ref()),
                    );
                    if let Some(pool) = pool {
                        labels.extend(pool.labels.clone());
                    }
                    if also != primary {
                        labels.insert(
                            ALSO_CAPACITY_TYPE_LABEL.to_owned(),
                            also.label_value().to_owned(),
                        );
                    }
                    nodes.push(KindNode::new(NodeRole::Worker, labels));
                }
            }
            let mut client_labels = profile.zone_node_labels(zone);
            client_labels.insert(POOL_LABEL.to_owned(), LOAD_CLIENT_POOL.to_owned());
            let mut client = KindNode::new(NodeRole::Worker, client_labels);
            client
                .kubeadm_config_patches
                .push(load_client_taint_patch());
            nodes.push(client);
        }
        KindClusterConfig {
            kind: "Cluster".to_owned(),
            api_version: KIND_API_VERSION.to_owned(),
            kubeadm_config_patches: vec![node_monitor_grace_patch(profile.node_monitor_grace())],
            nodes,
        }
    }

    /// The YAML text, with a header saying where it comes from.
    pub fn to_yaml(&self, profile_name: &str, size: ClusterSize) -> Result<String, ClusterError> {
        let body = serde_saphyr::to_string(self).map_err(|e| ClusterError::Yaml {
            what: "the kind config".into(),
            message: e.to_string(),
        })?;
        let size = match size {
            ClusterSize::Full => "full: every node of the profile",
            ClusterSize::Small => {
                "small: one worker per zone carrying both capacity types (see src/backend/kube/cluster/kind_config.rs)"
            }
        };
        Ok(format!(
            "# kind cluster config generated by zonechaos from profile {profile_name} ({size}).\n\
             # Do not edit: `cargo test kind_configs_are_in_sync` fails when it differs from the\n\
             # generator; rerun it with ZONECHAOS_UPDATE_KIND_CONFIGS=1 to rewrite it.\n{body}"
        ))
    }

    /// Reads a config back (tests, and checks of committed files).
    pub fn parse(text: &str) -> Result<KindClusterConfig, ClusterError> {
        serde_saphyr::from_str(text).map_err(|e| ClusterError::Yaml {
            what: "a kind config".into(),
            message: e.to_string(),
        })
    }

    /// The workers chaos may reach (every worker but the load-client nodes).
    pub fn workers(&self) -> impl Iterator<Item = &KindNode> {
        self.nodes
            .iter()
            .filter(|n| n.role == NodeRole::Worker && !n.is_load_client())
    }

    /// The per-zone load-client nodes.
    pub fn load_client_nodes(&self) -> impl Iterator<Item = &KindNode> {
        self.nodes.iter().filter(|n| n.is_load_client())
    }
}

/// The file name of the committed config of a profile and size in `clusters/`
/// (`kind-three-zones.yaml`, `kind-three-zones-small.yaml`).
pub fn committed_file_name(profile_name: &str, size: ClusterSize) -> String {
    match size {
        ClusterSize::Full => format!("kind-{profile_name}.yaml"),
        ClusterSize::Small => format!("kind-{profile_name}-small.yaml"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(config: &KindClusterConfig, zone: &str, capacity: &str) -> usize {
        config
            .workers()
            .filter(|n| {
                n.labels["topology.kubernetes.io/zone"] == zone
                    && n.labels["karpenter.sh/capacity-type"] == capacity
            })
            .count()
    }

    #[test]
    fn full_has_every_pool_node() {
        let profile = ClusterProfile::builtin();
        let config = KindClusterConfig::from_profile(&profile, ClusterSize::Full);
        assert_eq!(config.nodes[0].role, NodeRole::ControlPlane);
        assert_eq!(config.workers().count(), 9);
        for zone in ["us-east-1a", "us-east-1b", "us-east-1c"] {
            assert_eq!(count(&config, zone, "spot"), 2);
            assert_eq!(count(&config, zone, "on-demand"), 1);
        }
        assert!(
            config
                .workers()
                .all(|n| !n.labels.contains_key(ALSO_CAPACITY_TYPE_LABEL))
        );
    }

    #[test]
    fn small_has_one_worker_per_zone_standing_in_for_both_types() {
        let profile = ClusterProfile::builtin();
        let config = KindClusterConfig::from_profile(&profile, ClusterSize::Small);
        assert_eq!(config.workers().count(), 3);
        for zone in ["us-east-1a", "us-east-1b", "us-east-1c"] {
            assert_eq!(count(&config, zone, "spot"), 1);
        }
        assert!(
            config
                .workers()
                .all(|n| n.labels[ALSO_CAPACITY_TYPE_LABEL] == "on-demand")
        );
    }

    #[test]
    fn yaml_round_trips() {
        let profile = ClusterProfile::builtin();
        for size in [ClusterSize::Full, ClusterSize::Small] {
            let config = KindClusterConfig::from_profile(&profile, size);
            let text = config.to_yaml("three-zones", size).unwrap();
            assert_eq!(KindClusterConfig::parse(&text).unwrap(), config);
            assert!(
                text.contains("apiVersion: kind.x-k8s.io/v1alpha4"),
                "{text}"
            );
        }
    }
}
