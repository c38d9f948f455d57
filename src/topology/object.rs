//! One Kubernetes object as read from a file: identity, source position,
//! the raw tree, and a typed view of the kinds zonechaos understands.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use k8s_openapi::api::apps::v1::DeploymentSpec;
use k8s_openapi::api::core::v1::ServiceSpec;
use k8s_openapi::api::policy::v1::PodDisruptionBudgetSpec;
use std::collections::BTreeMap;

use super::argo::{AnalysisTemplateSpec, RolloutSpec};
use super::flagger::FlaggerCanarySpec;
use super::istio::{DestinationRuleSpec, GatewaySpec, VirtualServiceSpec};
use super::yaml::{Node, PathSeg, Pos};

/// A place in a source file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SourceLoc {
    /// The file as the user named it (or as found in a directory).
    pub file: Arc<Path>,
    /// Line and column.
    pub pos: Pos,
}

impl fmt::Display for SourceLoc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.pos)
    }
}

/// The kinds zonechaos reads, by API group and kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub enum Kind {
    /// `v1/Service`.
    Service,
    /// `apps/v1/Deployment`.
    Deployment,
    /// `argoproj.io/Rollout`.
    Rollout,
    /// `argoproj.io/AnalysisTemplate`.
    AnalysisTemplate,
    /// `networking.istio.io/VirtualService`.
    VirtualService,
    /// `networking.istio.io/DestinationRule`.
    DestinationRule,
    /// `networking.istio.io/Gateway`.
    Gateway,
    /// `policy/v1/PodDisruptionBudget`.
    PodDisruptionBudget,
    /// `flagger.app/Canary`.
    FlaggerCanary,
    /// Anything else.
    Unknown,
}

impl Kind {
    /// Classifies an `apiVersion` + `kind` pair.
    pub fn classify(api_version: &str, kind: &str) -> Kind {
        let group = api_version.rsplit_once('/').map_or("", |(g, _)| g);
        match (group, kind) {
            ("", "Service") => Kind::Service,
            ("apps", "Deployment") => Kind::Deployment,
            ("argoproj.io", "Rollout") => Kind::Rollout,
            ("argoproj.io", "AnalysisTemplate") => Kind::AnalysisTemplate,
            ("networking.istio.io", "VirtualService") => Kind::VirtualService,
            ("networking.istio.io", "DestinationRule") => Kind::DestinationRule,
            ("networking.istio.io", "Gateway") => Kind::Gateway,
            ("policy", "PodDisruptionBudget") => Kind::PodDisruptionBudget,
            ("flagger.app", "Canary") => Kind::FlaggerCanary,
            _ => Kind::Unknown,
        }
    }
}

/// `namespace/name` of an object of a given kind.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct ObjectName {
    /// Namespace (`default` when the manifest leaves it out).
    pub namespace: String,
    /// `metadata.name`.
    pub name: String,
}

impl fmt::Display for ObjectName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// The typed view of an object.
#[derive(Debug, Clone)]
pub enum Resource {
    /// A Service.
    Service(Box<ServiceSpec>),
    /// A Deployment.
    Deployment(Box<DeploymentSpec>),
    /// An Argo Rollout.
    Rollout(Box<RolloutSpec>),
    /// An Argo AnalysisTemplate.
    AnalysisTemplate(Box<AnalysisTemplateSpec>),
    /// An Istio VirtualService.
    VirtualService(Box<VirtualServiceSpec>),
    /// An Istio DestinationRule.
    DestinationRule(Box<DestinationRuleSpec>),
    /// An Istio Gateway.
    Gateway(Box<GatewaySpec>),
    /// A PodDisruptionBudget.
    PodDisruptionBudget(Box<PodDisruptionBudgetSpec>),
    /// A Flagger Canary.
    FlaggerCanary(Box<FlaggerCanarySpec>),
    /// A kind zonechaos does not read, or a known kind whose spec did not
    /// deserialize (the load issue says why).
    Opaque,
}

/// One object of a manifest.
#[derive(Debug, Clone)]
pub struct Object {
    /// File it came from.
    pub file: Arc<Path>,
    /// `apiVersion`.
    pub api_version: String,
    /// `kind` as written.
    pub kind_name: String,
    /// Classified kind.
    pub kind: Kind,
    /// Namespace and name.
    pub name: ObjectName,
    /// `metadata.labels`.
    pub labels: BTreeMap<String, String>,
    /// `metadata.annotations`.
    pub annotations: BTreeMap<String, String>,
    /// The document tree, for positions and schema checks.
    pub node: Node,
    /// Typed view.
    pub resource: Resource,
}

impl Object {
    /// Position of a field (or of its deepest existing ancestor).
    pub fn loc(&self, path: &[PathSeg]) -> SourceLoc {
        SourceLoc {
            file: self.file.clone(),
            pos: self.node.locate(path),
        }
    }

    /// Position of the object (its first key).
    pub fn start(&self) -> SourceLoc {
        SourceLoc {
            file: self.file.clone(),
            pos: self.node.pos,
        }
    }

    /// `Kind namespace/name`, as findings name resources.
    pub fn display_name(&self) -> String {
        format!("{} {}", self.kind_name, self.name)
    }
}

/// Builds a field path (an array of [`PathSeg`]) from string keys and
/// indices: `path!["spec", "http", 0]`. Borrow it as a slice, or call
/// `.to_vec()` to extend it.
#[macro_export]
macro_rules! path {
    ($($seg:expr),* $(,)?) => {
        [$($crate::topology::yaml::PathSeg::from($seg)),*]
    };
}
