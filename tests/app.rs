//! `zonechaos echo` and `zonechaos loadgen` as real processes: HTTP
//! answers, readiness, fault injection, metrics, signals, exit codes, and
//! the open-loop schedule. Every child is killed by a drop guard, so
//! nothing keeps running when an assertion fails.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::thread;
use std::time::{Duration, Instant};

use zonechaos::app::recorder::{Record, parse_page};

const BIN: &str = env!("CARGO_BIN_EXE_zonechaos");
/// Generous: the test machine may be busy compiling.
const STARTUP: Duration = Duration::from_secs(20);

/// A running `zonechaos` child; killed (SIGKILL) and reaped on drop.
struct Proc {
    child: Child,
    lines: Receiver<String>,
}

impl Proc {
    fn spawn(args: &[&str]) -> Proc {
        let mut child = Command::new(BIN)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn zonechaos");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Proc { child, lines }
    }

    /// The next stdout line starting with `prefix` (earlier lines are
    /// skipped), without the prefix.
    fn line(&self, prefix: &str, within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    if let Some(rest) = line.strip_prefix(prefix) {
                        return rest.to_owned();
                    }
                }
                Err(err) => panic!("no stdout line starting with {prefix:?}: {err}"),
            }
        }
    }

    /// The address printed after `prefix` (`listening on `, `metrics on `).
    fn addr(&self, prefix: &str) -> SocketAddr {
        let text = self.line(prefix, STARTUP);
        text.parse()
            .unwrap_or_else(|e| panic!("{text:?} is not an address: {e}"))
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{name} failed");
    }

    fn wait_exit(&mut self, within: Duration) -> ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(Instant::now() < deadline, "still running after {within:?}");
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn echo(zone: &str, extra: &[&str]) -> (Proc, SocketAddr) {
    let pod = format!("web-{zone}-0");
    let mut args = vec![
        "echo",
        "--zone",
        zone,
        "--pod",
        &pod,
        "--rollout",
        "web",
        "--version",
        "v1",
        "--listen",
        "127.0.0.1:0",
    ];
    args.extend_from_slice(extra);
    let proc = Proc::spawn(&args);
    let addr = proc.addr("listening on ");
    (proc, addr)
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run zonechaos")
}

#[derive(Debug)]
struct Reply {
    status: u16,
    headers: BTreeMap<String, String>,
    body: String,
}

/// A minimal HTTP/1.1 GET (`Connection: close`, read to the end).
fn get(addr: SocketAddr, path: &str) -> Reply {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read reply");
    let raw = String::from_utf8(raw).expect("UTF-8 reply");
    let (head, body) = raw.split_once("\r\n\r\n").expect("header/body split");
    let mut lines = head.lines();
    let status_line = lines.next().expect("status line");
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Reply {
        status,
        headers,
        body: body.to_owned(),
    }
}

/// One sample of a text exposition.
#[derive(Debug, Clone, PartialEq)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// Parses the sample lines of a text exposition (label escapes included).
fn parse_exposition(text: &str) -> Vec<Sample> {
    let mut samples = Vec::new();
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("value");
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            v => v
                .parse()
                .unwrap_or_else(|_| panic!("bad value in {line:?}")),
        };
        let (name, labels) = match series.split_once('{') {
            None => (series.to_owned(), BTreeMap::new()),
            Some((name, rest)) => {
                let body = rest.strip_suffix('}').expect("closing brace");
                (name.to_owned(), parse_labels(body))
            }
        };
        samples.push(Sample {
            name,
            labels,
            value,
        });
    }
    samples
}

fn parse_labels(mut body: &str) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    while !body.is_empty() {
        let (key, rest) = body.split_once("=\"").expect("label =\"");
        let mut value = String::new();
        let mut chars = rest.char_indices();
        let end = loop {
            match chars.next().expect("unterminated label value") {
                (_, '\\') => match chars.next().expect("escape").1 {
                    'n' => value.push('\n'),
                    c => value.push(c),
                },
                (i, '"') => break i,
                (_, c) => value.push(c),
            }
        };
        labels.insert(key.to_owned(), value);
        body = rest[end + 1..].trim_start_matches(',');
    }
    labels
}

/// Sum of the samples named `name` whose labels include `want`.
fn total(samples: &[Sample], name: &str, want: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|s| s.name == name)
        .filter(|s| {
            want.iter()
                .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
        .sum()
}

fn scrape(addr: SocketAddr) -> Vec<Sample> {
    let reply = get(addr, "/metrics");
    assert_eq!(reply.status, 200);
    assert!(
        reply.headers["content-type"].starts_with("text/plain; version=0.0.4"),
        "{:?}",
        reply.headers
    );
    parse_exposition(&reply.body)
}

const REQUESTS: &str = "zonechaos_requests_total";
const DURATION_COUNT: &str = "zonechaos_request_duration_seconds_count";
const ECHO_REQUESTS: &str = "zonechaos_echo_requests_total";

#[test]
fn exposition_parser_reads_escapes() {
    let samples = parse_exposition(
        "# TYPE x counter\nx{a=\"q\\\"\\\\\\n\",b=\"2\"} 3\ny 1.5\nz_bucket{le=\"+Inf\"} 4\n",
    );
    assert_eq!(samples.len(), 3);
    assert_eq!(samples[0].labels["a"], "q\"\\\n");
    assert_eq!(samples[0].labels["b"], "2");
    assert_eq!(samples[1].value, 1.5);
    assert_eq!(total(&samples, "x", &[("b", "2")]), 3.0);
    assert_eq!(total(&samples, "x", &[("b", "3")]), 0.0);
}

#[test]
fn echo_answers_with_zone_headers_and_json() {
    let (_echo, addr) = echo("us-east-1a", &[]);
    for path in ["/", "/any/path?x=1"] {
        let reply = get(addr, path);
        assert_eq!(reply.status, 200, "{path}");
        assert_eq!(reply.headers["x-zonechaos-zone"], "us-east-1a");
        assert_eq!(reply.headers["x-zonechaos-pod"], "web-us-east-1a-0");
        assert_eq!(reply.headers["x-zonechaos-version"], "v1");
        assert_eq!(reply.headers["content-type"], "application/json");
        let body: serde_json::Value = serde_json::from_str(&reply.body).expect("JSON body");
        assert_eq!(
            body,
            serde_json::json!({
                "zone": "us-east-1a",
                "pod": "web-us-east-1a-0",
                "rollout": "web",
                "version": "v1"
            })
        );
    }
}

#[test]
fn echo_healthz_waits_for_ready_after() {
    let started = Instant::now();
    let (_echo, addr) = echo("us-east-1a", &["--ready-after", "1500"]);
    assert_eq!(get(addr, "/healthz").status, 503);
    // Echo answers are not gated by readiness.
    assert_eq!(get(addr, "/").status, 200);
    let deadline = Instant::now() + Duration::from_secs(20);
    while get(addr, "/healthz").status != 200 {
        assert!(Instant::now() < deadline, "never became ready");
        thread::sleep(Duration::from_millis(50));
    }
    assert!(
        started.elapsed() >= Duration::from_millis(1500),
        "ready after {:?}",
        started.elapsed()
    );
}

#[test]
fn echo_fail_rate_one_answers_503_with_identity() {
    let (_echo, addr) = echo("us-east-1b", &["--fail-rate", "1"]);
    for _ in 0..3 {
        let reply = get(addr, "/");
        assert_eq!(reply.status, 503);
        assert_eq!(reply.headers["x-zonechaos-zone"], "us-east-1b");
    }
    assert_eq!(get(addr, "/healthz").status, 200);
    let samples = scrape(addr);
    assert_eq!(total(&samples, ECHO_REQUESTS, &[("code", "503")]), 3.0);
    assert_eq!(total(&samples, ECHO_REQUESTS, &[("code", "200")]), 0.0);
}

#[test]
fn echo_fail_rate_is_a_fraction() {
    let (_echo, addr) = echo("us-east-1a", &["--fail-rate", "0.5"]);
    let failed = (0..200).filter(|_| get(addr, "/").status == 503).count();
    assert!((60..=140).contains(&failed), "{failed} of 200 failed");
}

#[test]
fn echo_metrics_count_requests_by_code() {
    let (_echo, addr) = echo("us-east-1c", &[]);
    for _ in 0..4 {
        assert_eq!(get(addr, "/").status, 200);
    }
    // Neither /healthz nor /metrics counts.
    get(addr, "/healthz");
    scrape(addr);
    let samples = scrape(addr);
    let want = [
        ("zone", "us-east-1c"),
        ("pod", "web-us-east-1c-0"),
        ("rollout", "web"),
        ("version", "v1"),
        ("code", "200"),
    ];
    assert_eq!(total(&samples, ECHO_REQUESTS, &want), 4.0);
    assert_eq!(total(&samples, ECHO_REQUESTS, &[]), 4.0);
}

#[test]
fn echo_latency_delays_answers() {
    let (_echo, addr) = echo("us-east-1a", &["--latency", "300"]);
    let begun = Instant::now();
    assert_eq!(get(addr, "/").status, 200);
    assert!(
        begun.elapsed() >= Duration::from_millis(300),
        "{:?}",
        begun.elapsed()
    );
    let begun = Instant::now();
    assert_eq!(get(addr, "/healthz").status, 200);
    assert!(
        begun.elapsed() < Duration::from_millis(300),
        "healthz delayed"
    );
}

#[test]
fn echo_sigterm_finishes_in_flight_requests_and_exits_0() {
    let (mut echo, addr) = echo("us-east-1a", &["--latency", "1000"]);
    let in_flight = thread::spawn(move || get(addr, "/"));
    thread::sleep(Duration::from_millis(300));
    let signalled = Instant::now();
    echo.signal("TERM");
    let reply = in_flight.join().expect("request thread");
    assert_eq!(reply.status, 200, "in-flight request was cut");
    let status = echo.wait_exit(Duration::from_secs(10));
    assert_eq!(status.code(), Some(0));
    assert!(signalled.elapsed() < Duration::from_secs(6));
    assert!(TcpStream::connect(addr).is_err(), "still accepting");
}

#[test]
fn echo_sigint_exits_0() {
    let (mut echo, _addr) = echo("us-east-1a", &[]);
    echo.signal("INT");
    assert_eq!(echo.wait_exit(Duration::from_secs(10)).code(), Some(0));
}

#[test]
fn bad_flags_exit_2() {
    let base = [
        "echo",
        "--zone",
        "a",
        "--pod",
        "p",
        "--rollout",
        "r",
        "--version",
        "v",
    ];
    for extra in [
        &["--listen", "127.0.0.1:0", "--fail-rate", "1.5"][..],
        &["--listen", "127.0.0.1:0", "--latency", "-3"],
        &["--listen", "nowhere"],
        &["--listen", "127.0.0.1:0", "--unknown"],
        &[],
    ] {
        let args: Vec<&str> = base.iter().chain(extra).copied().collect();
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("error:"));
    }
    for bad in [
        &["--target", "https://web:443/", "--rps", "10"][..],
        &["--target", "web:8080", "--rps", "10"],
        &["--target", "http://127.0.0.1:1/", "--rps", "0"],
        &[
            "--target",
            "http://127.0.0.1:1/",
            "--rps",
            "10",
            "--duration",
            "-1",
        ],
        &[
            "--target",
            "http://127.0.0.1:1/",
            "--rps",
            "10",
            "--timeout",
            "0",
        ],
        &["--target", "http://127.0.0.1:1/"],
    ] {
        let args: Vec<&str> = ["loadgen", "--zone", "a"]
            .iter()
            .chain(bad)
            .copied()
            .collect();
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
    let out = run(&[
        "echo",
        "--zone",
        "a\u{1}",
        "--pod",
        "p",
        "--rollout",
        "r",
        "--version",
        "v",
        "--listen",
        "127.0.0.1:0",
    ]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn port_in_use_exits_3_with_hint() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = run(&[
        "echo",
        "--zone",
        "a",
        "--pod",
        "p",
        "--rollout",
        "r",
        "--version",
        "v",
        "--listen",
        &addr,
    ]);
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("error: cannot listen on {addr}")),
        "{stderr}"
    );
    assert!(stderr.contains("hint:"), "{stderr}");
    let out = run(&[
        "loadgen",
        "--zone",
        "a",
        "--target",
        "http://127.0.0.1:1/",
        "--rps",
        "1",
        "--listen",
        &addr,
    ]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("hint:"));
}

/// Runs a loadgen until its summary line, scrapes it during the linger
/// second, and checks it exits 0.
fn loadgen(zone: &str, target: &str, extra: &[&str]) -> (Vec<Sample>, String) {
    let (samples, summary, _) = loadgen_recorded(zone, target, extra);
    (samples, summary)
}

/// [`loadgen`], also pulling its flight records (`/records`, pages of 30,
/// none missed) during the linger second.
fn loadgen_recorded(
    zone: &str,
    target: &str,
    extra: &[&str],
) -> (Vec<Sample>, String, Vec<Record>) {
    let mut args = vec!["loadgen", "--zone", zone, "--target", target];
    args.extend_from_slice(extra);
    let mut proc = Proc::spawn(&args);
    let metrics = proc.addr("metrics on ");
    assert_eq!(get(metrics, "/healthz").status, 200);
    let summary = proc.line("done: ", Duration::from_secs(60));
    let mut records = Vec::new();
    loop {
        let page = get(metrics, &format!("/records?since={}&max=30", records.len()));
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.headers["content-type"].starts_with("application/jsonl"));
        let (header, mut more) = parse_page(&page.body).unwrap();
        assert_eq!(header.missed, 0);
        assert!(more.len() <= 30);
        if more.is_empty() {
            break;
        }
        records.append(&mut more);
        assert_eq!(header.next, records.len() as u64);
    }
    let samples = scrape(metrics);
    assert_eq!(proc.wait_exit(Duration::from_secs(10)).code(), Some(0));
    (samples, summary, records)
}

/// The flight recorder (issue 13): every request on the record, in
/// pages, with its pod and zone and a send time whose wall clock and
/// monotonic offset agree; the same count as the counters. A bad query is
/// refused by name.
#[test]
fn loadgen_flight_records_every_request() {
    let (_a, a) = echo("us-east-1a", &[]);
    let (samples, summary, mut records) = loadgen_recorded(
        "us-east-1c",
        &format!("http://{a}/"),
        &["--rps", "100", "--duration", "1"],
    );
    assert_eq!(
        records.len() as f64,
        total(&samples, REQUESTS, &[]),
        "{summary}"
    );
    assert_eq!(records.len(), 100, "{summary}");
    let seqs: Vec<u64> = records.iter().map(|r| r.seq).collect();
    assert_eq!(seqs, (0..100).collect::<Vec<u64>>());
    for r in &records {
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(r.zone.as_deref(), Some("us-east-1a"));
        assert_eq!(r.pod.as_deref(), Some("web-us-east-1a-0"));
        assert!(r.duration_us.is_some_and(|d| d > 0) && r.error.is_none());
    }
    records.sort_by_key(|r| r.offset_us);
    let (first, last) = (&records[0], &records[99]);
    // 100 requests at 100 rps: the last is sent about 990 ms after the
    // first, by both clocks (one wall-clock millisecond of rounding each).
    let wall = (last.sent_ms - first.sent_ms) as f64;
    let mono = (last.offset_us - first.offset_us) as f64 / 1000.0;
    assert!(
        (wall - mono).abs() <= 2.0,
        "wall {wall} ms, monotonic {mono} ms"
    );
    assert!((900.0..1500.0).contains(&mono), "{mono} ms");

    let (mut proc, metrics) = {
        let p = Proc::spawn(&[
            "loadgen",
            "--zone",
            "a",
            "--target",
            &format!("http://{a}/"),
            "--rps",
            "1",
        ]);
        let m = p.addr("metrics on ");
        (p, m)
    };
    let bad = get(metrics, "/records?since=soon");
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("since"), "{}", bad.body);
    proc.signal("TERM");
    assert_eq!(proc.wait_exit(Duration::from_secs(10)).code(), Some(0));
}

#[test]
fn loadgen_records_serving_zone_per_request() {
    let (_a, a) = echo("us-east-1a", &[]);
    let (_b, b) = echo("us-east-1b", &[]);
    let target_a = format!("http://{a}/");
    let target_b = format!("http://{b}/checkout");
    let to_b = thread::spawn(move || {
        loadgen("us-east-1c", &target_b, &["--rps", "50", "--duration", "1"])
    });
    let (samples, summary) = loadgen(
        "us-east-1c",
        &target_a,
        &["--rps", "100", "--duration", "2"],
    );
    let ok_a = total(
        &samples,
        REQUESTS,
        &[
            ("client_zone", "us-east-1c"),
            ("serving_zone", "us-east-1a"),
            ("code", "200"),
        ],
    );
    assert!(
        (150.0..=230.0).contains(&ok_a),
        "{ok_a} answers from us-east-1a; {summary}"
    );
    assert_eq!(
        total(&samples, REQUESTS, &[]),
        ok_a,
        "only 200s from us-east-1a: {summary}"
    );
    assert_eq!(
        total(&samples, REQUESTS, &[("serving_zone", "us-east-1b")]),
        0.0
    );
    assert_eq!(
        total(&samples, DURATION_COUNT, &[("client_zone", "us-east-1c")]),
        ok_a
    );
    let inf = total(
        &samples,
        "zonechaos_request_duration_seconds_bucket",
        &[("client_zone", "us-east-1c"), ("le", "+Inf")],
    );
    assert_eq!(inf, ok_a);
    assert!(
        summary.starts_with(&format!("{ok_a} requests")),
        "{summary}"
    );
    // The echo server saw exactly what the loadgen recorded.
    let served = total(&scrape(a), ECHO_REQUESTS, &[("code", "200")]);
    assert_eq!(served, ok_a);

    let (samples_b, _) = to_b.join().expect("loadgen b");
    let ok_b = total(
        &samples_b,
        REQUESTS,
        &[("serving_zone", "us-east-1b"), ("code", "200")],
    );
    assert!((35.0..=60.0).contains(&ok_b), "{ok_b}");
    assert_eq!(
        total(&samples_b, REQUESTS, &[("serving_zone", "us-east-1a")]),
        0.0
    );
}

#[test]
fn loadgen_counts_injected_failures_with_their_zone() {
    let (_a, a) = echo("us-east-1a", &["--fail-rate", "1"]);
    let (samples, _) = loadgen(
        "us-east-1b",
        &format!("http://{a}/"),
        &["--rps", "40", "--duration", "0.5"],
    );
    assert_eq!(
        total(
            &samples,
            REQUESTS,
            &[("serving_zone", "us-east-1a"), ("code", "503")]
        ),
        20.0
    );
    assert_eq!(total(&samples, REQUESTS, &[]), 20.0);
}

#[test]
fn loadgen_against_a_closed_port_counts_code_0_connect() {
    let closed = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let (samples, summary, records) = loadgen_recorded(
        "us-east-1a",
        &format!("http://{closed}/"),
        &["--rps", "50", "--duration", "1"],
    );
    assert_eq!(records.len(), 50);
    assert!(
        records
            .iter()
            .all(|r| r.status == 0 && r.error.as_deref() == Some("connect") && r.zone.is_none()),
        "{records:?}"
    );
    let failed = total(
        &samples,
        REQUESTS,
        &[
            ("serving_zone", "none"),
            ("code", "0"),
            ("error", "connect"),
        ],
    );
    assert_eq!(failed, 50.0, "{summary}");
    assert_eq!(total(&samples, REQUESTS, &[]), 50.0);
    assert_eq!(total(&samples, DURATION_COUNT, &[]), 50.0);
    assert!(summary.contains("50 connect errors"), "{summary}");
}

#[test]
fn loadgen_times_out_slow_answers() {
    let (_slow, addr) = echo("us-east-1a", &["--latency", "2000"]);
    let (samples, summary) = loadgen(
        "us-east-1a",
        &format!("http://{addr}/"),
        &["--rps", "20", "--duration", "0.5", "--timeout", "200"],
    );
    let timeouts = total(&samples, REQUESTS, &[("code", "0"), ("error", "timeout")]);
    assert_eq!(timeouts, 10.0, "{summary}");
    assert_eq!(total(&samples, REQUESTS, &[]), 10.0);
    // Every duration lies between the timeout and well under the latency.
    let under_1s = total(
        &samples,
        "zonechaos_request_duration_seconds_bucket",
        &[("le", "1")],
    );
    let under_100ms = total(
        &samples,
        "zonechaos_request_duration_seconds_bucket",
        &[("le", "0.1")],
    );
    assert_eq!((under_100ms, under_1s), (0.0, 10.0));
}

#[test]
fn loadgen_is_open_loop_and_counts_overload() {
    // Answers take 2 s; with at most 5 in flight, the first 5 requests are
    // sent and the other 45 of the second find the cap reached. A
    // closed-loop client would have sent 5 and waited.
    let (_slow, addr) = echo("us-east-1a", &["--latency", "2000"]);
    let (samples, summary) = loadgen(
        "us-east-1a",
        &format!("http://{addr}/"),
        &[
            "--rps",
            "50",
            "--duration",
            "1",
            "--max-in-flight",
            "5",
            "--timeout",
            "5000",
        ],
    );
    assert_eq!(
        total(
            &samples,
            REQUESTS,
            &[("serving_zone", "us-east-1a"), ("code", "200")]
        ),
        5.0,
        "{summary}"
    );
    assert_eq!(
        total(&samples, REQUESTS, &[("code", "0"), ("error", "overload")]),
        45.0
    );
    // Requests never sent have no duration.
    assert_eq!(total(&samples, DURATION_COUNT, &[]), 5.0);
}

/// A one-shot-per-connection HTTP server answering `reply` (raw bytes).
fn canned_server(reply: &'static str) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 4096];
            let mut seen = Vec::new();
            while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => seen.extend_from_slice(&buf[..n]),
                }
            }
            let _ = stream.write_all(reply.as_bytes());
        }
    });
    addr
}

#[test]
fn loadgen_reads_zone_from_body_and_defaults_to_none() {
    let body_only = canned_server(
        "HTTP/1.1 200 OK\r\nContent-Length: 22\r\nConnection: close\r\n\r\n{\"zone\":\"us-west-2c\"}\n",
    );
    let proxy = canned_server(
        "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 19\r\nConnection: close\r\n\r\nno healthy upstream",
    );
    let (samples, _) = loadgen(
        "us-west-2a",
        &format!("http://{body_only}/"),
        &["--rps", "20", "--duration", "0.5"],
    );
    assert_eq!(
        total(
            &samples,
            REQUESTS,
            &[("serving_zone", "us-west-2c"), ("code", "200")]
        ),
        10.0
    );
    let (samples, _) = loadgen(
        "us-west-2a",
        &format!("http://{proxy}/"),
        &["--rps", "20", "--duration", "0.5"],
    );
    assert_eq!(
        total(
            &samples,
            REQUESTS,
            &[("serving_zone", "none"), ("code", "503")]
        ),
        10.0
    );
}

#[test]
fn loadgen_without_duration_stops_on_sigterm() {
    let (_a, a) = echo("us-east-1a", &[]);
    let mut proc = Proc::spawn(&[
        "loadgen",
        "--zone",
        "us-east-1b",
        "--target",
        &format!("http://{a}/"),
        "--rps",
        "50",
    ]);
    let metrics = proc.addr("metrics on ");
    thread::sleep(Duration::from_millis(500));
    let samples = scrape(metrics);
    assert!(
        total(&samples, REQUESTS, &[("serving_zone", "us-east-1a")]) > 0.0,
        "no requests after 0.5 s"
    );
    proc.signal("TERM");
    let summary = proc.line("done: ", Duration::from_secs(10));
    assert_eq!(proc.wait_exit(Duration::from_secs(10)).code(), Some(0));
    assert!(summary.contains("0 connect errors"), "{summary}");
}
