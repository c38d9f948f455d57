//! Nodes of a zone: list, cordon, uncordon, delete (as the cloud controller
//! does after a Spot reclaim) and readiness.

use k8s_openapi::api::core::v1::Node;
use kube::Client;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams};

use super::error::{ApiError, status_code};
use super::types::{NodeName, Presence};
use crate::backend::kube::cluster::kind_config::{LOAD_CLIENT_POOL, POOL_LABEL};
use crate::zone::Zone;

/// The zone label (SEMANTICS.md §1).
pub const ZONE_LABEL: &str = "topology.kubernetes.io/zone";
/// The default capacity-type label (Karpenter's).
pub const CAPACITY_TYPE_LABEL: &str = "karpenter.sh/capacity-type";

/// Which nodes of a zone: all, or one capacity type (`spot`, `on-demand`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeFilter {
    /// The zone (value of [`ZONE_LABEL`]).
    pub zone: Zone,
    /// Only nodes whose capacity-type label has this value.
    pub capacity_type: Option<String>,
    /// The capacity-type label (default [`CAPACITY_TYPE_LABEL`]).
    pub capacity_label: String,
}

impl NodeFilter {
    /// Every node of `zone`.
    pub fn zone(zone: Zone) -> NodeFilter {
        NodeFilter {
            zone,
            capacity_type: None,
            capacity_label: CAPACITY_TYPE_LABEL.to_owned(),
        }
    }

    /// Only the nodes of this capacity type (`spot`, `on-demand`).
    pub fn capacity(mut self, capacity_type: impl Into<String>) -> NodeFilter {
        self.capacity_type = Some(capacity_type.into());
        self
    }

    /// The label selector the API server filters with. It never selects
    /// the load-client nodes (issue 11 item 5): they stand for traffic
    /// arriving from the zone, not for its capacity. (`!=` also matches
    /// nodes without the label, as on existing clusters.)
    pub fn label_selector(&self) -> String {
        let mut s = format!(
            "{ZONE_LABEL}={},{POOL_LABEL}!={LOAD_CLIENT_POOL}",
            self.zone
        );
        if let Some(c) = &self.capacity_type {
            s.push_str(&format!(",{}={c}", self.capacity_label));
        }
        s
    }
}

/// A node's `Ready` condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum NodeReadiness {
    /// `Ready=True`.
    Ready,
    /// `Ready=False`.
    NotReady,
    /// `Ready=Unknown` or no condition yet (the node controller lost it).
    Unknown,
    /// The Node object does not exist.
    Gone,
}

/// What the harness needs to know about a node.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NodeInfo {
    /// `metadata.name`.
    pub name: NodeName,
    /// The zone label, when set.
    pub zone: Option<Zone>,
    /// The capacity-type label, when set.
    pub capacity_type: Option<String>,
    /// `spec.unschedulable` (cordoned).
    pub unschedulable: bool,
    /// The `Ready` condition.
    pub readiness: NodeReadiness,
}

impl NodeInfo {
    /// Reads a Node object (`capacity_label` as in [`NodeFilter`]).
    pub fn from_node(node: &Node, capacity_label: &str) -> NodeInfo {
        let labels = node.metadata.labels.as_ref();
        NodeInfo {
            name: NodeName(node.metadata.name.clone().unwrap_or_default()),
            zone: labels
                .and_then(|l| l.get(ZONE_LABEL))
                .map(|z| Zone::from(z.as_str())),
            capacity_type: labels.and_then(|l| l.get(capacity_label)).cloned(),
            unschedulable: node
                .spec
                .as_ref()
                .and_then(|s| s.unschedulable)
                .unwrap_or(false),
            readiness: readiness_of(node),
        }
    }
}

/// The `Ready` condition of a Node object.
pub fn readiness_of(node: &Node) -> NodeReadiness {
    let ready = node
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == "Ready"));
    match ready.map(|c| c.status.as_str()) {
        Some("True") => NodeReadiness::Ready,
        Some("False") => NodeReadiness::NotReady,
        _ => NodeReadiness::Unknown,
    }
}

/// Lists the nodes `filter` selects, sorted by name.
pub async fn list_nodes(client: &Client, filter: &NodeFilter) -> Result<Vec<NodeInfo>, ApiError> {
    let api: Api<Node> = Api::all(client.clone());
    let selector = filter.label_selector();
    let list = api
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(|e| ApiError::from_kube("list", format!("Nodes {selector}"), e))?;
    let mut nodes: Vec<NodeInfo> = list
        .items
        .iter()
        .map(|n| NodeInfo::from_node(n, &filter.capacity_label))
        .collect();
    nodes.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(nodes)
}

async fn set_unschedulable(
    client: &Client,
    node: &NodeName,
    unschedulable: bool,
) -> Result<Presence, ApiError> {
    let api: Api<Node> = Api::all(client.clone());
    let patch = serde_json::json!({ "spec": { "unschedulable": unschedulable } });
    match api
        .patch(&node.0, &PatchParams::default(), &Patch::Merge(&patch))
        .await
    {
        Ok(_) => Ok(Presence::Present),
        Err(e) if status_code(&e) == Some(404) => Ok(Presence::Gone),
        Err(e) => Err(ApiError::from_kube(
            if unschedulable { "cordon" } else { "uncordon" },
            format!("Node {node}"),
            e,
        )),
    }
}

/// Cordons a node (merge patch `{"spec":{"unschedulable":true}}`); a node
/// that is already gone is reported as [`Presence::Gone`], not an error.
pub async fn cordon(client: &Client, node: &NodeName) -> Result<Presence, ApiError> {
    set_unschedulable(client, node, true).await
}

/// Uncordons a node (merge patch `{"spec":{"unschedulable":false}}`).
pub async fn uncordon(client: &Client, node: &NodeName) -> Result<Presence, ApiError> {
    set_unschedulable(client, node, false).await
}

/// Deletes a Node object, as the cloud controller does once the instance
/// is gone; 404 (already deleted) is [`Presence::Gone`].
pub async fn delete_node(client: &Client, node: &NodeName) -> Result<Presence, ApiError> {
    let api: Api<Node> = Api::all(client.clone());
    match api.delete(&node.0, &DeleteParams::default()).await {
        Ok(_) => Ok(Presence::Present),
        Err(e) if status_code(&e) == Some(404) => Ok(Presence::Gone),
        Err(e) => Err(ApiError::from_kube("delete", format!("Node {node}"), e)),
    }
}

/// A node's readiness; [`NodeReadiness::Gone`] when the object is gone.
pub async fn node_readiness(client: &Client, node: &NodeName) -> Result<NodeReadiness, ApiError> {
    let api: Api<Node> = Api::all(client.clone());
    match api.get_opt(&node.0).await {
        Ok(Some(n)) => Ok(readiness_of(&n)),
        Ok(None) => Ok(NodeReadiness::Gone),
        Err(e) => Err(ApiError::from_kube("read", format!("Node {node}"), e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selector_names_zone_and_capacity() {
        let f = NodeFilter::zone(Zone::from("us-east-1c")).capacity("spot");
        assert_eq!(
            f.label_selector(),
            "topology.kubernetes.io/zone=us-east-1c,zonechaos.dev/pool!=load-clients,\
             karpenter.sh/capacity-type=spot"
        );
    }

    /// Equality-based selector matching as the API server does it
    /// (k8s.io/apimachinery pkg/labels/selector.go, `Requirement.Matches`:
    /// `=` needs the label with that value, `!=` holds when the label is
    /// absent or has another value).
    fn matches(selector: &str, labels: &std::collections::BTreeMap<String, String>) -> bool {
        selector.split(',').all(|req| match req.split_once("!=") {
            Some((k, v)) => labels.get(k).map(String::as_str) != Some(v),
            None => {
                let (k, v) = req.split_once('=').expect("k=v");
                labels.get(k).map(String::as_str) == Some(v)
            }
        })
    }

    /// issue 11 item 5: no zone selector chaos uses ever picks a load-client
    /// node, and every other worker of the zone is picked.
    #[test]
    fn chaos_selectors_never_pick_the_load_client_nodes() {
        use crate::backend::kube::cluster::kind_config::{ClusterSize, KindClusterConfig};
        let profile = crate::profile::ClusterProfile::builtin();
        for size in [ClusterSize::Full, ClusterSize::Small] {
            let config = KindClusterConfig::from_profile(&profile, size);
            assert_eq!(config.load_client_nodes().count(), 3);
            for zone in profile.zone_names() {
                for filter in [
                    NodeFilter::zone(zone.clone()),
                    NodeFilter::zone(zone.clone()).capacity("spot"),
                ] {
                    let selector = filter.label_selector();
                    for node in &config.nodes {
                        let in_zone = node.labels.get(ZONE_LABEL) == Some(&zone.to_string());
                        let picked = matches(&selector, &node.labels);
                        if node.is_load_client() {
                            assert!(!picked, "{selector} picks {:?}", node.labels);
                        } else if in_zone && filter.capacity_type.is_none() {
                            assert!(picked, "{selector} misses {:?}", node.labels);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn readiness_reads_the_ready_condition() {
        let node: Node = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "w1", "labels": {"topology.kubernetes.io/zone": "a"}},
            "spec": {"unschedulable": true},
            "status": {"conditions": [
                {"type": "MemoryPressure", "status": "False"},
                {"type": "Ready", "status": "Unknown"}
            ]}
        }))
        .unwrap();
        let info = NodeInfo::from_node(&node, CAPACITY_TYPE_LABEL);
        assert_eq!(info.readiness, NodeReadiness::Unknown);
        assert!(info.unschedulable);
        assert_eq!(info.zone, Some(Zone::from("a")));
        assert_eq!(info.capacity_type, None);
    }
}
