//! Every pinned version zonechaos installs or downloads, in one place: what
//! the kind backend installs, the harness image it builds, and the upstream
//! CRDs `zonechaos crds fetch` downloads for `lint`'s schema check.
//!
//! Where each pin comes from:
//! - kind `v0.30.0`: its default node image (`pkg/apis/config/defaults/image.go`
//!   at tag v0.30.0 in kubernetes-sigs/kind) is exactly
//!   `kindest/node:v1.34.0@sha256:7416a61b…`, the Kubernetes version of the
//!   default profile. kind v0.31.0 moved its default to v1.35.0; the v1.34
//!   node image built for v0.31 has a different digest that was not read
//!   here, so we stay on v0.30.0 until the profile moves to 1.35.
//! - Istio `1.30.3` and Argo Rollouts `v1.9.1`: SEMANTICS.md and the CRDs in
//!   `../shared/crds/`, which are the upstream files of [`CRD_PINS`].
//! - Prometheus `v3.5.0` (the 3.5 long-term-support line): tag only, no
//!   digest was read from an upstream source here.
//!
//! Argo Rollouts is installed from the git tag's `manifests/install.yaml`
//! (raw file at tag v1.9.1), verified against its sha256 read from the
//! tag. That file names the controller image `:latest` (the release asset
//! of the same name is regenerated with the tag and is a different file;
//! it could not be downloaded where this pin was written), so the plan
//! rewrites exactly that one image reference to [`ARGO_ROLLOUTS_IMAGE`]
//! before applying it.

/// A container image reference, optionally pinned by digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImagePin {
    /// Registry and repository (`docker.io/kindest/node`).
    pub repository: &'static str,
    /// Tag (`v1.34.0`).
    pub tag: &'static str,
    /// `sha256:…` digest, when one was read from an upstream source.
    pub digest: Option<&'static str>,
}

impl ImagePin {
    /// `repository:tag@digest`, or `repository:tag` without a digest.
    pub fn reference(&self) -> String {
        match self.digest {
            Some(digest) => format!("{}:{}@{}", self.repository, self.tag, digest),
            None => self.tag_reference(),
        }
    }

    /// `repository:tag` (what `kind load docker-image` and pod specs name).
    pub fn tag_reference(&self) -> String {
        format!("{}:{}", self.repository, self.tag)
    }
}

/// A file downloaded at install time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DownloadPin {
    /// Where it is downloaded from.
    pub url: &'static str,
    /// File name in the cache directory.
    pub file_name: &'static str,
    /// Hex sha256 the file must have, read from the pinned upstream file.
    pub sha256: &'static str,
}

/// The kind release the plans are written for (`kind version` should say it).
pub const KIND_VERSION: &str = "v0.30.0";

/// Where kind is installed from.
pub const KIND_INSTALL_URL: &str = "https://kind.sigs.k8s.io/docs/user/quick-start/#installation";

/// Node images known for [`KIND_VERSION`], by Kubernetes version.
pub const KIND_NODE_IMAGES: &[ImagePin] = &[ImagePin {
    repository: "kindest/node",
    tag: "v1.34.0",
    digest: Some("sha256:7416a61b42b1662ca6ca89f02028ac133a309a2a30ba309614e8ec94d976dc5a"),
}];

/// The pinned node image for a profile's `kubernetesVersion`, if any.
pub fn node_image_for(kubernetes_version: &str) -> Option<ImagePin> {
    KIND_NODE_IMAGES
        .iter()
        .find(|pin| pin.tag == kubernetes_version)
        .copied()
}

/// Istio release installed with `istioctl` (which must be this version).
pub const ISTIO_VERSION: &str = "1.30.3";

/// Istio image hub passed to `istioctl install`.
pub const ISTIO_HUB: &str = "docker.io/istio";

/// Istio images pre-pulled and loaded into the nodes.
pub const ISTIO_IMAGES: &[ImagePin] = &[
    ImagePin {
        repository: "docker.io/istio/pilot",
        tag: ISTIO_VERSION,
        digest: None,
    },
    ImagePin {
        repository: "docker.io/istio/proxyv2",
        tag: ISTIO_VERSION,
        digest: None,
    },
];

/// Argo Rollouts release.
pub const ARGO_ROLLOUTS_VERSION: &str = "v1.9.1";

/// The Argo Rollouts controller image its `install.yaml` names.
pub const ARGO_ROLLOUTS_IMAGE: ImagePin = ImagePin {
    repository: "quay.io/argoproj/argo-rollouts",
    tag: ARGO_ROLLOUTS_VERSION,
    digest: None,
};

/// The Argo Rollouts `manifests/install.yaml` at tag v1.9.1.
pub const ARGO_ROLLOUTS_INSTALL: DownloadPin = DownloadPin {
    url: "https://raw.githubusercontent.com/argoproj/argo-rollouts/v1.9.1/manifests/install.yaml",
    file_name: "argo-rollouts-v1.9.1-install.yaml",
    sha256: "2701f5ff276e2a41b41d4d7cf8beeb7a62c6c850a34b71f031a29bbb656d543b",
};

/// The controller image [`ARGO_ROLLOUTS_INSTALL`] names (exactly once, in
/// the `argo-rollouts` Deployment), replaced by [`ARGO_ROLLOUTS_IMAGE`].
pub const ARGO_ROLLOUTS_MANIFEST_IMAGE: &str = "quay.io/argoproj/argo-rollouts:latest";

/// Prometheus server image of the in-cluster scrape.
pub const PROMETHEUS_IMAGE: ImagePin = ImagePin {
    repository: "docker.io/prom/prometheus",
    tag: "v3.5.0",
    digest: None,
};

/// The harness image (`zonechaos echo` and `zonechaos loadgen`), built from
/// the checkout's `Dockerfile` and tagged with the crate version; `render`
/// and the kind cluster use it unless `--image` names another.
pub const HARNESS_IMAGE: ImagePin = ImagePin {
    repository: "zonechaos",
    tag: env!("CARGO_PKG_VERSION"),
    digest: None,
};

/// Every upstream image a kind cluster runs besides the node image and the
/// harness image (pulled by the nodes themselves, never `kind load`ed).
pub fn preloaded_images() -> Vec<ImagePin> {
    let mut images = ISTIO_IMAGES.to_vec();
    images.push(ARGO_ROLLOUTS_IMAGE);
    images.push(PROMETHEUS_IMAGE);
    images
}

/// A pinned upstream CustomResourceDefinition file: `lint`'s schema check
/// reads it from `<dir>/<bundle>/<file_name>` (`zonechaos crds fetch`
/// downloads it there).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CrdPin {
    /// Directory of its release (`istio-1.30.3`).
    pub bundle: &'static str,
    /// File name inside that directory.
    pub file_name: &'static str,
    /// Where upstream publishes it (raw file at the release tag).
    pub url: &'static str,
    /// Hex sha256 of the upstream file.
    pub sha256: &'static str,
}

impl CrdPin {
    /// `<bundle>/<file_name>`, the file's place in a CRD directory.
    pub fn relative_path(&self) -> std::path::PathBuf {
        std::path::Path::new(self.bundle).join(self.file_name)
    }
}

/// Bundle directory of the Istio CRDs.
pub const ISTIO_CRD_BUNDLE: &str = "istio-1.30.3";

/// Bundle directory of the Argo Rollouts CRDs.
pub const ARGO_ROLLOUTS_CRD_BUNDLE: &str = "argo-rollouts-v1.9.1";

/// One Argo Rollouts CRD of `manifests/crds/` at tag v1.9.1.
macro_rules! argo_rollouts_crd {
    ($file:literal, $sha256:literal) => {
        CrdPin {
            bundle: ARGO_ROLLOUTS_CRD_BUNDLE,
            file_name: $file,
            url: concat!(
                "https://raw.githubusercontent.com/argoproj/argo-rollouts/v1.9.1/manifests/crds/",
                $file
            ),
            sha256: $sha256,
        }
    };
}

/// The upstream CRDs the lint schema check uses: Istio [`ISTIO_VERSION`]
/// (every CRD of `istio/api`, one file) and Argo Rollouts
/// [`ARGO_ROLLOUTS_VERSION`] (one file per CRD).
///
/// The digests were computed from the copies in `../shared/crds/` (beside
/// the checkout), which are exactly these upstream files; the unit test
/// `crd_pins_match_the_shared_copies` checks them again where that folder
/// exists.
pub const CRD_PINS: &[CrdPin] = &[
    CrdPin {
        bundle: ISTIO_CRD_BUNDLE,
        file_name: "customresourcedefinitions.gen.yaml",
        url: "https://raw.githubusercontent.com/istio/api/1.30.3/kubernetes/customresourcedefinitions.gen.yaml",
        sha256: "dcb43ff6b9af2f629b80b6a82597f5a91db259c757e66cc5353ac007da28351a",
    },
    argo_rollouts_crd!(
        "analysis-run-crd.yaml",
        "eb1052e728aeb5e46eb1c1202958585eb48edc5ba25b406b7b41c1049009477d"
    ),
    argo_rollouts_crd!(
        "analysis-template-crd.yaml",
        "96a871705477bb8876f91630789ce753c8291f0ff5457a8cbc781ff150522369"
    ),
    argo_rollouts_crd!(
        "cluster-analysis-template-crd.yaml",
        "265283fa1dbf10a6b37c3b1e0ece97fa7fe561ca66da8521ca4b194297b31882"
    ),
    argo_rollouts_crd!(
        "experiment-crd.yaml",
        "419f87b0f6b1b3bfaf0020d71e2b3fe269e232a344e175d123dadceaa17de7ab"
    ),
    argo_rollouts_crd!(
        "rollout-crd.yaml",
        "d79c0dab9bb386b1c9329fb69cf0d843fff2152b3f7916839755c1aabc7387f5"
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_image_of_the_default_profile_is_pinned_by_digest() {
        let pin = node_image_for("v1.34.0").unwrap();
        assert!(pin.reference().starts_with("kindest/node:v1.34.0@sha256:"));
        assert_eq!(pin.digest.unwrap().len(), "sha256:".len() + 64);
        assert!(node_image_for("v1.99.0").is_none());
    }

    #[test]
    fn references() {
        assert_eq!(
            PROMETHEUS_IMAGE.reference(),
            "docker.io/prom/prometheus:v3.5.0"
        );
        assert_eq!(preloaded_images().len(), 4);
        assert!(ARGO_ROLLOUTS_INSTALL.url.contains(ARGO_ROLLOUTS_VERSION));
        assert_eq!(
            HARNESS_IMAGE.tag_reference(),
            format!("zonechaos:{}", env!("CARGO_PKG_VERSION"))
        );
    }

    #[test]
    fn crd_pins_name_their_release_and_a_sha256() {
        assert_eq!(CRD_PINS.len(), 6);
        for pin in CRD_PINS {
            let version = match pin.bundle {
                ISTIO_CRD_BUNDLE => ISTIO_VERSION,
                ARGO_ROLLOUTS_CRD_BUNDLE => ARGO_ROLLOUTS_VERSION,
                other => panic!("unknown bundle {other}"),
            };
            assert!(pin.bundle.ends_with(version), "{pin:?}");
            assert!(pin.url.contains(&format!("/{version}/")), "{pin:?}");
            assert!(pin.url.ends_with(&format!("/{}", pin.file_name)), "{pin:?}");
            assert_eq!(pin.sha256.len(), 64, "{pin:?}");
            assert!(
                pin.sha256
                    .chars()
                    .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)),
                "{pin:?}"
            );
        }
        assert_eq!(
            CRD_PINS[1].url,
            "https://raw.githubusercontent.com/argoproj/argo-rollouts/v1.9.1/manifests/crds/analysis-run-crd.yaml"
        );
        assert_eq!(
            CRD_PINS[0].relative_path(),
            std::path::Path::new("istio-1.30.3/customresourcedefinitions.gen.yaml")
        );
    }

    #[test]
    #[cfg_attr(
        not(zonechaos_shared_crds),
        ignore = "needs the pinned CRDs in ../shared/crds"
    )]
    fn crd_pins_match_the_shared_copies() {
        let shared = std::path::Path::new(env!("ZONECHAOS_SHARED_CRDS_DIR"));
        for pin in CRD_PINS {
            let path = shared.join(pin.relative_path());
            let result = crate::download::verify_sha256(&path, pin.sha256);
            assert!(result.is_ok(), "{}: {:?}", path.display(), result);
        }
    }
}
