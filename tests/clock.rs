//! issue 10 item 3: the virtual clock is cheap over long spans. The sim
//! backend skips quiet stretches in one step; these tests hold it to the
//! tick-by-tick loop (`skip_quiet: false`) on every suite and on long
//! scenarios with chaos in the middle, and check that the traffic matrix
//! does not grow with a steady span.

use std::path::Path;
use std::sync::Arc;

#[path = "common/files.rs"]
mod files;

use zonechaos::backend::Backend;
use zonechaos::backend::sim::SimBackend;
use zonechaos::model::clock::SimDuration;
use zonechaos::suite::{Suite, load_suite, load_suite_str, runner};
use zonechaos::telemetry::{Outcome, TrafficMatrix, Window};
use zonechaos::zone::Zone;

/// The JSON report of a run (wall time aside), the final matrix and the
/// share of the run's virtual time skipped in quiet stretches.
fn run(suite: &Suite, skip_quiet: bool) -> (serde_json::Value, Arc<TrafficMatrix>, f64) {
    let mut backend = SimBackend::new(suite);
    backend.skip_quiet = skip_quiet;
    let report = runner::run(suite, &mut backend, &mut ());
    let mut json: serde_json::Value =
        serde_json::from_str(&zonechaos::report::json::json(&report)).unwrap();
    json["wall_ms"] = serde_json::Value::from(0);
    let skipped = backend.skipped.as_secs_f64() / backend.now().as_secs_f64();
    (json, backend.matrix().unwrap(), skipped)
}

fn suite(text: &str) -> Suite {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("suites/clock.yaml");
    load_suite_str(text, &path).unwrap()
}

/// Asserts that skipping quiet stretches changes nothing: the same report
/// (every step, verdict, evidence, event, the per-second timeline) and the
/// same matrix as ticking every 100 ms; returns the share skipped.
fn same_as_ticking(suite: &Suite) -> f64 {
    let (fast, fast_m, skipped) = run(suite, true);
    let (slow, slow_m, none) = run(suite, false);
    assert_eq!(none, 0.0);
    assert!(
        fast_m == slow_m,
        "{}: the matrices differ ({} runs skipping, {} ticking)",
        suite.name,
        fast_m.runs().len(),
        slow_m.runs().len()
    );
    assert_eq!(fast, slow, "{}: the reports differ", suite.name);
    skipped
}

/// Asserts that most of a scenario was skipped (so that the comparison
/// compared something).
fn mostly_skipped(skipped: f64, at_least: f64) {
    assert!(skipped >= at_least, "only {:.0}% skipped", skipped * 100.0);
}

/// issue 10 item 3: every suite under suites/ gives the same report
/// whether quiet stretches are skipped or ticked through.
#[test]
fn every_suite_reports_the_same_when_quiet_stretches_are_skipped() {
    let mut skipped = Vec::new();
    for path in files::suite_files() {
        skipped.push(same_as_ticking(&load_suite(&path).unwrap()));
    }
    mostly_skipped(skipped.iter().sum::<f64>() / skipped.len() as f64, 0.3);
}

/// A suite on `topology` (under suites/topologies/) with clients at `rps`
/// in every zone, extra top-level `settings` and these `steps`.
fn scenario(topology: &str, rps: u32, settings: &str, steps: &[&str]) -> Suite {
    let steps: String = steps.iter().map(|s| format!("  - {s}\n")).collect();
    suite(&format!(
        "name: clock-{topology}\ntopology: [topologies/{topology}.yaml]\n\
         load: {{service: test, namespace: default, rps: {rps}}}\n{settings}steps:\n{steps}"
    ))
}

/// Asserts [`same_as_ticking`] and that at least `share` of the run was skipped.
fn agrees(suite: &Suite, share: f64) {
    mostly_skipped(same_as_ticking(suite), share);
}

/// issue 10 item 3: ten minutes with a Spot loss in the middle, past the
/// node-monitor grace and the taint manager's toleration (pods deleted and
/// rescheduled), outlier ejections ending on their own, a restore and a
/// long steady tail: fast path and tick-by-tick agree second by second.
#[test]
fn ten_minutes_of_spot_loss_and_restore_agree_with_ticking() {
    let steps = [
        "wait: 60s",
        "spot-loss: {zone: us-east-1c}",
        "wait: 400s",
        "restore: {zone: us-east-1c}",
        "wait: 140s",
    ];
    agrees(&scenario("zone-failover", 50, "", &steps), 0.8);
}

/// issue 10 item 3: requests that draw between zones and canary weights
/// (a 90/10 canary on zone-pinned at 33 requests/s, so with a fractional
/// carry; the failover of zone c's clients to a and b) keep their random
/// draws: the replay makes the slow path's draws from the same weights.
#[test]
fn random_splits_replay_the_same_draws() {
    let canary = [
        "wait: 30s",
        "canary: {rollout: test-c, image: myapp:v2}",
        "wait: 300s",
        "abort: {rollout: test-c}",
        "wait: 100s",
    ];
    agrees(&scenario("zone-pinned", 33, "", &canary), 0.5);
    let failover = ["wait: 10s", "spot-loss: {zone: us-east-1c}", "wait: 600s"];
    let grace = "timing: {nodeMonitorGrace: 1000s}\n";
    agrees(&scenario("zone-failover", 50, grace, &failover), 0.5);
}

/// issue 10 item 3: a blackholed zone (hanging connects, client timeouts)
/// and a drain blocked by its budget (a retry every 5 s) over minutes.
#[test]
fn blackholes_and_blocked_drains_agree_with_ticking() {
    let blackhole = [
        "wait: 20s",
        "spot-loss: {zone: us-east-1c, mode: blackhole}",
        "wait: 200s",
        "restore: {zone: us-east-1c}",
        "wait: 60s",
    ];
    agrees(&scenario("zone-failover", 50, "", &blackhole), 0.5);
    let drain = [
        "wait: 20s",
        "drain: {zone: us-east-1c, timeout: 300s}",
        "wait: 400s",
        "restore: {zone: us-east-1c}",
        "wait: 30s",
    ];
    agrees(&scenario("zone-pinned", 50, "", &drain), 0.5);
}

/// A backend on the failover topology at 50 requests/s per zone that
/// waits `span`, loses zone c for 20 s, and waits `span` again after the
/// restore (driven directly: a report's per-second timeline of a day is
/// the runner's business, not the clock's).
fn long_wait(span: SimDuration, skip_quiet: bool) -> SimBackend {
    let suite = scenario("zone-failover", 50, "", &["wait: 1s"]);
    let mut backend = SimBackend::new(&suite);
    backend.skip_quiet = skip_quiet;
    let c = Zone::from("us-east-1c");
    backend.advance(SimDuration::secs(10)).unwrap();
    backend.advance(span).unwrap();
    backend.world.spot_loss(&c, None);
    backend.advance(SimDuration::secs(20)).unwrap();
    backend.world.restore(&c);
    backend.advance(span).unwrap();
    backend
}

fn served_by(m: &TrafficMatrix, client: &str, zone: &str, w: Window) -> u64 {
    let outcome = Outcome::Served {
        zone: Zone::from(zone),
        canary: false,
    };
    m.outcomes(&Zone::from(client), w)
        .get(&outcome)
        .copied()
        .unwrap_or(0)
}

const MINUTE: SimDuration = SimDuration::secs(60);
const HOUR: SimDuration = SimDuration::secs(3600);

/// issue 10 item 3: a steady `wait: 24h` gives each zone exactly what the
/// tick-by-tick loop gives over ten minutes, scaled: every request of the
/// 50 per second served in its own zone, before the loss and after the
/// restore.
#[test]
fn a_steady_day_counts_what_ticking_counts_scaled() {
    let slow = long_wait(SimDuration(10 * MINUTE.0), false);
    let fast = long_wait(SimDuration(24 * HOUR.0), true);
    let (short, day) = (600, 86_400);
    let before = |len| Window {
        from: 10,
        to: 10 + len,
    };
    let after = |len| Window {
        from: 60 + len,
        to: 30 + 2 * len,
    };
    for z in ["us-east-1a", "us-east-1b", "us-east-1c"] {
        let ticked = served_by(&slow.matrix, z, z, before(short));
        assert_eq!(ticked, 50 * short, "{z} ticked");
        let scaled = ticked * day / short;
        assert_eq!(served_by(&fast.matrix, z, z, before(day)), scaled, "{z}");
        assert_eq!(
            fast.matrix.total(&Zone::from(z), before(day)),
            scaled,
            "{z}"
        );
        let ticked_after = served_by(&slow.matrix, z, z, after(short));
        let all_after = fast.matrix.total(&Zone::from(z), after(day));
        assert_eq!(
            ticked_after,
            slow.matrix.total(&Zone::from(z), after(short))
        );
        assert_eq!(
            served_by(&fast.matrix, z, z, after(day)),
            all_after,
            "{z} local"
        );
        assert_eq!(
            all_after,
            ticked_after * (day - 30) / (short - 30),
            "{z} after"
        );
    }
}

/// issue 10 item 3: the matrix of a steady span is a handful of runs,
/// whatever the span's length: one per second of the 20 s loss (zone c's
/// clients draw between a and b), one for each steady span.
#[test]
fn the_matrix_does_not_grow_with_a_steady_span() {
    for hours in [1, 24, 1000] {
        let m = long_wait(SimDuration(hours * HOUR.0), true).matrix;
        let runs = m.runs();
        assert!(runs.len() <= 30, "{hours} h: {} runs", runs.len());
        let span = hours * 3600;
        assert!(
            runs[0].to - runs[0].from >= span,
            "{hours} h: {:?}",
            runs[0]
        );
        let last = &runs[runs.len() - 1];
        assert!(last.to - last.from >= span - 30, "{hours} h: {last:?}");
    }
}

/// issue 10 item 3: a day-long suite's report keeps at most
/// `Timeline::MAX_POINTS` points per client zone, summing seconds, and the
/// sums are the matrix's totals (nothing lost by aggregating).
#[test]
fn a_day_long_report_sums_seconds_into_bounded_points() {
    let suite = scenario("zone-failover", 50, "", &["wait: 24h"]);
    let mut backend = SimBackend::new(&suite);
    let report = runner::run(&suite, &mut backend, &mut ());
    let timeline = &report.timeline;
    assert!(timeline.seconds_per_point() > 1);
    let m = backend.matrix().unwrap();
    for zone in &suite.load.zones {
        let points = &timeline.series[zone];
        assert!(points.len() as u64 <= zonechaos::report::Timeline::MAX_POINTS);
        let summed: u64 = points
            .iter()
            .flat_map(|p| p.served.values().chain(p.errors.values()))
            .sum();
        let all = Window {
            from: 0,
            to: m.len_seconds(),
        };
        assert_eq!(summed, m.total(zone, all), "{zone}");
        assert!(summed >= 50 * 86_400, "{zone}: {summed}");
    }
}
