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
}
