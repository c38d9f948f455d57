//! The repository's suite and manifest files, listed once for every test
//! binary that walks them.

#![allow(dead_code)] // each test binary uses its own part

use std::path::{Path, PathBuf};

/// The `*.yaml` / `*.yml` files directly in `dir` (not hidden ones), sorted.
pub fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .filter(|p| {
            !p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with('.'))
        })
        .collect();
    files.sort();
    files
}

/// Every suite file, relative to the repository, after making the
/// repository the working directory (so reports name them the same on
/// every machine).
pub fn suite_files() -> Vec<PathBuf> {
    std::env::set_current_dir(env!("CARGO_MANIFEST_DIR")).expect("cd to the repository");
    yaml_files(Path::new("suites"))
}
