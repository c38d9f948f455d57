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
