//! Assertions: each reads the traffic matrix or the backend's state, is
//! fail-closed (no traffic in the window is a failure, never a pass), and
//! reports the evidence it used.

pub mod failover;
pub mod pdb;
pub mod rollout;
pub mod tally;
pub mod traffic;

use std::collections::BTreeMap;

use crate::backend::{Backend, RouteWeights};
use crate::model::clock::{SimDuration, SimTime};
use crate::spec::Action;
use crate::telemetry::{TrafficMatrix, Window};
use crate::topology::Topology;
use crate::zone::Zone;

/// The result of one evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    /// The condition holds.
    pub holds: bool,
    /// One sentence for the report.
    pub message: String,
    /// What was looked at.
    pub evidence: serde_json::Value,
}

impl Check {
    fn new(holds: bool, message: impl Into<String>, evidence: serde_json::Value) -> Check {
        Check {
            holds,
            message: message.into(),
            evidence,
        }
    }
}

/// What the runner remembers between steps.
#[derive(Debug, Clone, Default)]
pub struct Memory {
    /// Chaos steps that disrupted a zone: (zone, when).
    pub disruptions: Vec<(Zone, SimTime)>,
    /// Restores: (zone, when).
    pub restores: Vec<(Zone, SimTime)>,
    /// Route weights when a Rollout's canary started.
    pub canary_baseline: BTreeMap<String, RouteWeights>,
}

impl Memory {
    /// The latest disruption of a zone.
    pub fn last_disruption(&self, zone: &Zone) -> Option<SimTime> {
        self.disruptions
            .iter()
            .rev()
            .find(|(z, _)| z == zone)
            .map(|(_, t)| *t)
    }
}

/// Everything an assertion may read.
pub struct Ctx<'a> {
    /// The backend (state queries).
    pub backend: &'a dyn Backend,
    /// The matrix, fetched once per evaluation.
    pub matrix: &'a TrafficMatrix,
    /// The suite's topology (which routes a Rollout manages).
    pub topology: &'a Topology,
    /// Runner memory.
    pub memory: &'a Memory,
    /// Client zones of the load.
    pub client_zones: &'a [Zone],
    /// Now.
    pub now: SimTime,
}

impl Ctx<'_> {
    /// The last `d` before now, in whole seconds.
    pub fn window(&self, d: SimDuration) -> Window {
        let to = self.now.0 / 1000;
        Window {
            from: to.saturating_sub(d.0.div_ceil(1000)),
            to,
        }
    }
}

/// How long an assertion keeps trying, measured from when it started:
/// `None` = evaluate once.
pub fn deadline(
    action: &Action,
    started: SimTime,
    memory: &Memory,
    step_timeout: Option<SimDuration>,
) -> Option<SimTime> {
    let explicit = step_timeout.map(|t| started + t);
    match action {
        Action::AssertFailover(a) => {
            let from = memory.last_disruption(&a.zone).unwrap_or(started);
            Some(explicit.unwrap_or(from + a.within).max(started))
        }
        Action::AssertRecovery(a) => Some(explicit.unwrap_or(started + a.within)),
        Action::AssertRollout(a) => a.within.map(|w| started + w).or(explicit),
        _ => explicit,
    }
}

/// Evaluates an assertion now.
pub fn evaluate(action: &Action, ctx: &Ctx<'_>) -> Check {
    match action {
        Action::AssertFailover(a) => failover::failover(a, ctx),
        Action::AssertRecovery(a) => failover::recovery(a, ctx),
        Action::AssertNoCrossZone(a) => traffic::no_cross_zone(a, ctx),
        Action::AssertErrorBudget(a) => traffic::error_budget(a, ctx),
        Action::AssertPdb(a) => pdb::pdb(a, ctx),
        Action::AssertRollout(a) => rollout::rollout_state(a, ctx),
        Action::AssertRouteIsolation(a) => rollout::route_isolation(a, ctx),
        other => Check::new(
            false,
            format!("{} is not an assertion", other.key()),
            serde_json::Value::Null,
        ),
    }
}

/// Share as a percentage string with one decimal.
pub fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}
