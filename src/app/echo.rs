//! `zonechaos echo`: the backend pod. Every path but `/healthz` and
//! `/metrics` answers with the pod's identity (zone, pod, rollout,
//! version) as JSON and as `x-zonechaos-*` headers, after an optional
//! latency, failing a given fraction of requests with 503.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderName, HeaderValue};
use hyper::{Request, Response, StatusCode};
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::metrics::{self, CounterFamily};
use super::{Body, POD_HEADER, VERSION_HEADER, ZONE_HEADER, serve, text};

/// Name of the echo request counter.
pub const REQUESTS_METRIC: &str = "zonechaos_echo_requests_total";

/// What an echo server is and how it misbehaves.
#[derive(Debug, Clone, PartialEq)]
pub struct EchoConfig {
    /// Zone label value (`us-east-1a`).
    pub zone: String,
    /// Pod name.
    pub pod: String,
    /// Rollout name.
    pub rollout: String,
    /// Version (image tag, revision).
    pub version: String,
    /// Fraction of answers that are 503, in `[0, 1]`.
    pub fail_rate: f64,
    /// Added before every echo answer.
    pub latency: Duration,
    /// `/healthz` answers 503 until this much time has passed since start.
    pub ready_after: Duration,
}

/// Shared state of one echo server.
#[derive(Debug)]
pub struct Echo {
    config: EchoConfig,
    started: Instant,
    /// Seed of the failure sequence, from the pod name.
    seed: u64,
    /// Echo requests so far (drives the failure sequence).
    served: AtomicU64,
    ok_body: Bytes,
    fail_body: Bytes,
    headers: [(HeaderName, HeaderValue); 3],
    requests: Mutex<CounterFamily>,
}

/// A header value from user input is invalid (control characters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidHeader {
    /// Which field (`zone`, `pod`, `version`).
    pub field: &'static str,
}

impl std::fmt::Display for InvalidHeader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "--{} cannot be sent as an HTTP header value (control characters)",
            self.field
        )
    }
}

impl std::error::Error for InvalidHeader {}

impl Echo {
    /// The state for `config`, started now.
    pub fn new(config: EchoConfig) -> Result<Echo, InvalidHeader> {
        let header = |field: &'static str, value: &str| {
            HeaderValue::from_str(value).map_err(|_| InvalidHeader { field })
        };
        let headers = [
            (
                HeaderName::from_static(ZONE_HEADER),
                header("zone", &config.zone)?,
            ),
            (
                HeaderName::from_static(POD_HEADER),
                header("pod", &config.pod)?,
            ),
            (
                HeaderName::from_static(VERSION_HEADER),
                header("version", &config.version)?,
            ),
        ];
        // Field order as documented: zone, pod, rollout, version[, error].
        let identity = |error: Option<&str>| {
            let json = |text: &str| serde_json::Value::from(text).to_string();
            let mut text = format!(
                "{{\"zone\":{},\"pod\":{},\"rollout\":{},\"version\":{}",
                json(&config.zone),
                json(&config.pod),
                json(&config.rollout),
                json(&config.version)
            );
            if let Some(error) = error {
                text.push_str(&format!(",\"error\":{}", json(error)));
            }
            text.push_str("}\n");
            Bytes::from(text)
        };
        let ok_body = identity(None);
        let fail_body = identity(Some("injected failure (--fail-rate)"));
        let mut requests = CounterFamily::new(
            REQUESTS_METRIC,
            "Echo requests answered, by status code (healthz and metrics not counted).",
        );
        // Export the 200 series from the start so that rate() has a base.
        requests.add(Self::labels(&config, 200), 0);
        Ok(Echo {
            seed: fnv1a(config.pod.as_bytes()),
            config,
            started: Instant::now(),
            served: AtomicU64::new(0),
            ok_body,
            fail_body,
            headers,
            requests: Mutex::new(requests),
        })
    }

    fn labels(config: &EchoConfig, code: u16) -> metrics::Labels {
        vec![
            ("zone", config.zone.clone()),
            ("pod", config.pod.clone()),
            ("rollout", config.rollout.clone()),
            ("version", config.version.clone()),
            ("code", code.to_string()),
        ]
    }

    /// The configuration.
    pub fn config(&self) -> &EchoConfig {
        &self.config
    }

    /// True once `--ready-after` has passed.
    pub fn ready(&self) -> bool {
        self.started.elapsed() >= self.config.ready_after
    }

    /// The Prometheus text exposition.
    pub fn render_metrics(&self) -> String {
        let mut out = String::new();
        self.requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .render(&mut out);
        out
    }

    /// Answers one request.
    pub async fn handle<B>(&self, req: Request<B>) -> Response<Body> {
        match req.uri().path() {
            "/healthz" => {
                if self.ready() {
                    text(StatusCode::OK, "text/plain; charset=utf-8", "ok\n")
                } else {
                    text(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "text/plain; charset=utf-8",
                        "not ready\n",
                    )
                }
            }
            "/metrics" => text(StatusCode::OK, metrics::CONTENT_TYPE, self.render_metrics()),
            _ => self.echo().await,
        }
    }

    async fn echo(&self) -> Response<Body> {
        if !self.config.latency.is_zero() {
            tokio::time::sleep(self.config.latency).await;
        }
        let n = self.served.fetch_add(1, Ordering::Relaxed);
        let fail = fails(self.seed, n, self.config.fail_rate);
        let (status, body) = if fail {
            (StatusCode::SERVICE_UNAVAILABLE, self.fail_body.clone())
        } else {
            (StatusCode::OK, self.ok_body.clone())
        };
        self.requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .inc(Self::labels(&self.config, status.as_u16()));
        let mut response = text(status, "application/json", body);
        for (name, value) in &self.headers {
            response.headers_mut().insert(name.clone(), value.clone());
        }
        response
    }
}

/// Serves `echo` on `listener` until `stop` changes, then drains: requests
/// in flight finish (bounded by the latency plus five seconds).
pub async fn run(echo: Arc<Echo>, listener: TcpListener, stop: watch::Receiver<bool>) {
    let drain_limit = echo.config.latency + Duration::from_secs(5);
    let handler = move |req: Request<Incoming>| {
        let echo = Arc::clone(&echo);
        async move { echo.handle(req).await }
    };
    serve(listener, handler, stop, drain_limit).await;
}

/// Whether echo request number `n` fails: a deterministic pseudo-random
/// sequence (SplitMix64 of seed and `n`), uniform in `[0, 1)`, compared
/// with `rate`. Rate 0 never fails, rate 1 always does.
pub fn fails(seed: u64, n: u64, rate: f64) -> bool {
    if rate <= 0.0 {
        return false;
    }
    if rate >= 1.0 {
        return true;
    }
    let unit = (splitmix64(seed ^ n) >> 11) as f64 / (1u64 << 53) as f64;
    unit < rate
}

fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, b| {
        (hash ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> EchoConfig {
        EchoConfig {
            zone: "us-east-1a".into(),
            pod: "web-a-0".into(),
            rollout: "web-a".into(),
            version: "v1".into(),
            fail_rate: 0.0,
            latency: Duration::ZERO,
            ready_after: Duration::ZERO,
        }
    }

    #[test]
    fn failure_sequence_matches_rate() {
        assert!((0..1000).all(|n| !fails(7, n, 0.0)));
        assert!((0..1000).all(|n| fails(7, n, 1.0)));
        for rate in [0.05, 0.2, 0.5, 0.9] {
            let failed = (0..20_000).filter(|n| fails(42, *n, rate)).count();
            let observed = failed as f64 / 20_000.0;
            assert!((observed - rate).abs() < 0.02, "rate {rate}: {observed}");
        }
        // Deterministic, and different pods fail on different requests.
        let a: Vec<bool> = (0..64).map(|n| fails(fnv1a(b"a"), n, 0.5)).collect();
        let again: Vec<bool> = (0..64).map(|n| fails(fnv1a(b"a"), n, 0.5)).collect();
        let b: Vec<bool> = (0..64).map(|n| fails(fnv1a(b"b"), n, 0.5)).collect();
        assert_eq!(a, again);
        assert_ne!(a, b);
    }

    #[test]
    fn identity_body_is_json_with_escaping() {
        let mut cfg = config();
        cfg.rollout = "we\"b".into();
        let echo = Echo::new(cfg).unwrap();
        assert!(
            echo.ok_body
                .starts_with(br#"{"zone":"us-east-1a","pod":"web-a-0","#)
        );
        let body: serde_json::Value = serde_json::from_slice(&echo.ok_body).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"zone": "us-east-1a", "pod": "web-a-0", "rollout": "we\"b", "version": "v1"})
        );
        let fail: serde_json::Value = serde_json::from_slice(&echo.fail_body).unwrap();
        assert_eq!(fail["zone"], "us-east-1a");
        assert!(fail["error"].is_string());
    }

    #[test]
    fn control_characters_in_header_fields_are_rejected() {
        let mut cfg = config();
        cfg.pod = "bad\npod".into();
        assert_eq!(Echo::new(cfg).unwrap_err(), InvalidHeader { field: "pod" });
    }

    #[test]
    fn metrics_start_with_a_zero_200_series() {
        let echo = Echo::new(config()).unwrap();
        let text = echo.render_metrics();
        assert!(text.contains(
            "zonechaos_echo_requests_total{zone=\"us-east-1a\",pod=\"web-a-0\",rollout=\"web-a\",version=\"v1\",code=\"200\"} 0\n"
        ), "{text}");
    }

    #[test]
    fn not_ready_until_ready_after() {
        let mut cfg = config();
        cfg.ready_after = Duration::from_secs(3600);
        assert!(!Echo::new(cfg).unwrap().ready());
        assert!(Echo::new(config()).unwrap().ready());
    }
}
