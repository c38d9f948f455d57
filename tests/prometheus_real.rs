//! Runs the real Prometheus binary (Debian package or PATH) with a generated
//! config against a tiny in-test exporter, and reads the counters back as a
//! traffic matrix. Skipped (listed as ignored) when Prometheus is absent,
//! unless ZONECHAOS_REQUIRE_REAL=1 (CI) makes its absence a failure.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use zonechaos::process::{find_binary, free_port};
use zonechaos::telemetry::prometheus::Prometheus;
use zonechaos::telemetry::promql::{REQUESTS_BY_ZONE, matrix_from_series};
use zonechaos::telemetry::{Outcome, Window};
use zonechaos::zone::Zone;

#[path = "common/real.rs"]
mod real;

use real::{Need, test};

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

fn prometheus_scrapes_counters_into_the_matrix() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bin = find_binary("prometheus", repo).expect("gated on Need::Prometheus");
    // An exporter whose counter grows by 10 every 100 ms (100 per second).
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let exporter = listener.local_addr().unwrap();
    let count = Arc::new(AtomicU64::new(0));
    let c = count.clone();
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(Duration::from_millis(100));
            c.fetch_add(10, Ordering::Relaxed);
        }
    });
    let c = count.clone();
    std::thread::spawn(move || {
        for mut s in listener.incoming().flatten() {
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf);
            let body = format!(
                "# TYPE zonechaos_requests_total counter\nzonechaos_requests_total{{client_zone=\"us-east-1a\",serving_zone=\"us-east-1b\",code=\"200\"}} {}\n",
                c.load(Ordering::Relaxed)
            );
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let addr = format!("127.0.0.1:{}", free_port().unwrap())
        .parse()
        .unwrap();
    let start = now();
    let prom =
        Prometheus::start(&bin, dir.path(), addr, &[exporter], &[]).expect("prometheus starts");
    std::thread::sleep(Duration::from_secs(6));
    let series = prom
        .query_range(REQUESTS_BY_ZONE, start, now(), 1.0)
        .expect("query");
    let m = matrix_from_series(&series, start);
    let a = Zone::from("us-east-1a");
    let served = m.outcomes(&a, Window { from: 0, to: 100 });
    let by_b = served
        .get(&Outcome::Served {
            zone: Zone::from("us-east-1b"),
            canary: false,
        })
        .copied()
        .unwrap_or(0);
    // About 100 per second over the seconds scraped (first sample is the baseline).
    assert!(by_b >= 200, "{served:?} from {series:?}");
    drop(prom);
}

fn main() {
    real::run(vec![test(
        "prometheus_scrapes_counters_into_the_matrix",
        &[Need::Prometheus],
        prometheus_scrapes_counters_into_the_matrix,
    )])
}
