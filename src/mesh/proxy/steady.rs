//! The data plane over a quiet stretch (issue 10 item 3): while neither
//! the world nor any outlier-detection state changes, every request of a
//! client makes the same draws from the same weights, so the stretch can
//! be replayed without rebuilding routes and clusters per request. The
//! replay keeps the slow path's random stream exactly: [`Steady`] holds,
//! per client, the weights each draw of [`DataPlane::tick`] would use;
//! when every request of a client ends the same way after the same number
//! of draws, its requests are counted and the generator jumped over their
//! draws ([`Rng::skip`]) instead of drawn. Whole seconds of such clients
//! are recorded as one span of the matrix. The same seed gives the same
//! matrix and the same state afterwards as ticking every 100 ms.

use std::collections::BTreeSet;

use super::{DataPlane, Rng, SWEEP_INTERVAL};
use crate::mesh::cluster::ClusterKey;
use crate::model::World;
use crate::model::clock::{SimDuration, SimTime};
use crate::model::pod::PodId;
use crate::telemetry::{Outcome, TrafficMatrix};
use crate::zone::Zone;

/// A request's end once its draws are made: its outcome (an index into
/// the client's outcomes) and, when the host served it with errors still
/// counted against it, that host (a success clears its counters).
#[derive(Debug, Clone, Default)]
struct Leaf {
    outcome: usize,
    reset: Option<(ClusterKey, PodId)>,
}

/// The hosts of one priority a request draws between (no weight drawn:
/// the request gets `none`).
#[derive(Debug, Clone, Default)]
struct Pool {
    weights: Vec<f64>,
    leaves: Vec<Leaf>,
    none: usize,
}

/// Where a request goes once its route chose a destination.
#[derive(Debug, Clone)]
enum Dest {
    /// Decided without a further draw (503 NC, 503 UH).
    Fixed(usize),
    /// A priority drawn by load, then a host of it.
    Hosts { loads: Vec<f64>, pools: Vec<Pool> },
}

/// One client's requests while nothing changes.
#[derive(Debug, Clone)]
struct Client {
    outcomes: Vec<Outcome>,
    /// The route's weights (None: one destination, no draw).
    route: Option<Vec<f64>>,
    /// The outcome of a route that draws nothing (all weights 0).
    no_route: usize,
    dests: Vec<Dest>,
    /// Every request ends in this outcome after this many draws.
    constant: Option<(usize, u64)>,
}

/// The data plane compiled for a quiet stretch ([`DataPlane::steady`]).
#[derive(Debug, Clone)]
pub struct Steady {
    clients: Vec<Client>,
}

/// Outcomes of one client as they are met, and each reachable
/// (outcome, draws) pair.
#[derive(Default)]
struct Builder {
    outcomes: Vec<Outcome>,
    reachable: BTreeSet<(usize, u64)>,
    resets: bool,
}

impl Builder {
    fn outcome(&mut self, o: Outcome) -> usize {
        if let Some(i) = self.outcomes.iter().position(|x| *x == o) {
            return i;
        }
        self.outcomes.push(o);
        self.outcomes.len() - 1
    }

    fn reach(&mut self, o: Outcome, draws: u64) -> usize {
        let i = self.outcome(o);
        self.reachable.insert((i, draws));
        i
    }

    fn client(self, route: Option<Vec<f64>>, no_route: usize, dests: Vec<Dest>) -> Client {
        let constant = match (self.reachable.len(), self.resets) {
            (1, false) => self.reachable.first().copied(),
            _ => None,
        };
        Client {
            outcomes: self.outcomes,
            route,
            no_route,
            dests,
            constant,
        }
    }
}

/// True when `Rng::weighted` draws from `weights` (some weight is positive).
fn draws(weights: &[f64]) -> bool {
    weights.iter().any(|w| *w > 0.0)
}

impl Client {
    /// One request, drawing exactly as [`DataPlane::attempts`] does: its
    /// outcome, and the host whose error counters it clears.
    fn request(&self, rng: &mut Rng) -> (usize, Option<&(ClusterKey, PodId)>) {
        let d = match &self.route {
            None => 0,
            Some(w) => match rng.weighted(w) {
                Some(i) => i,
                None => return (self.no_route, None),
            },
        };
        match &self.dests[d] {
            Dest::Fixed(o) => (*o, None),
            Dest::Hosts { loads, pools } => {
                let Some(pool) = rng.weighted(loads).map(|p| &pools[p]) else {
                    return (self.no_route, None);
                };
                match rng.weighted(&pool.weights) {
                    Some(k) => (pool.leaves[k].outcome, pool.leaves[k].reset.as_ref()),
                    None => (pool.none, None),
                }
            }
        }
    }
}

/// The last sweep of ticks ending at `first_end`, `first_end + dt`, ...
/// (`ticks` of them), as [`DataPlane::sweep`] would make it with its last
/// sweep at `last`; None when none of them sweeps.
fn last_sweep(last: SimTime, first_end: SimTime, ticks: u64, dt: SimDuration) -> Option<SimTime> {
    if ticks == 0 {
        return None;
    }
    let due = last + SWEEP_INTERVAL;
    let first = due.0.saturating_sub(first_end.0).div_ceil(dt.0);
    if first >= ticks {
        return None;
    }
    // Then every whole interval's worth of ticks.
    let period = SWEEP_INTERVAL.0.div_ceil(dt.0);
    let k = first + (ticks - 1 - first) / period * period;
    Some(SimTime(first_end.0 + k * dt.0))
}

impl DataPlane {
    /// The first instant after `now` at which the data plane changes by
    /// itself: an ejection ends (a host comes back), or a merged health
    /// update reaches the load balancer.
    pub fn next_unejection(&self, now: SimTime) -> Option<SimTime> {
        self.hosts
            .values()
            .flat_map(|h| [h.ejected_until, h.ejected_until.map(|_| h.seen_from)])
            .flatten()
            .filter(|t| *t > now)
            .min()
    }

    /// The data plane compiled against the world as it is, or None when a
    /// request could change the data plane's own state (it would reach a
    /// host that does not serve: a connect failure or a hang) or one is
    /// still pending (a hanging connect, a client timeout).
    pub fn steady(&mut self, world: &World) -> Option<Steady> {
        if !self.hanging.is_empty() || !self.given_up.is_empty() {
            return None;
        }
        self.cache.clear();
        let clients = (0..self.clients.len())
            .map(|ci| self.compile(world, ci))
            .collect::<Option<Vec<Client>>>()?;
        Some(Steady { clients })
    }

    /// Client `ci`'s requests as [`DataPlane::attempts`] makes them, up to
    /// the first attempt (later attempts only follow a failure, which a
    /// steady client never meets).
    fn compile(&mut self, world: &World, ci: usize) -> Option<Client> {
        let mut b = Builder::default();
        let (weights, destinations) = match self.destinations(world, ci) {
            Ok(d) => d,
            Err(outcome) => {
                let o = b.reach(outcome, 0);
                return Some(b.client(None, o, Vec::new()));
            }
        };
        let no_route = b.outcome(Outcome::error(503, "NR"));
        let route_draws = match &weights {
            None => 0,
            Some(w) if draws(w) => 1,
            Some(_) => {
                b.reach(Outcome::error(503, "NR"), 0);
                return Some(b.client(weights, no_route, Vec::new()));
            }
        };
        let mut dests = Vec::new();
        for (i, (service, subset)) in destinations.iter().enumerate() {
            let reachable = weights.as_ref().is_none_or(|w| w[i] > 0.0);
            let nc = Dest::Fixed(b.outcome(Outcome::error(503, "NC")));
            if !reachable {
                dests.push(nc);
                continue;
            }
            let Some(service) = service else {
                b.reach(Outcome::error(503, "NC"), route_draws);
                dests.push(nc);
                continue;
            };
            let cluster = self.cluster(world, ci, service, *subset);
            let now = world.now;
            let loads = self
                .priority_loads(now, ci, &cluster)
                .filter(|l| cluster.exists && draws(l));
            let Some(loads) = loads else {
                let o = if cluster.exists {
                    Outcome::error(503, "UH")
                } else {
                    Outcome::error(503, "NC")
                };
                dests.push(Dest::Fixed(b.reach(o, route_draws)));
                continue;
            };
            let mut pools = Vec::new();
            for (p, load) in loads.iter().enumerate() {
                let mut pool = Pool {
                    none: b.outcome(Outcome::error(503, "UH")),
                    ..Pool::default()
                };
                if *load > 0.0 {
                    let (hosts, weights) = self.host_pool(now, ci, &cluster, p as u32);
                    if !draws(&weights) {
                        b.reach(Outcome::error(503, "UH"), route_draws + 1);
                    }
                    for (k, w) in weights.iter().enumerate() {
                        let mut leaf = Leaf::default();
                        if *w > 0.0 {
                            let h = &cluster.hosts[hosts[k]];
                            if !h.endpoint.serving {
                                return None;
                            }
                            let served = Outcome::Served {
                                zone: h.endpoint.zone.clone(),
                                canary: world.is_canary_pod(h.endpoint.pod),
                            };
                            leaf.outcome = b.reach(served, route_draws + 2);
                            let key = (ci, cluster.key.clone(), h.endpoint.pod);
                            let counted = self.hosts.get(&key).is_some_and(|s| {
                                s.consecutive_5xx != 0 || s.consecutive_gateway != 0
                            });
                            if counted {
                                b.resets = true;
                                leaf.reset = Some((key.1, key.2));
                            }
                        }
                        pool.leaves.push(leaf);
                    }
                    pool.weights = weights;
                }
                pools.push(pool);
            }
            dests.push(Dest::Hosts { loads, pools });
        }
        Some(b.client(weights, no_route, dests))
    }

    /// Runs `ticks` ticks of `dt` after `start` exactly as [`DataPlane::tick`]
    /// would on a world that does not change, recording into `matrix`.
    pub fn fast_forward(
        &mut self,
        steady: &Steady,
        start: SimTime,
        ticks: u64,
        dt: SimDuration,
        matrix: &mut TrafficMatrix,
    ) {
        let per_second = 1000 / dt.0.max(1);
        let whole = 1000 % dt.0.max(1) == 0 && self.whole_ticks(steady, dt);
        let mut counts: Vec<Vec<u64>> = steady
            .clients
            .iter()
            .map(|c| vec![0; c.outcomes.len()])
            .collect();
        let mut second = None;
        let mut k = 0;
        while k < ticks {
            let begin = start + SimDuration(dt.0 * k);
            let end = begin + dt;
            if whole && begin.0 % 1000 < dt.0 && ticks - k >= per_second {
                self.flush(steady, second.take(), &mut counts, matrix);
                let seconds = (ticks - k) / per_second;
                self.whole_seconds(steady, begin, seconds, dt, matrix);
                k += seconds * per_second;
                continue;
            }
            self.sweep(end);
            let s = begin.0 / 1000;
            if second != Some(s) {
                self.flush(steady, second.replace(s), &mut counts, matrix);
            }
            for (ci, c) in steady.clients.iter().enumerate() {
                let n = self.take_requests(ci, dt);
                match c.constant {
                    Some((o, draws)) => {
                        counts[ci][o] += n;
                        self.rng.skip(n * draws);
                    }
                    None => {
                        for _ in 0..n {
                            let (o, reset) = c.request(&mut self.rng);
                            counts[ci][o] += 1;
                            if let Some((key, pod)) = reset
                                && let Some(h) = self.hosts.get_mut(&(ci, key.clone(), *pod))
                            {
                                h.consecutive_5xx = 0;
                                h.consecutive_gateway = 0;
                            }
                        }
                    }
                }
            }
            k += 1;
        }
        self.flush(steady, second, &mut counts, matrix);
    }

    /// The requests client `ci` sends in a tick of `dt` (its fractional
    /// carry as in [`DataPlane::tick`]).
    fn take_requests(&mut self, ci: usize, dt: SimDuration) -> u64 {
        let c = &mut self.clients[ci];
        let want = c.rps * dt.as_secs_f64() + c.carry;
        let n = want.floor() as u64;
        c.carry = want - n as f64;
        n
    }

    /// True when every tick is the same for every client: each ends its
    /// requests one way after fixed draws, and sends a whole number per
    /// tick (no carry).
    fn whole_ticks(&self, steady: &Steady, dt: SimDuration) -> bool {
        steady.clients.iter().zip(&self.clients).all(|(s, c)| {
            let want = c.rps * dt.as_secs_f64();
            s.constant.is_some() && c.carry == 0.0 && want.fract() == 0.0
        })
    }

    /// `seconds` whole seconds from `begin` (the first tick of its second)
    /// of clients whose ticks are all the same: one span of the matrix,
    /// one jump of the generator, the sweeps' net effect.
    fn whole_seconds(
        &mut self,
        steady: &Steady,
        begin: SimTime,
        seconds: u64,
        dt: SimDuration,
        matrix: &mut TrafficMatrix,
    ) {
        let per_second = 1000 / dt.0;
        let mut row = Vec::new();
        for (ci, c) in steady.clients.iter().enumerate() {
            let Some((o, draws)) = c.constant else {
                continue;
            };
            let n = (self.clients[ci].rps * dt.as_secs_f64()) as u64 * per_second;
            self.rng.skip(n * seconds * draws);
            if n > 0 {
                row.push(((self.clients[ci].zone.clone(), c.outcomes[o].clone()), n));
            }
        }
        let s = begin.0 / 1000;
        matrix.record_span(s, s + seconds, &row);
        if let Some(at) = last_sweep(self.last_sweep, begin + dt, seconds * per_second, dt) {
            self.sweep_at(at);
        }
    }

    /// Records one second's counts and zeroes them.
    fn flush(
        &self,
        steady: &Steady,
        second: Option<u64>,
        counts: &mut [Vec<u64>],
        matrix: &mut TrafficMatrix,
    ) {
        let Some(s) = second else {
            return;
        };
        let mut row: Vec<((Zone, Outcome), u64)> = Vec::new();
        for (ci, c) in steady.clients.iter().enumerate() {
            for (o, n) in counts[ci].iter_mut().enumerate() {
                if *n > 0 {
                    row.push(((self.clients[ci].zone.clone(), c.outcomes[o].clone()), *n));
                    *n = 0;
                }
            }
        }
        matrix.record_span(s, s + 1, &row);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sweeps [`DataPlane::sweep`] makes, tick by tick.
    fn swept(mut last: SimTime, first_end: SimTime, ticks: u64, dt: SimDuration) -> SimTime {
        for k in 0..ticks {
            let now = SimTime(first_end.0 + k * dt.0);
            if now.since(last) >= SWEEP_INTERVAL {
                last = now;
            }
        }
        last
    }

    /// issue 10 item 3: a skipped stretch leaves the outlier sweep where
    /// ticking would (whatever the phase of the ticks against the sweeps).
    #[test]
    fn the_last_sweep_of_a_stretch_is_the_ticked_one() {
        let dt = SimDuration::millis(100);
        for last in [0, 50, 900, 1000, 12_345] {
            for first in [100, 150, 1000, 1050, 12_400, 13_345] {
                for ticks in [0, 1, 9, 10, 11, 25, 1000] {
                    let (last, first) = (SimTime(last), SimTime(first));
                    if first <= last {
                        continue;
                    }
                    let want = swept(last, first, ticks, dt);
                    let got = last_sweep(last, first, ticks, dt).unwrap_or(last);
                    assert_eq!(got, want, "last {last} first {first} ticks {ticks}");
                }
            }
        }
    }

    /// issue 10 item 3: jumping the generator equals drawing.
    #[test]
    fn skipping_draws_equals_drawing_them() {
        let (mut drawn, mut jumped) = (Rng::new(7), Rng::new(7));
        for _ in 0..1234 {
            drawn.next_f64();
        }
        jumped.skip(1234);
        assert_eq!(drawn.next_f64(), jumped.next_f64());
    }
}
