//! `wait:` over long spans on sim (issue 10 item 3): the zone-c Spot-loss
//! suite with one long `wait` (1 h, 6 h, 24 h) before the loss, run as
//! `zonechaos run` runs it (the runner, the report in memory; no files
//! written), and the same waits and chaos on the backend alone (`clock`:
//! the clock and the matrix, without the report's per-second timeline,
//! up to 1000 h). Each span runs in a child process of its own so that
//! its peak RSS (VmHWM) is its own. The `canary` suite starts a canary in
//! zone c (zone-pinned topology) before its wait: its four 5-minute steps
//! (10/20/50/80%) run during the wait, so for 20 minutes zone c's requests
//! draw between stable and canary pods (the replay draws every one, one
//! matrix run per second), then the promoted Rollout is steady. The
//! `during-loss` suite waits while zone c is lost: its clients' requests
//! are drawn between zones a and b, so every second is its own run.
//!
//! `cargo bench --bench sim_wait`. Figures go to BENCHMARKS.md.

use std::path::Path;
use std::time::Instant;

use zonechaos::backend::Backend;
use zonechaos::backend::sim::SimBackend;
use zonechaos::model::{SimDuration, parse_duration};
use zonechaos::suite::{load_suite_str, runner};
use zonechaos::zone::Zone;

/// Spans of the `clock` runs (the backend alone: nothing grows with them).
const CLOCK_SPANS: [&str; 4] = ["1h", "6h", "24h", "1000h"];
/// Spans of the suites run with the runner: its report keeps a timeline
/// point per second and client zone, so they stop at a day.
const SUITE_SPANS: [&str; 3] = ["1h", "6h", "24h"];

/// The suite of a scenario with a `wait: span`.
fn suite_text(scenario: &str, span: &str) -> String {
    match scenario {
        "spot-loss" => format!(
            "name: wait-{span}\ntopology: [topologies/zone-failover.yaml]\n\
             load: {{service: test, namespace: default, rps: 50}}\nsteps:\n\
             \x20 - wait: {{until: steady}}\n  - wait: {span}\n  - assert-no-cross-zone: {{window: 10s}}\n\
             \x20 - spot-loss: {{zone: us-east-1c, mode: refuse}}\n\
             \x20 - assert-failover: {{zone: us-east-1c, to: [us-east-1a, us-east-1b], success: 99%, within: 30s, window: 5s}}\n\
             \x20 - restore: {{zone: us-east-1c}}\n  - assert-recovery: {{zone: us-east-1c, within: 60s, window: 5s}}\n\
             \x20 - wait: 10s\n  - assert-no-cross-zone: {{window: 10s}}\n"
        ),
        // The wait falls inside the zone loss: zone c's clients draw
        // between the hosts of a and b on every request, so the seconds
        // differ and the matrix holds a run per second.
        "during-loss" => format!(
            "name: during-loss-{span}\ntopology: [topologies/zone-failover.yaml]\n\
             load: {{service: test, namespace: default, rps: 50}}\nsteps:\n\
             \x20 - wait: {{until: steady}}\n\
             \x20 - spot-loss: {{zone: us-east-1c, mode: refuse}}\n\
             \x20 - assert-failover: {{zone: us-east-1c, to: [us-east-1a, us-east-1b], success: 99%, within: 30s, window: 5s}}\n\
             \x20 - wait: {span}\n\
             \x20 - restore: {{zone: us-east-1c}}\n  - assert-recovery: {{zone: us-east-1c, within: 60s, window: 5s}}\n"
        ),
        _ => format!(
            "name: canary-{span}\ntopology: [topologies/zone-pinned.yaml]\n\
             load: {{service: test, namespace: default, rps: 50}}\nsteps:\n\
             \x20 - wait: {{until: steady}}\n  - canary: {{rollout: test-c, image: myapp:v2}}\n\
             \x20 - wait: {span}\n  - assert-no-cross-zone: {{window: 15s}}\n"
        ),
    }
}

/// Peak resident set of this process, in MiB (VmHWM).
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// One run, in this process: prints `wall_ms peak_mib runs skipped verdict`.
/// `clock` drives the backend alone through the spot-loss suite's waits
/// and chaos (no assertions, no report): the clock and the matrix only.
fn child(scenario: &str, span: &str) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("suites/bench.yaml");
    let text = suite_text(
        if scenario == "clock" {
            "spot-loss"
        } else {
            scenario
        },
        span,
    );
    let suite = load_suite_str(&text, &dir).expect("bench suite");
    let t = Instant::now();
    let mut backend = SimBackend::new(&suite);
    let verdict = if scenario == "clock" {
        let c = Zone::from("us-east-1c");
        let d = parse_duration(span).expect("span");
        for wait in [SimDuration::secs(5), d] {
            backend.advance(wait).expect("advance");
        }
        backend.world.spot_loss(&c, None);
        backend.advance(SimDuration::secs(20)).expect("advance");
        backend.world.restore(&c);
        backend.advance(SimDuration::secs(20)).expect("advance");
        "-".to_owned()
    } else {
        format!("{:?}", runner::run(&suite, &mut backend, &mut ()).verdict)
    };
    let wall = t.elapsed();
    println!(
        "{:.1} {:.1} {} {:.4} {}",
        wall.as_secs_f64() * 1000.0,
        peak_rss_mib(),
        backend.matrix.runs().len(),
        backend.skipped.as_secs_f64() / backend.world.now.as_secs_f64(),
        verdict
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        child(&args[i + 1], &args[i + 2]);
        return;
    }
    let me = std::env::current_exe().expect("own path");
    println!("sim wait: one long wait, 3 zones x 50 requests/s, a child process per run");
    for (scenario, spans) in [
        ("clock", &CLOCK_SPANS[..]),
        ("spot-loss", &SUITE_SPANS[..]),
        ("canary", &SUITE_SPANS[..]),
        ("during-loss", &SUITE_SPANS[..]),
    ] {
        println!("  scenario {scenario}:");
        println!("    span     wall        peak RSS   matrix runs  skipped  verdict");
        for span in spans {
            let out = std::process::Command::new(&me)
                .args(["--child", scenario, span])
                .output()
                .expect("child run");
            let text = String::from_utf8_lossy(&out.stdout);
            let f: Vec<&str> = text.split_whitespace().collect();
            if f.len() < 5 {
                println!(
                    "    {span:>6}   failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                continue;
            }
            println!(
                "    {span:>6}   {:>8} ms  {:>6} MiB  {:>11}  {:>6.2}%  {}",
                f[0],
                f[1],
                f[2],
                f[3].parse::<f64>().unwrap_or(f64::NAN) * 100.0,
                f[4]
            );
        }
    }
}
