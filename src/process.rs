//! Child processes that never outlive the run: killed when their guard is
//! dropped (success, failure, panic unwinding), and on Linux also when the
//! harness itself dies (PR_SET_PDEATHSIG), so Ctrl-C or a SIGKILL of
//! zonechaos leaves nothing behind.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running child; dropping it kills it and reaps it.
#[derive(Debug)]
pub struct Managed {
    /// What it is, for messages (`envoy us-east-1a`).
    pub name: String,
    child: Option<Child>,
}

impl Managed {
    /// A guard holding no process (nothing to kill).
    pub fn none(name: &str) -> Managed {
        Managed {
            name: name.to_owned(),
            child: None,
        }
    }

    /// The OS process id.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// SIGKILL now (connections to it are refused at once).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM, then SIGKILL after `grace` (a graceful pod stop).
    pub fn terminate(&mut self, grace: Duration) {
        let Some(mut c) = self.child.take() else {
            return;
        };
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(c.id().to_string())
            .status();
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if matches!(c.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = c.kill();
        let _ = c.wait();
    }

    /// True while the process runs.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }
}

impl Drop for Managed {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Why a child process could not be started or did not become ready.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProcessError {
    /// Its log file could not be created.
    #[error("cannot create {log}: {message}")]
    Log {
        /// The log path.
        log: String,
        /// The OS error.
        message: String,
    },
    /// The program could not be executed.
    #[error("cannot start {name}: {message}")]
    Start {
        /// The process's name.
        name: String,
        /// The OS error.
        message: String,
    },
    /// It exited before it printed its ready line.
    #[error("{name} exited before it was ready (see {log})")]
    Exited {
        /// The process's name.
        name: String,
        /// Its log.
        log: String,
    },
    /// It did not print its ready line in time (it was killed).
    #[error("{name} not ready after {waited:?} (see {log})")]
    NotReady {
        /// The process's name.
        name: String,
        /// How long it was given.
        waited: Duration,
        /// Its log.
        log: String,
    },
}

fn log_file(log: &Path) -> Result<std::fs::File, ProcessError> {
    std::fs::File::create(log).map_err(|e| ProcessError::Log {
        log: log.display().to_string(),
        message: e.to_string(),
    })
}

fn start(name: &str, cmd: &mut Command) -> Result<std::process::Child, ProcessError> {
    cmd.spawn().map_err(|e| ProcessError::Start {
        name: name.to_owned(),
        message: e.to_string(),
    })
}

/// Starts `cmd` as a managed child. Its stdout is returned line by line to
/// `ready` until it returns true or `timeout` passes (then the child is
/// killed and an error names it); stderr goes to `log`.
pub fn spawn(
    name: &str,
    mut cmd: Command,
    log: &Path,
    ready: impl Fn(&str) -> bool,
    timeout: Duration,
) -> Result<(Managed, Vec<String>), ProcessError> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log_file(log)?));
    die_with_parent(&mut cmd);
    let mut child = start(name, &mut cmd)?;
    let stdout = child.stdout.take();
    let mut managed = Managed {
        name: name.to_owned(),
        child: Some(child),
    };
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    if let Some(out) = stdout {
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
    }
    let deadline = Instant::now() + timeout;
    let mut lines = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left.min(Duration::from_millis(200))) {
            Ok(line) => {
                let done = ready(&line);
                lines.push(line);
                if done {
                    return Ok((managed, lines));
                }
            }
            Err(_) if !managed.is_running() => {
                return Err(ProcessError::Exited {
                    name: name.to_owned(),
                    log: log.display().to_string(),
                });
            }
            Err(_) if Instant::now() >= deadline => {
                managed.kill();
                return Err(ProcessError::NotReady {
                    name: name.to_owned(),
                    waited: timeout,
                    log: log.display().to_string(),
                });
            }
            Err(_) => {}
        }
    }
}

/// The last `n` lines of `text`, joined by newlines (a failed child's
/// stderr or log, for an error that explains itself).
pub fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// The last `n` lines of a child's log file; empty when it cannot be read.
pub fn log_tail(log: &Path, n: usize) -> String {
    std::fs::read_to_string(log).map_or_else(|_| String::new(), |text| last_lines(&text, n))
}

/// Starts `cmd` with output to `log`, without waiting for anything.
pub fn spawn_quiet(name: &str, mut cmd: Command, log: &Path) -> Result<Managed, ProcessError> {
    let out = log_file(log)?;
    let err = out.try_clone().map_err(|e| ProcessError::Log {
        log: log.display().to_string(),
        message: e.to_string(),
    })?;
    cmd.stdin(Stdio::null())
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err));
    die_with_parent(&mut cmd);
    let child = start(name, &mut cmd)?;
    Ok(Managed {
        name: name.to_owned(),
        child: Some(child),
    })
}

#[cfg(target_os = "linux")]
#[allow(unsafe_code)] // each block below carries its SAFETY comment
fn die_with_parent(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: prctl and setpgid are async-signal-safe; they only set this
    // child's death signal and process group.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // A process group of its own: the terminal's Ctrl-C reaches
            // zonechaos alone, which then ends the run in order (finally
            // steps need the processes) and stops the children itself.
            if libc::setpgid(0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn die_with_parent(_cmd: &mut Command) {}

/// Finds a binary on PATH or in the project's `.venv/`.
pub fn find_binary(name: &str, repo: &Path) -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(name))
            .find(|p| p.is_file())
    });
    on_path.or_else(|| {
        let venv = repo.join(".venv/bin").join(name);
        venv.is_file().then_some(venv)
    })
}

/// CPU seconds (user + system) this process has used, its threads
/// included and its children not: the harness's own cost.
#[allow(unsafe_code)] // each block below carries its SAFETY comment
pub fn own_cpu_seconds() -> f64 {
    // SAFETY: an all-zero rusage is a valid value of this plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage writes only into the struct it is given.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return 0.0;
    }
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(usage.ru_utime) + secs(usage.ru_stime)
}

/// A free TCP port on 127.0.0.1 (bound then released).
pub fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

#[cfg(test)]
mod tests {
    #[test]
    fn own_cpu_time_grows_with_work() {
        let before = own_cpu_seconds();
        let mut x = 0u64;
        let start = std::time::Instant::now();
        while start.elapsed() < std::time::Duration::from_millis(50) {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
        }
        assert!(own_cpu_seconds() > before, "busy loop used no CPU? {x}");
    }

    use super::*;

    #[test]
    fn dropping_the_guard_kills_the_child() {
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo ready; exec sleep 30"]);
        let (m, lines) = spawn(
            "sleeper",
            cmd,
            &dir.path().join("log"),
            |l| l == "ready",
            Duration::from_secs(5),
        )
        .unwrap();
        assert_eq!(lines, ["ready"]);
        let pid = m.pid().unwrap();
        assert!(Path::new(&format!("/proc/{pid}")).exists());
        drop(m);
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        assert!(
            stat.is_empty() || stat.contains(") Z "),
            "pid {pid} still alive: {stat}"
        );
    }

    #[test]
    fn a_child_that_never_gets_ready_is_killed_with_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "exec sleep 30"]);
        let err = spawn(
            "mute",
            cmd,
            &dir.path().join("log"),
            |_| true,
            Duration::from_millis(300),
        )
        .unwrap_err();
        assert!(
            matches!(&err, ProcessError::NotReady { name, .. } if name == "mute"),
            "{err}"
        );
        let err = spawn(
            "missing",
            Command::new("/nonexistent/bin"),
            &dir.path().join("log2"),
            |_| true,
            Duration::from_secs(1),
        )
        .unwrap_err();
        assert!(
            matches!(&err, ProcessError::Start { name, .. } if name == "missing"),
            "{err}"
        );
    }
}
