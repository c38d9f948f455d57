//! Envoy's priority load: with the overprovisioning factor 1.4, priority 0
//! takes min(100%, 1.4 x its healthy share) of the traffic and the rest
//! spills to the next priorities (SEMANTICS.md §3).

/// Envoy's default overprovisioning factor (140%).
pub const OVERPROVISIONING: f64 = 1.4;

/// Share of traffic (0..1) per priority, given (healthy, total) hosts per
/// priority. When the priorities together are less than fully healthy the
/// loads are normalised (Envoy's degraded case); with no healthy host at all
/// every load is 0 (503 UH; Istio disables panic mode with failover).
pub fn priority_loads(health: &[(u32, u32)]) -> Vec<f64> {
    let h: Vec<f64> = health
        .iter()
        .map(|&(healthy, total)| {
            if total == 0 {
                0.0
            } else {
                (OVERPROVISIONING * healthy as f64 / total as f64).min(1.0)
            }
        })
        .collect();
    let total: f64 = h.iter().sum::<f64>().min(1.0);
    if total <= 0.0 {
        return vec![0.0; h.len()];
    }
    let mut remaining = 1.0;
    let mut loads = Vec::with_capacity(h.len());
    for hi in &h {
        let take = (hi / total).min(remaining).max(0.0);
        loads.push(take);
        remaining -= take;
    }
    loads
}

/// One host of a priority as the locality scheduler sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LocalityHost<'a> {
    /// Its Envoy locality (`region/zone/subzone`).
    pub locality: &'a str,
    /// Its locality's `load_balancing_weight` (`distribute`); `None` when
    /// the cluster has no locality weights.
    pub locality_weight: Option<f64>,
    /// Healthy: not ejected, still in EDS and serving.
    pub healthy: bool,
}

/// How likely each host of one priority is to be picked (unnormalised; 0
/// for unhealthy hosts). Without locality weights every healthy host is
/// equal. With them (Envoy's `locality_weighted_lb_config`), a locality is
/// picked by its effective weight, `weight x min(1, 1.4 x healthy/total)`
/// (envoy source/common/upstream/upstream_impl.cc
/// `HostSetImpl::effectiveLocalityWeight`), then a host within it evenly:
/// a locality's share does not grow with its number of hosts, and shrinks
/// once fewer than 1/1.4 of them are healthy.
pub fn host_pick_weights(hosts: &[LocalityHost<'_>]) -> Vec<f64> {
    if hosts.iter().all(|h| h.locality_weight.is_none()) {
        return hosts
            .iter()
            .map(|h| if h.healthy { 1.0 } else { 0.0 })
            .collect();
    }
    // (total, healthy) per locality, counted once: this runs per request.
    let mut per_locality: foldhash::HashMap<&str, (f64, f64)> = Default::default();
    for h in hosts {
        let e = per_locality.entry(h.locality).or_default();
        e.0 += 1.0;
        e.1 += f64::from(u8::from(h.healthy));
    }
    hosts
        .iter()
        .map(|h| {
            if !h.healthy {
                return 0.0;
            }
            let (total, healthy) = per_locality[h.locality];
            let weight = h.locality_weight.unwrap_or(0.0);
            let effective = weight * (OVERPROVISIONING * healthy / total).min(1.0);
            effective / healthy
        })
        .collect()
}

/// Envoy's locality scheduler: earliest deadline first over locality
/// weights (envoyproxy/envoy source/common/upstream/edf_scheduler.h). Each
/// locality's next deadline is the current time plus 1/weight; a pick takes
/// the earliest (ties: the one added first) and moves the clock to it. Picks
/// are deterministic, not drawn: a locality of weight 70 next to one of 30
/// is never picked more than three times in a row, which is what lets a
/// retry's host re-selection leave a dead locality.
#[derive(Debug, Clone, PartialEq)]
pub struct LocalityScheduler {
    weights: Vec<f64>,
    /// Per locality: next deadline, and when it was (re-)added.
    deadlines: Vec<(f64, u64)>,
    added: u64,
}

impl LocalityScheduler {
    /// A scheduler over `weights` (localities of weight 0 are never picked).
    pub fn new(weights: &[f64]) -> LocalityScheduler {
        let deadlines: Vec<(f64, u64)> = weights
            .iter()
            .zip(0..)
            .map(|(w, k)| (if *w > 0.0 { 1.0 / w } else { f64::INFINITY }, k))
            .collect();
        LocalityScheduler {
            weights: weights.to_vec(),
            added: deadlines.len() as u64,
            deadlines,
        }
    }

    /// The next locality (None when every weight is 0).
    pub fn pick(&mut self) -> Option<usize> {
        let (i, (d, _)) = self
            .deadlines
            .iter()
            .copied()
            .enumerate()
            .filter(|(_, (d, _))| d.is_finite())
            .min_by(|(_, a), (_, b)| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)))?;
        self.deadlines[i] = (d + 1.0 / self.weights[i], self.added);
        self.added += 1;
        Some(i)
    }

    /// A scheduler at a random point of its cycle, just after it picked
    /// `last` (any locality when None): Envoy starts each scheduler after a
    /// random number of picks (`EdfScheduler::createWithPicks`), so a
    /// request finds it anywhere in its cycle. `uniform` is a draw in [0, 1).
    pub fn at_random_phase(weights: &[f64], last: Option<usize>, uniform: f64) -> Self {
        // A horizon of several cycles of the smallest weight's share.
        const HORIZON: usize = 256;
        let mut probe = LocalityScheduler::new(weights);
        let mut after_last: Vec<LocalityScheduler> = Vec::new();
        for _ in 0..HORIZON {
            let Some(i) = probe.pick() else { break };
            if last.is_none_or(|l| l == i) {
                after_last.push(probe.clone());
            }
        }
        let k =
            ((uniform * after_last.len() as f64) as usize).min(after_last.len().saturating_sub(1));
        after_last
            .into_iter()
            .nth(k)
            .unwrap_or_else(|| LocalityScheduler::new(weights))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(locality: &str, weight: Option<f64>, healthy: bool) -> LocalityHost<'_> {
        LocalityHost {
            locality,
            locality_weight: weight,
            healthy,
        }
    }

    /// Envoy's locality weighting (upstream_impl.cc effectiveLocalityWeight;
    /// the cases follow test/common/upstream/upstream_impl_test.cc's
    /// locality-weight tests): two localities of weight 1 share traffic
    /// evenly whatever their host counts; one at half health keeps
    /// min(1, 1.4 x 0.5) = 0.7 of its weight.
    #[test]
    fn localities_are_picked_by_effective_weight_not_by_host_count() {
        let w = host_pick_weights(&[
            host("a", Some(1.0), true),
            host("a", Some(1.0), true),
            host("b", Some(1.0), true),
        ]);
        assert_eq!(w, [0.5, 0.5, 1.0]);
        let w = host_pick_weights(&[
            host("a", Some(1.0), true),
            host("a", Some(1.0), false),
            host("b", Some(1.0), true),
        ]);
        assert!(
            (w[0] - 0.7).abs() < 1e-12 && w[1] == 0.0 && w[2] == 1.0,
            "{w:?}"
        );
        // 3 of 4 healthy: 1.4 x 0.75 > 1, the full weight.
        let w = host_pick_weights(&[
            host("a", Some(2.0), true),
            host("a", Some(2.0), true),
            host("a", Some(2.0), true),
            host("a", Some(2.0), false),
        ]);
        assert_eq!(w.iter().sum::<f64>(), 2.0);
        // No locality weights: hosts are equal.
        assert_eq!(
            host_pick_weights(&[host("a", None, true), host("b", None, false)]),
            [1.0, 0.0]
        );
    }

    fn close(a: &[f64], b: &[f64]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-9)
    }

    #[test]
    fn healthy_p0_takes_everything() {
        assert!(close(&priority_loads(&[(3, 3), (6, 6)]), &[1.0, 0.0]));
    }

    #[test]
    fn one_of_three_down_spills_over() {
        // 2/3 healthy x 1.4 = 93.3% stays local, 6.7% crosses zones.
        let l = priority_loads(&[(2, 3), (6, 6)]);
        assert!((l[0] - 0.9333333333).abs() < 1e-6, "{l:?}");
        assert!((l[1] - 0.0666666667).abs() < 1e-6);
        // At 5/7 (71.4%) or above, nothing spills.
        assert!(close(&priority_loads(&[(5, 7), (6, 6)]), &[1.0, 0.0]));
    }

    #[test]
    fn dead_priority_zero_fails_over_and_nothing_healthy_is_zero() {
        assert!(close(&priority_loads(&[(0, 3), (6, 6)]), &[0.0, 1.0]));
        assert!(close(&priority_loads(&[(0, 3)]), &[0.0]));
        // Degraded: normalised over what is left.
        let l = priority_loads(&[(1, 3), (1, 6)]);
        assert!((l.iter().sum::<f64>() - 1.0).abs() < 1e-9);
    }

    /// Envoy's test/common/upstream/edf_scheduler_test.cc: picks follow the
    /// weights exactly over a cycle and are spread, not bunched (weights
    /// 1, 2, 3 give every locality its share in each six picks).
    #[test]
    fn the_locality_scheduler_picks_by_weight_deterministically() {
        let mut s = LocalityScheduler::new(&[1.0, 2.0, 3.0]);
        let picks: Vec<usize> = (0..600).map(|_| s.pick().unwrap()).collect();
        for cycle in picks.chunks(6) {
            let count = |i| cycle.iter().filter(|&&p| p == i).count();
            assert_eq!((count(0), count(1), count(2)), (1, 2, 3), "{cycle:?}");
        }
        // 70/30: never more than three of the heavier in a row.
        let mut s = LocalityScheduler::new(&[70.0, 30.0]);
        let picks: Vec<usize> = (0..1000).map(|_| s.pick().unwrap()).collect();
        assert!(!picks.windows(4).any(|w| w.iter().all(|&p| p == 0)));
        assert_eq!(picks.iter().filter(|&&p| p == 1).count(), 300);
        // Weight 0 is never picked; all 0 picks nothing.
        let mut s = LocalityScheduler::new(&[0.0, 1.0]);
        assert!((0..10).all(|_| s.pick() == Some(1)));
        assert_eq!(LocalityScheduler::new(&[0.0]).pick(), None);
    }

    #[test]
    fn a_scheduler_at_a_random_phase_continues_after_the_locality_given() {
        for u in [0.0, 0.3, 0.99] {
            let mut s = LocalityScheduler::at_random_phase(&[70.0, 30.0], Some(1), u);
            // After a pick of the lighter locality, the heavier comes next.
            assert_eq!(s.pick(), Some(0), "u {u}");
        }
        let a = LocalityScheduler::at_random_phase(&[1.0, 2.0, 3.0], None, 0.1);
        let b = LocalityScheduler::at_random_phase(&[1.0, 2.0, 3.0], None, 0.9);
        assert_ne!(a, b, "the phase follows the draw");
    }
}
