//! The traffic matrix from Prometheus: the load clients' counters
//! `zonechaos_requests_total{client_zone, serving_zone, code}` scraped every
//! second, turned back into per-second counts. Empty answers are "no data":
//! the matrix stays empty and every assertion fails closed.

use std::collections::BTreeMap;

use crate::telemetry::{Outcome, TrafficMatrix};
use crate::zone::Zone;

/// The query the matrix is built from; printed in the JSON report so a user
/// can paste it into their own Prometheus.
pub const REQUESTS_BY_ZONE: &str =
    "sum by (client_zone, serving_zone, code) (zonechaos_requests_total)";

/// Per-second success share of one client zone (for a dashboard).
pub fn success_share_query(client_zone: &str) -> String {
    format!(
        "sum(rate(zonechaos_requests_total{{client_zone=\"{client_zone}\",code=~\"2..\"}}[5s])) / sum(rate(zonechaos_requests_total{{client_zone=\"{client_zone}\"}}[5s]))"
    )
}

/// Cross-check with Istio's own telemetry on real clusters, where each zone
/// has its own workload (`test-a`, `loadgen-a`, ...): zone from the workload
/// name via label_replace (SEMANTICS.md §5: istio_requests_total has no zone label).
pub const ISTIO_REQUESTS_BY_WORKLOAD_ZONE: &str = "sum by (source_zone, destination_zone, response_code) (label_replace(label_replace(rate(istio_requests_total{reporter=\"source\"}[30s]), \"source_zone\", \"$1\", \"source_workload\", \".*-([a-z])$\"), \"destination_zone\", \"$1\", \"destination_workload\", \".*-([a-z])$\"))";

/// One series of a range query: its labels and (unix seconds, value) samples.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Samples in time order.
    pub samples: Vec<(f64, f64)>,
}

/// What a counter series' labels mean.
fn outcome(labels: &BTreeMap<String, String>) -> Option<(Zone, Outcome)> {
    let client = Zone::from(labels.get("client_zone")?.as_str());
    let code: u16 = labels.get("code")?.parse().ok()?;
    let serving = labels
        .get("serving_zone")
        .map(String::as_str)
        .unwrap_or("none");
    let o = if (200..300).contains(&code) && serving != "none" {
        Outcome::Served {
            zone: Zone::from(serving),
            canary: false,
        }
    } else if code == 0 {
        // The client saw no HTTP answer at all (connect failure or timeout at the proxy).
        Outcome::error(0, crate::telemetry::NO_ANSWER)
    } else {
        // Envoy's response flag is not visible to the client.
        Outcome::error(code, "-")
    };
    Some((client, o))
}

/// Turns cumulative counter samples into per-second counts. Second 0 is
/// `start` (unix seconds, the run's start); a counter reset counts from 0.
pub fn matrix_from_series(series: &[Series], start: f64) -> TrafficMatrix {
    let mut m = TrafficMatrix::default();
    for s in series {
        let Some((client, o)) = outcome(&s.labels) else {
            continue;
        };
        let mut prev: Option<f64> = None;
        for &(ts, v) in &s.samples {
            // The first sample of a series that appears after the start holds
            // everything since the client started.
            let delta = match prev {
                None if ts - start > 1.5 => v,
                None => 0.0,
                Some(p) if v >= p => v - p,
                Some(_) => v,
            };
            prev = Some(v);
            if delta <= 0.0 || ts < start {
                continue;
            }
            // A sample covers the second before it: count it in the second
            // holding that interval's midpoint (scrapes are not aligned).
            let second = (ts - 0.5 - start).floor().max(0.0) as u64;
            m.record(second, &client, o.clone(), delta.round() as u64);
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(client: &str, serving: &str, code: &str, samples: &[(f64, f64)]) -> Series {
        Series {
            labels: [
                ("client_zone", client),
                ("serving_zone", serving),
                ("code", code),
            ]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
            samples: samples.to_vec(),
        }
    }

    #[test]
    fn counters_become_per_second_counts() {
        let s = vec![
            series(
                "us-east-1c",
                "us-east-1c",
                "200",
                &[(100.0, 0.0), (101.0, 50.0), (102.0, 100.0), (103.0, 120.0)],
            ),
            series("us-east-1c", "none", "503", &[(102.0, 0.0), (103.0, 30.0)]),
            series(
                "us-east-1c",
                "us-east-1a",
                "200",
                &[(104.0, 40.0), (105.0, 90.0)],
            ),
        ];
        let m = matrix_from_series(&s, 100.0);
        let c = Zone::from("us-east-1c");
        let local = Outcome::Served {
            zone: c.clone(),
            canary: false,
        };
        assert_eq!(
            m.outcomes(&c, crate::telemetry::Window { from: 0, to: 1 })[&local],
            50
        );
        assert_eq!(
            m.outcomes(&c, crate::telemetry::Window { from: 2, to: 3 })[&local],
            20
        );
        assert_eq!(
            m.outcomes(&c, crate::telemetry::Window { from: 2, to: 3 })[&Outcome::error(503, "-")],
            30
        );
        // A series first seen late carries its whole count.
        let a = Outcome::Served {
            zone: Zone::from("us-east-1a"),
            canary: false,
        };
        assert_eq!(
            m.outcomes(&c, crate::telemetry::Window { from: 3, to: 5 })[&a],
            90
        );
    }

    #[test]
    fn resets_and_empty_answers() {
        let s = vec![series(
            "us-east-1a",
            "us-east-1a",
            "200",
            &[(10.0, 0.0), (11.0, 100.0), (12.0, 20.0)],
        )];
        let m = matrix_from_series(&s, 10.0);
        assert_eq!(
            m.total(
                &Zone::from("us-east-1a"),
                crate::telemetry::Window { from: 0, to: 5 }
            ),
            120
        );
        assert_eq!(matrix_from_series(&[], 0.0), TrafficMatrix::default());
    }
}
