//! The kind backend on ONE reused fake cluster (tests/fake_cluster): every
//! suite's chaos steps run in sequence, as `conformance --backend kind
//! --reuse` runs them, through the real kube-rs client stack over loopback
//! HTTP and the real Docker commands against a fake engine. Whatever state
//! one suite leaves behind (a Node missing or NotReady, a cordon, iptables
//! rules, a stopped container, a load client moved or killed, a zone's
//! workload short of pods) fails the test at that suite.
//!
//! What the fake does not serve, and so what this does not cover: the
//! deploy (server-side apply), readiness waits, Rollout `/status` patches
//! and the PromQL assertions; `canary`, `promote`, `abort` and the traffic
//! assertions are skipped here (tests/kube_backend.rs covers their API
//! calls against a scripted server).
//!
//! Time is scaled down by [`SCALE`]: the suites' waits, drain timeouts, the
//! node-monitor grace and the cloud controller's deletion delay alike, so
//! the order of events matches a real run's.

mod fake_cluster;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fake_cluster::{FakeCluster, Pdb, ROLE_LABEL, Workload};
use zonechaos::backend::Backend;
use zonechaos::backend::kube::api::{Clients, clients_for};
use zonechaos::backend::kube::backend::{DockerNodes, KubeBackend, KubeSettings};
use zonechaos::backend::kube::cluster::{ClusterSize, KindClusterConfig};
use zonechaos::profile::ClusterProfile;
use zonechaos::spec::{Action, SpotLossMode, SpotLossSpec, WaitSpec};
use zonechaos::suite::{Suite, load_suite};
use zonechaos::telemetry::query::PromQuery;

const NS: &str = "zonechaos-e2e";
const CLUSTER: &str = "zonechaos-three-zones";
/// Real seconds per suite second.
const SCALE: u32 = 50;
/// The profile's node-monitor grace (50 s), scaled.
const GRACE: Duration = Duration::from_millis(50_000 / SCALE as u64);
/// The backend polls node readiness every 2 s (backend.rs NODE_POLL),
/// unscaled: a settle longer than the scaled deletion delay (120 s) plus a
/// poll lets any deletion still pending happen before the cluster is
/// compared.
const SETTLE: Duration = Duration::from_millis(120_000 / SCALE as u64 + 2_500);

fn scaled(d: Duration) -> Duration {
    d / SCALE
}

/// Per zone: the suites' zone-pinned Rollout (3 pods, a PDB of
/// minAvailable 1, as topologies/zone-pinned.yaml) and one load client.
fn workloads(profile: &ClusterProfile) -> (Vec<Workload>, Vec<Pdb>) {
    let mut workloads = Vec::new();
    let mut pdbs = Vec::new();
    for zone in &profile.zones {
        let zone = zone.name.as_str().to_owned();
        let short = zone.chars().last().expect("zone name").to_string();
        let labels = BTreeMap::from([
            ("app".to_owned(), "test".to_owned()),
            ("zone".to_owned(), short.clone()),
        ]);
        workloads.push(Workload {
            name: format!("test-{short}"),
            zone: zone.clone(),
            replicas: 3,
            labels: labels.clone(),
            load_client: false,
        });
        pdbs.push(Pdb {
            name: format!("test-{short}-pdb"),
            min_available: 1,
            match_labels: labels,
        });
        workloads.push(Workload {
            name: format!("loadgen-{short}"),
            zone,
            replicas: 1,
            labels: BTreeMap::from([(ROLE_LABEL.to_owned(), "loadgen".to_owned())]),
            load_client: true,
        });
    }
    (workloads, pdbs)
}

/// A fake cluster of the built-in profile's full kind config, and a
/// runtime whose clients reach it.
fn cluster() -> (FakeCluster, tokio::runtime::Runtime, Clients) {
    let profile = ClusterProfile::builtin();
    let config = KindClusterConfig::from_profile(&profile, ClusterSize::Full);
    let (workloads, pdbs) = workloads(&profile);
    let fake = FakeCluster::start(&config, CLUSTER, NS, GRACE, workloads, pdbs);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let url = format!("http://{}", fake.addr).parse().expect("url");
    let clients = {
        let _guard = runtime.enter();
        clients_for(kube::Config::new(url)).expect("clients")
    };
    (fake, runtime, clients)
}

fn settings() -> KubeSettings {
    KubeSettings {
        name: "kind",
        namespace: NS.into(),
        // The backend's default of 120 s, scaled.
        node_gone_after: scaled(Duration::from_secs(120)),
        node_ready_within: Duration::from_secs(20),
        emulate_loss: false,
        canary_image: None,
        workload_zones: Default::default(),
    }
}

fn backend(
    fake: &FakeCluster,
    runtime: &tokio::runtime::Runtime,
    clients: &Clients,
    suite: &Suite,
) -> KubeBackend {
    // Nothing listens there: the traffic assertions are not run here.
    let prometheus = PromQuery::new("http://127.0.0.1:9", Duration::from_secs(1)).unwrap();
    KubeBackend::new(
        runtime.handle().clone(),
        clients.clone(),
        settings(),
        Box::new(DockerNodes::with_runner(fake.docker())),
        prometheus,
        suite,
    )
}

/// Runs the suite's chaos steps and its `finally` steps, time scaled; a
/// drain's outcome is awaited where the suite asserts on it.
fn run_chaos(backend: &mut KubeBackend, suite: &Suite) {
    for step in suite.steps.iter().chain(&suite.finally) {
        let at = format!("{}:{}", suite.file.display(), step.line);
        match &step.action {
            Action::SpotLoss(_) | Action::Cordon(_) | Action::Restore(_) => {
                backend
                    .apply(&step.action)
                    .unwrap_or_else(|e| panic!("{at}: {e}"));
            }
            Action::Drain(d) => {
                let mut d = d.clone();
                d.timeout =
                    zonechaos::model::clock::SimDuration::millis(d.timeout.0 / SCALE as u64);
                backend
                    .apply(&Action::Drain(d))
                    .unwrap_or_else(|e| panic!("{at}: {e}"));
            }
            Action::Wait(WaitSpec::For(d)) => std::thread::sleep(scaled(d.to_std())),
            Action::AssertPdb(a) => await_drain(backend, &a.drain_of, &at),
            _ => {}
        }
    }
}

fn await_drain(backend: &KubeBackend, zone: &zonechaos::zone::Zone, at: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while backend.last_drain(zone).and_then(|d| d.finished).is_none() {
        assert!(
            Instant::now() < deadline,
            "{at}: the drain of {zone} never finished"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn suites() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("suites");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("suites/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    paths.sort();
    paths
}

/// Every suite's chaos in sequence on one cluster: after each, the cluster
/// is as the first found it.
#[test]
fn every_suite_leaves_the_reused_cluster_as_it_found_it() {
    let (fake, runtime, clients) = cluster();
    let baseline = fake.snapshot();
    assert_eq!(baseline.nodes.len(), 13, "{baseline:#?}");
    assert!(
        baseline
            .nodes
            .values()
            .all(|(ready, cordoned, _)| ready == "True" && !cordoned)
    );
    assert!(
        baseline
            .workloads_in_zone
            .values()
            .all(|(bound, want)| bound == want),
        "{baseline:#?}"
    );
    let mut ran = Vec::new();
    for path in suites() {
        let suite = load_suite(&path).unwrap_or_else(|e| panic!("{e}"));
        let departed_before = fake.departures().len();
        let mut b = backend(&fake, &runtime, &clients, &suite);
        run_chaos(&mut b, &suite);
        drop(b);
        // Anything the suite left running (a deletion, a drain) acts now.
        std::thread::sleep(SETTLE);
        let after = fake.snapshot();
        let name = &suite.name;
        assert_eq!(after.nodes, baseline.nodes, "{name} left the nodes changed");
        assert!(
            after.damaged_containers.is_empty(),
            "{name} left node containers stopped or with iptables rules: {:?}",
            after.damaged_containers
        );
        assert_eq!(
            after.load_clients, baseline.load_clients,
            "{name} moved or killed a load client"
        );
        assert!(
            after
                .workloads_in_zone
                .values()
                .all(|(bound, want)| bound == want),
            "{name} left a zone short of pods: {:?}",
            after.workloads_in_zone
        );
        let departed: Vec<_> = fake.departures()[departed_before..].to_vec();
        assert!(
            departed.iter().all(|(pod, _)| !pod.starts_with("loadgen-")),
            "{name}: {departed:?}"
        );
        ran.push((name.clone(), departed.len()));
    }
    assert!(fake.unexpected().is_empty(), "{:?}", fake.unexpected());
    // The chaos did happen: the drain and the losses moved pods.
    assert!(ran.len() >= 10, "{ran:?}");
    assert!(
        ran.iter().any(|(n, d)| n == "zone-c-drain" && *d >= 2),
        "{ran:?}"
    );
    eprintln!("suites and pods moved: {ran:?}");
}

/// The check above can fail: a Spot loss never restored leaves the zone's
/// spot containers stopped and, once the grace passed, their Node objects
/// deleted by the backend's cloud-controller stand-in and their pods gone.
#[test]
fn a_loss_left_unrestored_shows_in_the_cluster() {
    let (fake, runtime, clients) = cluster();
    let baseline = fake.snapshot();
    let suite =
        load_suite(&Path::new(env!("CARGO_MANIFEST_DIR")).join("suites/zone-c-spot-loss.yaml"))
            .expect("suite");
    let mut b = backend(&fake, &runtime, &clients, &suite);
    b.apply(&Action::SpotLoss(SpotLossSpec {
        zone: "us-east-1c".into(),
        notice: None,
        mode: Some(SpotLossMode::Refuse),
    }))
    .expect("spot loss");
    std::thread::sleep(SETTLE + GRACE);
    let after = fake.snapshot();
    let zone_c = fake.nodes_labelled("topology.kubernetes.io/zone", "us-east-1c");
    let spot_c: Vec<String> = fake
        .nodes_labelled("karpenter.sh/capacity-type", "spot")
        .into_iter()
        .filter(|n| zone_c.contains(n))
        .collect();
    assert!(!spot_c.is_empty());
    for n in &spot_c {
        assert!(
            !after.nodes.contains_key(n),
            "{n} still has a Node: {after:#?}"
        );
        assert!(after.damaged_containers.contains(n), "{n}");
    }
    assert_ne!(after.nodes, baseline.nodes);
    // test-c's pods were on the spot nodes; replacements went to on-demand.
    assert!(
        fake.departures()
            .iter()
            .any(|(_, why)| why.contains("garbage-collected"))
    );
}

/// The fake engine and kubelet answer as upstream's do (the rules in
/// tests/fake_cluster's header): a fake that let the old blackhole restore
/// (`network connect --ip`) or a lost Node's return pass would prove nothing.
#[test]
fn the_fake_answers_as_docker_and_the_kubelet_do() {
    use zonechaos::backend::kube::cluster::{CommandRunner, PlannedCommand, Tool};
    let (fake, _runtime, _clients) = cluster();
    let docker = fake.docker();
    let node = format!("{CLUSTER}-worker");
    let run = |args: &[&str]| {
        docker
            .run(&PlannedCommand::new(Tool::Docker, args, "test"))
            .unwrap()
    };
    let ip = run(&["inspect", "--format", "{{ip}}", &node]).stdout;

    // moby refuses a fixed IPv4 address on a network without a user subnet.
    let connect = run(&["network", "connect", "--ip", ip.trim(), "kind", &node]);
    assert!(!connect.success());
    assert!(
        connect.stderr.contains("user configured subnets"),
        "{}",
        connect.stderr
    );

    // A killed container runs nothing; started again it keeps its address
    // and its rules are gone with the old network namespace.
    assert!(run(&["exec", &node, "iptables", "-N", "X"]).success());
    assert!(run(&["kill", "--signal", "KILL", &node]).success());
    let exec = run(&["exec", &node, "iptables", "-F", "X"]);
    assert!(exec.stderr.contains("is not running"), "{}", exec.stderr);
    assert!(run(&["start", &node]).success());
    assert_eq!(run(&["inspect", "--format", "{{ip}}", &node]).stdout, ip);
    assert!(!run(&["exec", &node, "iptables", "-F", "X"]).success());

    // iptables: a referenced chain cannot be removed, a missing rule not deleted.
    assert!(run(&["exec", &node, "iptables", "-N", "X"]).success());
    assert!(run(&["exec", &node, "iptables", "-I", "OUTPUT", "1", "-j", "X"]).success());
    assert!(!run(&["exec", &node, "iptables", "-X", "X"]).success());
    assert!(!run(&["exec", &node, "iptables", "-D", "INPUT", "-j", "X"]).success());
    assert!(run(&["exec", &node, "iptables", "-D", "OUTPUT", "-j", "X"]).success());
    assert!(run(&["exec", &node, "iptables", "-X", "X"]).success());

    // The kubelet registers once per process: a Node deleted while it runs
    // stays gone until it restarts.
    fake.delete_node(&node);
    assert!(!fake.snapshot().nodes.contains_key(&node));
    assert!(
        run(&["start", &node]).success(),
        "start of a running container is a no-op"
    );
    assert!(!fake.snapshot().nodes.contains_key(&node));
    assert!(run(&["exec", &node, "systemctl", "restart", "kubelet"]).success());
    assert!(fake.snapshot().nodes.contains_key(&node));
    assert!(fake.unexpected().is_empty(), "{:?}", fake.unexpected());
}
