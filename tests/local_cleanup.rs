//! No process outlives a local run: not on success (guards dropped), and
//! not when zonechaos itself is killed with SIGKILL mid-run (children die
//! with their parent through PR_SET_PDEATHSIG); nor does a network
//! namespace or veth of mode blackhole. Needs Envoy and Prometheus (and
//! root for blackhole); skipped (listed as ignored) without them unless
//! ZONECHAOS_REQUIRE_REAL=1 makes that a failure (`tests/common/real.rs`).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[path = "common/procs.rs"]
mod procs;
#[path = "common/real.rs"]
mod real;

use real::{Need, test};

use procs::{alive, children, in_namespaces, netns};

/// Starts `zonechaos run SUITE --backend local`, waits until the mesh is up
/// (Prometheus, 3 Envoys, 9 pods, 3 clients, plus `extra` children), calls
/// `inspect` with the children, SIGKILLs zonechaos, and returns the
/// children still alive 10 s later (the trials are gated on Envoy and
/// Prometheus).
fn kill_mid_run(suite: &str, extra: usize, inspect: impl FnOnce(&[u32])) -> Vec<u32> {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let mut run = Command::new(env!("CARGO_BIN_EXE_zonechaos"))
        .args(["run", suite, "--backend", "local", "--report-dir"])
        .arg(dir.path())
        .current_dir(repo)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let want = 16 + extra;
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut kids = Vec::new();
    while Instant::now() < deadline {
        kids = children(run.id());
        if kids.len() >= want {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    if kids.len() < want {
        let _ = run.kill();
        let _ = run.wait();
        panic!("only {} children came up", kids.len());
    }
    inspect(&kids);
    run.kill().unwrap();
    let _ = run.wait();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline && kids.iter().any(|&k| alive(k)) {
        std::thread::sleep(Duration::from_millis(100));
    }
    kids.into_iter().filter(|&k| alive(k)).collect()
}

fn killing_zonechaos_kills_every_child() {
    let left = kill_mid_run("suites/zone-c-spot-loss.yaml", 0, |_| {});
    assert!(left.is_empty(), "processes left behind: {left:?}");
}

/// Interfaces of a process's network namespace (`/proc/PID/net/dev`).
fn interfaces(pid: u32) -> Vec<String> {
    std::fs::read_to_string(format!("/proc/{pid}/net/dev"))
        .unwrap_or_default()
        .lines()
        .skip(2)
        .filter_map(|l| l.split_once(':').map(|(name, _)| name.trim().to_owned()))
        .collect()
}

/// With mode blackhole the run also holds a network namespace per
/// blackholed zone, with a veth pair into it: SIGKILL of zonechaos leaves
/// neither behind (the namespace dies with its last process, the veth with
/// the namespace). Where namespaces are unavailable the suite cannot start
/// (tests/local_blackhole.rs), so this test is skipped.
fn killing_zonechaos_mid_blackhole_run_leaves_no_namespace_or_veth() {
    assert!(
        Path::new("/proc/self/ns/net").exists(),
        "no network namespaces"
    );
    let host_ns = netns(std::process::id()).unwrap();
    let mut namespaces = Vec::new();
    let mut host_links = Vec::new();
    let left = kill_mid_run("suites/zone-c-spot-loss-blackhole.yaml", 1, |kids| {
        for &k in kids {
            let Some(ns) = netns(k) else {
                continue;
            };
            if ns == host_ns || namespaces.contains(&ns) {
                continue;
            }
            // The namespace end `zc<slot>n` pairs with the host end `zc<slot>h`.
            for name in interfaces(k) {
                if let Some(slot) = name.strip_prefix("zc").and_then(|n| n.strip_suffix('n')) {
                    host_links.push(format!("zc{slot}h"));
                }
            }
            namespaces.push(ns);
        }
    });
    assert_eq!(
        namespaces.len(),
        1,
        "one namespace (zone c): {namespaces:?}"
    );
    assert_eq!(host_links.len(), 1, "one veth pair: {host_links:?}");
    assert!(left.is_empty(), "processes left behind: {left:?}");
    let deadline = Instant::now() + Duration::from_secs(5);
    let gone = |l: &String| !Path::new("/sys/class/net").join(l).exists();
    while Instant::now() < deadline && !host_links.iter().all(gone) {
        std::thread::sleep(Duration::from_millis(100));
    }
    let links: Vec<&String> = host_links.iter().filter(|l| !gone(l)).collect();
    assert!(links.is_empty(), "veth left behind: {links:?}");
    let users = in_namespaces(&namespaces);
    assert!(
        users.is_empty(),
        "processes still in the namespace: {users:?}"
    );
}

fn main() {
    real::run(vec![
        test(
            "killing_zonechaos_kills_every_child",
            &[Need::Envoy, Need::Prometheus],
            killing_zonechaos_kills_every_child,
        ),
        test(
            "killing_zonechaos_mid_blackhole_run_leaves_no_namespace_or_veth",
            &[Need::Envoy, Need::Prometheus, Need::Root],
            killing_zonechaos_mid_blackhole_run_leaves_no_namespace_or_veth,
        ),
    ])
}
