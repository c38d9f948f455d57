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

/// The harness's own pod labels of a load client in `zone` (the zone's
/// full name). Backends add their `app` label.
pub fn harness_labels(zone: &str) -> Labels {
    [
        (CLIENT_ZONE_LABEL.to_owned(), zone.to_owned()),
        (ROLE_LABEL.to_owned(), LOADGEN_ROLE.to_owned()),
    ]
    .into()
}
