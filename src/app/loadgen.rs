//! `zonechaos loadgen`: an open-loop HTTP client. Request `i` starts at
//! `start + i / rps` whether or not earlier ones have finished (no
//! coordinated omission); at most `max_in_flight` run at once, and a
//! request that finds the cap reached is not sent but counted as an error
//! (`code="0"`, `error="overload"`). Each answer is recorded with the zone
//! that served it (`x-zonechaos-zone` header, else the JSON body's `zone`,
//! else `none`) and its status code; transport failures get `code="0"` and
//! `error="connect|timeout|other"`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use http_body_util::{BodyExt, Empty, Limited};
use hyper::Uri;
use hyper::body::{Bytes, Incoming};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::metrics::{self, CounterFamily, DURATION_BUCKETS, HistogramFamily};
use super::recorder::{FLAGS_HEADER, FlightRecorder, RECORDER_CAPACITY, Record, parse_query};
use super::{POD_HEADER, ZONE_HEADER, serve, text};

/// Name of the request counter.
pub const REQUESTS_METRIC: &str = "zonechaos_requests_total";
/// Name of the duration histogram.
pub const DURATION_METRIC: &str = "zonechaos_request_duration_seconds";
/// `serving_zone` when no zone is known (no answer, or an answer without
/// zone information, such as a proxy's own 503).
pub const NO_ZONE: &str = "none";
/// Answers larger than this are read up to here and count as errors.
const MAX_BODY: usize = 1 << 20;
/// How long the metrics server stays up after `--duration` has elapsed.
pub const LINGER: Duration = Duration::from_secs(1);

/// What to load and how hard.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadgenConfig {
    /// The client's zone (`client_zone` label).
    pub zone: String,
    /// `http://host:port/path`.
    pub target: Uri,
    /// Requests started per second.
    pub rps: f64,
    /// Per-request limit (connect, headers and body).
    pub timeout: Duration,
    /// Stop after this long (else at SIGTERM/SIGINT).
    pub duration: Option<Duration>,
    /// Most requests in flight at once.
    pub max_in_flight: usize,
}

impl LoadgenConfig {
    /// How many requests a run of `duration` schedules (`None`: unbounded).
    pub fn planned(&self) -> Option<u64> {
        self.duration
            .map(|d| (d.as_secs_f64() * self.rps).ceil() as u64)
    }

    /// When request `i` starts, after the start (`None`: too far ahead to
    /// represent, i.e. never).
    pub fn offset(&self, i: u64) -> Option<Duration> {
        Duration::try_from_secs_f64(i as f64 / self.rps).ok()
    }
}

/// Why a request got no HTTP answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Failure {
    /// Connection refused, reset while connecting, name not resolved.
    Connect,
    /// No complete answer within `--timeout`.
    Timeout,
    /// Anything else (connection closed mid-answer, oversized body).
    Other,
    /// Not sent: `--max-in-flight` requests were already in flight.
    Overload,
}

impl Failure {
    /// The `error` label value.
    pub fn label(self) -> &'static str {
        match self {
            Failure::Connect => "connect",
            Failure::Timeout => "timeout",
            Failure::Other => "other",
            Failure::Overload => "overload",
        }
    }
}

/// What became of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// An HTTP answer, with the serving zone when it says so.
    Answer {
        /// Status code.
        status: u16,
        /// From the zone header, else the JSON body.
        zone: Option<String>,
    },
    /// No HTTP answer.
    Failed(Failure),
}

/// Counts for the closing summary line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Requests scheduled (sent or overload).
    pub scheduled: u64,
    /// 2xx answers.
    pub success: u64,
    /// Other answers.
    pub http_errors: u64,
    /// Connect failures.
    pub connect: u64,
    /// Timeouts.
    pub timeout: u64,
    /// Other transport failures.
    pub other: u64,
    /// Not sent for the in-flight cap.
    pub overload: u64,
}

impl Summary {
    /// One line: `N requests in T s (R/s): ...`.
    pub fn line(&self, elapsed: Duration) -> String {
        let secs = elapsed.as_secs_f64();
        let rate = if secs > 0.0 {
            self.scheduled as f64 / secs
        } else {
            0.0
        };
        format!(
            "done: {} requests in {secs:.2} s ({rate:.1}/s): {} 2xx, {} other status, \
             {} connect errors, {} timeouts, {} other errors, {} overload",
            self.scheduled,
            self.success,
            self.http_errors,
            self.connect,
            self.timeout,
            self.other,
            self.overload
        )
    }
}

#[derive(Debug)]
struct Inner {
    requests: CounterFamily,
    durations: HistogramFamily,
    summary: Summary,
}

/// The loadgen's metrics, behind one lock so that a scrape is consistent.
#[derive(Debug)]
pub struct LoadgenMetrics {
    zone: String,
    inner: Mutex<Inner>,
}

impl LoadgenMetrics {
    /// Empty metrics for a client in `zone`.
    pub fn new(zone: &str) -> LoadgenMetrics {
        let mut durations = HistogramFamily::new(
            DURATION_METRIC,
            "Duration of requests that were sent, answered or not (overload excluded).",
            &DURATION_BUCKETS,
        );
        durations.touch(vec![("client_zone", zone.to_owned())]);
        LoadgenMetrics {
            zone: zone.to_owned(),
            inner: Mutex::new(Inner {
                requests: CounterFamily::new(
                    REQUESTS_METRIC,
                    "Requests by client zone, serving zone and status code (0: no answer, see error).",
                ),
                durations,
                summary: Summary::default(),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The `zonechaos_requests_total` labels for an outcome.
    pub fn labels(&self, outcome: &Outcome) -> metrics::Labels {
        let client = ("client_zone", self.zone.clone());
        match outcome {
            Outcome::Answer { status, zone } => vec![
                client,
                (
                    "serving_zone",
                    zone.clone().unwrap_or_else(|| NO_ZONE.to_owned()),
                ),
                ("code", status.to_string()),
            ],
            Outcome::Failed(failure) => vec![
                client,
                ("serving_zone", NO_ZONE.to_owned()),
                ("code", "0".to_owned()),
                ("error", failure.label().to_owned()),
            ],
        }
    }

    /// Records one request; `elapsed` is `None` for requests never sent.
    pub fn record(&self, outcome: &Outcome, elapsed: Option<Duration>) {
        let labels = self.labels(outcome);
        let mut inner = self.lock();
        inner.requests.inc(labels);
        if let Some(elapsed) = elapsed {
            inner.durations.observe(
                vec![("client_zone", self.zone.clone())],
                elapsed.as_secs_f64(),
            );
        }
        let summary = &mut inner.summary;
        summary.scheduled += 1;
        match outcome {
            Outcome::Answer { status, .. } if (200..300).contains(status) => summary.success += 1,
            Outcome::Answer { .. } => summary.http_errors += 1,
            Outcome::Failed(Failure::Connect) => summary.connect += 1,
            Outcome::Failed(Failure::Timeout) => summary.timeout += 1,
            Outcome::Failed(Failure::Other) => summary.other += 1,
            Outcome::Failed(Failure::Overload) => summary.overload += 1,
        }
    }

    /// The counts so far.
    pub fn summary(&self) -> Summary {
        self.lock().summary
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let inner = self.lock();
        let mut out = String::new();
        inner.requests.render(&mut out);
        inner.durations.render(&mut out);
        out
    }
}

/// The serving zone named in a JSON body (`{"zone": "..."}`), if any.
pub fn zone_from_body(body: &[u8]) -> Option<String> {
    field_from_body(body, "zone")
}

/// A non-empty string field of a JSON body, if any.
fn field_from_body(body: &[u8], field: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let v = value.get(field)?.as_str()?;
    (!v.is_empty()).then(|| v.to_owned())
}

/// What an answer said beyond its outcome, for the flight recorder.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    /// The serving pod (pod header, else the JSON body's `pod`).
    pub pod: Option<String>,
    /// The data plane's response flags, when a header names them.
    pub flags: Option<String>,
}

type HttpClient = Client<HttpConnector, Empty<Bytes>>;

fn client() -> HttpClient {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    Client::builder(TokioExecutor::new())
        .pool_timer(TokioTimer::new())
        .pool_idle_timeout(Duration::from_secs(30))
        .build(connector)
}

/// Sends one GET and classifies what comes back.
async fn request(client: &HttpClient, target: Uri, timeout: Duration) -> (Outcome, Identity) {
    let exchange = async {
        let response = client.get(target).await.map_err(|err| {
            if err.is_connect() {
                Failure::Connect
            } else {
                classify(&err)
            }
        })?;
        let status = response.status().as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .filter(|v| !v.is_empty() && *v != "-")
                .map(str::to_owned)
        };
        let (header_zone, header_pod) = (header(ZONE_HEADER), header(POD_HEADER));
        let flags = header(FLAGS_HEADER);
        let body = Limited::new(response.into_body(), MAX_BODY)
            .collect()
            .await
            .map_err(|err| classify(err.as_ref()))?
            .to_bytes();
        let zone = header_zone.or_else(|| zone_from_body(&body));
        let pod = header_pod.or_else(|| field_from_body(&body, "pod"));
        Ok::<_, Failure>((Outcome::Answer { status, zone }, Identity { pod, flags }))
    };
    match tokio::time::timeout(timeout, exchange).await {
        Ok(Ok(answer)) => answer,
        Ok(Err(failure)) => (Outcome::Failed(failure), Identity::default()),
        Err(_) => (Outcome::Failed(Failure::Timeout), Identity::default()),
    }
}

/// `Timeout` when an I/O timeout is somewhere in the error chain, else
/// `Other`.
fn classify(err: &(dyn std::error::Error + 'static)) -> Failure {
    let mut current = Some(err);
    while let Some(e) = current {
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::TimedOut
        {
            return Failure::Timeout;
        }
        current = e.source();
    }
    Failure::Other
}

/// Milliseconds since the Unix epoch, now.
fn wall_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The flight record of one request sent (or not) at `sent`.
fn flight_record(
    sent: (u64, Duration),
    elapsed: Option<Duration>,
    outcome: &Outcome,
    identity: Identity,
) -> Record {
    let (status, error, zone) = match outcome {
        Outcome::Answer { status, zone } => (*status, None, zone.clone()),
        Outcome::Failed(f) => (0, Some(f.label().to_owned()), None),
    };
    Record {
        seq: 0,
        sent_ms: sent.0,
        offset_us: sent.1.as_micros() as u64,
        duration_us: elapsed.map(|d| d.as_micros() as u64),
        status,
        error,
        zone,
        pod: identity.pod,
        flags: identity.flags,
    }
}

/// Runs the schedule until `--duration` has elapsed or `stop` changes,
/// then waits for the requests in flight (each ends within `--timeout`).
/// Every request goes to `metrics` and `recorder`. Returns whether `stop`
/// ended it, and how long scheduling lasted.
pub async fn generate(
    config: &LoadgenConfig,
    metrics: &Arc<LoadgenMetrics>,
    recorder: &Arc<FlightRecorder>,
    mut stop: watch::Receiver<bool>,
) -> (bool, Duration) {
    let client = client();
    let planned = config.planned();
    let in_flight = Arc::new(AtomicUsize::new(0));
    let (open_tx, mut open_rx) = mpsc::channel::<()>(1);
    let start = Instant::now();
    let mut interrupted = false;
    let mut i = 0u64;
    while planned.is_none_or(|n| i < n) {
        let Some(at) = config.offset(i).and_then(|o| start.checked_add(o)) else {
            // Beyond the end of time: nothing more to send.
            let _ = stop.changed().await;
            interrupted = true;
            break;
        };
        tokio::select! {
            biased;
            _ = stop.changed() => {
                interrupted = true;
                break;
            }
            () = tokio::time::sleep_until(at) => {}
        }
        i += 1;
        let sent = (wall_ms(), start.elapsed());
        if in_flight.load(Ordering::Relaxed) >= config.max_in_flight {
            let overload = Outcome::Failed(Failure::Overload);
            metrics.record(&overload, None);
            recorder.push(flight_record(sent, None, &overload, Identity::default()));
            continue;
        }
        in_flight.fetch_add(1, Ordering::Relaxed);
        let (client, target, timeout) = (client.clone(), config.target.clone(), config.timeout);
        let (metrics, recorder, in_flight, open) = (
            Arc::clone(metrics),
            Arc::clone(recorder),
            Arc::clone(&in_flight),
            open_tx.clone(),
        );
        tokio::spawn(async move {
            let begun = Instant::now();
            let (outcome, identity) = request(&client, target, timeout).await;
            let elapsed = begun.elapsed();
            metrics.record(&outcome, Some(elapsed));
            recorder.push(flight_record(sent, Some(elapsed), &outcome, identity));
            in_flight.fetch_sub(1, Ordering::Relaxed);
            drop(open);
        });
    }
    let elapsed = match planned {
        // A full run lasted its duration (the last request starts just
        // before the end).
        Some(_) if !interrupted => config.duration.unwrap_or_default().max(start.elapsed()),
        _ => start.elapsed(),
    };
    drop(open_tx);
    let _ = tokio::time::timeout(config.timeout + Duration::from_secs(1), open_rx.recv()).await;
    (interrupted, elapsed)
}

/// The whole command: serves `/metrics`, `/records` (the flight
/// recorder, [`super::recorder`]) and `/healthz` on `listener`,
/// generates load, prints the summary line, and (after `--duration`, not
/// after a signal) keeps the metrics server up for [`LINGER`] so that a
/// last scrape sees the final counts.
pub async fn run(
    config: LoadgenConfig,
    listener: TcpListener,
    stop: watch::Receiver<bool>,
) -> Summary {
    let metrics = Arc::new(LoadgenMetrics::new(&config.zone));
    let recorder = Arc::new(FlightRecorder::new(RECORDER_CAPACITY));
    let (server_tx, server_rx) = watch::channel(false);
    let handler = {
        let (metrics, recorder) = (Arc::clone(&metrics), Arc::clone(&recorder));
        move |req: hyper::Request<Incoming>| {
            let (metrics, recorder) = (Arc::clone(&metrics), Arc::clone(&recorder));
            async move {
                match req.uri().path() {
                    "/metrics" => text(
                        hyper::StatusCode::OK,
                        metrics::CONTENT_TYPE,
                        metrics.render(),
                    ),
                    "/records" => match parse_query(req.uri().query()) {
                        Ok((since, max)) => text(
                            hyper::StatusCode::OK,
                            "application/jsonl; charset=utf-8",
                            recorder.page(since, max),
                        ),
                        Err(e) => text(
                            hyper::StatusCode::BAD_REQUEST,
                            "text/plain; charset=utf-8",
                            format!("{e}\n"),
                        ),
                    },
                    "/healthz" => text(hyper::StatusCode::OK, "text/plain; charset=utf-8", "ok\n"),
                    _ => text(
                        hyper::StatusCode::NOT_FOUND,
                        "text/plain; charset=utf-8",
                        "not found: try /metrics, /records?since=SEQ or /healthz\n",
                    ),
                }
            }
        }
    };
    let server = tokio::spawn(serve(listener, handler, server_rx, Duration::from_secs(1)));
    let (interrupted, elapsed) = generate(&config, &metrics, &recorder, stop.clone()).await;
    let summary = metrics.summary();
    super::say(&summary.line(elapsed));
    if !interrupted {
        let mut stop = stop;
        tokio::select! {
            _ = stop.changed() => {}
            () = tokio::time::sleep(LINGER) => {}
        }
    }
    let _ = server_tx.send(true);
    let _ = server.await;
    summary
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(rps: f64, duration: Option<f64>) -> LoadgenConfig {
        LoadgenConfig {
            zone: "us-east-1a".into(),
            target: Uri::from_static("http://127.0.0.1:1/"),
            rps,
            timeout: Duration::from_secs(1),
            duration: duration.map(Duration::from_secs_f64),
            max_in_flight: 1000,
        }
    }

    #[test]
    fn schedule_is_fixed_rate() {
        let c = config(100.0, Some(2.0));
        assert_eq!(c.planned(), Some(200));
        assert_eq!(c.offset(0), Some(Duration::ZERO));
        assert_eq!(c.offset(150), Some(Duration::from_millis(1500)));
        // Absurd schedules do not panic.
        assert_eq!(config(1e-300, None).offset(1), None);
        assert_eq!(config(1e-300, None).offset(0), Some(Duration::ZERO));
        assert_eq!(config(0.5, Some(3.0)).planned(), Some(2));
        assert_eq!(config(3.0, None).planned(), None);
        assert_eq!(config(3.0, Some(0.1)).planned(), Some(1));
    }

    #[test]
    fn zone_comes_from_json_body() {
        assert_eq!(
            zone_from_body(br#"{"zone":"us-east-1b","pod":"p"}"#),
            Some("us-east-1b".to_owned())
        );
        assert_eq!(zone_from_body(br#"{"zone":""}"#), None);
        assert_eq!(zone_from_body(br#"{"zone":3}"#), None);
        assert_eq!(zone_from_body(b"no healthy upstream"), None);
        assert_eq!(zone_from_body(b""), None);
    }

    #[test]
    fn outcomes_become_labels_and_counts() {
        let m = LoadgenMetrics::new("us-east-1a");
        let ok = Outcome::Answer {
            status: 200,
            zone: Some("us-east-1b".into()),
        };
        let proxy_503 = Outcome::Answer {
            status: 503,
            zone: None,
        };
        m.record(&ok, Some(Duration::from_millis(3)));
        m.record(&ok, Some(Duration::from_millis(30)));
        m.record(&proxy_503, Some(Duration::from_millis(1)));
        m.record(
            &Outcome::Failed(Failure::Connect),
            Some(Duration::from_millis(1)),
        );
        m.record(
            &Outcome::Failed(Failure::Timeout),
            Some(Duration::from_secs(1)),
        );
        m.record(&Outcome::Failed(Failure::Overload), None);
        let text = m.render();
        for line in [
            "zonechaos_requests_total{client_zone=\"us-east-1a\",serving_zone=\"us-east-1b\",code=\"200\"} 2\n",
            "zonechaos_requests_total{client_zone=\"us-east-1a\",serving_zone=\"none\",code=\"503\"} 1\n",
            "zonechaos_requests_total{client_zone=\"us-east-1a\",serving_zone=\"none\",code=\"0\",error=\"connect\"} 1\n",
            "zonechaos_requests_total{client_zone=\"us-east-1a\",serving_zone=\"none\",code=\"0\",error=\"timeout\"} 1\n",
            "zonechaos_requests_total{client_zone=\"us-east-1a\",serving_zone=\"none\",code=\"0\",error=\"overload\"} 1\n",
            "zonechaos_request_duration_seconds_bucket{client_zone=\"us-east-1a\",le=\"0.005\"} 3\n",
            "zonechaos_request_duration_seconds_bucket{client_zone=\"us-east-1a\",le=\"0.05\"} 4\n",
            "zonechaos_request_duration_seconds_bucket{client_zone=\"us-east-1a\",le=\"1\"} 5\n",
            "zonechaos_request_duration_seconds_bucket{client_zone=\"us-east-1a\",le=\"+Inf\"} 5\n",
            "zonechaos_request_duration_seconds_count{client_zone=\"us-east-1a\"} 5\n",
        ] {
            assert!(text.contains(line), "missing {line:?} in\n{text}");
        }
        assert_eq!(
            m.summary(),
            Summary {
                scheduled: 6,
                success: 2,
                http_errors: 1,
                connect: 1,
                timeout: 1,
                other: 0,
                overload: 1
            }
        );
        assert!(
            m.summary()
                .line(Duration::from_secs(2))
                .starts_with("done: 6 requests in 2.00 s (3.0/s)")
        );
    }

    #[test]
    fn timeouts_are_found_in_error_chains() {
        #[derive(Debug)]
        struct Wrapper(std::io::Error);
        impl std::fmt::Display for Wrapper {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("wrapped")
            }
        }
        impl std::error::Error for Wrapper {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let timed_out = Wrapper(std::io::Error::from(std::io::ErrorKind::TimedOut));
        let reset = Wrapper(std::io::Error::from(std::io::ErrorKind::ConnectionReset));
        assert_eq!(classify(&timed_out), Failure::Timeout);
        assert_eq!(classify(&reset), Failure::Other);
    }
}
