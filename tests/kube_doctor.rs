//! `zonechaos doctor` (issue 11 "Also"): every check against a fake
//! runner and host, and the CLI's exit codes. The Docker answers follow the
//! `docker info --format` template's fields of moby's `system.Info`
//! (api/types/system/info.go: ServerVersion, NCPU, MemTotal in bytes,
//! DockerRootDir, OSType); the inotify advice is kind's
//! (site/content/docs/user/known-issues.md).

use std::path::Path;

use zonechaos::backend::kube::cluster::doctor::{
    CheckStatus, DoctorReport, HostProbe, MIN_INOTIFY_INSTANCES, MIN_INOTIFY_WATCHES, Needs,
};
use zonechaos::backend::kube::cluster::{
    ClusterOptions, ClusterSize, KindCluster, Output, RecordingRunner, Tool,
};
use zonechaos::pins;
use zonechaos::profile::ClusterProfile;

#[path = "common/output.rs"]
mod output;

const GIB: u64 = 1 << 30;

/// A host with these inotify limits and this much free disk everywhere.
struct FakeHost {
    watches: Option<u64>,
    instances: Option<u64>,
    free: Option<u64>,
}

impl FakeHost {
    fn roomy() -> FakeHost {
        FakeHost {
            watches: Some(MIN_INOTIFY_WATCHES),
            instances: Some(MIN_INOTIFY_INSTANCES),
            free: Some(100 * GIB),
        }
    }
}

impl HostProbe for FakeHost {
    fn sysctl(&self, key: &str) -> Option<u64> {
        match key {
            "fs/inotify/max_user_watches" => self.watches,
            "fs/inotify/max_user_instances" => self.instances,
            _ => None,
        }
    }

    fn free_bytes(&self, _: &Path) -> Option<u64> {
        self.free
    }
}

fn docker_info(cpus: u64, memory: u64, os: &str) -> Output {
    Output::ok(&format!("28.1.1|{cpus}|{memory}|/var/lib/docker|{os}\n"))
}

/// Every tool answering as pinned, Docker with `cpus` and `memory`.
fn runner(cpus: u64, memory: u64) -> RecordingRunner {
    RecordingRunner::new()
        .answer("docker info", docker_info(cpus, memory, "linux"))
        .answer(
            "kind version",
            Output::ok("kind v0.30.0 go1.24.6 linux/amd64\n"),
        )
        .answer(
            "kubectl version",
            Output::ok("Client Version: v1.34.0\nKustomize Version: v5.7.1\n"),
        )
        .answer("istioctl version", Output::ok("client version: 1.30.3\n"))
}

fn cluster(size: ClusterSize, cache: &Path) -> KindCluster {
    KindCluster::new(
        &ClusterProfile::builtin(),
        ClusterOptions {
            size,
            cache_dir: Some(cache.to_owned()),
            ..ClusterOptions::default()
        },
    )
    .unwrap()
}

fn status_of(report: &DoctorReport, name: &str) -> CheckStatus {
    report
        .checks
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no {name} check in\n{report}"))
        .status
}

fn fix_of(report: &DoctorReport, name: &str) -> String {
    report
        .checks
        .iter()
        .find(|c| c.name == name)
        .and_then(|c| c.fix.clone())
        .unwrap_or_else(|| panic!("no fix for {name} in\n{report}"))
}

#[test]
fn a_machine_with_everything_is_ready() {
    let cache = tempfile::tempdir().unwrap();
    let report =
        cluster(ClusterSize::Full, cache.path()).doctor(&runner(8, 16 * GIB), &FakeHost::roomy());
    assert!(report.ready(), "{report}");
    for check in &report.checks {
        assert_eq!(check.status, CheckStatus::Ok, "{report}");
    }
    let text = report.to_string();
    assert!(text.ends_with("ready for kind\n"), "{text}");
    assert!(text.contains("28.1.1 (linux)"), "{text}");
}

#[test]
fn an_engine_that_does_not_answer_fails_with_how_to_start_it() {
    let cache = tempfile::tempdir().unwrap();
    let runner = RecordingRunner::new()
        .answer(
            "docker info",
            Output::failed(1, "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n"),
        )
        .answer("istioctl version", Output::ok("client version: 1.30.3\n"))
        .answer("kind version", Output::ok("kind v0.30.0\n"));
    let report = cluster(ClusterSize::Small, cache.path()).doctor(&runner, &FakeHost::roomy());
    assert!(!report.ready());
    assert_eq!(status_of(&report, "docker engine"), CheckStatus::Fail);
    assert!(
        fix_of(&report, "docker engine").contains("start Docker"),
        "{report}"
    );
    assert!(
        report.failures().contains("Cannot connect"),
        "{}",
        report.failures()
    );
    // Nothing else can be asked of an engine that is not there.
    assert!(
        report.checks.iter().all(|c| c.name != "docker memory"),
        "{report}"
    );
    let missing = RecordingRunner::new().without(Tool::Docker);
    let report = cluster(ClusterSize::Small, cache.path()).doctor(&missing, &FakeHost::roomy());
    assert_eq!(status_of(&report, "docker engine"), CheckStatus::Fail);
    assert!(fix_of(&report, "docker engine").contains("docs.docker.com"));
}

/// 4 CPUs and 6 GiB run the small cluster (7 nodes) but not the full one
/// (13 nodes); the fix names `--small`.
#[test]
fn resources_are_judged_against_the_chosen_size() {
    let cache = tempfile::tempdir().unwrap();
    let runner = runner(4, 6 * GIB);
    let small = cluster(ClusterSize::Small, cache.path()).doctor(&runner, &FakeHost::roomy());
    assert!(small.ready(), "{small}");
    let full = cluster(ClusterSize::Full, cache.path()).doctor(&runner, &FakeHost::roomy());
    assert_eq!(
        status_of(&full, "docker memory"),
        CheckStatus::Fail,
        "{full}"
    );
    assert_eq!(status_of(&full, "docker cpus"), CheckStatus::Ok, "{full}");
    assert!(fix_of(&full, "docker memory").contains("--small"));
    let two = cluster(ClusterSize::Full, cache.path())
        .doctor(&self::runner(2, 64 * GIB), &FakeHost::roomy());
    assert_eq!(status_of(&two, "docker cpus"), CheckStatus::Fail, "{two}");

    let needs = Needs::of(&ClusterProfile::builtin(), ClusterSize::Full);
    let tight = FakeHost {
        free: Some(needs.disk - 1),
        ..FakeHost::roomy()
    };
    let report =
        cluster(ClusterSize::Full, cache.path()).doctor(&self::runner(8, 64 * GIB), &tight);
    assert_eq!(
        status_of(&report, "free disk"),
        CheckStatus::Fail,
        "{report}"
    );
    assert!(fix_of(&report, "free disk").contains("/var/lib/docker"));
    // Docker Desktop: the data root is inside its VM.
    let vm = FakeHost {
        free: None,
        watches: None,
        instances: None,
    };
    let report = cluster(ClusterSize::Full, cache.path()).doctor(&self::runner(8, 64 * GIB), &vm);
    assert!(report.ready(), "{report}");
    assert_eq!(status_of(&report, "free disk"), CheckStatus::NotChecked);
    assert_eq!(
        status_of(&report, "inotify limits"),
        CheckStatus::NotChecked
    );
}

#[test]
fn low_inotify_limits_fail_with_the_sysctl_that_fixes_them() {
    let cache = tempfile::tempdir().unwrap();
    // Ubuntu's defaults.
    let host = FakeHost {
        watches: Some(65_536),
        instances: Some(128),
        ..FakeHost::roomy()
    };
    let report = cluster(ClusterSize::Small, cache.path()).doctor(&runner(8, 16 * GIB), &host);
    assert_eq!(status_of(&report, "inotify limits"), CheckStatus::Fail);
    assert_eq!(
        fix_of(&report, "inotify limits"),
        "sudo sysctl fs.inotify.max_user_watches=524288 fs.inotify.max_user_instances=512 (kind known issues)"
    );
    let one_short = FakeHost {
        instances: Some(MIN_INOTIFY_INSTANCES - 1),
        ..FakeHost::roomy()
    };
    let report = cluster(ClusterSize::Small, cache.path()).doctor(&runner(8, 16 * GIB), &one_short);
    assert_eq!(status_of(&report, "inotify limits"), CheckStatus::Fail);
}

/// istioctl must be the pinned release (the plan installs with it); a
/// different kind only warns (the node image is pinned by digest).
#[test]
fn tool_versions_are_checked_against_the_pins() {
    let cache = tempfile::tempdir().unwrap();
    let runner = RecordingRunner::new()
        .answer("istioctl version", Output::ok("client version: 1.29.0\n"))
        .answer(
            "kind version",
            Output::ok("kind v0.27.0 go1.23 linux/amd64\n"),
        )
        .answer("docker info", docker_info(8, 16 * GIB, "linux"));
    let report = cluster(ClusterSize::Small, cache.path()).doctor(&runner, &FakeHost::roomy());
    assert_eq!(
        status_of(&report, "istioctl"),
        CheckStatus::Fail,
        "{report}"
    );
    assert!(fix_of(&report, "istioctl").contains(pins::ISTIO_VERSION));
    assert_eq!(status_of(&report, "kind"), CheckStatus::Warn, "{report}");
    assert!(report.failures().contains("istioctl"));
    assert!(!report.failures().contains("kind"), "{}", report.failures());
    let missing = RecordingRunner::new()
        .answer("docker info", docker_info(8, 16 * GIB, "linux"))
        .without(Tool::Kubectl)
        .without(Tool::Curl);
    let report = cluster(ClusterSize::Small, cache.path()).doctor(&missing, &FakeHost::roomy());
    assert_eq!(status_of(&report, "kubectl"), CheckStatus::Fail);
    assert_eq!(status_of(&report, "curl"), CheckStatus::Fail);
    assert!(fix_of(&report, "kubectl").contains("kubernetes.io"));
}

#[test]
fn a_cached_argo_manifest_is_checked_against_its_pin() {
    let cache = tempfile::tempdir().unwrap();
    let path = cache.path().join(pins::ARGO_ROLLOUTS_INSTALL.file_name);
    let c = cluster(ClusterSize::Small, cache.path());
    let report = c.doctor(&runner(8, 16 * GIB), &FakeHost::roomy());
    assert_eq!(status_of(&report, "argo pin"), CheckStatus::Ok);
    std::fs::write(&path, "kind: Deployment\n").unwrap();
    let report = c.doctor(&runner(8, 16 * GIB), &FakeHost::roomy());
    assert_eq!(
        status_of(&report, "argo pin"),
        CheckStatus::Fail,
        "{report}"
    );
    assert!(fix_of(&report, "argo pin").contains(&path.display().to_string()));
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "kind: Deployment\n",
        "left for the user"
    );
}

/// The doctor's tool commands are the up plan's preflight: one list.
#[test]
fn the_up_plan_starts_with_the_doctors_commands() {
    let plan = cluster(ClusterSize::Small, Path::new("/cache"))
        .up_plan()
        .unwrap();
    let text = plan.display();
    for command in zonechaos::backend::kube::cluster::doctor::tool_commands() {
        assert!(
            text.contains(&command.command_line()),
            "{}\n{text}",
            command.command_line()
        );
    }
}

fn zonechaos(args: &[&str], path: &Path) -> std::process::Output {
    let mut cmd = output::zonechaos_command();
    cmd.args(args).env("PATH", path);
    output::output(&mut cmd)
}

/// Without the tools, `doctor` lists every failure with its fix and exits
/// 3, and `cluster up` stops before it runs anything.
#[test]
fn cli_doctor_and_cluster_up_exit_3_when_not_ready() {
    let empty = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let cache_arg = cache.path().to_str().unwrap();
    let out = zonechaos(
        &["doctor", "--small", "--cache-dir", cache_arg],
        empty.path(),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{stdout}");
    for tool in ["docker engine", "kind", "kubectl", "istioctl", "curl"] {
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with("FAIL") && l.contains(tool)),
            "{tool}:\n{stdout}"
        );
    }
    assert!(stdout.contains("fix: install kind v0.30.0"), "{stdout}");
    assert!(stdout.contains("not ready"), "{stdout}");

    let out = zonechaos(
        &["cluster", "up", "--small", "--cache-dir", cache_arg],
        empty.path(),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("not ready for kind"), "{stderr}");
    assert_eq!(
        std::fs::read_dir(cache.path()).unwrap().count(),
        0,
        "nothing was created"
    );
}
