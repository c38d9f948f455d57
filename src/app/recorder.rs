//! The load client's flight recorder (issue 13): every request on the
//! record, with its send time (wall clock in milliseconds and a monotonic
//! offset), duration, status, serving zone and pod, and the data plane's
//! response flags where it names them. Records sit in a bounded ring
//! ([`RECORDER_CAPACITY`]); when it is full the oldest go and are counted
//! (`overflow`), and a reader that asks for records already gone is told
//! how many it missed. `GET /records?since=SEQ` serves them as JSON lines:
//! a [`PageHeader`] line, then one [`Record`] per line, in the order the
//! requests finished.

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};

use serde::{Deserialize, Serialize};

/// Records kept: 131,072 (about 44 minutes at 50 rps, 2 minutes at
/// 1,000 rps); a harness pulling every second never comes close.
pub const RECORDER_CAPACITY: usize = 1 << 17;

/// Records per page at most (`max=` may ask for fewer).
pub const PAGE_MAX: usize = 10_000;

/// Header carrying Envoy's response flags (`%RESPONSE_FLAGS%`), added by
/// the configuration the local backend generates.
pub const FLAGS_HEADER: &str = "x-zonechaos-flags";

/// One request, as the load client saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// Position in the ring's stream (0, 1, ...), in order of completion.
    pub seq: u64,
    /// Send time, milliseconds since the Unix epoch.
    pub sent_ms: u64,
    /// Send time, microseconds since the load client started (monotonic).
    pub offset_us: u64,
    /// Microseconds to the answer or the failure; `None` when never sent
    /// (the in-flight cap was reached).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_us: Option<u64>,
    /// HTTP status; 0 when there was no answer.
    pub status: u16,
    /// Why there was no answer (`connect`, `timeout`, `other`, `overload`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The serving zone, when the answer names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    /// The serving pod, when the answer names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod: Option<String>,
    /// The data plane's response flags (`UH`, `UF`, ...), when exposed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flags: Option<String>,
}

impl Record {
    /// A 2xx answer.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// When the request ended, in milliseconds since the Unix epoch
    /// (fractional: the duration has microseconds).
    pub fn ended_ms(&self) -> f64 {
        self.sent_ms as f64 + self.duration_us.unwrap_or(0) as f64 / 1000.0
    }
}

/// The first line of a `/records` page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageHeader {
    /// The `since=` to ask next.
    pub next: u64,
    /// Records at or after the `since=` asked that the ring had already
    /// dropped: this reader never sees them.
    pub missed: u64,
    /// Records the ring has dropped since the start.
    pub overflow: u64,
    /// The ring's size.
    pub capacity: u64,
}

#[derive(Debug)]
struct Ring {
    records: VecDeque<Record>,
    capacity: usize,
    next_seq: u64,
    overflow: u64,
}

/// The bounded ring, shared by the request tasks and the HTTP server.
#[derive(Debug)]
pub struct FlightRecorder {
    ring: Mutex<Ring>,
}

impl FlightRecorder {
    /// An empty recorder keeping at most `capacity` records (at least 1).
    pub fn new(capacity: usize) -> FlightRecorder {
        let capacity = capacity.max(1);
        FlightRecorder {
            ring: Mutex::new(Ring {
                records: VecDeque::with_capacity(capacity.min(4096)),
                capacity,
                next_seq: 0,
                overflow: 0,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Ring> {
        self.ring.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Appends a record (its `seq` is assigned here) and returns its seq.
    pub fn push(&self, mut record: Record) -> u64 {
        let mut ring = self.lock();
        record.seq = ring.next_seq;
        ring.next_seq += 1;
        if ring.records.len() == ring.capacity {
            ring.records.pop_front();
            ring.overflow += 1;
        }
        ring.records.push_back(record);
        ring.next_seq - 1
    }

    /// Up to `max` records from `since` on, and the page header.
    pub fn since(&self, since: u64, max: usize) -> (PageHeader, Vec<Record>) {
        let ring = self.lock();
        let oldest = ring.next_seq - ring.records.len() as u64;
        // A reader ahead of the stream starts at its end.
        let start = since.clamp(oldest, ring.next_seq);
        let missed = start.saturating_sub(since);
        let skip = (start - oldest) as usize;
        let records: Vec<Record> = ring.records.range(skip..).take(max).cloned().collect();
        let header = PageHeader {
            next: start + records.len() as u64,
            missed,
            overflow: ring.overflow,
            capacity: ring.capacity as u64,
        };
        (header, records)
    }

    /// A `/records` page as JSON lines.
    pub fn page(&self, since: u64, max: usize) -> String {
        let (header, records) = self.since(since, max.min(PAGE_MAX));
        let mut out = serde_json::to_string(&header).unwrap_or_default();
        out.push('\n');
        for r in &records {
            out.push_str(&serde_json::to_string(r).unwrap_or_default());
            out.push('\n');
        }
        out
    }
}

/// `since` and `max` from a `/records` query string (`since=12&max=500`);
/// defaults 0 and [`PAGE_MAX`]; an unparsable value is an error naming it.
pub fn parse_query(query: Option<&str>) -> Result<(u64, usize), String> {
    let (mut since, mut max) = (0, PAGE_MAX);
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match k {
            "since" => {
                since = v
                    .parse()
                    .map_err(|_| format!("since={v:?} is not a number"))?
            }
            "max" => {
                max = v
                    .parse()
                    .map_err(|_| format!("max={v:?} is not a number"))?
            }
            _ => return Err(format!("unknown parameter {k:?}: try since=SEQ&max=N")),
        }
    }
    Ok((since, max))
}

/// A parsed `/records` page.
pub fn parse_page(text: &str) -> Result<(PageHeader, Vec<Record>), String> {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header = lines
        .next()
        .ok_or("an empty /records page (no header line)")?;
    let header: PageHeader =
        serde_json::from_str(header).map_err(|e| format!("/records header: {e}"))?;
    let records = lines
        .enumerate()
        .map(|(i, l)| serde_json::from_str(l).map_err(|e| format!("/records line {}: {e}", i + 2)))
        .collect::<Result<Vec<Record>, String>>()?;
    Ok((header, records))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(sent_ms: u64) -> Record {
        Record {
            seq: 0,
            sent_ms,
            offset_us: sent_ms * 1000,
            duration_us: Some(1500),
            status: 200,
            error: None,
            zone: Some("us-east-1a".into()),
            pod: Some("web-a-0".into()),
            flags: None,
        }
    }

    #[test]
    fn pages_follow_on_and_say_where_to_go_next() {
        let r = FlightRecorder::new(10);
        for t in 0..5 {
            assert_eq!(r.push(record(t)), t);
        }
        let (h, page) = r.since(0, 3);
        assert_eq!(page.iter().map(|r| r.seq).collect::<Vec<_>>(), [0, 1, 2]);
        assert_eq!((h.next, h.missed, h.overflow), (3, 0, 0));
        let (h, page) = r.since(h.next, 100);
        assert_eq!(page.iter().map(|r| r.seq).collect::<Vec<_>>(), [3, 4]);
        assert_eq!(h.next, 5);
        // Nothing new: the same place again.
        let (h, page) = r.since(5, 100);
        assert!(page.is_empty());
        assert_eq!(h.next, 5);
    }

    #[test]
    fn a_full_ring_drops_the_oldest_and_counts_them() {
        let r = FlightRecorder::new(3);
        for t in 0..7 {
            r.push(record(t));
        }
        let (h, page) = r.since(0, 100);
        assert_eq!(page.iter().map(|r| r.seq).collect::<Vec<_>>(), [4, 5, 6]);
        assert_eq!((h.next, h.missed, h.overflow, h.capacity), (7, 4, 4, 3));
        // A reader that kept up misses nothing.
        let (h, _) = r.since(5, 100);
        assert_eq!(h.missed, 0);
        // A reader ahead of the stream stays where it is.
        let (h, page) = r.since(9, 100);
        assert!(page.is_empty());
        assert_eq!((h.next, h.missed), (7, 0));
    }

    #[test]
    fn a_page_round_trips_through_its_text() {
        let r = FlightRecorder::new(10);
        r.push(record(1_700_000_000_123));
        let mut failed = record(1_700_000_000_200);
        failed.status = 0;
        failed.error = Some("connect".into());
        failed.zone = None;
        failed.pod = None;
        r.push(failed.clone());
        let (h, records) = parse_page(&r.page(0, 10)).unwrap();
        assert_eq!(h.next, 2);
        assert_eq!(records[1], Record { seq: 1, ..failed });
        assert!(!records[1].is_success() && records[0].is_success());
        assert_eq!(records[0].ended_ms(), 1_700_000_000_124.5);
        assert!(parse_page("").is_err());
        let err = parse_page(&format!("{}\nnot json\n", r.page(0, 0).trim())).unwrap_err();
        assert!(err.contains("line 2"), "{err}");
    }

    #[test]
    fn queries_are_parsed_or_refused_by_name() {
        assert_eq!(parse_query(None), Ok((0, PAGE_MAX)));
        assert_eq!(parse_query(Some("since=12&max=5")), Ok((12, 5)));
        assert!(parse_query(Some("since=x")).unwrap_err().contains("since"));
        assert!(parse_query(Some("from=1")).unwrap_err().contains("from"));
    }
}
