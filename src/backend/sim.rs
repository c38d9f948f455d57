//! `sim`: the model alone, on a virtual clock. Control plane from
//! [`crate::model`], data plane from [`crate::mesh::proxy`], telemetry from
//! the model's own counters.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::backend::{Backend, BackendError, DrainReport, RouteWeights};
use crate::mesh::proxy::DataPlane;
use crate::mesh::route_weights::mesh_route_weights;
use crate::model::World;
use crate::model::clock::{SimDuration, SimTime};
use crate::model::eviction::PdbStatus;
use crate::model::rollout::RolloutStatus;
use crate::model::world::Event;
use crate::spec::Action;
use crate::suite::Suite;
use crate::telemetry::TrafficMatrix;
use crate::zone::Zone;

/// Traffic is simulated in 100 ms slices.
pub const TICK: SimDuration = SimDuration::millis(100);

/// The sim backend.
#[derive(Debug, Clone)]
pub struct SimBackend {
    /// The control plane.
    pub world: World,
    /// The data plane.
    pub data_plane: DataPlane,
    /// Counters.
    pub matrix: Arc<TrafficMatrix>,
    /// Skip quiet stretches in one step (the default). False ticks through
    /// every 100 ms: the reference the equivalence tests compare against.
    pub skip_quiet: bool,
    /// Virtual time skipped in quiet stretches so far (for tests and benchmarks).
    pub skipped: SimDuration,
    /// No quiet stretch is looked for before this (one was just refused).
    next_look: SimTime,
    drains: Vec<(Zone, usize, SimTime, BTreeMap<String, PdbStatus>)>,
}

impl SimBackend {
    /// Builds the world and clients of a suite.
    pub fn new(suite: &Suite) -> SimBackend {
        let world = World::new(&suite.topology, &suite.profile, suite.timing);
        let clients = suite
            .load
            .zones
            .iter()
            .map(|z| suite.load.client(&world, z, suite.load.rps))
            .collect();
        let data_plane = DataPlane::new(
            (suite.load.namespace.clone(), suite.load.service.clone()),
            clients,
            suite.seed,
        );
        SimBackend {
            world,
            data_plane,
            matrix: Arc::default(),
            skip_quiet: true,
            skipped: SimDuration(0),
            next_look: SimTime(0),
            drains: Vec::new(),
        }
    }

    /// One 100 ms tick (shorter at the end of a span).
    fn tick(&mut self, end: SimTime) {
        let step = SimDuration(TICK.0.min(end.0 - self.world.now.0));
        let next = self.world.now + step;
        self.world.advance(next);
        // Written in place unless a reader still holds the last copy.
        self.data_plane
            .tick(&self.world, step, Arc::make_mut(&mut self.matrix));
    }

    /// Runs the longest quiet stretch of whole ticks before `end` in one
    /// step (issue 10 item 3): the world jumps to its end, the data plane
    /// replays its requests ([`DataPlane::fast_forward`]). A stretch is
    /// quiet while no control-plane state changes ([`World::quiet_steps`]),
    /// no ejection ends, and no request can change the data plane's state.
    /// False when there is none; the next look is then a second later,
    /// so that a busy world does not pay for a probe every tick.
    fn skip_quiet_stretch(&mut self, end: SimTime) -> bool {
        let now = self.world.now;
        let mut max = (end.0 - now.0) / TICK.0;
        if !self.skip_quiet || now < self.next_look || max < MIN_STRETCH {
            return false;
        }
        self.next_look = now + LOOK_AGAIN;
        let Some(steady) = self.data_plane.steady(&self.world) else {
            return false;
        };
        if let Some(t) = self.data_plane.next_unejection(now) {
            max = max.min((t.0 - now.0 - 1) / TICK.0);
        }
        let ticks = self.world.quiet_steps(TICK, max);
        if ticks < MIN_STRETCH {
            return false;
        }
        let stretch = SimDuration(TICK.0 * ticks);
        self.world.advance(now + stretch);
        self.skipped = self.skipped + stretch;
        self.data_plane
            .fast_forward(&steady, now, ticks, TICK, Arc::make_mut(&mut self.matrix));
        self.next_look = self.world.now;
        true
    }
}

/// Stretches shorter than this many ticks are ticked through.
const MIN_STRETCH: u64 = 2;

/// After a refused look for a quiet stretch, the next one waits this long.
const LOOK_AGAIN: SimDuration = SimDuration::secs(1);

/// Budget statuses of a world by name ([`World::pdb_statuses`]).
fn budgets(world: &World) -> BTreeMap<String, PdbStatus> {
    world.pdb_statuses()
}

/// The latest drain of a zone in a world.
pub fn drain_report(
    world: &World,
    drains: &[(Zone, usize, SimTime, BTreeMap<String, PdbStatus>)],
    zone: &Zone,
) -> Option<DrainReport> {
    let (z, i, started, before) = drains.iter().rev().find(|(z, ..)| z == zone)?;
    let d = world.drains.get(*i)?;
    let pods_left = world.pods_left_by_drain(*i)?;
    Some(DrainReport {
        zone: z.clone(),
        started: *started,
        evicted: d.evicted.clone(),
        refusals: d.refusals.clone(),
        finished: d.finished,
        pods_left,
        budgets_before: before.clone(),
    })
}

impl Backend for SimBackend {
    fn name(&self) -> &'static str {
        "sim"
    }

    fn telemetry(&self) -> crate::telemetry::TelemetrySource {
        crate::telemetry::TelemetrySource::Model
    }

    fn now(&self) -> SimTime {
        self.world.now
    }

    fn advance(&mut self, d: SimDuration) -> Result<(), BackendError> {
        let end = self.world.now + d;
        while self.world.now < end {
            if !self.skip_quiet_stretch(end) {
                self.tick(end);
            }
        }
        Ok(())
    }

    fn apply(&mut self, action: &Action) -> Result<serde_json::Value, BackendError> {
        if let Action::Drain(d) = action {
            let before = budgets(&self.world);
            let evidence = crate::chaos::apply(&mut self.world, action)?;
            self.drains.push((
                d.zone.clone(),
                self.world.drains.len() - 1,
                self.world.now,
                before,
            ));
            return Ok(evidence);
        }
        if let Action::SpotLoss(s) = action
            && s.notice.is_some()
        {
            let before = budgets(&self.world);
            let evidence = crate::chaos::apply(&mut self.world, action)?;
            if !self.world.drains.is_empty() {
                self.drains.push((
                    s.zone.clone(),
                    self.world.drains.len() - 1,
                    self.world.now,
                    before,
                ));
            }
            return Ok(evidence);
        }
        crate::chaos::apply(&mut self.world, action)
    }

    fn matrix(&mut self) -> Result<Arc<TrafficMatrix>, BackendError> {
        Ok(Arc::clone(&self.matrix))
    }

    fn rollout_status(&self, name: &str) -> Option<RolloutStatus> {
        self.world.rollout_status(name).cloned()
    }

    fn pdb_statuses(&self) -> BTreeMap<String, PdbStatus> {
        self.world.pdb_statuses()
    }

    fn last_drain(&self, zone: &Zone) -> Option<DrainReport> {
        drain_report(&self.world, &self.drains, zone)
    }

    fn route_weights(&self) -> RouteWeights {
        mesh_route_weights(&self.world.mesh)
    }

    fn reconciled(&self) -> Vec<crate::model::reconciled::ReconciledRouting> {
        self.world.reconciled.clone()
    }

    fn events(&self) -> Vec<Event> {
        self.world.events.clone()
    }
}
