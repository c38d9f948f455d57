//! The local run's directory in the temp dir (Envoy configs, logs,
//! Prometheus data): `zonechaos-local-<pid>-<start>-XXXXXX`, with an owner
//! marker file naming the process that made it.
//!
//! A run that ends (even by SIGINT or SIGTERM, see [`crate::interrupt`])
//! removes its directory. A SIGKILLed one cannot, so every run first sweeps
//! the directories whose owner is gone. Only directories that are ours are
//! touched: the name pattern, a real directory (not a symlink), our user,
//! and a well-formed marker; a directory of a live owner is kept. The
//! owner's start time (field 22 of `/proc/PID/stat`) is part of the
//! identity, so a reused pid does not keep a dead run's directory alive.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Prefix of every run directory's name.
pub const PREFIX: &str = "zonechaos-local-";

/// The owner marker inside a run directory.
pub const MARKER: &str = ".zonechaos-owner";

/// A process, identified across pid reuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner {
    /// Process id.
    pub pid: u32,
    /// Start time in clock ticks since boot (`/proc/PID/stat` field 22).
    pub start: u64,
}

impl Owner {
    /// This process.
    pub fn current() -> Option<Owner> {
        Owner::of(std::process::id())
    }

    /// Process `pid` as it is now, if it exists.
    pub fn of(pid: u32) -> Option<Owner> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // pid (comm) state ppid ...: comm may hold spaces and parentheses,
        // so count fields after the last ')'; starttime is field 22, the
        // 20th after it.
        let start = stat
            .rsplit_once(')')?
            .1
            .split_whitespace()
            .nth(19)?
            .parse()
            .ok()?;
        Some(Owner { pid, start })
    }

    /// True while this very process (not a later one with its pid) runs.
    pub fn is_alive(self) -> bool {
        Owner::of(self.pid).is_some_and(|now| now.start == self.start)
    }

    fn marker_text(self) -> String {
        format!(
            "zonechaos local run\npid {}\nstart {}\n",
            self.pid, self.start
        )
    }

    fn parse_marker(text: &str) -> Option<Owner> {
        let mut lines = text.lines();
        if lines.next()? != "zonechaos local run" {
            return None;
        }
        let pid = lines.next()?.strip_prefix("pid ")?.parse().ok()?;
        let start = lines.next()?.strip_prefix("start ")?.parse().ok()?;
        Some(Owner { pid, start })
    }
}

/// Creates this run's directory under `parent` (the temp dir), with its
/// owner marker; removed when the returned value drops.
pub fn create(parent: &Path) -> std::io::Result<tempfile::TempDir> {
    let owner = Owner::current().ok_or_else(|| std::io::Error::other("no /proc/self/stat"))?;
    let dir = tempfile::Builder::new()
        .prefix(&format!("{PREFIX}{}-{}-", owner.pid, owner.start))
        .tempdir_in(parent)?;
    std::fs::write(dir.path().join(MARKER), owner.marker_text())?;
    Ok(dir)
}

/// Removes the run directories under `parent` whose owner is gone; returns
/// those removed. Anything not certainly ours is left alone.
pub fn sweep(parent: &Path) -> Vec<PathBuf> {
    let uid = std::fs::metadata("/proc/self").map(|m| m.uid()).ok();
    let mut removed = Vec::new();
    for entry in std::fs::read_dir(parent).into_iter().flatten().flatten() {
        let path = entry.path();
        if !entry.file_name().to_string_lossy().starts_with(PREFIX) {
            continue;
        }
        // symlink_metadata: a link named like ours is not ours.
        let Ok(meta) = path.symlink_metadata() else {
            continue;
        };
        if !meta.is_dir() || Some(meta.uid()) != uid {
            continue;
        }
        let marker = path.join(MARKER);
        let is_file = marker.symlink_metadata().is_ok_and(|m| m.is_file());
        let owner = is_file
            .then(|| crate::fsread::read_text_limited(&marker, 4096).ok())
            .flatten()
            .and_then(|t| Owner::parse_marker(&t));
        let dead = owner.is_some_and(|o| !o.is_alive());
        if dead && std::fs::remove_dir_all(&path).is_ok() {
            removed.push(path);
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_current_process_is_alive_and_its_marker_round_trips() {
        let me = Owner::current().unwrap();
        assert!(me.is_alive());
        assert_eq!(Owner::parse_marker(&me.marker_text()), Some(me));
        let reused = Owner {
            start: me.start + 1,
            ..me
        };
        assert!(!reused.is_alive(), "same pid, other start: another process");
    }

    /// issue 10 item 9: a dead owner's directory is swept; a live owner's,
    /// one without a marker and a symlink named like ours are kept.
    #[test]
    fn sweep_removes_only_dead_owners_directories() {
        let tmp = tempfile::tempdir().unwrap();
        let live = create(tmp.path()).unwrap();
        let me = Owner::current().unwrap();
        let dead = tmp.path().join(format!("{PREFIX}999999-1-abc"));
        std::fs::create_dir(&dead).unwrap();
        let ghost = Owner {
            start: me.start + 1,
            ..me
        };
        std::fs::write(dead.join(MARKER), ghost.marker_text()).unwrap();
        std::fs::write(dead.join("prometheus.log"), "x").unwrap();
        let unmarked = tmp.path().join(format!("{PREFIX}unmarked"));
        std::fs::create_dir(&unmarked).unwrap();
        let victim = tempfile::tempdir().unwrap();
        std::fs::write(victim.path().join(MARKER), ghost.marker_text()).unwrap();
        let link = tmp.path().join(format!("{PREFIX}link"));
        std::os::unix::fs::symlink(victim.path(), &link).unwrap();
        let removed = sweep(tmp.path());
        assert_eq!(removed, vec![dead.clone()]);
        assert!(!dead.exists());
        assert!(live.path().join(MARKER).exists());
        assert!(unmarked.exists());
        assert!(victim.path().join(MARKER).exists());
    }
}
