//! No process outlives a local run: not on success (guards dropped), and
//! not when zonechaos itself is killed with SIGKILL mid-run (children die
//! with their parent through PR_SET_PDEATHSIG); nor does a network
//! namespace or veth of mode blackhole. Needs Envoy and Prometheus (and
//! root for blackhole); skipped (listed as ignored) without them unless
//! ZONECHAOS_REQUIRE_REAL=1 makes that a failure (`tests/common/real.rs`).
//! SIGINT and SIGTERM end a run in order instead (finally steps, a report
//! marked interrupted, the temp dir removed), and a SIGKILLed run's temp dir
//! is swept by the next run.

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

/// A local suite that waits long enough to be interrupted, with finally
/// steps that act and wait (they must run after the signal).
const LONG_SUITE: &str = "name: interruptible
topology: [topologies/zone-pinned.yaml]
load: {service: test, namespace: default, rps: 20}
steps:
  - wait: {until: steady}
  - wait: 300s
  - assert-no-cross-zone: {window: 10s}
finally:
  - restore: {zone: us-east-1c}
  - wait: 1s
";

/// A local run of [`LONG_SUITE`] with its own TMPDIR and report dir.
struct LongRun {
    child: std::process::Child,
    tmp: tempfile::TempDir,
    reports: tempfile::TempDir,
    _suite_dir: tempfile::TempDir,
}

impl LongRun {
    /// Starts it in `tmp` (TMPDIR) and waits for the mesh (16 children).
    fn start(tmp: tempfile::TempDir) -> (LongRun, Vec<u32>) {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
        let suite_dir = tempfile::tempdir().unwrap();
        let suite = suite_dir.path().join("interruptible.yaml");
        let topologies = repo.join("suites/topologies/");
        let text = LONG_SUITE.replace("topologies/", topologies.to_str().unwrap());
        std::fs::write(&suite, text).unwrap();
        let reports = tempfile::tempdir().unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_zonechaos"))
            .args(["run"])
            .arg(&suite)
            .args(["--backend", "local", "--report-dir"])
            .arg(reports.path())
            .env("TMPDIR", tmp.path())
            .current_dir(repo)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut run = LongRun {
            child,
            tmp,
            reports,
            _suite_dir: suite_dir,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut kids = Vec::new();
        while Instant::now() < deadline {
            kids = children(run.child.id());
            if kids.len() >= 16 {
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        if kids.len() < 16 {
            let _ = run.child.kill();
            let _ = run.child.wait();
            panic!("only {} children came up", kids.len());
        }
        (run, kids)
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the exit (a hang guard of two minutes, not a speed
    /// assertion) and returns its code (None: killed by a signal).
    fn exit_code(&mut self) -> Option<i32> {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("zonechaos did not end within two minutes of the signal");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The run directories left in its TMPDIR.
    fn run_dirs(&self) -> Vec<std::path::PathBuf> {
        std::fs::read_dir(self.tmp.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("zonechaos-local-")
            })
            .collect()
    }

    fn report(&self) -> serde_json::Value {
        let path = self.reports.path().join("interruptible.json");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("no report {}: {e}", path.display()));
        serde_json::from_str(&text).unwrap()
    }
}

/// Checks an interrupted run's report: marked, steps after the signal
/// skipped, every finally step run and passed.
fn assert_interrupted(report: &serde_json::Value, signal: &str) {
    assert_eq!(report["interrupted"], signal, "{report:#}");
    assert_eq!(report["verdict"], "error");
    let steps = report["steps"].as_array().unwrap();
    let last = steps
        .iter()
        .find(|s| s["kind"] == "assert-no-cross-zone")
        .unwrap();
    assert_eq!(last["status"], "skipped", "{last:#}");
    let finally: Vec<_> = steps.iter().filter(|s| s["finally"] == true).collect();
    assert_eq!(finally.len(), 2, "{report:#}");
    for step in finally {
        assert_eq!(step["status"], "passed", "finally step ran: {step:#}");
    }
}

fn wait_gone(kids: &[u32]) -> Vec<u32> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline && kids.iter().any(|&k| alive(k)) {
        std::thread::sleep(Duration::from_millis(100));
    }
    kids.iter().copied().filter(|&k| alive(k)).collect()
}

/// issue 10 item 9: SIGINT ends a local run in order: exit 130, finally
/// steps run, the report says interrupted, the run's temp dir is gone and
/// no process is left (the old run died at once, leaving its
/// zonechaos-local-* directory, no report and no finally steps).
fn sigint_ends_a_local_run_in_order() {
    let (mut run, kids) = LongRun::start(tempfile::tempdir().unwrap());
    assert_eq!(run.run_dirs().len(), 1);
    run.signal("INT");
    assert_eq!(run.exit_code(), Some(130));
    assert_interrupted(&run.report(), "SIGINT");
    assert_eq!(run.run_dirs(), Vec::<std::path::PathBuf>::new());
    assert_eq!(wait_gone(&kids), Vec::<u32>::new(), "processes left behind");
}

/// issue 10 item 9: after a SIGKILL (nothing can clean up) the next run
/// sweeps the dead run's directory; SIGTERM then ends that run in order
/// (exit 143, report interrupted, its own directory gone).
fn the_next_run_sweeps_a_killed_runs_directory_and_sigterm_ends_it() {
    let (mut killed, kids) = LongRun::start(tempfile::tempdir().unwrap());
    killed.signal("KILL");
    assert_eq!(killed.exit_code(), None);
    assert!(wait_gone(&kids).is_empty());
    let stale = killed.run_dirs();
    assert_eq!(stale.len(), 1, "SIGKILL leaves its directory");
    let LongRun { tmp, .. } = killed;
    let (mut next, kids) = LongRun::start(tmp);
    assert!(!stale[0].exists(), "swept at start: {}", stale[0].display());
    assert_eq!(next.run_dirs().len(), 1, "its own");
    next.signal("TERM");
    assert_eq!(next.exit_code(), Some(143));
    assert_interrupted(&next.report(), "SIGTERM");
    assert!(next.run_dirs().is_empty());
    assert!(wait_gone(&kids).is_empty(), "processes left behind");
}

fn main() {
    real::run(vec![
        test(
            "sigint_ends_a_local_run_in_order",
            &[Need::Envoy, Need::Prometheus],
            sigint_ends_a_local_run_in_order,
        ),
        test(
            "the_next_run_sweeps_a_killed_runs_directory_and_sigterm_ends_it",
            &[Need::Envoy, Need::Prometheus],
            the_next_run_sweeps_a_killed_runs_directory_and_sigterm_ends_it,
        ),
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
