//! A profile that says more (issue 12 item 4): zones in several regions,
//! subzones, hostname labels, a mesh-wide `localityLbSetting`, and load
//! clients with the suite's own labels. Each rule is istiod's (istio 1.30.3):
//! - locality from node labels: `pilot/pkg/serviceregistry/kube/controller/
//!   controller.go` getPodLocality;
//! - labels added to endpoints and proxies: `pilot/pkg/serviceregistry/util/
//!   label/label.go` AugmentLabels;
//! - which setting applies: `pilot/pkg/networking/core/loadbalancer/
//!   loadbalancer.go` GetLocalityLbSetting (its test table is in
//!   tests/upstream_istio_loadbalancer.rs);
//! - priorities from region, zone, subzone and `failover`: loadbalancer.go
//!   applyLocalityFailover.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use zonechaos::backend::kube::cluster::kind_config::{ClusterSize, KindClusterConfig};
use zonechaos::mesh::proxy::Client;
use zonechaos::mesh::proxy_config::{Observed, ProxyConfig, proxy_config};
use zonechaos::model::{ClusterTiming, World};
use zonechaos::profile::ClusterProfile;
use zonechaos::topology::labels::Labels;
use zonechaos::topology::{Topology, load_paths};
use zonechaos::zone::Zone;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn two_regions() -> ClusterProfile {
    ClusterProfile::load(&repo().join("clusters/two-regions.yaml")).unwrap()
}

/// Six spread pods (one per Spot node of the two-regions profile) behind
/// `web`, whose DestinationRule sets outlier detection and no locality
/// setting of its own, so the mesh's applies.
const SPREAD: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default}
spec:
  replicas: 6
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: web:v1}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec:
  selector: {app: web}
  ports: [{name: http, port: 8080, targetPort: 8080}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: web, namespace: default}
spec:
  host: web
  trafficPolicy:
    outlierDetection: {consecutive5xxErrors: 3, interval: 5s, baseEjectionTime: 30s}
";

fn world_of(topology: &str, profile: &ClusterProfile) -> World {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.yaml");
    std::fs::write(&path, topology).unwrap();
    let loaded = load_paths(&[path]).unwrap();
    assert!(loaded.issues.is_empty(), "{:?}", loaded.issues);
    World::new(
        &Topology::new(loaded.objects),
        profile,
        ClusterTiming::default(),
    )
}

fn view(world: &World, client: &Client) -> ProxyConfig {
    let target = world.mesh.service("default", "web").unwrap();
    proxy_config(world, client, target, &Observed::NONE)
}

/// Priority of each endpoint locality (`region/zone/subzone`) in the
/// proxy's one cluster.
fn priorities(config: &ProxyConfig) -> BTreeMap<String, u32> {
    assert_eq!(config.clusters.len(), 1, "{config:?}");
    config.clusters[0]
        .endpoints
        .iter()
        .map(|e| (e.locality.to_string(), e.priority))
        .collect()
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn the_two_regions_profile_gives_nodes_their_region_and_subzone() {
    let profile = two_regions();
    let world = world_of(SPREAD, &profile);
    let node = |name: &str| {
        world
            .nodes
            .iter()
            .find(|n| n.name == name)
            .unwrap_or_else(|| panic!("no node {name}"))
    };
    let rack2 = node("two-regions-a-spot-rack2-1");
    assert_eq!(rack2.labels["topology.kubernetes.io/region"], "us-east-1");
    assert_eq!(rack2.labels["topology.istio.io/subzone"], "rack2");
    assert_eq!(rack2.labels["kubernetes.io/hostname"], rack2.name);
    let west = node("two-regions-w-spot-1");
    assert_eq!(west.labels["topology.kubernetes.io/region"], "us-west-2");
    assert!(!west.labels.contains_key("topology.istio.io/subzone"));
    // Endpoints carry what istiod adds: locality, cluster, hostname.
    for pod in world.pods.iter().filter(|p| p.node.is_some()) {
        let node = &world.nodes[pod.node.unwrap().0];
        let endpoint = pod.endpoint_labels.as_deref().unwrap();
        assert_eq!(endpoint["kubernetes.io/hostname"], node.name);
        assert_eq!(endpoint["topology.istio.io/cluster"], "Kubernetes");
        assert_eq!(
            endpoint.get("topology.istio.io/subzone"),
            node.labels.get("topology.istio.io/subzone")
        );
    }
}

/// applyLocalityFailover: same subzone 0, same zone 1, same region 2, the
/// region `failover` names 3, then renumbered without gaps. The mesh-wide
/// setting applies because the DestinationRule has none.
#[test]
fn the_mesh_wide_setting_orders_subzone_zone_region_then_the_failover_region() {
    let profile = two_regions();
    let world = world_of(SPREAD, &profile);
    let a = Zone::from("us-east-1a");
    // The load client's node names no subzone: both racks rank alike.
    let plain = Client::new(&world, &a, "default", 10.0);
    assert_eq!(
        priorities(&view(&world, &plain)),
        BTreeMap::from([
            ("us-east-1/us-east-1a/rack1".to_owned(), 0),
            ("us-east-1/us-east-1a/rack2".to_owned(), 0),
            ("us-east-1/us-east-1b/".to_owned(), 1),
            ("us-west-2/us-west-2a/".to_owned(), 2),
        ])
    );
    // A subzone label on the client pod survives AugmentLabels (the node
    // has none), so its own rack comes first.
    let in_rack1 = Client::labelled(
        &world,
        &a,
        "default",
        10.0,
        &labels(&[("topology.istio.io/subzone", "rack1")]),
    );
    let config = view(&world, &in_rack1);
    assert_eq!(config.locality.to_string(), "us-east-1/us-east-1a/rack1");
    assert_eq!(
        priorities(&config),
        BTreeMap::from([
            ("us-east-1/us-east-1a/rack1".to_owned(), 0),
            ("us-east-1/us-east-1a/rack2".to_owned(), 1),
            ("us-east-1/us-east-1b/".to_owned(), 2),
            ("us-west-2/us-west-2a/".to_owned(), 3),
        ])
    );
    // From the other region: its own zone, then the named failover region.
    let w = Client::new(&world, &Zone::from("us-west-2a"), "default", 10.0);
    let from_west = priorities(&view(&world, &w));
    assert_eq!(from_west["us-west-2/us-west-2a/"], 0);
    assert_eq!(from_west["us-east-1/us-east-1b/"], 1);
    assert_eq!(from_west["us-east-1/us-east-1a/rack1"], 1);
}

/// Without the `failover` entries the other region ranks last but equal
/// to nothing else; with the mesh setting `enabled: false` there are no
/// priorities at all; a DestinationRule's own setting wins over the mesh.
#[test]
fn mesh_setting_off_and_rule_override() {
    let mut profile = two_regions();
    profile.mesh.locality_lb_setting.as_mut().unwrap().enabled = Some(false);
    let world = world_of(SPREAD, &profile);
    let a = Zone::from("us-east-1a");
    let client = Client::new(&world, &a, "default", 10.0);
    assert!(
        priorities(&view(&world, &client)).values().all(|p| *p == 0),
        "mesh enabled: false turns locality load balancing off"
    );
    let with_rule = SPREAD.replace(
        "    outlierDetection:",
        "    loadBalancer:\n      localityLbSetting:\n        failoverPriority: [topology.kubernetes.io/region]\n    outlierDetection:",
    );
    let world = world_of(&with_rule, &profile);
    let client = Client::new(&world, &a, "default", 10.0);
    let got = priorities(&view(&world, &client));
    assert_eq!(got["us-east-1/us-east-1a/rack1"], 0);
    assert_eq!(got["us-east-1/us-east-1b/"], 0);
    assert_eq!(got["us-west-2/us-west-2a/"], 1);
}

/// `trafficDistribution: PreferClose` derives network, region, zone (no
/// subzone): both racks of the client's zone rank alike even for a client
/// in rack1; `PreferSameNode` adds subzone and hostname.
#[test]
fn traffic_distribution_lists_follow_upstream() {
    let profile = two_regions();
    let a = Zone::from("us-east-1a");
    let rack1 = labels(&[("topology.istio.io/subzone", "rack1")]);
    let close = SPREAD.replace(
        "  selector: {app: web}\n  ports",
        "  trafficDistribution: PreferClose\n  selector: {app: web}\n  ports",
    );
    let world = world_of(&close, &profile);
    let client = Client::labelled(&world, &a, "default", 10.0, &rack1);
    let got = priorities(&view(&world, &client));
    assert_eq!(got["us-east-1/us-east-1a/rack1"], 0);
    assert_eq!(got["us-east-1/us-east-1a/rack2"], 0);
    assert_eq!(got["us-east-1/us-east-1b/"], 1);
    let same_node = close.replace("PreferClose", "PreferSameNode");
    let world = world_of(&same_node, &profile);
    let client = Client::labelled(&world, &a, "default", 10.0, &rack1);
    let got = priorities(&view(&world, &client));
    assert!(
        got["us-east-1/us-east-1a/rack1"] < got["us-east-1/us-east-1a/rack2"],
        "{got:?}"
    );
}

#[test]
fn the_kind_config_carries_regions_and_subzones() {
    let profile = two_regions();
    let config = KindClusterConfig::from_profile(&profile, ClusterSize::Full);
    let subzones: Vec<&str> = config
        .workers()
        .filter_map(|n| {
            n.labels
                .get("topology.istio.io/subzone")
                .map(String::as_str)
        })
        .collect();
    assert_eq!(subzones, ["rack1", "rack2"]);
    let west: Vec<_> = config
        .nodes
        .iter()
        .filter(|n| {
            n.labels
                .get("topology.kubernetes.io/zone")
                .map(String::as_str)
                == Some("us-west-2a")
        })
        .collect();
    assert_eq!(west.len(), 4, "two spot, one on-demand, one load client");
    assert!(
        west.iter()
            .all(|n| n.labels["topology.kubernetes.io/region"] == "us-west-2")
    );
}

fn profile_error(replace: (&str, &str)) -> String {
    let text = std::fs::read_to_string(repo().join("clusters/two-regions.yaml")).unwrap();
    assert!(text.contains(replace.0), "{}", replace.0);
    let text = text.replacen(replace.0, replace.1, 1);
    ClusterProfile::parse(&text, Path::new("p.yaml"))
        .unwrap_err()
        .to_string()
}

#[test]
fn bad_regions_subzones_and_mesh_settings_name_their_line() {
    let line = |needle: &str| {
        let text = std::fs::read_to_string(repo().join("clusters/two-regions.yaml")).unwrap();
        text.lines().position(|l| l.contains(needle)).unwrap() + 1
    };
    let err = profile_error(("    region: us-west-2\n", ""));
    assert!(
        err.contains("zone us-west-2a is not in region us-east-1"),
        "{err}"
    );
    let err = profile_error(("subzone: rack2", "subzone: \"rack 2\""));
    assert!(
        err.starts_with(&format!("p.yaml:{}:", line("subzone: rack2"))),
        "{err}"
    );
    assert!(err.contains("not a label value"), "{err}");
    let err = profile_error((
        "    failover:\n",
        "    distribute: [{from: \"*\", to: {\"*\": 100}}]\n    failover:\n",
    ));
    assert!(
        err.contains("istiod refuses this mesh config: can not simultaneously specify 'distribute' and 'failover'"),
        "{err}"
    );
    let err = profile_error(("    failover:\n", "    failovr:\n"));
    assert!(err.contains("unknown field `failovr`"), "{err}");
    assert!(
        err.starts_with(&format!("p.yaml:{}:", line("localityLbSetting:"))),
        "{err}"
    );
}

/// A suite's `load.proxyLabels` reach the model's proxies: a route that
/// matches `sourceLabels: {team: payments}` applies to the suite's clients,
/// and not to clients without the label.
#[test]
fn suite_proxy_labels_select_source_label_routes() {
    use zonechaos::mesh::routing::{RouteChoice, select_route};
    let dir = tempfile::tempdir().unwrap();
    let routed = format!(
        "{SPREAD}---\n\
         apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {{name: web, namespace: default}}\n\
         spec:\n  hosts: [web]\n  http:\n\
         \x20 - name: payments\n    match: [{{sourceLabels: {{team: payments}}}}]\n    route: [{{destination: {{host: web}}}}]\n"
    );
    std::fs::write(dir.path().join("t.yaml"), routed).unwrap();
    let suite_text = |labels: &str| {
        format!(
            "name: s\ntopology: [t.yaml]\nprofile: {}\nload:\n  service: web\n  rps: 10\n{labels}steps: [{{wait: 1s}}]\n",
            repo().join("clusters/two-regions.yaml").display()
        )
    };
    let choice = |labels: &str| {
        let suite =
            zonechaos::suite::load_suite_str(&suite_text(labels), &dir.path().join("s.yaml"))
                .unwrap();
        let world = World::new(&suite.topology, &suite.profile, suite.timing);
        let client = suite.load.client(&world, &Zone::from("us-east-1b"), 10.0);
        let target = world.mesh.service("default", "web").unwrap();
        select_route(&world.mesh, &client.proxy, target)
    };
    assert!(matches!(
        choice("  proxyLabels: {team: payments}\n"),
        RouteChoice::Route { .. }
    ));
    // Without the label istiod drops the route for this proxy (sourceLabels
    // are matched when its config is built), leaving the default route.
    assert_eq!(choice(""), RouteChoice::Default);
}

/// An endpoint's Envoy locality is its node's (controller.go
/// getPodLocality), not what the pod's own labels say: a pod labelled
/// `topology.istio.io/subzone: rackx` on a node without a subzone keeps
/// that label among its endpoint labels (AugmentLabels writes only the
/// node's non-empty parts) but sits in the locality `region/zone/`.
#[test]
fn endpoint_locality_comes_from_the_node_not_the_pod_labels() {
    let profile = two_regions();
    let labelled = SPREAD.replace(
        "    metadata: {labels: {app: web}}",
        "    metadata: {labels: {app: web, topology.istio.io/subzone: rackx}}",
    );
    assert_ne!(labelled, SPREAD);
    let world = world_of(&labelled, &profile);
    let client = Client::new(&world, &Zone::from("us-east-1b"), "default", 10.0);
    let localities: Vec<String> = priorities(&view(&world, &client)).into_keys().collect();
    assert_eq!(
        localities,
        [
            "us-east-1/us-east-1a/rack1",
            "us-east-1/us-east-1a/rack2",
            "us-east-1/us-east-1b/",
            "us-west-2/us-west-2a/",
        ]
    );
    let west = world
        .pods
        .iter()
        .find(|p| {
            p.node
                .is_some_and(|n| world.nodes[n.0].zone.as_str() == "us-west-2a")
        })
        .unwrap();
    let labels = west.endpoint_labels.as_deref().unwrap();
    assert_eq!(labels["topology.istio.io/subzone"], "rackx");
}
