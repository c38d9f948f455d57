//! Which route a client proxy takes (SEMANTICS.md §2): VirtualService http
//! routes filtered by sourceLabels against the proxy's labels (pod labels
//! plus the node's topology labels), the default route when none applies,
//! 404 when some apply but none matches the request.

use crate::model::mesh_config::{MeshConfig, MeshService};
use crate::topology::istio::{HttpMatchRequest, HttpRoute, VirtualServiceSpec};
use crate::topology::labels::{Labels, map_matches};

/// A client proxy: where it runs and what istiod knows of it.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientProxy {
    /// Namespace of the client workload.
    pub namespace: String,
    /// Pod labels plus node topology labels (zone, region).
    pub labels: Labels,
}

/// The route decision for a proxy and a target Service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteChoice {
    /// No VirtualService route applies: all endpoints, no subsets, no weights.
    Default,
    /// This http route of this VirtualService (indices into MeshConfig).
    Route {
        /// VirtualService index.
        vs: usize,
        /// http route index.
        route: usize,
    },
    /// Routes apply to the proxy but none matches the request: 404 NR.
    NoRoute,
}

fn match_applies(m: &HttpMatchRequest, proxy: &ClientProxy) -> bool {
    map_matches(&m.source_labels, &proxy.labels)
        && m.source_namespace
            .as_ref()
            .is_none_or(|ns| ns == &proxy.namespace)
        && (m.gateways.is_empty() || m.gateways.iter().any(|g| g == "mesh"))
}

/// A route applies to a proxy when it has no match, or a match whose
/// proxy-level conditions (sourceLabels, sourceNamespace, gateways) hold.
pub fn route_applies(route: &HttpRoute, proxy: &ClientProxy) -> bool {
    route.matches.is_empty() || route.matches.iter().any(|m| match_applies(m, proxy))
}

/// A plain request (no special headers or path) matches a route when one of
/// its applying matches has no request-level condition.
fn request_matches(route: &HttpRoute, proxy: &ClientProxy) -> bool {
    route.matches.is_empty()
        || route
            .matches
            .iter()
            .any(|m| match_applies(m, proxy) && m.is_source_only())
}

fn vs_covers(vs: &VirtualServiceSpec, spellings: &[String; 4]) -> bool {
    crate::topology::labels::work::count();
    let sidecar = vs.gateways.is_empty() || vs.gateways.iter().any(|g| g == "mesh");
    sidecar && vs.hosts.iter().any(|h| spellings.contains(h))
}

/// The route a plain request from `proxy` to `service` takes.
pub fn select_route(mesh: &MeshConfig, proxy: &ClientProxy, service: &MeshService) -> RouteChoice {
    // For sidecars the first VirtualService for a host wins.
    let both = [service.name.namespace.as_str(), proxy.namespace.as_str()];
    let namespaces = if both[0] == both[1] {
        &both[..1]
    } else {
        &both[..]
    };
    // Through the host index: the VirtualServices naming this Service, not
    // every VirtualService of the namespace (issue 10 item 13).
    let spellings = service.host_spellings();
    let found = namespaces
        .iter()
        .flat_map(|ns| {
            spellings
                .iter()
                .flat_map(move |h| mesh.virtual_services_with_host(ns, h))
        })
        .filter(|(_, v)| vs_covers(&v.spec, spellings))
        .min_by_key(|(i, _)| *i);
    let Some((vi, vs)) = found else {
        return RouteChoice::Default;
    };
    let applying: Vec<usize> = vs
        .spec
        .http
        .iter()
        .enumerate()
        .filter(|(_, r)| route_applies(r, proxy))
        .map(|(i, _)| i)
        .collect();
    if applying.is_empty() {
        return RouteChoice::Default;
    }
    applying
        .into_iter()
        .find(|&i| request_matches(&vs.spec.http[i], proxy))
        .map_or(RouteChoice::NoRoute, |route| RouteChoice::Route {
            vs: vi,
            route,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::{Loaded, Topology, load_text};
    use std::path::Path;
    use std::sync::Arc;

    fn mesh(yaml: &str) -> MeshConfig {
        let mut l = Loaded::default();
        load_text(Arc::from(Path::new("t.yaml")), yaml, &mut l);
        MeshConfig::from_topology(&Topology::new(l.objects))
    }

    fn proxy(zone: &str) -> ClientProxy {
        ClientProxy {
            namespace: "default".into(),
            labels: [
                ("app".to_string(), "loadgen".to_string()),
                ("topology.kubernetes.io/zone".to_string(), zone.to_string()),
            ]
            .into(),
        }
    }

    const SVC: &str = "apiVersion: v1\nkind: Service\nmetadata: {name: test, namespace: default}\nspec: {selector: {app: test}}\n---\n";

    #[test]
    fn zone_routes_and_default_route() {
        let m = mesh(&format!(
            "{SVC}apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {{name: v, namespace: default}}\nspec:\n  hosts: [test]\n  http:\n    - name: a\n      match: [{{sourceLabels: {{topology.kubernetes.io/zone: us-east-1a}}}}]\n      route: [{{destination: {{host: test, subset: s-a}}}}]\n    - name: b\n      match: [{{sourceLabels: {{topology.kubernetes.io/zone: us-east-1b}}}}]\n      route: [{{destination: {{host: test, subset: s-b}}}}]\n"
        ));
        let svc = &m.services[0];
        assert_eq!(
            select_route(&m, &proxy("us-east-1a"), svc),
            RouteChoice::Route { vs: 0, route: 0 }
        );
        assert_eq!(
            select_route(&m, &proxy("us-east-1b"), svc),
            RouteChoice::Route { vs: 0, route: 1 }
        );
        // No route applies to a zone-c proxy: the VirtualService contributes nothing.
        assert_eq!(
            select_route(&m, &proxy("us-east-1c"), svc),
            RouteChoice::Default
        );
    }

    #[test]
    fn applying_routes_that_do_not_match_give_404() {
        let m = mesh(&format!(
            "{SVC}apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {{name: v, namespace: default}}\nspec:\n  hosts: [test.default.svc.cluster.local]\n  http:\n    - match: [{{uri: {{prefix: /api}}}}]\n      route: [{{destination: {{host: test}}}}]\n"
        ));
        assert_eq!(
            select_route(&m, &proxy("us-east-1a"), &m.services[0]),
            RouteChoice::NoRoute
        );
    }

    #[test]
    fn gateway_only_virtual_service_does_not_apply_to_sidecars() {
        let m = mesh(&format!(
            "{SVC}apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {{name: v, namespace: default}}\nspec:\n  hosts: [test]\n  gateways: [ingress]\n  http:\n    - route: [{{destination: {{host: test}}}}]\n"
        ));
        assert_eq!(
            select_route(&m, &proxy("us-east-1a"), &m.services[0]),
            RouteChoice::Default
        );
    }
}
