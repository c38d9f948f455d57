//! `render`: the complete, deployable manifests of a reference topology
//! plus the test application, so users can read and apply them themselves
//! and the kind backend applies the same objects.
//!
//! Output files, applied in name order:
//! - `00-namespace.yaml`: the harness namespace, `istio-injection: enabled`.
//! - `10-<topology>.yaml`: the topology's objects moved into that namespace,
//!   each Rollout/Deployment running `zonechaos echo` ([`workload`]).
//! - `20-loadgen.yaml`: one `zonechaos loadgen` Deployment per target
//!   Service and zone, on that zone's load-client node (kind) or its
//!   on-demand nodes (existing clusters) ([`loadgen`], [`ClientPlacement`]).
//! - `30-prometheus.yaml`: the in-cluster Prometheus and its scrape config
//!   ([`prometheus`]).

pub mod loadgen;
pub mod prometheus;
pub mod workload;

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::pins::HARNESS_IMAGE;
use crate::profile::ClusterProfile;
use crate::topology::{Object, load_paths};

pub use prometheus::prometheus_manifest;

/// The namespace the harness deploys into by default (its own: chaos never
/// touches another one).
pub const HARNESS_NAMESPACE: &str = "zonechaos";

/// Port the echo container listens on when the topology names none.
pub const DEFAULT_APP_PORT: i64 = 8080;

/// Port of the loadgen metrics server.
pub const LOADGEN_METRICS_PORT: i64 = 9090;

/// One output file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedManifest {
    /// File name (`00-namespace.yaml`).
    pub file_name: String,
    /// Multi-document YAML.
    pub yaml: String,
}

/// What to render.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderOptions {
    /// The harness image (`zonechaos:0.1.0`).
    pub image: String,
    /// The harness namespace.
    pub namespace: String,
    /// Requests per second of each loadgen.
    pub rps: f64,
    /// Where the load clients run.
    pub clients: ClientPlacement,
    /// Extra labels on each load client's pod (the suite's
    /// `load.proxyLabels`, checked when the suite was read).
    pub proxy_labels: crate::topology::labels::Labels,
}

/// Where the load clients of a zone run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ClientPlacement {
    /// On the zone's load-client node, which chaos never touches (kind
    /// clusters the harness creates:
    /// [`crate::backend::kube::cluster::kind_config::LOAD_CLIENT_POOL`]).
    #[default]
    ClientNodes,
    /// On the zone's nodes of the profile's `placement.loadClients`
    /// capacity (existing clusters, which have no load-client nodes; drains
    /// and emulated losses skip the harness's own pods there).
    Capacity,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            image: HARNESS_IMAGE.tag_reference(),
            namespace: HARNESS_NAMESPACE.to_owned(),
            rps: 20.0,
            clients: ClientPlacement::default(),
            proxy_labels: crate::topology::labels::Labels::new(),
        }
    }
}

/// Why a topology cannot be rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// A path could not be read.
    #[error("{0}")]
    Read(#[from] crate::errors::LoadError),
    /// The manifests have problems lint would also report.
    #[error("{0}")]
    Load(#[from] crate::topology::InputErrors),
    /// A workload's zone cannot be told.
    #[error("{file}: {object} is not pinned to one zone of the profile")]
    UnknownZone {
        /// The file.
        file: PathBuf,
        /// `Rollout default/test-a`.
        object: String,
    },
    /// A workload has no pod template or container.
    #[error("{file}: {object} has no pod template with a container")]
    NoContainer {
        /// The file.
        file: PathBuf,
        /// The object.
        object: String,
    },
    /// Nothing to render.
    #[error("no objects in the given topology paths")]
    Empty,
    /// Bad option value.
    #[error("{0}")]
    BadOption(String),
    /// Serialization failed.
    #[error("cannot write {file} as YAML: {message}")]
    Yaml {
        /// The output file.
        file: String,
        /// The serializer's message.
        message: String,
    },
}

impl RenderError {
    /// What the user can do about it.
    pub fn hint(&self) -> &'static str {
        match self {
            RenderError::Read(_) => {
                "check the path; render takes topology YAML files and directories of them"
            }
            RenderError::Load(_) => {
                "fix the manifests first (`zonechaos lint` shows the same problems)"
            }
            RenderError::UnknownZone { .. } => {
                "pin each Rollout/Deployment to one zone with a required nodeAffinity (or nodeSelector) \
                 on the profile's zone label, or a pod zone label (zone: a)"
            }
            RenderError::NoContainer { .. } => {
                "give the workload a spec.template with one container"
            }
            RenderError::Empty => "pass topology files, e.g. suites/topologies/zone-failover.yaml",
            RenderError::BadOption(_) => "check --image and --namespace",
            RenderError::Yaml { .. } => "this is a bug in zonechaos; please report it",
        }
    }
}

/// Renders the given topology objects (in file order).
pub fn render(
    objects: &[Object],
    profile: &ClusterProfile,
    options: &RenderOptions,
) -> Result<Vec<RenderedManifest>, RenderError> {
    check_options(options)?;
    if objects.is_empty() {
        return Err(RenderError::Empty);
    }
    let mut out = vec![manifest(
        "00-namespace.yaml",
        "the harness namespace",
        &[namespace(&options.namespace)],
    )?];
    // One output file per input file, in order.
    let mut files: Vec<(&Path, Vec<Value>)> = Vec::new();
    for object in objects {
        let doc = workload::transform(object, profile, options)?;
        match files.iter_mut().find(|(f, _)| *f == &*object.file) {
            Some((_, docs)) => docs.push(doc),
            None => files.push((&object.file, vec![doc])),
        }
    }
    for (i, (file, docs)) in files.iter().enumerate() {
        let stem = file
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("topology");
        let name = format!("{}-{stem}.yaml", 10 + i);
        let about = format!(
            "topology {} for the harness",
            file.file_name()
                .map_or(stem.into(), |n| n.to_string_lossy())
        );
        out.push(manifest(&name, &about, docs)?);
    }
    let clients = loadgen::deployments(objects, profile, options);
    out.push(manifest(
        "20-loadgen.yaml",
        "load clients, one per target Service and zone",
        &clients,
    )?);
    out.push(prometheus_manifest()?);
    Ok(out)
}

/// Loads topology files or directories and renders them; every load
/// problem is an error.
pub fn render_paths(
    paths: &[PathBuf],
    profile: &ClusterProfile,
    options: &RenderOptions,
) -> Result<Vec<RenderedManifest>, RenderError> {
    let loaded = load_paths(paths)?;
    loaded.require_valid()?;
    // What kind would run must fit the same limits as every backend.
    let topology = crate::topology::Topology::new(loaded.objects);
    crate::limits::check_topology(&topology, crate::limits::MAX_PODS)
        .map_err(|e| RenderError::BadOption(format!("{}; {}", e.located(), e.hint)))?;
    render(topology.objects(), profile, options)
}

fn check_options(options: &RenderOptions) -> Result<(), RenderError> {
    let ns = &options.namespace;
    if crate::topology::labels::dns_label_problem(ns).is_some() {
        return Err(RenderError::BadOption(format!(
            "namespace '{ns}' is not a DNS label (lowercase letters, digits, '-')"
        )));
    }
    if options.image.trim().is_empty() || options.image.chars().any(char::is_whitespace) {
        return Err(RenderError::BadOption(format!(
            "image '{}' is not an image reference",
            options.image
        )));
    }
    if let Err(e) = crate::limits::Rps::new(options.rps) {
        return Err(RenderError::BadOption(format!("{}; {}", e.message, e.hint)));
    }
    Ok(())
}

/// The tag of an image reference (`zonechaos:0.1.0` -> `0.1.0`; `latest`
/// when it has none), used as the echo `--version`.
pub fn image_tag(image: &str) -> &str {
    let without_digest = image.split('@').next().unwrap_or(image);
    let last = without_digest.rsplit('/').next().unwrap_or(without_digest);
    last.split_once(':').map_or("latest", |(_, tag)| tag)
}

fn namespace(name: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": name,
            "labels": {
                "istio-injection": "enabled",
                "app.kubernetes.io/managed-by": "zonechaos"
            }
        }
    })
}

/// Serializes documents into one file with a header comment.
pub(crate) fn manifest(
    file_name: &str,
    about: &str,
    docs: &[Value],
) -> Result<RenderedManifest, RenderError> {
    let body = serde_saphyr::to_string_multiple(docs).map_err(|e| RenderError::Yaml {
        file: file_name.to_owned(),
        message: e.to_string(),
    })?;
    Ok(RenderedManifest {
        file_name: file_name.to_owned(),
        yaml: format!("# Generated by zonechaos render: {about}.\n---\n{body}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_tags() {
        assert_eq!(image_tag("zonechaos:0.1.0"), "0.1.0");
        assert_eq!(image_tag("localhost:5000/zonechaos"), "latest");
        assert_eq!(image_tag("reg:5000/zonechaos:v2@sha256:ab"), "v2");
    }

    #[test]
    fn options_are_checked() {
        let bad = RenderOptions {
            namespace: "Zone_Chaos".into(),
            ..RenderOptions::default()
        };
        assert!(matches!(
            check_options(&bad),
            Err(RenderError::BadOption(_))
        ));
        let bad = RenderOptions {
            image: "a b".into(),
            ..RenderOptions::default()
        };
        assert!(check_options(&bad).is_err());
        assert!(check_options(&RenderOptions::default()).is_ok());
    }
}
