//! The pinned upstream CRDs ([`crate::pins::CRD_PINS`]) in a local cache:
//! `zonechaos crds fetch` downloads them ([`fetch_pin`]), `zonechaos crds
//! status` reports them ([`pin_state`]) and `zonechaos lint --crds auto`
//! validates against them ([`load_verified`]), checking every digest each
//! time a file is used.
//!
//! The cache is `<dir>/<bundle>/<file>`, `dir` being [`default_dir`] unless
//! `--dir` names another. Files come from their upstream URL or, with a
//! [`Mirror`], from `BASE/<bundle>/<file>`.

mod cache;
mod error;
mod source;

use std::path::{Path, PathBuf};

pub use cache::{FetchOutcome, PinState, fetch_pin, load_verified, pin_state};
pub use error::CrdsError;
pub use source::{MIRROR_ENV, Mirror, Source};

/// The CRD cache: `$XDG_CACHE_HOME/zonechaos/crds`, else
/// `~/.cache/zonechaos/crds` (see [`crate::cache::default_cache_dir`]).
pub fn default_dir() -> PathBuf {
    dir_in(&crate::cache::default_cache_dir())
}

/// The CRD cache inside the zonechaos cache directory `cache`.
pub fn dir_in(cache: &Path) -> PathBuf {
    cache.join("crds")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_is_crds_in_the_zonechaos_cache() {
        let cache = crate::cache::cache_dir_for(Some("/x".as_ref()), Some("/h".as_ref()));
        assert_eq!(dir_in(&cache), Path::new("/x/zonechaos/crds"));
        let cache = crate::cache::cache_dir_for(None, Some("/h".as_ref()));
        assert_eq!(dir_in(&cache), Path::new("/h/.cache/zonechaos/crds"));
        assert!(default_dir().ends_with("zonechaos/crds"));
    }
}
