//! The typed topology: every object of the manifests a team deploys, with
//! file, line and column of each object and field.

pub mod argo;
pub mod dr_selection;
pub mod flagger;
pub mod input_errors;
pub mod istio;
pub mod istio_labels;
pub mod label_index;
pub mod labels;
pub mod load_client;
pub mod loader;
pub mod object;
pub mod pdb;
pub mod workload;
pub mod yaml;

use std::collections::HashMap;

use k8s_openapi::api::core::v1::ServiceSpec;
use k8s_openapi::api::policy::v1::PodDisruptionBudgetSpec;

pub use input_errors::InputErrors;
pub use loader::{LoadIssue, LoadIssueKind, Loaded, load_paths, load_text};
pub use object::{Kind, Object, ObjectName, Resource, SourceLoc};
pub use workload::Workload;

use argo::RolloutSpec;
use istio::{DestinationRuleSpec, VirtualServiceSpec};
use label_index::{LabelIndex, Selection};

/// All objects read, with typed accessors and indexes built once, so that
/// rules and the model look objects up by name or selector without
/// scanning (issue 10 item 13). The objects cannot change afterwards.
#[derive(Debug, Clone, Default)]
pub struct Topology {
    /// Objects in file and document order.
    objects: Vec<Object>,
    /// The first object of each kind, namespace and name.
    by_name: HashMap<(Kind, String, String), usize>,
    /// Rollouts and Deployments (positions in `objects`) by namespace and
    /// pod label.
    workloads: LabelIndex,
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
    /// Wraps loaded objects and indexes them.
    pub fn new(objects: Vec<Object>) -> Topology {
        let mut by_name = HashMap::new();
        let mut workloads = LabelIndex::default();
        for (i, o) in objects.iter().enumerate() {
            by_name
                .entry((o.kind, o.name.namespace.clone(), o.name.name.clone()))
                .or_insert(i);
            if let Some(w) = Workload::of(o) {
                workloads.insert(i, &o.name.namespace, w.pod_labels_ref());
            }
        }
        Topology {
            objects,
            by_name,
            workloads,
        }
    }

    /// Every object, in file and document order.
    pub fn objects(&self) -> &[Object] {
        &self.objects
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

    /// The object of a kind with a namespace and name (the first, when a
    /// manifest repeats it).
    pub fn find(&self, kind: Kind, namespace: &str, name: &str) -> Option<&Object> {
        self.by_name
            .get(&(kind, namespace.to_owned(), name.to_owned()))
            .map(|&i| &self.objects[i])
    }

    /// The workloads at the index's candidate positions.
    fn workloads_at<'s>(
        &'s self,
        positions: &'s [usize],
    ) -> impl Iterator<Item = Workload<'s>> + use<'s> {
        positions
            .iter()
            .filter_map(|&i| Workload::of(&self.objects[i]))
    }

    /// Every Rollout and Deployment of a namespace, in file order.
    pub fn workloads_in<'s>(
        &'s self,
        namespace: &str,
    ) -> impl Iterator<Item = Workload<'s>> + use<'s> {
        self.workloads_at(self.workloads.in_namespace(namespace))
    }

    /// Workloads of a namespace whose pod labels `selection` selects, in
    /// file order: the label index's candidates, each matched.
    pub fn workloads_selected<'s, 'q>(
        &'s self,
        namespace: &str,
        selection: Selection<'q>,
    ) -> impl Iterator<Item = Workload<'s>> + use<'s, 'q> {
        let candidates = self
            .workloads
            .candidates(namespace, selection.constraints());
        self.workloads_at(candidates)
            .filter(move |w| selection.matches(w.pod_labels_ref()))
    }
}

/// Inputs for tests that measure how work grows with the topology.
#[cfg(test)]
pub(crate) mod test_support {
    /// `copies` copies of the failover reference topology
    /// (`suites/topologies/zone-failover.yaml`) in its one namespace, copy
    /// `i` with every `test` renamed `s{i}` (Service, Rollouts, PDBs,
    /// labels and hosts alike).
    pub(crate) fn failover_copies(copies: usize) -> String {
        let reference = include_str!("../../suites/topologies/zone-failover.yaml");
        (0..copies)
            .map(|i| format!("{}\n", reference.replace("test", &format!("s{i}"))))
            .collect()
    }
}
