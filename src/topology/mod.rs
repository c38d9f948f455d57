//! The typed topology: every object of the manifests a team deploys, with
//! file, line and column of each object and field.

pub mod argo;
pub mod flagger;
pub mod input_errors;
pub mod istio;
pub mod labels;
pub mod loader;
pub mod object;
pub mod pdb;
pub mod workload;
pub mod yaml;

use k8s_openapi::api::core::v1::ServiceSpec;
use k8s_openapi::api::policy::v1::PodDisruptionBudgetSpec;

pub use input_errors::InputErrors;
pub use loader::{LoadIssue, LoadIssueKind, Loaded, load_paths, load_text};
pub use object::{Kind, Object, ObjectName, Resource, SourceLoc};
pub use workload::Workload;

use argo::RolloutSpec;
use istio::{DestinationRuleSpec, VirtualServiceSpec};

/// All objects read, with typed accessors.
#[derive(Debug, Clone, Default)]
pub struct Topology {
    /// Objects in file and document order.
    pub objects: Vec<Object>,
}

macro_rules! typed_iter {
    ($(#[$doc:meta])* $fn:ident, $variant:ident, $ty:ty) => {
        $(#[$doc])*
        pub fn $fn(&self) -> impl Iterator<Item = (&Object, &$ty)> {
            self.objects.iter().filter_map(|o| match &o.resource {
                Resource::$variant(spec) => Some((o, &**spec)),
                _ => None,
            })
        }
    };
}

impl Topology {
    /// Wraps loaded objects.
    pub fn new(objects: Vec<Object>) -> Topology {
        Topology { objects }
    }

    typed_iter!(
        /// Every Rollout.
        rollouts, Rollout, RolloutSpec
    );
    typed_iter!(
        /// Every VirtualService.
        virtual_services, VirtualService, VirtualServiceSpec
    );
    typed_iter!(
        /// Every DestinationRule.
        destination_rules, DestinationRule, DestinationRuleSpec
    );
    typed_iter!(
        /// Every Service.
        services, Service, ServiceSpec
    );
    typed_iter!(
        /// Every PodDisruptionBudget.
        pdbs, PodDisruptionBudget, PodDisruptionBudgetSpec
    );

    /// Every Rollout and Deployment.
    pub fn workloads(&self) -> impl Iterator<Item = Workload<'_>> {
        self.objects.iter().filter_map(Workload::of)
    }

    /// The object of a kind with a namespace and name.
    pub fn find(&self, kind: Kind, namespace: &str, name: &str) -> Option<&Object> {
        self.objects
            .iter()
            .find(|o| o.kind == kind && o.name.namespace == namespace && o.name.name == name)
    }
}
