//! Every suite also runs on the `local` backend (real Envoy, Prometheus,
//! echo and load processes) as its own test, with the same verdicts as on
//! `sim`, and the measured figures are compared with the model's:
//! failover latency within 25% (or, whichever is larger, two 1 s scrape
//! intervals plus the lag with which a scraped failure can surface,
//! `Scrape::LOCAL.lag()`: sub-second failovers cannot be told apart more
//! finely at a 1 s scrape) and traffic shares within 5 points.
//!
//! Needs Envoy and Prometheus (scripts/install-deps.sh), and root for
//! suites using spot-loss mode blackhole. Without them each test is skipped
//! (listed as ignored), unless ZONECHAOS_REQUIRE_REAL=1 (CI) makes that a
//! failure (`tests/common/real.rs`).
//! Runs take wall time (each suite's length), so they are slow tests.

use std::path::{Path, PathBuf};

#[path = "common/files.rs"]
mod files;

use files::suite_files;
#[path = "common/real.rs"]
mod real;

use libtest_mimic::Failed;
use real::{Need, trial};
use zonechaos::backend::local::{Binaries, LocalBackend};
use zonechaos::report::{RunReport, Verdict};
use zonechaos::suite::{load_suite, runner};
use zonechaos::telemetry::{Outcome, TrafficMatrix, Window};

/// Share of a client zone's requests per outcome label over a window.
fn shares(
    m: &TrafficMatrix,
    zone: &zonechaos::zone::Zone,
    w: Window,
) -> std::collections::BTreeMap<String, f64> {
    let o = m.outcomes(zone, w);
    let total: u64 = o.values().sum();
    o.iter()
        .map(|(k, n)| {
            let label = match k {
                Outcome::Served { zone, .. } => zone.to_string(),
                _ => "error".to_owned(),
            };
            (label, *n as f64 / total.max(1) as f64)
        })
        .fold(std::collections::BTreeMap::new(), |mut acc, (k, v)| {
            *acc.entry(k).or_insert(0.0) += v;
            acc
        })
}

fn compare(
    report: &RunReport,
    measured: &TrafficMatrix,
    predicted: &TrafficMatrix,
    zones: &[zonechaos::zone::Zone],
) -> Vec<String> {
    let mut problems = Vec::new();
    for f in &report.failover {
        eprintln!(
            "  failover {}: predicted {:?} s, measured {:?} s ({:?}), lost: predicted {}, measured {:?}",
            f.zone, f.predicted_s, f.measured_s, f.measured_from, f.predicted_lost, f.measured_lost
        );
        if let (Some(p), Some(m)) = (f.predicted_s, f.measured_s) {
            let resolution = 2.0 + zonechaos::telemetry::Scrape::LOCAL.lag().as_secs_f64();
            let tolerance = (0.25 * p).max(resolution);
            // Both are whole seconds minus the same chaos time: a difference
            // of exactly the tolerance must not fail on rounding.
            if (m - p).abs() > tolerance + 1e-6 {
                problems.push(format!("failover latency of {}: measured {m:.1} s vs predicted {p:.1} s (tolerance {tolerance:.1} s)", f.zone));
            }
        } else if f.predicted_s.is_some() != f.measured_s.is_some() {
            problems.push(format!(
                "failover of {}: predicted {:?} but measured {:?}",
                f.zone, f.predicted_s, f.measured_s
            ));
        }
    }
    // Shares over the whole run, skipping the first seconds (start-up).
    let w = Window {
        from: 5,
        to: measured
            .len_seconds()
            .min(predicted.len_seconds())
            .saturating_sub(1),
    };
    for z in zones {
        let (m, p) = (shares(measured, z, w), shares(predicted, z, w));
        eprintln!("  {z} shares: measured {m:?}, predicted {p:?}");
        for key in m.keys().chain(p.keys()) {
            let (a, b) = (
                m.get(key).copied().unwrap_or(0.0),
                p.get(key).copied().unwrap_or(0.0),
            );
            if (a - b).abs() > 0.05 {
                problems.push(format!(
                    "{z} clients served by {key}: measured {:.1}% vs predicted {:.1}%",
                    a * 100.0,
                    b * 100.0
                ));
            }
        }
    }
    problems
}

fn run_local(path: &Path) -> Result<(), Failed> {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let binaries = Binaries::find(PathBuf::from(env!("CARGO_BIN_EXE_zonechaos")), repo)?;
    let suite = load_suite(path).map_err(|e| Failed::from(e.to_string()))?;
    let mut backend = LocalBackend::start(&suite, binaries)?;
    let report = runner::run(&suite, &mut backend, &mut ());
    let measured = zonechaos::backend::Backend::matrix(&mut backend)
        .map_err(|e| Failed::from(e.to_string()))?;
    let predicted = zonechaos::backend::Backend::predicted_matrix(&backend).unwrap_or_default();
    let nets = backend.net_interfaces();
    drop(backend);
    let mut problems: Vec<String> = report
        .steps
        .iter()
        .filter(|s| s.status.is_failure())
        .map(|s| {
            format!(
                "step {} (line {}) {:?}: {}: {}",
                s.index, s.line, s.status, s.title, s.message
            )
        })
        .collect();
    if report.verdict == Verdict::Passed {
        problems.extend(compare(&report, &measured, &predicted, &suite.load.zones));
    }
    // Mode blackhole: the zones' veth pairs and namespace holders are gone.
    for (link, holder) in nets {
        if Path::new("/sys/class/net").join(&link).exists() {
            problems.push(format!("veth {link} left behind"));
        }
        if let Some(pid) = holder.filter(|p| Path::new(&format!("/proc/{p}")).exists()) {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            if !stat.contains(") Z ") && !stat.is_empty() {
                problems.push(format!("namespace holder {pid} left behind"));
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Failed::from(problems.join("\n")))
    }
}

/// What a suite needs on this machine: Envoy and Prometheus, and root when
/// it spot-loses a zone in mode blackhole (network namespaces).
fn needs(path: &Path) -> Vec<Need> {
    let mut needs = vec![Need::Envoy, Need::Prometheus];
    if load_suite(path).is_ok_and(|s| !zonechaos::chaos::blackhole_zones(&s).is_empty()) {
        needs.push(Need::Root);
    }
    needs
}

fn main() {
    let trials = suite_files()
        .into_iter()
        .map(|path| {
            let name = format!(
                "local::{}",
                path.file_stem().unwrap_or_default().to_string_lossy()
            );
            trial(name, &needs(&path), move || run_local(&path))
        })
        .collect();
    real::run(trials)
}
