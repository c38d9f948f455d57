//! The user's cache directory, shared by the kind cluster (kubeconfigs,
//! generated files, downloads) and the CRD cache of `zonechaos crds`.

use std::ffi::{OsStr, OsString};
use std::path::PathBuf;

/// `$XDG_CACHE_HOME/zonechaos`, else `$HOME/.cache/zonechaos`, else
/// `./target/zonechaos` (where kubeconfigs, kind configs and downloads go).
pub fn default_cache_dir() -> PathBuf {
    let var = |key: &str| std::env::var_os(key);
    cache_dir_for(var("XDG_CACHE_HOME").as_deref(), var("HOME").as_deref())
}

/// [`default_cache_dir`] for the given `XDG_CACHE_HOME` and `HOME` (empty
/// values count as unset, as the XDG specification says).
pub fn cache_dir_for(xdg_cache_home: Option<&OsStr>, home: Option<&OsStr>) -> PathBuf {
    let non_empty = |value: Option<&OsStr>| value.filter(|v| !v.is_empty()).map(OsString::from);
    if let Some(xdg) = non_empty(xdg_cache_home) {
        return PathBuf::from(xdg).join("zonechaos");
    }
    if let Some(home) = non_empty(home) {
        return PathBuf::from(home).join(".cache").join("zonechaos");
    }
    PathBuf::from("target").join("zonechaos")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xdg_cache_home_wins_over_home_and_empty_values_are_unset() {
        let xdg = Some(OsStr::new("/x"));
        let home = Some(OsStr::new("/h"));
        assert_eq!(cache_dir_for(xdg, home), PathBuf::from("/x/zonechaos"));
        assert_eq!(
            cache_dir_for(Some(OsStr::new("")), home),
            PathBuf::from("/h/.cache/zonechaos")
        );
        assert_eq!(cache_dir_for(None, None), PathBuf::from("target/zonechaos"));
    }
}
