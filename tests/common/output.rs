//! Reading a finished `zonechaos` run and naming temporary paths, for the
//! test binaries that run the real binary.

#![allow(dead_code)] // each test binary uses its own part

use std::path::Path;
use std::process::Output;

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
