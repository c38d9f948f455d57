//! A real Envoy's configuration read back into the model's shape
//! ([`ProxyConfig`]): the admin `/config_dump?include_eds` of a local
//! Envoy, or of an Istio sidecar on a cluster (`pilot-agent request GET
//! config_dump?include_eds`).
//!
//! The fields read are those of envoy/admin/v3 `config_dump_shared.proto`:
//! `BootstrapConfigDump.bootstrap.node.locality`,
//! `ClustersConfigDump.{static_clusters,dynamic_active_clusters}[].cluster`,
//! `RoutesConfigDump.{static,dynamic}_route_configs[].route_config` and
//! `EndpointsConfigDump.{static,dynamic}_endpoint_configs[].endpoint_config`.

use serde_json::Value;

use crate::mesh::cluster::OutlierSettings;
use crate::mesh::proxy_config::{
    ClusterEntry, EdsHealth, EndpointEntry, LocalityName, ProxyConfig, RouteAction, RouteEntry,
    WeightedCluster,
};
use crate::model::clock::parse_duration;
use crate::zone::Zone;

/// Type URL of a config dump section.
pub const BOOTSTRAP_DUMP: &str = "type.googleapis.com/envoy.admin.v3.BootstrapConfigDump";
/// Type URL of a config dump section.
pub const CLUSTERS_DUMP: &str = "type.googleapis.com/envoy.admin.v3.ClustersConfigDump";
/// Type URL of a config dump section.
pub const ROUTES_DUMP: &str = "type.googleapis.com/envoy.admin.v3.RoutesConfigDump";
/// Type URL of a config dump section.
pub const ENDPOINTS_DUMP: &str = "type.googleapis.com/envoy.admin.v3.EndpointsConfigDump";

/// A config dump that does not hold what the comparison needs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DumpError(pub String);

/// Which route of the dump to read: the model's route configuration,
/// virtual host and route name.
#[derive(Debug, Clone, Copy)]
pub struct RouteKey<'a> {
    /// RDS route configuration name (the port).
    pub route_config: &'a str,
    /// Virtual host name, `FQDN:PORT`.
    pub virtual_host: &'a str,
    /// Route name (`default`, a VirtualService http route's name, or empty).
    pub name: &'a str,
}

/// Reads `dump` (a `/config_dump?include_eds` answer) into the model's
/// shape: the route `key` names, every cluster that route sends to, and
/// the clusters named in `also` (a zero-weight destination's cluster is
/// built but not in the route). Clusters the dump lacks are left out.
pub fn from_config_dump(
    dump: &Value,
    client_zone: &Zone,
    key: RouteKey<'_>,
    also: &[&str],
) -> Result<ProxyConfig, DumpError> {
    let configs = dump
        .get("configs")
        .and_then(Value::as_array)
        .ok_or_else(|| DumpError("the config dump has no `configs` list".into()))?;
    let of_type = |t: &str| configs.iter().find(|c| c["@type"] == t);
    let locality = of_type(BOOTSTRAP_DUMP)
        .map(|b| locality(&b["bootstrap"]["node"]["locality"]))
        .unwrap_or_default();
    let route = of_type(ROUTES_DUMP)
        .ok_or_else(|| DumpError("the config dump has no routes (RoutesConfigDump)".into()))
        .and_then(|r| find_route(r, key))?;
    let clusters_dump = of_type(CLUSTERS_DUMP)
        .ok_or_else(|| DumpError("the config dump has no clusters (ClustersConfigDump)".into()))?;
    let endpoints_dump = of_type(ENDPOINTS_DUMP).ok_or_else(|| {
        DumpError(
            "the config dump has no endpoints (EndpointsConfigDump): ask for \
             config_dump?include_eds"
                .into(),
        )
    })?;
    let mut names: Vec<&str> = match &route.action {
        RouteAction::Cluster { cluster } => vec![cluster.as_str()],
        RouteAction::Weighted { clusters } => clusters.iter().map(|c| c.name.as_str()).collect(),
        RouteAction::Direct { .. } => Vec::new(),
    };
    names.extend(also);
    let mut clusters = Vec::new();
    for name in names {
        // A route may name a cluster the proxy lacks (503 NC): not built.
        let Some(c) = find_cluster(clusters_dump, name) else {
            continue;
        };
        if clusters.iter().any(|e: &ClusterEntry| e.name == name) {
            continue;
        }
        let weighted = !c["common_lb_config"]["locality_weighted_lb_config"].is_null();
        let outlier = c.get("outlier_detection").map(outlier_settings);
        let eds_name = c["eds_cluster_config"]["service_name"]
            .as_str()
            .unwrap_or(name);
        let endpoints = match find_load_assignment(endpoints_dump, eds_name) {
            Some(la) => endpoints(la, weighted),
            None => Vec::new(),
        };
        clusters.push(ClusterEntry {
            name: name.to_owned(),
            outlier,
            locality_weighted: weighted,
            endpoints,
        });
    }
    Ok(ProxyConfig {
        client_zone: client_zone.clone(),
        locality,
        route,
        clusters,
    })
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

fn locality(v: &Value) -> LocalityName {
    LocalityName {
        region: text(&v["region"]),
        zone: text(&v["zone"]),
        subzone: text(&v["sub_zone"]),
    }
}

/// Every entry of the named lists of a dump, each unwrapped from `field`.
fn entries<'a>(dump: &'a Value, lists: &[&str], field: &str) -> Vec<&'a Value> {
    lists
        .iter()
        .filter_map(|l| dump.get(*l).and_then(Value::as_array))
        .flatten()
        .map(|e| &e[field])
        .collect()
}

fn find_route(dump: &Value, key: RouteKey<'_>) -> Result<RouteEntry, DumpError> {
    let config = entries(
        dump,
        &["static_route_configs", "dynamic_route_configs"],
        "route_config",
    )
    .into_iter()
    .find(|r| r["name"] == key.route_config)
    .ok_or_else(|| DumpError(format!("no route configuration '{}'", key.route_config)))?;
    let host = config["virtual_hosts"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|h| h["name"] == key.virtual_host)
        .ok_or_else(|| {
            DumpError(format!(
                "route configuration '{}' has no virtual host '{}'",
                key.route_config, key.virtual_host
            ))
        })?;
    let route = host["routes"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["name"].as_str().unwrap_or_default() == key.name)
        .ok_or_else(|| {
            DumpError(format!(
                "virtual host '{}' has no route named '{}'",
                key.virtual_host, key.name
            ))
        })?;
    let action = if let Some(status) = route["direct_response"]["status"].as_u64() {
        RouteAction::Direct {
            status: u16::try_from(status).unwrap_or(u16::MAX),
        }
    } else if let Some(c) = route["route"]["cluster"].as_str() {
        RouteAction::Cluster {
            cluster: c.to_owned(),
        }
    } else if let Some(list) = route["route"]["weighted_clusters"]["clusters"].as_array() {
        RouteAction::Weighted {
            clusters: list
                .iter()
                .map(|c| WeightedCluster {
                    name: text(&c["name"]),
                    weight: c["weight"]
                        .as_u64()
                        .and_then(|w| u32::try_from(w).ok())
                        .unwrap_or(0),
                })
                .collect(),
        }
    } else {
        return Err(DumpError(format!(
            "route '{}' neither forwards nor answers directly",
            key.name
        )));
    };
    Ok(RouteEntry {
        route_config: key.route_config.to_owned(),
        virtual_host: key.virtual_host.to_owned(),
        name: key.name.to_owned(),
        virtual_service: None,
        action,
    })
}

fn find_cluster<'a>(dump: &'a Value, name: &str) -> Option<&'a Value> {
    entries(
        dump,
        &["static_clusters", "dynamic_active_clusters"],
        "cluster",
    )
    .into_iter()
    .find(|c| c["name"] == name)
}

fn find_load_assignment<'a>(dump: &'a Value, name: &str) -> Option<&'a Value> {
    entries(
        dump,
        &["static_endpoint_configs", "dynamic_endpoint_configs"],
        "endpoint_config",
    )
    .into_iter()
    .find(|e| e["cluster_name"] == name)
}

/// Envoy's outlier detection read back into the model's settings (the
/// proto defaults where a field is unset: consecutive_5xx 5, interval
/// 10s, base ejection 30s, max ejection 10%).
fn outlier_settings(o: &Value) -> OutlierSettings {
    let number = |field: &str| o[field].as_u64().and_then(|n| u32::try_from(n).ok());
    let enforced = |field: &str| number(field).unwrap_or(100) > 0;
    let duration = |field: &str, default: u64| {
        o[field]
            .as_str()
            .and_then(|d| parse_duration(d).ok())
            .unwrap_or(crate::model::SimDuration::secs(default))
    };
    let consecutive_5xx = match number("consecutive_5xx") {
        Some(0) => None,
        n if enforced("enforcing_consecutive_5xx") => Some(n.unwrap_or(5)),
        _ => None,
    };
    let consecutive_gateway = number("consecutive_gateway_failure")
        .filter(|n| *n > 0)
        .filter(|_| number("enforcing_consecutive_gateway_failure").unwrap_or(0) > 0);
    OutlierSettings {
        consecutive_5xx,
        consecutive_gateway,
        interval: duration("interval", 10),
        base_ejection_time: duration("base_ejection_time", 30),
        max_ejection_percent: o["max_ejection_percent"].as_i64().unwrap_or(10),
    }
}

fn endpoints(load_assignment: &Value, weighted: bool) -> Vec<EndpointEntry> {
    let mut out = Vec::new();
    for group in load_assignment["endpoints"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let locality = locality(&group["locality"]);
        let priority = group["priority"]
            .as_u64()
            .and_then(|p| u32::try_from(p).ok())
            .unwrap_or(0);
        // Envoy uses locality weights only with locality-weighted balancing.
        let weight = group["load_balancing_weight"]
            .as_u64()
            .and_then(|w| u32::try_from(w).ok())
            .filter(|_| weighted);
        for e in group["lb_endpoints"].as_array().into_iter().flatten() {
            let a = &e["endpoint"]["address"]["socket_address"];
            let address = a["address"]
                .as_str()
                .map(|ip| format!("{ip}:{}", a["port_value"].as_u64().unwrap_or(0)));
            let health = match e["health_status"].as_str().unwrap_or("UNKNOWN") {
                "HEALTHY" | "UNKNOWN" => EdsHealth::Healthy,
                _ => EdsHealth::Unhealthy,
            };
            out.push(EndpointEntry {
                pod: String::new(),
                address,
                locality: locality.clone(),
                priority,
                weight,
                health,
                ejected: false,
                answers: true,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const KEY: RouteKey<'static> = RouteKey {
        route_config: "8080",
        virtual_host: "test.default.svc.cluster.local:8080",
        name: "r",
    };

    fn dump(route: Value, with_eds: bool) -> Value {
        let mut configs = vec![
            json!({"@type": CLUSTERS_DUMP, "dynamic_active_clusters": [
                {"cluster": {"name": "a", "common_lb_config": {"locality_weighted_lb_config": {}}}},
            ]}),
            json!({"@type": ROUTES_DUMP, "dynamic_route_configs": [{"route_config": {
                "name": "8080",
                "virtual_hosts": [{"name": KEY.virtual_host, "routes": [route]}],
            }}]}),
        ];
        if with_eds {
            configs.push(json!({"@type": ENDPOINTS_DUMP, "dynamic_endpoint_configs": [
                {"endpoint_config": {"cluster_name": "a", "endpoints": [{
                    "locality": {"region": "r1", "zone": "z1", "sub_zone": "s1"},
                    "priority": 1,
                    "load_balancing_weight": 7,
                    "lb_endpoints": [
                        {"endpoint": {"address": {"socket_address": {"address": "10.0.0.1", "port_value": 80}}}},
                        {"endpoint": {"address": {"socket_address": {"address": "10.0.0.2", "port_value": 80}}},
                         "health_status": "UNHEALTHY"},
                    ],
                }]}},
            ]}));
        }
        json!({ "configs": configs })
    }

    #[test]
    fn reads_routes_localities_weights_and_health_as_envoy_dumps_them() {
        let route = json!({"name": "r", "route": {"weighted_clusters": {"clusters": [
            {"name": "a", "weight": 90}, {"name": "missing", "weight": 10},
        ]}}});
        let p = from_config_dump(&dump(route, true), &Zone::from("z1"), KEY, &[]).unwrap();
        assert_eq!(
            crate::mesh::proxy_config::action_text(&p.route.action),
            "a 90, missing 10"
        );
        // A route's cluster the proxy lacks is not built (503 NC).
        assert_eq!(p.clusters.len(), 1);
        let e = &p.clusters[0].endpoints;
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].locality.to_string(), "r1/z1/s1");
        assert_eq!((e[0].priority, e[0].weight), (1, Some(7)));
        assert_eq!(e[0].address.as_deref(), Some("10.0.0.1:80"));
        // health_status absent is UNKNOWN, which Envoy treats as healthy.
        assert_eq!(
            (e[0].health, e[1].health),
            (EdsHealth::Healthy, EdsHealth::Unhealthy)
        );
    }

    #[test]
    fn a_dump_without_what_the_comparison_needs_says_what_to_ask_for() {
        let route = json!({"name": "r", "route": {"cluster": "a"}});
        let z = Zone::from("z1");
        let no_eds = from_config_dump(&dump(route.clone(), false), &z, KEY, &[]).unwrap_err();
        assert!(no_eds.0.contains("include_eds"), "{no_eds}");
        let other = RouteKey {
            name: "other",
            ..KEY
        };
        let err = from_config_dump(&dump(route, true), &z, other, &[]).unwrap_err();
        assert!(err.0.contains("no route named 'other'"), "{err}");
        let err = from_config_dump(&json!({}), &z, KEY, &[]).unwrap_err();
        assert!(err.0.contains("configs"), "{err}");
    }
}
