//! Measurements from the load clients' flight records (issue 13): failover
//! latency to the millisecond, requests lost exactly, and request latency
//! quantiles, plus the incremental pull of `/records` pages. One code path
//! for every real backend: only the base URL differs (a local address, or
//! the API server's pod proxy on kind).

use crate::app::recorder::{PageHeader, Record, parse_page};

/// Success is "sustained" once this much send time (milliseconds) passes
/// with nothing but successes: at 50 rps, 50 requests in a row.
pub const SUSTAINED_MS: f64 = 1000.0;

/// A failover as the records tell it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeasuredFailover {
    /// Milliseconds from the loss to the end of the last failed request
    /// before sustained success (0 when nothing failed).
    pub latency_ms: f64,
    /// Requests that failed between the loss and sustained success,
    /// counting those in flight at the loss.
    pub lost: u64,
    /// False when success never became sustained before `until_ms`: the
    /// latency is then a lower bound (to `until_ms`).
    pub recovered: bool,
}

/// The failover after a loss at `loss_ms` (wall clock, ms since the Unix
/// epoch), from the records of requests that ended after it and were sent
/// before `until_ms`. Sustained success begins at the first request from
/// which every request sent within [`SUSTAINED_MS`] succeeded, and the
/// records reach that far.
pub fn measure_failover(records: &[Record], loss_ms: f64, until_ms: f64) -> MeasuredFailover {
    let mut after: Vec<&Record> = records
        .iter()
        .filter(|r| r.ended_ms() >= loss_ms && (r.sent_ms as f64) < until_ms)
        .collect();
    after.sort_by_key(|r| (r.sent_ms, r.offset_us, r.seq));
    let sustained_from = (0..after.len()).find(|&k| {
        let begin = after[k].sent_ms as f64;
        let span = after[k..]
            .iter()
            .take_while(|r| (r.sent_ms as f64) < begin + SUSTAINED_MS);
        let all_ok = span.clone().all(|r| r.is_success());
        let covered = after[k..]
            .iter()
            .any(|r| r.sent_ms as f64 >= begin + SUSTAINED_MS)
            || until_ms - begin >= SUSTAINED_MS;
        all_ok && covered
    });
    let before = &after[..sustained_from.unwrap_or(after.len())];
    let failed: Vec<&&Record> = before.iter().filter(|r| !r.is_success()).collect();
    let latency_ms = match sustained_from {
        Some(_) => failed
            .iter()
            .map(|r| r.ended_ms() - loss_ms)
            .fold(0.0, f64::max),
        None => until_ms - loss_ms,
    };
    MeasuredFailover {
        latency_ms: latency_ms.max(0.0),
        lost: failed.len() as u64,
        recovered: sustained_from.is_some(),
    }
}

/// Request latency over a window of send times.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LatencyQuantiles {
    /// Requests with a duration (sent, answered or not).
    pub requests: u64,
    /// Median, milliseconds.
    pub p50_ms: f64,
    /// 99th percentile, milliseconds.
    pub p99_ms: f64,
}

/// p50 and p99 (nearest rank) of the durations of requests sent in
/// `[from_ms, to_ms)`; `None` when there are none. Requests never sent
/// (overload) have no duration and do not count.
pub fn latency_quantiles(records: &[Record], from_ms: f64, to_ms: f64) -> Option<LatencyQuantiles> {
    let mut us: Vec<u64> = records
        .iter()
        .filter(|r| (from_ms..to_ms).contains(&(r.sent_ms as f64)))
        .filter_map(|r| r.duration_us)
        .collect();
    if us.is_empty() {
        return None;
    }
    us.sort_unstable();
    let rank = |q: f64| {
        let k = ((q * us.len() as f64).ceil() as usize).clamp(1, us.len());
        us[k - 1] as f64 / 1000.0
    };
    Some(LatencyQuantiles {
        requests: us.len() as u64,
        p50_ms: rank(0.50),
        p99_ms: rank(0.99),
    })
}

/// One load client's records, pulled page by page as the run goes.
#[derive(Debug, Clone)]
pub struct RecordPuller {
    /// `http://host:port` of the load client (no path).
    base: String,
    next: u64,
    /// Everything pulled so far, in completion order.
    pub records: Vec<Record>,
    /// Records the client's ring dropped before they were pulled.
    pub missed: u64,
    /// The last page header seen.
    pub last: Option<PageHeader>,
}

impl RecordPuller {
    /// A puller for the load client at `base` (`http://127.0.0.1:9000`).
    pub fn new(base: impl Into<String>) -> RecordPuller {
        RecordPuller {
            base: base.into().trim_end_matches('/').to_owned(),
            next: 0,
            records: Vec::new(),
            missed: 0,
            last: None,
        }
    }

    /// The URL of the next page.
    pub fn next_url(&self) -> String {
        format!("{}/records?since={}", self.base, self.next)
    }

    /// Takes one page's text; returns how many records it added.
    pub fn accept(&mut self, page: &str) -> Result<usize, String> {
        let (header, records) = parse_page(page)?;
        self.missed += header.missed;
        self.next = header.next;
        self.last = Some(header);
        let n = records.len();
        self.records.extend(records);
        Ok(n)
    }

    /// Pulls every page there is now (until one comes back empty).
    pub async fn pull(&mut self, http: &reqwest::Client) -> Result<usize, String> {
        let mut added = 0;
        loop {
            let url = self.next_url();
            let response = http
                .get(&url)
                .send()
                .await
                .map_err(|e| format!("GET {url}: {e}"))?;
            let status = response.status();
            let text = response
                .text()
                .await
                .map_err(|e| format!("GET {url}: {e}"))?;
            if !status.is_success() {
                return Err(format!("GET {url}: {status}: {}", text.trim()));
            }
            match self.accept(&text)? {
                0 => return Ok(added),
                n => added += n,
            }
        }
    }
}

/// Every load client's records of a run, as the runner reads them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FlightRecords {
    /// The run's time 0 on the wall clock, milliseconds since the Unix
    /// epoch: a chaos step at run time `t` ms happened at `origin_ms + t`.
    pub origin_ms: f64,
    /// Per client zone, every record pulled.
    pub by_zone: std::collections::BTreeMap<crate::zone::Zone, Vec<Record>>,
    /// Records the clients' rings dropped before they were pulled.
    pub missed: u64,
}

/// The harness's side of the recorders: one [`RecordPuller`] per load
/// client, driven from the synchronous runner by a small current-thread
/// runtime (as [`super::query::PromQuery`] is).
pub struct FlightLog {
    pullers: Vec<(crate::zone::Zone, RecordPuller)>,
    http: reqwest::Client,
    runtime: tokio::runtime::Runtime,
}

impl std::fmt::Debug for FlightLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlightLog")
            .field("clients", &self.pullers.len())
            .finish()
    }
}

impl FlightLog {
    /// Pullers for load clients at `clients` (zone, `http://host:port`);
    /// every request gives up after `timeout`.
    pub fn new(
        clients: Vec<(crate::zone::Zone, String)>,
        timeout: std::time::Duration,
    ) -> Result<FlightLog, String> {
        let (http, runtime) = super::query::blocking_http("/records", timeout)?;
        Ok(FlightLog {
            pullers: clients
                .into_iter()
                .map(|(zone, base)| (zone, RecordPuller::new(base)))
                .collect(),
            http,
            runtime,
        })
    }

    /// Pulls what every client has recorded since the last pull.
    pub fn pull(&mut self) -> Result<(), String> {
        for (_, p) in &mut self.pullers {
            self.runtime.block_on(p.pull(&self.http))?;
        }
        Ok(())
    }

    /// Everything pulled so far, with the run's origin.
    pub fn records(&self, origin_ms: f64) -> FlightRecords {
        let mut out = FlightRecords {
            origin_ms,
            ..FlightRecords::default()
        };
        for (zone, p) in &self.pullers {
            out.by_zone
                .entry(zone.clone())
                .or_default()
                .extend(p.records.iter().cloned());
            out.missed += p.missed;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A request sent at `sent_ms` taking `ms`, with status `status`.
    fn req(seq: u64, sent_ms: u64, ms: u64, status: u16) -> Record {
        Record {
            seq,
            sent_ms,
            offset_us: sent_ms * 1000,
            duration_us: Some(ms * 1000),
            status,
            error: (status == 0).then(|| "connect".to_owned()),
            zone: None,
            pod: None,
            flags: None,
        }
    }

    /// 50 rps from t=0 to t=5 s; requests sent in `[fail_from, fail_to)`
    /// fail (taking 3 ms), the rest succeed in 2 ms.
    fn run(fail_from: u64, fail_to: u64) -> Vec<Record> {
        (0..250)
            .map(|i| {
                let t = i * 20;
                let ok = !(fail_from..fail_to).contains(&t);
                req(i, t, if ok { 2 } else { 3 }, if ok { 200 } else { 503 })
            })
            .collect()
    }

    #[test]
    fn failover_ends_with_the_last_failure_before_sustained_success() {
        // Loss at 1000 ms; requests sent 1000..1500 fail: 25 lost, the
        // last sent at 1480 ends at 1483.
        let m = measure_failover(&run(1000, 1500), 1000.0, 5000.0);
        assert_eq!(m.lost, 25);
        assert!(m.recovered);
        assert!((m.latency_ms - 483.0).abs() < 1e-9, "{m:?}");
    }

    #[test]
    fn a_short_success_run_inside_the_failures_is_not_sustained() {
        let mut records = run(1000, 2500);
        // One success at 1600 and a few after it: not a second of them.
        for r in records
            .iter_mut()
            .filter(|r| (1600..1700).contains(&r.sent_ms))
        {
            r.status = 200;
        }
        let m = measure_failover(&records, 1000.0, 5000.0);
        assert_eq!(m.lost, 75 - 5);
        assert!((m.latency_ms - 1483.0).abs() < 1e-9, "{m:?}");
    }

    #[test]
    fn requests_in_flight_at_the_loss_count_and_nothing_failing_is_zero() {
        let mut records = run(0, 0);
        // Sent before the loss, failed after it: lost.
        records.push(req(999, 990, 40, 0));
        let m = measure_failover(&records, 1000.0, 5000.0);
        assert_eq!(m.lost, 1);
        assert!((m.latency_ms - 30.0).abs() < 1e-9, "{m:?}");
        let m = measure_failover(&run(0, 0), 1000.0, 5000.0);
        assert_eq!((m.lost, m.latency_ms, m.recovered), (0, 0.0, true));
    }

    #[test]
    fn no_recovery_is_a_lower_bound_to_the_end() {
        let m = measure_failover(&run(1000, 5000), 1000.0, 5000.0);
        assert!(!m.recovered);
        assert_eq!(m.lost, 200);
        assert_eq!(m.latency_ms, 4000.0);
        // Success in the last 0.5 s only: not a sustained second yet.
        let m = measure_failover(&run(1000, 4500), 1000.0, 5000.0);
        assert!(!m.recovered);
    }

    #[test]
    fn quantiles_are_nearest_rank_over_the_window() {
        let records: Vec<Record> = (1..=100).map(|i| req(i, i * 10, i, 200)).collect();
        let q = latency_quantiles(&records, 0.0, 2000.0).unwrap();
        assert_eq!((q.requests, q.p50_ms, q.p99_ms), (100, 50.0, 99.0));
        let q = latency_quantiles(&records, 10.0, 110.0).unwrap();
        assert_eq!((q.requests, q.p50_ms, q.p99_ms), (10, 5.0, 10.0));
        assert_eq!(latency_quantiles(&records, 5000.0, 6000.0), None);
    }

    #[test]
    fn the_puller_follows_pages_and_counts_what_it_missed() {
        use crate::app::recorder::FlightRecorder;
        let ring = FlightRecorder::new(4);
        let mut p = RecordPuller::new("http://127.0.0.1:1/");
        assert_eq!(p.next_url(), "http://127.0.0.1:1/records?since=0");
        for t in 0..3 {
            ring.push(req(0, t, 1, 200));
        }
        assert_eq!(p.accept(&ring.page(0, 100)).unwrap(), 3);
        for t in 3..9 {
            ring.push(req(0, t, 1, 200));
        }
        assert_eq!(p.next_url(), "http://127.0.0.1:1/records?since=3");
        assert_eq!(p.accept(&ring.page(3, 100)).unwrap(), 4);
        assert_eq!(p.missed, 2, "seq 3 and 4 were overwritten");
        let seqs: Vec<u64> = p.records.iter().map(|r| r.seq).collect();
        assert_eq!(seqs, [0, 1, 2, 5, 6, 7, 8]);
    }
}
