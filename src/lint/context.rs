//! What every rule needs besides the objects: the profile's zones and
//! indexes to resolve names and hosts without scanning the topology.

use std::collections::{BTreeSet, HashMap};

use k8s_openapi::api::core::v1::ServiceSpec;

use crate::profile::ClusterProfile;
use crate::topology::argo::split_ref;
use crate::topology::istio::{DestinationRuleSpec, VirtualServiceSpec, service_of_host};
use crate::topology::label_index::Selection;
use crate::topology::labels::{Labels, map_matches};
use crate::topology::{Object, ObjectName, Topology, Workload};
use crate::zone::Zone;

type Key = (String, String);

fn key(o: &Object) -> Key {
    (o.name.namespace.clone(), o.name.name.clone())
}

/// Read-only view shared by all rules.
pub struct LintContext<'a> {
    /// The objects.
    pub topology: &'a Topology,
    /// Zones and label keys.
    pub profile: &'a ClusterProfile,
    services: HashMap<Key, (&'a Object, &'a ServiceSpec)>,
    virtual_services: HashMap<Key, (&'a Object, &'a VirtualServiceSpec)>,
    destination_rules: HashMap<Key, (&'a Object, &'a DestinationRuleSpec)>,
    rules_by_host: HashMap<Key, Vec<(&'a Object, &'a DestinationRuleSpec)>>,
}

/// Endpoints of one workload behind a host (or subset): the workload and
/// the zones its pods can run in.
#[derive(Debug, Clone)]
pub struct EndpointGroup<'a> {
    /// The workload.
    pub workload: Workload<'a>,
    /// Zones of its pods.
    pub zones: BTreeSet<Zone>,
}

impl<'a> LintContext<'a> {
    /// Builds the indexes.
    pub fn new(topology: &'a Topology, profile: &'a ClusterProfile) -> LintContext<'a> {
        let mut ctx = LintContext {
            topology,
            profile,
            services: topology.services().map(|(o, s)| (key(o), (o, s))).collect(),
            virtual_services: topology
                .virtual_services()
                .map(|(o, s)| (key(o), (o, s)))
                .collect(),
            destination_rules: topology
                .destination_rules()
                .map(|(o, s)| (key(o), (o, s)))
                .collect(),
            rules_by_host: HashMap::new(),
        };
        for (o, dr) in topology.destination_rules() {
            if let Some(svc) = ctx.resolve_host(&dr.host, &o.name.namespace) {
                ctx.rules_by_host
                    .entry((svc.namespace, svc.name))
                    .or_default()
                    .push((o, dr));
            }
        }
        ctx
    }

    /// The node label key carrying the zone.
    pub fn zone_key(&self) -> &str {
        &self.profile.node_labels.zone
    }

    /// A Service by namespace and name.
    pub fn service(&self, namespace: &str, name: &str) -> Option<(&'a Object, &'a ServiceSpec)> {
        self.services
            .get(&(namespace.to_owned(), name.to_owned()))
            .copied()
    }

    /// A VirtualService by Argo reference (`name` or `name.namespace`).
    pub fn virtual_service(
        &self,
        reference: &str,
        namespace: &str,
    ) -> Option<(&'a Object, &'a VirtualServiceSpec)> {
        let (name, ns) = split_ref(reference, namespace);
        self.virtual_services
            .get(&(ns.to_owned(), name.to_owned()))
            .copied()
    }

    /// A DestinationRule by Argo reference (`name` or `name.namespace`).
    pub fn destination_rule(
        &self,
        reference: &str,
        namespace: &str,
    ) -> Option<(&'a Object, &'a DestinationRuleSpec)> {
        let (name, ns) = split_ref(reference, namespace);
        self.destination_rules
            .get(&(ns.to_owned(), name.to_owned()))
            .copied()
    }

    /// The Service an Istio host names, seen from `namespace`: short name,
    /// `name.ns`, `name.ns.svc` or `name.ns.svc.cluster.local`.
    pub fn resolve_host(&self, host: &str, namespace: &str) -> Option<ObjectName> {
        let (ns, name) = service_of_host(host, namespace)?;
        self.service(ns, name).map(|(o, _)| o.name.clone())
    }

    /// DestinationRules whose host is this Service, oldest first (file order).
    pub fn destination_rules_for(
        &self,
        service: &ObjectName,
    ) -> &[(&'a Object, &'a DestinationRuleSpec)] {
        self.rules_by_host
            .get(&(service.namespace.clone(), service.name.clone()))
            .map_or(&[], Vec::as_slice)
    }

    /// Zones a workload's pods can run in: pinned zones, or every zone.
    pub fn workload_zones(&self, w: &Workload<'_>) -> BTreeSet<Zone> {
        match w.pinned_zones(self.zone_key()) {
            Some(zones) => zones.into_iter().map(Zone::from).collect(),
            None => self.profile.zone_names().cloned().collect(),
        }
    }

    /// Workloads whose pods a Service selects, optionally narrowed by subset labels.
    pub fn endpoints(
        &self,
        service: &ObjectName,
        subset: Option<&Labels>,
    ) -> Vec<EndpointGroup<'a>> {
        let Some((_, spec)) = self.service(&service.namespace, &service.name) else {
            return Vec::new();
        };
        let Some(selector) = spec.selector.as_ref().filter(|s| !s.is_empty()) else {
            return Vec::new();
        };
        // Through the topology's label index: one posting list per
        // Service, not a scan of the namespace (issue 10 item 13).
        self.topology
            .workloads_selected(&service.namespace, Selection::Labels(selector))
            .filter(|w| subset.is_none_or(|s| map_matches(s, w.pod_labels_ref())))
            .map(|w| EndpointGroup {
                workload: w,
                zones: self.workload_zones(&w),
            })
            .collect()
    }

    /// The profile zone a `sourceLabels` or pod label value names.
    pub fn zone_of_label_value(&self, value: &str) -> Option<&'a Zone> {
        self.profile.zone_for_label_value(value)
    }
}
