//! Quiet stretches of the model: how far virtual time can run without the
//! control plane doing anything, so that `sim` can skip over them instead
//! of ticking through (issue 10 item 3).
//!
//! Two kinds of change need time alone. Derived states read the clock
//! directly (a pod passes its readiness probe at `ready_at`, the node
//! controller notices a lost node after the grace period):
//! [`World::next_timed_change`] lists them. Controllers act on stored
//! state (Argo's pauses and abort delay, drain retries, the taint
//! manager): [`World::quiet_steps`] runs them on a copy and keeps the
//! stretch only if the copy's stored state did not change. Every trigger
//! is a comparison `now >= deadline`, so a stretch that is quiet at its
//! end is quiet at every instant before it, which lets the search halve.

use crate::model::World;
use crate::model::clock::{SimDuration, SimTime};

impl World {
    /// The first instant after now at which a state derived from the clock
    /// changes: a running pod becomes started (and ready), a lost node is
    /// noticed (its pods leave the endpoints), or its pods outlive the
    /// NotReady toleration.
    pub fn next_timed_change(&self) -> Option<SimTime> {
        let now = self.now;
        let pods = self
            .pods
            .iter()
            .filter(|p| p.is_active())
            .filter_map(|p| p.ready_at);
        let grace = self.timing.node_monitor_grace;
        let toleration = self.timing.not_ready_toleration;
        let nodes = self
            .nodes
            .iter()
            .filter_map(|n| n.lost_at)
            .flat_map(|lost| [lost + grace, lost + grace + toleration]);
        pods.chain(nodes).filter(|t| *t > now).min()
    }

    /// The largest `k <= max` such that advancing the clock by `k` steps
    /// of `step` changes nothing but the clock: no derived state flips
    /// (strictly before [`World::next_timed_change`]) and no controller
    /// acts. Costs one probe on a copy when the whole stretch is quiet.
    pub fn quiet_steps(&self, step: SimDuration, max: u64) -> u64 {
        let at = |k: u64| SimTime(self.now.0.saturating_add(step.0.saturating_mul(k)));
        let mut hi = max;
        if let Some(change) = self.next_timed_change() {
            // Steps ending strictly before the change.
            let room = change.0 - self.now.0 - 1;
            hi = hi.min(room / step.0.max(1));
        }
        if hi == 0 || !self.idle_until(at(1)) {
            return 0;
        }
        if self.idle_until(at(hi)) {
            return hi;
        }
        // idle at lo, not at hi
        let mut lo = 1;
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if self.idle_until(at(mid)) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        lo
    }

    /// True when advancing a copy to `to` leaves every stored state as it
    /// is (the event log included).
    fn idle_until(&self, to: SimTime) -> bool {
        let mut probe = self.clone();
        probe.advance(to);
        probe.same_state(self)
    }

    /// Everything but the clock is equal (events compared by count: the
    /// log only grows; a new pod changes `pods`).
    fn same_state(&self, other: &World) -> bool {
        self.nodes == other.nodes
            && self.workloads == other.workloads
            && self.pods == other.pods
            && self.pdbs == other.pdbs
            && self.drains == other.drains
            && self.events.len() == other.events.len()
            && self.mesh == other.mesh
            && self.rollouts == other.rollouts
    }
}

#[cfg(test)]
mod tests {
    use crate::model::clock::{SimDuration, SimTime};
    use crate::model::world::fixtures::{PINNED, world_from};
    use crate::zone::Zone;

    const TICK: SimDuration = SimDuration::millis(100);

    /// issue 10 item 3: a world with nothing pending is quiet for as long
    /// as asked.
    #[test]
    fn a_settled_world_is_quiet_for_the_whole_stretch() {
        let w = world_from(PINNED);
        assert_eq!(w.next_timed_change(), None);
        assert_eq!(w.quiet_steps(TICK, 864_000), 864_000);
    }

    /// issue 10 item 3: the stretch ends before the node controller
    /// notices a lost node (50 s grace), and again before the taint
    /// manager deletes its pods (300 s later).
    #[test]
    fn a_lost_node_bounds_the_stretch_at_each_of_its_deadlines() {
        let mut w = world_from(PINNED);
        w.spot_loss(&Zone::from("us-east-1a"), None);
        w.advance(SimTime(100));
        assert_eq!(w.next_timed_change(), Some(SimTime(50_000)));
        // Ticks ending at 200 ms .. 49.9 s.
        assert_eq!(w.quiet_steps(TICK, 10_000), 498);
        w.advance(SimTime(50_000));
        assert_eq!(w.next_timed_change(), Some(SimTime(350_000)));
        assert_eq!(w.quiet_steps(TICK, 10_000), 2999);
    }

    /// issue 10 item 3: a drain retrying every 5 s is quiet only between
    /// its retries (the probe finds the retry; nothing derived changes).
    #[test]
    fn a_blocked_drain_is_quiet_between_retries() {
        let mut w = world_from(PINNED);
        let nodes = w.zone_nodes(&Zone::from("us-east-1a"), None);
        w.start_drain(nodes, SimDuration::secs(600), false);
        // Let the evicted pods go Pending, then stand still until the next retry.
        w.advance(SimTime(100));
        let next_try = w.drains[0].next_try;
        assert_eq!(next_try, SimTime(5_000));
        let quiet = w.quiet_steps(TICK, 10_000);
        assert_eq!(SimTime(100 + quiet * 100), SimTime(4_900));
    }
}
