//! The rung of the fidelity ladder a suite runs on. The runner, the chaos
//! actions and the assertions only talk to this trait; `sim` implements it
//! with the model alone.

pub mod error;
pub mod kube;
pub mod local;
pub mod sim;

pub use error::BackendError;

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::model::clock::{SimDuration, SimTime};
use crate::model::eviction::PdbStatus;
use crate::model::rollout::RolloutStatus;
use crate::model::world::Event;
use crate::spec::Action;
use crate::telemetry::{TelemetrySource, TrafficMatrix};
use crate::zone::Zone;

/// What a drain did, as evidence for PDB assertions.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DrainReport {
    /// The zone drained.
    pub zone: Zone,
    /// When it started.
    pub started: SimTime,
    /// Pods evicted.
    pub evicted: Vec<String>,
    /// Refused evictions: (time, pod, budget).
    pub refusals: Vec<(SimTime, String, Option<String>)>,
    /// Some(true) completed, Some(false) gave up, None still running.
    pub finished: Option<bool>,
    /// Pods still on the zone's nodes.
    pub pods_left: usize,
    /// Every budget's status when the drain started.
    pub budgets_before: BTreeMap<String, PdbStatus>,
}

/// Weights of every VirtualService route: `(vs, route) -> [(destination, weight)]`.
pub type RouteWeights = BTreeMap<(String, String), Vec<(String, i64)>>;

/// One rung of the ladder.
pub trait Backend {
    /// `sim`, `local`, `kind`, `existing`.
    fn name(&self) -> &'static str;
    /// What [`Backend::matrix`] counts: the model, or scraped real traffic.
    fn telemetry(&self) -> TelemetrySource;
    /// Time since the run started, on the backend's clock.
    fn now(&self) -> SimTime;
    /// Lets `d` pass: load flows, controllers run.
    fn advance(&mut self, d: SimDuration) -> Result<(), BackendError>;
    /// Runs a chaos or rollout action; returns what it did, as evidence.
    fn apply(&mut self, action: &Action) -> Result<serde_json::Value, BackendError>;
    /// The traffic matrix so far. Shared, not copied: a suite's assertions
    /// read it every second, and a day's matrix can hold a run per second.
    fn matrix(&mut self) -> Result<Arc<TrafficMatrix>, BackendError>;
    /// A Rollout's status.
    fn rollout_status(&self, name: &str) -> Option<RolloutStatus>;
    /// Every budget's status by name.
    fn pdb_statuses(&self) -> BTreeMap<String, PdbStatus>;
    /// The latest drain of a zone.
    fn last_drain(&self, zone: &Zone) -> Option<DrainReport>;
    /// Current route weights.
    fn route_weights(&self) -> RouteWeights;
    /// Control-plane events so far.
    fn events(&self) -> Vec<Event>;
    /// Each Rollout's VirtualService routes and DestinationRule subsets
    /// after each move of its canary, where the backend's control plane is
    /// the model (sim, local); empty on real clusters.
    fn reconciled(&self) -> Vec<crate::model::reconciled::ReconciledRouting> {
        Vec::new()
    }
    /// The model's prediction of this run, when the backend is not the model itself.
    fn predicted_matrix(&self) -> Option<Arc<TrafficMatrix>> {
        None
    }
    /// The load clients' flight records so far (issue 13), where the
    /// backend runs real load clients; None on the model.
    fn flight_records(
        &mut self,
    ) -> Result<Option<crate::telemetry::records::FlightRecords>, BackendError> {
        Ok(None)
    }
}
