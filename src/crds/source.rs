//! Where the CRD files are downloaded from: upstream, or a mirror.

use std::fmt;
use std::str::FromStr;

use super::CrdsError;
use crate::pins::CrdPin;

/// Environment variable standing in for `--mirror`.
pub const MIRROR_ENV: &str = "ZONECHAOS_CRDS_MIRROR";

/// The base URL of a mirror holding `<bundle>/<file>` for every pin
/// (`https://host/crds`, `file:///srv/crds`), without a trailing `/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mirror(String);

impl Mirror {
    /// The URL of `pin` on this mirror: `BASE/<bundle>/<file>`.
    pub fn url(&self, pin: &CrdPin) -> String {
        format!("{}/{}/{}", self.0, pin.bundle, pin.file_name)
    }
}

impl FromStr for Mirror {
    type Err = CrdsError;

    /// Accepts `scheme://...` (curl's schemes: `https`, `http`, `file`, ...);
    /// trailing slashes are dropped.
    fn from_str(text: &str) -> Result<Mirror, CrdsError> {
        let bad = |reason: &'static str| CrdsError::BadMirror {
            value: text.to_owned(),
            reason,
        };
        let base = text.trim().trim_end_matches('/');
        let Some((scheme, rest)) = base.split_once("://") else {
            return Err(bad("it is not a URL (scheme://...)"));
        };
        let scheme_ok = scheme
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
        if !scheme_ok {
            return Err(bad("its scheme is not a URL scheme"));
        }
        if rest.is_empty() {
            return Err(bad("it names no host or path"));
        }
        Ok(Mirror(base.to_owned()))
    }
}

impl fmt::Display for Mirror {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where [`super::fetch_pin`] downloads from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Source {
    /// Each pin's upstream URL.
    #[default]
    Upstream,
    /// A mirror of the bundle layout.
    Mirror(Mirror),
}

impl Source {
    /// The URL to download `pin` from.
    pub fn url(&self, pin: &CrdPin) -> String {
        match self {
            Source::Upstream => pin.url.to_owned(),
            Source::Mirror(mirror) => mirror.url(pin),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pins::CRD_PINS;

    #[test]
    fn upstream_is_the_pinned_url_and_a_mirror_the_bundle_layout() {
        let pin = &CRD_PINS[0];
        assert_eq!(Source::Upstream.url(pin), pin.url);
        let mirror: Mirror = "https://mirror.example/crds//".parse().unwrap();
        assert_eq!(mirror.to_string(), "https://mirror.example/crds");
        assert_eq!(
            Source::Mirror(mirror).url(pin),
            "https://mirror.example/crds/istio-1.30.3/customresourcedefinitions.gen.yaml"
        );
        let local: Mirror = "file:///srv/crds".parse().unwrap();
        assert_eq!(
            local.url(&CRD_PINS[5]),
            "file:///srv/crds/argo-rollouts-v1.9.1/rollout-crd.yaml"
        );
    }

    #[test]
    fn a_mirror_must_be_a_url() {
        for bad in [
            "",
            "/srv/crds",
            "mirror.example/crds",
            "://x",
            "1http://x",
            "https://",
        ] {
            let err = bad.parse::<Mirror>().unwrap_err();
            assert!(
                matches!(&err, CrdsError::BadMirror { value, .. } if value == bad),
                "{bad}: {err}"
            );
            assert!(err.hint().contains("file://"), "{}", err.hint());
        }
    }
}
