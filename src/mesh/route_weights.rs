//! The weights of every http route of a set of VirtualServices, as the
//! route-isolation assertion compares them before and after a canary step.
//! The model and the real-cluster backends read them the same way, with
//! the one rule of [`crate::mesh::route`].

use std::collections::BTreeMap;

use crate::mesh::route::{RouteName, destination_weights};
use crate::model::mesh_config::MeshConfig;
use crate::topology::istio::{Destination, VirtualServiceSpec};

/// `(VirtualService, route) -> [(destination, weight)]`: the route as
/// [`RouteName`] shows it, a destination as `host/subset` or `host`. The
/// same type as [`crate::backend::RouteWeights`].
pub type RouteWeightTable = BTreeMap<(String, String), Vec<(String, i64)>>;

/// Every route's weights of the given VirtualServices, each named as the
/// caller wants it keyed.
pub fn route_weights<'a>(
    virtual_services: impl IntoIterator<Item = (String, &'a VirtualServiceSpec)>,
) -> RouteWeightTable {
    let mut out = RouteWeightTable::new();
    for (vs, spec) in virtual_services {
        for (i, r) in spec.http.iter().enumerate() {
            let dests = destination_weights(r)
                .map(|(d, w)| (destination_label(d), i64::from(w)))
                .collect();
            out.insert((vs.clone(), RouteName::of(i, r).to_string()), dests);
        }
    }
    out
}

/// Every route's weights in a mesh, keyed by `namespace/name` of the
/// VirtualService.
pub fn mesh_route_weights(mesh: &MeshConfig) -> RouteWeightTable {
    route_weights(
        mesh.virtual_services
            .iter()
            .map(|vs| (vs.name.to_string(), &vs.spec)),
    )
}

/// `host/subset`, or `host` without a subset.
fn destination_label(d: &Destination) -> String {
    match &d.subset {
        Some(s) => format!("{}/{s}", d.host),
        None => d.host.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::istio::{HttpRoute, HttpRouteDestination};

    fn dest(host: &str, subset: Option<&str>, weight: Option<i64>) -> HttpRouteDestination {
        HttpRouteDestination {
            destination: Destination {
                host: host.into(),
                subset: subset.map(str::to_owned),
                port: None,
            },
            weight,
        }
    }

    #[test]
    fn weights_keyed_by_virtual_service_and_route_label() {
        let spec = VirtualServiceSpec {
            http: vec![
                HttpRoute {
                    name: Some("zone-c-route".into()),
                    route: vec![
                        dest("test", Some("stable-c"), Some(90)),
                        dest("test", Some("canary-c"), Some(-5)),
                    ],
                    ..Default::default()
                },
                HttpRoute {
                    route: vec![dest("test", None, None)],
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        let table = route_weights([("default/test".to_owned(), &spec)]);
        let key = |r: &str| ("default/test".to_owned(), r.to_owned());
        // A negative weight reads as 0, as everywhere in the model.
        assert_eq!(
            table[&key("zone-c-route")],
            vec![
                ("test/stable-c".to_owned(), 90),
                ("test/canary-c".to_owned(), 0)
            ]
        );
        // An unnamed route is `#index`; its lone destination without weight, 100.
        assert_eq!(table[&key("#1")], vec![("test".to_owned(), 100)]);
    }
}
