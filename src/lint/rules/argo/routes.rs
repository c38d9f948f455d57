//! ZC2001-ZC2003, ZC2006, ZC2010, ZC2012: the VirtualService routes a
//! Rollout rewrites (SEMANTICS.md §4, §6 defect 8); ZC2011: destination
//! weights of every VirtualService route.

use std::collections::BTreeMap;

use super::{CanaryRollout, Role, istio_path, join, list, subset_name};
use crate::lint::catalog;
use crate::lint::context::LintContext;
use crate::lint::finding::Findings;
use crate::model::rollout::{DestinationRole, argo_host, destination_role};
use crate::topology::Object;
use crate::topology::argo::IstioVirtualServiceRef;
use crate::topology::istio::{HttpRoute, VirtualServiceSpec};
use crate::topology::yaml::PathSeg;

/// An http route a Rollout rewrites, and where the Rollout names it.
struct Managed {
    /// Index in the VirtualService's `spec.http`.
    http: usize,
    /// `routes[j]` of the reference, or the reference itself when routes
    /// are omitted.
    path: Vec<PathSeg>,
}

/// A Rollout's claim on one http route, for ZC2003.
struct Claim<'a> {
    rollout: CanaryRollout<'a>,
    path: Vec<PathSeg>,
    route: String,
    virtual_service: String,
}

/// `'name'`, or `http[i]` for an unnamed route.
fn route_label(route: &HttpRoute, index: usize) -> String {
    match &route.name {
        Some(name) => format!("'{name}'"),
        None => format!("http[{index}]"),
    }
}

pub(super) fn check(ctx: &LintContext<'_>, rollouts: &[CanaryRollout<'_>], out: &mut Findings) {
    // (VirtualService namespace, name, http index) -> claims in file order.
    let mut claims: BTreeMap<(String, String, usize), Vec<Claim<'_>>> = BTreeMap::new();
    for r in rollouts {
        let Some(istio) = r.istio() else {
            continue;
        };
        for (index, reference) in istio.virtual_service_refs() {
            let ref_path = match index {
                None => istio_path(&crate::path!["virtualService"]),
                Some(i) => istio_path(&crate::path!["virtualServices", i]),
            };
            let Some((vs_object, vs)) = ctx.virtual_service(&reference.name, r.namespace()) else {
                out.at(
                    &catalog::VIRTUAL_SERVICE_NOT_FOUND,
                    r.object,
                    &join(&ref_path, &crate::path!["name"]),
                    format!(
                        "{}: VirtualService '{}' does not exist (looked up in namespace {}); the Rollout is InvalidSpec until it does",
                        r.display(),
                        reference.name,
                        crate::topology::argo::split_ref(&reference.name, r.namespace()).1
                    ),
                    "add the VirtualService, or fix the name (`name` for the Rollout's namespace, `name.namespace` for another)",
                );
                continue;
            };
            let (mut accepted, managed) =
                managed_routes(r, &ref_path, reference, vs_object, vs, out);
            for m in &managed {
                let route = &vs.http[m.http];
                if !check_destinations(r, vs_object, route, m, out) {
                    accepted = false;
                }
                claims
                    .entry((
                        vs_object.name.namespace.clone(),
                        vs_object.name.name.clone(),
                        m.http,
                    ))
                    .or_default()
                    .push(Claim {
                        rollout: *r,
                        path: m.path.clone(),
                        route: route_label(route, m.http),
                        virtual_service: vs_object.display_name(),
                    });
            }
            if accepted {
                for m in &managed {
                    check_foreign(r, vs_object, vs, m, out);
                }
            }
        }
    }
    for uses in claims.values() {
        let first = uses[0].rollout;
        for claim in uses.iter().filter(|c| !c.rollout.same(&first)) {
            let mut others: Vec<String> = Vec::new();
            for c in uses.iter().filter(|c| !c.rollout.same(&claim.rollout)) {
                if !others.contains(&c.rollout.display()) {
                    others.push(c.rollout.display());
                }
            }
            out.at(
                &catalog::ROUTE_SHARED,
                claim.rollout.object,
                &claim.path,
                format!(
                    "{}: route {} of {} is also managed by {}; they overwrite each other's weights (Argo does not detect this)",
                    claim.rollout.display(),
                    claim.route,
                    claim.virtual_service,
                    list(&others)
                ),
                "give each Rollout its own http route (e.g. one route per zone with a sourceLabels match) and list only that route under its routes:",
            );
        }
    }
}

/// The http routes a VirtualService reference makes the Rollout rewrite
/// (istio.go `getHttpRouteIndexesToPatch`), reporting ZC2001 and ZC2006;
/// and whether Argo accepts the reference so far: it patches nothing in a
/// VirtualService whose validation fails (`ValidateHTTPRoutes`).
fn managed_routes(
    r: &CanaryRollout<'_>,
    ref_path: &[PathSeg],
    reference: &IstioVirtualServiceRef,
    vs_object: &Object,
    vs: &VirtualServiceSpec,
    out: &mut Findings,
) -> (bool, Vec<Managed>) {
    let mut accepted = true;
    let mut managed = Vec::new();
    match reference.routes.as_deref() {
        Some(names) if !names.is_empty() => {
            for (j, name) in names.iter().enumerate() {
                let path = join(ref_path, &crate::path!["routes", j]);
                match vs
                    .http
                    .iter()
                    .position(|h| h.name.as_deref() == Some(name.as_str()))
                {
                    Some(http) => managed.push(Managed { http, path }),
                    None => {
                        accepted = false;
                        route_not_found(r, vs_object, vs, name, &path, out);
                    }
                }
            }
        }
        // Omitted (or empty, which Argo treats the same): the only
        // route when there is one; an InvalidSpec when there are
        // several; nothing at all when there is none.
        _ => match vs.http.len() {
            0 => {}
            1 => managed.push(Managed {
                http: 0,
                path: ref_path.to_vec(),
            }),
            n => {
                accepted = false;
                let names: Vec<String> = vs
                    .http
                    .iter()
                    .enumerate()
                    .map(|(i, h)| route_label(h, i))
                    .collect();
                out.at(
                    &catalog::ROUTES_OMITTED,
                    r.object,
                    &join(ref_path, &crate::path!["routes"]),
                    format!(
                        "{}: the reference to {} lists no routes but it has {n} http routes ({}); Argo requires exactly one route when routes are omitted, so the Rollout is InvalidSpec",
                        r.display(),
                        vs_object.display_name(),
                        list(&names)
                    ),
                    "list the route(s) this Rollout owns under routes: (their http[].name; name the route in the VirtualService if it has no name)",
                );
            }
        },
    }
    (accepted, managed)
}

/// ZC2001, with Argo's InvalidSpec message.
fn route_not_found(
    r: &CanaryRollout<'_>,
    vs_object: &Object,
    vs: &VirtualServiceSpec,
    name: &str,
    path: &[PathSeg],
    out: &mut Findings,
) {
    let named: Vec<String> = vs
        .http
        .iter()
        .filter_map(|h| h.name.as_ref())
        .map(|n| format!("'{n}'"))
        .collect();
    let has = if named.is_empty() {
        "has no named http route".to_owned()
    } else {
        format!("names its http routes {}", list(&named))
    };
    out.at(
        &catalog::ROUTE_NOT_FOUND,
        r.object,
        path,
        format!(
            "{}: HTTP Route '{name}' is not found in the defined Virtual Service. ({} {has})",
            r.display(),
            vs_object.display_name()
        ),
        format!(
            "name an existing http route of {} under routes:, or add `name: {name}` to the http route this Rollout owns",
            vs_object.display_name()
        ),
    );
}

/// ZC2002: the route must hold the stable and canary destinations, by
/// subset with a destinationRule and by Service host without one
/// (istio.go `validateVirtualServiceRouteDestinations`). Returns whether
/// Argo accepts the route.
fn check_destinations(
    r: &CanaryRollout<'_>,
    vs_object: &Object,
    route: &HttpRoute,
    m: &Managed,
    out: &mut Findings,
) -> bool {
    let label = route_label(route, m.http);
    let vs_name = vs_object.display_name();
    let vs_namespace = vs_object.name.namespace.as_str();
    let mut accepted = true;
    for role in Role::BOTH {
        let (message, hint) = if let Some(reference) = r.destination_rule() {
            let subset = subset_name(reference, role);
            if !subset.is_empty()
                && route
                    .route
                    .iter()
                    .any(|d| d.destination.subset.as_deref() == Some(subset))
            {
                continue;
            }
            accepted = false;
            (
                format!(
                    "{}: {} DestinationRule subset '{subset}' not found in route {label} of {vs_name}",
                    r.display(),
                    role.title()
                ),
                format!(
                    "add a destination with subset: {subset} to route {label}, or list the route that holds this Rollout's subsets under routes:"
                ),
            )
        } else if let Some(service) = r.service(role) {
            let exact = route.route.iter().any(|d| {
                crate::topology::istio::service_of_host(&d.destination.host, vs_namespace)
                    == Some((r.namespace(), service))
            });
            if exact {
                continue;
            }
            match route
                .route
                .iter()
                .find(|d| argo_host(&d.destination.host) == service)
            {
                // Argo compares the host's first label only and accepts
                // the route, but Istio sends the traffic elsewhere.
                Some(d) => (
                    format!(
                        "{}: route {label} of {vs_name} reaches the {} '{service}' only as host '{}', which Istio resolves to {} rather than Service {}/{service}",
                        r.display(),
                        role.service_field(),
                        d.destination.host,
                        match crate::topology::istio::service_of_host(
                            &d.destination.host,
                            vs_namespace
                        ) {
                            Some((ns, name)) => format!("Service {ns}/{name}"),
                            None => "a host outside the cluster".to_owned(),
                        },
                        r.namespace()
                    ),
                    format!(
                        "use host {service}.{}.svc.cluster.local for this destination",
                        r.namespace()
                    ),
                ),
                None => {
                    accepted = false;
                    (
                        format!(
                            "{}: {} Service '{service}' not found in route {label} of {vs_name}",
                            r.display(),
                            role.title()
                        ),
                        format!(
                            "add a destination with host: {service} to route {label}, or list the route that holds this Rollout's Services under routes:"
                        ),
                    )
                }
            }
        } else {
            accepted = false;
            (
                format!(
                    "{}: {} Service '' not found in route {label} of {vs_name}: without a destinationRule Argo finds the route's destinations by stableService and canaryService, and {} is not set",
                    r.display(),
                    role.title(),
                    role.service_field()
                ),
                format!(
                    "set spec.strategy.canary.{} to the Service in route {label}, or route by subset with a destinationRule",
                    role.service_field()
                ),
            )
        };
        out.at(
            &catalog::ROUTE_MISSING_DESTINATION,
            r.object,
            &m.path,
            message,
            hint,
        );
    }
    accepted
}

/// ZC2010: on every weight update Argo deletes a managed route's
/// destinations that are neither stable nor canary (istio.go
/// `processRoutes`: host's first label == stableService/canaryService, or
/// subset == stable/canary subset), unless their subset is listed in
/// additionalSubsetNames.
fn check_foreign(
    r: &CanaryRollout<'_>,
    vs_object: &Object,
    vs: &VirtualServiceSpec,
    m: &Managed,
    out: &mut Findings,
) {
    let route = &vs.http[m.http];
    let Some(istio) = r.istio() else {
        return;
    };
    for (k, d) in route.route.iter().enumerate() {
        if destination_role(r.canary, istio, d) != DestinationRole::Other {
            continue;
        }
        let subset = d.destination.subset.as_deref().unwrap_or("");
        let what = if subset.is_empty() {
            format!("host {}", d.destination.host)
        } else {
            format!("host {} subset {subset}", d.destination.host)
        };
        out.at(
            &catalog::ROUTE_FOREIGN_DESTINATION,
            vs_object,
            &crate::path!["spec", "http", m.http, "route", k],
            format!(
                "{}: destination {what} of route {} is neither the stable nor the canary of {}, which manages this route; Argo deletes it on its next weight update",
                vs_object.display_name(),
                route_label(route, m.http),
                r.display()
            ),
            "move this destination to a route no Rollout manages, list its subset under destinationRule.additionalSubsetNames, or remove it",
        );
    }
}

/// ZC2011: in every http route with several destinations, the weights
/// (a missing weight is 0) must sum to 100.
pub(super) fn check_weights(ctx: &LintContext<'_>, out: &mut Findings) {
    for (object, vs) in ctx.topology.virtual_services() {
        for (i, route) in vs.http.iter().enumerate() {
            if route.route.len() < 2 {
                continue;
            }
            let sum: i64 = route.route.iter().map(|d| d.weight.unwrap_or(0)).sum();
            if sum == 100 {
                continue;
            }
            let consequence = if sum == 0 {
                "Istio rejects it (total destination weight = 0)".to_owned()
            } else {
                // Istio >= 1.15 accepts any total and splits by weight/sum.
                let first = route.route[0].weight.unwrap_or(0);
                let share = first as f64 * 100.0 / sum as f64;
                format!(
                    "Istio splits requests by weight/{sum}, so the first destination gets {share:.1}% rather than {first}%"
                )
            };
            out.at(
                &catalog::ROUTE_WEIGHT_SUM,
                object,
                &crate::path!["spec", "http", i, "route"],
                format!(
                    "{}: the {} destination weights of route {} sum to {sum}, not 100; {consequence}",
                    object.display_name(),
                    route.route.len(),
                    route_label(route, i)
                ),
                "make the weights of this route sum to 100 (a destination without weight counts as 0)",
            );
        }
    }
}
