//! Hostile input files and data loss, through the real binary (issue 10
//! items 6, 7 and the report-dir part of 8): links that loop, a FIFO and a
//! link to /dev/zero among the manifests, an output that is an input,
//! report names that collide, a symlink planted where a report goes, and a
//! report directory that cannot be written.

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

#[path = "common/output.rs"]
mod output;
use output::{run, s, zonechaos_command};

const TOPOLOGY: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/suites/topologies/zone-pinned.yaml"
);

/// Runs `cmd` to its end; fails the test if it is still running after two
/// minutes (a hang guard, not a speed assertion: the old code never ended).
fn run_guarded(mut cmd: Command) -> (i32, String, String) {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(run(&mut cmd));
    });
    rx.recv_timeout(Duration::from_secs(120))
        .expect("zonechaos still running after two minutes: it hangs")
}

fn lint(args: &[&str]) -> Command {
    let mut cmd = zonechaos_command();
    cmd.args(["lint", "--crds", "none"]).args(args);
    cmd
}

fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status().expect("mkfifo");
    assert!(status.success());
}

/// A directory holding one copy of the zone-pinned topology.
fn manifests() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(TOPOLOGY, dir.path().join("topology.yaml")).unwrap();
    dir
}

/// issue 10 item 6: two `ln -s . lN` links: lint ends and counts the file
/// once (the old walker went exponential and double-counted).
#[test]
fn lint_walks_self_links_once() {
    let dir = manifests();
    symlink(".", dir.path().join("l1")).unwrap();
    symlink(".", dir.path().join("l2")).unwrap();
    let (_, out, err) = run_guarded(lint(&[s(dir.path())]));
    assert!(out.contains(" in 1 file "), "{out}{err}");
}

/// issue 10 item 6: a FIFO named x.yaml beside the manifests: exit 2 with
/// the path named, no hang.
#[test]
fn lint_refuses_a_fifo_without_blocking() {
    let dir = manifests();
    mkfifo(&dir.path().join("x.yaml"));
    let (code, _, err) = run_guarded(lint(&[s(dir.path())]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("x.yaml") && err.contains("FIFO"), "{err}");
}

/// issue 10 item 6: a link to /dev/zero: exit 2 at once, not out of memory.
#[test]
fn lint_refuses_a_link_to_dev_zero() {
    let dir = manifests();
    symlink("/dev/zero", dir.path().join("zero.yaml")).unwrap();
    let (code, _, err) = run_guarded(lint(&[s(dir.path())]));
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("zero.yaml") && err.contains("character device"),
        "{err}"
    );
}

/// issue 10 item 6: a file over the 64 MiB cap: exit 2 naming the cap.
#[test]
fn lint_refuses_a_file_over_the_cap() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.yaml");
    let file = std::fs::File::create(&big).unwrap();
    // Sparse: 64 MiB + 1 without writing them.
    file.set_len(64 * 1024 * 1024 + 1).unwrap();
    let (code, _, err) = run_guarded(lint(&[s(&big)]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("64 MiB limit"), "{err}");
}

/// issue 10 item 7: `lint m.yaml -o m.yaml` is refused (exit 2) and m.yaml
/// is unchanged (the old code replaced it with the report, exit 0... or 1).
#[test]
fn lint_refuses_an_output_that_is_an_input() {
    let dir = manifests();
    let m = dir.path().join("topology.yaml");
    let before = std::fs::read(&m).unwrap();
    for out in [m.clone(), dir.path().join("./topology.yaml")] {
        let (code, _, err) = run_guarded(lint(&[s(&m), "-o", s(&out)]));
        assert_eq!(code, 2, "{err}");
        assert!(err.contains("refusing to write"), "{err}");
        assert_eq!(std::fs::read(&m).unwrap(), before, "the manifest is intact");
    }
    // Through the directory too.
    let (code, _, err) = run_guarded(lint(&[s(dir.path()), "-o", s(&m)]));
    assert_eq!(code, 2, "{err}");
    assert_eq!(std::fs::read(&m).unwrap(), before);
}

/// issue 10 item 7: `render --out` into the topology's own directory
/// refuses to replace an input named like a rendered file.
#[test]
fn render_refuses_to_overwrite_its_input() {
    let scratch = tempfile::tempdir().unwrap();
    let mut first = zonechaos_command();
    first
        .args(["render", TOPOLOGY, "--out"])
        .arg(scratch.path());
    let (code, out, err) = run_guarded(first);
    assert_eq!(code, 0, "{out}{err}");
    // An input that has the name of one of the rendered files.
    let victim = std::fs::read_dir(scratch.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "yaml"))
        .expect("render writes YAML");
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join(victim.file_name().unwrap());
    std::fs::copy(TOPOLOGY, &input).unwrap();
    let before = std::fs::read(&input).unwrap();
    let mut again = zonechaos_command();
    again.args(["render", s(&input), "--out"]).arg(dir.path());
    let (code, _, err) = run_guarded(again);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("refusing to write"), "{err}");
    assert_eq!(std::fs::read(&input).unwrap(), before);
}

/// A small sim suite named `name` in `dir`.
fn suite(dir: &Path, file: &str, name: &str) -> PathBuf {
    let path = dir.join(file);
    std::fs::write(
        &path,
        format!(
            "name: {name:?}\ntopology: [{TOPOLOGY}]\nload: {{service: test, namespace: default, rps: 50}}\nsteps:\n  - wait: 10s\n  - assert-no-cross-zone: {{window: 5s}}\n"
        ),
    )
    .unwrap();
    path
}

fn json_at(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// issue 10 item 6: a FIFO named x.yaml in a suite directory: `run` exits
/// 2 naming it, before running anything (the old listing opened it and
/// blocked forever).
#[test]
fn run_refuses_a_fifo_in_a_suite_directory() {
    let dir = tempfile::tempdir().unwrap();
    suite(dir.path(), "a.yaml", "fine");
    mkfifo(&dir.path().join("x.yaml"));
    let mut cmd = zonechaos_command();
    cmd.args(["run", s(dir.path()), "--backend", "sim", "--report-dir"])
        .arg(dir.path().join("reports"));
    let (code, out, err) = run_guarded(cmd);
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("x.yaml") && err.contains("FIFO"), "{err}");
    assert!(out.is_empty(), "nothing ran: {out}");
}

/// issue 10 item 7: suites named `a/b`, `a_b` and `conformance` under
/// `zonechaos conformance` get distinct report files, and the combined
/// report is not overwritten by the suite named like it.
#[test]
fn conformance_report_names_are_unique() {
    let dir = tempfile::tempdir().unwrap();
    let suites = dir.path().join("suites");
    std::fs::create_dir(&suites).unwrap();
    suite(&suites, "1.yaml", "a/b");
    suite(&suites, "2.yaml", "a_b");
    suite(&suites, "3.yaml", "conformance");
    let reports = dir.path().join("reports");
    let mut cmd = zonechaos_command();
    cmd.args([
        "conformance",
        s(&suites),
        "--backend",
        "sim",
        "--report-dir",
    ])
    .arg(&reports);
    let (code, out, err) = run_guarded(cmd);
    assert_eq!(code, 0, "{out}{err}");
    let suite_of = |stem: &str| json_at(&reports.join(format!("{stem}.json")))["suite"].clone();
    assert_eq!(suite_of("a_b"), "a/b");
    assert_eq!(suite_of("a_b-2"), "a_b");
    assert_eq!(suite_of("conformance-2"), "conformance");
    let combined = json_at(&reports.join("conformance.json"));
    assert_eq!(
        combined["runs"].as_array().map(Vec::len),
        Some(3),
        "{combined}"
    );
    let index = std::fs::read_to_string(reports.join("conformance.html")).unwrap();
    for stem in ["a_b", "a_b-2", "conformance-2"] {
        assert!(index.contains(&format!("href=\"{stem}.html\"")), "{index}");
    }
}

/// issue 10 item 7: a symlink planted where a report goes is replaced; the
/// file it points at is unchanged.
#[test]
fn a_symlink_planted_at_a_report_path_is_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    let file = suite(dir.path(), "s.yaml", "planted");
    let reports = dir.path().join("reports");
    std::fs::create_dir(&reports).unwrap();
    let victim = dir.path().join("victim.txt");
    std::fs::write(&victim, "precious").unwrap();
    for ext in ["json", "html", "junit.xml"] {
        symlink(&victim, reports.join(format!("planted.{ext}"))).unwrap();
    }
    let mut cmd = zonechaos_command();
    cmd.args(["run", s(&file), "--backend", "sim", "--report-dir"])
        .arg(&reports);
    let (code, out, err) = run_guarded(cmd);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    assert_eq!(json_at(&reports.join("planted.json"))["suite"], "planted");
}

/// issue 10 item 8: a --report-dir that cannot be created is refused
/// before the run (exit 2, no summary), not after it with the verdict lost.
/// A path under a regular file fails even for root.
#[test]
fn an_unwritable_report_dir_is_refused_before_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let file = suite(dir.path(), "s.yaml", "early");
    let blocker = dir.path().join("regular-file");
    std::fs::write(&blocker, "").unwrap();
    let mut cmd = zonechaos_command();
    cmd.args(["run", s(&file), "--backend", "sim", "--report-dir"])
        .arg(blocker.join("reports"));
    let (code, out, err) = run_guarded(cmd);
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("checked before the run"), "{err}");
    assert!(out.is_empty(), "nothing ran: {out}");
    assert!(!err.contains("running early"), "{err}");
}
