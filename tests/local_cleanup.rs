//! No process outlives a local run: not on success (guards dropped), and
//! not when zonechaos itself is killed with SIGKILL mid-run (children die
//! with their parent through PR_SET_PDEATHSIG). Needs Envoy and Prometheus;
//! skipped with a notice without them unless ZONECHAOS_REQUIRE_LOCAL=1.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Direct children of a process, from /proc.
fn children(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(child) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let stat = std::fs::read_to_string(format!("/proc/{child}/stat")).unwrap_or_default();
        // pid (comm) state ppid ...: comm may contain spaces, so split after ')'.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        if ppid == Some(pid) {
            out.push(child);
        }
    }
    out
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        !s.rsplit_once(')')
            .is_some_and(|(_, r)| r.trim_start().starts_with('Z'))
    })
}

#[test]
fn killing_zonechaos_kills_every_child() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let have =
        zonechaos::backend::local::Binaries::find(env!("CARGO_BIN_EXE_zonechaos").into(), repo);
    if let Err(e) = have {
        assert!(std::env::var("ZONECHAOS_REQUIRE_LOCAL").is_err(), "{e}");
        eprintln!("skipped: {e}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut run = Command::new(env!("CARGO_BIN_EXE_zonechaos"))
        .args([
            "run",
            "suites/zone-c-spot-loss.yaml",
            "--backend",
            "local",
            "--report-dir",
        ])
        .arg(dir.path())
        .current_dir(repo)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the mesh is up: Prometheus, 3 Envoys, 9 pods, 3 clients.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut kids = Vec::new();
    while Instant::now() < deadline {
        kids = children(run.id());
        if kids.len() >= 16 {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(kids.len() >= 16, "only {} children came up", kids.len());
    run.kill().unwrap();
    let _ = run.wait();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline && kids.iter().any(|&k| alive(k)) {
        std::thread::sleep(Duration::from_millis(100));
    }
    let left: Vec<u32> = kids.into_iter().filter(|&k| alive(k)).collect();
    assert!(left.is_empty(), "processes left behind: {left:?}");
}
