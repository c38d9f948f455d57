//! The mesh configuration as the cluster holds it: VirtualServices and
//! DestinationRules (which Argo Rollouts rewrites at runtime) and Services.
//! A DestinationRule Istio's webhook rejects is kept with its rejection so
//! reports can say why it is absent, but is otherwise treated as absent.
//!
//! This is state the control plane stores and Argo rewrites, so it lives in
//! the model; what Istio makes of it (routing, clusters, validation) stays
//! in [`crate::mesh`].

use foldhash::HashMap;

use k8s_openapi::api::core::v1::ServiceSpec;

// The webhook's admission check is Istio's validation, one rule shared with
// lint; `mesh::validation` imports neither model/ nor the rest of mesh/, so
// this is no cycle.
use crate::mesh::validation;
use crate::topology::istio::{DestinationRuleSpec, VirtualServiceSpec, service_of_host};
use crate::topology::labels::Labels;
use crate::topology::{ObjectName, Topology};

/// A mesh object with its name and admission outcome.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct MeshObject<T> {
    /// Namespace and name.
    pub name: ObjectName,
    /// The spec as currently stored.
    #[serde(skip)]
    pub spec: T,
    /// Why Istio's webhook refused it (then it does not exist in the cluster).
    pub rejected: Option<String>,
    /// The Rollout that last wrote it (`argo-rollouts.argoproj.io/managed-by-rollouts`).
    pub managed_by: Option<String>,
}

/// A Kubernetes Service as the mesh sees it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct MeshService {
    /// Namespace and name.
    pub name: ObjectName,
    /// Pod selector (Argo adds the template hash to stable/canary Services).
    pub selector: Labels,
    /// First port, for cluster names.
    pub port: u16,
    /// `spec.trafficDistribution` (PreferClose / PreferSameZone).
    pub traffic_distribution: Option<String>,
    /// The spellings of its host a VirtualService may list, written once
    /// (routes are selected for every prediction).
    #[serde(skip)]
    host_spellings: std::sync::Arc<[String; 4]>,
}

impl MeshService {
    /// `name`, `name.ns`, `name.ns.svc`, `name.ns.svc.cluster.local`: the
    /// spellings of its host a sidecar VirtualService may list.
    pub fn host_spellings(&self) -> &[String; 4] {
        &self.host_spellings
    }
}

/// Everything istiod reads.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct MeshConfig {
    /// VirtualServices.
    pub virtual_services: Vec<MeshObject<VirtualServiceSpec>>,
    /// DestinationRules in creation order (oldest first: its trafficPolicy wins on merge).
    pub destination_rules: Vec<MeshObject<DestinationRuleSpec>>,
    /// Services.
    pub services: Vec<MeshService>,
    /// Lookups by name (names and hosts never change after apply).
    #[serde(skip)]
    index: MeshIndex,
}

/// A map keyed by namespace, then name (or host), read with borrowed text:
/// a lookup allocates nothing (a `(String, String)` key would cost two
/// copies per lookup, and routes are looked up for every prediction).
#[derive(Debug, Clone, PartialEq)]
struct ByNamespace<V>(HashMap<String, HashMap<String, V>>);

impl<V> Default for ByNamespace<V> {
    fn default() -> Self {
        ByNamespace(HashMap::default())
    }
}

impl<V: Default> ByNamespace<V> {
    /// The value at (namespace, name), inserted as the default if absent
    /// (when the index is built, so the copies of the key do not matter).
    fn entry(&mut self, namespace: &str, name: &str) -> &mut V {
        self.0
            .entry(namespace.to_owned())
            .or_default()
            .entry(name.to_owned())
            .or_default()
    }
}

impl<V> ByNamespace<V> {
    /// The value at (namespace, name).
    fn get(&self, namespace: &str, name: &str) -> Option<&V> {
        self.0.get(namespace)?.get(name)
    }
}

/// Name and host indexes, so lookups stay O(1) in large meshes.
#[derive(Debug, Clone, Default, PartialEq)]
struct MeshIndex {
    /// First VirtualService of each name (a later duplicate is ignored).
    virtual_services: ByNamespace<Option<usize>>,
    virtual_services_by_ns: HashMap<String, Vec<usize>>,
    /// (VirtualService namespace, host as written) -> VirtualServices.
    virtual_services_by_host: ByNamespace<Vec<usize>>,
    destination_rules: ByNamespace<Option<usize>>,
    destination_rules_by_service: ByNamespace<Vec<usize>>,
    services: ByNamespace<Option<usize>>,
}

/// Records `i` under `name` unless an earlier object holds the name.
fn first_of_name(map: &mut ByNamespace<Option<usize>>, name: &ObjectName, i: usize) {
    map.entry(&name.namespace, &name.name).get_or_insert(i);
}

fn service_of(name: ObjectName, spec: &ServiceSpec) -> MeshService {
    let (short, ns) = (&name.name, &name.namespace);
    let host_spellings = std::sync::Arc::new([
        short.clone(),
        format!("{short}.{ns}"),
        format!("{short}.{ns}.svc"),
        format!("{short}.{ns}.svc.cluster.local"),
    ]);
    MeshService {
        host_spellings,
        name,
        selector: spec.selector.clone().unwrap_or_default(),
        port: spec
            .ports
            .as_ref()
            .and_then(|p| p.first())
            .and_then(|p| u16::try_from(p.port).ok())
            .unwrap_or(80),
        traffic_distribution: spec.traffic_distribution.clone(),
    }
}

impl MeshConfig {
    /// Applies the topology's mesh objects as `kubectl apply` would: invalid
    /// DestinationRules are rejected.
    pub fn from_topology(topology: &Topology) -> MeshConfig {
        MeshConfig {
            virtual_services: topology
                .virtual_services()
                .map(|(o, s)| MeshObject {
                    name: o.name.clone(),
                    spec: s.clone(),
                    rejected: None,
                    managed_by: None,
                })
                .collect(),
            destination_rules: topology
                .destination_rules()
                .map(|(o, s)| {
                    let errors: Vec<String> = validation::validate_destination_rule(s)
                        .into_iter()
                        .filter(|f| !f.violation.is_warning())
                        .map(|f| f.message)
                        .collect();
                    MeshObject {
                        name: o.name.clone(),
                        spec: s.clone(),
                        rejected: (!errors.is_empty()).then(|| errors.join("; ")),
                        managed_by: None,
                    }
                })
                .collect(),
            services: topology
                .services()
                .map(|(o, s)| service_of(o.name.clone(), s))
                .collect(),
            index: MeshIndex::default(),
        }
        .reindexed()
    }

    fn reindexed(mut self) -> MeshConfig {
        let mut index = MeshIndex::default();
        for (i, v) in self.virtual_services.iter().enumerate() {
            first_of_name(&mut index.virtual_services, &v.name, i);
            index
                .virtual_services_by_ns
                .entry(v.name.namespace.clone())
                .or_default()
                .push(i);
            for host in &v.spec.hosts {
                let list = index
                    .virtual_services_by_host
                    .entry(&v.name.namespace, host);
                // A host listed twice names the VirtualService once.
                if list.last() != Some(&i) {
                    list.push(i);
                }
            }
        }
        for (i, s) in self.services.iter().enumerate() {
            first_of_name(&mut index.services, &s.name, i);
        }
        for (i, d) in self.destination_rules.iter().enumerate() {
            first_of_name(&mut index.destination_rules, &d.name, i);
            if let Some((ns, name)) = service_of_host(&d.spec.host, &d.name.namespace) {
                index.destination_rules_by_service.entry(ns, name).push(i);
            }
        }
        self.index = index;
        self
    }

    /// VirtualServices of a namespace, in apply order.
    pub fn virtual_services_in(
        &self,
        namespace: &str,
    ) -> impl Iterator<Item = (usize, &MeshObject<VirtualServiceSpec>)> {
        self.index
            .virtual_services_by_ns
            .get(namespace)
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .map(|&i| (i, &self.virtual_services[i]))
    }

    /// VirtualServices of a namespace that list `host` exactly as written,
    /// in apply order.
    pub fn virtual_services_with_host(
        &self,
        namespace: &str,
        host: &str,
    ) -> impl Iterator<Item = (usize, &MeshObject<VirtualServiceSpec>)> {
        self.index
            .virtual_services_by_host
            .get(namespace, host)
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .map(|&i| (i, &self.virtual_services[i]))
    }

    /// Admitted DestinationRules whose host is a Service, oldest first.
    pub fn destination_rules_for(
        &self,
        service: &ObjectName,
    ) -> impl Iterator<Item = &MeshObject<DestinationRuleSpec>> {
        self.index
            .destination_rules_by_service
            .get(&service.namespace, &service.name)
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .map(|&i| &self.destination_rules[i])
            .filter(|d| d.rejected.is_none())
    }

    /// An admitted DestinationRule by namespace and name.
    pub fn destination_rule(
        &self,
        namespace: &str,
        name: &str,
    ) -> Option<&MeshObject<DestinationRuleSpec>> {
        let i = *self
            .index
            .destination_rules
            .get(namespace, name)?
            .as_ref()?;
        Some(&self.destination_rules[i]).filter(|d| d.rejected.is_none())
    }

    /// An admitted VirtualService by namespace and name.
    pub fn virtual_service_mut(
        &mut self,
        namespace: &str,
        name: &str,
    ) -> Option<&mut MeshObject<VirtualServiceSpec>> {
        let i = *self.index.virtual_services.get(namespace, name)?.as_ref()?;
        self.virtual_services.get_mut(i)
    }

    /// An admitted VirtualService by namespace and name.
    pub fn virtual_service(
        &self,
        namespace: &str,
        name: &str,
    ) -> Option<&MeshObject<VirtualServiceSpec>> {
        let i = *self.index.virtual_services.get(namespace, name)?.as_ref()?;
        self.virtual_services.get(i)
    }

    /// An admitted (not rejected) DestinationRule by namespace and name.
    pub fn destination_rule_mut(
        &mut self,
        namespace: &str,
        name: &str,
    ) -> Option<&mut MeshObject<DestinationRuleSpec>> {
        let i = *self
            .index
            .destination_rules
            .get(namespace, name)?
            .as_ref()?;
        self.destination_rules
            .get_mut(i)
            .filter(|d| d.rejected.is_none())
    }

    /// A Service by namespace and name.
    pub fn service(&self, namespace: &str, name: &str) -> Option<&MeshService> {
        let i = *self.index.services.get(namespace, name)?.as_ref()?;
        self.services.get(i)
    }

    /// A Service by namespace and name, to patch (Argo's selector hash).
    pub fn service_mut(&mut self, namespace: &str, name: &str) -> Option<&mut MeshService> {
        let i = *self.index.services.get(namespace, name)?.as_ref()?;
        self.services.get_mut(i)
    }

    /// The Service an Istio host names, seen from `namespace`.
    pub fn resolve_host(&self, host: &str, namespace: &str) -> Option<&MeshService> {
        let (ns, name) = service_of_host(host, namespace)?;
        self.service(ns, name)
    }
}
