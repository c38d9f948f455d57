//! Envoy outlier-detection arithmetic shared by lint and the mesh model.

/// Istio's default when `maxEjectionPercent` is not set (Envoy default 10).
pub const DEFAULT_MAX_EJECTION_PERCENT: i64 = 10;

/// How many of `hosts` can be ejected at once under `max_ejection_percent`:
/// Envoy ejects a host only while the ejected share, that host included,
/// stays at or below the limit, so at most floor(hosts x percent / 100),
/// and none at all when that is 0 (envoy source/common/upstream/
/// outlier_detection_impl.cc `ejectHost` since 1.31; only
/// `always_eject_one_host`, which Istio never sets, guarantees one).
/// Measured against real Envoy in tests/envoy_config.rs.
pub fn max_ejectable_hosts(hosts: u32, max_ejection_percent: i64) -> u32 {
    let pct = max_ejection_percent.clamp(0, 100) as u64;
    let limit = (u64::from(hosts) * pct / 100) as u32;
    limit.min(hosts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ejection_limits() {
        // The figures real Envoy gave (tests/envoy_config.rs).
        assert_eq!(max_ejectable_hosts(6, 10), 0);
        assert_eq!(max_ejectable_hosts(9, 34), 3);
        assert_eq!(max_ejectable_hosts(10, 10), 1);
        assert_eq!(max_ejectable_hosts(3, 50), 1);
        assert_eq!(max_ejectable_hosts(20, 10), 2);
        assert_eq!(max_ejectable_hosts(3, 100), 3);
        assert_eq!(max_ejectable_hosts(3, 0), 0);
        assert_eq!(max_ejectable_hosts(0, 50), 0);
    }
}
