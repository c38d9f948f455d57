//! The topology labels istiod reads from nodes and adds to every endpoint
//! and proxy (istio 1.30.3 `pilot/pkg/serviceregistry/kube/controller/
//! controller.go` getPodLocality, `pilot/pkg/serviceregistry/util/label/
//! label.go` AugmentLabels). One place, used by the model's scheduler (for
//! endpoints), its load clients (for proxies) and lint.

use crate::topology::labels::Labels;

/// The region label istiod reads on nodes and writes on endpoints.
pub const REGION_LABEL: &str = "topology.kubernetes.io/region";
/// The zone label istiod reads on nodes and writes on endpoints.
pub const ZONE_LABEL: &str = "topology.kubernetes.io/zone";
/// The older region label istiod falls back to on nodes.
pub const REGION_LABEL_BETA: &str = "failure-domain.beta.kubernetes.io/region";
/// The older zone label istiod falls back to on nodes.
pub const ZONE_LABEL_BETA: &str = "failure-domain.beta.kubernetes.io/zone";
/// Istio's subzone label (nodes and endpoints).
pub const SUBZONE_LABEL: &str = "topology.istio.io/subzone";
/// The node name label istiod adds to endpoints and proxies.
pub const HOSTNAME_LABEL: &str = "kubernetes.io/hostname";
/// The cluster label istiod adds to endpoints and proxies.
pub const CLUSTER_LABEL: &str = "topology.istio.io/cluster";
/// Istio's network label (absent in a single-network mesh).
pub const NETWORK_LABEL: &str = "topology.istio.io/network";
/// istiod's cluster ID when none is configured (`--clusterID` default).
pub const DEFAULT_CLUSTER_ID: &str = "Kubernetes";

/// A node's locality as istiod reads it: region and zone from the GA
/// labels, else the beta ones, subzone from Istio's label; `None` when all
/// three are empty (getPodLocality returns "" then, and nothing is added).
pub fn node_locality(node_labels: &Labels) -> Option<[&str; 3]> {
    let get = |ga: &str, beta: Option<&str>| {
        node_labels
            .get(ga)
            .filter(|v| !v.is_empty())
            .or_else(|| beta.and_then(|b| node_labels.get(b)))
            .map_or("", String::as_str)
    };
    let locality = [
        get(REGION_LABEL, Some(REGION_LABEL_BETA)),
        get(ZONE_LABEL, Some(ZONE_LABEL_BETA)),
        get(SUBZONE_LABEL, None),
    ];
    (locality != ["", "", ""]).then_some(locality)
}

/// `labels` with what istiod adds: the locality's non-empty parts, the
/// cluster ID and the node name (AugmentLabels). The result is both an
/// endpoint's labels and a proxy's, so failoverPriority compares like with
/// like.
pub fn augment_labels(labels: &Labels, node_labels: &Labels, node_name: &str) -> Labels {
    let mut out = labels.clone();
    if let Some(parts) = node_locality(node_labels) {
        for (key, value) in [REGION_LABEL, ZONE_LABEL, SUBZONE_LABEL]
            .into_iter()
            .zip(parts)
        {
            if !value.is_empty() {
                out.insert(key.to_owned(), value.to_owned());
            }
        }
    }
    out.insert(CLUSTER_LABEL.to_owned(), DEFAULT_CLUSTER_ID.to_owned());
    if !node_name.is_empty() {
        out.insert(HOSTNAME_LABEL.to_owned(), node_name.to_owned());
    }
    out
}

/// The locality (region, zone, subzone) of augmented labels, "" where a
/// part is absent (pilot's localityFromProxyLabels reads the same keys).
pub fn labels_locality(labels: &Labels) -> [&str; 3] {
    [REGION_LABEL, ZONE_LABEL, SUBZONE_LABEL].map(|k| labels.get(k).map_or("", String::as_str))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::labels::labels;

    // controller.go getPodLocality: GA labels first, beta as fallback,
    // subzone from topology.istio.io/subzone, nothing when all are empty.
    #[test]
    fn node_locality_reads_ga_then_beta_labels() {
        let ga = labels(&[
            (REGION_LABEL, "r1"),
            (ZONE_LABEL, "z1"),
            (REGION_LABEL_BETA, "old"),
            (SUBZONE_LABEL, "rack1"),
        ]);
        assert_eq!(node_locality(&ga), Some(["r1", "z1", "rack1"]));
        let beta = labels(&[(REGION_LABEL_BETA, "r2"), (ZONE_LABEL_BETA, "z2")]);
        assert_eq!(node_locality(&beta), Some(["r2", "z2", ""]));
        let custom = labels(&[("example.com/zone", "z3")]);
        assert_eq!(node_locality(&custom), None);
    }

    // label.go AugmentLabels: empty parts are not written, the cluster ID
    // and node name are, the workload's own labels stay.
    #[test]
    fn augment_adds_locality_cluster_and_hostname() {
        let node = labels(&[(REGION_LABEL, "r1"), (ZONE_LABEL, "z1")]);
        let out = augment_labels(&labels(&[("app", "web")]), &node, "node-1");
        assert_eq!(
            out,
            labels(&[
                ("app", "web"),
                (REGION_LABEL, "r1"),
                (ZONE_LABEL, "z1"),
                (CLUSTER_LABEL, DEFAULT_CLUSTER_ID),
                (HOSTNAME_LABEL, "node-1"),
            ])
        );
        assert_eq!(labels_locality(&out), ["r1", "z1", ""]);
        let bare = augment_labels(&Labels::new(), &Labels::new(), "");
        assert_eq!(bare, labels(&[(CLUSTER_LABEL, DEFAULT_CLUSTER_ID)]));
    }
}
