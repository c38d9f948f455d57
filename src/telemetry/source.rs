//! Where a backend's traffic matrix comes from, and what that means for
//! reading it: the model's counters are exact; a Prometheus scrape sees a
//! failure only up to one interval (and half a second of sample placement)
//! later. Interval and lag are written here once; the scrape configs and
//! the failover-latency reading both take them from here.

use crate::model::clock::SimDuration;

/// How a scraped matrix is sampled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scrape {
    /// Prometheus' scrape interval.
    pub interval: SimDuration,
}

impl Scrape {
    /// The local backend's Prometheus (and the assertions' 1 s windows).
    pub const LOCAL: Scrape = Scrape {
        interval: SimDuration::secs(1),
    };
    /// The in-cluster Prometheus of the kind and existing backends: the
    /// same 1 s as local, the interval the matrix (1 s range steps) and
    /// the suites' windows assume.
    pub const CLUSTER: Scrape = Scrape {
        interval: SimDuration::secs(1),
    };

    /// The shortest evidence window this scrape can judge: three
    /// intervals, so a window holds at least two whole scrapes between
    /// its edges.
    pub fn shortest_window(self) -> SimDuration {
        SimDuration(self.interval.0.saturating_mul(3))
    }

    /// How long after an event the matrix can still count requests
    /// answered before it: one scrape interval, plus half a second from
    /// counting each sample at its 1 s bucket's midpoint.
    pub fn lag(self) -> SimDuration {
        self.interval + SimDuration::millis(500)
    }

    /// The interval as Prometheus writes it (`1s`).
    pub fn interval_text(self) -> String {
        format!("{}s", self.interval.0 / 1000)
    }
}

/// What a backend's matrix is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TelemetrySource {
    /// The model's own counters: exact and without lag (sim). Its
    /// failover latency is the prediction itself.
    Model,
    /// Real requests counted by real clients and scraped by Prometheus.
    Scraped(Scrape),
}

impl TelemetrySource {
    /// How late a failure may surface in the matrix.
    pub fn lag(self) -> SimDuration {
        match self {
            TelemetrySource::Model => SimDuration::millis(0),
            TelemetrySource::Scraped(s) => s.lag(),
        }
    }

    /// The shortest evidence window the matrix can judge (none for the
    /// model's exact counters).
    pub fn shortest_window(self) -> SimDuration {
        match self {
            TelemetrySource::Model => SimDuration::millis(0),
            TelemetrySource::Scraped(s) => s.shortest_window(),
        }
    }

    /// True for the model's own counters.
    pub fn is_model(self) -> bool {
        self == TelemetrySource::Model
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lag_is_an_interval_and_half_a_second() {
        assert_eq!(Scrape::LOCAL.lag(), SimDuration::millis(1500));
        assert_eq!(Scrape::CLUSTER.lag(), SimDuration::millis(1500));
        assert_eq!(Scrape::CLUSTER.shortest_window(), SimDuration::secs(3));
        assert_eq!(
            TelemetrySource::Model.shortest_window(),
            SimDuration::millis(0)
        );
        assert_eq!(TelemetrySource::Model.lag(), SimDuration::millis(0));
        assert_eq!(Scrape::CLUSTER.interval_text(), "1s");
    }
}
