//! Per-second request counts by client zone and outcome.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use crate::zone::Zone;

/// Flag of a request without any HTTP answer (code 0: the client saw a
/// connect failure or gave up waiting).
pub const NO_ANSWER: &str = "conn";

/// What became of one request.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Outcome {
    /// 2xx from a pod in `zone`.
    Served {
        /// Zone of the serving pod.
        zone: Zone,
        /// Served by a canary pod.
        canary: bool,
    },
    /// An error response with Envoy's response flag.
    Error {
        /// HTTP status.
        code: u16,
        /// Response flag: UH (no healthy upstream), UF (connect failure),
        /// NR (no route), NC (no cluster), or "-" for an app error.
        flag: String,
    },
}

impl Outcome {
    /// 503 with a flag.
    pub fn error(code: u16, flag: &str) -> Outcome {
        Outcome::Error {
            code,
            flag: flag.to_owned(),
        }
    }

    /// True for 2xx.
    pub fn is_success(&self) -> bool {
        matches!(self, Outcome::Served { .. })
    }

    /// Serving zone of a success.
    pub fn serving_zone(&self) -> Option<&Zone> {
        match self {
            Outcome::Served { zone, .. } => Some(zone),
            Outcome::Error { .. } => None,
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Served { zone, canary } => write!(
                f,
                "200 from {zone}{}",
                if *canary { " (canary)" } else { "" }
            ),
            Outcome::Error { code, flag } => write!(f, "{code} {flag}"),
        }
    }
}

/// A time window in whole seconds, `[from, to)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Window {
    /// First second.
    pub from: u64,
    /// One past the last second.
    pub to: u64,
}

/// Counts per second, client zone and outcome.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TrafficMatrix {
    /// `seconds[s][(client zone, outcome)] = count`.
    pub seconds: Vec<BTreeMap<(Zone, Outcome), u64>>,
}

impl TrafficMatrix {
    /// Adds `n` requests at second `s`.
    pub fn record(&mut self, s: u64, client: &Zone, outcome: Outcome, n: u64) {
        let s = usize::try_from(s).unwrap_or(usize::MAX);
        if self.seconds.len() <= s {
            self.seconds.resize_with(s + 1, BTreeMap::new);
        }
        *self.seconds[s]
            .entry((client.clone(), outcome))
            .or_default() += n;
    }

    /// Totals per outcome for one client zone over a window.
    pub fn outcomes(&self, client: &Zone, window: Window) -> BTreeMap<Outcome, u64> {
        let mut out = BTreeMap::new();
        for sec in self.range(window) {
            for ((z, o), n) in sec {
                if z == client {
                    *out.entry(o.clone()).or_default() += n;
                }
            }
        }
        out
    }

    fn range(&self, window: Window) -> &[BTreeMap<(Zone, Outcome), u64>] {
        let len = self.seconds.len() as u64;
        let from = window.from.min(len) as usize;
        let to = window.to.min(len) as usize;
        &self.seconds[from..to.max(from)]
    }

    /// Requests of a client zone over a window.
    pub fn total(&self, client: &Zone, window: Window) -> u64 {
        self.outcomes(client, window).values().sum()
    }

    /// Client zones seen.
    pub fn client_zones(&self) -> Vec<Zone> {
        let mut zones: Vec<Zone> = self
            .seconds
            .iter()
            .flat_map(|s| s.keys().map(|(z, _)| z.clone()))
            .collect();
        zones.sort();
        zones.dedup();
        zones
    }

    /// Number of seconds recorded.
    pub fn len_seconds(&self) -> u64 {
        self.seconds.len() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_and_totals() {
        let mut m = TrafficMatrix::default();
        let a = Zone::from("us-east-1a");
        m.record(
            0,
            &a,
            Outcome::Served {
                zone: a.clone(),
                canary: false,
            },
            10,
        );
        m.record(2, &a, Outcome::error(503, "UH"), 5);
        assert_eq!(m.total(&a, Window { from: 0, to: 3 }), 15);
        assert_eq!(m.total(&a, Window { from: 1, to: 3 }), 5);
        assert_eq!(m.total(&a, Window { from: 5, to: 9 }), 0);
        assert_eq!(
            m.outcomes(&a, Window { from: 0, to: 3 })[&Outcome::error(503, "UH")],
            5
        );
        assert_eq!(m.client_zones(), vec![a]);
    }
}
