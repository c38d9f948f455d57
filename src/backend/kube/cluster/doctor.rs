//! `zonechaos doctor`: whether this machine can run the kind backend,
//! checked before anything is created. Every check says what it found and,
//! when it is not good enough, the fix. `cluster up` (and `run --backend
//! kind`) runs it first and stops on a failed check.
//!
//! The commands that check the tools are also the up plan's preflight
//! ([`tool_commands`]): one list, shown by `--plan` and judged here.
//!
//! Resource needs are estimates (kind has never run on a machine here):
//! roughly 2 GiB for the control plane with Istio, Argo Rollouts and
//! Prometheus on it plus 0.5 GiB per worker; disk for the node image plus
//! the images each node pulls. inotify limits are kind's own advice for
//! clusters of several nodes (kind site/content/docs/user/known-issues.md,
//! "Pod errors due to too many open files").

use std::fmt;
use std::path::{Path, PathBuf};

use super::exec::{CommandRunner, run_command};
use super::kind_config::{ClusterSize, KindClusterConfig};
use super::plan::PlannedCommand;
use super::tool::Tool;
use crate::download;
use crate::pins::{self, DownloadPin};
use crate::profile::ClusterProfile;

const GIB: u64 = 1 << 30;

/// `fs.inotify.max_user_watches` kind's known issues ask for.
pub const MIN_INOTIFY_WATCHES: u64 = 524_288;
/// `fs.inotify.max_user_instances` kind's known issues ask for.
pub const MIN_INOTIFY_INSTANCES: u64 = 512;

/// The `docker info` template read: fields of moby's `system.Info`
/// (api/types/system/info.go), separated by `|`.
const DOCKER_INFO_FORMAT: &str =
    "{{.ServerVersion}}|{{.NCPU}}|{{.MemTotal}}|{{.DockerRootDir}}|{{.OSType}}";

/// How one check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum CheckStatus {
    /// Good.
    Ok,
    /// Could not be checked from here (e.g. Docker runs in a VM).
    NotChecked,
    /// Works, but not as pinned or below the advice: may fail later.
    Warn,
    /// `cluster up` would fail or the cluster would not work.
    Fail,
}

impl CheckStatus {
    fn word(self) -> &'static str {
        match self {
            CheckStatus::Ok => "ok",
            CheckStatus::NotChecked => "skip",
            CheckStatus::Warn => "warn",
            CheckStatus::Fail => "FAIL",
        }
    }
}

/// One check's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// What was checked.
    pub name: &'static str,
    /// How it came out.
    pub status: CheckStatus,
    /// What was found (or why it was not checked).
    pub found: String,
    /// What to do, when not [`CheckStatus::Ok`].
    pub fix: Option<String>,
}

impl Check {
    fn ok(name: &'static str, found: impl Into<String>) -> Check {
        Check {
            name,
            status: CheckStatus::Ok,
            found: found.into(),
            fix: None,
        }
    }

    fn not_ok(
        name: &'static str,
        status: CheckStatus,
        found: impl Into<String>,
        fix: impl Into<String>,
    ) -> Check {
        Check {
            name,
            status,
            found: found.into(),
            fix: Some(fix.into()),
        }
    }
}

/// Every check, in the order run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DoctorReport {
    /// The checks.
    pub checks: Vec<Check>,
}

impl DoctorReport {
    /// True when no check failed (warnings allowed).
    pub fn ready(&self) -> bool {
        self.checks.iter().all(|c| c.status != CheckStatus::Fail)
    }

    /// The failed checks, one line each with the fix.
    pub fn failures(&self) -> String {
        self.checks
            .iter()
            .filter(|c| c.status == CheckStatus::Fail)
            .map(|c| format!("{}: {}", c.name, c.found))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

impl fmt::Display for DoctorReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for check in &self.checks {
            writeln!(
                f,
                "{:<4}  {:<16} {}",
                check.status.word(),
                check.name,
                check.found
            )?;
            if let Some(fix) = &check.fix {
                writeln!(f, "      {:<16} fix: {fix}", "")?;
            }
        }
        let verdict = if self.ready() {
            "ready for kind"
        } else {
            "not ready: fix the FAIL lines above"
        };
        writeln!(f, "{verdict}")
    }
}

/// What the host answers that is not a command (injectable for tests).
pub trait HostProbe {
    /// A sysctl value under `/proc/sys` (`fs/inotify/max_user_watches`);
    /// `None` when the host has no such file (not Linux).
    fn sysctl(&self, key: &str) -> Option<u64>;
    /// Free bytes on the file system holding `path`; `None` when the path
    /// is not on this host (Docker in a VM).
    fn free_bytes(&self, path: &Path) -> Option<u64>;
}

/// The real host.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemHost;

impl HostProbe for SystemHost {
    fn sysctl(&self, key: &str) -> Option<u64> {
        std::fs::read_to_string(Path::new("/proc/sys").join(key))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    #[allow(unsafe_code)] // each block below carries its SAFETY comment
    fn free_bytes(&self, path: &Path) -> Option<u64> {
        use std::os::unix::ffi::OsStrExt;
        let c_path = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
        let mut stat = std::mem::MaybeUninit::<libc::statvfs>::uninit();
        // SAFETY: c_path is NUL-terminated and stat is a valid out pointer;
        // statvfs only writes into it.
        let rc = unsafe { libc::statvfs(c_path.as_ptr(), stat.as_mut_ptr()) };
        if rc != 0 {
            return None;
        }
        // SAFETY: rc == 0, so statvfs filled the struct.
        let stat = unsafe { stat.assume_init() };
        #[allow(clippy::unnecessary_cast)] // the field types differ by platform
        Some(stat.f_bavail as u64 * stat.f_frsize as u64)
    }
}

/// What the chosen cluster needs (estimates; see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Needs {
    /// kind node containers (control plane included).
    pub nodes: usize,
    /// CPUs the Docker engine should have.
    pub cpus: u64,
    /// Memory the Docker engine should have, bytes.
    pub memory: u64,
    /// Free disk under Docker's data root, bytes.
    pub disk: u64,
}

impl Needs {
    /// The needs of the cluster `profile` gives at `size`.
    pub fn of(profile: &ClusterProfile, size: ClusterSize) -> Needs {
        let nodes = KindClusterConfig::from_profile(profile, size).nodes.len();
        let workers = nodes.saturating_sub(1) as u64;
        Needs {
            nodes,
            cpus: match size {
                ClusterSize::Full => 4,
                ClusterSize::Small => 2,
            },
            memory: 2 * GIB + workers * GIB / 2,
            disk: 2 * GIB + nodes as u64 * GIB,
        }
    }
}

/// The commands that check the tools, shared with the up plan's preflight.
pub fn tool_commands() -> Vec<PlannedCommand> {
    vec![
        PlannedCommand::new(
            Tool::Docker,
            &["info", "--format", DOCKER_INFO_FORMAT],
            "check that the Docker engine answers",
        )
        .hint(
            "start Docker (Docker Desktop, or `sudo systemctl start docker`) and check `docker info`",
        ),
        PlannedCommand::new(Tool::Kind, &["version"], "check the kind version")
            .expect(pins::KIND_VERSION, false)
            .hint(Tool::Kind.install_hint()),
        PlannedCommand::new(Tool::Kubectl, &["version", "--client"], "check kubectl")
            .hint(Tool::Kubectl.install_hint()),
        PlannedCommand::new(
            Tool::Istioctl,
            &["version", "--remote=false"],
            format!("check that istioctl is {}", pins::ISTIO_VERSION),
        )
        .expect(pins::ISTIO_VERSION, true)
        .hint(Tool::Istioctl.install_hint()),
    ]
}

/// What `docker info` said.
#[derive(Debug, Clone, PartialEq, Eq)]
struct DockerInfo {
    version: String,
    cpus: u64,
    memory: u64,
    root_dir: PathBuf,
    os_type: String,
}

fn parse_docker_info(stdout: &str) -> Option<DockerInfo> {
    let mut parts = stdout.trim().split('|');
    let info = DockerInfo {
        version: parts.next()?.to_owned(),
        cpus: parts.next()?.trim().parse().ok()?,
        memory: parts.next()?.trim().parse().ok()?,
        root_dir: PathBuf::from(parts.next()?),
        os_type: parts.next()?.to_owned(),
    };
    (!info.version.is_empty()).then_some(info)
}

fn gib(bytes: u64) -> String {
    format!("{:.1} GiB", bytes as f64 / GIB as f64)
}

/// Runs every check. Nothing is created; only the Argo manifest in
/// `cache_dir` is read when it is there.
pub fn diagnose(
    needs: Needs,
    cache_dir: &Path,
    argo: DownloadPin,
    runner: &dyn CommandRunner,
    host: &dyn HostProbe,
) -> DoctorReport {
    let mut checks = Vec::new();
    let [docker, kind, kubectl, istioctl] =
        <[PlannedCommand; 4]>::try_from(tool_commands()).expect("four tool commands");
    let info = docker_checks(&docker, needs, runner, host, &mut checks);
    for command in [kind, kubectl, istioctl] {
        checks.push(tool_check(&command, runner));
    }
    checks.push(if runner.has(Tool::Curl) {
        Check::ok("curl", "found (downloads)")
    } else {
        Check::not_ok(
            "curl",
            CheckStatus::Fail,
            "not found",
            Tool::Curl.install_hint(),
        )
    });
    checks.push(inotify_check(info.as_ref(), host));
    checks.push(argo_check(cache_dir, argo));
    DoctorReport { checks }
}

fn docker_checks(
    command: &PlannedCommand,
    needs: Needs,
    runner: &dyn CommandRunner,
    host: &dyn HostProbe,
    checks: &mut Vec<Check>,
) -> Option<DockerInfo> {
    if !runner.has(Tool::Docker) {
        checks.push(Check::not_ok(
            "docker engine",
            CheckStatus::Fail,
            "docker not found",
            Tool::Docker.install_hint(),
        ));
        return None;
    }
    let info = match run_command(command, runner) {
        Ok(stdout) => parse_docker_info(&stdout).ok_or(format!("unreadable answer {stdout:?}")),
        Err(e) => Err(e.to_string()),
    };
    let info = match info {
        Ok(info) => info,
        Err(e) => {
            checks.push(Check::not_ok(
                "docker engine",
                CheckStatus::Fail,
                format!("does not answer: {e}"),
                command.hint.clone(),
            ));
            return None;
        }
    };
    checks.push(Check::ok(
        "docker engine",
        format!("{} ({})", info.version, info.os_type),
    ));
    let sized = |name, have: u64, want: u64, show: fn(u64) -> String, fix: String| {
        let found = format!(
            "{} (about {} needed for {} nodes)",
            show(have),
            show(want),
            needs.nodes
        );
        if have >= want {
            Check::ok(name, found)
        } else {
            Check::not_ok(name, CheckStatus::Fail, found, fix)
        }
    };
    let resources_fix = "give Docker more (Docker Desktop: Settings > Resources) or use the small \
                         cluster (--small)";
    checks.push(sized(
        "docker cpus",
        info.cpus,
        needs.cpus,
        |n| n.to_string(),
        resources_fix.into(),
    ));
    checks.push(sized(
        "docker memory",
        info.memory,
        needs.memory,
        gib,
        resources_fix.into(),
    ));
    checks.push(match host.free_bytes(&info.root_dir) {
        Some(free) => sized(
            "free disk",
            free,
            needs.disk,
            gib,
            format!(
                "free space under {} (docker system prune removes unused images)",
                info.root_dir.display()
            ),
        ),
        None => Check {
            name: "free disk",
            status: CheckStatus::NotChecked,
            found: format!(
                "{} is not on this host (Docker in a VM?): about {} needed",
                info.root_dir.display(),
                gib(needs.disk)
            ),
            fix: None,
        },
    });
    Some(info)
}

fn tool_check(command: &PlannedCommand, runner: &dyn CommandRunner) -> Check {
    let name = command.program.program();
    if !runner.has(command.program) {
        return Check::not_ok(name, CheckStatus::Fail, "not found", command.hint.clone());
    }
    let stdout = match run_command(command, runner) {
        Ok(stdout) => stdout,
        Err(e) => {
            return Check::not_ok(name, CheckStatus::Fail, e.to_string(), command.hint.clone());
        }
    };
    let first_line = stdout.lines().next().unwrap_or_default().to_owned();
    match &command.expect {
        Some(expect) if !stdout.contains(&expect.stdout_contains) => Check::not_ok(
            name,
            if expect.fatal {
                CheckStatus::Fail
            } else {
                CheckStatus::Warn
            },
            format!("{first_line} (pinned: {})", expect.stdout_contains),
            command.hint.clone(),
        ),
        _ => Check::ok(name, first_line),
    }
}

fn inotify_check(info: Option<&DockerInfo>, host: &dyn HostProbe) -> Check {
    const NAME: &str = "inotify limits";
    let (Some(watches), Some(instances)) = (
        host.sysctl("fs/inotify/max_user_watches"),
        host.sysctl("fs/inotify/max_user_instances"),
    ) else {
        return Check {
            name: NAME,
            status: CheckStatus::NotChecked,
            found: "no /proc/sys here: the Docker VM's kernel holds the limits".into(),
            fix: None,
        };
    };
    let found = format!("max_user_watches {watches}, max_user_instances {instances}");
    if info.is_some_and(|i| i.os_type != "linux") {
        return Check {
            name: NAME,
            status: CheckStatus::NotChecked,
            found: format!("{found} on this host, but the engine is not a Linux one"),
            fix: None,
        };
    }
    if watches >= MIN_INOTIFY_WATCHES && instances >= MIN_INOTIFY_INSTANCES {
        Check::ok(NAME, found)
    } else {
        Check::not_ok(
            NAME,
            CheckStatus::Fail,
            found,
            format!(
                "sudo sysctl fs.inotify.max_user_watches={MIN_INOTIFY_WATCHES} \
                 fs.inotify.max_user_instances={MIN_INOTIFY_INSTANCES} (kind known issues)"
            ),
        )
    }
}

fn argo_check(cache_dir: &Path, pin: DownloadPin) -> Check {
    const NAME: &str = "argo pin";
    let path = cache_dir.join(pin.file_name);
    if !path.exists() {
        return Check::ok(
            NAME,
            format!(
                "not downloaded yet: cluster up fetches {} and checks sha256 {} first",
                pin.url, pin.sha256
            ),
        );
    }
    match download::verify_sha256(&path, pin.sha256) {
        Ok(()) => Check::ok(
            NAME,
            format!("{} matches sha256 {}", path.display(), pin.sha256),
        ),
        Err(e) => Check::not_ok(
            NAME,
            CheckStatus::Fail,
            e.to_string(),
            format!("delete {} (cluster up downloads it again)", path.display()),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_info_is_read_field_by_field() {
        let info = parse_docker_info("27.3.1|8|16663883776|/var/lib/docker|linux\n").unwrap();
        assert_eq!(info.cpus, 8);
        assert_eq!(info.memory, 16_663_883_776);
        assert_eq!(info.root_dir, PathBuf::from("/var/lib/docker"));
        assert_eq!(parse_docker_info(""), None);
        assert_eq!(parse_docker_info("27.3.1|eight|1|/x|linux"), None);
    }

    #[test]
    fn the_small_cluster_needs_less() {
        let profile = ClusterProfile::builtin();
        let full = Needs::of(&profile, ClusterSize::Full);
        let small = Needs::of(&profile, ClusterSize::Small);
        assert_eq!(full.nodes, 13);
        assert_eq!(small.nodes, 7);
        assert!(small.memory < full.memory && small.disk < full.disk);
        assert!(small.cpus < full.cpus);
    }
}
