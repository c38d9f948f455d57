//! The cross-check of the load clients' own counters against Istio's
//! `istio_requests_total` (SEMANTICS.md §5): that metric has no zone label,
//! so the zone comes from the workload names (one workload per zone:
//! `test-a`, `loadgen-test-a`, ...), mapped by the harness, which rendered
//! them.

use std::collections::BTreeMap;

use crate::telemetry::promql::{Series, matrix_from_series};
use crate::telemetry::{Outcome, TrafficMatrix, Window};
use crate::zone::Zone;

/// Requests as the client sidecars report them, by workload pair.
pub const ISTIO_BY_WORKLOAD: &str = "sum by (source_workload, destination_workload, response_code) (istio_requests_total{reporter=\"source\"})";

/// The traffic matrix of Istio's counters: a series counts when both
/// workloads map to a zone (or, for errors, the source does); others (the
/// harness's Prometheus, probes) are left out.
pub fn istio_matrix(
    series: &[Series],
    start: f64,
    zones: &BTreeMap<String, Zone>,
) -> TrafficMatrix {
    let relabelled: Vec<Series> = series
        .iter()
        .filter_map(|s| {
            let client = zones.get(s.labels.get("source_workload")?)?;
            let code = s.labels.get("response_code")?.clone();
            let mut labels = BTreeMap::from([
                ("client_zone".to_owned(), client.to_string()),
                ("code".to_owned(), code),
            ]);
            if let Some(server) = s
                .labels
                .get("destination_workload")
                .and_then(|w| zones.get(w))
            {
                labels.insert("serving_zone".to_owned(), server.to_string());
            }
            Some(Series {
                labels,
                samples: s.samples.clone(),
            })
        })
        .collect();
    matrix_from_series(&relabelled, start)
}

/// Share of a zone's successful requests served outside it.
fn cross_share(m: &TrafficMatrix, zone: &Zone, w: Window) -> Option<f64> {
    let outcomes = m.outcomes(zone, w);
    let ok: u64 = outcomes
        .iter()
        .filter(|(o, _)| o.is_success())
        .map(|(_, n)| n)
        .sum();
    let away: u64 = outcomes
        .iter()
        .filter(|(o, _)| matches!(o, Outcome::Served { zone: z, .. } if z != zone))
        .map(|(_, n)| n)
        .sum();
    (ok > 0).then(|| away as f64 / ok as f64)
}

/// Where the two sources disagree by more than `tolerance` (a share) on a
/// zone's cross-zone share over `w`, or one of them has no data for it.
pub fn disagreements(
    clients: &TrafficMatrix,
    istio: &TrafficMatrix,
    zones: &[Zone],
    w: Window,
    tolerance: f64,
) -> Vec<String> {
    zones
        .iter()
        .filter_map(|z| match (cross_share(clients, z, w), cross_share(istio, z, w)) {
            (Some(a), Some(b)) if (a - b).abs() <= tolerance => None,
            (Some(a), Some(b)) => Some(format!(
                "{z}: cross-zone share {:.1}% by the load clients, {:.1}% by istio_requests_total",
                a * 100.0,
                b * 100.0
            )),
            (a, b) => Some(format!(
                "{z}: no successful requests seen by {}",
                match (a, b) {
                    (None, None) => "either source",
                    (None, _) => "the load clients",
                    _ => "istio_requests_total",
                }
            )),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(src: &str, dst: &str, code: &str, values: &[f64]) -> Series {
        Series {
            labels: BTreeMap::from([
                ("source_workload".to_owned(), src.to_owned()),
                ("destination_workload".to_owned(), dst.to_owned()),
                ("response_code".to_owned(), code.to_owned()),
            ]),
            samples: values
                .iter()
                .enumerate()
                .map(|(i, v)| (1000.0 + i as f64, *v))
                .collect(),
        }
    }

    fn zones() -> BTreeMap<String, Zone> {
        BTreeMap::from([
            ("loadgen-test-a".to_owned(), Zone("us-east-1a".into())),
            ("loadgen-test-c".to_owned(), Zone("us-east-1c".into())),
            ("test-a".to_owned(), Zone("us-east-1a".into())),
            ("test-c".to_owned(), Zone("us-east-1c".into())),
        ])
    }

    #[test]
    fn workload_names_become_zones_and_strangers_are_left_out() {
        let s = vec![
            series("loadgen-test-c", "test-c", "200", &[0.0, 10.0, 20.0]),
            series("loadgen-test-c", "test-a", "200", &[0.0, 5.0, 10.0]),
            series("prometheus", "test-a", "200", &[0.0, 99.0, 199.0]),
            series("loadgen-test-c", "unknown", "503", &[0.0, 1.0, 2.0]),
        ];
        let m = istio_matrix(&s, 1000.0, &zones());
        let c = Zone("us-east-1c".into());
        let o = m.outcomes(&c, Window { from: 0, to: 3 });
        assert_eq!(o.values().sum::<u64>(), 32, "{o:?}");
        assert_eq!(
            o.get(&Outcome::Served {
                zone: Zone("us-east-1a".into()),
                canary: false
            }),
            Some(&10)
        );
        assert!(
            m.outcomes(&Zone("us-east-1a".into()), Window { from: 0, to: 3 })
                .is_empty()
        );
    }

    #[test]
    fn disagreement_beyond_the_tolerance_is_reported() {
        let z = zones();
        let clients = istio_matrix(
            &[series("loadgen-test-c", "test-c", "200", &[0.0, 100.0])],
            1000.0,
            &z,
        );
        let same = istio_matrix(
            &[series("loadgen-test-c", "test-c", "200", &[0.0, 90.0])],
            1000.0,
            &z,
        );
        let crossing = istio_matrix(
            &[
                series("loadgen-test-c", "test-c", "200", &[0.0, 50.0]),
                series("loadgen-test-c", "test-a", "200", &[0.0, 50.0]),
            ],
            1000.0,
            &z,
        );
        let c = [Zone("us-east-1c".into())];
        let w = Window { from: 0, to: 2 };
        assert!(disagreements(&clients, &same, &c, w, 0.05).is_empty());
        let d = disagreements(&clients, &crossing, &c, w, 0.05);
        assert_eq!(d.len(), 1);
        assert!(
            d[0].contains("0.0% by the load clients, 50.0% by istio"),
            "{d:?}"
        );
        let none = disagreements(&clients, &TrafficMatrix::default(), &c, w, 0.05);
        assert!(
            none[0].contains("no successful requests seen by istio_requests_total"),
            "{none:?}"
        );
    }
}
