//! Typed names and paths of a harness cluster: its kind name and its own
//! kubeconfig file (never the user's `~/.kube/config`).

use std::fmt;
use std::path::{Path, PathBuf};

use super::error::ClusterError;

/// Prefix of every cluster the harness creates, so `kind get clusters`
/// shows which ones are the harness's.
pub const NAME_PREFIX: &str = "zonechaos-";

/// A kind cluster name that identifies the cluster as the harness's:
/// `zonechaos-` followed by lowercase letters, digits and `-`, at most 40
/// characters (kind derives container and host names from it).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClusterName(String);

impl ClusterName {
    /// Checks a name given by the user.
    pub fn parse(text: &str) -> Result<ClusterName, ClusterError> {
        let valid = text.starts_with(NAME_PREFIX)
            && text.len() > NAME_PREFIX.len()
            && text.len() <= 40
            && text
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !text.ends_with('-');
        if valid {
            Ok(ClusterName(text.to_owned()))
        } else {
            Err(ClusterError::BadName {
                name: text.to_owned(),
            })
        }
    }

    /// `zonechaos-<profile name>` (plus `-small` for the laptop size),
    /// with characters kind refuses replaced by `-`.
    pub fn for_profile(profile_name: &str, small: bool) -> Result<ClusterName, ClusterError> {
        let mut slug: String = profile_name
            .to_ascii_lowercase()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        slug = slug.trim_matches('-').to_owned();
        let suffix = if small { "-small" } else { "" };
        ClusterName::parse(&format!("{NAME_PREFIX}{slug}{suffix}"))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ClusterName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The harness's own kubeconfig file for one cluster.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KubeconfigPath(PathBuf);

impl KubeconfigPath {
    /// `<cache dir>/kind-<name>.kubeconfig`.
    pub fn for_cluster(cache_dir: &Path, name: &ClusterName) -> KubeconfigPath {
        KubeconfigPath(cache_dir.join(format!("kind-{name}.kubeconfig")))
    }

    /// A path chosen by the user; refused when it is the user's default
    /// kubeconfig (`$KUBECONFIG` entries or `~/.kube/config`).
    pub fn explicit(path: PathBuf) -> Result<KubeconfigPath, ClusterError> {
        let home = std::env::var_os("HOME").map(PathBuf::from);
        let mut defaults: Vec<PathBuf> = home
            .iter()
            .map(|h| h.join(".kube").join("config"))
            .collect();
        if let Some(list) = std::env::var_os("KUBECONFIG") {
            defaults.extend(std::env::split_paths(&list));
        }
        if defaults.iter().any(|d| d == &path) {
            return Err(ClusterError::UserKubeconfig { path });
        }
        Ok(KubeconfigPath(path))
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl fmt::Display for KubeconfigPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_identify_the_harness() {
        assert_eq!(
            ClusterName::for_profile("three-zones", false)
                .unwrap()
                .as_str(),
            "zonechaos-three-zones"
        );
        assert_eq!(
            ClusterName::for_profile("Three Zones", true)
                .unwrap()
                .as_str(),
            "zonechaos-three-zones-small"
        );
        for bad in [
            "kind",
            "zonechaos-",
            "zonechaos-A",
            "zonechaos-a_b",
            "zonechaos-x-",
        ] {
            assert!(ClusterName::parse(bad).is_err(), "{bad}");
        }
        assert!(ClusterName::parse(&format!("zonechaos-{}", "a".repeat(40))).is_err());
    }

    #[test]
    fn kubeconfig_is_the_harness_own_file() {
        let name = ClusterName::parse("zonechaos-x").unwrap();
        let k = KubeconfigPath::for_cluster(Path::new("/cache"), &name);
        assert_eq!(k.path(), Path::new("/cache/kind-zonechaos-x.kubeconfig"));
        if let Some(home) = std::env::var_os("HOME") {
            let user = PathBuf::from(home).join(".kube/config");
            assert!(matches!(
                KubeconfigPath::explicit(user),
                Err(ClusterError::UserKubeconfig { .. })
            ));
        }
    }
}
