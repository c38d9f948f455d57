//! Per-second request counts by client zone and outcome, run-length encoded.

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

/// A row's key: the client's zone and what became of its requests.
pub type RowKey = (Zone, Outcome);

/// One second's counts by (client zone, outcome), sorted by key. A row has
/// a handful of entries, so a sorted vector: a `BTreeMap` node costs about
/// 700 bytes, which for a day of seconds that differ (random draws during
/// a zone loss) made the matrix 57 MB.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Row(Vec<(RowKey, u64)>);

impl Row {
    /// An empty row.
    pub fn new() -> Row {
        Row::default()
    }

    /// Adds `n` to the count of `key` (an entry is kept even for 0).
    pub fn add(&mut self, key: &RowKey, n: u64) {
        match self.0.binary_search_by(|(k, _)| k.cmp(key)) {
            Ok(i) => self.0[i].1 += n,
            Err(i) => self.0.insert(i, (key.clone(), n)),
        }
    }

    /// The entries in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&RowKey, &u64)> {
        self.into_iter()
    }

    /// The keys in order.
    pub fn keys(&self) -> impl Iterator<Item = &RowKey> {
        self.0.iter().map(|(k, _)| k)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// No entries.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'a> IntoIterator for &'a Row {
    type Item = (&'a RowKey, &'a u64);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (RowKey, u64)>,
        fn(&'a (RowKey, u64)) -> (&'a RowKey, &'a u64),
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(k, n)| (k, n))
    }
}

/// Consecutive seconds `[from, to)` that all hold the same counts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Run {
    /// First second.
    pub from: u64,
    /// One past the last second.
    pub to: u64,
    /// The counts of each of its seconds.
    pub row: Row,
}

impl Run {
    fn seconds(&self) -> u64 {
        self.to - self.from
    }
}

/// Counts per second, client zone and outcome, stored run-length encoded:
/// a steady stretch (the same counts every second) is one [`Run`], so
/// memory grows with the number of changes, not with the span (issue 10
/// item 3). The runs cover `[0, len_seconds)` without gaps (a second with
/// no requests holds an empty row) and no two neighbours are equal, so the
/// encoding of a matrix is unique and `==` compares contents.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TrafficMatrix {
    runs: Vec<Run>,
}

impl TrafficMatrix {
    /// Adds `n` requests at second `s`.
    pub fn record(&mut self, s: u64, client: &Zone, outcome: Outcome, n: u64) {
        self.record_span(s, s.saturating_add(1), &[((client.clone(), outcome), n)]);
    }

    /// Adds the same counts to every second of `[from, to)` in one step
    /// (a steady stretch of the simulated data plane).
    pub fn record_span(&mut self, from: u64, to: u64, counts: &[((Zone, Outcome), u64)]) {
        if from >= to || counts.is_empty() {
            return;
        }
        let first = self.split_at(from);
        let last = self.split_at(to);
        for run in &mut self.runs[first..last] {
            for (key, n) in counts {
                run.row.add(key, *n);
            }
        }
        self.merge(first.saturating_sub(1), last + 1);
    }

    /// Makes `s` a run boundary (extending the matrix with an empty run
    /// up to `s` if needed) and returns the index of the run starting there.
    fn split_at(&mut self, s: u64) -> usize {
        let len = self.len_seconds();
        if s >= len {
            if s > len {
                self.runs.push(Run {
                    from: len,
                    to: s,
                    row: Row::new(),
                });
            }
            return self.runs.len();
        }
        let i = self.runs.partition_point(|r| r.to <= s);
        let run = &mut self.runs[i];
        if run.from == s {
            return i;
        }
        let tail = Run {
            from: s,
            to: run.to,
            row: run.row.clone(),
        };
        run.to = s;
        self.runs.insert(i + 1, tail);
        i + 1
    }

    /// Joins equal neighbours among runs `[lo, hi)` (and the run after).
    fn merge(&mut self, lo: usize, hi: usize) {
        let mut i = hi.min(self.runs.len().saturating_sub(1));
        while i > lo {
            if self.runs[i - 1].row == self.runs[i].row {
                let run = self.runs.remove(i);
                self.runs[i - 1].to = run.to;
            }
            i -= 1;
        }
    }

    /// Totals per outcome for one client zone over a window.
    pub fn outcomes(&self, client: &Zone, window: Window) -> BTreeMap<Outcome, u64> {
        let mut out = BTreeMap::new();
        let first = self.runs.partition_point(|r| r.to <= window.from);
        for run in self.runs[first..].iter().take_while(|r| r.from < window.to) {
            let seconds = run.to.min(window.to) - run.from.max(window.from);
            for ((z, o), n) in &run.row {
                if z == client {
                    *out.entry(o.clone()).or_default() += n * seconds;
                }
            }
        }
        out
    }

    /// Requests of a client zone over a window.
    pub fn total(&self, client: &Zone, window: Window) -> u64 {
        self.outcomes(client, window).values().sum()
    }

    /// Client zones seen.
    pub fn client_zones(&self) -> Vec<Zone> {
        let mut zones: Vec<Zone> = self
            .runs
            .iter()
            .flat_map(|r| r.row.keys().map(|(z, _)| z.clone()))
            .collect();
        zones.sort();
        zones.dedup();
        zones
    }

    /// Number of seconds recorded.
    pub fn len_seconds(&self) -> u64 {
        self.runs.last().map_or(0, |r| r.to)
    }

    /// The counts of every second in order (a run's row repeated).
    pub fn per_second(&self) -> impl Iterator<Item = &Row> {
        self.runs
            .iter()
            .flat_map(|r| std::iter::repeat_n(&r.row, r.seconds() as usize))
    }

    /// The stored runs: what the matrix costs in memory.
    pub fn runs(&self) -> &[Run] {
        &self.runs
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

    fn served(z: &str) -> Outcome {
        Outcome::Served {
            zone: Zone::from(z),
            canary: false,
        }
    }

    /// issue 10 item 3: a steady stretch is one run, however long, and
    /// counts the same as second-by-second records.
    #[test]
    fn a_steady_stretch_is_one_run() {
        let a = Zone::from("us-east-1a");
        let mut by_second = TrafficMatrix::default();
        for s in 0..10_000 {
            by_second.record(s, &a, served("us-east-1a"), 50);
        }
        assert_eq!(by_second.runs().len(), 1);
        let mut span = TrafficMatrix::default();
        span.record_span(0, 10_000, &[((a.clone(), served("us-east-1a")), 50)]);
        assert_eq!(span, by_second);
        assert_eq!(span.total(&a, Window { from: 5, to: 20 }), 750);
        assert_eq!(span.len_seconds(), 10_000);
    }

    /// issue 10 item 3: writes into the middle of a run split it, equal
    /// neighbours join again, and the result is what a per-second table
    /// would hold (any write order).
    #[test]
    fn writes_anywhere_keep_the_per_second_contents() {
        let (a, c) = (Zone::from("us-east-1a"), Zone::from("us-east-1c"));
        let mut m = TrafficMatrix::default();
        m.record_span(0, 100, &[((a.clone(), served("us-east-1a")), 5)]);
        m.record(40, &c, Outcome::error(503, "UH"), 2);
        m.record(120, &a, served("us-east-1a"), 5);
        assert_eq!(m.runs().len(), 5, "{:?}", m.runs());
        m.record(40, &c, Outcome::error(503, "UH"), 0);
        let rows: Vec<&Row> = m.per_second().collect();
        assert_eq!(rows.len(), 121);
        assert_eq!(rows[40].len(), 2);
        assert!(rows[100].is_empty() && rows[119].is_empty());
        assert_eq!(rows[120], rows[0]);
        // Undo the difference the other way round: the same contents as
        // writing every second in order.
        let mut flat = TrafficMatrix::default();
        for (s, row) in rows.iter().enumerate() {
            for ((z, o), n) in row.iter() {
                flat.record(s as u64, z, o.clone(), *n);
            }
        }
        assert_eq!(flat, m);
        assert_eq!(m.total(&c, Window { from: 0, to: 200 }), 2);
        assert_eq!(m.total(&a, Window { from: 99, to: 121 }), 10);
    }
}
