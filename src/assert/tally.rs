//! One count of a client zone's requests over a window, shared by every
//! traffic assertion: totals, successes, where they were served, errors.

use std::collections::BTreeMap;

use crate::assert::Ctx;
use crate::telemetry::{Outcome, TrafficMatrix, Window};
use crate::zone::Zone;

/// A client zone's requests in a window, by outcome.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    outcomes: BTreeMap<Outcome, u64>,
}

impl Tally {
    /// Counts `zone`'s requests in `window` from the assertion's matrix.
    pub fn of(ctx: &Ctx<'_>, zone: &Zone, window: Window) -> Tally {
        Tally::from_matrix(ctx.matrix, zone, window)
    }

    /// Counts `zone`'s requests in `window` of any matrix.
    pub fn from_matrix(matrix: &TrafficMatrix, zone: &Zone, window: Window) -> Tally {
        Tally {
            outcomes: matrix.outcomes(zone, window),
        }
    }

    /// At least one request, and at least `share` of them successful.
    pub fn succeeds(&self, share: f64) -> bool {
        let total = self.total();
        total > 0 && self.successes() as f64 / total as f64 >= share
    }

    /// At least one request, and fewer than `share` of them successful.
    pub fn fails(&self, share: f64) -> bool {
        self.total() > 0 && !self.succeeds(share)
    }

    /// Every request.
    pub fn total(&self) -> u64 {
        self.outcomes.values().sum()
    }

    /// Requests matching `keep`.
    fn count(&self, keep: impl Fn(&Outcome) -> bool) -> u64 {
        self.outcomes
            .iter()
            .filter(|(o, _)| keep(o))
            .map(|(_, n)| n)
            .sum()
    }

    /// Successful requests.
    pub fn successes(&self) -> u64 {
        self.count(Outcome::is_success)
    }

    /// Successes served by a pod in a zone that `pick` accepts.
    pub fn served_where(&self, pick: impl Fn(&Zone) -> bool) -> u64 {
        self.count(|o| o.serving_zone().is_some_and(&pick))
    }

    /// Failed requests by outcome label (`503 UH`, ...).
    pub fn errors(&self) -> BTreeMap<String, u64> {
        self.outcomes
            .iter()
            .filter(|(o, _)| !o.is_success())
            .map(|(o, n)| (o.to_string(), *n))
            .collect()
    }

    /// Successes by serving zone (`served by us-east-1a`) and errors by
    /// label, for evidence and messages.
    pub fn breakdown(&self) -> BTreeMap<String, u64> {
        let mut by = BTreeMap::new();
        for (o, n) in &self.outcomes {
            let key = match o {
                Outcome::Served { zone, .. } => format!("served by {zone}"),
                e => e.to_string(),
            };
            *by.entry(key).or_default() += n;
        }
        by
    }
}

/// `part / whole`, or `empty` when there is nothing to divide.
pub fn share(part: u64, whole: u64, empty: f64) -> f64 {
    if whole == 0 {
        empty
    } else {
        part as f64 / whole as f64
    }
}
