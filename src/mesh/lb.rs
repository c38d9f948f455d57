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

#[cfg(test)]
mod tests {
    use super::*;

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
