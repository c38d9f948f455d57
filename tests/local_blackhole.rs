//! Spot loss in mode `blackhole` on the local backend: a zone's network
//! namespace drops packets when blackholed, so a TCP connect to its pods
//! times out (not refused, not unreachable); it answers again when brought
//! back; nothing of it outlives its guard; and without the privileges the
//! mode needs, a suite using it fails before anything runs, saying why.
//!
//! Needs root (network namespaces, veth): elsewhere these tests are
//! skipped (listed as ignored), unless ZONECHAOS_REQUIRE_REAL=1 (CI) makes
//! that a failure (`tests/common/real.rs`).

use std::io::ErrorKind;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use zonechaos::backend::local::netns::{NetnsError, ZoneNet, ip_binary};
use zonechaos::chaos::blackhole_zones;
use zonechaos::process::spawn;
use zonechaos::suite::load_suite;
use zonechaos::zone::Zone;

#[path = "common/procs.rs"]
mod procs;
#[path = "common/real.rs"]
mod real;

use real::{Need, test};

use procs::{alive, in_namespaces, netns};

/// How long a connect may take before the test calls it a timeout.
const WAIT: Duration = Duration::from_secs(2);

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A zone network (the trials that call this are gated on root).
fn zone_net(dir: &Path) -> Option<ZoneNet> {
    let made = ip_binary()
        .ok_or_else(|| "no ip binary (iproute2)".to_owned())
        .and_then(|ip| {
            ZoneNet::create(&ip, &dir.join("holder.log")).map_err(|e| match e {
                NetnsError::Unavailable(_) => e.to_string(),
                other => panic!("{other}"),
            })
        });
    match made {
        Ok(net) => Some(net),
        Err(e) => panic!("network namespaces unavailable although root: {e}"),
    }
}

/// Starts `zonechaos echo` inside the namespace; returns its address.
fn echo_in(net: &ZoneNet, dir: &Path) -> (zonechaos::process::Managed, SocketAddr) {
    let mut cmd = net.command(env!("CARGO_BIN_EXE_zonechaos"));
    cmd.args([
        "echo",
        "--zone",
        "us-east-1c",
        "--pod",
        "p",
        "--rollout",
        "r",
        "--version",
        "v",
        "--listen",
    ])
    .arg(SocketAddr::from((net.pod_addr(), 0)).to_string());
    let (m, lines) = spawn(
        "echo",
        cmd,
        &dir.join("echo.log"),
        |l| l.starts_with("listening on"),
        Duration::from_secs(10),
    )
    .unwrap();
    let addr = lines
        .last()
        .and_then(|l| l.strip_prefix("listening on "))
        .and_then(|a| a.trim().parse().ok())
        .unwrap();
    (m, addr)
}

/// The connect's error kind (None: connected) and how long it took.
fn connect(addr: SocketAddr) -> (Option<ErrorKind>, Duration) {
    let t = Instant::now();
    let r = TcpStream::connect_timeout(&addr, WAIT);
    (r.err().map(|e| e.kind()), t.elapsed())
}

fn a_blackholed_zone_times_connects_out_and_comes_back() {
    let dir = tempfile::tempdir().unwrap();
    let Some(mut net) = zone_net(dir.path()) else {
        return;
    };
    let (_echo, addr) = echo_in(&net, dir.path());
    let closed = SocketAddr::from((net.pod_addr(), 1));
    assert_eq!(connect(addr).0, None, "the pod answers");
    assert_eq!(
        connect(closed).0,
        Some(ErrorKind::ConnectionRefused),
        "a closed port refuses: the address is reachable"
    );

    net.set_blackholed(true).unwrap();
    // Twice: the second connect comes after the first one's retransmissions,
    // when a failing ARP entry would have turned the drop into EHOSTUNREACH.
    for target in [addr, closed, addr] {
        let (kind, took) = connect(target);
        assert_eq!(
            kind,
            Some(ErrorKind::TimedOut),
            "connect to {target} must time out (not be refused or unreachable)"
        );
        assert!(took >= WAIT, "timed out early: {took:?}");
        assert!(took < WAIT * 2, "bounded wait: {took:?}");
    }

    net.set_blackholed(false).unwrap();
    assert_eq!(connect(addr).0, None, "restored: the pod answers again");
}

fn dropping_a_zone_net_leaves_no_link_namespace_or_process() {
    let dir = tempfile::tempdir().unwrap();
    let Some(net) = zone_net(dir.path()) else {
        return;
    };
    let (echo, _) = echo_in(&net, dir.path());
    let link = format!("/sys/class/net/{}", net.host_interface());
    let holder = net.holder_pid().unwrap();
    let ns = netns(holder).unwrap();
    assert!(Path::new(&link).exists());
    assert_ne!(
        netns(std::process::id()),
        Some(ns.clone()),
        "the holder has a namespace of its own"
    );
    drop(echo);
    drop(net);
    assert!(!Path::new(&link).exists(), "{link} left behind");
    assert!(!alive(holder), "holder {holder} left behind");
    let users = in_namespaces(std::slice::from_ref(&ns));
    assert!(users.is_empty(), "processes still in {ns:?}: {users:?}");
}

fn only_suites_using_blackhole_get_namespaces() {
    let zones = |f: &str| blackhole_zones(&load_suite(&repo().join("suites").join(f)).unwrap());
    assert_eq!(zones("zone-c-spot-loss.yaml"), Vec::<Zone>::new());
    assert_eq!(
        zones("zone-c-spot-loss-blackhole.yaml"),
        vec![Zone::from("us-east-1c")]
    );
}

fn without_privileges_a_blackhole_suite_fails_before_anything_runs() {
    let have = zonechaos::backend::local::Binaries::find(
        PathBuf::from(env!("CARGO_BIN_EXE_zonechaos")),
        repo(),
    );
    let setpriv = Path::new("/usr/bin/setpriv");
    have.expect("gated on Envoy and Prometheus");
    assert!(setpriv.is_file(), "no {} (util-linux)", setpriv.display());
    let dir = tempfile::tempdir().unwrap();
    // The same user without any capability: no namespaces, no links.
    let out = Command::new(setpriv)
        .args(["--bounding-set=-all", "--inh-caps=-all"])
        .arg(env!("CARGO_BIN_EXE_zonechaos"))
        .args([
            "run",
            "suites/zone-c-spot-loss-blackhole.yaml",
            "--backend",
            "local",
            "--report-dir",
        ])
        .arg(dir.path())
        .current_dir(repo())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("spot-loss mode blackhole needs root and network namespaces")
            && stderr.contains("mode: refuse"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("local mesh ready"),
        "nothing may start: {stderr}"
    );
}

fn main() {
    real::run(vec![
        test(
            "a_blackholed_zone_times_connects_out_and_comes_back",
            &[Need::Root],
            a_blackholed_zone_times_connects_out_and_comes_back,
        ),
        test(
            "dropping_a_zone_net_leaves_no_link_namespace_or_process",
            &[Need::Root],
            dropping_a_zone_net_leaves_no_link_namespace_or_process,
        ),
        test(
            "only_suites_using_blackhole_get_namespaces",
            &[],
            only_suites_using_blackhole_get_namespaces,
        ),
        test(
            "without_privileges_a_blackhole_suite_fails_before_anything_runs",
            &[Need::Envoy, Need::Prometheus],
            without_privileges_a_blackhole_suite_fails_before_anything_runs,
        ),
    ])
}
