//! Nodes built from the cluster profile: one per pool node, with the zone,
//! region and capacity-type labels a real node carries.

use crate::model::clock::SimTime;
use crate::profile::{CapacityType, ClusterProfile};
use crate::topology::labels::Labels;
use crate::zone::Zone;

/// Index of a node in the world.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct NodeId(pub usize);

/// A node and what chaos has done to it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Node {
    /// `<profile>-<zone alias>-<pool>-<n>`.
    pub name: String,
    /// Zone.
    pub zone: Zone,
    /// Spot or on-demand.
    pub capacity: CapacityType,
    /// Labels (zone, region, capacity type, pool extras, subzone, hostname).
    pub labels: Labels,
    /// `spec.unschedulable`.
    pub cordoned: bool,
    /// When the instance vanished (Spot reclaim): its pods stop at once, but
    /// Kubernetes only notices after the node-monitor grace period.
    pub lost_at: Option<SimTime>,
    /// Once lost, the instance's address drops packets (connects time out)
    /// instead of refusing them: Spot loss in mode `blackhole`.
    pub blackholes: bool,
}

impl Node {
    /// True while the instance runs.
    pub fn is_up(&self) -> bool {
        self.lost_at.is_none()
    }

    /// True when new pods may land here.
    pub fn schedulable(&self) -> bool {
        self.is_up() && !self.cordoned
    }
}

/// Builds every node of a profile, in profile order.
pub fn nodes_from_profile(profile: &ClusterProfile) -> Vec<Node> {
    let keys = &profile.node_labels;
    let mut nodes = Vec::new();
    for zone in &profile.zones {
        for pool in &zone.pools {
            for i in 0..pool.nodes {
                let name = format!("{}-{}-{}-{}", profile.name, zone.short, pool.name, i + 1);
                let mut labels = pool.labels.clone();
                labels.extend(profile.zone_node_labels(zone));
                if let Some(subzone) = &pool.subzone {
                    labels.insert(
                        crate::topology::istio_labels::SUBZONE_LABEL.to_owned(),
                        subzone.clone(),
                    );
                }
                labels.insert(
                    keys.capacity_type.clone(),
                    pool.capacity_type.label_value().to_owned(),
                );
                labels.insert("kubernetes.io/hostname".into(), name.clone());
                nodes.push(Node {
                    name,
                    zone: zone.name.clone(),
                    capacity: pool.capacity_type,
                    labels,
                    cordoned: false,
                    lost_at: None,
                    blackholes: false,
                });
            }
        }
    }
    nodes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_carry_zone_region_and_capacity_labels() {
        let nodes = nodes_from_profile(&ClusterProfile::builtin());
        assert_eq!(nodes.len(), 9);
        let n = &nodes[0];
        assert_eq!(n.name, "three-zones-a-spot-1");
        assert_eq!(n.labels["topology.kubernetes.io/zone"], "us-east-1a");
        assert_eq!(n.labels["topology.kubernetes.io/region"], "us-east-1");
        assert_eq!(n.labels["karpenter.sh/capacity-type"], "spot");
        assert!(
            nodes
                .iter()
                .any(|n| n.capacity == CapacityType::OnDemand && n.zone.as_str() == "us-east-1c")
        );
    }
}
