//! What a run produces, in one serialisable value: every step, every
//! assertion with its evidence, the traffic timeline and the chaos marks.
//! Every report format (terminal, JUnit, JSON, HTML) renders this.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::zone::Zone;

/// The outcome of a whole run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Every assertion passed or failed as expected.
    Passed,
    /// Some assertion failed unexpectedly, or passed while expected to fail.
    Failed,
    /// The run could not complete (infrastructure, bad step).
    Error,
    /// Not run at all: the backend cannot give the suite what it states
    /// (every step skipped, with the reason). Not a pass.
    Skipped,
}

/// The outcome of one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepStatus {
    /// Done, or the assertion held.
    Passed,
    /// The assertion did not hold.
    Failed,
    /// The assertion failed and `expect: fail` said it would (a known design defect).
    ExpectedFailure,
    /// The assertion held although `expect: fail` said it would not.
    UnexpectedPass,
    /// The step could not run (timeout, invalid action).
    Error,
    /// Not run because an earlier step errored.
    Skipped,
}

impl StepStatus {
    /// True when this step makes the run fail.
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            StepStatus::Failed | StepStatus::UnexpectedPass | StepStatus::Error
        )
    }
}

/// One executed step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepResult {
    /// Position in the suite (finally steps continue the numbering).
    pub index: usize,
    /// Step kind (`wait`, `spot-loss`, `assert-failover`, ...).
    pub kind: String,
    /// One-line description, e.g. "spot-loss us-east-1c (refuse)".
    pub title: String,
    /// Line of the step in the suite file.
    pub line: u32,
    /// Virtual (sim) or wall (real backends) seconds since the run started.
    pub started_s: f64,
    /// End of the step.
    pub ended_s: f64,
    /// Outcome.
    pub status: StepStatus,
    /// Why, in one sentence.
    pub message: String,
    /// The `expect: fail` reason, when given.
    pub expected_failure_reason: Option<String>,
    /// True for assertions (one JUnit test case each).
    pub is_assertion: bool,
    /// True for `finally` steps.
    pub finally: bool,
    /// What the step looked at (counts, windows, statuses, queries).
    pub evidence: serde_json::Value,
}

/// Requests per second for one client zone: successes by serving zone and
/// errors by `code flag`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TimelinePoint {
    /// Successful requests by serving zone.
    pub served: BTreeMap<Zone, u64>,
    /// Errors by "503 UH" etc.
    pub errors: BTreeMap<String, u64>,
}

/// Per client zone, per second (or per [`Timeline::seconds_per_point`]
/// seconds on long runs).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Timeline {
    /// Zones of the profile, in order (colours are assigned in this order).
    pub zones: Vec<Zone>,
    /// `series[client zone][point]`: point `i` sums seconds
    /// `[i * seconds_per_point, (i + 1) * seconds_per_point)`.
    pub series: BTreeMap<Zone, Vec<TimelinePoint>>,
    /// Seconds each point sums; 0 and 1 both mean one (and are not
    /// written). Long runs sum several seconds per point, so a day of
    /// virtual time does not cost a point per second (issue 10 item 3).
    #[serde(skip_serializing_if = "at_most_one")]
    pub seconds_per_point: u64,
    /// Chaos steps to mark: (second, label).
    pub marks: Vec<(f64, String)>,
}

fn at_most_one(n: &u64) -> bool {
    *n <= 1
}

impl Timeline {
    /// At most this many points per client zone; longer runs sum seconds.
    pub const MAX_POINTS: u64 = 3_600;

    /// Seconds per point, at least 1.
    pub fn seconds_per_point(&self) -> u64 {
        self.seconds_per_point.max(1)
    }
}

/// Failover latency of one lost zone: the model's prediction and, on real
/// backends, the measurement.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FailoverLatency {
    /// The lost zone (its clients are measured).
    pub zone: Zone,
    /// Seconds from the chaos step to the first second with >= 99% success, by the model.
    pub predicted_s: Option<f64>,
    /// Measured on the backend (None on sim): from the flight records,
    /// seconds from the loss to the end of the last failed request before
    /// a second of only successes, to the millisecond; else from the
    /// traffic matrix, as `predicted_s`.
    pub measured_s: Option<f64>,
    /// Requests the model lost in between.
    pub predicted_lost: u64,
    /// Requests lost on the backend (None on sim): exact from the flight
    /// records, else counted in the matrix's seconds.
    pub measured_lost: Option<u64>,
    /// Where `measured_s` and `measured_lost` come from:
    /// `flight-recorder` or `traffic-matrix` (None on sim).
    pub measured_from: Option<&'static str>,
    /// Deprecated alias, kept for one release: `measured_lost` where there
    /// is one, else `predicted_lost`.
    pub lost_requests: u64,
}

/// Everything a run produced.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunReport {
    /// Suite name.
    pub suite: String,
    /// Suite file.
    pub file: String,
    /// `sim`, `local`, `kind`, `existing`.
    pub backend: String,
    /// Topology paths.
    pub topology: Vec<String>,
    /// Cluster profile name.
    pub profile: String,
    /// Seed of the model's random choices.
    pub seed: u64,
    /// Overall verdict.
    pub verdict: Verdict,
    /// Run length on the run's clock, seconds.
    pub duration_s: f64,
    /// Wall time the harness spent, milliseconds.
    pub wall_ms: u64,
    /// Steps in execution order (finally steps last).
    pub steps: Vec<StepResult>,
    /// Traffic over time.
    pub timeline: Timeline,
    /// Failover latency per lost zone.
    pub failover: Vec<FailoverLatency>,
    /// PromQL queries used (real backends), to paste into Prometheus.
    pub queries: Vec<String>,
    /// Control-plane events (model or cluster), for the JSON report.
    pub events: Vec<serde_json::Value>,
    /// The signal that stopped the run early (steps after it skipped, the
    /// `finally` steps run); absent from the JSON when the run completed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interrupted: Option<crate::interrupt::Signal>,
    /// Where a failed cluster run's diagnostics were written, relative to
    /// the report directory (`<suite>/diagnostics`); absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diagnostics: Option<String>,
    /// Each load client's real proxy against the model's view of it, read
    /// before the first step (kind and existing runs; absent elsewhere).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fidelity: Option<Vec<crate::mesh::proxy_config::ProxyFidelity>>,
    /// Each Rollout's VirtualService routes and DestinationRule subsets as
    /// Argo left them after each move of its canary (sim and local).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reconciled: Vec<crate::model::reconciled::ReconciledRouting>,
}

impl RunReport {
    /// Assertions only.
    pub fn assertions(&self) -> impl Iterator<Item = &StepResult> {
        self.steps.iter().filter(|s| s.is_assertion)
    }

    /// Verdict from the steps.
    pub fn verdict_of(steps: &[StepResult]) -> Verdict {
        if steps.iter().any(|s| s.status == StepStatus::Error) {
            Verdict::Error
        } else if steps.iter().any(|s| s.status.is_failure()) {
            Verdict::Failed
        } else {
            Verdict::Passed
        }
    }
}
