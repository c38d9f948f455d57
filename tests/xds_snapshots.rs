//! Snapshots of the Envoy xDS files the `local` backend writes for each
//! client zone's sidecar, on the reference topologies and the source design,
//! steady and after a zone-c Spot loss and a zone-c canary. Taken before the
//! mesh rules were gathered in one place, so any change of the translator's
//! output shows here as a snapshot diff. Needs no Envoy: only the files.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;

use zonechaos::backend::local::envoy::proxy_config;
use zonechaos::mesh::proxy::Client;
use zonechaos::model::World;
use zonechaos::model::clock::SimTime;
use zonechaos::model::pod::PodId;
use zonechaos::model::world::ClusterTiming;
use zonechaos::profile::ClusterProfile;
use zonechaos::topology::{Topology, load_paths};
use zonechaos::zone::Zone;

const ZONES: [&str; 3] = ["us-east-1a", "us-east-1b", "us-east-1c"];

fn world(path: &str) -> World {
    let loaded = load_paths(&[Path::new(env!("CARGO_MANIFEST_DIR")).join(path)]).unwrap();
    let mut w = World::new(
        &Topology::new(loaded.objects),
        &ClusterProfile::builtin(),
        ClusterTiming::default(),
    );
    w.advance(SimTime(30_000));
    w
}

/// Every client zone's files as one JSON document: fixed addresses (pod i
/// at 10.0.0.i:8080) and a fixed directory, so the snapshot is stable.
fn files(w: &World) -> serde_json::Value {
    let target = w.mesh.service("default", "test").expect("Service test");
    let addr = |pod: PodId| {
        SocketAddr::from((
            Ipv4Addr::new(10, 0, (pod.0 / 250) as u8, (pod.0 % 250) as u8),
            8080,
        ))
    };
    let listen = SocketAddr::from((Ipv4Addr::LOCALHOST, 15001));
    let admin = SocketAddr::from((Ipv4Addr::LOCALHOST, 15000));
    let dir = Path::new("/xds");
    let mut out = serde_json::Map::new();
    for zone in ZONES {
        let client = Client::new(w, &Zone::from(zone), "default", 10.0);
        let cfg = proxy_config(w, &client, target, &addr, listen, admin);
        let per_file: serde_json::Map<String, serde_json::Value> =
            cfg.files(dir).into_iter().collect();
        out.insert(zone.to_owned(), serde_json::Value::Object(per_file));
    }
    serde_json::Value::Object(out)
}

#[test]
fn zone_failover_steady() {
    insta::assert_json_snapshot!(files(&world("suites/topologies/zone-failover.yaml")));
}

#[test]
fn zone_failover_after_zone_c_spot_loss() {
    let mut w = world("suites/topologies/zone-failover.yaml");
    w.spot_loss(&Zone::from("us-east-1c"), None);
    w.advance(SimTime(120_000));
    insta::assert_json_snapshot!(files(&w));
}

#[test]
fn zone_pinned_steady() {
    insta::assert_json_snapshot!(files(&world("suites/topologies/zone-pinned.yaml")));
}

#[test]
fn zone_pinned_zone_c_canary() {
    let mut w = world("suites/topologies/zone-pinned.yaml");
    w.set_image("test-c", "echo:canary")
        .expect("Rollout test-c");
    w.advance(SimTime(60_000));
    insta::assert_json_snapshot!(files(&w));
}

#[test]
fn source_design_steady() {
    insta::assert_json_snapshot!(files(&world(
        "suites/fixtures/source-design/zone-aware-topology.yaml"
    )));
}
