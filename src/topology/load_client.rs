//! The labels the harness gives its load clients, on every backend, so the
//! model's client proxies, kind's loadgen pods and lint's idea of "a client
//! in zone z" select alike (a DestinationRule `workloadSelector` or a
//! `sourceLabels` match sees the same keys everywhere).

use super::labels::Labels;

/// Label every loadgen pod carries with its client zone.
pub const CLIENT_ZONE_LABEL: &str = "zonechaos.dev/client-zone";

/// Label naming a pod's role ([`LOADGEN_ROLE`]).
pub const ROLE_LABEL: &str = "zonechaos.dev/role";

/// [`ROLE_LABEL`] value of the load clients.
pub const LOADGEN_ROLE: &str = "loadgen";

/// The pod labels of a load client in `zone` (the zone's full name) with
/// the backend's `app` label: the suite's `extra` labels, then the
/// harness's, which win (suites may not set them, and the harness selects
/// its own pods by them).
pub fn pod_labels(zone: &str, app: String, extra: &Labels) -> Labels {
    let mut labels = extra.clone();
    labels.extend([
        (CLIENT_ZONE_LABEL.to_owned(), zone.to_owned()),
        (ROLE_LABEL.to_owned(), LOADGEN_ROLE.to_owned()),
        ("app".to_owned(), app),
    ]);
    labels
}
