//! Running the real `zonechaos` binary, reading a finished run, and naming
//! temporary paths: the one CLI runner of the test binaries.

#![allow(dead_code)] // each test binary uses its own part

use std::path::Path;
use std::process::{Command, Output};

/// The binary, run in the repository, without colour or RUST_LOG; callers
/// add arguments, environment and another working directory as they need.
pub fn zonechaos_command() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_zonechaos"));
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1");
    cmd
}

/// Runs a command to its end (failing the test if it cannot start).
pub fn output(cmd: &mut Command) -> Output {
    cmd.output().expect("zonechaos runs")
}

/// Runs it: exit code, stdout, stderr.
pub fn run(cmd: &mut Command) -> (i32, String, String) {
    let out = output(cmd);
    (code(&out), stdout(&out), stderr(&out))
}

/// The exit code (a signal is a test failure).
pub fn code(out: &Output) -> i32 {
    out.status.code().expect("exit code, not a signal")
}

/// Standard output as text.
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Standard error as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A temporary path as an argument.
pub fn s(path: &Path) -> &str {
    path.to_str().expect("UTF-8 temp path")
}

/// Runs a command with a hang guard: past `limit` it is killed and the test
/// fails naming `what`. Not a speed assertion: the limit is an order of
/// magnitude above a normal run, and only a hang reaches it.
pub fn run_bounded(
    cmd: &mut Command,
    limit: std::time::Duration,
    what: &str,
) -> (i32, String, String) {
    use std::io::Read;
    use std::process::Stdio;
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("zonechaos starts");
    // Drain both pipes while waiting, so a chatty child cannot block.
    let mut out_pipe = child.stdout.take().expect("stdout");
    let mut err_pipe = child.stderr.take().expect("stderr");
    let out = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = out_pipe.read_to_end(&mut b);
        b
    });
    let err = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = err_pipe.read_to_end(&mut b);
        b
    });
    let deadline = std::time::Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: still running after {limit:?} (a hang)");
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    let out = String::from_utf8_lossy(&out.join().expect("stdout reader")).into_owned();
    let err = String::from_utf8_lossy(&err.join().expect("stderr reader")).into_owned();
    let code = status
        .code()
        .unwrap_or_else(|| panic!("{what}: killed by a signal ({status}); stderr: {err}"));
    (code, out, err)
}
