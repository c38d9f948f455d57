//! Runs a suite on a backend: steps in order, per-step timeouts, `finally`
//! steps that always run, `expect: fail` for known defects, and the report.

use std::time::Instant;

use crate::assert::tally::Tally;
use crate::assert::{self, Check, Ctx, Memory};
use crate::backend::Backend;
use crate::chaos;
use crate::mesh::proxy::CLIENT_TIMEOUT;
use crate::model::clock::{SimDuration, SimTime};
use crate::report::{
    FailoverLatency, RunReport, StepResult, StepStatus, Timeline, TimelinePoint, Verdict,
};
use crate::spec::{Action, WaitSpec};
use crate::suite::{Step, Suite};
use crate::telemetry::records::{FlightRecords, measure_failover};
use crate::telemetry::{Outcome, TelemetrySource, TrafficMatrix};
use crate::zone::Zone;

/// Default bound for `wait: {until: steady}`.
pub const STEADY_TIMEOUT: SimDuration = SimDuration::secs(120);

/// Progress callbacks (the CLI shows a progress bar; tests pass `()`).
pub trait Progress {
    /// A step starts.
    fn step_started(&mut self, _index: usize, _title: &str) {}
    /// A step ended.
    fn step_finished(&mut self, _result: &StepResult) {}
}

impl Progress for () {}

/// A step's result before it runs: passed, at `started`, no evidence.
fn pending_result(
    index: usize,
    finally: bool,
    step: &Step,
    title: String,
    started: SimTime,
) -> StepResult {
    StepResult {
        index,
        kind: step.action.key().to_owned(),
        title,
        line: step.line,
        started_s: started.as_secs_f64(),
        ended_s: started.as_secs_f64(),
        status: StepStatus::Passed,
        message: String::new(),
        expected_failure_reason: step
            .expects_failure()
            .then(|| step.common.reason.clone().unwrap_or_default()),
        is_assertion: step.action.is_assertion(),
        finally,
        evidence: serde_json::Value::Null,
    }
}

/// The steps in execution order, each with whether it is a finally step.
fn all_steps(suite: &Suite) -> impl Iterator<Item = (bool, &Step)> {
    suite
        .steps
        .iter()
        .map(|s| (false, s))
        .chain(suite.finally.iter().map(|s| (true, s)))
}

fn step_title(step: &Step) -> String {
    step.common
        .name
        .clone()
        .unwrap_or_else(|| chaos::title(&step.action))
}

/// A report of `suite` on `backend` with nothing in it yet.
fn empty_report(suite: &Suite, backend: &str, verdict: Verdict) -> RunReport {
    RunReport {
        suite: suite.name.clone(),
        file: suite.file.display().to_string(),
        backend: backend.to_owned(),
        topology: suite
            .topology_paths
            .iter()
            .map(|p| p.display().to_string())
            .collect(),
        profile: suite.profile.name.clone(),
        seed: suite.seed,
        verdict,
        duration_s: 0.0,
        wall_ms: 0,
        steps: Vec::new(),
        timeline: Timeline::default(),
        failover: Vec::new(),
        queries: Vec::new(),
        events: Vec::new(),
        interrupted: None,
        diagnostics: None,
        fidelity: None,
        reconciled: Vec::new(),
    }
}

/// The report of a suite the backend cannot run as written: every step
/// (finally steps too) skipped with `reason`, verdict [`Verdict::Skipped`].
pub fn skipped(suite: &Suite, backend: &str, reason: &str) -> RunReport {
    let steps = all_steps(suite)
        .enumerate()
        .map(|(index, (finally, step))| StepResult {
            status: StepStatus::Skipped,
            message: format!("skipped: {reason}"),
            ..pending_result(index, finally, step, step_title(step), SimTime::default())
        })
        .collect();
    RunReport {
        steps,
        ..empty_report(suite, backend, Verdict::Skipped)
    }
}

/// Runs the suite and builds the report.
pub fn run(suite: &Suite, backend: &mut dyn Backend, progress: &mut dyn Progress) -> RunReport {
    let wall = Instant::now();
    let mut memory = Memory::default();
    let mut results = Vec::new();
    let mut marks = Vec::new();
    let mut broken = false;
    // SIGINT/SIGTERM (crate::interrupt): the steps left are skipped, the
    // finally steps still run.
    let mut interrupted = None;
    let mut finally_started = false;
    let all: Vec<(bool, &Step)> = all_steps(suite).collect();
    for (index, (finally, step)) in all.into_iter().enumerate() {
        let title = step_title(step);
        progress.step_started(index, &title);
        let mut result = pending_result(index, finally, step, title.clone(), backend.now());
        if finally && !finally_started {
            finally_started = true;
            // Signals so far are answered: the finally steps' waits run.
            crate::interrupt::acknowledge();
        }
        if !finally && interrupted.is_none() && crate::interrupt::should_stop() {
            interrupted = crate::interrupt::received();
        }
        if let (Some(signal), false) = (interrupted, finally) {
            result.status = StepStatus::Skipped;
            result.message = format!("skipped: the run was interrupted by {signal}");
        } else if broken && !finally {
            result.status = StepStatus::Skipped;
            result.message = "skipped: an earlier step could not run".into();
        } else {
            match execute(suite, step, backend, &mut memory, &mut marks, &title) {
                Ok(Executed::Checked(check)) => {
                    result.status = match (check.holds, step.expects_failure()) {
                        (true, false) => StepStatus::Passed,
                        (false, false) => StepStatus::Failed,
                        (false, true) => StepStatus::ExpectedFailure,
                        (true, true) => StepStatus::UnexpectedPass,
                    };
                    result.message = check.message;
                    result.evidence = check.evidence;
                }
                Ok(Executed::Done(evidence)) => {
                    result.message = "done".into();
                    result.evidence = evidence;
                }
                Err((message, evidence)) => {
                    result.status = StepStatus::Error;
                    result.message = message;
                    result.evidence = evidence;
                    broken = true;
                }
            }
            // A signal during this step cut it short.
            if !finally && interrupted.is_none() && crate::interrupt::should_stop() {
                interrupted = crate::interrupt::received();
            }
        }
        result.ended_s = backend.now().as_secs_f64();
        progress.step_finished(&result);
        results.push(result);
    }
    let matrix = backend.matrix().unwrap_or_default();
    let predicted = backend.predicted_matrix();
    // Without records (or when pulling them failed) the matrix measures.
    let flights = backend.flight_records().ok().flatten();
    let failover = failover_latencies(
        suite,
        &memory,
        Measured {
            matrix: &matrix,
            flights: flights.as_ref(),
            end: backend.now(),
        },
        predicted.as_deref(),
        backend.telemetry(),
    );
    // An interrupted run proves nothing, whatever its steps so far said.
    let verdict = if interrupted.is_some() {
        Verdict::Error
    } else {
        RunReport::verdict_of(&results)
    };
    RunReport {
        duration_s: backend.now().as_secs_f64(),
        wall_ms: u64::try_from(wall.elapsed().as_millis()).unwrap_or(u64::MAX),
        steps: results,
        timeline: timeline(&matrix, suite, marks),
        failover,
        events: backend
            .events()
            .iter()
            .filter_map(|e| serde_json::to_value(e).ok())
            .collect(),
        interrupted,
        diagnostics: None,
        fidelity: None,
        reconciled: backend.reconciled(),
        ..empty_report(suite, backend.name(), verdict)
    }
}

type StepError = (String, serde_json::Value);

/// What a step that ran produced.
enum Executed {
    /// A wait or an action, with what the backend reports it did.
    Done(serde_json::Value),
    /// An assertion's last evaluation.
    Checked(Check),
}

/// A backend failure as a step error: the message, and the hint and exit
/// status as evidence for tools reading the JSON report.
fn backend_failure(context: &str, e: &crate::backend::BackendError) -> StepError {
    (
        format!("{context}: {e}"),
        serde_json::json!({"hint": e.hint(), "exitCode": e.exit_code()}),
    )
}

fn execute(
    suite: &Suite,
    step: &Step,
    backend: &mut dyn Backend,
    memory: &mut Memory,
    marks: &mut Vec<(f64, String)>,
    title: &str,
) -> Result<Executed, StepError> {
    let infra = |e: crate::backend::BackendError| backend_failure("backend", &e);
    match &step.action {
        Action::Wait(WaitSpec::For(d)) => {
            backend.advance(*d).map_err(infra)?;
            Ok(Executed::Done(serde_json::Value::Null))
        }
        Action::Wait(WaitSpec::Until(_)) => {
            let deadline = backend.now() + step.timeout().unwrap_or(STEADY_TIMEOUT);
            loop {
                backend.advance(SimDuration::secs(1)).map_err(infra)?;
                let m = backend.matrix().map_err(infra)?;
                if steady(&m, &suite.load.zones, backend.now()) {
                    return Ok(Executed::Done(serde_json::Value::Null));
                }
                if backend.now() >= deadline {
                    return Err((
                        format!(
                            "not steady after {}: some client zone is below 99% success",
                            step.timeout().unwrap_or(STEADY_TIMEOUT)
                        ),
                        serde_json::Value::Null,
                    ));
                }
            }
        }
        action if action.is_assertion() => {
            let started = backend.now();
            let deadline = assert::deadline(action, started, memory, step.timeout());
            loop {
                // The matrix is let go before the clock moves: the backend
                // then appends in place instead of copying it.
                let check = {
                    let matrix = backend.matrix().map_err(infra)?;
                    let ctx = Ctx {
                        backend: &*backend,
                        matrix: &matrix,
                        topology: &suite.topology,
                        memory,
                        client_zones: &suite.load.zones,
                        now: backend.now(),
                    };
                    assert::evaluate(action, &ctx)
                };
                match deadline {
                    Some(d) if !check.holds && backend.now() < d => {
                        backend.advance(SimDuration::secs(1)).map_err(infra)?
                    }
                    _ => return Ok(Executed::Checked(check)),
                }
            }
        }
        action => {
            if let Action::Canary(c) = action {
                memory
                    .canary_baseline
                    .insert(c.rollout.clone(), backend.route_weights());
            }
            let now = backend.now();
            let evidence = backend
                .apply(action)
                .map_err(|e| backend_failure(&format!("{title} failed"), &e))?;
            if let Some(zone) = chaos::disrupted_zone(action) {
                memory.disruptions.push((zone, now));
            }
            if let Action::Restore(z) = action {
                memory.restores.push((z.zone.clone(), now));
            }
            marks.push((now.as_secs_f64(), title.to_owned()));
            // Drains run for a while: give them until their own timeout, as
            // `kubectl drain --timeout` would block the pipeline.
            if let (Action::Drain(_), Some(t)) = (action, step.timeout()) {
                backend.advance(t).map_err(infra)?;
            }
            Ok(Executed::Done(evidence))
        }
    }
}

/// The success share that counts as served: steady, and recovered.
const STEADY_SHARE: f64 = 0.99;

/// Every client zone at >= 99% success over the last 5 seconds.
fn steady(m: &TrafficMatrix, zones: &[Zone], now: SimTime) -> bool {
    let to = now.0 / 1000;
    let w = crate::telemetry::Window {
        from: to.saturating_sub(5),
        to,
    };
    zones
        .iter()
        .all(|z| Tally::from_matrix(m, z, w).succeeds(STEADY_SHARE))
}

/// Seconds from the disruption to the first second in which >= 99% of the
/// zone's clients' requests succeed, and the requests lost before it.
/// Seconds count from the first whole one after the disruption. Failures
/// may show only `delay` after it (a request hung in a blackhole counts at
/// the client's timeout; a scraped matrix lags, [`TelemetrySource::lag`]) while
/// answers from before it may still be counted after it: a good second
/// counts only if no second after it, up to `delay` past the disruption,
/// failed. Only seconds before `until` (the zone's restore) count:
/// recovery by restore is not failover.
pub fn recovery_after(
    m: &TrafficMatrix,
    zone: &Zone,
    from: SimTime,
    until: Option<SimTime>,
    delay: SimDuration,
) -> (Option<f64>, u64) {
    let start = from.0.div_ceil(1000);
    let end = until.map_or(m.len_seconds(), |t| (t.0 / 1000).min(m.len_seconds()));
    let settled = (from + delay).0.div_ceil(1000);
    let second =
        |s: u64| Tally::from_matrix(m, zone, crate::telemetry::Window { from: s, to: s + 1 });
    let mut lost = 0;
    for s in start..end {
        let tally = second(s);
        if tally.succeeds(STEADY_SHARE)
            && !(s + 1..=settled.min(end.saturating_sub(1))).any(|t| second(t).fails(STEADY_SHARE))
        {
            return (Some((s as f64 - from.as_secs_f64()).max(0.0)), lost);
        }
        lost += tally.total() - tally.successes();
    }
    (None, lost)
}

/// What a real backend measured: its matrix, and its flight records when
/// it has load clients with a recorder.
struct Measured<'a> {
    matrix: &'a TrafficMatrix,
    flights: Option<&'a FlightRecords>,
    /// The run's end (a failover not over by then is measured up to it).
    end: SimTime,
}

fn failover_latencies(
    suite: &Suite,
    memory: &Memory,
    measured: Measured<'_>,
    predicted: Option<&TrafficMatrix>,
    telemetry: TelemetrySource,
) -> Vec<FailoverLatency> {
    let is_model = telemetry.is_model();
    let mut out: Vec<FailoverLatency> = Vec::new();
    let hanging = chaos::blackhole_zones(suite);
    for (zone, at) in &memory.disruptions {
        let restore = memory
            .restores
            .iter()
            .find(|(z, t)| z == zone && t >= at)
            .map(|(_, t)| *t);
        // Failures show at the latest when a hung request's client gives
        // up (blackhole only: refused connects fail at once), and a
        // scraped matrix lags by its scrape's lag more.
        let model_delay = if hanging.contains(zone) {
            CLIENT_TIMEOUT
        } else {
            SimDuration::millis(0)
        };
        let delay = model_delay + telemetry.lag();
        let (m_latency, m_lost) = recovery_after(measured.matrix, zone, *at, restore, delay);
        let (p_latency, p_lost) = match (is_model, predicted) {
            (true, _) => (m_latency, m_lost),
            (false, Some(p)) => recovery_after(p, zone, *at, restore, model_delay),
            (false, None) => (None, 0),
        };
        let recorded = measured.flights.and_then(|f| {
            let records = f.by_zone.get(zone)?;
            let until = restore.unwrap_or(measured.end);
            let m = measure_failover(
                records,
                f.origin_ms + at.0 as f64,
                f.origin_ms + until.0 as f64,
            );
            // Never recovered: no latency to give (as the matrix says None).
            Some(((m.recovered).then_some(m.latency_ms / 1000.0), m.lost))
        });
        let (measured_s, measured_lost, measured_from) = match (is_model, recorded) {
            (true, _) => (None, None, None),
            (false, Some((s, lost))) => (s, Some(lost), Some("flight-recorder")),
            (false, None) => (m_latency, Some(m_lost), Some("traffic-matrix")),
        };
        out.push(FailoverLatency {
            zone: zone.clone(),
            predicted_s: p_latency,
            measured_s,
            predicted_lost: p_lost,
            measured_lost,
            measured_from,
            lost_requests: measured_lost.unwrap_or(p_lost),
        });
    }
    out
}

fn timeline(m: &TrafficMatrix, suite: &Suite, marks: Vec<(f64, String)>) -> Timeline {
    let seconds = m.len_seconds();
    let per_point = seconds.div_ceil(Timeline::MAX_POINTS).max(1);
    let points = usize::try_from(seconds.div_ceil(per_point)).unwrap_or(usize::MAX);
    let mut series: std::collections::BTreeMap<Zone, Vec<TimelinePoint>> = suite
        .load
        .zones
        .iter()
        .map(|zone| (zone.clone(), vec![TimelinePoint::default(); points]))
        .collect();
    for (second, row) in (0u64..).zip(m.per_second()) {
        let at = usize::try_from(second / per_point).unwrap_or(usize::MAX);
        for ((client, outcome), n) in row {
            let Some(p) = series.get_mut(client).and_then(|s| s.get_mut(at)) else {
                continue;
            };
            match outcome {
                Outcome::Served { zone, .. } => *p.served.entry(zone.clone()).or_default() += n,
                e => *p.errors.entry(e.to_string()).or_default() += n,
            }
        }
    }
    Timeline {
        zones: suite.profile.zone_names().cloned().collect(),
        series,
        marks,
        seconds_per_point: per_point,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::Outcome;

    /// Zone c's clients: `(ok, failed)` requests per second from second 0.
    fn matrix(seconds: &[(u64, u64)]) -> (TrafficMatrix, Zone) {
        let c = Zone("us-east-1c".into());
        let mut m = TrafficMatrix::default();
        for (s, (ok, failed)) in seconds.iter().enumerate() {
            let served = Outcome::Served {
                zone: Zone("us-east-1a".into()),
                canary: false,
            };
            m.record(s as u64, &c, served, *ok);
            m.record(s as u64, &c, Outcome::error(503, "UF"), *failed);
        }
        (m, c)
    }

    #[test]
    fn failover_is_the_first_good_second_unless_failures_show_later() {
        // Lost at 2.0 s: second 2 half fails, 3 is good, 4 has one late
        // failure (2%), from 5 on all good.
        let (m, c) = matrix(&[
            (50, 0),
            (50, 0),
            (25, 25),
            (50, 0),
            (49, 1),
            (50, 0),
            (50, 0),
        ]);
        let at = SimTime(2000);
        assert_eq!(
            recovery_after(&m, &c, at, None, SimDuration::millis(0)),
            (Some(1.0), 25)
        );
        // Failures may surface up to 2.5 s late: second 3 is not trusted
        // because second 4 failed; second 5 is.
        assert_eq!(
            recovery_after(&m, &c, at, None, SimDuration::millis(2500)),
            (Some(3.0), 26)
        );
        // Recovery by the restore at 4 s is not failover.
        assert_eq!(
            recovery_after(&m, &c, at, Some(SimTime(3000)), SimDuration::millis(0)),
            (None, 25)
        );
    }
}
